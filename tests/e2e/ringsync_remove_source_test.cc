// --remove-source-files (and rsync's older --remove-sent-files) against the real rsync. Each
// tool gets its own copy of the hostile tree and of a destination that already holds part of it
// (some files missing, one changed, one newer than its source); after the run, the two
// destinations, the two sources (what was removed and what was kept) and the output must agree,
// and again after a second run. Then the cases where a source file must stay: a dry run, a sync
// onto itself, a file changed during the run, a source that cannot be written.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/fanotify.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "support/rsync_diff.h"
#include "support/tree.h"

namespace ringkit::testing {
namespace {

// Sets an item's modification (and access) time, not through a symlink.
void set_mtime(const std::string& path, time_t sec) {
  struct timespec ts[2] = {{sec, 0}, {sec, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW), 0) << path << ": " << std::strerror(errno);
}

// How many items are below `root` (an item removed from the source is one fewer).
size_t count_items(const std::string& root) { return items_below(root).size(); }

std::vector<std::string> lines_starting(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  for (const std::string& line : split_lines(text)) {
    if (line.rfind(prefix, 0) == 0) out.push_back(line);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// One side of a differential run: base/{src,dst,seed}, built the same way for both tools.
void build_side(const std::string& side) {
  std::string src = side + "/src", dst = side + "/dst";
  build_diff_source(src);
  RunResult seeded = run_program({"rsync", "-aH", src + "/", dst + "/"});
  ASSERT_EQ(seeded.exit_code, 0) << seeded.err;
  RunResult basis = run_program({"rsync", "-aH", src + "/", side + "/seed/"});
  ASSERT_EQ(basis.exit_code, 0) << basis.err;
  // The destination lacks some items, holds one changed file, and one newer than its source.
  std::filesystem::remove(dst + "/small");
  std::filesystem::remove(dst + "/rel-link");
  std::filesystem::remove(dst + "/fifo");
  std::filesystem::remove(dst + "/hl/two/y");
  std::filesystem::remove_all(dst + "/sub");
  write_file(dst + "/space name", "changed in the destination\n");
  write_file(dst + "/-leading-dash", "newer in the destination\n");
  write_file(src + "/added", "added after the seed\n");
  pin_recent_times(side, 1700000000, 1000000000);  // the directories changed just now
  set_mtime(src + "/added", 1600000000);
  set_mtime(dst + "/space name", 1600000000);
  set_mtime(dst + "/-leading-dash", 1900000000);
}

class RemoveSourceFiles : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    base_ = make_temp_dir("ringsync-remove-source");
    build_side(base_ + "/r");
    build_side(base_ + "/g");
    auto differ = compare_trees(snapshot(base_ + "/r"), snapshot(base_ + "/g"), {});
    ASSERT_TRUE(differ.empty()) << "the two sides were not built the same:\n" << indent_lines(differ);
  }
  void TearDown() override { remove_tree(base_); }

  // Runs both tools with the case's options (from their own side), and compares. Removing
  // items gives the source's directories the time of the removal, which the two runs do not
  // share (nor, on a second run, the directories copied from them): `source_dirs_touched`.
  void run_and_compare(const std::string& what, bool source_dirs_touched) {
    std::vector<std::string> opts = words(GetParam());
    std::vector<std::string> r = {"rsync"}, g = {ringsync_program()};
    for (auto* argv : {&r, &g}) {
      argv->insert(argv->end(), opts.begin(), opts.end());
      argv->insert(argv->end(), {"src/", "dst/"});
    }
    RunResult rr = run_in(r, base_ + "/r"), gr = run_in(g, base_ + "/g");
    drop_transfer_summary(rr);
    drop_transfer_summary(gr);
    // --delay-updates: rsync leaves a directory with the time of its holding dir's removal, and
    // itemizes it the next time; ringsync sets it again (docs/ringsync.1, BUGS). Directory times
    // are left out there.
    bool delayed = has_option(opts, "--delay-updates");
    if (delayed) {
      for (RunResult* run : {&rr, &gr}) {
        std::string kept;
        for (const std::string& line : split_lines(run->out)) {
          if (line.rfind(".d..t...... ", 0) != 0) kept += line + "\n";
        }
        run->out = kept;
      }
    }
    expect_same_run(rr, gr, what + " with " + GetParam());
    EXPECT_EQ(lines_starting(gr.err, "ERROR: Skipping"), lines_starting(rr.err, "ERROR: Skipping")) << gr.err;
    SnapshotOptions cmp = compare_options_for(opts, !source_dirs_touched && !delayed);
    for (const auto& d : compare_trees(snapshot(base_ + "/r/dst"), snapshot(base_ + "/g/dst"), cmp)) {
      ADD_FAILURE() << what << ", destination: ringsync vs rsync: " << d;
    }
    // What is left of the source: the same items, untouched (times and all, but directories').
    SnapshotOptions left;
    left.dir_times = false;
    for (const auto& d : compare_trees(snapshot(base_ + "/r/src"), snapshot(base_ + "/g/src"), left)) {
      ADD_FAILURE() << what << ", source left: ringsync vs rsync: " << d;
    }
  }

  std::string base_;
};

TEST_P(RemoveSourceFiles, RemovesWhatRsyncRemovesAndCopiesWhatItCopies) {
  size_t before = count_items(base_ + "/g/src");
  run_and_compare("first run", false);
  // (The comparison above is with rsync; this says the option did something at all.)
  EXPECT_LT(count_items(base_ + "/g/src"), before) << "nothing was removed from the source";
  run_and_compare("second run", true);
}

INSTANTIATE_TEST_SUITE_P(
    Options, RemoveSourceFiles,
    ::testing::Values("-ai --remove-source-files", "-aiH --remove-source-files", "-aiHAX --remove-source-files",
                      "-ai --remove-sent-files", "-aiH --remove-sent-files", "-ri --remove-source-files",
                      "-ai --remove-source-files -u", "-ai --remove-source-files --ignore-existing",
                      "-ai --remove-source-files --existing", "-ai --remove-source-files --max-size=100",
                      "-ai --remove-source-files --exclude=sub/ --exclude=*name", "-ai --remove-source-files -c",
                      "-ai --remove-source-files --size-only", "-ai --remove-source-files --inplace",
                      "-ai --remove-source-files --delete", "-ai --remove-source-files --link-dest=../seed",
                      "-ai --remove-source-files --compare-dest=../seed", "-ai --remove-source-files -b",
                      "-ai --remove-source-files --safe-links", "-ai --remove-source-files --no-D",
                      "-ai --remove-source-files --delay-updates", "-aiH --remove-source-files --delay-updates"),
    ParamTestName());

// The cases where the source stays, one at a time.
class RemoveSourceKept : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = make_temp_dir("ringsync-remove-kept");
    std::filesystem::create_directories(base_ + "/src/d");
    write_file(base_ + "/src/a", "a\n");
    write_file(base_ + "/src/d/b", "b\n");
    ASSERT_EQ(::symlink("a", (base_ + "/src/link").c_str()), 0);
    pin_recent_times(base_ + "/src", 0, 1600000000);
  }
  void TearDown() override { remove_tree(base_); }

  std::string base_;
};

TEST_F(RemoveSourceKept, ADryRunRemovesNothingAndSaysWhatTheRunWould) {
  TreeState before = snapshot(base_ + "/src");
  RunResult dry = run_program({ringsync_program(), "-ain", "--remove-source-files", base_ + "/src/", base_ + "/g/"});
  EXPECT_EQ(dry.exit_code, 0) << dry.err;
  for (const auto& d : compare_trees(before, snapshot(base_ + "/src"), {})) ADD_FAILURE() << "dry run changed: " << d;
  EXPECT_FALSE(std::filesystem::exists(base_ + "/g"));
  RunResult real = run_program({ringsync_program(), "-ai", "--remove-source-files", base_ + "/src/", base_ + "/g/"});
  EXPECT_EQ(real.exit_code, 0) << real.err;
  EXPECT_EQ(dry.out, real.out);
  EXPECT_EQ(items_below(base_ + "/src"), std::vector<std::string>{"d"});
}

TEST_F(RemoveSourceKept, VeryVerboseSaysWhatTheSenderRemovedAsRsyncDoes) {
  RunResult copied = run_program({"cp", "-a", base_ + "/src", base_ + "/src-r"});
  ASSERT_EQ(copied.exit_code, 0) << copied.err;
  RunResult r = run_program({"rsync", "-avv", "--remove-source-files", base_ + "/src-r/", base_ + "/r/"});
  RunResult g = run_program({ringsync_program(), "-avv", "--remove-source-files", base_ + "/src/", base_ + "/g/"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(g.exit_code, 0) << g.err;
  // (rsync's sender prints these among the other lines wherever they arrive: compared as sets.)
  std::vector<std::string> said = lines_starting(g.out, "sender removed ");
  EXPECT_EQ(said, lines_starting(r.out, "sender removed "));
  EXPECT_EQ(said, (std::vector<std::string>{"sender removed a", "sender removed d/b", "sender removed link"}));
  RunResult plain = run_program({ringsync_program(), "-av", "--remove-source-files", base_ + "/r/", base_ + "/v/"});
  EXPECT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_TRUE(lines_starting(plain.out, "sender removed").empty()) << "-v says it:\n" << plain.out;
}

// --delay-updates: a file is in place only when the held files are renamed at the end, so its
// source goes then, after every item line; a symlink is made in place, and goes at once.
TEST_F(RemoveSourceKept, WithDelayUpdatesAFileLeavesTheSourceOnlyOnceRenamedInPlace) {
  RunResult g = run_program({ringsync_program(), "-aivv", "--delay-updates", "--remove-source-files",
                             base_ + "/src/", base_ + "/g/"});
  EXPECT_EQ(g.exit_code, 0) << g.err;
  std::vector<std::string> lines = split_lines(g.out);
  auto at = [&lines](const std::string& text) {
    return std::find(lines.begin(), lines.end(), text) - lines.begin();
  };
  ASSERT_LT(at(">f+++++++++ d/b"), static_cast<long>(lines.size())) << g.out;
  EXPECT_GT(at("sender removed a"), at(">f+++++++++ d/b")) << g.out;
  EXPECT_GT(at("sender removed d/b"), at(">f+++++++++ d/b")) << g.out;
  EXPECT_LT(at("sender removed link"), at(">f+++++++++ d/b")) << g.out;
  EXPECT_EQ(items_below(base_ + "/src"), std::vector<std::string>{"d"});
  RunResult content = run_program({"cat", base_ + "/g/d/b"});
  EXPECT_EQ(content.out, "b\n");
}

// A sync onto itself: every item is up to date, and each is the destination's own file. rsync
// refuses to remove them (exit 23); so must we, or the files would be gone from both.
TEST_F(RemoveSourceKept, ASyncOntoItselfRemovesNothing) {
  TreeState before = snapshot(base_ + "/src");
  RunResult copied = run_program({"cp", "-a", base_ + "/src", base_ + "/src-r"});
  ASSERT_EQ(copied.exit_code, 0) << copied.err;
  RunResult r = run_program({"rsync", "-a", "--remove-source-files", base_ + "/src-r/", base_ + "/src-r/"});
  RunResult g = run_program({ringsync_program(), "-a", "--remove-source-files", base_ + "/src/", base_ + "/src/"});
  EXPECT_EQ(g.exit_code, 23) << g.err;
  EXPECT_EQ(g.exit_code, r.exit_code) << r.err;
  // rsync's check looks at what the destination's symlink points to, so it removes the symlink
  // (which is the destination's too); ringsync keeps it and says so (docs/ringsync.1, BUGS).
  std::vector<std::string> rsync_said = lines_starting(r.err, "ERROR: Skipping");
  rsync_said.push_back("ERROR: Skipping sender remove of destination file: link");
  std::sort(rsync_said.begin(), rsync_said.end());
  EXPECT_EQ(lines_starting(g.err, "ERROR: Skipping"), rsync_said);
  for (const auto& d : compare_trees(before, snapshot(base_ + "/src"), {})) ADD_FAILURE() << "changed: " << d;
}

// --link-dest into the source itself: the destination's file is the source's inode.
TEST_F(RemoveSourceKept, ADestinationLinkedToTheSourceKeepsIt) {
  RunResult g = run_program({ringsync_program(), "-a", "--remove-source-files", "--link-dest=" + base_ + "/src",
                             base_ + "/src/", base_ + "/g/"});
  EXPECT_EQ(g.exit_code, 23) << g.err;
  EXPECT_NE(g.err.find("ERROR: Skipping sender remove of destination file: d/b"), std::string::npos) << g.err;
  EXPECT_TRUE(std::filesystem::exists(base_ + "/src/a"));
  EXPECT_TRUE(std::filesystem::exists(base_ + "/src/d/b"));
}

// A file that changes after it was listed is copied as it was read, and kept in the source.
// The change is staged with a fanotify permission event: when the tool opens src/a to read it,
// this test changes a's time before letting the open go on.
TEST_F(RemoveSourceKept, AFileChangedDuringTheRunIsKept) {
  if (geteuid() != 0) GTEST_SKIP() << "fanotify permission events need CAP_SYS_ADMIN";
  RunResult copied = run_program({"cp", "-a", base_ + "/src", base_ + "/src-r"});
  ASSERT_EQ(copied.exit_code, 0) << copied.err;
  auto run_staged = [&](const std::vector<std::string>& argv, const std::string& file, bool& staged) {
    int fan = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC, O_RDONLY | O_LARGEFILE);
    if (fan < 0 || fanotify_mark(fan, FAN_MARK_ADD, FAN_OPEN_PERM, AT_FDCWD, file.c_str()) != 0) {
      if (fan >= 0) ::close(fan);
      return RunResult{};
    }
    Spawned p = spawn_program(argv);
    RunResult run = wait_program(p, fan, [&] {
      alignas(fanotify_event_metadata) char buf[4096];
      ssize_t len = ::read(fan, buf, sizeof buf);
      auto* m = reinterpret_cast<fanotify_event_metadata*>(buf);
      for (; len > 0 && FAN_EVENT_OK(m, len); m = FAN_EVENT_NEXT(m, len)) {
        if (m->fd < 0) continue;
        if (!staged) {
          set_mtime(file, 1700000000);
          staged = true;
        }
        fanotify_response answer{m->fd, FAN_ALLOW};
        if (::write(fan, &answer, sizeof answer) != sizeof answer) ADD_FAILURE() << "fanotify answer failed";
        ::close(m->fd);
      }
    });
    ::close(fan);
    return run;
  };
  bool r_staged = false, g_staged = false;
  RunResult r = run_staged({"rsync", "-a", "--remove-source-files", base_ + "/src-r/", base_ + "/r/"},
                           base_ + "/src-r/a", r_staged);
  RunResult g = run_staged({ringsync_program(), "-a", "--remove-source-files", base_ + "/src/", base_ + "/g/"},
                           base_ + "/src/a", g_staged);
  ASSERT_TRUE(g_staged) << "ringsync never opened src/a: the change was not staged";
  EXPECT_EQ(g.exit_code, 23) << g.err;
  EXPECT_EQ(g.exit_code, r.exit_code) << "rsync said:\n" << r.err << "ringsync said:\n" << g.err;
  EXPECT_NE(g.err.find("ERROR: Skipping sender remove for changed file: a"), std::string::npos) << g.err;
  EXPECT_TRUE(std::filesystem::exists(base_ + "/src/a"));
  EXPECT_FALSE(std::filesystem::exists(base_ + "/src/d/b"));  // the others went
  RunResult content = run_program({"cat", base_ + "/g/a"});
  EXPECT_EQ(content.out, "a\n");
}

// A source on a read-only mount: everything is copied, nothing removed, and each failure is
// reported with exit 23 (rsync's too).
TEST_F(RemoveSourceKept, ASourceThatCannotBeWrittenIsReportedAndKept) {
  if (geteuid() != 0) GTEST_SKIP() << "a read-only bind mount needs root";
  std::string ro = base_ + "/ro";
  std::filesystem::create_directories(ro);
  if (::mount((base_ + "/src").c_str(), ro.c_str(), nullptr, MS_BIND, nullptr) != 0) {
    GTEST_SKIP() << "bind mount: " << std::strerror(errno);
  }
  struct Unmount {
    std::string path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{ro};
  if (::mount(nullptr, ro.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0) {
    GTEST_SKIP() << "read-only remount: " << std::strerror(errno);
  }
  RunResult r = run_program({"rsync", "-a", "--remove-source-files", ro + "/", base_ + "/r/"});
  RunResult g = run_program({ringsync_program(), "-a", "--remove-source-files", ro + "/", base_ + "/g/"});
  EXPECT_EQ(g.exit_code, 23) << g.err;
  EXPECT_EQ(g.exit_code, r.exit_code) << r.err;
  for (const char* name : {"\"a\"", "\"d/b\"", "\"link\""}) {
    EXPECT_NE(g.err.find(std::string("remove source file ") + name + " failed: Read-only file system"),
              std::string::npos)
        << g.err;
  }
  EXPECT_EQ(items_below(base_ + "/src").size(), 4u);
  for (const auto& d : compare_trees(snapshot(base_ + "/r"), snapshot(base_ + "/g"), {})) ADD_FAILURE() << d;
}

}  // namespace
}  // namespace ringkit::testing
