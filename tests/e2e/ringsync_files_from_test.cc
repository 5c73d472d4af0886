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
                      ListCase{"-aiL", "lf"}),
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

}  // namespace
}  // namespace ringkit::testing
