// ringsync's copy methods (src/sync/data_copy.cc) against the real rsync: a tree with files on
// both sides of every size threshold, copied by rsync and by ringsync with each method
// (RINGKIT_SYNC_COPY=auto|ring|copy_file_range|clone) on each backend, with and without -S and
// --inplace, must give the same files: content, attributes and allocated blocks. A preloaded
// shim (support/shim/copy_shim.cc) logs the copy_file_range and FICLONE calls, which shows that
// each method really took its path: the kernel copy moved exactly the large files' bytes, the
// ring none, -S never asks the kernel.
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <tuple>

#include "support/copy_runs.h"

namespace ringkit::testing {
namespace {

using Params = std::tuple<const char*, const char*>;  // method, backend

long long large_bytes() {
  long long sum = 0;
  for (const auto& [name, size] : copy_tree_files()) sum += is_large_copy_file(name) ? size : 0;
  return sum;
}
long long all_bytes() {
  long long sum = 0;
  for (const auto& [name, size] : copy_tree_files()) sum += size;
  return sum;
}
int nonempty_files() {
  int n = 0;
  for (const auto& [name, size] : copy_tree_files()) n += size > 0;
  return n;
}
int large_files() {
  int n = 0;
  for (const auto& [name, size] : copy_tree_files()) n += is_large_copy_file(name);
  return n;
}

class CopyMethods : public ::testing::TestWithParam<Params> {
 protected:
  void SetUp() override {
    base_ = make_temp_dir("ringsync-copy");
    build_copy_tree(base_ + "/src", 1);
    holes_ = keeps_holes(base_);
  }
  void TearDown() override { remove_tree(base_); }

  std::string method() const { return std::get<0>(GetParam()); }
  std::string backend() const { return std::get<1>(GetParam()); }

  // rsync into r/, ringsync into g/, with the same options; both must succeed.
  CopyRun copy_both(const std::vector<std::string>& options, const std::string& dest_base) {
    std::filesystem::create_directories(dest_base);
    std::vector<std::string> r = {"rsync"};
    r.insert(r.end(), options.begin(), options.end());
    r.insert(r.end(), {base_ + "/src/", dest_base + "/r/"});
    RunResult rr = run_program(r);
    EXPECT_EQ(rr.exit_code, 0) << rr.err;
    std::vector<std::string> g = options;
    g.insert(g.end(), {base_ + "/src/", dest_base + "/g/"});
    CopyRun run = run_ringsync_copy(backend(), method(), g);
    EXPECT_EQ(run.result.exit_code, 0) << run.describe();
    return run;
  }

  void expect_same_copies(const std::string& dest_base, bool holes) {
    std::vector<std::string> diffs = copy_differences(dest_base + "/r", dest_base + "/g");
    if (!holes) std::erase_if(diffs, [](const std::string& d) { return d.find("blocks allocated") != std::string::npos; });
    EXPECT_TRUE(diffs.empty()) << indent_lines(diffs);
  }

  // Which calls the method must have made for a copy of the whole tree without -S.
  void expect_calls_of_method(const CopyRun& run) {
    SCOPED_TRACE(run.describe());
    bool cloned = run.clones_done() > 0;  // a file system that reflinks: the data never moved
    if (method() == "ring") {
      EXPECT_EQ(run.calls.size(), 0u) << "the ring asked the kernel to copy";
    } else if (method() == "copy_file_range") {
      EXPECT_EQ(run.clone_calls(), 0);
      EXPECT_EQ(run.kernel_bytes(), all_bytes());
      EXPECT_GE(run.kernel_calls(), nonempty_files());
    } else if (method() == "clone") {
      EXPECT_EQ(run.clone_calls(), nonempty_files());
      EXPECT_EQ(run.kernel_bytes(), cloned ? 0 : large_bytes());
    } else {  // auto: clone, then the kernel copy, for the large files only
      EXPECT_EQ(run.clone_calls(), large_files());
      EXPECT_EQ(run.kernel_bytes(), cloned ? 0 : large_bytes());
    }
  }

  std::string base_;
  bool holes_ = false;
};

TEST_P(CopyMethods, SameFilesAndBlocksAsRsync) {
  CopyRun run = copy_both({"-a"}, base_ + "/plain");
  expect_same_copies(base_ + "/plain", holes_ && run.clones_done() == 0);
  expect_calls_of_method(run);
}

TEST_P(CopyMethods, SparseCopiesAsRsyncAndNeverByTheKernel) {
  CopyRun run = copy_both({"-aS"}, base_ + "/sparse");
  expect_same_copies(base_ + "/sparse", holes_);
  EXPECT_EQ(run.calls.size(), 0u) << "-S must see the zero blocks: " << run.describe();
}

// A second round over older copies, written in place: same sizes, new content; with -S the
// zero blocks of the new version are punched out of the old file, as rsync does.
TEST_P(CopyMethods, InplaceOverAnOlderCopy) {
  for (const char* sparse : {"", "S"}) {
    SCOPED_TRACE(std::string("-a") + sparse + " --inplace");
    std::string dest = base_ + "/inplace" + sparse;
    remove_tree(base_ + "/src");
    build_copy_tree(base_ + "/src", 1);
    copy_both({"-a"}, dest);
    remove_tree(base_ + "/src");
    build_copy_tree(base_ + "/src", 2);
    CopyRun run = copy_both({std::string("-a") + sparse, "--inplace"}, dest);
    expect_same_copies(dest, holes_ && run.clones_done() == 0);
    if (*sparse == '\0') expect_calls_of_method(run);
  }
}

// Into another file system (tmpfs when the tree is on disk): the kernel refuses copy_file_range
// between them (EXDEV) and the ring copies instead, with the same result.
TEST_P(CopyMethods, AcrossFileSystemsTheRingTakesOver) {
  struct stat shm {}, here {};
  if (::stat("/dev/shm", &shm) != 0 || ::stat(base_.c_str(), &here) != 0 || shm.st_dev == here.st_dev) {
    GTEST_SKIP() << "needs /dev/shm and " << base_ << " on two file systems";
  }
  std::string dest = make_temp_dir_in("/dev/shm", "ringsync-copy-x");
  ScopedTempTree cleanup{dest};
  CopyRun run = copy_both({"-a"}, dest);
  expect_same_copies(dest, keeps_holes(dest));
  SCOPED_TRACE(run.describe());
  EXPECT_EQ(run.kernel_bytes(), 0) << "copied between file systems by copy_file_range";
  EXPECT_EQ(run.clones_done(), 0);
  if (method() != "ring") {
    EXPECT_GT(run.kernel_calls(), 0) << "never tried";
    for (const CopyRun::Call& c : run.calls) {
      if (!c.clone) {
        EXPECT_EQ(c.result, -EXDEV);
      }
    }
  }
}

// --info=progress2 counts the bytes as they are copied, whatever the method: its first line
// (printed at the first count, whatever the time) shows the first piece of a kernel copy, or the
// first chunk of the ring, not zero and not the whole file; a clone counts the file at once.
TEST_P(CopyMethods, ProgressCountsTheBytesAsTheyAreCopied) {
  std::string one = base_ + "/one";
  build_copy_tree(base_ + "/tree", 1);
  std::filesystem::create_directories(one);
  std::filesystem::rename(base_ + "/tree/m5p3", one + "/m5p3");
  long long size = copy_tree_files().at("m5p3");
  CopyRun run = run_ringsync_copy(backend(), method(), {"-a", "--info=progress2", one + "/", base_ + "/p/"});
  ASSERT_EQ(run.result.exit_code, 0) << run.describe();
  const std::string& out = run.result.out;
  size_t start = out.find_first_not_of("\r\n ");
  ASSERT_NE(start, std::string::npos) << "no progress line";
  std::string first = out.substr(start, out.find_first_of("\r\n", start) - start);
  std::string count = first.substr(0, first.find(' '));
  std::erase(count, ',');
  ASSERT_FALSE(count.empty()) << out;
  long long bytes = std::stoll(count);
  SCOPED_TRACE(first + "\n" + run.describe());
  auto piece = std::find_if(run.calls.begin(), run.calls.end(), [](const CopyRun::Call& c) { return !c.clone; });
  if (piece != run.calls.end()) {
    EXPECT_EQ(bytes, piece->result) << "the first line is not the first piece";
  } else if (run.clones_done() > 0) {
    EXPECT_EQ(bytes, size);
  } else {
    EXPECT_EQ(method(), "ring") << "no copy call, yet not the ring";
  }
  if (run.clones_done() == 0) {
    EXPECT_GT(bytes, 0);
    EXPECT_LT(bytes, size);
  }
}

// A source in memory (tmpfs): each small file too is one copy_file_range on the executor thread
// (the ring would hand its read to io-wq); into another file system the kernel refuses that once
// per executor thread, and the ring then copies with direct reads. Same files as rsync's either
// way. Parameter: the backend.
class CopyFromMemory : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    struct statfs info {};
    if (::statfs("/dev/shm", &info) != 0 || info.f_type != TMPFS_MAGIC) GTEST_SKIP() << "/dev/shm is not tmpfs";
    base_ = make_temp_dir_in("/dev/shm", "ringsync-mem");
    build_copy_tree(base_ + "/src", 1);
  }
  void TearDown() override {
    if (!base_.empty()) remove_tree(base_);
  }

  CopyRun copy_both(const std::string& dest_base) {
    std::filesystem::create_directories(dest_base);
    RunResult rr = run_program({"rsync", "-a", base_ + "/src/", dest_base + "/r/"});
    EXPECT_EQ(rr.exit_code, 0) << rr.err;
    CopyRun run = run_ringsync_copy(GetParam(), "auto", {"-a", base_ + "/src/", dest_base + "/g/"});
    EXPECT_EQ(run.result.exit_code, 0) << run.describe();
    std::vector<std::string> diffs = copy_differences(dest_base + "/r", dest_base + "/g");
    EXPECT_TRUE(diffs.empty()) << indent_lines(diffs);
    return run;
  }

  std::string base_;
};

TEST_P(CopyFromMemory, SmallFilesTooAreKernelCopies) {
  CopyRun run = copy_both(base_ + "/same");
  SCOPED_TRACE(run.describe());
  EXPECT_EQ(run.clone_calls(), large_files()) << "only large files try a clone";
  EXPECT_EQ(run.kernel_bytes(), all_bytes()) << "every byte by copy_file_range";
  EXPECT_GE(run.kernel_calls(), nonempty_files());
}

TEST_P(CopyFromMemory, IntoAnotherFileSystemTheRingReadsDirectly) {
  std::string dest = make_temp_dir("ringsync-mem-x");  // /tmp: ext4 here
  ScopedTempTree cleanup{dest};
  struct stat shm {}, there {};
  ASSERT_EQ(::stat(base_.c_str(), &shm), 0);
  ASSERT_EQ(::stat(dest.c_str(), &there), 0);
  if (shm.st_dev == there.st_dev) GTEST_SKIP() << dest << " is on tmpfs too";
  CopyRun run = copy_both(dest);
  SCOPED_TRACE(run.describe());
  EXPECT_EQ(run.kernel_bytes(), 0);
  int small_refused = 0;
  for (const CopyRun::Call& c : run.calls) {
    if (c.clone) continue;
    EXPECT_EQ(c.result, -EXDEV);
    small_refused += c.length < (1 << 20);
  }
  EXPECT_GE(small_refused, 1) << "a small file never tried copy_file_range";
  EXPECT_LE(small_refused, 2) << "asked again after a refusal (once per executor thread)";
}

INSTANTIATE_TEST_SUITE_P(Backends, CopyFromMemory, ::testing::Values("uring", "threads"));

INSTANTIATE_TEST_SUITE_P(Methods, CopyMethods,
                         ::testing::Combine(::testing::Values("auto", "ring", "copy_file_range", "clone"),
                                            ::testing::Values("uring", "threads")),
                         [](const auto& param_info) {
                           std::string name =
                               std::string(std::get<0>(param_info.param)) + "_" + std::get<1>(param_info.param);
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace ringkit::testing
