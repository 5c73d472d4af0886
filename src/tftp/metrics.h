// Server counters: what ringtftpd has done since it started, readable from any thread.
//
// Workers add to the counters with relaxed atomics (no ordering is needed between them: each is
// an independent tally). render_prometheus() writes them in the Prometheus text exposition
// format (version 0.0.4), for the optional loopback HTTP endpoint (MetricsEndpoint) and the
// SIGUSR1 dump.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "ringkit/net.h"

namespace ringkit::tftp {

struct ServerMetrics {
  std::atomic<uint64_t> active{0};              // transfers running now (a gauge)
  std::atomic<uint64_t> requests{0};            // RRQ/WRQ received
  std::atomic<uint64_t> completed{0};           // transfers that ended well
  std::atomic<uint64_t> failed{0};              // transfers that started and ended badly
  std::atomic<uint64_t> refused{0};             // requests answered with ERROR (not found, ...)
  std::atomic<uint64_t> dropped_limit{0};       // requests dropped: session limits
  std::atomic<uint64_t> dropped_rate{0};        // requests dropped: per-client rate
  std::atomic<uint64_t> dropped_duplicate{0};   // repeated requests of a running transfer
  std::atomic<uint64_t> malformed{0};           // unparsable datagrams at the listener
  std::atomic<uint64_t> bytes_sent{0};          // file bytes delivered (RRQ)
  std::atomic<uint64_t> bytes_received{0};      // file bytes stored (WRQ)
  std::atomic<uint64_t> retransmits{0};
  std::atomic<uint64_t> timeouts{0};
  std::atomic<uint64_t> spurious_timeouts{0};   // timeouts whose resend proved needless

  static void add(std::atomic<uint64_t>& counter, uint64_t n = 1) {
    counter.fetch_add(n, std::memory_order_relaxed);
  }
  // The counters in Prometheus text format, names prefixed "ringtftpd_".
  std::string render_prometheus() const;
};

// A tiny HTTP/1.0 server on a loopback TCP address that answers every GET with the metrics.
// Its own thread with blocking calls: a scrape a few times a minute does not belong on the
// workers' rings. Stops (and joins) when destroyed.
class MetricsEndpoint {
 public:
  // Binds and starts serving. Throws std::system_error when the address cannot be bound.
  MetricsEndpoint(const net::Address& address, const ServerMetrics& metrics);
  ~MetricsEndpoint();
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

  net::Address address() const { return address_; }  // the bound address (port 0 resolved)

 private:
  void serve();

  const ServerMetrics& metrics_;
  net::Address address_;
  int listen_fd_ = -1;
  int stop_pipe_[2] = {-1, -1};
  std::thread thread_;
};

}  // namespace ringkit::tftp
