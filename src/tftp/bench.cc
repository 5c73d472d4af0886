#include "tftp/bench.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <thread>

#include "ringkit/cpus.h"
#include "ringkit/executor.h"
#include "ringkit/when_all.h"

namespace ringkit::tftp {

using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kFirstFailuresKept = 5;

// What one executor's clients did; merged into the report after the threads are joined.
struct ThreadResult {
  std::vector<double> times_ms;
  uint64_t transfers = 0, completed = 0, failed = 0, bytes = 0;
  uint64_t retransmits = 0, timeouts = 0, duplicates = 0;
  std::optional<std::pair<uint16_t, uint16_t>> params;  // blksize, windowsize
  std::map<std::string, uint64_t> failure_counts;
  std::vector<std::string> first_failures;
  std::optional<Clock::time_point> last_end;
  std::string error;  // the executor could not run
};

struct Plan {
  const BenchConfig& config;
  uint64_t size;
  uint64_t hash;
  std::optional<Clock::time_point> stop_at;
};

// Why a download does not count, or "" when it verified.
std::string verdict(const ClientResult& r, const MemorySink& sink, const Plan& plan) {
  if (!r.ok()) return r.describe();
  if (sink.size() != plan.size) {
    return "size " + std::to_string(sink.size()) + " instead of " + std::to_string(plan.size);
  }
  if (sink.hash() != plan.hash) return "XXH3 mismatch";
  return {};
}

Task<void> client_loop(const Plan& plan, uint32_t index, ThreadResult& out) {
  const BenchConfig& config = plan.config;
  for (uint32_t round = 0;; ++round) {
    ClientRequest request = config.request;
    request.impairment.seed =
        config.request.impairment.seed + index + uint64_t{round} * config.clients;
    MemorySink sink(/*keep=*/false);
    const auto began = Clock::now();
    ClientResult r = co_await get(request, sink);
    ++out.transfers;
    out.retransmits += r.stats.retransmits;
    out.timeouts += r.stats.timeouts;
    out.duplicates += r.stats.duplicates;
    std::string why = verdict(r, sink, plan);
    if (why.empty()) {
      ++out.completed;
      out.bytes += sink.size();
      out.times_ms.push_back(std::chrono::duration<double, std::milli>(r.duration).count());
      if (!out.params) out.params.emplace(r.negotiated.blksize, r.negotiated.windowsize);
    } else {
      ++out.failed;
      if (out.first_failures.size() < kFirstFailuresKept) {
        out.first_failures.push_back("client " + std::to_string(index) + ": " + why);
      }
      ++out.failure_counts[std::move(why)];
    }
    // The download's end, not the dally after it (which only answers a lost final ACK).
    auto ended = began + std::chrono::duration_cast<Clock::duration>(r.duration);
    if (!out.last_end || ended > *out.last_end) out.last_end = ended;
    bool again = plan.stop_at ? Clock::now() < *plan.stop_at : round + 1 < config.repeat;
    if (!again) break;
  }
}

Task<void> run_clients(const Plan& plan, uint32_t first, uint32_t step, ThreadResult& out) {
  std::vector<Task<void>> clients;
  for (uint32_t i = first; i < plan.config.clients; i += step) {
    clients.push_back(client_loop(plan, i, out));
  }
  co_await when_all(std::move(clients));
}

// Enough completion-queue room for every client's receive and its timer (2 entries) and a send
// (1), plus slack, as a power of two within what a ring may have.
uint32_t queue_depth_for(uint32_t clients_per_executor, uint32_t configured) {
  uint64_t cq = 3ull * clients_per_executor + 64;
  uint64_t sq = (cq + 1) / 2;
  uint64_t depth = 1;
  while (depth < sq) depth <<= 1;
  return static_cast<uint32_t>(std::clamp<uint64_t>(depth, configured, 32768));
}

// One download into a hashing sink, to learn what every download must produce.
Task<void> learn(const BenchConfig& config, ClientResult& result, MemorySink& sink) {
  ClientRequest request = config.request;
  request.impairment = {};
  result = co_await get(request, sink);
}

}  // namespace

double quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  double rank = std::ceil(q * static_cast<double>(sorted.size()));
  size_t i = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
  return sorted[std::min(i, sorted.size() - 1)];
}

BenchReport run_bench(const BenchConfig& config) {
  BenchReport report;
  report.clients = config.clients;
  if (config.clients == 0) {
    report.setup_error = "no clients";
    return report;
  }
  uint32_t threads = config.threads != 0 ? config.threads : usable_cpu_count();
  threads = std::min(threads, config.clients);
  report.threads = threads;
  EngineSettings settings = config.engine;
  settings.queue_depth = queue_depth_for((config.clients + threads - 1) / threads, settings.queue_depth);
  report.queue_depth = settings.queue_depth;

  if (config.expect_size && config.expect_xxh3) {
    report.expect_size = *config.expect_size;
    report.expect_xxh3 = *config.expect_xxh3;
  } else {
    ClientResult first;
    MemorySink sink(/*keep=*/false);
    try {
      Executor executor(config.engine);
      executor.run(learn(config, first, sink));
    } catch (const std::exception& e) {
      report.setup_error = std::string("engine: ") + e.what();
      return report;
    }
    if (!first.ok()) {
      report.setup_error = "the first download (to learn size and XXH3) failed: " + first.describe();
      return report;
    }
    report.expect_size = config.expect_size.value_or(sink.size());
    report.expect_xxh3 = config.expect_xxh3.value_or(sink.hash());
    report.learned_expectations = true;
  }

  const auto start = Clock::now();
  Plan plan{config, report.expect_size, report.expect_xxh3, std::nullopt};
  if (config.duration) plan.stop_at = start + *config.duration;
  std::vector<ThreadResult> results(threads);
  std::vector<std::thread> workers;
  workers.reserve(threads);
  for (uint32_t t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      try {
        Executor executor(settings);
        executor.run(run_clients(plan, t, threads, results[t]));
      } catch (const std::exception& e) {
        results[t].error = e.what();
      }
    });
  }
  for (auto& w : workers) w.join();

  std::vector<double> times;
  std::optional<Clock::time_point> last_end;
  for (auto& r : results) {
    if (!r.error.empty() && report.setup_error.empty()) report.setup_error = "executor: " + r.error;
    report.transfers += r.transfers;
    report.completed += r.completed;
    report.failed += r.failed;
    report.bytes += r.bytes;
    report.retransmits += r.retransmits;
    report.timeouts += r.timeouts;
    report.duplicates += r.duplicates;
    times.insert(times.end(), r.times_ms.begin(), r.times_ms.end());
    if (r.params && report.blksize == 0) std::tie(report.blksize, report.windowsize) = *r.params;
    for (auto& [why, n] : r.failure_counts) report.failure_counts[why] += n;
    for (auto& f : r.first_failures) {
      if (report.first_failures.size() < kFirstFailuresKept) report.first_failures.push_back(f);
    }
    if (r.last_end && (!last_end || *r.last_end > *last_end)) last_end = r.last_end;
  }
  report.seconds = std::chrono::duration<double>(last_end.value_or(Clock::now()) - start).count();
  if (report.seconds > 0) report.mb_per_s = static_cast<double>(report.bytes) / 1e6 / report.seconds;
  std::sort(times.begin(), times.end());
  report.p50_ms = quantile(times, 0.50);
  report.p99_ms = quantile(times, 0.99);
  report.max_ms = times.empty() ? 0 : times.back();
  return report;
}

}  // namespace ringkit::tftp
