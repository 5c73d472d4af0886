// Falling back when io_uring is unusable: a seccomp filter makes io_uring_setup fail with EPERM
// (as container runtimes do), then the probe must say why, BackendKind::kAuto must run on the
// threads backend with one log line, a strict kUring must refuse to start, and file I/O must
// still work.
//
// Each case runs in a child process. A "threadsafe" death test re-executes this binary and runs
// only this test, so the child starts fresh: probe_io_uring() has cached nothing and no fallback
// line has been said yet. (A plain fork() of the test runner would inherit both from earlier
// tests, and forking a process with a blocking pool's threads running is unsafe besides.) The
// child reports through its exit code and stderr; the parent asserts on both.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "ringkit/executor.h"
#include "ringkit/fs.h"
#include "ringkit/log.h"
#include "ringkit/probe.h"

namespace ringkit {
namespace {

using ::testing::AllOf;
using ::testing::ExitedWithCode;
using ::testing::HasSubstr;

#if defined(__x86_64__)
constexpr uint32_t kAuditArch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr uint32_t kAuditArch = AUDIT_ARCH_AARCH64;
#else
constexpr uint32_t kAuditArch = 0;  // not supported: the tests skip
#endif

[[noreturn]] void child_fail(const std::string& what) {
  std::fprintf(stderr, "child: FAIL %s\n", what.c_str());
  std::fflush(stderr);
  _exit(1);
}

[[noreturn]] void child_ok() {
  std::fprintf(stderr, "child: ok\n");
  std::fflush(stderr);
  _exit(0);
}

// io_uring_setup fails with EPERM; every other system call is allowed. A system call made
// under another architecture's ABI kills the process rather than slipping past the filter.
void deny_io_uring_setup() {
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kAuditArch, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog program{};
  program.len = static_cast<unsigned short>(std::size(filter));
  program.filter = filter;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) child_fail("PR_SET_NO_NEW_PRIVS");
  // TSYNC: any thread already running gets the filter too.
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &program) != 0) {
    child_fail(std::string("seccomp: ") + std::strerror(errno));
  }
}

// Skips (in the parent, before any child) when this machine cannot run the tests.
#define SKIP_UNLESS_SECCOMP_FILTERS()                                                           \
  do {                                                                                          \
    if (kAuditArch == 0) GTEST_SKIP() << "no seccomp filter for this architecture here";        \
    uint32_t action = SECCOMP_RET_ERRNO;                                                        \
    if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) != 0) {                      \
      GTEST_SKIP() << "seccomp filters unavailable: " << std::strerror(errno);                  \
    }                                                                                           \
    GTEST_FLAG_SET(death_test_style, "threadsafe");                                             \
  } while (0)

// Sends ringkit::log lines to stderr (for the parent to see) and counts them.
std::vector<std::string>& captured_lines() {
  static std::vector<std::string> lines;
  return lines;
}
void capture_log() {
  set_log_handler([](LogLevel, std::string_view m) {
    captured_lines().emplace_back(m);
    std::fprintf(stderr, "log: %.*s\n", static_cast<int>(m.size()), m.data());
  });
}

EngineSettings settings_for(BackendKind backend, bool fallback_on_error) {
  EngineSettings s;  // not from_env(): RINGKIT_BACKEND must not change what is tested here
  s.backend = backend;
  s.fallback_on_error = fallback_on_error;
  return s;
}

[[noreturn]] void probe_child() {
  deny_io_uring_setup();
  ProbeReport report = probe_io_uring_uncached();
  if (report.usable) child_fail("the probe says io_uring is usable");
  std::fprintf(stderr, "child: reason: %s\n", report.reason.c_str());
  if (report.reason.find("io_uring_setup") == std::string::npos ||
      report.reason.find(std::strerror(EPERM)) == std::string::npos) {
    child_fail("the reason does not name io_uring_setup and EPERM");
  }
  if (report.summary().find("unusable") == std::string::npos) child_fail("summary: " + report.summary());
  child_ok();
}

TEST(FallbackDeathTest, ProbeReportsUnusableWithAReason) {
  SKIP_UNLESS_SECCOMP_FILTERS();
  EXPECT_EXIT(probe_child(), ExitedWithCode(0),
              AllOf(HasSubstr("child: ok"),
                    HasSubstr("child: reason: io_uring_setup: Operation not permitted")));
}

Task<std::string> write_and_read_back(std::string path) {
  auto fd = co_await fs::openat(AT_FDCWD, path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (!fd.ok()) co_return "open: " + describe(fd.error());
  const std::string text = "written and read back without io_uring";
  auto w = co_await fs::write(fd->get(), std::as_bytes(std::span(text)), 0);
  if (!w.ok() || *w != text.size()) co_return "write failed";
  std::string back(text.size(), '\0');
  auto r = co_await fs::read(fd->get(), std::as_writable_bytes(std::span(back)), 0);
  if (!r.ok() || *r != text.size()) co_return "read failed";
  auto closed = co_await fs::close(fd->release());
  if (!closed.ok()) co_return "close: " + describe(closed.error());
  co_return back == text ? "" : "read back other bytes";
}

[[noreturn]] void auto_child() {
  capture_log();
  deny_io_uring_setup();
  try {
    Executor first(settings_for(BackendKind::kAuto, true));
    if (first.backend() != BackendKind::kThreads) child_fail("kAuto did not fall back");
    if (captured_lines().size() != 1) {
      child_fail(std::to_string(captured_lines().size()) + " log lines after the fallback");
    }
    const std::string& line = captured_lines().front();
    if (line.find("io_uring") == std::string::npos || line.find("threads") == std::string::npos ||
        line.find(std::strerror(EPERM)) == std::string::npos) {
      child_fail("an unclear log line: " + line);
    }

    char tmpl[] = "/tmp/ringkit-fallback-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) child_fail("mkdtemp");
    std::string path = std::string(tmpl) + "/file";
    std::string error = first.run(write_and_read_back(path));
    ::unlink(path.c_str());
    ::rmdir(tmpl);
    if (!error.empty()) child_fail("file I/O on the fallen-back executor: " + error);
    if (first.stats().pool_calls == 0 && first.stats().inline_calls == 0) {
      child_fail("the file I/O did not go through the engine");
    }
  } catch (const std::exception& e) {
    child_fail(std::string("exception: ") + e.what());
  }
  try {
    // Another executor, and a kUring one allowed to fall back: no second line.
    Executor second(settings_for(BackendKind::kAuto, true));
    Executor third(settings_for(BackendKind::kUring, true));
    if (second.backend() != BackendKind::kThreads || third.backend() != BackendKind::kThreads) {
      child_fail("a later executor did not fall back");
    }
  } catch (const std::exception& e) {
    child_fail(std::string("exception: ") + e.what());
  }
  if (captured_lines().size() != 1) {
    child_fail(std::to_string(captured_lines().size()) + " log lines, expected exactly 1");
  }
  child_ok();
}

TEST(FallbackDeathTest, AutoFallsBackToThreadsWithOneLogLine) {
  SKIP_UNLESS_SECCOMP_FILTERS();
  EXPECT_EXIT(auto_child(), ExitedWithCode(0),
              AllOf(HasSubstr("child: ok"),
                    HasSubstr("log: io_uring is unusable (io_uring_setup: Operation not permitted"),
                    HasSubstr("using the threads backend")));
}

[[noreturn]] void strict_uring_child() {
  capture_log();
  deny_io_uring_setup();
  try {
    Executor ex(settings_for(BackendKind::kUring, false));
    child_fail("an executor started on kUring without io_uring");
  } catch (const std::system_error& e) {
    std::fprintf(stderr, "child: threw: %s\n", e.what());
  } catch (const std::exception& e) {
    child_fail(std::string("threw something other than std::system_error: ") + e.what());
  }
  if (!captured_lines().empty()) child_fail("a refusal to start is not a fallback to log");
  child_ok();
}

TEST(FallbackDeathTest, StrictUringRefusesToStartWithoutIoUring) {
  SKIP_UNLESS_SECCOMP_FILTERS();
  EXPECT_EXIT(strict_uring_child(), ExitedWithCode(0),
              AllOf(HasSubstr("child: ok"), HasSubstr("child: threw: io_uring is unusable")));
}

}  // namespace
}  // namespace ringkit
