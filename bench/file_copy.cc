// Copying one big file (default 2 GiB): which copy strategy should the engine use per file
// system? Compares
//   rw          synchronous read(2)/write(2) loop, `--chunk` bytes at a time (the baseline)
//   ring        `--depth` workers on one executor, each reading a chunk into its own buffer and
//               writing it from that same buffer: up to `--depth` chunks in flight
//   ring_fixed  the same with READ_FIXED/WRITE_FIXED: the buffers (page-aligned, mmap'd here)
//               are registered with Executor::register_buffers, one per worker
//   cfr         copy_file_range(2) loop (kernel-side copy)
//   splice      splice(2) file -> pipe -> file, `--chunk` bytes at a time (kernel-side copy)
// Timed: open of the destination to close, without fsync (what cp does); the destination is
// removed before each run. The first run of each invocation is verified (size + XXH3 of the
// whole destination against the source), so a broken method cannot look fast.
//
// Usage:
//   file_copy --src=F --create [--size=2147483648]      make the source once (random bytes)
//   file_copy --src=F --dst=G --method=M [--chunk=1048576] [--depth=4] [--cold] [--reps=1]
//             [--fs=NAME] [--no-verify]
// --cold drops the page cache before each run (root; tmpfs cannot be evicted).
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <xxhash.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "bench_util.h"
#include "ringkit/executor.h"
#include "ringkit/fs.h"

namespace rk = ringkit;

namespace {

struct Region {
  std::byte* data = nullptr;
  size_t size = 0;
  explicit Region(size_t n) : size(n) {
    void* p = ::mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      std::perror("mmap");
      std::exit(1);
    }
    data = static_cast<std::byte*>(p);
    std::memset(data, 0, n);  // fault the pages in before timing
  }
  ~Region() { ::munmap(data, size); }
};

int create_source(const std::string& path, uint64_t size) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && static_cast<uint64_t>(st.st_size) == size) return 0;
  int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) {
    std::perror(path.c_str());
    return 1;
  }
  std::vector<uint64_t> buf((1 << 20) / 8);
  std::mt19937_64 rng(42);
  for (uint64_t done = 0; done < size;) {
    for (auto& w : buf) w = rng();
    size_t n = static_cast<size_t>(std::min<uint64_t>(size - done, buf.size() * 8));
    if (::write(fd, buf.data(), n) != static_cast<ssize_t>(n)) {
      std::perror("write");
      return 1;
    }
    done += n;
  }
  ::fsync(fd);
  ::close(fd);
  return 0;
}

// XXH3-64 of a whole file, read with plain read(2).
bool hash_file(const std::string& path, uint64_t* hash, uint64_t* size) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  XXH3_state_t* state = XXH3_createState();
  XXH3_64bits_reset(state);
  std::vector<char> buf(1 << 20);
  uint64_t total = 0;
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      ::close(fd);
      XXH3_freeState(state);
      return false;
    }
    if (n == 0) break;
    XXH3_64bits_update(state, buf.data(), static_cast<size_t>(n));
    total += static_cast<uint64_t>(n);
  }
  *hash = XXH3_64bits_digest(state);
  *size = total;
  XXH3_freeState(state);
  ::close(fd);
  return true;
}

// The source's hash, cached beside it in "<src>.xxh3" (keyed by size and mtime) so that each
// verification reads only the copy.
bool source_hash(const std::string& src, uint64_t* hash, uint64_t* size) {
  struct stat st;
  if (::stat(src.c_str(), &st) != 0) return false;
  std::string key = std::to_string(st.st_size) + " " + std::to_string(st.st_mtim.tv_sec) + "." +
                    std::to_string(st.st_mtim.tv_nsec);
  std::string cache = src + ".xxh3";
  if (FILE* f = std::fopen(cache.c_str(), "r")) {
    char line[128] = {};
    unsigned long long h = 0;
    bool hit = std::fgets(line, sizeof line, f) != nullptr &&
               std::string(line) == key + "\n" && std::fscanf(f, "%llx", &h) == 1;
    std::fclose(f);
    if (hit) {
      *hash = h;
      *size = static_cast<uint64_t>(st.st_size);
      return true;
    }
  }
  if (!hash_file(src, hash, size)) return false;
  if (FILE* f = std::fopen(cache.c_str(), "w")) {
    std::fprintf(f, "%s\n%016llx\n", key.c_str(), static_cast<unsigned long long>(*hash));
    std::fclose(f);
  }
  return true;
}

// ---- The methods. Each returns 0 or -errno. ----

int copy_rw(int in, int out, uint64_t size, size_t chunk, std::byte* buf) {
  for (uint64_t off = 0; off < size;) {
    ssize_t n = ::read(in, buf, chunk);
    if (n < 0) return -errno;
    if (n == 0) return -EIO;  // the source shrank
    for (ssize_t w = 0; w < n;) {
      ssize_t m = ::write(out, buf + w, static_cast<size_t>(n - w));
      if (m < 0) return -errno;
      w += m;
    }
    off += static_cast<uint64_t>(n);
  }
  return 0;
}

int copy_cfr(int in, int out, uint64_t size) {
  for (uint64_t done = 0; done < size;) {
    ssize_t n = ::copy_file_range(in, nullptr, out, nullptr, size - done, 0);
    if (n < 0) return -errno;
    if (n == 0) return -EIO;
    done += static_cast<uint64_t>(n);
  }
  return 0;
}

int copy_splice(int in, int out, uint64_t size, size_t chunk) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return -errno;
  ::fcntl(p[1], F_SETPIPE_SZ, static_cast<int>(chunk));  // best effort
  int rc = 0;
  for (uint64_t done = 0; done < size && rc == 0;) {
    ssize_t n = ::splice(in, nullptr, p[1], nullptr, chunk, SPLICE_F_MOVE);
    if (n <= 0) {
      rc = n < 0 ? -errno : -EIO;
      break;
    }
    for (ssize_t w = 0; w < n;) {
      ssize_t m = ::splice(p[0], nullptr, out, nullptr, static_cast<size_t>(n - w), SPLICE_F_MOVE);
      if (m <= 0) {
        rc = m < 0 ? -errno : -EIO;
        break;
      }
      w += m;
    }
    done += static_cast<uint64_t>(n);
  }
  ::close(p[0]);
  ::close(p[1]);
  return rc;
}

struct RingCopy {
  int in, out;
  uint64_t size;
  size_t chunk;
  bool fixed;
  uint64_t next = 0;
  int error = 0;
};

// One worker: claims the next chunk, reads it into its buffer, writes it from that buffer.
rk::Task<void> ring_worker(RingCopy& c, std::byte* buf, int index, bench::Latch& latch) {
  while (c.error == 0 && c.next < c.size) {
    uint64_t off = c.next;
    size_t want = static_cast<size_t>(std::min<uint64_t>(c.chunk, c.size - off));
    c.next += want;
    size_t got = 0;
    while (got < want) {
      std::span<std::byte> span(buf + got, want - got);
      auto r = c.fixed ? co_await rk::fs::read_fixed(c.in, span, off + got, index)
                       : co_await rk::fs::read(c.in, span, off + got);
      if (!r.ok()) {
        c.error = -r.error().value();
        break;
      }
      if (*r == 0) {
        c.error = -EIO;
        break;
      }
      got += *r;
    }
    size_t put = 0;
    while (c.error == 0 && put < want) {
      std::span<const std::byte> span(buf + put, want - put);
      auto r = c.fixed ? co_await rk::fs::write_fixed(c.out, span, off + put, index)
                       : co_await rk::fs::write(c.out, span, off + put);
      if (!r.ok()) {
        c.error = -r.error().value();
        break;
      }
      put += *r;
    }
  }
  latch.count_down();
}

rk::Task<void> ring_copy(RingCopy& c, std::byte* bufs, int depth) {
  bench::Latch latch(depth);
  for (int i = 0; i < depth; ++i) {
    rk::Executor::current()->spawn(ring_worker(c, bufs + static_cast<size_t>(i) * c.chunk, i, latch));
  }
  co_await latch.wait();
}

}  // namespace

int main(int argc, char** argv) {
  bench::Args args(argc, argv);
  std::string src = args.get("src", "/dev/shm/ringkit-bench/src.bin");
  uint64_t size = static_cast<uint64_t>(args.num("size", 2LL << 30));
  if (args.flag("create")) return create_source(src, size);

  std::string dst = args.get("dst", src + ".copy");
  std::string method = args.get("method", "rw");
  size_t chunk = static_cast<size_t>(args.num("chunk", 1 << 20));
  int depth = static_cast<int>(args.num("depth", method == "ring" || method == "ring_fixed" ? 4 : 1));
  long reps = args.num("reps", 1);
  bool cold = args.flag("cold");
  bool verify = !args.flag("no-verify");
  std::string fs_name = args.get("fs", "?");

  struct stat st;
  if (::stat(src.c_str(), &st) != 0) {
    std::perror(src.c_str());
    return 1;
  }
  size = static_cast<uint64_t>(st.st_size);

  Region bufs(chunk * static_cast<size_t>(std::max(depth, 1)));
  rk::EngineSettings settings;
  settings.backend = rk::BackendKind::kUring;
  settings.fallback_on_error = false;
  rk::Executor ex(settings);
  bool fixed = method == "ring_fixed";
  if (fixed) {
    std::vector<iovec> iov(static_cast<size_t>(depth));
    for (int i = 0; i < depth; ++i) {
      iov[static_cast<size_t>(i)] = {bufs.data + static_cast<size_t>(i) * chunk, chunk};
    }
    std::error_code ec;
    if (!ex.register_buffers(iov, &ec)) {
      std::fprintf(stderr, "register_buffers failed: %s\n", ec.message().c_str());
      return 1;
    }
  }

  // One copy of the first `bytes` of the source; 0 or -errno, and the seconds it took.
  auto copy_once = [&](uint64_t bytes, double* seconds, double* cpu_seconds) -> int {
    double start = bench::now_seconds();
    double cpu_start = bench::process_cpu_seconds();
    int in = ::open(src.c_str(), O_RDONLY | O_CLOEXEC);
    int out = ::open(dst.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
    if (in < 0 || out < 0) return -errno;
    int rc = 0;
    if (method == "rw") {
      rc = copy_rw(in, out, bytes, chunk, bufs.data);
    } else if (method == "cfr") {
      rc = copy_cfr(in, out, bytes);
    } else if (method == "splice") {
      rc = copy_splice(in, out, bytes, chunk);
    } else {
      RingCopy c{in, out, bytes, chunk, fixed};
      ex.run(ring_copy(c, bufs.data, depth));
      rc = c.error;
    }
    ::close(in);
    ::close(out);
    *seconds = bench::now_seconds() - start;
    *cpu_seconds = bench::process_cpu_seconds() - cpu_start;
    return rc;
  };
  if (method != "rw" && method != "cfr" && method != "splice" && method != "ring" &&
      method != "ring_fixed") {
    std::fprintf(stderr, "unknown --method=%s\n", method.c_str());
    return 2;
  }

  for (long rep = 0; rep < reps; ++rep) {
    ::unlink(dst.c_str());
    if (cold) {
      if (!bench::drop_caches()) {
        std::fprintf(stderr, "cannot drop caches (not root?)\n");
        return 1;
      }
    } else {
      // Untimed warm-up (code paths, allocator, executor) on the first 32 MiB, then write back
      // what earlier runs left dirty, outside the timing.
      double ignored, ignored_cpu;
      copy_once(std::min<uint64_t>(size, 32 << 20), &ignored, &ignored_cpu);
      ::unlink(dst.c_str());
      ::sync();
    }
    double seconds = 0, cpu_seconds = 0;
    int rc = copy_once(size, &seconds, &cpu_seconds);
    if (rc != 0) {
      std::fprintf(stderr, "%s failed: %s\n", method.c_str(), std::strerror(-rc));
      return 1;
    }

    std::string verified = "no";
    if (verify && rep == 0) {
      uint64_t h_src, n_src, h_dst, n_dst;
      if (!source_hash(src, &h_src, &n_src) || !hash_file(dst, &h_dst, &n_dst)) {
        std::perror("hash");
        return 1;
      }
      if (h_src != h_dst || n_src != n_dst) {
        std::fprintf(stderr, "%s: BAD COPY: size %llu vs %llu, xxh3 %016llx vs %016llx\n",
                     method.c_str(), static_cast<unsigned long long>(n_dst),
                     static_cast<unsigned long long>(n_src), static_cast<unsigned long long>(h_dst),
                     static_cast<unsigned long long>(h_src));
        return 1;
      }
      verified = "ok";
    }
    bench::JsonLine("file_copy")
        .str("fs", fs_name)
        .str("method", method)
        .num("chunk", static_cast<double>(chunk))
        .num("depth", static_cast<double>(depth))
        .str("cache", cold ? "cold" : "warm")
        .num("bytes", static_cast<double>(size))
        .num("seconds", seconds)
        .num("gb_per_s", static_cast<double>(size) / seconds / 1e9)
        .num("cpu_seconds", cpu_seconds)
        .num("ring_ops", static_cast<double>(ex.stats().submitted))
        .num("pool_calls", static_cast<double>(ex.stats().pool_calls))
        .num("max_in_flight", static_cast<double>(ex.stats().max_in_flight))
        .str("verified", verified)
        .print();
  }
  ::unlink(dst.c_str());
  return 0;
}
