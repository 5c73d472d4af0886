// --files-from against the real rsync: a list with the lines rsync treats specially (leading
// and trailing slashes, "..", ".", blank lines, comments, CR+LF, missing names, hostile names),
// read from a file, from stdin and NUL-separated (-0); with -a (no recursion), -r, --delete,
// filters, -H, -m and --no-implied-dirs. First copy, no-op and re-sync after changes, compared
// line by line and tree by tree; ringsync's dry run against its real run.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "support/rsync_diff.h"
#include "support/tree.h"

namespace ringkit::testing {
namespace {

// The list, one name a line (the -0 variant is built from the same names).
const std::vector<std::string> kNames = {
    "sub/file",        "/small",     "../big",     "hl/two/",  "# a comment", "",        "; another",
    "sub/deeper/leaf", "nope",       "sub/nope2",  "./fifo",   "rel-link",    "hl//one/x", "sub/../space name",
    "hl/z",            "-leading-dash", "empty-dir", "dangling", "sub/up-link", "hl/two/..",
};

struct ListCase {
  const char* options;
  const char* list;  // "lf", "crlf", "nul" or "stdin"
};

class RingsyncFilesFrom : public DiffRunsTest<ListCase> {
 protected:
  RingsyncFilesFrom() : DiffRunsTest("ringsync-files-from") {}
  void SetUp() override {
    build_diff_source(src_);
    std::string kind = GetParam().list;
    std::string text;
    for (const std::string& n : kNames) text += n + (kind == "nul" ? std::string(1, '\0') : kind == "crlf" ? "\r\n" : "\n");
    if (kind == "nul") text += std::string("new\nline") + '\0';  // only NUL-separated lists can hold it
    write_file(runs_.base() + "/list", text);
  }

  std::string label() const override { return std::string(GetParam().options) + " list=" + GetParam().list; }
  std::vector<std::string> args() const override {
    std::vector<std::string> a = words(GetParam().options);
    std::string kind = GetParam().list;
    if (kind == "nul") a.push_back("-0");
    a.push_back(kind == "stdin" ? "--files-from=-" : "--files-from=list");
    a.push_back("src");
    return a;
  }
  std::string stdin_path() const override {
    return std::string(GetParam().list) == "stdin" ? runs_.base() + "/list" : std::string();
  }
  SnapshotOptions compare() const override {
    std::vector<std::string> opts = words(GetParam().options);
    return compare_options_for(opts, !has_option(opts, "--no-implied-dirs"));
  }

  void change_source() override {
    write_file(src_ + "/sub/file", "changed in sub\n");
    write_file(src_ + "/hl/two/new", "new in a listed directory\n");
    ::chmod((src_ + "/hl/two").c_str(), 0700);
    std::filesystem::remove(src_ + "/hl/two/pair-2");
    std::filesystem::remove(src_ + "/small");
    std::filesystem::create_directories(src_ + "/small/inside");
    write_file(src_ + "/small/inside/f", "a directory where a file was\n");
    pin_recent_times(src_, 1700000000, 1100000000);
  }
};

TEST_P(RingsyncFilesFrom, FirstCopyNoOpAndResyncAsRsync) { expect_runs_as_rsync(); }

TEST_P(RingsyncFilesFrom, DryRunPrintsWhatTheRealRunDoes) { expect_dry_runs_match(); }

INSTANTIATE_TEST_SUITE_P(
    Cases, RingsyncFilesFrom,
    ::testing::Values(ListCase{"-ai", "lf"}, ListCase{"-air", "lf"}, ListCase{"-ai", "crlf"},
                      ListCase{"-ai", "nul"}, ListCase{"-air", "stdin"}, ListCase{"-ai --delete", "lf"},
                      ListCase{"-air --delete", "lf"}, ListCase{"-air --delete-after", "lf"},
                      ListCase{"-ai --no-implied-dirs", "lf"}, ListCase{"-aiH", "lf"}, ListCase{"-airH", "lf"},
                      ListCase{"-aim", "lf"}, ListCase{"-airm", "lf"}, ListCase{"-ai --exclude=pair-*", "lf"},
                      ListCase{"-air --exclude=two/ --exclude=leaf", "lf"}, ListCase{"-ril", "lf"},
                      ListCase{"-aiL", "lf"},
                      // --no-relative: each name is an item of DEST's root, read from its own
                      // directory; the first of two names with the same last component wins.
                      ListCase{"-ai --no-R", "lf"}, ListCase{"-air --no-R", "lf"},
                      ListCase{"-air --no-relative --delete", "lf"}, ListCase{"-ai --no-R --delete", "crlf"},
                      ListCase{"-aiH --no-R", "nul"}, ListCase{"-airH --no-R", "stdin"},
                      ListCase{"-airm --no-R", "lf"}, ListCase{"-air --no-R --exclude=pair-*", "lf"}),
    [](const auto& param_info) {
      return param_test_name(std::string(param_info.param.options) + "_" + param_info.param.list, param_info.index);
    });

// rsync stops before anything is touched when the list cannot be read (exit 1), and rejects
// --files-from with more than one source (exit 1); an empty list makes only DEST.
TEST(RingsyncFilesFromErrors, UnreadableListEmptyListAndTwoSources) {
  DiffRuns runs("ringsync-files-from-errors");
  std::filesystem::create_directories(runs.base() + "/src/d");
  write_file(runs.base() + "/empty-list", "");
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"-a", "--files-from=missing-list", "src"},
                                             {"-a", "--files-from=empty-list", "src", "src"},
                                             {"-ai", "--files-from=empty-list", "src"}}) {
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    std::filesystem::remove_all(runs.base() + "/r");
    std::filesystem::remove_all(runs.base() + "/g");
    runs.run_both(args, joined);
    EXPECT_EQ(std::filesystem::exists(runs.base() + "/g"), std::filesystem::exists(runs.base() + "/r")) << joined;
  }
}

// --no-relative with a list that names items in many directories (each one a base of its own),
// one of them missing: rsync's sender fails to change into it (exit 23) and so deletes nothing.
// Names from different directories with the same last component: the first wins.
TEST(RingsyncFilesFromNoRelative, ManyDirectoriesOneMissingAsRsync) {
  DiffRuns runs("ringsync-no-relative");
  std::string list;
  for (int i = 0; i < 300; ++i) {
    std::string d = "src/d" + std::to_string(i);
    std::filesystem::create_directories(runs.base() + "/" + d + "/sub");
    write_file(runs.base() + "/" + d + "/f" + std::to_string(i), "file " + std::to_string(i) + "\n");
    write_file(runs.base() + "/" + d + "/same", "same from " + std::to_string(i) + "\n");
    write_file(runs.base() + "/" + d + "/sub/g", "below " + std::to_string(i) + "\n");
    list += "d" + std::to_string(i) + "/f" + std::to_string(i) + "\n";
    list += "d" + std::to_string(i) + (i % 2 ? "/same\n" : "/sub\n");
  }
  write_file(runs.base() + "/list", list);
  write_file(runs.base() + "/list-gone", list + "gone/x\nd7/\n");
  pin_recent_times(runs.base(), 1700000000, 1000000000);
  for (const char* options : {"-ai", "-air", "-air --delete"}) {
    for (const char* which : {"list", "list-gone"}) {
      std::vector<std::string> args = words(options);
      args.insert(args.end(), {"--no-R", std::string("--files-from=") + which, "src"});
      std::string what = std::string(options) + " " + which;
      std::filesystem::create_directories(runs.base() + "/r/extra");
      std::filesystem::create_directories(runs.base() + "/g/extra");
      runs.run_both(args, what);
      runs.expect_same_trees(compare_options_for(words(options)));
      remove_tree(runs.base() + "/r");
      remove_tree(runs.base() + "/g");
    }
  }
}

// Each directory of a --no-relative list stays open for the run: past the open-files limit the
// run is refused before anything is touched, with what to do about it (rsync has no such limit).
TEST(RingsyncFilesFromNoRelative, TooManyDirectoriesForTheOpenFilesLimitIsRefusedUpFront) {
  std::string base = make_temp_dir("ringsync-no-relative-limit");
  std::string list;
  for (int i = 0; i < 200; ++i) {
    std::filesystem::create_directories(base + "/src/d" + std::to_string(i));
    write_file(base + "/src/d" + std::to_string(i) + "/f", "f\n");
    list += "d" + std::to_string(i) + "/f\n";
  }
  write_file(base + "/list", list);
  RunResult r = run_in({"prlimit", "--nofile=512:512", ringsync_program(), "-a", "--no-R", "--files-from=list", "src",
                        "dst/"},
                       base);
  EXPECT_EQ(r.exit_code, 11) << r.err;
  EXPECT_NE(r.err.find("names items in 201 directories"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("ulimit -n"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(base + "/dst"));
  // With the limit raised, the same list is copied.
  r = run_in({"prlimit", "--nofile=4096:4096", ringsync_program(), "-a", "--no-R", "--files-from=list", "src", "dst/"},
             base);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::filesystem::exists(base + "/dst/f"));
  remove_tree(base);
}

}  // namespace
}  // namespace ringkit::testing
