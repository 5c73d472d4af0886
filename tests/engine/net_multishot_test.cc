// MultishotReceiver: many datagrams through one armed receive, buffer recycling with more
// datagrams than buffers, re-arming, timeouts and cancellation of next(), deadlines sharing one
// timer, the explicit stop, truncation, coalesced runs (UDP GRO) handed out one by one, and the
// one-at-a-time fallback (threads backend, or forced) with the same results.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <stop_token>
#include <string>
#include <vector>

#include "ringkit/executor.h"
#include "ringkit/log.h"
#include "ringkit/net.h"
#include "ringkit/probe.h"
#include "ringkit/time.h"
#include "ringkit/yield.h"
#include "support/backend_test.h"
#include "support/co_assert.h"

using namespace std::chrono_literals;

namespace ringkit::net {
namespace {

std::string string_of(std::span<const std::byte> b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

// Datagram `seq` of a test: distinct contents and lengths, so a buffer handed out twice or
// overwritten while in use shows up as a mismatch.
std::string payload(uint32_t seq) {
  std::string s = "dgram-" + std::to_string(seq) + ":";
  s.append(seq % 200, static_cast<char>('a' + seq % 26));
  return s;
}

class MultishotTest : public testing::BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    if (IsSkipped()) return;
    UdpOptions options;
    options.recv_buffer = 4 << 20;  // holds every burst below (see rcvbuf_holds)
    auto rx = bind_udp(Address::ipv4_loopback(0), options);
    auto tx = bind_udp(Address::ipv4_loopback(0));
    ASSERT_TRUE(rx && tx);
    rx_addr_ = *local_address(*rx);
    tx_addr_ = *local_address(*tx);
    rx_ = std::move(*rx);
    tx_ = std::move(*tx);
  }

  // Whether this instance should take the multishot path when allowed to.
  bool expect_multishot() const {
    return GetParam() == BackendKind::kUring && probe_io_uring().recv_multishot;
  }

  bool rcvbuf_holds(int datagrams, std::string* why) {
    int have = recv_buffer_size(rx_).value_or(0);
    if (have >= datagrams * 1536) return true;
    *why = "SO_RCVBUF is only " + std::to_string(have) + " bytes; a burst of " +
           std::to_string(datagrams) + " would overflow it";
    return false;
  }

  Socket rx_, tx_;
  Address rx_addr_, tx_addr_;
};
RINGKIT_BACKEND_TEST_SUITE(MultishotTest);

Task<void> send_burst(const Socket& tx, Address to, uint32_t first, uint32_t n) {
  for (uint32_t i = first; i < first + n; ++i) {
    std::string p = payload(i);
    auto r = co_await send_to(tx, std::as_bytes(std::span(p.data(), p.size())), to);
    CO_ASSERT(r, describe(r.error()));
  }
}

// Sends `n` datagrams in a burst before receiving any, then takes them all through `rx`.
Task<void> burst_then_receive(MultishotReceiver& rx, const Socket& tx, Address to, Address from,
                              uint32_t n) {
  co_await send_burst(tx, to, 0, n);
  for (uint32_t i = 0; i < n; ++i) {
    auto d = co_await rx.next(5s);
    CO_ASSERT(d, "datagram " << i << " of " << n << ": " << describe(d.error()));
    // One sender on loopback: datagrams arrive in order.
    EXPECT_EQ(string_of(d->data), payload(i));
    EXPECT_EQ(d->from, from);
    EXPECT_FALSE(d->truncated);
  }
  co_await rx.stop();
  auto after = co_await rx.next();
  EXPECT_TRUE(after.cancelled()) << "next() after stop()";
}

TEST_P(MultishotTest, ReceivesManyDatagramsThroughOneArmedReceive) {
  const uint32_t n = 500;
  std::string why;
  if (!rcvbuf_holds(n, &why)) GTEST_SKIP() << why;
  for (bool allow : {true, false}) {
    SCOPED_TRACE(allow ? "multishot allowed" : "one at a time forced");
    ReceiverOptions options;
    options.buffers = 64;
    options.allow_multishot = allow;
    MultishotReceiver rx(rx_, options);
    EXPECT_EQ(rx.multishot(), allow && expect_multishot());
    run(burst_then_receive(rx, tx_, rx_addr_, tx_addr_, n));
    EXPECT_EQ(rx.stats().datagrams, n);
    if (rx.multishot()) {
      // Re-arms only when the kernel ended the multishot (64 buffers ran out), not per datagram.
      EXPECT_LT(rx.stats().arms, n / 4) << rx.stats().arms << " arms";
    } else {
      EXPECT_GE(rx.stats().arms, n);
    }
  }
}

TEST_P(MultishotTest, RecyclesBuffersWhenDatagramsOutnumberThem) {
  const uint32_t n = 300;
  std::string why;
  if (!rcvbuf_holds(n, &why)) GTEST_SKIP() << why;
  ReceiverOptions options;
  options.buffers = 4;  // 75 times fewer buffers than datagrams
  MultishotReceiver rx(rx_, options);
  EXPECT_EQ(rx.multishot(), expect_multishot());
  run(burst_then_receive(rx, tx_, rx_addr_, tx_addr_, n));
  EXPECT_EQ(rx.stats().datagrams, n);
  if (rx.multishot()) {
    // Four buffers cannot hold 300 datagrams in one go: the kernel ended the multishot when
    // they ran out and the receiver armed it again after recycling.
    EXPECT_GT(rx.stats().arms, 1u);
  }
}

// Stop-and-wait: the receiver answers each datagram, so every one arrives while next() is
// already waiting (the wake-up path, rather than the queued path above).
Task<void> echo_server(MultishotReceiver& rx, const Socket& sock, uint32_t n, uint32_t& served) {
  for (uint32_t i = 0; i < n; ++i) {
    auto d = co_await rx.next(5s);
    CO_ASSERT(d, describe(d.error()));
    auto r = co_await send_to(sock, d->data, d->from);
    CO_ASSERT(r, describe(r.error()));
    ++served;
  }
}

Task<void> echo_client(const Socket& tx, Address server, uint32_t n) {
  char buf[512];
  for (uint32_t i = 0; i < n; ++i) {
    std::string p = payload(i);
    auto sent = co_await send_to(tx, std::as_bytes(std::span(p.data(), p.size())), server);
    CO_ASSERT(sent, describe(sent.error()));
    Address from;
    auto got = co_await recv_from(tx, std::as_writable_bytes(std::span(buf)), &from, 5s);
    CO_ASSERT(got, describe(got.error()));
    EXPECT_EQ(std::string(buf, *got), p);
    EXPECT_EQ(from, server);
  }
}

Task<void> echo(MultishotReceiver& rx, const Socket& rx_sock, const Socket& tx, Address server,
                uint32_t n) {
  uint32_t served = 0;
  Executor::current()->spawn(echo_server(rx, rx_sock, n, served));
  co_await echo_client(tx, server, n);
  EXPECT_EQ(served, n);
  co_await rx.stop();
}

TEST_P(MultishotTest, WakesAWaitingNextForEachDatagram) {
  MultishotReceiver rx(rx_);
  run(echo(rx, rx_, tx_, rx_addr_, 200));
  EXPECT_EQ(rx.stats().datagrams, 200u);
}

Task<void> next_times_out_then_receives(MultishotReceiver& rx, const Socket& tx, Address to) {
  auto none = co_await rx.next(50ms);
  CO_ASSERT(!none, "a datagram nobody sent");
  EXPECT_TRUE(none.timed_out()) << describe(none.error());
  // The receive stayed armed: a datagram sent now arrives.
  co_await send_burst(tx, to, 7, 1);
  auto d = co_await rx.next(5s);
  CO_ASSERT(d, describe(d.error()));
  EXPECT_EQ(string_of(d->data), payload(7));
  co_await rx.stop();
}

TEST_P(MultishotTest, NextTimesOutAndStaysArmed) {
  MultishotReceiver rx(rx_);
  run(next_times_out_then_receives(rx, tx_, rx_addr_));
}

Task<void> request_stop_later(std::stop_source& source) {
  co_await sleep_for(1ms);  // runs once next() below is waiting
  source.request_stop();
}

Task<void> next_cancelled_then_receives(MultishotReceiver& rx, const Socket& tx, Address to,
                                        bool with_timeout) {
  std::stop_source source;
  Executor::current()->spawn(request_stop_later(source));
  auto none = co_await rx.next(with_timeout ? 30s : 0s, source.get_token());
  CO_ASSERT(!none, "a datagram nobody sent");
  EXPECT_TRUE(none.cancelled()) << describe(none.error());

  std::stop_source stopped;
  stopped.request_stop();
  auto at_once = co_await rx.next({}, stopped.get_token());
  EXPECT_TRUE(at_once.cancelled());

  co_await send_burst(tx, to, 3, 1);
  auto d = co_await rx.next(5s);
  CO_ASSERT(d, describe(d.error()));
  EXPECT_EQ(string_of(d->data), payload(3));
  co_await rx.stop();
}

TEST_P(MultishotTest, StopTokenCancelsNextOnly) {
  for (bool with_timeout : {false, true}) {
    SCOPED_TRACE(with_timeout ? "with a timeout" : "without a timeout");
    MultishotReceiver rx(rx_);
    run(next_cancelled_then_receives(rx, tx_, rx_addr_, with_timeout));
  }
}

Task<void> wait_for_next(MultishotReceiver& rx, int& outcome) {
  auto d = co_await rx.next();
  outcome = d.cancelled() ? 1 : 2;
}

Task<void> stop_while_waiting(MultishotReceiver& rx) {
  int outcome = 0;
  Executor::current()->spawn(wait_for_next(rx, outcome));  // arms, then waits
  co_await rx.stop();
  while (outcome == 0) co_await sleep_for(1ms);
  EXPECT_EQ(outcome, 1) << "a pending next() ends cancelled when the receiver stops";
  co_await rx.stop();  // stopping twice is harmless
}

TEST_P(MultishotTest, StopEndsAPendingNext) {
  MultishotReceiver rx(rx_);
  run(stop_while_waiting(rx));
}

Task<void> stop_with_datagrams_queued(MultishotReceiver& rx, const Socket& tx, Address to) {
  co_await send_burst(tx, to, 0, 10);
  auto d = co_await rx.next(5s);  // arms; the rest stay queued or in the socket
  CO_ASSERT(d, describe(d.error()));
  co_await rx.stop();
}

TEST_P(MultishotTest, StopWithDatagramsQueued) {
  MultishotReceiver rx(rx_);
  run(stop_with_datagrams_queued(rx, tx_, rx_addr_));
}

Task<void> stop_only(MultishotReceiver& rx) { co_await rx.stop(); }

TEST_P(MultishotTest, StopBeforeAnyNext) {
  MultishotReceiver rx(rx_);
  run(stop_only(rx));
}

Task<void> destroy_while_armed(const Socket& rx_sock) {
  {
    MultishotReceiver rx(rx_sock);
    auto none = co_await rx.next(10ms);  // arms, then times out: still armed
    EXPECT_TRUE(none.timed_out());
  }  // destroyed without stop(): a bug the receiver survives by cancelling and orphaning itself
  // Let the cancellation's completion arrive and free the orphan.
  for (int i = 0; i < 5; ++i) co_await sleep_for(1ms);
}

TEST_P(MultishotTest, DestroyedWhileArmedWarnsAndDoesNotCrash) {
  std::string said;
  set_log_handler([&](LogLevel, std::string_view message) { said = message; });
  run(destroy_while_armed(rx_));
  set_log_handler(nullptr);
  EXPECT_NE(said.find("stop()"), std::string::npos) << said;
}

Task<void> receive_truncated(MultishotReceiver& rx, const Socket& tx, Address to) {
  std::string big(100, 'x');
  auto sent = co_await send_to(tx, std::as_bytes(std::span(big.data(), big.size())), to);
  CO_ASSERT(sent, describe(sent.error()));
  auto d = co_await rx.next(5s);
  CO_ASSERT(d, describe(d.error()));
  EXPECT_TRUE(d->truncated);
  EXPECT_EQ(string_of(d->data), std::string(16, 'x'));
  co_await rx.stop();
}

TEST_P(MultishotTest, LongDatagramsArriveTruncated) {
  ReceiverOptions options;
  options.payload_size = 16;
  MultishotReceiver rx(rx_, options);
  run(receive_truncated(rx, tx_, rx_addr_));
}

Task<void> receive_v6(MultishotReceiver& rx, const Socket& tx, Address to, Address from) {
  co_await send_burst(tx, to, 0, 20);
  for (uint32_t i = 0; i < 20; ++i) {
    auto d = co_await rx.next(5s);
    CO_ASSERT(d, describe(d.error()));
    EXPECT_EQ(string_of(d->data), payload(i));
    EXPECT_EQ(d->from, from);
    EXPECT_TRUE(d->from.is_v6());
  }
  co_await rx.stop();
}

TEST_P(MultishotTest, ReceivesOnIpv6) {
  auto rx = bind_udp(Address::ipv6_loopback(0));
  auto tx = bind_udp(Address::ipv6_loopback(0));
  if (!rx || !tx) GTEST_SKIP() << "IPv6 loopback unavailable";
  MultishotReceiver receiver(*rx);
  run(receive_v6(receiver, *tx, *local_address(*rx), *local_address(*tx)));
}

// ---- Deadlines ----

// A sender that lets the receiver wait before each datagram.
Task<void> trickle(const Socket& tx, Address to, uint32_t n) {
  for (uint32_t i = 0; i < n; ++i) {
    co_await yield_now();
    co_await send_burst(tx, to, i, 1);
  }
}

// Waits for each datagram with a deadline moved forward every time, as a transfer does.
Task<void> receive_with_moving_deadlines(MultishotReceiver& rx, const Socket& tx, Address to,
                                         uint32_t n) {
  Executor::current()->spawn(trickle(tx, to, n));
  for (uint32_t i = 0; i < n; ++i) {
    auto d = co_await rx.next_until(MultishotReceiver::Clock::now() + 30s);
    CO_ASSERT(d, "datagram " << i << ": " << describe(d.error()));
    EXPECT_EQ(string_of(d->data), payload(i));
  }
  co_await rx.stop();
}

TEST_P(MultishotTest, DeadlinesMovedForwardShareOneTimer) {
  const uint32_t n = 200;
  for (bool allow : {true, false}) {
    SCOPED_TRACE(allow ? "multishot allowed" : "one at a time forced");
    ReceiverOptions options;
    options.allow_multishot = allow;
    MultishotReceiver rx(rx_, options);
    run(receive_with_moving_deadlines(rx, tx_, rx_addr_, n));
    // The first wait arms the timer; every later deadline is later than it, so it stays.
    EXPECT_EQ(rx.stats().timer_arms, 1u);
  }
}

Task<void> deadline_in_the_past(MultishotReceiver& rx) {
  auto d = co_await rx.next_until(MultishotReceiver::Clock::now() - 1ms);
  EXPECT_TRUE(d.timed_out()) << (d ? "a datagram nobody sent" : describe(d.error()));
  co_await rx.stop();
}

TEST_P(MultishotTest, PassedDeadlineTimesOutWithoutATimer) {
  MultishotReceiver rx(rx_);
  run(deadline_in_the_past(rx));
  EXPECT_EQ(rx.stats().timer_arms, 0u);
}

// A far deadline leaves its timer running after a cancelled wait; a nearer deadline must not
// wait for that timer but cancel it and arm its own.
Task<void> nearer_deadline_rearms(MultishotReceiver& rx) {
  std::stop_source source;
  Executor::current()->spawn(request_stop_later(source));
  auto none = co_await rx.next_until(MultishotReceiver::Clock::now() + 1h, source.get_token());
  EXPECT_TRUE(none.cancelled());
  auto d = co_await rx.next_until(MultishotReceiver::Clock::now() + 5ms);
  EXPECT_TRUE(d.timed_out()) << (d ? "a datagram nobody sent" : describe(d.error()));
  EXPECT_EQ(rx.stats().timer_arms, 2u) << "the hour-long timer, then one for 5 ms";
  co_await rx.stop();  // must not wait for the hour either
}

TEST_P(MultishotTest, NearerDeadlineReplacesAFartherTimer) {
  MultishotReceiver rx(rx_);
  run(nearer_deadline_rearms(rx));
}

// ---- Coalescing (UDP GRO) ----

// 40 datagrams of 1000 bytes and one of 300, sent in one call (UDP GSO) or one by one.
std::string run_datagram(uint32_t i) {
  return i < 40 ? std::string(1000, static_cast<char>('a' + i % 26)) : std::string(300, 'Z');
}

Task<void> receive_run(MultishotReceiver& rx, const Socket& tx, Address to, Address from,
                       bool segmented, bool* unsupported) {
  std::string all;
  for (uint32_t i = 0; i <= 40; ++i) all += run_datagram(i);
  auto bytes = std::as_bytes(std::span(all.data(), all.size()));
  if (segmented) {
    auto sent = co_await send_segments(tx, bytes, 1000, to);
    if (!sent && (sent.error() == std::errc::io_error ||
                  sent.error() == std::errc::no_protocol_option)) {
      *unsupported = true;
      co_await rx.stop();
      co_return;
    }
    CO_ASSERT(sent, describe(sent.error()));
  } else {
    for (uint32_t i = 0; i <= 40; ++i) {
      auto sent = co_await send_to(tx, bytes.subspan(i * 1000, i < 40 ? 1000 : 300), to);
      CO_ASSERT(sent, describe(sent.error()));
    }
  }
  for (uint32_t i = 0; i <= 40; ++i) {
    auto d = co_await rx.next(5s);
    CO_ASSERT(d, "datagram " << i << ": " << describe(d.error()));
    EXPECT_EQ(string_of(d->data), run_datagram(i)) << "datagram " << i;
    EXPECT_EQ(d->from, from);
    EXPECT_FALSE(d->truncated);
  }
  co_await rx.stop();
}

TEST_P(MultishotTest, CoalescedRunIsHandedOutDatagramByDatagram) {
  for (bool allow : {true, false}) {
    for (bool segmented : {true, false}) {
      SCOPED_TRACE(std::string(allow ? "multishot allowed" : "one at a time forced") +
                   (segmented ? ", sent in one call" : ", sent one by one"));
      ReceiverOptions options;
      options.buffers = 4;
      options.payload_size = 1024;
      options.coalesce_bytes = 65535;
      options.allow_multishot = allow;
      MultishotReceiver rx(rx_, options);
      bool unsupported = false;
      run(receive_run(rx, tx_, rx_addr_, tx_addr_, segmented, &unsupported));
      if (unsupported) GTEST_SKIP() << "no UDP segmentation offload here";
      uint64_t total = rx.stats().datagrams + rx.stats().coalesced;
      EXPECT_EQ(total, 41u);
      if (segmented && rx.coalescing()) {
        // On loopback the run stays whole from the sender's call to the receive.
        EXPECT_EQ(rx.stats().datagrams, 1u);
        EXPECT_EQ(rx.stats().coalesced, 40u);
      }
    }
  }
}

Task<void> receive_cut_run(MultishotReceiver& rx, const Socket& tx, Address to,
                           bool* unsupported) {
  std::string all;
  for (uint32_t i = 0; i <= 40; ++i) all += run_datagram(i);
  auto sent = co_await send_segments(tx, std::as_bytes(std::span(all.data(), all.size())), 1000,
                                     to);
  if (!sent) {
    *unsupported = true;
    co_await rx.stop();
    co_return;
  }
  // 2500 bytes of room: two whole datagrams, then half of the third, marked truncated.
  for (uint32_t i = 0; i < 3; ++i) {
    auto d = co_await rx.next(5s);
    CO_ASSERT(d, "datagram " << i << ": " << describe(d.error()));
    std::string expect = run_datagram(i);
    if (i == 2) expect.resize(500);
    EXPECT_EQ(string_of(d->data), expect);
    EXPECT_EQ(d->truncated, i == 2);
  }
  co_await rx.stop();
}

TEST_P(MultishotTest, CoalescedRunLongerThanTheBufferEndsTruncated) {
  ReceiverOptions options;
  options.buffers = 2;
  options.payload_size = 1024;
  options.coalesce_bytes = 2500;
  MultishotReceiver rx(rx_, options);
  if (!rx.coalescing()) GTEST_SKIP() << "UDP_GRO refused by this kernel";
  bool unsupported = false;
  run(receive_cut_run(rx, tx_, rx_addr_, &unsupported));
  if (unsupported) GTEST_SKIP() << "no UDP segmentation offload here";
}

}  // namespace
}  // namespace ringkit::net
