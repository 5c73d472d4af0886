// RetransmitTimer: how long a TFTP endpoint waits for an answer before it sends again, and
// when it gives up.
//
// The wait adapts to the measured round-trip time as TCP's does (RFC 6298): a smoothed RTT and
// its variation give RTO = SRTT + 4 * RTTVAR, clamped to [min, max]. Karn's rule: a round trip
// that involved a retransmission gives no sample (the answer cannot be matched to a send).
// Each timeout doubles the wait (up to max) and counts a retry once the wait is back at the
// initial one (so giving up takes as long on a LAN as before the first sample); progress
// resets the count.
//
// TFTP's `timeout` option (RFC 2349) names the seconds an endpoint waits before it sends
// again; when negotiated it becomes both the first wait and the longest one, and the adaptive
// wait stays below it (docs/tftp-protocol.md, "Retransmission").
//
// A small value owned by one transfer; not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

namespace ringkit::tftp {

struct RetransmitPolicy {
  // The wait before the first round trip has been measured. 1 s is what tftpd-hpa and
  // RFC 6298 use: slow enough for a slow firmware client, fast enough to recover a lost first
  // packet without a boot timing out.
  std::chrono::nanoseconds initial = std::chrono::seconds(1);
  // The shortest wait. On a LAN the measured RTO falls far below a millisecond; a floor keeps a
  // client that pauses briefly (writing a block to flash) from being flooded. 20 ms costs about
  // 2% of throughput at 1% loss on loopback; raise it for slow clients.
  std::chrono::nanoseconds min = std::chrono::milliseconds(20);
  // The longest wait (after backoff). 5 s: tftp-hpa's and atftp's client timeout.
  std::chrono::nanoseconds max = std::chrono::seconds(5);
  // Retransmissions of one packet before the transfer fails. 6: with doubling from 1 s that
  // waits about 28 s in all, above the 20-30 s PXE ROMs allow themselves.
  uint32_t max_retries = 6;

  // This policy with a negotiated RFC 2349 timeout applied (first and longest wait).
  RetransmitPolicy with_timeout_option(std::optional<uint8_t> seconds) const;
};

class RetransmitTimer {
 public:
  explicit RetransmitTimer(const RetransmitPolicy& policy = {});

  // The current wait.
  std::chrono::nanoseconds timeout() const { return rto_; }
  // A clean round trip of `rtt` (no retransmission in it): updates SRTT, RTTVAR and the wait.
  void on_sample(std::chrono::nanoseconds rtt);
  // The wait ran out: doubles it (up to max) and, unless it was below `initial`, counts a retry.
  void on_timeout();
  // The peer made progress: the retry count starts again.
  void on_progress() { retries_ = 0; }
  // More retries than the policy allows: give up.
  bool exhausted() const { return retries_ > policy_.max_retries; }
  uint32_t retries() const { return retries_; }
  // The smoothed round-trip time, once measured.
  std::optional<std::chrono::nanoseconds> srtt() const;

 private:
  RetransmitPolicy policy_;
  std::chrono::nanoseconds rto_;
  std::chrono::nanoseconds srtt_{0};
  std::chrono::nanoseconds rttvar_{0};
  bool measured_ = false;
  uint32_t retries_ = 0;
};

}  // namespace ringkit::tftp
