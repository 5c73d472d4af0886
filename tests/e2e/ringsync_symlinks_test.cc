// Symlink options against the real rsync: -L, -k, --copy-unsafe-links and --safe-links on the
// source (alone and combined, with -a, -r, --delete, -H, -m, -R), -K on the destination (links
// inside DEST are followed, links out of it never written through), and symlink loops under
// -L and -k: one loop gives rsync's result exactly (40 levels, then ELOOP), two loops (which
// rsync walks for ever) end with an error.
#include <gtest/gtest.h>

#include <filesystem>

#include "support/rsync_diff.h"
#include "support/tree.h"

namespace ringkit::testing {
namespace {

namespace fsys = std::filesystem;

// The hostile tree (which has rel-link, abs-link, dangling, loop and sub/up-link) plus links to
// directories, safe and unsafe, and one whose target climbs down and up ("sub/../small").
void build_link_tree(const std::string& base) {
  std::string src = base + "/src";
  build_hostile_tree(src);
  add_hard_link_groups(src);
  fsys::create_directories(base + "/outside/inner");
  write_file(base + "/outside/f", "outside\n");
  write_file(base + "/outside/inner/g", "outside inner\n");
  fsys::create_directory_symlink("sub", src + "/dirlink");
  fsys::create_directory_symlink("../outside", src + "/outdir");
  fsys::create_directory_symlink("deeper", src + "/sub/safe-dir");
  fsys::create_symlink("sub/../small", src + "/emb");
  fsys::create_symlink("../outside/f", src + "/out-file");
  pin_recent_times(base + "/outside", 1700000000, 1000000000);
  pin_recent_times(src, 1700000000, 1000000000);
}

class RingsyncSourceLinks : public DiffRunsTest<const char*> {
 protected:
  RingsyncSourceLinks() : DiffRunsTest("ringsync-links") {}
  void SetUp() override { build_link_tree(runs_.base()); }
  std::string label() const override { return GetParam(); }
  std::vector<std::string> args() const override {
    std::vector<std::string> a = words(GetParam());
    if (!has_option(a, "R")) a.push_back("src/");
    return a;
  }
  SnapshotOptions compare() const override { return compare_options_for(words(GetParam())); }
  void change_source() override {
    fsys::remove(src_ + "/dirlink");
    fsys::create_directory_symlink("hl", src_ + "/dirlink");
    write_file(src_ + "/sub/file", "changed through a link\n");
    fsys::remove(src_ + "/rel-link");
    fsys::create_symlink("big", src_ + "/rel-link");
    write_file(runs_.base() + "/outside/inner/h", "new outside\n");
    pin_recent_times(runs_.base() + "/outside", 1700000000, 1100000000);
    pin_recent_times(src_, 1700000000, 1100000000);
  }
};

TEST_P(RingsyncSourceLinks, FirstCopyNoOpAndResyncAsRsync) { expect_runs_as_rsync(); }

TEST_P(RingsyncSourceLinks, DryRunPrintsWhatTheRealRunDoes) {
  // DEST exists: into a new one, a real run with --delete says "IO error encountered" for the
  // links that lead nowhere (rsync's too) where a dry run has no directory to say it for.
  fsys::create_directories(runs_.base() + "/g");
  expect_dry_runs_match();
}

INSTANTIATE_TEST_SUITE_P(Cases, RingsyncSourceLinks,
                         ::testing::Values("-aiL", "-aiL --delete", "-aik", "-aik --delete", "-rik",
                                           "-ai --copy-unsafe-links", "-ri --copy-unsafe-links",
                                           "-ai --safe-links", "-ai --copy-unsafe-links --safe-links",
                                           "-aiL --safe-links", "-aik --safe-links", "-aik --copy-unsafe-links",
                                           "-aiLH", "-aikH --delete", "-aiLm", "-aiL --exclude=dirlink/",
                                           "-aiLR src/./sub src/./dirlink src/./outdir",
                                           "-aikR src/dirlink/deeper src/./emb"),
                         [](const auto& param_info) { return param_test_name(param_info.param, param_info.index); });

// -K: links in DEST where the source has directories. Inside DEST they are followed (the data
// lands in what they point to; their own times are set, the mode is not, as rsync does);
// out of DEST nothing is written through them. rsync behaves the same; the trees and the
// output are compared with it, and the outside directory is checked untouched.
TEST(RingsyncDestLinks, KeepDirlinksAsRsyncAndNothingWrittenOutside) {
  for (const char* opts : {"-aiK", "-aiK --delete", "-aiK --delete-after", "-aikK", "-rtiK"}) {
    SCOPED_TRACE(opts);
    DiffRuns runs("ringsync-keep-dirlinks");
    std::string base = runs.base();
    build_link_tree(base);
    fsys::create_directories(base + "/outside2");
    write_file(base + "/outside2/keep", "untouched\n");
    for (const char* d : {"/r", "/g"}) {
      fsys::create_directories(base + d + "/real-sub");
      fsys::create_directory_symlink("real-sub", base + d + "/sub");         // inside DEST
      fsys::create_directory_symlink("../outside2", base + d + "/hl");       // out of DEST
      fsys::create_directory_symlink("nowhere", base + d + "/empty-dir");    // dangling: replaced
      write_file(base + d + "/real-sub/extra", "only in DEST\n");
      pin_recent_times(base + d, 1700000000, 1000000000);  // the same in both, whenever made
    }
    TreeState outside_before = snapshot(base + "/outside2");
    std::vector<std::string> args = words(opts);
    args.push_back("src/");
    // (Directory times are left out: what a followed link leads to keeps the time of the
    // run's last write into it, in rsync's copy as in ours; the link itself gets the time.)
    runs.run_both(args, "first run");
    runs.expect_same_trees(compare_options_for(args, false));
    runs.run_both(args, "second run");
    runs.expect_same_trees(compare_options_for(args, false));
    EXPECT_TRUE(compare_trees(outside_before, snapshot(base + "/outside2"), {}).empty()) << "written outside DEST";
  }
}

// A directory link to its own parent: under -L (and -k) rsync copies it 40 levels deep and then
// fails with ELOOP (exit 23); ringsync gives the same lines, tree and exit code.
TEST(RingsyncLinkLoops, OneLoopAsRsync) {
  for (const char* opts : {"-aiL", "-aik"}) {
    SCOPED_TRACE(opts);
    DiffRuns runs("ringsync-loop");
    fsys::create_directories(runs.base() + "/src/d");
    write_file(runs.base() + "/src/d/f", "f\n");
    fsys::create_directory_symlink("..", runs.base() + "/src/d/up");
    pin_recent_times(runs.base() + "/src", 1700000000, 1000000000);
    std::vector<std::string> args = words(opts);
    args.push_back("src/");
    runs.run_both(args, "first copy");
    runs.expect_same_trees(compare_options_for(args, false));
  }
}

// Two loops in one directory: rsync's walk doubles at every level (2^40 paths) and never ends.
// ringsync ends (the test's timeout is the proof), reports the loops and exits 23, and every
// level it copied matches the source.
TEST(RingsyncLinkLoops, TwoLoopsEndWithAnError) {
  DiffRuns runs("ringsync-loops");
  fsys::create_directories(runs.base() + "/src/d");
  write_file(runs.base() + "/src/d/f", "f\n");
  fsys::create_directory_symlink("..", runs.base() + "/src/d/up");
  fsys::create_directory_symlink(".", runs.base() + "/src/here");
  RunResult g = runs.run_ringsync({"-aL", "src/"}, runs.base() + "/g/");
  EXPECT_EQ(g.exit_code, 23) << g.err;
  EXPECT_NE(g.err.find("Too many levels of symbolic links"), std::string::npos) << g.err;
  EXPECT_NE(g.err.find("symlink loops"), std::string::npos) << g.err;
  // Whatever was copied is the source's file, under a path that resolves in the source.
  size_t files = 0;
  for (auto it = fsys::recursive_directory_iterator(runs.base() + "/g"); it != fsys::recursive_directory_iterator(); ++it) {
    if (!it->is_regular_file()) continue;
    ++files;
    EXPECT_EQ(it->path().filename(), "f");
  }
  EXPECT_GT(files, 40u);
}

}  // namespace
}  // namespace ringkit::testing
