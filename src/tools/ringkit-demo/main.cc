// ringkit-demo: shows what the engine found on this machine and runs a short, verified
// workload through it: create many small files, statx them with each placement, copy a file.
// It is the README's first command until ringsync exists.
#include <CLI/CLI.hpp>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "ringkit/executor.h"
#include "ringkit/fs.h"
#include "ringkit/probe.h"
#include "ringkit/when_all.h"

namespace {

using namespace ringkit;
using Clock = std::chrono::steady_clock;

std::string file_name(int i) {
  char name[32];
  std::snprintf(name, sizeof name, "f%06d", i);
  return name;
}

// Creates files [first, count) step `stride`, each holding its own name.
Task<int> create_files(int dirfd, int first, int count, int stride) {
  int failures = 0;
  for (int i = first; i < count; i += stride) {
    std::string name = file_name(i);
    auto fd = co_await fs::openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (!fd) {
      ++failures;
      continue;
    }
    auto n = co_await fs::write(fd->get(), std::as_bytes(std::span(name)), 0);
    if (!n || *n != name.size()) ++failures;
    if (!co_await fs::close(fd->release())) ++failures;
  }
  co_return failures;
}

// Stats files [first, count) step `stride`; returns the total size seen.
Task<uint64_t> stat_files(int dirfd, int first, int count, int stride) {
  uint64_t total = 0;
  for (int i = first; i < count; i += stride) {
    auto st = co_await fs::statx(dirfd, file_name(i), AT_SYMLINK_NOFOLLOW, STATX_SIZE);
    if (st) total += st->stx_size;
  }
  co_return total;
}

template <class T, class Make>
Task<std::vector<T>> in_parallel(int workers, Make make) {
  std::vector<Task<T>> tasks;
  for (int w = 0; w < workers; ++w) tasks.push_back(make(w, workers));
  co_return co_await when_all(std::move(tasks));
}

// Copies src to dst with `depth` chunks of `chunk` bytes in flight; returns bytes copied.
Task<uint64_t> copy_worker(int src, int dst, uint64_t size, uint64_t chunk, int first, int stride) {
  std::vector<std::byte> buf(chunk);
  uint64_t copied = 0;
  for (uint64_t off = first * chunk; off < size; off += stride * chunk) {
    auto n = co_await fs::read(src, buf, off);
    if (!n || *n == 0) break;
    auto w = co_await fs::write(dst, std::span(buf).first(*n), off);
    if (!w) break;
    copied += *w;
  }
  co_return copied;
}

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Runs a program to completion; returns its exit code (stdout kept in `out` when given).
int run_program(const std::vector<std::string>& argv, std::string* out = nullptr) {
  int pipe_fd[2];
  if (pipe(pipe_fd) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(pipe_fd[1], 1);
    close(pipe_fd[0]);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(pipe_fd[1]);
  char buf[4096];
  ssize_t n;
  while ((n = ::read(pipe_fd[0], buf, sizeof buf)) > 0) {
    if (out != nullptr) out->append(buf, static_cast<size_t>(n));
  }
  close(pipe_fd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// The built-in example for ringsync: small files in many directories, some larger ones,
// symlinks, odd modes and old times.
void make_example_tree(const std::string& root, int files) {
  ::mkdir(root.c_str(), 0755);
  int dirs = std::max(1, files / 500);
  for (int d = 0; d < dirs; ++d) {
    std::string dir = root + "/dir" + std::to_string(d);
    ::mkdir(dir.c_str(), 0755);
    for (int f = d; f < files; f += dirs) {
      std::string path = dir + "/file" + std::to_string(f);
      int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      std::string data(f % 7 == 0 ? 64 * 1024 : 1024, static_cast<char>('a' + f % 26));
      if (fd >= 0) {
        [[maybe_unused]] ssize_t w = ::write(fd, data.data(), data.size());
        ::close(fd);
      }
      if (f % 97 == 0) ::chmod(path.c_str(), 0600);
      if (f % 101 == 0) {
        timespec t[2] = {{1000000000, 123456789}, {1000000000, 123456789}};
        ::utimensat(AT_FDCWD, path.c_str(), t, 0);
      }
    }
    [[maybe_unused]] int rc = ::symlink(("file" + std::to_string(d)).c_str(), (dir + "/link").c_str());
  }
}

// ringsync and rsync side by side on the example tree; rsync -anic then checks that both
// copies hold exactly what the source holds.
bool sync_demo(const std::string& root, int files) {
  char self[4096];
  ssize_t len = ::readlink("/proc/self/exe", self, sizeof self - 1);
  std::string bin = len > 0 ? std::filesystem::path(std::string(self, static_cast<size_t>(len))).parent_path().string()
                            : std::string("build/bin");
  std::string ringsync = bin + "/ringsync";
  if (::access(ringsync.c_str(), X_OK) != 0) {
    std::printf("\n== ringsync vs rsync: skipped (%s not built)\n", ringsync.c_str());
    return true;
  }
  if (run_program({"rsync", "--version"}) != 0) {
    std::printf("\n== ringsync vs rsync: skipped (rsync is not installed; scripts/setup.sh installs it)\n");
    return true;
  }
  std::string src = root + "/sync-src";
  make_example_tree(src, files);
  std::printf("\n== ringsync vs rsync, -a, on a built-in tree of %d files in %d directories\n", files,
              std::max(1, files / 500));
  bool ok = true;
  auto time_it = [](const std::vector<std::string>& argv, int& code) {
    auto t0 = Clock::now();
    code = run_program(argv);
    return ms_since(t0);
  };
  for (const char* step : {"first copy", "no-op re-run"}) {
    int rc_rsync = 0, rc_ring = 0;
    double t_rsync = time_it({"rsync", "-a", src + "/", root + "/by-rsync/"}, rc_rsync);
    double t_ring = time_it({ringsync, "-a", src + "/", root + "/by-ringsync/"}, rc_ring);
    std::printf("  %-13s rsync %8.1f ms (exit %d)   ringsync %8.1f ms (exit %d)   ratio %.2fx\n", step, t_rsync,
                rc_rsync, t_ring, rc_ring, t_ring > 0 ? t_rsync / t_ring : 0.0);
    ok &= rc_rsync == 0 && rc_ring == 0;
  }
  for (const char* copy : {"by-rsync", "by-ringsync"}) {
    std::string diff;
    int rc = run_program({"rsync", "-anic", "--delete", src + "/", root + "/" + copy + "/"}, &diff);
    bool same = rc == 0 && diff.empty();
    std::printf("  %-12s matches the source (checked by rsync -anic): %s\n", copy, same ? "yes" : "NO");
    if (!same) std::printf("%s", diff.c_str());
    ok &= same;
  }
  std::printf("  (one run each on this machine, for orientation; bench/ has the measured comparisons)\n");
  return ok;
}

struct Options {
  std::string backend = "auto";
  int files = 20000;
  int depth = 32;
  int copy_mib = 256;
  int sync_files = 20000;
  std::string dir;
};

int run_demo(const Options& opt) {
  const ProbeReport& probe = probe_io_uring();
  std::printf("== what the engine found\n%s", probe.summary().c_str());

  EngineSettings base = EngineSettings::from_env();
  base.backend = *parse_backend(opt.backend);
  std::string root = opt.dir;
  if (root.empty()) {
    std::string tmpl = "/dev/shm/ringkit-demo-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) {
      std::perror("ringkit-demo: mkdtemp");
      return 2;
    }
    root = tmpl;
  }
  bool ok = true;
  {
    Executor ex(base);
    std::printf("backend in use: %s (queue depth %u, cheap calls %s)\n\n",
                std::string(to_string(ex.backend())).c_str(), base.queue_depth,
                std::string(to_string(base.cheap_calls)).c_str());
    int dirfd = ::open(root.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    if (dirfd < 0) {
      std::perror(("ringkit-demo: " + root).c_str());
      return 2;
    }
    std::printf("== %d small files in %s, %d tasks in flight\n", opt.files, root.c_str(), opt.depth);
    auto t0 = Clock::now();
    auto failures = ex.run(in_parallel<int>(opt.depth, [&](int w, int n) {
      return create_files(dirfd, w, opt.files, n);
    }));
    int failed = 0;
    for (int f : failures) failed += f;
    double create_ms = ms_since(t0);
    std::printf("  create+write+close  %8.1f ms  %8.0f files/s  %s\n", create_ms,
                opt.files / create_ms * 1000, failed ? "FAILED" : "ok");
    ok &= failed == 0;
    ::close(dirfd);
  }

  // The same statx sweep with each placement; every run must see the same bytes.
  struct Mode {
    const char* label;
    MetadataOps metadata;
    CheapCalls cheap;
  };
  const Mode modes[] = {{"inline (direct call)", MetadataOps::kCheap, CheapCalls::kInline},
                        {"ring (io_uring STATX)", MetadataOps::kRing, CheapCalls::kInline},
                        {"blocking pool", MetadataOps::kCheap, CheapCalls::kPool}};
  uint64_t expected = 0;
  for (int i = 0; i < opt.files; ++i) expected += file_name(i).size();
  for (const Mode& m : modes) {
    EngineSettings s = base;
    s.metadata_ops = m.metadata;
    s.cheap_calls = m.cheap;
    Executor ex(s);
    int dirfd = ::open(root.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    auto t0 = Clock::now();
    auto totals = ex.run(in_parallel<uint64_t>(opt.depth, [&](int w, int n) {
      return stat_files(dirfd, w, opt.files, n);
    }));
    double took = ms_since(t0);
    uint64_t seen = 0;
    for (auto t : totals) seen += t;
    std::printf("  statx, %-22s %6.1f ms  %8.0f files/s  %s\n", m.label, took,
                opt.files / took * 1000, seen == expected ? "ok" : "WRONG SIZES");
    ok &= seen == expected;
    ::close(dirfd);
  }

  {
    Executor ex(base);
    uint64_t size = uint64_t(opt.copy_mib) << 20;
    std::string src = root + "/big.src", dst = root + "/big.dst";
    int in = ::open(src.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    std::vector<char> block(1 << 20);
    for (uint64_t off = 0; off < size; off += block.size()) {
      for (size_t i = 0; i < block.size(); i += 4096) block[i] = static_cast<char>(off >> 20);
      if (::pwrite(in, block.data(), block.size(), static_cast<off_t>(off)) < 0) ok = false;
    }
    int out = ::open(dst.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    std::printf("\n== copy a %d MiB file\n", opt.copy_mib);
    auto t0 = Clock::now();
    auto parts = ex.run(in_parallel<uint64_t>(8, [&](int w, int n) {
      return copy_worker(in, out, size, 1 << 20, w, n);
    }));
    double took = ms_since(t0);
    uint64_t copied = 0;
    for (auto p : parts) copied += p;
    bool same = copied == size;
    std::vector<char> a(1 << 20), b(1 << 20);
    for (uint64_t off = 0; same && off < size; off += a.size()) {
      same = ::pread(in, a.data(), a.size(), off) == ::pread(out, b.data(), b.size(), off) && a == b;
    }
    std::printf("  ring read/write, 8 x 1 MiB in flight  %7.1f ms  %6.2f GB/s  %s\n", took,
                size / took / 1e6, same ? "ok (verified)" : "COPY DIFFERS");
    ok &= same;
    ::close(in);
    ::close(out);
  }

  if (opt.sync_files > 0) ok &= sync_demo(root, opt.sync_files);

  if (opt.dir.empty()) std::filesystem::remove_all(root);
  std::printf("\n%s\n", ok ? "all results verified" : "SOME RESULTS WERE WRONG");
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "ringkit-demo: shows what the ringkit engine probed on this machine and runs a short,\n"
      "verified workload through it (create small files, statx them with each placement,\n"
      "copy a file), then copies a built-in tree with ringsync and rsync side by side. Environment: RINGKIT_BACKEND, RINGKIT_CHEAP_CALLS, RINGKIT_METADATA_OPS,\n"
      "RINGKIT_QUEUE_DEPTH, RINGKIT_POOL_THREADS, RINGKIT_DEFER_TASKRUN.\n\n"
      "Exit status: 0 all results verified, 1 a result was wrong, 2 could not run."};
  Options opt;
  app.add_option("--backend", opt.backend, "auto, uring or threads")
      ->check(CLI::IsMember({"auto", "uring", "threads"}))
      ->capture_default_str();
  app.add_option("--files", opt.files, "number of small files")
      ->check(CLI::Range(1, 10'000'000))
      ->capture_default_str();
  app.add_option("--depth", opt.depth, "tasks in flight")->check(CLI::Range(1, 4096))->capture_default_str();
  app.add_option("--copy-mib", opt.copy_mib, "size of the copied file in MiB")
      ->check(CLI::Range(1, 65536))
      ->capture_default_str();
  app.add_option("--sync-files", opt.sync_files,
                 "files in the tree copied by ringsync and rsync side by side (0: skip that part)")
      ->check(CLI::Range(0, 10'000'000))
      ->capture_default_str();
  app.add_option("--dir", opt.dir, "work in this existing directory (default: a new one in /dev/shm, removed after)")
      ->check(CLI::ExistingDirectory);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    return run_demo(opt);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ringkit-demo: %s\n", e.what());
    return 2;
  }
}
