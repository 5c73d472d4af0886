// -m (--prune-empty-dirs) against the real rsync: chains of empty directories, directories
// emptied by filters, directories that hold only a symlink or a FIFO (which count, even when
// not copied), a protect rule that keeps one, with --delete, -H, -n. First copy, no-op and
// re-sync after changes (a directory emptied, another filled), compared with rsync.
#include <gtest/gtest.h>

#include <filesystem>

#include "support/rsync_diff.h"
#include "support/tree.h"

namespace ringkit::testing {
namespace {

class RingsyncPrune : public OptionsOnSrcTest<const char*> {
 protected:
  RingsyncPrune() : OptionsOnSrcTest("ringsync-prune") {}
  void SetUp() override {
    build_hostile_tree(src_);
    add_hard_link_groups(src_);
    namespace fsys = std::filesystem;
    fsys::create_directories(src_ + "/chain/a/b/c");
    fsys::create_directories(src_ + "/keep/a/b");
    write_file(src_ + "/keep/a/b/file.pdf", "pdf\n");
    fsys::create_directories(src_ + "/only-link");
    fsys::create_directory_symlink("../sub", src_ + "/only-link/link");
    fsys::create_directories(src_ + "/txt-only/x");
    write_file(src_ + "/txt-only/x/notes.txt", "txt\n");
    pin_recent_times(src_, 1700000000, 1000000000);
  }
  void change_source() override {
    std::filesystem::remove(src_ + "/keep/a/b/file.pdf");
    write_file(src_ + "/chain/a/b/c/now-a-file", "fills the chain\n");
    std::filesystem::remove_all(src_ + "/sub/deeper");
    std::filesystem::create_directories(src_ + "/sub/deeper/empty");
    pin_recent_times(src_, 1700000000, 1100000000);
  }
};

TEST_P(RingsyncPrune, FirstCopyNoOpAndResyncAsRsync) { expect_runs_as_rsync(); }

TEST_P(RingsyncPrune, DryRunPrintsWhatTheRealRunDoes) { expect_dry_runs_match(); }

INSTANTIATE_TEST_SUITE_P(Cases, RingsyncPrune,
                         ::testing::Values("-aim", "-aim --delete", "-rim", "-rim --delete",
                                           "-aim --include=*/ --include=*.pdf --exclude=*",
                                           "-aim --delete --include=*/ --include=*.pdf --exclude=*",
                                           "-aim -f P_chain/ --include=*/ --include=*.pdf --exclude=*",
                                           "-aim --exclude=*.txt --exclude=deeper/", "-aim --delete-after",
                                           "-aimH --delete", "-aimx"),
                         [](const auto& param_info) { return param_test_name(param_info.param, param_info.index); });

}  // namespace
}  // namespace ringkit::testing
