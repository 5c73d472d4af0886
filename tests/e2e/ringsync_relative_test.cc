// -R (--relative) against the real rsync: named items with their implied directories, "/./"
// marking where the kept path starts, "./x" (the root itself implied), absolute sources,
// several bases at once, --no-implied-dirs, with -i, -n, --delete, filters, -H and -m. Each
// case: a first copy, a no-op run and a run after changes, compared line by line and tree by
// tree with rsync; and ringsync's dry run against its real run.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "support/rsync_diff.h"
#include "support/tree.h"

namespace ringkit::testing {
namespace {

struct RelativeCase {
  const char* options;
  const char* sources;  // relative to the base directory; ABS stands for its absolute path
};

class RingsyncRelative : public DiffRunsTest<RelativeCase> {
 protected:
  RingsyncRelative() : DiffRunsTest("ringsync-relative") {}
  void SetUp() override {
    build_diff_source(src_);
    if (absolute() || root_implied()) {
      // The implied /tmp and the test's own directory (which holds both destinations, and is
      // "./" for "./src/sub") change while the tools run: their lines are left out.
      std::string own = " " + runs_.base() + "/";
      runs_.ignore_lines([own](const std::string& line) {
        return line.ends_with(" /tmp/") || line.ends_with(own) || (line.starts_with(".d") && line.ends_with(" ./"));
      });
    }
  }

  std::string label() const override { return std::string(GetParam().options) + " " + GetParam().sources; }
  std::vector<std::string> args() const override {
    std::vector<std::string> a = words(GetParam().options);
    for (std::string s : words(GetParam().sources)) {
      if (s.starts_with("ABS")) s = runs_.base() + s.substr(3);
      a.push_back(s);
    }
    return a;
  }
  bool absolute() const { return std::string(GetParam().sources).find("ABS") != std::string::npos; }
  bool root_implied() const { return std::string(GetParam().sources).starts_with("./"); }
  SnapshotOptions compare() const override {
    std::vector<std::string> opts = words(GetParam().options);
    // Implied directories that are not items are made "now"; with absolute sources the implied
    // /tmp and the test's own directory (which holds both destinations) change while the two
    // tools run, so their times cannot be compared either.
    return compare_options_for(opts, !has_option(opts, "--no-implied-dirs") && !absolute() && !root_implied());
  }
  // Contents, modes, a new file, a removed one, a directory that became a file.
  void change_source() override {
    write_file(src_ + "/sub/file", "changed in sub\n");
    write_file(src_ + "/sub/new-file", "new\n");
    ::chmod((src_ + "/sub").c_str(), 0750);
    ::chmod((src_ + "/hl").c_str(), 0700);
    std::filesystem::remove(src_ + "/hl/two/pair-2");
    std::filesystem::remove_all(src_ + "/sub/deeper");
    write_file(src_ + "/sub/deeper", "a file where a directory was\n");
    write_file(src_ + "/small", "changed small\n");
    pin_recent_times(src_, 1700000000, 1100000000);
  }
};

TEST_P(RingsyncRelative, FirstCopyNoOpAndResyncAsRsync) { expect_runs_as_rsync(); }

TEST_P(RingsyncRelative, DryRunPrintsWhatTheRealRunDoes) { expect_dry_runs_match(); }

INSTANTIATE_TEST_SUITE_P(
    Cases, RingsyncRelative,
    ::testing::Values(RelativeCase{"-aiR", "src/sub src/small src/hl/two"},
                      RelativeCase{"-aiR --delete", "src/./sub src/./hl"},
                      RelativeCase{"-aiR --delete-after", "src/./sub src/hl/./two"},
                      RelativeCase{"-aiR --delete-before", "src/./sub/deeper src/./hl"},
                      RelativeCase{"-aiR --no-implied-dirs", "src/sub/deeper src/hl/one/x"},
                      RelativeCase{"-aiRH", "src/hl/one src/hl/two src/big src/sub"},
                      RelativeCase{"-aiR --exclude=pair-2 --exclude=deeper/", "src/sub src/hl"},
                      RelativeCase{"-aiR --exclude=two", "src/hl/two src/hl/z"},
                      RelativeCase{"-aiR", "./src/sub src/fifo"},
                      RelativeCase{"-dptiR", "src/sub src/hl/one/x src/hl"},
                      RelativeCase{"-lptiR", "src/sub src/small"},
                      RelativeCase{"-aiRm --exclude=leaf", "src/sub src/empty-dir src/hl/two"},
                      RelativeCase{"-aiR", "ABS/src/sub ABS/src/small"},
                      RelativeCase{"-aiR", "ABS/src/hl src/sub"},
                      RelativeCase{"-aiR", "src/./sub src/hl/./two src/hl/./one"},
                      RelativeCase{"-aiR", "src/nope src/sub/nope2 src/small"},
                      RelativeCase{"-aiR", "src/sub/../small"},
                      RelativeCase{"-aiR", "src/./"},
                      RelativeCase{"-riR", "src/sub/ src/hl/one/x"},
                      RelativeCase{"-aiRc --delete", "src/sub src/sub/deeper src/sub/file"}),
    [](const auto& param_info) {
      return param_test_name(std::string(param_info.param.options) + "_" + param_info.param.sources, param_info.index);
    });

// An implied directory that is a symlink in the destination: replaced by a real directory as
// rsync does, or, with --no-implied-dirs, followed when it stays inside DEST. One that leads
// out of DEST is never written through (rsync refuses it as well).
TEST(RingsyncRelativeDestLinks, ImpliedDirectoryLinksAsRsync) {
  for (const char* no_implied : {"", "--no-implied-dirs"}) {
    DiffRuns runs("ringsync-relative-links");
    std::string base = runs.base();
    std::filesystem::create_directories(base + "/src/a/b");
    write_file(base + "/src/a/b/f", "f\n");
    write_file(base + "/src/a/g", "g\n");
    std::filesystem::create_directories(base + "/outside");
    for (const char* d : {"/r", "/g"}) {
      std::filesystem::create_directories(base + d + "/src/real");
      std::filesystem::create_directory_symlink("real", base + d + "/src/a");
      std::filesystem::create_directories(base + d + "/x");
      std::filesystem::create_directory_symlink("../../outside", base + d + "/x/src");
    }
    // One time for everything made above: the two destinations must not differ by the second
    // their setup straddled (a "src/" made a second later is itemized as a time change).
    pin_recent_times(base, 0, 1700000000);
    std::vector<std::string> args = {"-aiR"};
    if (*no_implied) args.push_back(no_implied);
    args.push_back("src/a/b");
    runs.run_both(args, std::string("into a link inside DEST ") + no_implied);
    runs.expect_same_trees(compare_options_for(args, false));
    // The same, but into DEST/x, where the implied "src" leads out of DEST.
    RunResult r = runs.run_rsync(args, base + "/r/x/");
    RunResult g = runs.run_ringsync(args, base + "/g/x/");
    expect_same_run(r, g, std::string("into a link out of DEST ") + no_implied);
    EXPECT_TRUE(std::filesystem::is_empty(base + "/outside")) << "written outside DEST";
    runs.expect_same_trees(compare_options_for(args, false));
  }
}

// -R from several bases with per-directory merge files (-F, a dir-merge rule): rsync changes
// into each base and reads the files of a directory there, implied directories included, and
// anchors their "/" rules there. The transfer root holds no merge file here: rsync reads that
// one for the first top-level directory alone (see BUGS). (Regression test: ringsync read every
// directory's files below the first base.)
TEST(RingsyncRelativeMergeFiles, EachBaseHasItsOwnPerDirectoryFiles) {
  DiffRuns runs("ringsync-relative-merge");
  std::string base = runs.base();
  for (const char* d : {"/a/x/sub", "/b/y/sub/anch-dir", "/b/z"}) std::filesystem::create_directories(base + d);
  write_file(base + "/a/x/.rsync-filter", "- skip*\n- /anch*\n");
  write_file(base + "/b/y/.rsync-filter", "- drop*\n- /anch*\n");
  write_file(base + "/b/y/sub/.rsync-filter", "- deep*\n");
  write_file(base + "/b/z/.rsync-filter", "- zed*\n");
  for (const char* d : {"/a/x", "/a/x/sub", "/b/y", "/b/y/sub", "/b/z"}) {
    for (const char* name : {"skip1", "drop1", "deep1", "zed1", "anch1", "keep"}) write_file(base + d + "/" + name, name);
  }
  write_file(base + "/b/y/sub/anch-dir/f", "f\n");
  pin_recent_times(base, 0, 1700000000);
  for (const char* spec : {"-aiRF a/./x b/./y", "-aiRF b/./y a/./x b/./z", "-aiRF a/./x/sub b/./y/sub",
                           "-aiR -FF a/./x b/./y/sub", "-aiR --filter=dir-merge_.rsync-filter a/./x b/./y",
                           "-aiRmF a/./x b/./y", "-aiRHF a/./x b/./y"}) {
    for (const char* d : {"/r", "/g"}) {
      remove_tree(base + d);
      std::filesystem::create_directories(base + d + "/y/sub");
      write_file(base + d + "/y/sub/deep-extra", "protected from --delete by b/y/sub's file\n");
      pin_recent_times(base + d, 0, 1700000000);
    }
    std::vector<std::string> args = words(spec);
    runs.run_both(args, spec);
    runs.run_both(args, std::string(spec) + ", a no-op run");
    args.insert(args.begin() + 1, "--delete");
    runs.run_both(args, std::string(spec) + " --delete");
    runs.expect_same_trees(compare_options_for(args, false));
  }
}

}  // namespace
}  // namespace ringkit::testing
