// -R (--relative) against the real rsync: named items with their implied directories, "/./"
// marking where the kept path starts, "./x" (the root itself implied), absolute sources,
// several bases at once, --no-implied-dirs, with -i, -n, --delete, filters, -H and -m. Each
// case: a first copy, a no-op run and a run after changes, compared line by line and tree by
// tree with rsync; and ringsync's dry run against its real run.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

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

// The paths rsync's and ringsync's "link_stat ... failed" lines name, sorted (rsync names them
// by their absolute path, ringsync as given; both are cut down to the part below `base`).
std::vector<std::string> link_stat_failures(const std::string& err, const std::string& base) {
  std::vector<std::string> out;
  std::istringstream in(err);
  for (std::string line; std::getline(in, line);) {
    size_t at = line.find("link_stat \"");
    if (at == std::string::npos) continue;
    std::string rest = line.substr(at + 11);
    if (rest.starts_with(base + "/")) rest = rest.substr(base.size() + 1);
    out.push_back(rest);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// A named item that the list also names things below (-R a/x a/x/f): a directory named
// without -r is skipped as an item but sent as their implied directory; a symlink to a
// directory stands for that directory; below a file, a missing name or a symlink to nowhere,
// each name below fails on its own ("Not a directory"), also where -r walks the directory whole;
// and items from a second base below a directory sent whole from the first are sent too.
// (Regression tests: ringsync sent nothing below a skipped or linked named directory, said
// nothing and exited 0 for names below a file or missing inside a -r directory, and reported
// names from another base as missing; and under -r kept a symlink met in a directory walked
// whole as a symlink, with nothing below it, where rsync sends the directory it leads to.)
TEST(RingsyncRelativeNamesBelow, NamedItemsWithNamesBelowThemAsRsync) {
  DiffRuns runs("ringsync-relative-below");
  std::string base = runs.base();
  std::filesystem::create_directories(base + "/a/x/sub");
  std::filesystem::create_directories(base + "/b/x");
  for (const char* f : {"a/x/f", "a/x/other", "a/x/sub/h", "b/x/bf"}) write_file(base + "/" + f, f);
  std::filesystem::create_directory_symlink("x", base + "/a/lx");
  std::filesystem::create_symlink("nowhere", base + "/a/dang");
  std::filesystem::create_symlink("x/f", base + "/a/lf");
  pin_recent_times(base, 0, 1700000000);
  for (const char* spec : {"-iR a/x a/x/f", "-iR a/x/ a/x/sub/h", "-niR a/x a/x/f", "-iR a/lx a/lx/f",
                           "-ilR a/lx a/lx/f", "-irR a/lx a/lx/f", "-iR a/x/f/zz a/x/other",
                           "-iR a/x/f/zz/yy a/x/f/q", "-iR a/nonexist/f a/dang/f", "-irR a/x/f/zz a/x",
                           "-irR a/x/nothere/zz a/x/nothere2 a/x", "-aiR a/./x b/./x/bf",
                           "-aiR b/./x/bf a/./x", "-idR a/./x/ b/./x/bf", "-idR a/./ b/./x/bf",
                           "-irR a/./x/f/zz b/./x", "-irR a/./ a/./lx/f", "-aiR a/./ a/./lx/f",
                           "-aiR a/./ a/./lx/sub/h a/./lx/f", "-aiR a/./ a/./dang/f",
                           "-aiR a/./ a/./lf/zz", "-aiR a/./x/ a/./lx/other"}) {
    SCOPED_TRACE(spec);
    for (const char* d : {"/r", "/g"}) remove_tree(base + d);
    std::vector<std::string> args = words(spec);
    RunResult r = runs.run_rsync(args, base + "/r/");
    RunResult g = runs.run_ringsync(args, base + "/g/");
    expect_same_run(r, g, spec);
    EXPECT_EQ(link_stat_failures(g.err, base), link_stat_failures(r.err, base))
        << "rsync stderr:\n" << r.err << "ringsync stderr:\n" << g.err;
    SnapshotOptions cmp = compare_options_for(args, false);
    cmp.times = has_option(args, "t") || has_option(args, "a");  // without -t they are the writes'
    runs.expect_same_trees(cmp);
  }
}

}  // namespace
}  // namespace ringkit::testing
