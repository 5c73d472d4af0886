// Per-call cost of a cheap call (no io_uring opcode, or a metadata call placed like one):
// the direct system call vs the same call awaited through the engine, inline on the executor
// thread (CheapCalls::kInline) or handed to the blocking pool (CheapCalls::kPool), on both
// backends. The loop runs inside one coroutine, so the engine cost measured is the await, not
// task creation.
//
// Files live in $RINGKIT_BENCH_DIR (default /dev/shm/ringkit-bench/cheap): tmpfs, so that the
// file system adds as little as possible to what is compared.
//
// Run: cheap_calls_bench --benchmark_repetitions=5 (bench/run_engine.py does this).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "ringkit/executor.h"
#include "ringkit/fs.h"

namespace rk = ringkit;

namespace {

enum class Call { kFchmodat, kUtimensat, kReadlinkat, kStatx, kFstat };
enum class Way { kDirect, kInline, kPool };

struct Fixture {
  int dirfd = -1;
  int filefd = -1;
};

Fixture& fixture() {
  static Fixture f = [] {
    const char* env = std::getenv("RINGKIT_BENCH_DIR");
    std::string dir = env != nullptr ? env : "/dev/shm/ringkit-bench/cheap";
    std::filesystem::create_directories(dir);
    Fixture out;
    out.dirfd = ::open(dir.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    int fd = ::openat(out.dirfd, "f", O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    ::close(fd);
    ::unlinkat(out.dirfd, "l", 0);
    if (::symlinkat("f", out.dirfd, "l") != 0) std::perror("symlinkat");
    out.filefd = ::openat(out.dirfd, "f", O_RDONLY | O_CLOEXEC);
    if (out.dirfd < 0 || out.filefd < 0) {
      std::perror(dir.c_str());
      std::exit(1);
    }
    return out;
  }();
  return f;
}

// One direct call; returns false on failure.
bool direct(Call call, const Fixture& f) {
  switch (call) {
    case Call::kFchmodat: return ::fchmodat(f.dirfd, "f", 0644, 0) == 0;
    case Call::kUtimensat: return ::utimensat(f.dirfd, "f", nullptr, 0) == 0;
    case Call::kReadlinkat: {
      char buf[4096];  // PATH_MAX, like the engine's ReadlinkAwaiter
      return ::readlinkat(f.dirfd, "l", buf, sizeof buf) > 0;
    }
    case Call::kStatx: {
      struct statx stx;
      return ::statx(f.dirfd, "f", AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) == 0;
    }
    case Call::kFstat: {
      struct statx stx;
      return ::statx(f.filefd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx) == 0;
    }
  }
  return false;
}

rk::Task<bool> engine_loop(benchmark::State& state, Call call, const Fixture& f) {
  bool ok = true;
  for (auto _ : state) {
    switch (call) {
      case Call::kFchmodat: ok &= (co_await rk::fs::fchmodat(f.dirfd, "f", 0644)).ok(); break;
      case Call::kUtimensat:
        ok &= (co_await rk::fs::utimensat(f.dirfd, "f", nullptr)).ok();
        break;
      case Call::kReadlinkat: ok &= (co_await rk::fs::readlinkat(f.dirfd, "l")).ok(); break;
      case Call::kStatx:
        ok &= (co_await rk::fs::statx(f.dirfd, "f", AT_SYMLINK_NOFOLLOW)).ok();
        break;
      case Call::kFstat:
        ok &= (co_await rk::fs::statx(f.filefd, "", AT_EMPTY_PATH)).ok();
        break;
    }
  }
  co_return ok;
}

void BM_Call(benchmark::State& state, Call call, Way way, rk::BackendKind backend) {
  const Fixture& f = fixture();
  if (way == Way::kDirect) {
    bool ok = true;
    for (auto _ : state) ok &= direct(call, f);
    if (!ok) state.SkipWithError("the direct call failed");
    return;
  }
  rk::EngineSettings settings;
  settings.backend = backend;
  settings.fallback_on_error = false;
  settings.cheap_calls = way == Way::kInline ? rk::CheapCalls::kInline : rk::CheapCalls::kPool;
  settings.metadata_ops = rk::MetadataOps::kCheap;  // statx is placed like a cheap call
  rk::Executor ex(settings);
  if (ex.backend() != backend) {
    state.SkipWithError("backend unavailable");
    return;
  }
  bool ok = ex.run(engine_loop(state, call, f));
  if (!ok) state.SkipWithError("an engine call failed");
  const rk::ExecutorStats& s = ex.stats();
  state.counters["inline_calls"] = static_cast<double>(s.inline_calls);
  state.counters["pool_calls"] = static_cast<double>(s.pool_calls);
}

void BM_Getppid(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(::syscall(SYS_getppid));
}

void register_all() {
  benchmark::RegisterBenchmark("getppid/direct", BM_Getppid)->UseRealTime();
  struct {
    Call call;
    const char* name;
  } calls[] = {{Call::kFchmodat, "fchmodat"},
               {Call::kUtimensat, "utimensat"},
               {Call::kReadlinkat, "readlinkat"},
               {Call::kStatx, "statx"},
               {Call::kFstat, "fstat"}};
  for (const auto& c : calls) {
    std::string base = c.name;
    // UseRealTime: iterations are sized by wall time, so a loaded machine (where the thread
    // gets a fraction of a CPU) does not stretch every benchmark several times over.
    benchmark::RegisterBenchmark((base + "/direct").c_str(), BM_Call, c.call, Way::kDirect,
                                 rk::BackendKind::kThreads)
        ->UseRealTime();
    for (auto backend : {rk::BackendKind::kUring, rk::BackendKind::kThreads}) {
      std::string be = backend == rk::BackendKind::kUring ? "uring" : "threads";
      benchmark::RegisterBenchmark((base + "/inline/" + be).c_str(), BM_Call, c.call, Way::kInline,
                                   backend)
          ->UseRealTime();
      benchmark::RegisterBenchmark((base + "/pool/" + be).c_str(), BM_Call, c.call, Way::kPool,
                                   backend)
          ->UseRealTime();
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
