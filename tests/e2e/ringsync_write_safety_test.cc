// Symlinks planted in the destination where ringsync writes besides the files themselves: the
// --backup-dir (its root and a level below it) and the --delay-updates holding dir. None of
// them may redirect a write outside the destination (rsync 3.5.0 follows some of them; these
// tests check ringsync alone). A --backup-dir given as an absolute path is the user's choice
// and is followed. A source named "dir/.." must not make an item ".." either.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "support/rsync_diff.h"
#include "support/tree.h"

namespace ringkit::testing {
namespace {

class RingsyncWriteSafety : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = make_temp_dir("ringsync-safety");
    src_ = base_ + "/src";
    dst_ = base_ + "/dst";
    outside_ = base_ + "/outside";
    std::filesystem::create_directories(src_ + "/sub");
    std::filesystem::create_directories(outside_);
    write_file(src_ + "/top", "v1\n");
    write_file(src_ + "/sub/file", "v1\n");
    pin_recent_times(src_, 0, 1600000000);
    ASSERT_EQ(run_sync(ringsync_program(), {"-a"}, src_ + "/", dst_ + "/").exit_code, 0);
    write_file(src_ + "/top", "version 2\n");
    write_file(src_ + "/sub/file", "version 2\n");
    pin_recent_times(src_, 0, 1600000100);
  }
  void TearDown() override { remove_tree(base_); }
  void plant(const std::string& at) { ASSERT_EQ(::symlink(outside_.c_str(), (dst_ + "/" + at).c_str()), 0) << at; }

  std::string base_, src_, dst_, outside_;
};

TEST_F(RingsyncWriteSafety, BackupDirRootPlantedAsASymlinkIsReplacedNotFollowed) {
  plant("bk");
  RunResult r = run_sync(ringsync_program(), {"-a", "--backup-dir=bk"}, src_ + "/", dst_ + "/");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(items_below(outside_).empty()) << indent_lines(items_below(outside_));
  EXPECT_TRUE(std::filesystem::is_directory(std::filesystem::symlink_status(dst_ + "/bk")));
  EXPECT_TRUE(std::filesystem::exists(dst_ + "/bk/top"));
  EXPECT_TRUE(std::filesystem::exists(dst_ + "/bk/sub/file"));
}

TEST_F(RingsyncWriteSafety, SymlinkBelowTheBackupDirIsReplacedNotFollowed) {
  std::filesystem::create_directories(base_ + "/bk");
  ASSERT_EQ(::symlink(outside_.c_str(), (base_ + "/bk/sub").c_str()), 0);
  RunResult r = run_sync(ringsync_program(), {"-a", "--backup-dir=../bk"}, src_ + "/", dst_ + "/");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(items_below(outside_).empty()) << indent_lines(items_below(outside_));
  EXPECT_TRUE(std::filesystem::exists(base_ + "/bk/sub/file"));
}

TEST_F(RingsyncWriteSafety, AbsoluteBackupDirThroughASymlinkIsTheUsersChoice) {
  ASSERT_EQ(::symlink(outside_.c_str(), (base_ + "/bk-link").c_str()), 0);
  RunResult r = run_sync(ringsync_program(), {"-a", "--backup-dir=" + base_ + "/bk-link"}, src_ + "/", dst_ + "/");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::filesystem::exists(outside_ + "/top"));
}

TEST_F(RingsyncWriteSafety, HoldingDirPlantedAsASymlinkIsNotFollowed) {
  plant("sub/.~tmp~");
  RunResult r = run_sync(ringsync_program(), {"-a", "--delay-updates"}, src_ + "/", dst_ + "/");
  EXPECT_EQ(r.exit_code, 23) << r.err;  // that one file could not be held
  EXPECT_NE(r.err.find("sub/file"), std::string::npos) << r.err;
  EXPECT_TRUE(items_below(outside_).empty()) << indent_lines(items_below(outside_));
  RunResult old = run_program({"cat", dst_ + "/sub/file"});
  EXPECT_EQ(old.out, "v1\n") << "the file that could not be held must keep its old version";
  RunResult top = run_program({"cat", dst_ + "/top"});
  EXPECT_EQ(top.out, "version 2\n");
}

// "SRC/sub/.." is the contents of SRC (as rsync reads it), never an item named ".." that would
// land in DEST/.. (base_, next to dst).
TEST_F(RingsyncWriteSafety, ASourceEndingInDotDotWritesIntoDestOnly) {
  std::vector<std::string> around = {"dst", "outside", "src"};
  for (const char* opts : {"-a", "-a --delete"}) {
    RunResult r = run_sync(ringsync_program(), words(opts), src_ + "/sub/..", dst_);
    EXPECT_EQ(r.exit_code, 0) << opts << ": " << r.err;
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(base_)) names.push_back(e.path().filename());
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, around) << opts;
    RunResult top = run_program({"cat", dst_ + "/top"});
    EXPECT_EQ(top.out, "version 2\n") << opts;
  }
}

}  // namespace
}  // namespace ringkit::testing
