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

#include <algorithm>
#include <filesystem>
#include <sstream>

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
                      SourcesCase{"-ai --delete", "other/hl/two/.. src/sub/.."},
                      // A name given from several sources comes from the first that has it;
                      // one missing is an error (exit 23), not the end of the others.
                      SourcesCase{"-ai", "other/fifo src/fifo src/sub"},
                      SourcesCase{"-ai", "src/big other/big other/small src/small"},
                      // A source directory that cannot be entered: nothing from it.
                      SourcesCase{"-ai", "src/ nowhere/ other/"},
                      // Overlapping arguments: a name given on its own and held by a directory
                      // another argument sends whole. The earlier argument's item wins; two
                      // directories are merged (the earlier one's entries first), and nothing
                      // either holds is deleted.
                      SourcesCase{"-ai --delete", "other/sub/deeper src/sub/"},
                      SourcesCase{"-ai --delete-after", "src/sub/ other/sub/deeper"},
                      SourcesCase{"-ai --delete-before", "other/sub/file src/sub/"},
                      SourcesCase{"-aiR --delete", "other/./sub/file src/./sub"},
                      SourcesCase{"-aiR --delete-after", "other/./sub/deeper src/./sub"},
                      SourcesCase{"-aiR --delete-delay", "src/./sub other/./sub/deeper other/./sub/file"},
                      SourcesCase{"-aiRH --delete", "other/./hl/two src/./hl"}),
    [](const auto& param_info) {
      return param_test_name(std::string(param_info.param.options) + "_" + param_info.param.sources, param_info.index);
    });

// What rsync and ringsync say on stderr about sources they cannot read: one line per item
// ("link_stat" for a missing item, "change_dir" for a directory that cannot be entered, then
// nothing more for the items in it), by the path as given.
std::vector<std::string> source_errors(const std::string& err, const std::string& base) {
  std::vector<std::string> out;
  std::istringstream in(err);
  for (std::string line; std::getline(in, line);) {
    for (const char* op : {"link_stat \"", "change_dir \""}) {
      size_t at = line.find(op);
      if (at == std::string::npos) continue;
      std::string rest = line.substr(at);
      if (size_t b = rest.find(base + "/"); b != std::string::npos) rest.erase(b, base.size() + 1);
      out.push_back(rest);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Stdout without "created directory DEST" (which names DEST, different for the two tools).
std::vector<std::string> item_lines(const std::string& out) {
  std::vector<std::string> v;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with("created directory")) v.push_back(line);
  }
  return v;
}

// The same name from several sources (with and without -R), some of them missing, into a
// DEST that is a directory and into one that is not there yet (which then may name the one
// item sent): the first source that has the name is sent, each missing one is reported once.
TEST(RingsyncSourcesMissing, EachMissingSourceIsReportedOnceAndTheOthersAreSent) {
  DiffRuns runs("ringsync-sources-missing");
  std::string base = runs.base();
  std::filesystem::create_directories(base + "/a/d/deeper");
  std::filesystem::create_directories(base + "/b/d");
  write_file(base + "/a/d/one", "1\n");
  write_file(base + "/a/d/deeper/two", "2\n");
  write_file(base + "/a/only-a", "a\n");
  write_file(base + "/a/both", "a's\n");
  write_file(base + "/b/both", "b's, longer\n");
  write_file(base + "/b/d/three", "3\n");
  write_file(base + "/list", "d/one\nnox/y\nnox/z\nonly-a\n");
  pin_recent_times(base, 0, 1700000000);
  for (const char* spec :
       {"-ai b/only-a a/only-a", "-ai a/only-a b/only-a", "-ai b/q a/q", "-ai b/both a/both", "-ai nope/d a/d",
        "-ai b/d nope/x a/d", "-aiR b/./only-a a/./only-a", "-aiR a/./only-a b/./only-a", "-aiR b/./q a/./q",
        "-aiR nope/./d a/./d", "-aiR a/./d b/./d/nope", "-aiR a/./d/ b/./d/nope", "-aiR b/./d/three a/./d/three",
        "--list-only -aR b/./only-a a/./only-a", "--list-only -a nope/d b/d a/d",
        // A directory that cannot be entered is said once per argument read from it; a
        // --files-from SRC that cannot be is the end of the run (exit 3, nothing made).
        "-ai nope/x nope/y", "-aiR nope/./x nope/./y a/./d", "-ai --no-R --files-from=list a/",
        "-ai --files-from=list a/", "-ai --files-from=list nope/", "-ai --no-R --files-from=list nope/",
        "--list-only --files-from=list nope/"}) {
    for (const char* dest : {"/dest/", "/dest"}) {
      SCOPED_TRACE(std::string(spec) + " into " + dest);
      for (const char* out : {"/out-r", "/out-g"}) {
        remove_tree(base + out);
        std::filesystem::create_directories(base + out);
      }
      RunResult r = runs.run_rsync(words(spec), base + "/out-r" + dest);
      RunResult g = runs.run_ringsync(words(spec), base + "/out-g" + dest);
      TreeState rt = snapshot(base + "/out-r"), gt = snapshot(base + "/out-g");
      rt.erase(".");
      gt.erase(".");
      // DEST's own time, when it is the directory the items go into, is whatever the run left.
      if (rt.contains("dest") && gt.contains("dest") && rt["dest"].type == 'd' && gt["dest"].type == 'd') {
        gt["dest"].mtime_sec = rt["dest"].mtime_sec;
        gt["dest"].mtime_nsec = rt["dest"].mtime_nsec;
      }
      for (const auto& d : compare_trees(rt, gt, compare_options_for(words(spec)))) ADD_FAILURE() << d;
      EXPECT_EQ(g.exit_code, r.exit_code) << "rsync:\n" << r.err << "ringsync:\n" << g.err;
      EXPECT_EQ(g.out.find("created directory") == std::string::npos,
                r.out.find("created directory") == std::string::npos);
      EXPECT_EQ(item_lines(g.out), item_lines(r.out));
      EXPECT_EQ(source_errors(g.err, base), source_errors(r.err, base)) << "rsync:\n" << r.err << "ringsync:\n" << g.err;
    }
  }
}

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
