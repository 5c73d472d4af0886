#include "tftp/retransmit.h"

#include <algorithm>

namespace ringkit::tftp {

using std::chrono::nanoseconds;

RetransmitPolicy RetransmitPolicy::with_timeout_option(std::optional<uint8_t> seconds) const {
  RetransmitPolicy p = *this;
  if (seconds && *seconds > 0) {
    p.initial = std::chrono::seconds(*seconds);
    p.max = p.initial;
    p.min = std::min(p.min, p.max);
  }
  return p;
}

RetransmitTimer::RetransmitTimer(const RetransmitPolicy& policy)
    : policy_(policy), rto_(std::clamp(policy.initial, policy.min, policy.max)) {}

void RetransmitTimer::on_sample(nanoseconds rtt) {
  if (rtt < nanoseconds(0)) rtt = nanoseconds(0);
  if (!measured_) {
    srtt_ = rtt;
    rttvar_ = rtt / 2;
    measured_ = true;
  } else {
    // RFC 6298 2.3 with alpha = 1/8, beta = 1/4.
    nanoseconds delta = srtt_ > rtt ? srtt_ - rtt : rtt - srtt_;
    rttvar_ = (3 * rttvar_ + delta) / 4;
    srtt_ = (7 * srtt_ + rtt) / 8;
  }
  rto_ = std::clamp(srtt_ + std::max(4 * rttvar_, kGranularity), policy_.min, policy_.max);
}

nanoseconds RetransmitTimer::receiver_timeout(uint64_t windowsize) const {
  nanoseconds patient = std::max(rto_, std::min(policy_.initial, policy_.max));
  if (windowsize <= 1) return patient;
  return std::min(2 * rto_, patient);
}

void RetransmitTimer::on_timeout() {
  // A wait shorter than the initial one (the measured round trip brought it down) is no retry:
  // how long an endpoint waits before it gives up must not shrink with the round-trip time.
  // Otherwise, on a LAN, a peer that resends only on its own slower schedule (tftpd-hpa
  // ignores a repeated ACK of the previous block and resends after 1 s) is abandoned after a
  // few milliseconds of doubling from the 20 ms floor.
  if (rto_ >= std::min(policy_.initial, policy_.max)) ++retries_;
  rto_ = std::min(rto_ * 2, policy_.max);
}

std::optional<nanoseconds> RetransmitTimer::srtt() const {
  if (!measured_) return std::nullopt;
  return srtt_;
}

}  // namespace ringkit::tftp
