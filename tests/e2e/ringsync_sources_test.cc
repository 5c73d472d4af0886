// Several sources without -R against the real rsync.
// rsync sends the items of all its sources as one file list, in its order (not one source
// after the other), and a directory that several sources send whole ("a/ b/ DEST", "a/x b/x
// DEST") holds the union of their entries, the first source's where a name is in several; so
// --delete keeps what any of them holds. Each case: a first copy, a no-op run and a run after
// changes, compared line by line and tree by tree with rsync; and ringsync's dry run against
// its real run.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "support/rsync_diff.h"
#include "support/tree.h"

namespace ringkit::testing {
namespace {

struct SourcesCase {
  const char* options;
  const char* sources;
};

class RingsyncSources : public DiffRunsTest<SourcesCase> {
 protected:
  RingsyncSources() : DiffRunsTest("ringsync-sources"), other_(runs_.base() + "/other") {}
  void SetUp() override {
    build_diff_source(src_);
    // A second tree that shares some directories with the first: "sub" and "hl/two" in both,
    // sub/file in both with other contents (the first source's wins), and a hard link to one
    // of src's files.
    std::filesystem::create_directories(other_ + "/sub/deeper");
    std::filesystem::create_directories(other_ + "/hl/two");
    std::filesystem::create_directories(other_ + "/only-other/inner");
    // Empty in src, not in other: -m keeps it for other's file.
    std::filesystem::create_directories(src_ + "/empty-here/deeper");
    std::filesystem::create_directories(other_ + "/empty-here/deeper");
    write_file(other_ + "/empty-here/deeper/f", "f\n");
    write_file(other_ + "/sub/file", "other's sub/file, longer than src's\n");
    write_file(other_ + "/sub/only-in-other", "o\n");
    write_file(other_ + "/sub/deeper/other-leaf", "leaf\n");
    write_file(other_ + "/hl/two/other-y", "y\n");
    write_file(other_ + "/only-other/inner/f", "f\n");
    write_file(other_ + "/small", "other's small\n");
    write_file(other_ + "/top-file", "t\n");
    ASSERT_EQ(::link((src_ + "/big").c_str(), (other_ + "/big-link").c_str()), 0);
    pin_recent_times(runs_.base(), 1700000000, 1000000000);
  }

  std::string label() const override { return std::string(GetParam().options) + " " + GetParam().sources; }
  std::vector<std::string> args() const override {
    std::vector<std::string> a = words(GetParam().options);
    for (const std::string& s : words(GetParam().sources)) a.push_back(s);
    return a;
  }
  SnapshotOptions compare() const override { return compare_options_for(words(GetParam().options)); }
  // In both trees: contents, a new file, a removed one, a directory that became a file, and
  // the other way round.
  void change_source() override {
    write_file(src_ + "/sub/file", "changed in src\n");
    write_file(other_ + "/sub/only-in-other", "changed in other\n");
    write_file(other_ + "/sub/new-in-other", "new\n");
    std::filesystem::remove(other_ + "/hl/two/other-y");
    std::filesystem::remove_all(other_ + "/only-other/inner");
    write_file(other_ + "/only-other/inner", "a file where a directory was\n");
    std::filesystem::remove(other_ + "/top-file");
    std::filesystem::create_directories(other_ + "/top-file");
    ::chmod((other_ + "/sub").c_str(), 0750);
    pin_recent_times(runs_.base(), 1700000000, 1100000000);
  }

  std::string other_;
};

TEST_P(RingsyncSources, FirstCopyNoOpAndResyncAsRsync) { expect_runs_as_rsync(); }

TEST_P(RingsyncSources, DryRunPrintsWhatTheRealRunDoes) { expect_dry_runs_match(); }

INSTANTIATE_TEST_SUITE_P(
    Cases, RingsyncSources,
    ::testing::Values(SourcesCase{"-ai", "src/sub src/small src/hl other/top-file"},
                      SourcesCase{"-ai", "src/ other/"},
                      SourcesCase{"-ai --delete", "src/ other/"},
                      SourcesCase{"-ai --delete-after", "other/ src/"},
                      SourcesCase{"-ai --delete-before", "src/sub other/sub src/hl/two/"},
                      SourcesCase{"-ai --delete-delay", "src/sub/ other/sub/ src/empty-dir/ other/only-other"},
                      SourcesCase{"-aiH --delete", "src/ other/"},
                      SourcesCase{"-aiH", "other/big-link src/sub src/big"},
                      SourcesCase{"-ai --exclude=file --exclude=/hl", "src/ other/"},
                      SourcesCase{"-ai --delete -m --exclude=*leaf", "src/sub other/sub"},
                      SourcesCase{"-ai -m", "src/ other/"}, SourcesCase{"-aiH -m --delete", "src/ other/"},
                      SourcesCase{"-dpti", "other/ src/sub src/small"},
                      // Directories skipped without -r or -d: noted in the order of the arguments.
                      SourcesCase{"-lpti", "src/sub src/ other/hl src/small"},
                      // "dir/.." is the contents of dir/.. (rsync's "dir/../."), never an item
                      // named ".." written above DEST.
                      SourcesCase{"-ai", "src/sub/.."},
                      SourcesCase{"-ai --delete", "other/hl/two/.. src/sub/.."}),
    [](const auto& param_info) {
      return param_test_name(std::string(param_info.param.options) + "_" + param_info.param.sources, param_info.index);
    });

// --out-format's %f names each item by the source it came from ("SRC/NAME" as rsync's sender
// has it), also where several sources are merged into one directory.
TEST(RingsyncSourcesOutFormat, SenderPathIsTheItemsOwnSource) {
  DiffRuns runs("ringsync-sources-f");
  std::string base = runs.base();
  std::filesystem::create_directories(base + "/a/d");
  std::filesystem::create_directories(base + "/b/d");
  write_file(base + "/a/d/one", "1\n");
  write_file(base + "/b/d/two", "2\n");
  write_file(base + "/b/three", "3\n");
  pin_recent_times(base, 0, 1700000000);
  for (const char* spec : {"-a --out-format=%f|%n a/d b/d b/three", "-a --out-format=%f|%n a/ b/",
                           "-aR --out-format=%f|%n a/./d b/./d b/./three"}) {
    remove_tree(base + "/r");
    remove_tree(base + "/g");
    runs.run_both(words(spec), spec);
  }
}

}  // namespace
}  // namespace ringkit::testing
