// MultishotReceiver: many datagrams through one armed receive, buffer recycling with more
// datagrams than buffers, re-arming, timeouts and cancellation of next(), the explicit stop,
// truncation, and the one-at-a-time fallback (threads backend, or forced) with the same results.
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

}  // namespace
}  // namespace ringkit::net
