// The server in-process (src/tftp/server.h) driven by the client library, on both backends:
// downloads and uploads with every option, admission (duplicates, limits), malformed floods,
// 1 000 concurrent verified transfers, graceful stop, IPv6.
#include "tftp/server.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <thread>

#include "ringkit/time.h"
#include "ringkit/when_all.h"
#include "support/backend_test.h"
#include "support/co_assert.h"
#include "tftp/block.h"
#include "tftp/client.h"

namespace ringkit::tftp {
namespace {

using namespace std::chrono_literals;
namespace fsys = std::filesystem;

std::string random_text(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

void write_file(const std::string& path, const std::string& content, mode_t mode = 0644) {
  std::ofstream(path, std::ios::binary) << content;
  ::chmod(path.c_str(), mode);
}

// Waits (up to a generous deadline) for the server's counters to catch up: a client may be
// done before the server has seen its last ACK.
bool eventually(const std::function<bool()>& condition) {
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

std::string as_string(const std::vector<std::byte>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size());
}

class ServerTest : public testing::BackendTest {
 protected:
  void tweak(EngineSettings& s) override { s.queue_depth = 4096; }

  void SetUp() override {
    BackendTest::SetUp();
    if (IsSkipped()) return;
    root_ = dir() + std::string("/root");
    fsys::create_directory(root_);
  }
  void TearDown() override {
    stop_server();
    BackendTest::TearDown();
  }

  ServerConfig base_config() {
    ServerConfig c;
    c.listen = {net::Address::ipv4_loopback(0)};
    c.root = root_;
    c.workers = 2;
    c.user_set = true;  // stay root: no privilege drop inside the test process
    c.engine = settings_;
    c.engine.backend = GetParam();
    c.log_transfers = false;
    c.log_level = LogLevel::kError;
    c.retransmit = {.initial = 200ms, .min = 5ms, .max = 400ms, .max_retries = 10};
    c.shutdown_grace = 10s;
    return c;
  }

  void start_server(ServerConfig c) {
    server_ = std::make_unique<Server>(std::move(c));
    server_thread_ = std::thread([this] { server_->run(); });
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!server_->ready() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(1ms);
    }
    ASSERT_TRUE(server_->ready());
  }
  void stop_server() {
    if (!server_) return;
    server_->stop();
    if (server_thread_.joinable()) server_thread_.join();
    server_.reset();
  }
  net::Address address() const { return server_->addresses().front(); }

  ClientRequest request(const std::string& name, ClientOptions options = {}) {
    ClientRequest r;
    r.server = address();
    r.filename = name;
    r.options = options;
    r.policy = {.initial = 200ms, .min = 5ms, .max = 400ms, .max_retries = 10};
    return r;
  }

  // Downloads `name`; the content, or "<error>".
  struct Got {
    ClientResult result;
    std::string data;
  };
  Got get(const std::string& name, ClientOptions options = {}) {
    return run(get_task(request(name, options)));
  }
  static Task<Got> get_task(ClientRequest req) {
    MemorySink sink;
    Got got;
    got.result = co_await tftp::get(req, sink);
    got.data = as_string(sink.data());
    co_return got;
  }

  std::string root_;
  std::unique_ptr<Server> server_;
  std::thread server_thread_;
};

TEST_P(ServerTest, DownloadsEverySizeWithAndWithoutOptions) {
  start_server(base_config());
  std::vector<size_t> sizes = {0, 1, 511, 512, 513, 1428, 1428 * 16, 1428 * 16 * 3 + 1,
                               10 << 20};
  for (size_t size : sizes) {
    std::string name = "f" + std::to_string(size);
    std::string content = random_text(size, size);
    write_file(root_ + "/" + name, content);
    for (int variant = 0; variant < 3; ++variant) {
      ClientOptions o;
      if (variant == 1) o = {.blksize = 1428, .tsize = 0};
      if (variant == 2) o = {.blksize = 1428, .timeout = 2, .tsize = 0, .windowsize = 16};
      SCOPED_TRACE(name + " variant " + std::to_string(variant));
      Got g = get(name, o);
      ASSERT_TRUE(g.result.ok()) << g.result.describe();
      EXPECT_TRUE(g.data == content) << g.data.size() << " bytes";
      if (variant > 0) {
        ASSERT_TRUE(g.result.oack);
        EXPECT_EQ(g.result.negotiated.tsize, size);
        EXPECT_EQ(g.result.negotiated.blksize, 1428);
      }
      if (variant == 2) {
        EXPECT_EQ(g.result.negotiated.windowsize, 16);
        EXPECT_EQ(g.result.negotiated.timeout, 2);
      }
    }
  }
  EXPECT_EQ(server_->metrics().failed.load(), 0u);
}

TEST_P(ServerTest, RolloverPast65535Blocks) {
  start_server(base_config());
  std::string content = random_text(70000 * 64 + 5, 99);
  write_file(root_ + "/big", content);
  Got g = get("big", {.blksize = 64, .windowsize = 32});
  ASSERT_TRUE(g.result.ok()) << g.result.describe();
  EXPECT_TRUE(g.data == content);
  EXPECT_EQ(g.result.stats.blocks, 70001u);
}

TEST_P(ServerTest, RefusalsCarryTheRightErrorCode) {
  ServerConfig c = base_config();
  c.max_blksize = 1024;
  start_server(c);
  write_file(root_ + "/private", "p", 0600);
  fsys::create_directory(root_ + "/dir");
  struct Case {
    std::string name;
    ErrorCode code;
  };
  for (const Case& k : {Case{"missing", ErrorCode::kFileNotFound},
                        Case{"../etc/passwd", ErrorCode::kAccessViolation},
                        Case{"private", ErrorCode::kAccessViolation},
                        Case{"dir", ErrorCode::kAccessViolation}}) {
    Got g = get(k.name);
    ASSERT_FALSE(g.result.ok()) << k.name;
    ASSERT_TRUE(g.result.server_error) << k.name << ": " << g.result.describe();
    EXPECT_EQ(g.result.server_error->code, k.code) << k.name;
  }
  // blksize above the server's maximum is lowered, not refused.
  write_file(root_ + "/x", random_text(5000, 1));
  Got g = get("x", {.blksize = 8192});
  ASSERT_TRUE(g.result.ok()) << g.result.describe();
  EXPECT_EQ(g.result.negotiated.blksize, 1024);
  // A refusal is counted after its ERROR is sent: the client may be faster than that.
  EXPECT_TRUE(eventually([&] { return server_->metrics().refused.load() == 4u; }))
      << server_->metrics().refused.load();
}

TEST_P(ServerTest, MailModeIsRefused) {
  start_server(base_config());
  write_file(root_ + "/m", "mail");
  ClientRequest r = request("m");
  r.mode = Mode::kMail;
  auto g = run(get_task(r));
  ASSERT_TRUE(g.result.server_error) << g.result.describe();
  EXPECT_EQ(g.result.server_error->code, ErrorCode::kIllegalOperation);
}

Task<ClientResult> put_task(ClientRequest req, std::string content, size_t pool_buffer) {
  BufferPool pool(*Executor::current(), 2, pool_buffer);
  std::vector<std::byte> bytes(reinterpret_cast<const std::byte*>(content.data()),
                               reinterpret_cast<const std::byte*>(content.data()) + content.size());
  SourceFactory make = [&bytes](size_t blksize) -> std::unique_ptr<BlockSource> {
    return std::make_unique<MemorySource>(bytes, blksize);
  };
  co_return co_await tftp::put(req, make, pool);
}

TEST_P(ServerTest, UploadsOnlyWhenEnabledAndOnlyWhole) {
  {
    start_server(base_config());
    auto r = run(put_task(request("up"), "data", 64 * 1024));
    ASSERT_TRUE(r.server_error) << r.describe();
    EXPECT_EQ(r.server_error->code, ErrorCode::kAccessViolation);
    EXPECT_FALSE(fsys::exists(root_ + "/up"));
    stop_server();
  }
  ServerConfig c = base_config();
  c.uploads = Uploads::kCreate;
  c.max_upload_size = 100000;
  start_server(c);
  std::string content = random_text(50000, 5);
  auto r = run(put_task(request("up", {.blksize = 1428, .windowsize = 8}), content, 64 * 1024));
  ASSERT_TRUE(r.ok()) << r.describe();
  std::ifstream in(root_ + "/up", std::ios::binary);
  EXPECT_TRUE(std::string(std::istreambuf_iterator<char>(in), {}) == content)
      << "the upload is in place, whole, once the client has its last ACK";
  // The same name again: create-only.
  r = run(put_task(request("up"), "other", 64 * 1024));
  ASSERT_TRUE(r.server_error) << r.describe();
  EXPECT_EQ(r.server_error->code, ErrorCode::kFileExists);
  // Too large, announced (tsize) and not announced: ERROR 3 and nothing left behind.
  std::string huge = random_text(150000, 6);
  r = run(put_task(request("huge1", {.tsize = huge.size()}), huge, 64 * 1024));
  ASSERT_TRUE(r.server_error) << r.describe();
  EXPECT_EQ(r.server_error->code, ErrorCode::kDiskFull);
  r = run(put_task(request("huge2", {.blksize = 1428}), huge, 64 * 1024));
  ASSERT_TRUE(r.server_error) << r.describe();
  EXPECT_EQ(r.server_error->code, ErrorCode::kDiskFull);
  stop_server();  // every session has ended: temporary files are gone
  std::vector<std::string> names;
  for (const auto& e : fsys::directory_iterator(root_)) names.push_back(e.path().filename());
  EXPECT_EQ(names, std::vector<std::string>{"up"});
}

// A raw client socket for tests that speak the protocol by hand.
Task<void> send_raw(const net::Socket& s, std::span<const std::byte> data, net::Address to) {
  auto n = co_await net::send_to(s, data, to);
  EXPECT_TRUE(n.ok());
}

TEST_P(ServerTest, ARepeatedRequestDoesNotStartASecondTransfer) {
  ServerConfig c = base_config();
  c.shutdown_grace = 0s;  // the transfer is never acknowledged: end it at teardown
  start_server(c);
  write_file(root_ + "/f", random_text(3000, 3));
  auto body = [this]() -> Task<void> {
    auto sock = net::bind_udp(net::Address::ipv4_loopback());
    CO_ASSERT(sock, "bind");
    std::array<std::byte, 64> req{};
    auto n = build_request(req, Opcode::kRrq, "f", Mode::kOctet, {});
    co_await send_raw(*sock, std::span(req).first(*n), address());
    co_await send_raw(*sock, std::span(req).first(*n), address());
    // Wait until the server has seen both requests.
    EXPECT_TRUE(eventually([this] { return server_->metrics().requests.load() >= 2; }));
    EXPECT_EQ(server_->metrics().dropped_duplicate.load(), 1u);
    // Exactly one transfer answers: every DATA 1 comes from one port.
    std::array<std::byte, 1024> buf;
    net::Address from, first;
    int data1 = 0;
    for (;;) {
      auto got = co_await net::recv_from(*sock, buf, &from, 300ms);
      if (!got) break;
      auto p = parse_packet(std::span(buf).first(*got));
      if (p && std::holds_alternative<Data>(*p) && std::get<Data>(*p).block == 1) {
        if (data1++ == 0) first = from;
        EXPECT_EQ(from, first) << "a second transfer answered";
      }
    }
    EXPECT_GE(data1, 1);
  };
  run(body());
}

TEST_P(ServerTest, SessionLimitsDropRequestsUnanswered) {
  ServerConfig c = base_config();
  c.max_sessions_per_client = 2;
  c.shutdown_grace = 0s;
  start_server(c);
  write_file(root_ + "/f", random_text(3000, 3));
  auto body = [this]() -> Task<void> {
    std::vector<net::Socket> socks;
    std::array<std::byte, 64> req{};
    auto n = build_request(req, Opcode::kRrq, "f", Mode::kOctet, {});
    for (int i = 0; i < 3; ++i) {
      auto s = net::bind_udp(net::Address::ipv4_loopback());
      CO_ASSERT(s, "bind");
      co_await send_raw(*s, std::span(req).first(*n), address());
      socks.push_back(std::move(*s));
    }
    EXPECT_TRUE(eventually([this] { return server_->metrics().requests.load() >= 3; }));
    EXPECT_EQ(server_->metrics().dropped_limit.load(), 1u);
    EXPECT_EQ(server_->metrics().active.load(), 2u) << "two transfers wait for their ACKs";
  };
  run(body());
}

TEST_P(ServerTest, MalformedFloodDoesNotDisturbGoodTransfers) {
  start_server(base_config());
  std::string content = random_text(200000, 8);
  write_file(root_ + "/good", content);
  auto body = [this, &content]() -> Task<void> {
    auto flooder = net::bind_udp(net::Address::ipv4_loopback());
    CO_ASSERT(flooder, "bind");
    std::vector<Task<Got>> downloads;
    for (int i = 0; i < 20; ++i) {
      downloads.push_back(get_task(request("good", {.blksize = 1024, .windowsize = 4})));
    }
    auto all = spawn_joinable(when_all(std::move(downloads)));
    std::mt19937_64 rng(1);
    std::vector<std::vector<std::byte>> junk = {
        {}, {std::byte{0}}, {std::byte{0}, std::byte{1}},              // short
        {std::byte{0}, std::byte{1}, std::byte{'x'}},                  // RRQ, no NUL
        {std::byte{0}, std::byte{3}, std::byte{0}, std::byte{1}},      // DATA to port 69
        {std::byte{0}, std::byte{4}, std::byte{0}, std::byte{1}},      // ACK to port 69
        {std::byte{0}, std::byte{9}},                                  // unknown opcode
    };
    std::string bad_mode("\0\1f\0bogus\0", 10);
    junk.emplace_back(reinterpret_cast<const std::byte*>(bad_mode.data()),
                      reinterpret_cast<const std::byte*>(bad_mode.data()) + bad_mode.size());
    for (int i = 0; i < 2000; ++i) {
      std::vector<std::byte> d;
      if (i % 2 == 0) {
        d = junk[static_cast<size_t>(i / 2) % junk.size()];
      } else {
        d.resize(rng() % 600);
        for (auto& b : d) b = static_cast<std::byte>(rng());
      }
      (void)co_await net::send_to(*flooder, d, address());
    }
    auto results = co_await all.join();
    for (auto& g : results) {
      EXPECT_TRUE(g.result.ok()) << g.result.describe();
      EXPECT_TRUE(g.data == content);
    }
  };
  run(body());
  EXPECT_GT(server_->metrics().malformed.load(), 900u);
  EXPECT_TRUE(eventually([&] { return server_->metrics().completed.load() == 20u; }))
      << server_->metrics().completed.load();
  EXPECT_EQ(server_->metrics().failed.load(), 0u);
}

TEST_P(ServerTest, AThousandConcurrentTransfersAllVerified) {
  ServerConfig c = base_config();
  c.retransmit = {.initial = 1s, .min = 200ms, .max = 2s, .max_retries = 10};
  c.max_sessions_per_client = 0;  // every client is 127.0.0.1
  start_server(c);
  std::string content = random_text(64 * 1024 + 17, 4);
  write_file(root_ + "/boot.img", content);
  auto body = [this, &content]() -> Task<void> {
    std::vector<Task<Got>> downloads;
    for (int i = 0; i < 1000; ++i) {
      ClientRequest r = request("boot.img", {.blksize = 1428, .windowsize = 8});
      r.policy = {.initial = 1s, .min = 200ms, .max = 2s, .max_retries = 10};
      downloads.push_back(get_task(r));
    }
    auto results = co_await when_all(std::move(downloads));
    int ok = 0;
    for (auto& g : results) {
      if (g.result.ok() && g.data == content) ++ok;
      else ADD_FAILURE() << g.result.describe() << " size " << g.data.size();
    }
    EXPECT_EQ(ok, 1000);
  };
  run(body());
  EXPECT_TRUE(eventually([&] { return server_->metrics().completed.load() == 1000u; }))
      << server_->metrics().completed.load();
}

TEST_P(ServerTest, PerClientRateDropsRequestsBeyondTheBurst) {
  ServerConfig c = base_config();
  c.requests_per_second_per_client = 0.01;  // a burst of 1 (at least one), refilled slowly
  c.shutdown_grace = 0s;
  start_server(c);
  write_file(root_ + "/f", "x");
  auto body = [this]() -> Task<void> {
    std::array<std::byte, 64> req{};
    auto n = build_request(req, Opcode::kRrq, "f", Mode::kOctet, {});
    std::vector<net::Socket> socks;
    for (int i = 0; i < 3; ++i) {
      auto s = net::bind_udp(net::Address::ipv4_loopback());
      CO_ASSERT(s, "bind");
      co_await send_raw(*s, std::span(req).first(*n), address());
      socks.push_back(std::move(*s));
    }
    // (The server counts a request before it decides on it: wait for both counts.)
    EXPECT_TRUE(eventually([this] {
      return server_->metrics().requests.load() >= 3 && server_->metrics().dropped_rate.load() >= 2;
    }));
    EXPECT_EQ(server_->metrics().dropped_rate.load(), 2u) << "a burst of one request";
  };
  run(body());
}

TEST_P(ServerTest, RefusedOptionsAndReloadedLimitsApplyToNewRequests) {
  ServerConfig c = base_config();
  c.refused_options.insert(OptionId::kWindowsize);
  start_server(c);
  write_file(root_ + "/f", random_text(20000, 2));
  Got g = get("f", {.blksize = 1428, .windowsize = 8});
  ASSERT_TRUE(g.result.ok()) << g.result.describe();
  EXPECT_EQ(g.result.negotiated.blksize, 1428);
  EXPECT_EQ(g.result.negotiated.windowsize, 1) << "windowsize refused: not acknowledged";
  ServerConfig next = base_config();
  next.max_blksize = 512;
  next.listen = {net::Address::ipv4_loopback(12345)};  // cannot change while running
  auto ignored = server_->reload(next);
  EXPECT_EQ(ignored, std::vector<std::string>{"server.listen"});
  g = get("f", {.blksize = 1428, .windowsize = 8});
  ASSERT_TRUE(g.result.ok()) << g.result.describe();
  EXPECT_EQ(g.result.negotiated.blksize, 512);
  EXPECT_EQ(g.result.negotiated.windowsize, 8);
}

TEST_P(ServerTest, StopLetsRunningTransfersFinish) {
  start_server(base_config());
  std::string content = random_text(3 << 20, 9);
  write_file(root_ + "/slow", content);
  auto body = [this, &content]() -> Task<void> {
    ClientRequest r = request("slow");  // 512-byte lockstep: thousands of round trips
    r.on_start = [this](const Negotiated&, bool) { server_->stop(); };
    MemorySink sink;
    auto result = co_await tftp::get(r, sink);
    EXPECT_TRUE(result.ok()) << result.describe();
    EXPECT_TRUE(as_string(sink.data()) == content);
    // A request after the stop gets no answer.
    ClientRequest late = request("slow");
    late.policy = {.initial = 20ms, .min = 5ms, .max = 20ms, .max_retries = 2};
    MemorySink none;
    auto refused = co_await tftp::get(late, none);
    EXPECT_FALSE(refused.ok());
  };
  run(body());
  server_thread_.join();  // run() returned by itself, after the transfer
  EXPECT_EQ(server_->metrics().completed.load(), 1u);
}

TEST_P(ServerTest, ServesIpv6) {
  ServerConfig c = base_config();
  c.listen = {net::Address::ipv6_loopback(0)};
  auto probe = net::bind_udp(net::Address::ipv6_loopback(0));
  if (!probe) GTEST_SKIP() << "no IPv6 loopback here: " << probe.error().message();
  start_server(c);
  write_file(root_ + "/six", "over ipv6");
  Got g = get("six", {.blksize = 512, .tsize = 0});
  ASSERT_TRUE(g.result.ok()) << g.result.describe();
  EXPECT_EQ(g.data, "over ipv6");
}

RINGKIT_BACKEND_TEST_SUITE(ServerTest);

}  // namespace
}  // namespace ringkit::tftp
