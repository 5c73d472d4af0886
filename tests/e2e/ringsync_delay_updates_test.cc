// --delay-updates against the real rsync (with -H, --delete, -b, -S, a --partial-dir, stale
// holding dirs, a source that has a .~tmp~ of its own), and its promise: while the transfer
// runs, no updated file is in place yet; they all are at the end. That is checked by holding
// the copy at its last file (fanotify) and looking at the destination. An interrupted run puts
// nothing in place, and the next run cleans up.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "support/rsync_diff.h"
#include "support/tree.h"

namespace ringkit::testing {
namespace {

class RingsyncDelayUpdates : public RsyncDiffTest {
 protected:
  void SetUp() override {
    make_source("ringsync-delay");
    parse_options([this](const std::string& tag) -> std::vector<std::pair<std::string, std::string>> {
      return {{"HELD", base_ + "/held-" + tag}, {"BK", base_ + "/bk-" + tag}};
    });
  }

  void run_both(const std::string& what) {
    SCOPED_TRACE(what + " with " + GetParam());
    run_tools_and_compare_output();
    SnapshotOptions cmp;
    cmp.dir_times = !has("b");
    // A holding dir left over (the stale ones of change_source) was written "now", at another
    // moment in each run: its contents are compared, not its time.
    // The same holds for what such a dir holds (made before each tool's run, so its time can
    // fall in another second).
    expect_same_destinations(cmp, [](TreeState& t) {
      std::erase_if(t, [](const auto& item) { return item.first.ends_with(".~tmp~"); });
      for (auto& [path, item] : t) {
        if (path.find(".~tmp~/") != std::string::npos) item.mtime_sec = item.mtime_nsec = 0;
      }
    });
    // Directory times too: rsync sets them again after its delayed renames (mostly); ringsync
    // always does.
    if (!has("b")) {
      SnapshotOptions exact;
      exact.nanoseconds = true;
      exact.common_only = true;
      exact.xattrs = exact.acls = false;
      exact.nlink = has("H") && !has("--exclude");
      TreeState source = snapshot(src_);
      source.erase(".~tmp~");
      for (const auto& d : compare_trees(source, snapshot(base_ + "/g"), exact)) ADD_FAILURE() << "vs source: " << d;
    }
  }

  void change_source(int round) {
    write_file(src_ + "/small", "changed, round " + std::to_string(round) + "\n");
    write_file(src_ + "/sub/file", "sub, round " + std::to_string(round) + "\n");
    write_file(src_ + "/sub/new-" + std::to_string(round), "new\n");
    write_file(src_ + "/hl/two/pair-1", "pair, round " + std::to_string(round) + "\n");
    std::filesystem::remove(src_ + "/rel-link");
    ::symlink("elsewhere", (src_ + "/rel-link").c_str());
    if (round == 1) {
      // A source that has a holding dir of its own (not sent), and destinations with stale ones.
      std::filesystem::create_directories(src_ + "/.~tmp~");
      write_file(src_ + "/.~tmp~/mine", "not sent\n");
      for (const char* d : {"/r", "/g"}) {
        std::filesystem::create_directories(base_ + d + "/sub/.~tmp~");
        write_file(base_ + d + "/sub/.~tmp~/file", "stale, as a killed run leaves it\n");
        write_file(base_ + d + "/sub/.~tmp~/gone", "stale, of a file no longer there\n");
      }
    }
    pin_recent_times(src_, 1700000000, 1000000000 + round * 1000);
  }

};

TEST_P(RingsyncDelayUpdates, SameResultAsRsync) {
  run_both("first copy");
  run_both("no-op re-run");
  change_source(1);
  compare_dry_runs();
  run_both("re-sync after changes");
  change_source(2);
  run_both("second re-sync");
  RunResult dry = run_sync(ringsync_program(), words_with("-n " + GetParam(), {{"HELD", base_ + "/held-g"}}),
                           src_ + "/", base_ + "/g/");
  EXPECT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_TRUE(split_output(dry.out).items.empty()) << "a no-op dry run listed:\n" << dry.out;
}

INSTANTIATE_TEST_SUITE_P(Options, RingsyncDelayUpdates,
                         ::testing::Values("-ai --delay-updates", "-aiH --delay-updates", "-ai --delay-updates --delete",
                                           "-aiH --delay-updates --delete-after", "-ai --delay-updates -b",
                                           "-ai --delay-updates --backup-dir=BK", "-aiS --delay-updates",
                                           "-ai --delay-updates --partial-dir=.held",
                                           "-ai --delay-updates --exclude=hl/"), ParamTestName());

// The promise itself: held at the last file it copies, ringsync has put no updated file in
// place; each waits, complete, in its directory's .~tmp~. At the end all are in place and the
// holding dirs are gone. Interrupted there, nothing is put in place.
class RingsyncDelayedPromise : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "holding reads with fanotify needs CAP_SYS_ADMIN";
    base_ = make_temp_dir("ringsync-delay-promise");
    src_ = base_ + "/src";
    for (const char* d : {"/a", "/b/c", "/zz"}) std::filesystem::create_directories(src_ + d);
    for (const char* f : {"/one", "/a/two", "/b/c/three", "/b/four"}) write_file(src_ + f, std::string("old ") + f);
    write_file(src_ + "/zz/last", "the last file copied");
    pin_recent_times(src_, 0, 1600000000);
    ASSERT_EQ(run_sync(ringsync_program(), {"-a"}, src_ + "/", base_ + "/g/").exit_code, 0);
    for (const char* f : {"/one", "/a/two", "/b/c/three", "/b/four"}) write_file(src_ + f, std::string("new ") + f);
    write_file(src_ + "/b/c/five", "new file");
    write_file(src_ + "/zz/last", "the last file copied, changed");
    pin_recent_times(src_, 0, 1600000100);
    before_ = snapshot(base_ + "/g");
  }
  void TearDown() override {
    if (!base_.empty()) remove_tree(base_);
  }

  // Runs with --delay-updates held at zz/last; `at_last` looks at the destination there.
  RunResult held_run(const std::function<void(pid_t)>& at_last) {
    ReadGate gate(src_ + "/zz/last");
    if (!gate.error().empty()) {
      why_ = gate.error();
      return {};
    }
    Spawned p = spawn_program({ringsync_program(), "-a", "--delay-updates", src_ + "/", base_ + "/g/"});
    RunResult r = wait_program(p, gate.fd(), [&] {
      gate.serve([&](int n) {
        if (n == 1) at_last(p.pid);
      });
    });
    EXPECT_GE(gate.reads(), 1) << "zz/last was never read";
    return r;
  }

  std::string base_, src_, why_;
  TreeState before_;
};

TEST_F(RingsyncDelayedPromise, NothingUpdatedIsInPlaceBeforeTheEnd) {
  bool looked = false;
  RunResult r = held_run([&](pid_t) {
    looked = true;
    TreeState now = snapshot(base_ + "/g");
    for (const char* f : {"one", "a/two", "b/c/three", "b/four"}) {
      EXPECT_EQ(now[f].content_hash, before_[f].content_hash) << f << " was put in place before the end";
    }
    EXPECT_EQ(now.count("b/c/five"), 0u) << "a new file appeared before the end";
    for (const char* held : {".~tmp~/one", "a/.~tmp~/two", "b/c/.~tmp~/three", "b/.~tmp~/four", "b/c/.~tmp~/five"}) {
      EXPECT_EQ(now.count(held), 1u) << held << " is not held";
    }
  });
  if (!why_.empty()) GTEST_SKIP() << "cannot hold reads: " << why_;
  EXPECT_TRUE(looked);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  SnapshotOptions exact;
  exact.nanoseconds = true;
  for (const auto& d : compare_trees(snapshot(src_), snapshot(base_ + "/g"), exact)) ADD_FAILURE() << d;
}

TEST_F(RingsyncDelayedPromise, InterruptedRunPutsNothingInPlaceAndTheNextCleansUp) {
  RunResult r = held_run([&](pid_t pid) { ::kill(pid, SIGTERM); });
  if (!why_.empty()) GTEST_SKIP() << "cannot hold reads: " << why_;
  EXPECT_EQ(r.exit_code, 20) << r.err;
  TreeState now = snapshot(base_ + "/g");
  for (const char* f : {"one", "a/two", "b/c/three", "b/four"}) {
    EXPECT_EQ(now[f].content_hash, before_[f].content_hash) << f << " was put in place by an interrupted run";
  }
  EXPECT_EQ(now.count("b/c/five"), 0u);
  RunResult again = run_sync(ringsync_program(), {"-a", "--delay-updates"}, src_ + "/", base_ + "/g/");
  EXPECT_EQ(again.exit_code, 0) << again.err;
  SnapshotOptions exact;
  exact.nanoseconds = true;
  auto diffs = compare_trees(snapshot(src_), snapshot(base_ + "/g"), exact);
  EXPECT_TRUE(diffs.empty()) << "the re-run did not converge (holding dirs left?):\n" << indent_lines(diffs);
}

}  // namespace
}  // namespace ringkit::testing

namespace ringkit::testing {
namespace {

// With --files-from (the selection's own pass over the list), the held files are put in place
// too, and a --link-dest is searched: as rsync.
TEST(RingsyncDelayUpdatesFilesFrom, HeldFilesArePutInPlaceAndBasisDirsSearched) {
  std::string base = make_temp_dir("ringsync-delay-list");
  ScopedTempTree cleanup{base};
  std::filesystem::create_directories(base + "/src/sub");
  write_file(base + "/src/a", "a, new\n");
  write_file(base + "/src/sub/b", "b, new\n");
  write_file(base + "/src/sub/unlisted", "not in the list\n");
  pin_recent_times(base + "/src", 0, 1600000100);
  std::filesystem::create_directories(base + "/basis/sub");
  write_file(base + "/basis/a", "a, older\n");  // another size: transferred
  write_file(base + "/basis/sub/b", "b, new\n");  // the same: linked
  pin_recent_times(base + "/basis", 0, 1600000100);
  write_file(base + "/list", "a\nsub/b\n");
  std::vector<std::string> opts = {"-ai", "--files-from=" + base + "/list", "--delay-updates",
                                   "--link-dest=" + base + "/basis"};
  RunResult rr = run_sync("rsync", opts, base + "/src/", base + "/r/");
  RunResult gr = run_sync(ringsync_program(), opts, base + "/src/", base + "/g/");
  expect_same_run(rr, gr, "first copy");
  EXPECT_EQ(items_below(base + "/g"), items_below(base + "/r"));
  EXPECT_EQ(files_linked_to(base + "/g", base + "/basis"), std::vector<std::string>{"sub/b"});
  write_file(base + "/src/a", "a, newer\n");
  pin_recent_times(base + "/src", 1600000100, 1600000200);
  rr = run_sync("rsync", opts, base + "/src/", base + "/r/");
  gr = run_sync(ringsync_program(), opts, base + "/src/", base + "/g/");
  expect_same_run(rr, gr, "update");
  EXPECT_EQ(run_program({"cat", base + "/g/a"}).out, "a, newer\n") << "the held file was not put in place";
  EXPECT_EQ(items_below(base + "/g"), items_below(base + "/r"));
}

}  // namespace
}  // namespace ringkit::testing
