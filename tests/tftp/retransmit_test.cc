// retransmit.h: the adaptive wait (RFC 6298 with a 1 ms granularity term), its bounds, backoff
// and retry counting, the negotiated timeout option, and the receiver's backstop wait with
// windows and in lockstep.
#include "tftp/retransmit.h"

#include <gtest/gtest.h>

namespace ringkit::tftp {
namespace {

using namespace std::chrono_literals;

TEST(RetransmitTimer, StartsAtTheInitialWaitAndFollowsTheMeasuredRoundTrip) {
  RetransmitTimer t;
  EXPECT_EQ(t.timeout(), 1s);
  EXPECT_FALSE(t.srtt());
  // A steady 10 ms round trip: SRTT 10 ms, RTTVAR 5 ms then shrinking, wait SRTT + 4 RTTVAR.
  t.on_sample(10ms);
  EXPECT_EQ(t.timeout(), 10ms + 4 * 5ms);
  for (int i = 0; i < 50; ++i) t.on_sample(10ms);
  EXPECT_EQ(*t.srtt(), 10ms);
  // RTTVAR decays toward 0: the granularity term (1 ms) takes over from 4 RTTVAR.
  EXPECT_EQ(t.timeout(), 10ms + RetransmitTimer::kGranularity);
}

TEST(RetransmitTimer, AFastPathIsTimedInMillisecondsNotTheOldTwentyMilliseconds) {
  RetransmitTimer t;
  for (int i = 0; i < 50; ++i) t.on_sample(100us);
  // 100 us + 1 ms is below the 2 ms floor.
  EXPECT_EQ(t.timeout(), 2ms);
  RetransmitTimer low({.min = 500us});
  for (int i = 0; i < 50; ++i) low.on_sample(100us);
  EXPECT_EQ(low.timeout(), 100us + RetransmitTimer::kGranularity);
}

TEST(RetransmitTimer, TimeoutsDoubleUpToTheMaximumAndCountOnlyFromTheInitialWait) {
  RetransmitTimer t({.initial = 1s, .min = 2ms, .max = 5s, .max_retries = 2});
  for (int i = 0; i < 50; ++i) t.on_sample(1ms);
  EXPECT_EQ(t.timeout(), 2ms);
  // Short waits that run out are no retries: giving up takes as long as before any sample.
  for (int i = 0; i < 9; ++i) t.on_timeout();  // 4, 8, ... 1024 ms
  EXPECT_EQ(t.retries(), 0u);
  EXPECT_EQ(t.timeout(), 1024ms);
  t.on_timeout();  // from 1024 ms (>= 1 s): a retry
  EXPECT_EQ(t.retries(), 1u);
  t.on_timeout();
  t.on_timeout();
  EXPECT_EQ(t.timeout(), 5s);
  EXPECT_TRUE(t.exhausted());
  t.on_progress();
  EXPECT_FALSE(t.exhausted());
}

TEST(RetransmitTimer, ANegotiatedTimeoutIsTheFirstAndLongestWait) {
  RetransmitPolicy p = RetransmitPolicy{}.with_timeout_option(3);
  EXPECT_EQ(p.initial, 3s);
  EXPECT_EQ(p.max, 3s);
  RetransmitTimer t(p);
  EXPECT_EQ(t.timeout(), 3s);
  t.on_sample(10s);
  EXPECT_EQ(t.timeout(), 3s);
  EXPECT_EQ(RetransmitPolicy{}.with_timeout_option(std::nullopt).initial, 1s);
}

TEST(RetransmitTimer, TheReceiverWaitsTwiceAsLongWithWindowsAndPatientlyInLockstep) {
  RetransmitTimer t;
  for (int i = 0; i < 50; ++i) t.on_sample(10ms);
  ASSERT_EQ(t.timeout(), 11ms);
  EXPECT_EQ(t.receiver_timeout(16), 22ms) << "a backstop behind the sender's own timer";
  EXPECT_EQ(t.receiver_timeout(1), 1s) << "lockstep: not before the initial wait";
  // Long waits: the backstop is no longer than the sender's own, or the initial wait.
  RetransmitTimer slow;
  for (int i = 0; i < 50; ++i) slow.on_sample(700ms);
  EXPECT_EQ(slow.receiver_timeout(16), 1s);
  RetransmitTimer slower;
  for (int i = 0; i < 50; ++i) slower.on_sample(2s);
  EXPECT_EQ(slower.receiver_timeout(16), slower.timeout());
  EXPECT_EQ(slower.receiver_timeout(1), slower.timeout());
}

}  // namespace
}  // namespace ringkit::tftp
