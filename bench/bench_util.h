// Small helpers shared by the plain benchmark programs (statx_tree, file_copy): --key=value
// arguments, a monotonic clock, dropping the page cache, one JSON line per result, and a latch
// that lets a root task wait for the workers it spawned.
//
// Single-threaded: everything here runs on the thread that owns the executor.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <coroutine>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <string>
#include <string_view>
#include <utility>

namespace bench {

// --key=value (or --flag) arguments; get() falls back to a default.
class Args {
 public:
  Args(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
      std::string_view a = argv[i];
      if (a.substr(0, 2) != "--") {
        std::fprintf(stderr, "unexpected argument: %s\n", argv[i]);
        std::exit(2);
      }
      a.remove_prefix(2);
      auto eq = a.find('=');
      if (eq == std::string_view::npos) {
        values_[std::string(a)] = "1";
      } else {
        values_[std::string(a.substr(0, eq))] = std::string(a.substr(eq + 1));
      }
    }
  }
  std::string get(const std::string& key, const std::string& fallback) const {
    auto it = values_.find(key);
    return it == values_.end() ? fallback : it->second;
  }
  long long num(const std::string& key, long long fallback) const {
    auto it = values_.find(key);
    return it == values_.end() ? fallback : std::strtoll(it->second.c_str(), nullptr, 0);
  }
  bool flag(const std::string& key) const { return values_.count(key) != 0; }

 private:
  std::map<std::string, std::string> values_;
};

inline double now_seconds() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// CPU seconds (user + system) used so far by every thread of this process, io_uring's io-wq
// workers and the blocking pool included.
inline double process_cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Writes back dirty pages and drops the page, dentry and inode caches. Needs root.
// Note: tmpfs pages are the files themselves; drop_caches cannot evict them.
inline bool drop_caches() {
  ::sync();
  int fd = ::open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::write(fd, "3\n", 2) == 2;
  ::close(fd);
  return ok;
}

// Counts down to zero; the one awaiting task is resumed by the last count_down().
// REQUIRES: all on one executor thread; at most one waiter.
class Latch {
 public:
  explicit Latch(long count) : count_(count) {}
  void count_down() {
    if (--count_ == 0 && waiter_) std::exchange(waiter_, {}).resume();
  }
  auto wait() {
    struct Awaiter {
      Latch& latch;
      bool await_ready() const noexcept { return latch.count_ == 0; }
      void await_suspend(std::coroutine_handle<> h) noexcept { latch.waiter_ = h; }
      void await_resume() const noexcept {}
    };
    return Awaiter{*this};
  }

 private:
  long count_;
  std::coroutine_handle<> waiter_;
};

// One result as a JSON line on stdout: {"bench":..., <fields>, "seconds":...}.
class JsonLine {
 public:
  explicit JsonLine(const std::string& bench) { text_ = "{\"bench\":\"" + bench + "\""; }
  JsonLine& str(const std::string& key, const std::string& value) {
    text_ += ",\"" + key + "\":\"" + value + "\"";
    return *this;
  }
  JsonLine& num(const std::string& key, double value) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.9g", value);
    text_ += ",\"" + key + "\":" + buf;
    return *this;
  }
  void print() {
    std::printf("%s}\n", text_.c_str());
    std::fflush(stdout);
  }

 private:
  std::string text_;
};

}  // namespace bench
