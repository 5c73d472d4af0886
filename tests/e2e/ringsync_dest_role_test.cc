// What DEST becomes, against the real rsync, when it is not an existing directory and does not
// end in '/': rsync's receiver makes it a directory only when the file list holds two items or
// more; exactly one item (a file, a symlink, or a directory with nothing listed below it) is
// made under the name DEST, and with none nothing is made. It counts what its sender lists:
// sources that exist and are not excluded, a name given twice as two, and a directory's
// entries after the filters (per-directory ones too), before -m prunes. A DEST that is a file
// already is replaced by one file and refused otherwise. Each case runs on a fresh DEST, then
// again (rsync's second run may differ from its first: DEST is a directory by then), and as a
// dry run; output, exit codes and the trees (DEST itself included) are compared with rsync's.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "support/rsync_diff.h"
#include "support/tree.h"

namespace ringkit::testing {
namespace {

struct DestCase {
  const char* options;
  const char* sources;
  const char* dest = "dest";   // below r/ and g/
  bool dest_is_file = false;   // DEST exists as a regular file before the first run
};

class RingsyncDestRole : public ::testing::TestWithParam<DestCase> {
 protected:
  RingsyncDestRole() : runs_("ringsync-dest-role"), base_(runs_.base()) {}

  void SetUp() override {
    std::string src = base_ + "/src";
    for (const char* d : {"dir", "empty", "full/sub", "onlyempty/sub", "d1", "rf"}) {
      std::filesystem::create_directories(src + "/" + d);
    }
    // Files below the base: the tree's, then the --files-from lists.
    const std::pair<const char*, const char*> files[] = {
        {"src/file", "the file\n"},  {"src/b", "b\n"},
        {"src/full/x", "x\n"},       {"src/d1/y", "y\n"},
        {"src/rf/.rsync-filter", "- y\n"}, {"src/rf/y", "y\n"},
        {"list-one", "file\n"},      {"list-dir", "full\n"},
        {"list-none", ""},           {"list-missing-and-one", "missing\nfile\n"},
        {"list-twice", "file\nfile\n"}, {"list-nested", "full/x\n"},
    };
    for (const auto& [path, text] : files) write_file(base_ + "/" + path, text);
    ASSERT_EQ(::symlink("file", (src + "/link").c_str()), 0);
    ::chmod((src + "/empty").c_str(), 0750);
    pin_recent_times(base_, 0, 1700000000);
  }

  // r/ and g/ as they are before a first run: empty, or holding DEST as a file.
  void fresh_parents() {
    for (const char* side : {"/r", "/g"}) {
      remove_tree(base_ + side);
      std::string dest = base_ + side + "/" + GetParam().dest;
      std::filesystem::create_directories(std::filesystem::path(dest).parent_path());
      if (GetParam().dest_is_file) write_file(dest, "an older file\n");
    }
    pin_recent_times(base_ + "/r", 0, 1600000000);
    pin_recent_times(base_ + "/g", 0, 1600000000);
  }

  std::vector<std::string> args(bool dry) const {
    std::vector<std::string> a = words(GetParam().options);
    if (dry) a.insert(a.begin(), "-n");
    for (const std::string& s : words(GetParam().sources)) a.push_back(s);
    return a;
  }

  void run_both(bool dry, const std::string& what) {
    RunResult r = runs_.run_rsync(args(dry), std::string("r/") + GetParam().dest);
    RunResult g = runs_.run_ringsync(args(dry), std::string("g/") + GetParam().dest);
    expect_same_run(r, g, what);
    EXPECT_EQ(error_lines(g.err), error_lines(r.err)) << what;
    if (r.out.find("created directory") != std::string::npos) dest_made_for_items_ = true;
  }

  // rsync's own refusals ("ERROR: ..."), which ringsync words the same.
  static std::vector<std::string> error_lines(const std::string& err) {
    std::vector<std::string> out;
    for (const std::string& line : split_lines(err)) {
      if (line.starts_with("ERROR:")) out.push_back(line);
    }
    return out;
  }

  void expect_same_trees(const std::string& what, bool second_run) const {
    TreeState r = snapshot(base_ + "/r"), g = snapshot(base_ + "/g");
    r.erase(".");
    g.erase(".");
    SnapshotOptions cmp = compare_options_for(words(GetParam().options));
    // DEST's own time is compared where a run sets it: where DEST is the one item, or "." of
    // a "SRC/". A DEST made for the items, or one that items were made in since, has the
    // time of that, which differs between the two runs.
    auto time_not_compared = [&](const std::string& rel) {
      if (!r.contains(rel) || !g.contains(rel)) return;
      r[rel].mtime_sec = g[rel].mtime_sec;
      r[rel].mtime_nsec = g[rel].mtime_nsec;
    };
    std::string dest = GetParam().dest;
    bool contents = std::string(GetParam().sources).ends_with('/');
    if ((dest_made_for_items_ || second_run) && !contents) time_not_compared(dest);
    // The directories above DEST (a/b of a/b/dest) are the fixture's: neither tool sets their
    // times, which are those of DEST's making in each run.
    for (auto up = std::filesystem::path(dest).parent_path(); !up.empty(); up = up.parent_path()) {
      time_not_compared(up.string());
    }
    for (const auto& d : compare_trees(r, g, cmp)) ADD_FAILURE() << what << ": rsync vs ringsync: " << d;
  }

  DiffRuns runs_;
  std::string base_;
  bool dest_made_for_items_ = false;  // rsync said "created directory DEST"
};

TEST_P(RingsyncDestRole, FirstRunAndSecondRunAsRsync) {
  SCOPED_TRACE(std::string(GetParam().options) + " " + GetParam().sources + " " + GetParam().dest);
  fresh_parents();
  run_both(false, "first run");
  expect_same_trees("first run", false);
  run_both(false, "second run");
  expect_same_trees("second run", true);
}

TEST_P(RingsyncDestRole, DryRunAsRsyncsAndChangesNothing) {
  SCOPED_TRACE(std::string(GetParam().options) + " " + GetParam().sources + " " + GetParam().dest);
  fresh_parents();
  TreeState before = snapshot(base_ + "/g");
  run_both(true, "dry run");
  EXPECT_EQ(compare_trees(before, snapshot(base_ + "/g"), SnapshotOptions{}), std::vector<std::string>());
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RingsyncDestRole,
    ::testing::Values(
        // Several sources that come to one item, or none.
        DestCase{"-lpti", "src/dir src/file"}, DestCase{"-ai --exclude=b", "src/file src/b"},
        DestCase{"-ai", "src/missing src/file"}, DestCase{"-ai", "src/empty src/missing"},
        DestCase{"-ai", "src/missing src/missing2"}, DestCase{"-ri --exclude=file", "src/empty src/file"},
        DestCase{"-lpti", "src/dir src/"}, DestCase{"-ai", "src/file src/file"},
        DestCase{"-ai", "src/file src/d1/y"}, DestCase{"-di", "src/empty src/missing"},
        // (rsync notes a skipped directory unless -q, whatever -v, -i and --info say.)
        DestCase{"-lpt", "src/dir"}, DestCase{"-lpt --info=none", "src/dir src/file"},
        DestCase{"-lptq", "src/dir src/file"}, DestCase{"-lpt --info=nonreg0", "src/ src/dir src/file"},
        // One directory: alone, or with something listed below it.
        DestCase{"-ai", "src/empty"}, DestCase{"-ai", "src/full"}, DestCase{"-ai", "src/empty/"},
        DestCase{"-ai", "src/full/"}, DestCase{"-di", "src/full"}, DestCase{"-di", "src/full/"},
        DestCase{"-ai --exclude=x --exclude=sub", "src/full"},
        DestCase{"-ai --exclude=/full/x --exclude=/full/sub", "src/full"},
        DestCase{"-ai --exclude=/x --exclude=/sub", "src/full/"}, DestCase{"-ai -F", "src/rf"},
        DestCase{"-ai -F --exclude=.rsync-filter", "src/rf"}, DestCase{"-ai --exclude=d1", "src/d1"},
        DestCase{"-aim", "src/onlyempty"}, DestCase{"-aim", "src/empty"}, DestCase{"-aim", "src/full"},
        DestCase{"-ai --delete --exclude=y", "src/d1"}, DestCase{"-ai --delete-after --exclude=y", "src/d1/"},
        DestCase{"-ai --existing --info=skip", "src/empty"}, DestCase{"-ai --existing --info=skip", "src/file"},
        DestCase{"-ai --mkpath --exclude=y", "src/d1", "a/b/dest"},
        DestCase{"-ai --mkpath --exclude=y", "src/d1/", "a/b/dest"},
        // Symlinks: the link itself, or what it points to.
        DestCase{"-ai", "src/link"}, DestCase{"-aiL", "src/link"},
        // Lists.
        DestCase{"-ai --files-from=list-one", "src"}, DestCase{"-ai --files-from=list-dir", "src"},
        DestCase{"-ai --files-from=list-none", "src"}, DestCase{"-ai --files-from=list-missing-and-one", "src"},
        DestCase{"-ai --files-from=list-twice", "src"}, DestCase{"-ai --files-from=list-nested", "src"},
        DestCase{"-ai -R", "src/./file"}, DestCase{"-ai -R", "src/./empty"}, DestCase{"-ai -R", "src/missing"},
        DestCase{"-ai -R --exclude=y", "src/./d1"}, DestCase{"-ai -R", "src/file"},
        // DEST is a file already: replaced by one file, refused for a directory or for more.
        DestCase{"-ai", "src/file", "dest", true}, DestCase{"-ai", "src/empty", "dest", true},
        DestCase{"-ai", "src/file src/b", "dest", true}, DestCase{"-ai", "src/full", "dest", true},
        DestCase{"-ai --files-from=list-one", "src", "dest", true},
        DestCase{"-ai --exclude=b", "src/file src/b", "dest", true}),
    [](const auto& param_info) {
      const DestCase& c = param_info.param;
      return param_test_name(std::string(c.options) + "_" + c.sources + "_" + c.dest + (c.dest_is_file ? "_file" : ""),
                             param_info.index);
    });

}  // namespace
}  // namespace ringkit::testing
