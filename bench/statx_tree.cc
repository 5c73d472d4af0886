// statx over every file of a tree (dirs x files, default 100 x 1000): where should the engine
// run metadata calls? Compares
//   direct   plain statx(2) in a loop (the baseline)
//   inline   co_await fs::statx in one coroutine, metadata_ops=cheap, cheap_calls=inline
//   ring     metadata_ops=ring: `--depth` workers keep that many IORING_OP_STATX in flight
//   pool     metadata_ops=cheap, cheap_calls=pool, pool_threads=`--threads`; `--depth` workers
//            (default 64) keep the pool's queue full
// Only the statx calls are timed; the directories are opened and the names built beforehand.
//
// Usage:
//   statx_tree --dir=D --create [--dirs=100 --files=1000]       make the tree (once; reused)
//   statx_tree --dir=D --method=M [--depth=N] [--threads=N] [--cold] [--reps=1] [--fs=NAME]
// --cold drops the page/dentry/inode caches before each run (root; no effect on tmpfs).
// Prints one JSON line per run.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "bench_util.h"
#include "ringkit/executor.h"
#include "ringkit/fs.h"

namespace rk = ringkit;

namespace {

std::string dir_name(long i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "d%03ld", i);
  return buf;
}

std::string file_name(long i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "f%04ld", i);
  return buf;
}

struct Item {
  int dirfd;
  std::string name;
};

int create_tree(const std::string& root, long dirs, long files) {
  std::string marker = root + "/.complete-" + std::to_string(dirs) + "x" + std::to_string(files);
  if (std::filesystem::exists(marker)) return 0;
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root);
  for (long d = 0; d < dirs; ++d) {
    std::string dir = root + "/" + dir_name(d);
    if (::mkdir(dir.c_str(), 0755) != 0) {
      std::perror(dir.c_str());
      return 1;
    }
    int dirfd = ::open(dir.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    for (long f = 0; f < files; ++f) {
      int fd = ::openat(dirfd, file_name(f).c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
      if (fd < 0) {
        std::perror("openat");
        return 1;
      }
      ::close(fd);
    }
    ::close(dirfd);
  }
  ::close(::open(marker.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
  ::sync();
  return 0;
}

struct Walk {
  const std::vector<Item>& items;
  size_t next = 0;
  long failures = 0;
  uint64_t size_sum = 0;  // so the results are used
};

rk::Task<void> inline_loop(Walk& w) {
  for (const Item& it : w.items) {
    auto r = co_await rk::fs::statx(it.dirfd, it.name, AT_SYMLINK_NOFOLLOW);
    if (r.ok()) {
      w.size_sum += r->stx_size + r->stx_ino;
    } else {
      ++w.failures;
    }
  }
}

rk::Task<void> worker(Walk& w, bench::Latch& latch) {
  while (w.next < w.items.size()) {
    const Item& it = w.items[w.next++];
    auto r = co_await rk::fs::statx(it.dirfd, it.name, AT_SYMLINK_NOFOLLOW);
    if (r.ok()) {
      w.size_sum += r->stx_size + r->stx_ino;
    } else {
      ++w.failures;
    }
  }
  latch.count_down();
}

rk::Task<void> parallel(Walk& w, long depth) {
  bench::Latch latch(depth);
  for (long i = 0; i < depth; ++i) rk::Executor::current()->spawn(worker(w, latch));
  co_await latch.wait();
}

}  // namespace

int main(int argc, char** argv) {
  bench::Args args(argc, argv);
  std::string root = args.get("dir", "/dev/shm/ringkit-bench/tree");
  long dirs = args.num("dirs", 100);
  long files = args.num("files", 1000);
  if (args.flag("create")) return create_tree(root, dirs, files);

  std::string method = args.get("method", "direct");
  long depth = args.num("depth", method == "pool" ? 64 : 1);
  long threads = args.num("threads", 8);
  long reps = args.num("reps", 1);
  bool cold = args.flag("cold");
  std::string fs_name = args.get("fs", "?");

  for (long rep = 0; rep < reps; ++rep) {
    if (cold && !bench::drop_caches()) {
      std::fprintf(stderr, "cannot drop caches (not root?)\n");
      return 1;
    }
    std::vector<int> dirfds;
    std::vector<Item> items;
    items.reserve(static_cast<size_t>(dirs * files));
    for (long d = 0; d < dirs; ++d) {
      std::string dir = root + "/" + dir_name(d);
      int fd = ::open(dir.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC);
      if (fd < 0) {
        std::perror(dir.c_str());
        return 1;
      }
      dirfds.push_back(fd);
      for (long f = 0; f < files; ++f) items.push_back({fd, file_name(f)});
    }
    Walk w{items};
    if (!cold) {
      // Untimed pass so that "warm" means warm even if something dropped the caches before.
      for (const Item& it : items) {
        struct statx stx;
        ::statx(it.dirfd, it.name.c_str(), AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx);
      }
    }

    rk::EngineSettings settings;
    settings.backend = rk::BackendKind::kUring;
    settings.fallback_on_error = false;
    settings.queue_depth = static_cast<uint32_t>(std::max<long>(256, depth));
    settings.metadata_ops = method == "ring" ? rk::MetadataOps::kRing : rk::MetadataOps::kCheap;
    settings.cheap_calls = method == "pool" ? rk::CheapCalls::kPool : rk::CheapCalls::kInline;
    settings.pool_threads = static_cast<uint32_t>(threads);
    rk::Executor ex(settings);

    double start = bench::now_seconds();
    double cpu_start = bench::process_cpu_seconds();
    if (method == "direct") {
      for (const Item& it : items) {
        struct statx stx;
        if (::statx(it.dirfd, it.name.c_str(), AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) == 0) {
          w.size_sum += stx.stx_size + stx.stx_ino;
        } else {
          ++w.failures;
        }
      }
    } else if (method == "inline") {
      ex.run(inline_loop(w));
    } else if (method == "ring" || method == "pool") {
      ex.run(parallel(w, depth));
    } else {
      std::fprintf(stderr, "unknown --method=%s\n", method.c_str());
      return 2;
    }
    double seconds = bench::now_seconds() - start;
    double cpu_seconds = bench::process_cpu_seconds() - cpu_start;
    const rk::ExecutorStats& s = ex.stats();

    if (w.failures != 0) std::fprintf(stderr, "%ld statx calls failed\n", w.failures);
    bench::JsonLine("statx_tree")
        .str("fs", fs_name)
        .str("method", method)
        .num("depth", static_cast<double>(method == "ring" || method == "pool" ? depth : 1))
        .num("threads", static_cast<double>(method == "pool" ? threads : 0))
        .str("cache", cold ? "cold" : "warm")
        .num("files", static_cast<double>(items.size()))
        .num("failures", static_cast<double>(w.failures))
        .num("seconds", seconds)
        .num("ns_per_file", seconds * 1e9 / static_cast<double>(items.size()))
        .num("cpu_seconds", cpu_seconds)
        .num("ring_ops", static_cast<double>(s.submitted))
        .num("inline_calls", static_cast<double>(s.inline_calls))
        .num("pool_calls", static_cast<double>(s.pool_calls))
        .num("max_in_flight", static_cast<double>(s.max_in_flight))
        .print();
    for (int fd : dirfds) ::close(fd);
    if (w.failures != 0) return 1;
  }
  return 0;
}
