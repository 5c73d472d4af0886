// A fault-injecting shim for the copy calls, preloaded (LD_PRELOAD) into ringsync by
// tests/e2e/ringsync_copy_methods_test.cc. It wraps copy_file_range(2) and the FICLONE ioctl,
// which ringsync makes as direct system calls on either backend (on the executor thread or a
// blocking-pool thread), so that a test can see which calls were made and make the kernel's
// rarer answers happen on demand. Configured by the environment:
//   RINGKIT_SHIM_LOG=PATH          append one line per call: "copy_file_range LEN RESULT" or
//                                  "ficlone RESULT" (RESULT: bytes, or -errno)
//   RINGKIT_SHIM_CFR_MAX=N         ask the kernel for at most N bytes per call (short copies)
//   RINGKIT_SHIM_CFR_FAIL=ERRNO    fail every call with ERRNO once RINGKIT_SHIM_CFR_AFTER bytes
//                                  (default 0) have been copied by this process
//   RINGKIT_SHIM_CFR_ZERO_AFTER=N  return 0 (nothing copied) once N bytes have been copied
//   RINGKIT_SHIM_CFR_DELAY_US=N    sleep this long before each call
//   RINGKIT_SHIM_CLONE=copy        FICLONE succeeds by copying the data (a reflink file system)
// Test-only code; thread-safe (ringsync calls these from several threads).
#include <dlfcn.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

std::atomic<long long> g_copied{0};

long long env_number(const char* name, long long fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoll(v, nullptr, 10) : fallback;
}

void log_line(const char* fmt, long long a, long long b) {
  const char* path = std::getenv("RINGKIT_SHIM_LOG");
  if (path == nullptr) return;
  char line[128];
  int n = std::snprintf(line, sizeof line, fmt, a, b);
  int fd = ::open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return;
  ssize_t ignored = ::write(fd, line, static_cast<size_t>(n));  // one write: lines stay whole
  (void)ignored;
  ::close(fd);
}

long long fail_errno(long long copied) {
  long long err = env_number("RINGKIT_SHIM_CFR_FAIL", 0);
  if (err != 0 && copied >= env_number("RINGKIT_SHIM_CFR_AFTER", 0)) return err;
  return 0;
}

// FICLONE emulated by a plain copy of the whole source, as a reflink file system would leave it.
int fake_clone(int dst, int src) {
  char buf[65536];
  off_t at = 0;
  for (;;) {
    ssize_t n = ::pread(src, buf, sizeof buf, at);
    if (n < 0) return -1;
    if (n == 0) break;
    for (ssize_t w = 0; w < n;) {
      ssize_t m = ::pwrite(dst, buf + w, static_cast<size_t>(n - w), at + w);
      if (m < 0) return -1;
      w += m;
    }
    at += n;
  }
  return ::ftruncate(dst, at);
}

}  // namespace

extern "C" {

ssize_t copy_file_range(int fd_in, off64_t* off_in, int fd_out, off64_t* off_out, size_t len, unsigned flags) {
  if (long long us = env_number("RINGKIT_SHIM_CFR_DELAY_US", 0); us > 0) ::usleep(static_cast<useconds_t>(us));
  long long copied = g_copied.load();
  long long result;
  if (long long err = fail_errno(copied); err != 0) {
    result = -err;
  } else if (long long zero_after = env_number("RINGKIT_SHIM_CFR_ZERO_AFTER", -1);
             zero_after >= 0 && copied >= zero_after) {
    result = 0;
  } else {
    long long max = env_number("RINGKIT_SHIM_CFR_MAX", 0);
    size_t ask = max > 0 && static_cast<size_t>(max) < len ? static_cast<size_t>(max) : len;
    long rc = ::syscall(SYS_copy_file_range, fd_in, off_in, fd_out, off_out, ask, flags);
    result = rc < 0 ? -errno : rc;
    if (rc > 0) g_copied += rc;
  }
  log_line("copy_file_range %lld %lld\n", static_cast<long long>(len), result);
  if (result < 0) {
    errno = static_cast<int>(-result);
    return -1;
  }
  return static_cast<ssize_t>(result);
}

int ioctl(int fd, unsigned long request, ...) {
  va_list args;
  va_start(args, request);
  void* arg = va_arg(args, void*);
  va_end(args);
  using Real = int (*)(int, unsigned long, ...);
  static Real real = reinterpret_cast<Real>(::dlsym(RTLD_NEXT, "ioctl"));
  if (request != FICLONE) return real(fd, request, arg);
  const char* mode = std::getenv("RINGKIT_SHIM_CLONE");
  int rc;
  int saved = 0;
  if (mode != nullptr && std::strcmp(mode, "copy") == 0) {
    rc = fake_clone(fd, static_cast<int>(reinterpret_cast<intptr_t>(arg)));
  } else {
    rc = real(fd, request, arg);
  }
  if (rc < 0) saved = errno;
  log_line("ficlone %lld\n", rc < 0 ? -saved : 0, 0);
  if (rc < 0) errno = saved;
  return rc;
}

}  // extern "C"
