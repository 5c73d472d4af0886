// --backup-dir (with -b, --suffix, --delete, --inplace, -H, -X, --delay-updates) against the
// real rsync. Both tools copy the hostile tree, then sync it again after rounds of changes
// with the backup options, each into its own destination and its own backup directory; the -i
// output is compared line for line, the destinations and the backup hierarchies attribute by
// attribute (backup directories' times aside: they are made "now" and then written into).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "support/rsync_diff.h"
#include "support/tree.h"

namespace ringkit::testing {
namespace {

class RingsyncBackupDir : public RsyncDiffTest {
 protected:
  void SetUp() override {
    make_source("ringsync-backup");
    // "BK" is an absolute backup dir per tool, "RELBK" the same as seen from the destination,
    // "SHMBK" one on another file system when /dev/shm is one.
    shm_ = ::access("/dev/shm", W_OK) == 0 ? make_temp_dir_in("/dev/shm", "ringsync-backup") : base_;
    parse_options([this](const std::string& tag) -> std::vector<std::pair<std::string, std::string>> {
      return {{"RELBK", "../bk-" + tag}, {"SHMBK", shm_ + "/bk-" + tag}, {"BK", base_ + "/bk-" + tag}};
    });
  }
  void TearDown() override {
    RsyncDiffTest::TearDown();
    if (shm_ != base_) remove_tree(shm_);
  }

  // Where each tool's backups went.
  std::string backup_root(int side) const {
    std::string tag = side == 0 ? "r" : "g";
    if (GetParam().find("SHMBK") != std::string::npos) return shm_ + "/bk-" + tag;
    if (GetParam().find("=bk") != std::string::npos) return base_ + "/" + tag + "/bk";
    return base_ + "/bk-" + tag;
  }

  void run_both(const std::string& what) {
    SCOPED_TRACE(what + " with " + GetParam());
    run_tools_and_compare_output();
    SnapshotOptions cmp;
    cmp.xattrs = has("X");
    cmp.acls = has("A");
    cmp.dir_times = !has("b") && !has("--backup") && GetParam().find("=bk") == std::string::npos;
    expect_same_destinations(cmp);
    cmp.dir_times = false;
    for (const auto& d : compare_trees(snapshot(backup_root(0)), snapshot(backup_root(1)), cmp)) {
      ADD_FAILURE() << "backups, ringsync vs rsync: " << d;
    }
  }

  // Content, size, mode and owner changes, a symlink retargeted, deletions (a file, a
  // directory with contents), a directory replaced by a file, a hard-link group member
  // rewritten.
  void change_source(int round) {
    write_file(src_ + "/small", "changed contents, round " + std::to_string(round) + "\n");
    write_file(src_ + "/sub/file", "sub file, round " + std::to_string(round) + "\n");
    write_file(src_ + "/hl/two/pair-1", "pair, round " + std::to_string(round) + "\n");
    ::chmod((src_ + "/odd-mode").c_str(), round % 2 == 0 ? 0640 : 0604);
    std::filesystem::remove(src_ + "/rel-link");
    ::symlink(("target-" + std::to_string(round)).c_str(), (src_ + "/rel-link").c_str());
    if (round == 1) {
      std::filesystem::remove(src_ + "/space name");
      std::filesystem::remove_all(src_ + "/sub/deeper");
      write_file(src_ + "/sub/deeper", "a file where a directory was");
    }
    pin_recent_times(src_, 1700000000, 1000000000 + round * 1000);
  }

  std::string shm_;
};

TEST_P(RingsyncBackupDir, ReplacedAndDeletedItemsAreKeptAsRsyncKeepsThem) {
  run_both("first copy");
  run_both("no-op re-run");
  change_source(1);
  run_both("re-sync after changes");
  change_source(2);
  run_both("second re-sync: older backups are replaced");
  // Not vacuous: the replaced file was kept somewhere.
  bool kept = false;
  for (const auto& [path, item] : snapshot(backup_root(1))) kept |= path.starts_with("small") && item.type == 'f';
  for (const auto& [path, item] : snapshot(base_ + "/g")) kept |= path.starts_with("small~") && item.type == 'f';
  EXPECT_TRUE(kept) << "no backup of the replaced file \"small\"";
}

// A dry run prints what rsync's prints, and makes no backup.
TEST_P(RingsyncBackupDir, DryRunPrintsWhatRsyncsDryRunPrintsAndKeepsNothing) {
  run_both("first copy");
  change_source(1);
  std::vector<std::string> r_dry = options_[0], g_dry = options_[1];
  r_dry.insert(r_dry.begin(), "-n");
  g_dry.insert(g_dry.begin(), "-n");
  TreeState dest = snapshot(base_ + "/g"), backups = snapshot(backup_root(1));
  expect_same_run(run_sync("rsync", r_dry, src_ + "/", base_ + "/r/"),
                     run_sync(ringsync_program(), g_dry, src_ + "/", base_ + "/g/"), "");
  EXPECT_TRUE(compare_trees(dest, snapshot(base_ + "/g"), {}).empty()) << "a dry run changed the destination";
  EXPECT_TRUE(compare_trees(backups, snapshot(backup_root(1)), {}).empty()) << "a dry run made backups";
}

INSTANTIATE_TEST_SUITE_P(Options, RingsyncBackupDir,
                         ::testing::Values("-ai --backup-dir=BK", "-ai --backup-dir=RELBK --delete",
                                           "-ai -b --backup-dir=RELBK --suffix=.old --delete",
                                           "-ai --backup-dir=bk --delete", "-aiH --backup-dir=BK --delete",
                                           "-ai --backup-dir=SHMBK --delete", "-aiX --backup-dir=BK --delete",
                                           "-ai --backup-dir=BK --delay-updates", "-ai --inplace -b",
                                           "-ai --backup-dir=BK --delete-after --suffix=~"), ParamTestName());

}  // namespace
}  // namespace ringkit::testing
