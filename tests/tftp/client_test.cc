// tftp::get / tftp::put over loopback sockets on both backends, against a small fake server
// made of the same send_blocks/receive_blocks (tests/e2e/ringtftp_interop_test.cc runs the
// client against tftpd-hpa and atftpd). The fake server can drop requests, ignore options,
// refuse, send a bad OACK, or impair its traffic, so that every branch of the handshake is hit.
#include "tftp/client.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <random>
#include <string>
#include <vector>

#include "ringkit/buffer_pool.h"
#include "ringkit/net.h"
#include "ringkit/when_all.h"
#include "support/backend_test.h"
#include "support/co_assert.h"
#include "support/random_bytes.h"
#include "tftp/block.h"
#include "tftp/options.h"

namespace ringkit::tftp {
namespace {

using namespace std::chrono_literals;

using ringkit::testing::random_bytes;

// Lossless runs count packets exactly: the timer must never fire on a busy machine.
constexpr RetransmitPolicy kSteadyPolicy{.initial = 1s, .min = 500ms, .max = 2s, .max_retries = 8};
// Runs with loss or lost requests: short waits, generous retries.
constexpr RetransmitPolicy kLossyPolicy{.initial = 20ms, .min = 2ms, .max = 100ms,
                                        .max_retries = 30};

struct FakeServer {
  std::vector<std::byte> file;          // what an RRQ gets
  ServerOptionLimits limits;
  bool ignore_options = false;          // answer like an RFC 1350 server: no OACK
  int drop_requests = 0;                // requests ignored before one is answered
  std::optional<ErrorCode> refuse;      // answer the request with this ERROR
  std::string refuse_message;
  std::optional<Option> bogus_oack;     // send this OACK instead of the negotiated one
  Impairment impairment;
  RetransmitPolicy policy = kSteadyPolicy;
  std::chrono::nanoseconds dally = 20ms;
};

struct ServerSeen {
  int requests = 0;
  Opcode opcode = Opcode::kRrq;
  std::string filename;
  std::string mode;
  std::vector<std::pair<std::string, std::string>> options;
  Result<void> result;
  PeerError peer;                       // the ERROR the client sent, if any
  TransferStats stats;
  ChannelStats channel;
  std::vector<std::byte> upload;        // what a WRQ delivered
};

class ClientTest : public testing::BackendTest {
 protected:
  // Serves one request that arrives on `listen`, from a fresh socket (its own TID).
  Task<void> serve_one(net::Socket& listen, const FakeServer& b, ServerSeen& seen) {
    std::vector<std::byte> buf(4096);
    net::Address from;
    std::optional<Request> request;
    while (!request) {
      auto n = co_await net::recv_from(listen, buf, &from, 20s);
      CO_ASSERT(n, "no request: " << n.error().message());
      auto p = parse_packet(std::span<const std::byte>(buf).first(*n));
      CO_ASSERT(p && std::holds_alternative<Request>(*p), "not a request");
      if (++seen.requests <= b.drop_requests) continue;
      request = std::get<Request>(*p);
    }
    seen.opcode = request->opcode;
    seen.filename = request->filename;
    seen.mode = request->mode_text;
    for (const auto& o : request->options) seen.options.emplace_back(o.name, o.value);

    auto local = from.is_v6() ? net::Address::ipv6_loopback() : net::Address::ipv4_loopback();
    auto tid = net::bind_udp(local);
    CO_ASSERT(tid, "bind");
    ChannelOptions options;
    options.max_datagram = kMaxPacketSize;
    options.impairment = b.impairment;
    Channel channel(*tid, from, options);
    if (b.refuse) {
      co_await channel.send_error(*b.refuse, b.refuse_message);
      co_return;
    }
    Negotiated negotiated;
    if (!b.ignore_options) {
      auto n = negotiate(*request, b.limits, b.file.size());
      CO_ASSERT(n, "negotiate: " << n.error().message());
      negotiated = *n;
    }
    std::vector<std::byte> oack_buf(1024);
    std::span<const std::byte> oack;
    if (b.bogus_oack) {
      auto n = build_oack(oack_buf, std::span(&*b.bogus_oack, 1));
      oack = std::span(oack_buf).first(*n);
    } else if (negotiated.needs_oack()) {
      auto n = build_oack(oack_buf, negotiated);
      oack = std::span(oack_buf).first(*n);
    }
    TransferParams params{.blksize = negotiated.blksize, .windowsize = negotiated.windowsize,
                          .policy = b.policy, .on_progress = {}};
    if (request->opcode == Opcode::kRrq) {
      MemorySource source(b.file, negotiated.blksize);
      BufferPool pool(ex(), 4, 256 * 1024);
      seen.result = co_await send_blocks(channel, source, pool, params, oack, seen.stats,
                                         &seen.peer);
    } else {
      std::array<std::byte, 4> ack0{};
      (void)build_ack(ack0, 0);
      std::span<const std::byte> opening = ack0;
      if (!oack.empty()) opening = oack;
      MemorySink sink;
      seen.result = co_await receive_blocks(channel, sink, params, opening, std::nullopt, b.dally,
                                            seen.stats, &seen.peer);
      seen.upload = sink.data();
    }
    co_await channel.close();
    seen.channel = channel.stats();
  }

  struct Listener {
    net::Socket sock;
    net::Address address;
  };
  static Listener listener(bool v6 = false) {
    auto local = v6 ? net::Address::ipv6_loopback() : net::Address::ipv4_loopback();
    auto s = net::bind_udp(local);
    if (!s) throw std::runtime_error("bind: " + s.error().message());
    auto a = net::local_address(*s);
    return Listener{std::move(*s), *a};
  }

  Task<void> get_task(Listener& l, const FakeServer& b, ClientRequest req, ServerSeen& seen,
                      MemorySink& sink, ClientResult& result, bool serve) {
    req.server = l.address;
    std::optional<JoinHandle<void>> server;
    if (serve) server.emplace(spawn_joinable(serve_one(l.sock, b, seen)));
    result = co_await get(req, sink);
    if (server) co_await server->join();
  }

  ClientResult run_get(const FakeServer& b, const ClientRequest& req, ServerSeen& seen,
                       MemorySink& sink, bool v6 = false, bool serve = true) {
    Listener l = listener(v6);
    ClientResult result;
    run(get_task(l, b, req, seen, sink, result, serve));
    return result;
  }

  Task<void> put_task(Listener& l, const FakeServer& b, ClientRequest req, const SourceFactory& make,
                      ServerSeen& seen, ClientResult& result) {
    req.server = l.address;
    auto server = spawn_joinable(serve_one(l.sock, b, seen));
    BufferPool pool(ex(), 4, 256 * 1024);
    result = co_await put(req, make, pool);
    co_await server.join();
  }

  // Uploads what `make`'s sources read, or `data`.
  ClientResult run_put(const FakeServer& b, const ClientRequest& req, const SourceFactory& make,
                       ServerSeen& seen, bool v6 = false) {
    Listener l = listener(v6);
    ClientResult result;
    run(put_task(l, b, req, make, seen, result));
    return result;
  }
  ClientResult run_put(const FakeServer& b, const ClientRequest& req,
                       std::span<const std::byte> data, ServerSeen& seen, bool v6 = false) {
    SourceFactory make = [data](size_t blksize) {
      return std::make_unique<MemorySource>(data, blksize);
    };
    return run_put(b, req, make, seen, v6);
  }
};

ClientRequest request_for(const char* name, ClientOptions options = {}) {
  ClientRequest r;
  r.filename = name;
  r.options = options;
  r.policy = kSteadyPolicy;
  return r;
}

TEST_P(ClientTest, GetsFilesOfEverySizeWithExactlyThePredictedPackets) {
  struct Case {
    ClientOptions options;
    uint16_t blksize;
    uint16_t window;
  };
  const Case cases[] = {
      {{}, 512, 1},
      {{.blksize = 1428, .tsize = 0, .windowsize = 4}, 1428, 4},
      {{.blksize = 8, .windowsize = 16}, 8, 16},
  };
  for (const Case& c : cases) {
    const size_t bs = c.blksize, win = c.window;
    for (size_t size : {size_t{0}, size_t{1}, size_t{511}, size_t{512}, size_t{513}, 3 * bs,
                        3 * bs * win, 3 * bs * win + 1, size_t{100000}}) {
      SCOPED_TRACE("blksize " + std::to_string(bs) + " window " + std::to_string(win) +
                   " size " + std::to_string(size));
      FakeServer server{.file = random_bytes(size, size + bs)};
      ServerSeen seen;
      MemorySink sink;
      auto r = run_get(server, request_for("boot/file.bin", c.options), seen, sink);
      ASSERT_TRUE(r.ok()) << r.describe();
      EXPECT_TRUE(seen.result.ok()) << seen.result.error().message();
      EXPECT_EQ(sink.data(), server.file);
      EXPECT_EQ(r.bytes, size);
      EXPECT_EQ(seen.filename, "boot/file.bin");
      EXPECT_EQ(seen.mode, "octet");
      EXPECT_EQ(r.negotiated.blksize, bs);
      EXPECT_EQ(r.negotiated.windowsize, win);
      bool with_options = c.options.blksize.has_value();
      EXPECT_EQ(r.oack, with_options);
      if (c.options.tsize) {
        EXPECT_EQ(r.negotiated.tsize, size);
      }
      uint64_t blocks = data_block_count(size, bs);
      // The RRQ, ACK 0 after an OACK, one ACK per full window and one for the last block.
      uint64_t acks = (blocks - 1) / win + 1;
      EXPECT_EQ(r.channel.packets_sent, 1 + (with_options ? 1 : 0) + acks);
      EXPECT_EQ(seen.channel.packets_sent, (with_options ? 1 : 0) + blocks);
      EXPECT_EQ(r.stats.retransmits, 0u);
      EXPECT_EQ(seen.stats.retransmits, 0u);
      EXPECT_EQ(seen.requests, 1);
    }
  }
}

TEST_P(ClientTest, GetRollsBlockNumbersOver) {
  FakeServer server{.file = random_bytes(70000 * 8 + 5, 9)};
  ServerSeen seen;
  MemorySink sink;
  auto r = run_get(server, request_for("big", {.blksize = 8, .windowsize = 32}), seen, sink);
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(sink.data(), server.file);
  EXPECT_EQ(r.stats.blocks, 70001u);
}

TEST_P(ClientTest, GetFromServerThatIgnoresOptionsUsesRfc1350Defaults) {
  FakeServer server{.file = random_bytes(5000, 1), .ignore_options = true};
  ServerSeen seen;
  MemorySink sink;
  auto r = run_get(server, request_for("f", {.blksize = 1428, .tsize = 0, .windowsize = 8}), seen,
                   sink);
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_FALSE(r.oack);
  EXPECT_EQ(r.negotiated.blksize, 512);
  EXPECT_EQ(r.negotiated.windowsize, 1);
  EXPECT_EQ(sink.data(), server.file);
  EXPECT_EQ(seen.options.size(), 3u) << "the options were asked for";
  // No ACK 0 without an OACK: the RRQ and one ACK per block.
  EXPECT_EQ(r.channel.packets_sent, 1u + data_block_count(5000, 512));
}

TEST_P(ClientTest, GetResendsALostRequest) {
  FakeServer server{.file = random_bytes(3000, 2), .drop_requests = 2};
  ServerSeen seen;
  MemorySink sink;
  auto req = request_for("f", {.blksize = 1024});
  req.policy = kLossyPolicy;
  auto r = run_get(server, req, seen, sink);
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(sink.data(), server.file);
  EXPECT_EQ(seen.requests, 3);
  EXPECT_GE(r.stats.retransmits, 2u);
  EXPECT_GE(r.stats.timeouts, 2u);
}

TEST_P(ClientTest, GetReportsTheServersError) {
  FakeServer server{.refuse = ErrorCode::kFileNotFound, .refuse_message = "no such file: nope"};
  ServerSeen seen;
  MemorySink sink;
  auto r = run_get(server, request_for("nope"), seen, sink);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.failure, FailureKind::kServer);
  EXPECT_EQ(r.error, make_error_code(Errc::kPeerError));
  ASSERT_TRUE(r.server_error.has_value());
  EXPECT_EQ(r.server_error->code, ErrorCode::kFileNotFound);
  EXPECT_EQ(r.server_error->message, "no such file: nope");
  EXPECT_NE(r.describe().find("no such file: nope"), std::string::npos) << r.describe();
  EXPECT_EQ(sink.size(), 0u);
}

TEST_P(ClientTest, GetAnswersAnUnacceptableOackWithError8) {
  struct Case {
    Option oack;
    Errc expected;
  };
  const Case cases[] = {
      {{"blksize", "2000"}, Errc::kOptionValueRaised},  // asked 1024: may be lowered only
      {{"windowsize", "4"}, Errc::kUnrequestedOption},
      {{"blksize", "many"}, Errc::kBadOptionValue},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.oack.name) + "=" + std::string(c.oack.value));
    FakeServer server{.file = random_bytes(5000, 3), .bogus_oack = c.oack};
    ServerSeen seen;
    MemorySink sink;
    auto r = run_get(server, request_for("f", {.blksize = 1024}), seen, sink);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error, make_error_code(c.expected)) << r.describe();
    EXPECT_EQ(r.failure, FailureKind::kNetwork);
    EXPECT_EQ(seen.result.error(), make_error_code(Errc::kPeerError));
    EXPECT_EQ(seen.peer.code, ErrorCode::kOptionNegotiation);
    EXPECT_EQ(sink.size(), 0u);
  }
}

TEST_P(ClientTest, GetTimesOutWhenNobodyAnswers) {
  FakeServer server;
  ServerSeen seen;
  MemorySink sink;
  auto req = request_for("f");
  req.policy = {.initial = 5ms, .min = 1ms, .max = 10ms, .max_retries = 3};
  auto r = run_get(server, req, seen, sink, false, /*serve=*/false);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error == std::errc::timed_out) << r.error.message();
  EXPECT_EQ(r.failure, FailureKind::kNetwork);
  EXPECT_EQ(r.stats.timeouts, 4u);
  EXPECT_EQ(r.stats.retransmits, 3u);
  EXPECT_EQ(r.channel.packets_sent, 4u) << "the RRQ and three repeats";
  EXPECT_NE(r.describe().find("timed out"), std::string::npos) << r.describe();
}

TEST_P(ClientTest, GetCompletesUnderLossDuplicationAndReordering) {
  for (uint16_t window : {1, 8}) {
    for (uint64_t seed : {1, 2, 3}) {
      SCOPED_TRACE("window " + std::to_string(window) + " seed " + std::to_string(seed));
      FakeServer server{.file = random_bytes(1024 * 200 + 7, seed), .policy = kLossyPolicy};
      server.impairment = {.loss = 0.05, .duplicate = 0.05, .reorder = 0.05, .seed = seed + 7};
      ServerSeen seen;
      MemorySink sink;
      auto req = request_for("f", {.blksize = 1024, .windowsize = window});
      req.policy = kLossyPolicy;
      req.impairment = {.loss = 0.05, .duplicate = 0.05, .reorder = 0.05, .seed = seed};
      req.dally = 4 * kLossyPolicy.max;  // a lost final ACK is answered, so the server succeeds
      auto r = run_get(server, req, seen, sink);
      ASSERT_TRUE(r.ok()) << r.describe();
      EXPECT_EQ(sink.data(), server.file);
      EXPECT_GT(r.channel.impaired, 0u);
      EXPECT_GT(r.stats.retransmits + seen.stats.retransmits, 0u);
    }
  }
}

// A server that resends a lost block only after its own fixed wait (tftpd-hpa ignores the
// receiver's repeated ACK of the block before and waits 1 s, then longer). On loopback the
// client's measured wait falls to its floor; the retries that floor allows must not add up to
// less than the policy's nominal patience (initial, doubling), or the client gives up on a
// server that is only slow to resend.
TEST_P(ClientTest, GetOutlastsAServerThatResendsOnlyAfterItsOwnWait) {
  FakeServer server{.file = random_bytes(512 * 60, 6)};
  server.policy = {.initial = 300ms, .min = 300ms, .max = 300ms, .max_retries = 5};
  server.impairment = {.loss = 0.1, .seed = 11};  // drops some DATA; each costs the server 300 ms
  ServerSeen seen;
  MemorySink sink;
  auto req = request_for("f");
  // Nominal patience: 100 + 200 + 400 + 400 ms. Measured down to 2 ms, the same three retries
  // would last 2 + 4 + 8 + 16 ms.
  req.policy = {.initial = 100ms, .min = 2ms, .max = 400ms, .max_retries = 3};
  auto r = run_get(server, req, seen, sink);
  ASSERT_TRUE(r.ok()) << r.describe() << " after " << r.stats.blocks << " blocks, "
                      << r.stats.timeouts << " timeouts";
  EXPECT_EQ(sink.data(), server.file);
  EXPECT_GT(seen.stats.retransmits, 0u) << "the server had to resend";
}

// Impairment stands for loss on the path: an answer it drops must be as lost as one the
// network dropped, so the request is resent to the server's request port, not to the port
// of the answer the client never saw (a server's transfer port does not take requests;
// tftpd-hpa abandons the transfer).
TEST_P(ClientTest, AnAnswerLostToImpairmentIsAsLostAsOneLostOnTheWire) {
  // A seed whose draws send the RRQ, drop the first answer, send the RRQ again and keep the
  // second answer (Channel draws once per send and once per receive at loss 0.5).
  constexpr double kLoss = 0.5;
  uint64_t seed = 1;
  for (;; ++seed) {
    std::mt19937_64 rng(seed);
    auto draw = [&] { return std::uniform_real_distribution<double>(0.0, 1.0)(rng) < kLoss; };
    bool drop_rrq = draw(), drop_answer = draw(), drop_rrq2 = draw(), drop_answer2 = draw();
    if (!drop_rrq && drop_answer && !drop_rrq2 && !drop_answer2) break;
  }
  Listener l = listener();
  auto tid = net::bind_udp(net::Address::ipv4_loopback());
  ASSERT_TRUE(tid);
  ClientResult r;
  int requests_at_request_port = 0;
  auto server = [&]() -> Task<void> {
    std::array<std::byte, 600> buf;
    std::array<std::byte, 16> data;
    const std::string hi = "hi";
    auto block = build_data(data, 1, std::as_bytes(std::span(hi.data(), hi.size())));
    net::Address client;
    // The first RRQ, answered from the transfer port (the client drops the answer); then the
    // resent RRQ, which must come to the request port again, answered the same way.
    for (int i = 0; i < 2; ++i) {
      auto n = co_await net::recv_from(l.sock, buf, &client, 2s);
      if (!n) co_return;
      ++requests_at_request_port;
      (void)co_await net::send_to(*tid, std::span(data).first(*block), client);
    }
    (void)co_await net::recv_from(*tid, buf, nullptr, 2s);  // ACK 1
  };
  auto body = [&]() -> Task<void> {
    auto s = spawn_joinable(server());
    auto req = request_for("f");
    req.server = l.address;
    req.policy = kLossyPolicy;
    req.impairment = {.loss = kLoss, .seed = seed};
    MemorySink sink;
    r = co_await get(req, sink);
    co_await s.join();
    EXPECT_EQ(sink.size(), 2u);
  };
  run(body());
  EXPECT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(requests_at_request_port, 2) << "the RRQ was resent to the transfer's port";
}

TEST_P(ClientTest, GetWhoseSinkFailsIsALocalFailureAndTellsTheServer) {
  FakeServer server{.file = random_bytes(10000, 4)};
  ServerSeen seen;
  int fd = ::memfd_create("sink", 0);
  ASSERT_GE(fd, 0);
  FileSink sink(fd, false, 4000);  // too small for the file
  Listener l = listener();
  ClientResult r;
  auto task = [&]() -> Task<void> {
    auto req = request_for("f");
    req.server = l.address;
    auto s = spawn_joinable(serve_one(l.sock, server, seen));
    r = co_await get(req, sink);
    co_await s.join();
  };
  run(task());
  ::close(fd);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.failure, FailureKind::kLocal) << r.describe();
  EXPECT_EQ(seen.peer.code, ErrorCode::kDiskFull);
}

TEST_P(ClientTest, GetOverIpv6) {
  if (!net::bind_udp(net::Address::ipv6_loopback())) GTEST_SKIP() << "no IPv6 loopback here";
  FakeServer server{.file = random_bytes(4000, 5)};
  ServerSeen seen;
  MemorySink sink;
  auto r = run_get(server, request_for("f", {.blksize = 1000}), seen, sink, /*v6=*/true);
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_TRUE(r.server_tid.is_v6());
  EXPECT_EQ(sink.data(), server.file);
}

TEST_P(ClientTest, PutsFilesOfEverySize) {
  for (bool with_options : {false, true}) {
    for (size_t size : {0, 1, 511, 512, 513, 1024 * 4 * 3, 100000}) {
      SCOPED_TRACE("options " + std::to_string(with_options) + " size " + std::to_string(size));
      auto data = random_bytes(size, size + 11);
      FakeServer server;
      ServerSeen seen;
      ClientOptions options;
      if (with_options) options = {.blksize = 1024, .tsize = size, .windowsize = 4};
      auto r = run_put(server, request_for("up/load", options), data, seen);
      ASSERT_TRUE(r.ok()) << r.describe();
      EXPECT_TRUE(seen.result.ok()) << seen.result.error().message();
      EXPECT_EQ(seen.opcode, Opcode::kWrq);
      EXPECT_EQ(seen.filename, "up/load");
      EXPECT_EQ(seen.upload, data);
      EXPECT_EQ(r.bytes, size);
      EXPECT_EQ(r.oack, with_options);
      size_t bs = with_options ? 1024 : 512;
      uint64_t blocks = data_block_count(size, bs);
      EXPECT_EQ(r.channel.packets_sent, 1 + blocks) << "the WRQ and each block once";
      if (with_options) {
        bool told_size = false;
        for (auto& [name, value] : seen.options) {
          if (name == "tsize") told_size = value == std::to_string(size);
        }
        EXPECT_TRUE(told_size) << "the WRQ carries the size";
        EXPECT_EQ(r.negotiated.tsize, size);
      }
    }
  }
}

// A source whose reads fail from block `from` on, as a file that turns unreadable mid-upload.
class FailingSource : public BlockSource {
 public:
  FailingSource(std::span<const std::byte> data, size_t blksize, uint64_t from)
      : inner_(data, blksize), from_(from) {}
  Task<Result<void>> read(uint64_t first, std::span<const std::span<std::byte>> payloads,
                          std::span<size_t> sizes) override {
    if (first + payloads.size() > from_) co_return errno_error(EIO);
    co_return co_await inner_.read(first, payloads, sizes);
  }

 private:
  MemorySource inner_;
  uint64_t from_;
};

TEST_P(ClientTest, PutWhoseSourceFailsIsALocalFailure) {
  ServerSeen seen;
  auto data = random_bytes(20000, 5);
  SourceFactory make = [&data](size_t blksize) {
    return std::make_unique<FailingSource>(data, blksize, 3);
  };
  auto r = run_put(FakeServer{}, request_for("up"), make, seen);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.failure, FailureKind::kLocal) << r.describe();
}

TEST_P(ClientTest, PutRefusedByTheServer) {
  FakeServer server{.refuse = ErrorCode::kAccessViolation, .refuse_message = "uploads disabled"};
  ServerSeen seen;
  auto data = random_bytes(100, 1);
  auto r = run_put(server, request_for("x"), data, seen);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.failure, FailureKind::kServer);
  ASSERT_TRUE(r.server_error.has_value());
  EXPECT_EQ(r.server_error->code, ErrorCode::kAccessViolation);
  EXPECT_EQ(r.server_error->message, "uploads disabled");
}

TEST_P(ClientTest, PutUnderLossAndOverIpv6) {
  if (!net::bind_udp(net::Address::ipv6_loopback())) GTEST_SKIP() << "no IPv6 loopback here";
  auto data = random_bytes(1024 * 150 + 3, 8);
  FakeServer server{.policy = kLossyPolicy};
  server.impairment = {.loss = 0.05, .seed = 3};
  server.dally = 4 * kLossyPolicy.max;
  ServerSeen seen;
  auto req = request_for("x", {.blksize = 1024, .windowsize = 8});
  req.policy = kLossyPolicy;
  req.impairment = {.loss = 0.05, .duplicate = 0.05, .reorder = 0.05, .seed = 4};
  auto r = run_put(server, req, data, seen, /*v6=*/true);
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(seen.upload, data);
  EXPECT_GT(r.stats.retransmits + seen.stats.retransmits, 0u);
}

RINGKIT_BACKEND_TEST_SUITE(ClientTest);

}  // namespace
}  // namespace ringkit::tftp
