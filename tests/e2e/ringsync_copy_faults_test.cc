// ringsync's kernel copy and clone when the kernel answers the rarer way, made to happen by the
// copy shim (support/shim/copy_shim.cc) on both backends: copy_file_range refused (EXDEV,
// EOPNOTSUPP, EINVAL, ENOSYS) at the start or in the middle of a file, short copies, copying
// nothing, a full disk, an I/O error; FICLONE working; SIGINT during a slow kernel copy. Every
// copy that succeeds must equal rsync's; every failure must leave no partial file.
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <chrono>
#include <string>
#include <thread>

#include "support/copy_runs.h"

namespace ringkit::testing {
namespace {

constexpr long long kMiB = 1 << 20;

std::string env(const char* name, long long value) { return std::string(name) + "=" + std::to_string(value); }

class CopyFaults : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    // tmpfs when there is one: the kernel copies within it, and runs are quick.
    base_ = ::access("/dev/shm", W_OK) == 0 ? make_temp_dir_in("/dev/shm", "ringsync-cfault")
                                            : make_temp_dir("ringsync-cfault");
    build_copy_tree(base_ + "/src", 1);
    struct statfs info {};
    in_memory_ = ::statfs(base_.c_str(), &info) == 0 && info.f_type == TMPFS_MAGIC;
    RunResult rr = run_program({"rsync", "-a", base_ + "/src/", base_ + "/r/"});
    ASSERT_EQ(rr.exit_code, 0) << rr.err;
    source_ = snapshot(base_ + "/src");
  }
  void TearDown() override { remove_tree(base_); }

  CopyRun copy(const std::vector<std::string>& shim_env, const std::string& method = "") {
    return run_ringsync_copy(GetParam(), method, {"-a", base_ + "/src/", base_ + "/g/"}, shim_env);
  }
  void expect_same_as_rsync(const CopyRun& run) {
    EXPECT_EQ(run.result.exit_code, 0) << run.describe();
    auto diffs = copy_differences(base_ + "/r", base_ + "/g");
    EXPECT_TRUE(diffs.empty()) << indent_lines(diffs) << "\n" << run.describe();
  }
  // After a failed run: nothing half-written under a final name, no temp file.
  void expect_nothing_partial() {
    TreeState after = snapshot(base_ + "/g");
    EXPECT_TRUE(half_written_files(after, {&source_}).empty()) << indent_lines(half_written_files(after, {&source_}));
    EXPECT_TRUE(temp_files(after).empty()) << indent_lines(temp_files(after));
  }

  // Which files the kernel copies without a fault: the large ones, and from memory (tmpfs) every
  // non-empty one (data_copy.h).
  bool kernel_copied(const std::string& name, long long size) const {
    return is_large_copy_file(name) || (in_memory_ && size > 0);
  }

  std::string base_;
  bool in_memory_ = false;
  TreeState source_;
};

TEST_P(CopyFaults, RefusedFromTheStartTheRingCopiesEverything) {
  for (int err : {EXDEV, EOPNOTSUPP, EINVAL, ENOSYS}) {
    SCOPED_TRACE(std::strerror(err));
    remove_tree(base_ + "/g");
    CopyRun run = copy({env("RINGKIT_SHIM_CFR_FAIL", err)});
    expect_same_as_rsync(run);
    EXPECT_GT(run.kernel_calls(), 0) << run.describe();
    EXPECT_EQ(run.kernel_bytes(), 0);
  }
}

TEST_P(CopyFaults, RefusedInTheMiddleTheRingCopiesTheRest) {
  // After 5 MiB: inside the second large file, at no piece boundary of it.
  CopyRun run = copy({env("RINGKIT_SHIM_CFR_FAIL", EXDEV), env("RINGKIT_SHIM_CFR_AFTER", 5 * kMiB)});
  expect_same_as_rsync(run);
  EXPECT_GE(run.kernel_bytes(), 5 * kMiB) << run.describe();
}

TEST_P(CopyFaults, ShortCopiesAreContinuedWhereTheyStopped) {
  CopyRun run = copy({env("RINGKIT_SHIM_CFR_MAX", 100'003)});
  expect_same_as_rsync(run);
  for (const CopyRun::Call& c : run.calls) {
    if (!c.clone) {
      EXPECT_LE(c.result, 100'003) << run.describe();
    }
  }
  EXPECT_GT(run.kernel_calls(), 15 * kMiB / 100'003) << "each piece took many short copies";
}

TEST_P(CopyFaults, NothingCopiedLeavesTheRestToTheRing) {
  // As files in /proc or /sys do (a size, but nothing for copy_file_range), from 2 MiB on.
  CopyRun run = copy({env("RINGKIT_SHIM_CFR_ZERO_AFTER", 2 * kMiB)});
  expect_same_as_rsync(run);
}

TEST_P(CopyFaults, ClonedFilesAreNotCopiedAgain) {
  CopyRun run = copy({"RINGKIT_SHIM_CLONE=copy"});
  expect_same_as_rsync(run);
  int large = 0;
  long long small_kernel_bytes = 0;  // small files from memory: copy_file_range, never a clone
  for (const auto& [name, size] : copy_tree_files()) {
    large += is_large_copy_file(name);
    if (!is_large_copy_file(name) && kernel_copied(name, size)) small_kernel_bytes += size;
  }
  EXPECT_EQ(run.clones_done(), large) << run.describe();
  EXPECT_EQ(run.kernel_bytes(), small_kernel_bytes) << "a cloned file copied again: " << run.describe();
}

TEST_P(CopyFaults, DiskFullStopsWithExit11AndNoPartialFile) {
  CopyRun run = copy({env("RINGKIT_SHIM_CFR_FAIL", ENOSPC), env("RINGKIT_SHIM_CFR_AFTER", 3 * kMiB)});
  EXPECT_EQ(run.result.exit_code, 11) << run.describe();
  EXPECT_NE(run.result.err.find("No space left on device"), std::string::npos) << run.result.err;
  EXPECT_NE(run.result.err.find("write \""), std::string::npos) << "names what failed: " << run.result.err;
  expect_nothing_partial();
}

TEST_P(CopyFaults, IoErrorIsReportedForTheFileAndTheRunGoesOn) {
  CopyRun run = copy({env("RINGKIT_SHIM_CFR_FAIL", EIO)});
  EXPECT_EQ(run.result.exit_code, 23) << run.describe();
  for (const auto& [name, size] : copy_tree_files()) {
    std::string path = base_ + "/g/" + (name == "k700" ? "sub/" : "") + name;
    bool there = ::access(path.c_str(), F_OK) == 0;
    if (kernel_copied(name, size)) {
      EXPECT_NE(run.result.err.find(name), std::string::npos) << name << " not named:\n" << run.result.err;
      EXPECT_FALSE(there) << name << ": a failed copy under its final name";
    } else {
      EXPECT_TRUE(there) << name << ": copied by the ring, which does not depend on copy_file_range";
    }
  }
  EXPECT_NE(run.result.err.find("Input/output error"), std::string::npos) << run.result.err;
  expect_nothing_partial();
}

// SIGINT while a slow kernel copy is under way (each piece takes 500 ms): ringsync stops after
// the piece in flight, exits 20, and leaves nothing behind.
TEST_P(CopyFaults, SigintStopsAKernelCopyWithinAPiece) {
  std::string one = base_ + "/one", log = base_ + "/shim.log";
  std::filesystem::create_directories(one);
  std::filesystem::rename(base_ + "/src/sparse9", one + "/sparse9");
  Spawned p = spawn_program(ringsync_copy_argv(GetParam(), "copy_file_range", {"-a", one + "/", base_ + "/g/"},
                                               {"RINGKIT_SHIM_CFR_DELAY_US=500000"}, log));
  ASSERT_GT(p.pid, 0);
  // Wait for the first piece (not a timing assertion: the wait ends on the event).
  for (int i = 0; i < 3000 && shim_calls(log).empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_FALSE(shim_calls(log).empty()) << "no copy_file_range call in 15 s";
  ::kill(p.pid, SIGINT);
  RunResult r = wait_program(p);
  EXPECT_EQ(r.exit_code, 20) << r.err;
  std::vector<CopyRun::Call> calls = shim_calls(log);
  long long copied = 0;
  for (const CopyRun::Call& c : calls) copied += c.result > 0 ? c.result : 0;
  EXPECT_LT(copied, 9 * kMiB) << "the copy went on to the end";
  EXPECT_FALSE(std::filesystem::exists(base_ + "/g/sparse9"));
  expect_nothing_partial();
}

INSTANTIATE_TEST_SUITE_P(Backends, CopyFaults, ::testing::Values("uring", "threads"),
                         [](const auto& param_info) { return std::string(param_info.param); });

}  // namespace
}  // namespace ringkit::testing
