// ringtftp bench: N concurrent verified downloads (tftp/bench.h), reported as text or JSON.
#include <sys/resource.h>

#include <cinttypes>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "ringkit/log.h"
#include "tftp/bench.h"

namespace ringtftp {

using namespace ringkit;

namespace {

std::string hex64(uint64_t v) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
  return buf;
}

std::optional<uint64_t> parse_hex64(std::string text) {
  if (text.rfind("0x", 0) == 0 || text.rfind("0X", 0) == 0) text = text.substr(2);
  if (text.empty() || text.size() > 16 ||
      text.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
    return std::nullopt;
  }
  return std::stoull(text, nullptr, 16);
}

// One socket per client, plus the rings, eventfds and stdio: raise the soft limit to the hard
// one (and the hard one too, where we may). Returns false, having said why, when even that is
// too low for `clients`.
bool raise_file_limit(uint32_t clients, bool quiet) {
  const rlim_t need = rlim_t{clients} + 64;
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= need) return true;
  const bool raise_hard = lim.rlim_max < need;  // only a privileged process may
  rlimit wanted = raise_hard ? rlimit{need, need} : rlimit{lim.rlim_max, lim.rlim_max};
  if (::setrlimit(RLIMIT_NOFILE, &wanted) != 0) {
    std::fprintf(stderr,
                 "ringtftp: %u clients need %llu open files, but the hard limit (ulimit -Hn) is "
                 "%llu and this user cannot raise it; raise it or use fewer --clients\n",
                 clients, static_cast<unsigned long long>(need),
                 static_cast<unsigned long long>(lim.rlim_max));
    return false;
  }
  if (!quiet) {
    std::fprintf(stderr, "ringtftp: raised the open-file limit from %llu to %llu%s\n",
                 static_cast<unsigned long long>(lim.rlim_cur),
                 static_cast<unsigned long long>(wanted.rlim_cur),
                 raise_hard ? " (the hard limit too)" : " (the hard limit)");
  }
  return true;
}

nlohmann::json to_json(const tftp::BenchReport& r, const tftp::BenchConfig& c) {
  nlohmann::json failures = nlohmann::json::object();
  for (const auto& [why, n] : r.failure_counts) failures[why] = n;
  nlohmann::json j = {
      {"ok", r.all_verified()},
      {"server", c.request.server.to_string()},
      {"file", c.request.filename},
      {"mode", std::string(tftp::mode_name(c.request.mode))},
      {"clients", r.clients},
      {"threads", r.threads},
      {"queue_depth", r.queue_depth},
      {"blksize", r.blksize},
      {"windowsize", r.windowsize},
      {"expect_size", r.expect_size},
      {"expect_xxh3", hex64(r.expect_xxh3)},
      {"expectations_learned", r.learned_expectations},
      {"transfers", r.transfers},
      {"completed", r.completed},
      {"failed", r.failed},
      {"bytes", r.bytes},
      {"seconds", r.seconds},
      {"mb_per_s", r.mb_per_s},
      {"completion_ms", {{"p50", r.p50_ms}, {"p99", r.p99_ms}, {"max", r.max_ms}}},
      {"retransmits", r.retransmits},
      {"timeouts", r.timeouts},
      {"duplicates", r.duplicates},
      {"failures", failures},
      {"first_failures", r.first_failures},
      {"impairment",
       {{"loss", c.request.impairment.loss},
        {"duplicate", c.request.impairment.duplicate},
        {"reorder", c.request.impairment.reorder},
        {"seed", c.request.impairment.seed}}},
  };
  if (!r.setup_error.empty()) j["error"] = r.setup_error;
  return j;
}

void print_text(const tftp::BenchReport& r, const tftp::BenchConfig& c) {
  std::printf("bench %s %s: %u clients on %u threads (queue depth %u)\n",
              c.request.server.to_string().c_str(), c.request.filename.c_str(), r.clients,
              r.threads, r.queue_depth);
  std::printf("  expected      %llu bytes, XXH3 %s%s\n", static_cast<unsigned long long>(r.expect_size),
              hex64(r.expect_xxh3).c_str(), r.learned_expectations ? " (learned by a first download)" : "");
  std::printf("  negotiated    blksize %u, windowsize %u\n", r.blksize, r.windowsize);
  std::printf("  transfers     %llu: %llu verified, %llu failed\n",
              static_cast<unsigned long long>(r.transfers),
              static_cast<unsigned long long>(r.completed), static_cast<unsigned long long>(r.failed));
  std::printf("  throughput    %.2f MB/s aggregate (%llu bytes in %.3f s)\n", r.mb_per_s,
              static_cast<unsigned long long>(r.bytes), r.seconds);
  std::printf("  completion    p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", r.p50_ms, r.p99_ms, r.max_ms);
  std::printf("  recovery      %llu retransmits, %llu timeouts, %llu duplicates\n",
              static_cast<unsigned long long>(r.retransmits),
              static_cast<unsigned long long>(r.timeouts),
              static_cast<unsigned long long>(r.duplicates));
  if (c.request.impairment.active()) {
    std::printf("  impairment    loss %.3f, duplicate %.3f, reorder %.3f, seed %llu\n",
                c.request.impairment.loss, c.request.impairment.duplicate,
                c.request.impairment.reorder,
                static_cast<unsigned long long>(c.request.impairment.seed));
  }
  for (const auto& [why, n] : r.failure_counts) {
    std::printf("  failure       %llu x %s\n", static_cast<unsigned long long>(n), why.c_str());
  }
  for (const auto& f : r.first_failures) std::printf("  first failed  %s\n", f.c_str());
}

}  // namespace

int run_bench(const CommonOptions& o, const BenchCommand& b) {
  if (b.clients < 1 || b.clients > 10000) {
    std::fprintf(stderr, "ringtftp: --clients must be 1..10000\n");
    return kExitUsage;
  }
  if (b.repeat < 1) {
    std::fprintf(stderr, "ringtftp: --repeat must be at least 1\n");
    return kExitUsage;
  }
  tftp::BenchConfig config;
  std::string message;
  auto server = resolve_server(o.host, &message);
  if (!server) {
    std::fprintf(stderr, "ringtftp: %s\n", message.c_str());
    return server.error() == std::errc::invalid_argument ? kExitUsage : kExitNetwork;
  }
  if (!make_request(o, *server, config.request, &message)) {
    std::fprintf(stderr, "ringtftp: %s\n", message.c_str());
    return kExitUsage;
  }
  config.request.filename = b.remote;
  if (o.tsize) config.request.options.tsize = 0;
  config.clients = b.clients;
  config.threads = b.threads;
  config.expect_size = b.expect_size;
  if (b.expect_xxh3) {
    config.expect_xxh3 = parse_hex64(*b.expect_xxh3);
    if (!config.expect_xxh3) {
      std::fprintf(stderr, "ringtftp: --expect-xxh3 takes up to 16 hex digits\n");
      return kExitUsage;
    }
  }
  config.repeat = b.repeat;
  if (b.duration_s) {
    config.duration = std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::duration<double>(*b.duration_s));
  }
  config.engine = EngineSettings::from_env();
  set_log_handler([verbose = o.verbose](LogLevel level, std::string_view text) {
    if (level == LogLevel::kError || verbose > 0) {
      std::fprintf(stderr, "ringtftp: %.*s\n", static_cast<int>(text.size()), text.data());
    }
  });
  if (!raise_file_limit(b.clients, o.quiet)) return kExitUsage;

  tftp::BenchReport report = tftp::run_bench(config);
  if (b.json) {
    std::printf("%s\n", to_json(report, config).dump(2).c_str());
  } else if (report.setup_error.empty()) {
    print_text(report, config);
  }
  std::fflush(stdout);
  if (!report.setup_error.empty()) {
    std::fprintf(stderr, "ringtftp: bench: %s\n", report.setup_error.c_str());
    return kExitNetwork;
  }
  return report.all_verified() ? kExitOk : kExitBench;
}

}  // namespace ringtftp
