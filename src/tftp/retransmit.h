// RetransmitTimer: how long a TFTP endpoint waits for an answer before it sends again, and
// when it gives up.
//
// The wait adapts to the measured round-trip time as TCP's does (RFC 6298): a smoothed RTT and
// its variation give RTO = SRTT + max(4 * RTTVAR, 1 ms), clamped to [min, max]. The 1 ms term
// is QUIC's timer granularity (RFC 9002 §6.2.1): on a path as steady as a loopback the
// variation falls to microseconds, and a wait that close to the RTT would fire at every
// scheduling hiccup. There is no fixed floor of hundreds of milliseconds as in TCP: TFTP has no
// fast retransmit, so a lost tail of a window is recovered by this timer alone, and a LAN
// should not stall 20 ms for it. Under load the measured RTT and its variation grow, and so
// does the wait. Karn's rule: a round trip that involved a retransmission gives no sample (the
// answer cannot be matched to a send), unless the repeat proves needless: the sender gives
// that round trip as a sample once both ACKs of a block it resent have come (transfer.cc,
// RFC 3708 and 4015). Each timeout doubles the wait (up to max) and counts a
// retry once the wait is back at the initial one (so giving up takes as long on a LAN as
// before the first sample); progress resets the count.
//
// The sender of DATA drives recovery: on its timeout it resends from the first unacknowledged
// block. The receiver's timer (receiver_timeout()) is a backstop, twice as long while the
// wait is short (with windows; in lockstep it waits at least the initial wait): a receiver
// that resends its ACK first only makes a busy sender resend a window it was about to send.
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
  // The shortest wait, below which the measured one is never used. 2 ms: above the measured
  // wait of a quiet LAN (RTT + 1 ms), so that a stall for a lost window tail costs about as
  // much as the round trip allows; raise it for clients that pause (writing a block to flash)
  // and would otherwise get blocks again while they still work on the first copy.
  std::chrono::nanoseconds min = std::chrono::milliseconds(2);
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

  // Added to SRTT when the variation is smaller (see above).
  static constexpr std::chrono::nanoseconds kGranularity = std::chrono::milliseconds(1);

  // The current wait (the sender's).
  std::chrono::nanoseconds timeout() const { return rto_; }
  // The wait of the receiver of DATA in windows of `windowsize`. With windows: twice
  // timeout() while that is below the initial wait, then no more than the initial wait or
  // timeout() itself, whichever is longer (so the backstop never makes giving up take longer).
  // In lockstep: never below the initial wait. There a repeated ACK recovers nothing from a
  // sender that ignores it (RFC 1123 §4.2.3.1), and makes one that does not (atftpd 0.8)
  // resend the block, which the receiver must answer (RFC 1350), and so on: every later block
  // twice, set off by one early timeout on a busy machine.
  std::chrono::nanoseconds receiver_timeout(uint64_t windowsize) const;
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
