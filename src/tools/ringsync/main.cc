// ringsync: rsync's command line for local trees, on the ringkit engine.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <clocale>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "ringkit/executor.h"
#include "ringkit/log.h"
#include "sync/log_file.h"
#include "sync/options.h"
#include "sync/report.h"
#include "sync/syncer.h"

namespace {

using namespace ringkit;
using namespace ringkit::sync;

constexpr const char* kVersion = "ringsync 0.1 (ringkit), rsync-compatible local sync\n";

// Several sources hold a few descriptors each while their directories are merged ("d1/ d2/ ...
// DEST": the directory of each, and its place in DEST): the soft limit goes up to the hard one.
void raise_fd_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= lim.rlim_max) return;
  lim.rlim_cur = lim.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &lim);
}

int usage_error(const std::string& message) {
  std::fprintf(stderr, "ringsync: %s\nringsync error: syntax or usage error (code 1)\n", message.c_str());
  return kExitUsage;
}

int run(const Options& opt) {
  auto filters = build_filters(opt);
  if (auto* err = std::get_if<FilterSetupError>(&filters)) {
    if (err->exit_code == kExitUsage) return usage_error(err->message);
    std::fprintf(stderr, "ringsync: %s\nringsync error: error in file IO (code 11)\n", err->message.c_str());
    return err->exit_code;
  }
  // Engine notices change nothing in the result, so that scripts that treat any stderr output
  // as a failure, as they may with rsync, stay quiet: warnings (such as falling back to the
  // threads backend when io_uring is disabled) show with -v, information (how many executor
  // threads) with -vv, which rsync users read as debugging output. Engine errors always show.
  set_log_handler([verbose = opt.verbose](LogLevel level, std::string_view message) {
    bool shown = level == LogLevel::kError || (level == LogLevel::kWarning && verbose > 0) || verbose > 1;
    if (shown) {
      std::fprintf(stderr, "ringsync: %.*s\n", static_cast<int>(message.size()), message.data());
    }
  });
  Reporter reporter(stdout, stderr);
  // --log-file: a log that cannot be opened is reported and the run goes on, as with rsync.
  std::optional<LogFile> log;
  if (opt.log_file) {
    log.emplace(*opt.log_file);
    if (log->ok()) {
      reporter.set_log(&*log);
    } else {
      std::fprintf(stderr, "ringsync: %s\nIgnoring \"log file\" setting.\n", log->error().c_str());
    }
  }
  auto start = std::chrono::steady_clock::now();
  {
    Executor executor(EngineSettings::from_env());
    Syncer syncer(opt, reporter, std::move(std::get<FilterList>(filters)));
    executor.run(syncer.run());
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    reporter.finish_line();
    if (opt.stats) {
      double list_seconds = std::chrono::duration<double>(syncer.transfer_started() - start).count();
      auto [sent, received] = syncer.output().traffic();
      reporter.info_text("\n" + reporter.stats_text(opt.human_readable > 0, std::max(list_seconds, 0.0), sent, received));
    }
    syncer.output().end(reporter.stats().total_size, seconds);
  }
  std::fflush(stdout);
  int code = reporter.exit_code();
  const char* outcome = nullptr;
  if (code == kExitPartial) {
    outcome = "ringsync error: some files/attrs were not transferred (see previous errors) (code 23)";
  } else if (code == kExitVanished) {
    outcome = "ringsync warning: some files vanished before they could be transferred (code 24)";
  } else if (code == kExitFileIo) {
    outcome = "ringsync error: error in file IO (code 11)";
  } else if (code == kExitInterrupted) {
    outcome = "ringsync error: received SIGINT, SIGTERM, or SIGHUP (code 20)";
  } else if (code == kExitDeleteLimit) {
    outcome = "ringsync error: the --max-delete limit stopped deletions (code 25)";
  } else if (code == kExitFileSelect) {
    outcome = "ringsync error: errors selecting input/output files, dirs (code 3)";
  }
  if (outcome != nullptr) {
    std::fprintf(stderr, "%s\n", outcome);
    if (log && log->ok()) log->write(outcome);
  }
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  std::setlocale(LC_CTYPE, "");  // names print as the terminal's locale allows, as rsync's do
  std::vector<std::string> args(argv + 1, argv + argc);
  auto parsed = parse_command_line(args);
  if (auto* err = std::get_if<UsageError>(&parsed)) return usage_error(err->message);
  const auto& cmd = std::get<ParsedCommandLine>(parsed);
  if (cmd.action == Action::kHelp) {
    std::fputs(help_text().c_str(), stdout);
    return 0;
  }
  if (cmd.action == Action::kVersion) {
    std::fputs(kVersion, stdout);
    return 0;
  }
  signal(SIGPIPE, SIG_IGN);
  if (cmd.options.sources.size() > 1) raise_fd_limit();
  // Stop taking new work on these and end with rsync's exit code 20; what is in flight
  // finishes, so nothing is left half-written.
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    struct sigaction sa {};
    sa.sa_handler = [](int s) { Syncer::interrupt_signal.store(s, std::memory_order_relaxed); };
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, nullptr);
  }
  try {
    return run(cmd.options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ringsync: %s\n", e.what());
    return kExitFileIo;
  }
}
