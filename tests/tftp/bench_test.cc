// The load generator's own logic: percentiles, and runs that cannot start. Runs against real
// servers (200 verified clients, wrong hashes, --repeat) are in
// tests/e2e/ringtftp_interop_test.cc.
#include "tftp/bench.h"

#include <gtest/gtest.h>

#include "ringkit/net.h"

namespace ringkit::tftp {
namespace {

using namespace std::chrono_literals;

TEST(BenchQuantile, NearestRank) {
  EXPECT_EQ(quantile({}, 0.5), 0);
  EXPECT_EQ(quantile({7}, 0.5), 7);
  EXPECT_EQ(quantile({7}, 0.99), 7);
  std::vector<double> hundred;
  for (int i = 1; i <= 100; ++i) hundred.push_back(i);
  EXPECT_EQ(quantile(hundred, 0.50), 50);
  EXPECT_EQ(quantile(hundred, 0.99), 99);
  EXPECT_EQ(quantile(hundred, 1.0), 100);
  EXPECT_EQ(quantile(hundred, 0.0), 1);
  EXPECT_EQ(quantile({1, 2, 3}, 0.5), 2);
}

TEST(BenchRun, NoClientsIsASetupError) {
  BenchConfig config;
  config.clients = 0;
  BenchReport r = run_bench(config);
  EXPECT_FALSE(r.setup_error.empty());
  EXPECT_FALSE(r.all_verified());
}

// A bench of `silent`, a socket that is bound and never read, with short waits: every
// download times out after three waits.
BenchConfig against_silent_server(const net::Socket& silent) {
  BenchConfig config;
  config.request.server = *net::local_address(silent);
  config.request.filename = "f";
  config.request.policy = {.initial = 5ms, .min = 1ms, .max = 10ms, .max_retries = 2};
  return config;
}

TEST(BenchRun, AServerThatNeverAnswersStopsTheRunBeforeItStarts) {
  // The first download (which learns size and hash) times out.
  auto silent = net::bind_udp(net::Address::ipv4_loopback());
  ASSERT_TRUE(silent);
  BenchConfig config = against_silent_server(*silent);
  config.clients = 50;
  BenchReport r = run_bench(config);
  EXPECT_NE(r.setup_error.find("timed out"), std::string::npos) << r.setup_error;
  EXPECT_EQ(r.transfers, 0u) << "no client started";
}

TEST(BenchRun, EveryClientFailsAgainstASilentServerWhenTheExpectationsAreGiven) {
  auto silent = net::bind_udp(net::Address::ipv4_loopback());
  ASSERT_TRUE(silent);
  BenchConfig config = against_silent_server(*silent);
  config.clients = 40;
  config.threads = 2;
  config.repeat = 2;
  config.expect_size = 10;
  config.expect_xxh3 = 0x1234;
  BenchReport r = run_bench(config);
  EXPECT_TRUE(r.setup_error.empty()) << r.setup_error;
  EXPECT_EQ(r.threads, 2u);
  EXPECT_EQ(r.transfers, 80u);
  EXPECT_EQ(r.failed, 80u);
  EXPECT_EQ(r.completed, 0u);
  EXPECT_FALSE(r.all_verified());
  EXPECT_EQ(r.failure_counts.size(), 1u);
  EXPECT_EQ(r.failure_counts.begin()->second, 80u);
  EXPECT_EQ(r.first_failures.size(), 5u);
  EXPECT_EQ(r.timeouts, 80u * 3) << "each download waited three times";
  EXPECT_GE(r.queue_depth, 256u);
}

}  // namespace
}  // namespace ringkit::tftp
