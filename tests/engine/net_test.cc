// UDP operations: addresses, sockets, round trips on both loopbacks, timeouts, cancellation,
// bursts, batching of sends into few io_uring_enter calls, and segmented sends (UDP GSO).
#include "ringkit/net.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <stop_token>
#include <string>
#include <vector>

#include "ringkit/executor.h"
#include "ringkit/time.h"
#include "support/backend_test.h"
#include "support/co_assert.h"

using namespace std::chrono_literals;

namespace ringkit::net {
namespace {

std::span<const std::byte> bytes_of(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

std::string string_of(std::span<const std::byte> b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

// ---- Address ----

TEST(UdpAddress, ParsesAndFormatsIpv4) {
  auto a = Address::parse("127.0.0.1:69");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->is_v4());
  EXPECT_EQ(a->port(), 69);
  EXPECT_EQ(a->host(), "127.0.0.1");
  EXPECT_EQ(a->to_string(), "127.0.0.1:69");
  EXPECT_EQ(*a, Address::ipv4_loopback(69));
  EXPECT_EQ(a->length(), sizeof(sockaddr_in));
}

TEST(UdpAddress, ParsesAndFormatsIpv6) {
  auto a = Address::parse("[::1]:6969");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->is_v6());
  EXPECT_EQ(a->port(), 6969);
  EXPECT_EQ(a->to_string(), "[::1]:6969");
  EXPECT_EQ(*a, Address::ipv6_loopback(6969));

  auto scoped = Address::parse("[fe80::1%2]:69");
  ASSERT_TRUE(scoped);
  EXPECT_EQ(scoped->to_string(), "[fe80::1%2]:69");
  EXPECT_NE(*scoped, *Address::parse("[fe80::1]:69"));
  auto named = Address::parse("[fe80::1%lo]:69");  // the loopback interface always exists
  ASSERT_TRUE(named);
  EXPECT_EQ(named->to_string().find("%lo"), std::string::npos) << "scopes print as numbers";
}

TEST(UdpAddress, HostOnlyAndHostLessForms) {
  EXPECT_EQ(Address::parse("127.0.0.1", 69), Address::ipv4_loopback(69));
  EXPECT_EQ(Address::parse("::1", 69), Address::ipv6_loopback(69));
  EXPECT_EQ(Address::parse("[::1]", 69), Address::ipv6_loopback(69));
  EXPECT_EQ(Address::parse(":69"), Address::ipv4_any(69));
  EXPECT_EQ(Address::parse("69"), Address::ipv4_any(69));
  EXPECT_EQ(Address::parse("[::]:69"), Address::ipv6_any(69));
  EXPECT_EQ(Address::parse("0.0.0.0:0"), Address::ipv4_any(0));
  EXPECT_EQ(Address::parse("1.2.3.4:65535")->port(), 65535);
}

TEST(UdpAddress, RejectsBadInput) {
  for (const char* bad :
       {"", ":", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:+5", "127.0.0.1:6 9",
        "127.0.0.1:0x45", "127.0.0.1:123456", "300.1.1.1:69", "1.2.3:69", "1.2.3.4.5:69",
        "localhost:69", "example.com", "[::1", "[::1]x", "[::1]:", "[::1]:70000", "[]:69",
        "[127.0.0.1]:69", "::1::2", "[fe80::1%]:69", "[fe80::1%no-such-if0]:69", "[::1]:69 ",
        " 127.0.0.1:69", "127.0.0.1:69:70"}) {
    EXPECT_FALSE(Address::parse(bad)) << "accepted \"" << bad << "\"";
  }
}

TEST(UdpAddress, FormatRoundTripsAndEmptyIsEmpty) {
  for (const char* text : {"127.0.0.1:1", "10.0.0.255:65535", "[::1]:2", "[2001:db8::5]:69",
                           "[::ffff:127.0.0.1]:69", "[fe80::1%3]:4"}) {
    auto a = Address::parse(text);
    ASSERT_TRUE(a) << text;
    EXPECT_EQ(a->to_string(), text);
    EXPECT_EQ(Address::parse(a->to_string()), a);
  }
  Address empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty.family(), AF_UNSPEC);
  EXPECT_EQ(empty.sockaddr(), nullptr);
  EXPECT_EQ(empty.to_string(), "");
  EXPECT_FALSE(Address::from_sockaddr(nullptr, 0));
  sockaddr_in short_v4{};
  short_v4.sin_family = AF_INET;
  EXPECT_FALSE(Address::from_sockaddr(reinterpret_cast<sockaddr*>(&short_v4), 4));
}

// ---- Sockets (no executor needed) ----

TEST(UdpSocket, BindsToAnEphemeralPortAndAppliesOptions) {
  UdpOptions options;
  options.recv_buffer = 1 << 20;
  options.send_buffer = 1 << 20;
  options.reuse_address = true;
  auto sock = bind_udp(Address::ipv4_loopback(0), options);
  ASSERT_TRUE(sock) << describe(sock.error());
  auto local = local_address(*sock);
  ASSERT_TRUE(local);
  EXPECT_TRUE(local->is_v4());
  EXPECT_NE(local->port(), 0);
  // The kernel reports twice what was set (its bookkeeping), unless capped by rmem_max.
  EXPECT_GE(recv_buffer_size(*sock).value_or(0), 1 << 20);
  EXPECT_GE(send_buffer_size(*sock).value_or(0), 1 << 20);
  EXPECT_FALSE(peer_address(*sock)) << "not connected";
}

TEST(UdpSocket, ReportsErrorsAsValues) {
  EXPECT_FALSE(udp_socket(AF_UNIX));
  EXPECT_FALSE(bind_udp(Address{}));
  // 192.0.2.1 (TEST-NET-1) is on no interface here: bind must fail, not crash.
  EXPECT_FALSE(bind_udp(*Address::parse("192.0.2.1:0")));
  auto a = bind_udp(Address::ipv4_loopback(0));
  ASSERT_TRUE(a);
  auto taken = bind_udp(*local_address(*a));
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error(), std::errc::address_in_use);
}

TEST(UdpSocket, V6OnlyOption) {
  for (bool v6_only : {true, false}) {
    UdpOptions options;
    options.v6_only = v6_only;
    auto sock = bind_udp(Address::ipv6_any(0), options);
    if (!sock) GTEST_SKIP() << "no IPv6: " << describe(sock.error());
    int value = -1;
    socklen_t len = sizeof value;
    ASSERT_EQ(getsockopt(sock->fd(), IPPROTO_IPV6, IPV6_V6ONLY, &value, &len), 0);
    EXPECT_EQ(value, v6_only ? 1 : 0);
  }
  // Ignored on IPv4 sockets rather than failing: one UdpOptions serves both families.
  UdpOptions options;
  options.v6_only = true;
  EXPECT_TRUE(bind_udp(Address::ipv4_loopback(0), options));
}

// ---- Datagram operations, on both backends ----

class UdpNetTest : public testing::BackendTest {};
RINGKIT_BACKEND_TEST_SUITE(UdpNetTest);

// Binds two sockets on `loopback`; skips the test (with why) when that family is unavailable.
struct Pair {
  Socket a, b;
  Address a_addr, b_addr;
};

std::optional<Pair> bind_pair(const Address& loopback, std::string* why) {
  UdpOptions options;
  options.recv_buffer = 4 << 20;
  auto a = bind_udp(loopback, options);
  auto b = bind_udp(loopback, options);
  if (!a || !b) {
    *why = "cannot bind " + loopback.to_string() + ": " + describe(!a ? a.error() : b.error());
    return std::nullopt;
  }
  Pair p;
  p.a_addr = *local_address(*a);
  p.b_addr = *local_address(*b);
  p.a = std::move(*a);
  p.b = std::move(*b);
  return p;
}

Task<void> ping_pong(Pair& p) {
  std::string ping = "ping over " + p.a_addr.to_string();
  auto sent = co_await send_to(p.a, bytes_of(ping), p.b_addr);
  CO_ASSERT(sent, describe(sent.error()));
  EXPECT_EQ(*sent, ping.size());

  std::byte buf[512];
  Address from;
  auto got = co_await recv_from(p.b, buf, &from, 5s);
  CO_ASSERT(got, describe(got.error()));
  EXPECT_EQ(string_of({buf, *got}), ping);
  EXPECT_EQ(from, p.a_addr);

  // Reply to whoever sent it, through the general sendmsg/recvmsg forms.
  std::string pong = "pong";
  iovec iov{const_cast<char*>(pong.data()), pong.size()};
  msghdr out{};
  out.msg_name = const_cast<sockaddr*>(from.sockaddr());
  out.msg_namelen = from.length();
  out.msg_iov = &iov;
  out.msg_iovlen = 1;
  auto replied = co_await sendmsg(p.b, out);
  CO_ASSERT(replied, describe(replied.error()));

  iovec in_iov{buf, sizeof buf};
  msghdr in{};
  in.msg_iov = &in_iov;
  in.msg_iovlen = 1;
  auto answer = co_await recvmsg(p.a, in, 0, 5s);
  CO_ASSERT(answer, describe(answer.error()));
  EXPECT_EQ(string_of({buf, *answer}), pong);
}

TEST_P(UdpNetTest, Ipv4LoopbackRoundTrip) {
  std::string why;
  auto p = bind_pair(Address::ipv4_loopback(0), &why);
  ASSERT_TRUE(p) << why;
  run(ping_pong(*p));
}

TEST_P(UdpNetTest, Ipv6LoopbackRoundTrip) {
  std::string why;
  auto p = bind_pair(Address::ipv6_loopback(0), &why);
  if (!p) GTEST_SKIP() << "IPv6 loopback unavailable: " << why;
  EXPECT_TRUE(p->a_addr.is_v6());
  run(ping_pong(*p));
}

Task<void> dual_stack_receive(const Socket& v6, Address v6_addr, const Socket& v4) {
  std::string msg = "from IPv4";
  Address to = Address::ipv4_loopback(v6_addr.port());
  auto sent = co_await send_to(v4, std::as_bytes(std::span(msg.data(), msg.size())), to);
  CO_ASSERT(sent, describe(sent.error()));
  std::byte buf[32];
  Address from;
  auto got = co_await recv_from(v6, buf, &from, 5s);
  CO_ASSERT(got, describe(got.error()));
  EXPECT_EQ(string_of({buf, *got}), msg);
  // A v4-mapped IPv6 address, which is how a dual-stack server sees IPv4 clients.
  EXPECT_TRUE(from.is_v6());
  EXPECT_EQ(from.host(), "::ffff:127.0.0.1");
}

TEST_P(UdpNetTest, DualStackSocketReceivesIpv4AsMapped) {
  UdpOptions options;
  options.v6_only = false;
  auto v6 = bind_udp(Address::ipv6_any(0), options);
  if (!v6) GTEST_SKIP() << "no IPv6: " << describe(v6.error());
  auto v4 = bind_udp(Address::ipv4_loopback(0));
  ASSERT_TRUE(v4);
  run(dual_stack_receive(*v6, *local_address(*v6), *v4));
}

Task<void> connected_round_trip(Pair& p) {
  auto c = connect(p.a, p.b_addr);
  EXPECT_TRUE(c) << describe(c.error());
  EXPECT_EQ(peer_address(p.a).value_or(Address{}), p.b_addr);
  std::string msg = "to the connected peer";
  auto sent = co_await send_to(p.a, bytes_of(msg), Address{});  // empty: the connected peer
  EXPECT_TRUE(sent) << describe(sent.error());
  std::byte buf[64];
  auto got = co_await recv_from(p.b, buf, nullptr, 5s);
  CO_ASSERT(got, describe(got.error()));
  EXPECT_EQ(string_of({buf, *got}), msg);
}

TEST_P(UdpNetTest, ConnectedSocketSendsToItsPeer) {
  std::string why;
  auto p = bind_pair(Address::ipv4_loopback(0), &why);
  ASSERT_TRUE(p) << why;
  run(connected_round_trip(*p));
}

Task<Result<size_t>> receive_with_timeout(const Socket& sock, std::chrono::nanoseconds timeout) {
  std::byte buf[16];
  Address from;
  co_return co_await recv_from(sock, buf, &from, timeout);
}

TEST_P(UdpNetTest, ReceiveTimeoutReadsAsTimedOut) {
  auto sock = bind_udp(Address::ipv4_loopback(0));
  ASSERT_TRUE(sock);
  auto r = run(receive_with_timeout(*sock, 50ms));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.timed_out()) << describe(r.error());
  EXPECT_FALSE(r.cancelled());
}

Task<void> request_stop_later(std::stop_source& source) {
  // Runs once the receive below is in flight: spawned tasks run when the spawner suspends.
  co_await sleep_for(1ms);
  source.request_stop();
}

Task<Result<size_t>> receive_until_stopped(const Socket& sock) {
  std::stop_source source;
  Executor::current()->spawn(request_stop_later(source));
  std::byte buf[16];
  // A generous timeout that must not be what ends it.
  co_return co_await recv_from(sock, buf, nullptr, 30s, source.get_token());
}

TEST_P(UdpNetTest, StopTokenCancelsReceive) {
  auto sock = bind_udp(Address::ipv4_loopback(0));
  ASSERT_TRUE(sock);
  auto r = run(receive_until_stopped(*sock));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.cancelled()) << describe(r.error());
  EXPECT_FALSE(r.timed_out());
}

Task<Result<size_t>> receive_already_stopped(const Socket& sock) {
  std::stop_source source;
  source.request_stop();
  std::byte buf[16];
  co_return co_await recv_from(sock, buf, nullptr, {}, source.get_token());
}

TEST_P(UdpNetTest, AlreadyStoppedTokenCancelsAtOnce) {
  auto sock = bind_udp(Address::ipv4_loopback(0));
  ASSERT_TRUE(sock);
  EXPECT_TRUE(run(receive_already_stopped(*sock)).cancelled());
}

Task<void> send_one(const Socket& sock, Address to, uint32_t seq, int& done, int& failed) {
  char payload[32];
  int n = std::snprintf(payload, sizeof payload, "datagram %u", seq);
  auto r = co_await send_to(sock, std::as_bytes(std::span(payload, static_cast<size_t>(n))), to);
  if (!r) ++failed;
  ++done;
}

// Spawns `n` send tasks at once, waits until all finished, then receives all `n` datagrams.
Task<void> burst(Pair& p, int n, uint64_t* submit_calls_for_sends) {
  Executor& ex = *Executor::current();
  uint64_t before = ex.stats().submit_calls;
  int done = 0, failed = 0;
  for (int i = 0; i < n; ++i) ex.spawn(send_one(p.a, p.b_addr, static_cast<uint32_t>(i), done, failed));
  while (done < n) co_await sleep_for(1ms);
  *submit_calls_for_sends = ex.stats().submit_calls - before;
  EXPECT_EQ(failed, 0);

  std::vector<bool> seen(static_cast<size_t>(n), false);
  char buf[64];
  for (int i = 0; i < n; ++i) {
    Address from;
    auto got = co_await recv_from(p.b, std::as_writable_bytes(std::span(buf)), &from, 5s);
    CO_ASSERT(got, "datagram " << i << " of " << n << ": " << describe(got.error()));
    unsigned seq = 0;
    std::string text(buf, *got);
    CO_ASSERT(std::sscanf(text.c_str(), "datagram %u", &seq) == 1, text);
    CO_ASSERT(seq < static_cast<unsigned>(n), seq);
    EXPECT_FALSE(seen[seq]) << "duplicate " << seq;
    seen[seq] = true;
    EXPECT_EQ(from, p.a_addr);
  }
}

// The receive buffer must hold the whole burst: each small datagram costs the socket about a
// kilobyte of accounting (its skb), whatever its payload.
bool rcvbuf_holds(const Socket& sock, int datagrams, std::string* why) {
  int have = recv_buffer_size(sock).value_or(0);
  if (have >= datagrams * 1536) return true;
  *why = "SO_RCVBUF is only " + std::to_string(have) + " bytes (net.core.rmem_max too low and no "
         "CAP_NET_ADMIN); a burst of " + std::to_string(datagrams) + " would overflow it";
  return false;
}

TEST_P(UdpNetTest, BurstOfAThousandDatagramsAllArrive) {
  std::string why;
  auto p = bind_pair(Address::ipv4_loopback(0), &why);
  ASSERT_TRUE(p) << why;
  if (!rcvbuf_holds(p->b, 1000, &why)) GTEST_SKIP() << why;
  uint64_t submit_calls = 0;
  run(burst(*p, 1000, &submit_calls));
}

TEST_P(UdpNetTest, ManySendsBatchIntoFewSubmits) {
  if (GetParam() != BackendKind::kUring) {
    GTEST_SKIP() << "batching sends into io_uring_enter calls is a property of the uring backend";
  }
  std::string why;
  auto p = bind_pair(Address::ipv4_loopback(0), &why);
  ASSERT_TRUE(p) << why;
  const int sends = 1000;
  if (!rcvbuf_holds(p->b, sends, &why)) GTEST_SKIP() << why;
  uint64_t submit_calls = 0;
  run(burst(*p, sends, &submit_calls));
  // One io_uring_enter per submission-queue-full of sends (256 here), plus a few loop turns;
  // one per send would be 1000.
  RecordProperty("io_uring_enter_calls", std::to_string(submit_calls));
  EXPECT_GT(submit_calls, 0u);
  EXPECT_LE(submit_calls * 20, static_cast<uint64_t>(sends))
      << submit_calls << " io_uring_enter calls for " << sends << " sends";
}

Task<void> send_with_timeout_succeeds(Pair& p) {
  std::string msg = "in time";
  auto sent = co_await send_to(p.a, bytes_of(msg), p.b_addr, 5s);
  EXPECT_TRUE(sent) << describe(sent.error());
  std::byte buf[16];
  auto got = co_await recv_from(p.b, buf, nullptr, 5s);
  CO_ASSERT(got, describe(got.error()));
  EXPECT_EQ(string_of({buf, *got}), msg);
}

TEST_P(UdpNetTest, OperationsWithATimeoutSucceedWhenInTime) {
  std::string why;
  auto p = bind_pair(Address::ipv4_loopback(0), &why);
  ASSERT_TRUE(p) << why;
  run(send_with_timeout_succeeds(*p));
}

Task<Result<size_t>> receive_on(int fd) {
  std::byte buf[16];
  co_return co_await recv_from(fd, buf, nullptr, 1s);
}

TEST_P(UdpNetTest, BadDescriptorIsAnError) {
  auto r = run(receive_on(-1));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), std::errc::bad_file_descriptor) << describe(r.error());
}

// ---- send_segments ----

// `n` segments of `size` bytes, segment i filled with 'a' + i % 26, then a shorter last one.
std::string segmented_payload(size_t n, size_t size, size_t last) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s.append(size, static_cast<char>('a' + i % 26));
  s.append(last, 'Z');
  return s;
}

// Sends one segmented run from a to b and receives it as separate datagrams (b has no UDP_GRO).
Task<void> segments_arrive_as_datagrams(Pair& p, bool* unsupported) {
  const size_t n = 20, size = 1000, last = 123;
  std::string run = segmented_payload(n, size, last);
  auto sent = co_await send_segments(p.a, bytes_of(run), size, p.b_addr);
  if (!sent && (sent.error() == std::errc::io_error ||
                sent.error() == std::errc::no_protocol_option)) {
    *unsupported = true;
    co_return;
  }
  CO_ASSERT(sent, describe(sent.error()));
  EXPECT_EQ(*sent, run.size());
  std::vector<std::byte> buf(2048);
  for (size_t i = 0; i <= n; ++i) {
    Address from;
    auto got = co_await recv_from(p.b, buf, &from, 5s);
    CO_ASSERT(got, "datagram " << i << ": " << describe(got.error()));
    std::string expect = i < n ? std::string(size, static_cast<char>('a' + i % 26))
                               : std::string(last, 'Z');
    EXPECT_EQ(string_of({buf.data(), *got}), expect) << "datagram " << i;
    EXPECT_EQ(from, p.a_addr);
  }
}

TEST_P(UdpNetTest, SegmentedSendArrivesAsSeparateDatagrams) {
  std::string why;
  auto p = bind_pair(Address::ipv4_loopback(0), &why);
  ASSERT_TRUE(p) << why;
  bool unsupported = false;
  run(segments_arrive_as_datagrams(*p, &unsupported));
  if (unsupported) GTEST_SKIP() << "this kernel or route has no UDP segmentation offload";
}

Task<void> oversized_runs_are_refused(Pair& p) {
  std::string too_many = segmented_payload(kMaxSegments + 1, 100, 0);
  auto r = co_await send_segments(p.a, bytes_of(too_many), 100, p.b_addr);
  EXPECT_EQ(r.error(), std::errc::message_size) << "more than kMaxSegments";
  std::string too_long(kMaxSegmentedBytes + 1, 'x');
  r = co_await send_segments(p.a, bytes_of(too_long), 60000, p.b_addr);
  EXPECT_EQ(r.error(), std::errc::message_size) << "more than kMaxSegmentedBytes";
  r = co_await send_segments(p.a, {}, 100, p.b_addr);
  EXPECT_EQ(r.error(), std::errc::message_size) << "nothing to send";
  std::string one(50, 'y');
  r = co_await send_segments(p.a, bytes_of(one), 0, p.b_addr);
  EXPECT_EQ(r.error(), std::errc::message_size) << "segment size 0";
}

TEST_P(UdpNetTest, SegmentedSendRefusesRunsBeyondItsLimits) {
  std::string why;
  auto p = bind_pair(Address::ipv4_loopback(0), &why);
  ASSERT_TRUE(p) << why;
  run(oversized_runs_are_refused(*p));
}

}  // namespace
}  // namespace ringkit::net
