// --inplace against the real rsync: an updated file keeps its inode (a hard link to it in the
// destination sees the new data), a longer old file is cut to the new length, and with -S the
// zero blocks of the new data are punched out of the old file. Both programs start from the
// same destination; the trees, the output and the allocated blocks must agree.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "support/tree.h"

namespace ringkit::testing {
namespace {

const std::string kRingsync = std::string(RINGKIT_BIN_DIR) + "/ringsync";

struct stat stat_of(const std::string& path) {
  struct stat st {};
  ::stat(path.c_str(), &st);
  return st;
}

class Inplace : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = make_temp_dir("ringsync-inplace");
    src_ = base_ + "/s";
    std::filesystem::create_directories(src_ + "/d");
    write_file(src_ + "/long", std::string(100000, 'L'));
    write_file(src_ + "/d/f", "original\n");
    write_file(src_ + "/zeros", std::string(1 << 20, 'z'));
    pin_recent_times(src_, 0, 1600000000);
    for (const char* d : {"/r", "/g"}) {
      RunResult r = run_program({"rsync", "-a", src_ + "/", base_ + d + "/"});
      ASSERT_EQ(r.exit_code, 0) << r.err;
      ASSERT_EQ(::link((base_ + d + "/d/f").c_str(), (base_ + d + "/d/f-link").c_str()), 0);
    }
    write_file(src_ + "/long", "short now\n");
    write_file(src_ + "/d/f", "updated in place\n");
    int fd = ::open((src_ + "/zeros").c_str(), O_WRONLY | O_TRUNC);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, "x", 1, (1 << 20) - 1), 1);  // 1 MiB of zeros but the last byte
    ::close(fd);
    write_file(src_ + "/new", "new file\n");
    pin_recent_times(src_, 0, 1650000000);
  }
  void TearDown() override { remove_tree(base_); }

  void run_both(const std::vector<std::string>& options) {
    std::vector<std::string> r = {"rsync"}, g = {kRingsync};
    r.insert(r.end(), options.begin(), options.end());
    g.insert(g.end(), options.begin(), options.end());
    r.insert(r.end(), {src_ + "/", base_ + "/r/"});
    g.insert(g.end(), {src_ + "/", base_ + "/g/"});
    inode_before_ = stat_of(base_ + "/g/d/f").st_ino;
    RunResult rr = run_program(r), gr = run_program(g);
    EXPECT_EQ(gr.exit_code, rr.exit_code) << gr.err;
    EXPECT_EQ(gr.out, rr.out);
    for (const auto& d : compare_trees(snapshot(base_ + "/r"), snapshot(base_ + "/g"), {})) ADD_FAILURE() << d;
  }

  std::string base_, src_;
  ino_t inode_before_ = 0;
};

TEST_F(Inplace, UpdatesTheFileItselfAsRsyncDoes) {
  run_both({"-ai", "--inplace"});
  EXPECT_EQ(stat_of(base_ + "/g/d/f").st_ino, inode_before_);
  RunResult link = run_program({"cat", base_ + "/g/d/f-link"});
  EXPECT_EQ(link.out, "updated in place\n");
  EXPECT_EQ(stat_of(base_ + "/g/long").st_size, 10);
}

TEST_F(Inplace, WithSparsePunchesTheZeroBlocks) {
  struct stat probe = stat_of(base_ + "/g/zeros");
  if (probe.st_blocks * 512 < probe.st_size) GTEST_SKIP() << "the copy was not fully allocated to begin with";
  run_both({"-aiS", "--inplace"});
  EXPECT_EQ(stat_of(base_ + "/g/zeros").st_blocks, stat_of(base_ + "/r/zeros").st_blocks);
  EXPECT_LE(stat_of(base_ + "/g/zeros").st_blocks * 512, 64 * 1024);
}

TEST_F(Inplace, WithoutItTheUpdatedFileIsANewInode) {
  run_both({"-ai"});
  EXPECT_NE(stat_of(base_ + "/g/d/f").st_ino, inode_before_);
  RunResult link = run_program({"cat", base_ + "/g/d/f-link"});
  EXPECT_EQ(link.out, "original\n");
}

}  // namespace
}  // namespace ringkit::testing
