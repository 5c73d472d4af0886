// Server: ringtftpd's workers. One thread per worker, each with its own executor (one ring),
// its own listening socket per configured address (all bound to the same port with
// SO_REUSEPORT, so the kernel spreads clients over workers) and the transfers it admitted.
// Nothing is shared between workers but the counters (atomics), the log and the current
// configuration (an atomically swapped shared_ptr).
//
// Admission, on the listener: a datagram that is not a well-formed request is counted and, if
// it was an RRQ/WRQ with a bad mode or name, answered with ERROR 4; a request from an address
// that already has a transfer with the same port is a retransmission and is dropped; requests
// beyond max_sessions, max_sessions_per_client or the per-client rate are dropped unanswered
// (the client repeats itself later). Everything else becomes a session (session.h).
//
// Lifecycle: the constructor opens the root and binds every socket (so a caller can drop
// privileges next); run() serves until stop() and returns once every transfer has ended.
// When uploads are allowed, the first worker also sweeps the root for the temporary files of
// uploads that a killed server left behind (stale_uploads.h), while it serves.
// stop() is graceful: listeners close at once, transfers run on for config.shutdown_grace and
// are then cancelled (their clients get ERROR 0). reload() swaps in a new configuration for
// requests that arrive from then on; settings that need new sockets or threads (listen,
// workers, root, user, chroot, engine) are reported as ignored until a restart.
// stop(), reload() and metrics() may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ringkit/net.h"
#include "tftp/metrics.h"
#include "tftp/server_config.h"
#include "tftp/server_log.h"

namespace ringkit::tftp {

class Worker;
class ClientTable;

class Server {
 public:
  // Throws ConfigError (a bad configuration) or std::system_error (a socket or the root that
  // cannot be opened). `inherited`: listening sockets handed over by systemd (socket
  // activation); when given, config.listen is not bound and every worker receives on them.
  explicit Server(ServerConfig config, std::vector<net::Socket> inherited = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Serves until stop() has finished. REQUIRES: called once.
  void run();
  // Thread-safe. Idempotent.
  void stop();
  // Thread-safe. Returns the settings that were not applied (they need a restart).
  std::vector<std::string> reload(ServerConfig config);

  // Where the listeners are bound (port 0 in the configuration resolved), one per address.
  const std::vector<net::Address>& addresses() const { return addresses_; }
  const ServerMetrics& metrics() const { return metrics_; }
  const ServerLog& log() const { return log_; }
  // True once every worker's listener is receiving (tests wait for it).
  bool ready() const { return ready_workers_.load() == workers_.size(); }

 private:
  friend class Worker;
  std::shared_ptr<const ServerConfig> config() const { return config_.load(); }

  std::atomic<std::shared_ptr<const ServerConfig>> config_;
  std::unique_ptr<ClientTable> clients_;  // per-client admission; see server.cc
  ServerMetrics metrics_;
  ServerLog log_;
  int root_fd_ = -1;
  std::chrono::system_clock::time_point started_;  // older upload temporaries are stale
  std::vector<net::Address> addresses_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<size_t> ready_workers_{0};
  std::atomic<bool> stopping_{false};
};

}  // namespace ringkit::tftp
