// --temp-dir against the real rsync: relative (inside the destination) and absolute, on the
// destination's file system and on another one (/dev/shm), with -b, --delay-updates, -S and
// -H; the same -i lines, the same trees, and nothing left in the temp dir. Then the errors
// rsync gives for a temp dir that does not exist or is no directory, and what ringsync does on
// purpose differently: a symlink planted in the destination under the temp dir's name is not
// followed.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "support/rsync_diff.h"
#include "support/tree.h"

namespace ringkit::testing {
namespace {

class RingsyncTempDir : public RsyncDiffTest {
 protected:
  void SetUp() override {
    make_source("ringsync-tempdir");
    shm_ = ::access("/dev/shm", W_OK) == 0 ? make_temp_dir_in("/dev/shm", "ringsync-tempdir") : base_ + "/shm";
    std::filesystem::create_directories(shm_);
    std::filesystem::create_directories(base_ + "/tmp");
    // "tmp" (relative) is inside each destination: made there first.
    for (const char* d : {"/r/tmp", "/g/tmp"}) std::filesystem::create_directories(base_ + d);
    parse_options([this](const std::string&) -> std::vector<std::pair<std::string, std::string>> {
      return {{"SHM", shm_}, {"TMP", base_ + "/tmp"}};
    });
  }
  void TearDown() override {
    RsyncDiffTest::TearDown();
    remove_tree(shm_);
  }

  void run_both(const std::string& what) {
    SCOPED_TRACE(what + " with " + GetParam());
    run_tools_and_compare_output();
    SnapshotOptions cmp;
    cmp.dir_times = !has("b");
    // (rsync's named temp files changed the temp dir's time, ringsync's unnamed ones do not.)
    expect_same_destinations(cmp, [](TreeState& t) { t.erase("tmp"); });
    for (const std::string& dir : {shm_, base_ + "/tmp", base_ + "/g/tmp"}) {
      std::vector<std::string> left = items_below(dir);
      EXPECT_TRUE(left.empty()) << "left in the temp dir " << dir << ":\n" << indent_lines(left);
    }
  }

  void change_source() {
    write_file(src_ + "/small", "changed contents\n");
    write_file(src_ + "/big", std::string(3 << 20, 'y') + "tail");
    write_file(src_ + "/hl/two/pair-1", "pair, changed\n");
    write_file(src_ + "/sub/new-file", "new\n");
    pin_recent_times(src_, 1700000000, 1100000000);
  }

  std::string shm_;
};

TEST_P(RingsyncTempDir, SameResultAsRsyncAndNothingLeftInTheTempDir) {
  compare_dry_runs();
  run_both("first copy");
  run_both("no-op re-run");
  change_source();
  compare_dry_runs();
  run_both("re-sync after changes");
}

INSTANTIATE_TEST_SUITE_P(Places, RingsyncTempDir,
                         ::testing::Values("-ai -T tmp", "-ai --temp-dir=TMP", "-ai --temp-dir=SHM",
                                           "-ai -T SHM -b", "-aiS -T SHM", "-aiH -T SHM --delete",
                                           "-ai -T SHM --delay-updates", "-ai --temp-dir=TMP --inplace"), ParamTestName());

// rsync's checks, made once the destination exists (it is made first), before any file.
TEST(RingsyncTempDirErrors, MissingOrNotADirectoryAsRsync) {
  std::string base = make_temp_dir("ringsync-tempdir-err");
  ScopedTempTree cleanup{base};
  std::filesystem::create_directories(base + "/src");
  write_file(base + "/src/f", "x");
  write_file(base + "/a-file", "x");
  for (const std::string& dir : {std::string("nonexistent"), base + "/a-file", base + "/nope/deeper"}) {
    SCOPED_TRACE("-T " + dir);
    RunResult rr = run_sync("rsync", {"-ai", "-T", dir}, base + "/src/", base + "/r/");
    RunResult gr = run_sync(ringsync_program(), {"-ai", "-T", dir}, base + "/src/", base + "/g/");
    EXPECT_EQ(gr.exit_code, 1);
    expect_same_run(rr, gr, "");
    std::string said = dir.ends_with("a-file") ? "The temp-dir is not a directory: " : "The temp-dir does not exist: ";
    EXPECT_NE(rr.err.find(said + dir), std::string::npos) << rr.err;
    EXPECT_NE(gr.err.find(said + dir), std::string::npos) << gr.err;
    EXPECT_FALSE(std::filesystem::exists(base + "/g/f"));
  }
}

// A symlink planted in the destination where the relative temp dir is: rsync follows it and
// writes there; ringsync does not follow symlinks inside the destination and stops before
// anything is written (exit 11, rsync's words for a temp dir it cannot stat).
TEST(RingsyncTempDirSafety, PlantedSymlinkInTheDestinationIsNotFollowed) {
  std::string base = make_temp_dir("ringsync-tempdir-link");
  ScopedTempTree cleanup{base};
  std::filesystem::create_directories(base + "/src");
  write_file(base + "/src/f", "data\n");
  std::filesystem::create_directories(base + "/g");
  std::filesystem::create_directories(base + "/elsewhere");
  ASSERT_EQ(::symlink((base + "/elsewhere").c_str(), (base + "/g/tmp").c_str()), 0);
  RunResult gr = run_sync(ringsync_program(), {"-ai", "-T", "tmp"}, base + "/src/", base + "/g/");
  EXPECT_EQ(gr.exit_code, 11) << gr.err;
  EXPECT_NE(gr.err.find("Failed to stat temp-dir tmp: Too many levels of symbolic links"), std::string::npos) << gr.err;
  EXPECT_TRUE(items_below(base + "/elsewhere").empty());
  EXPECT_FALSE(std::filesystem::exists(base + "/g/f"));
  // The same name given as an absolute path is the user's explicit choice, and followed.
  RunResult abs = run_sync(ringsync_program(), {"-ai", "-T", base + "/g/tmp"}, base + "/src/", base + "/g/");
  EXPECT_EQ(abs.exit_code, 0) << abs.err;
  EXPECT_TRUE(std::filesystem::exists(base + "/g/f"));
  EXPECT_TRUE(items_below(base + "/elsewhere").empty()) << "a temp file was left in the temp dir";
}

}  // namespace
}  // namespace ringkit::testing
