// Wide directories against the real rsync. Where a directory that was there before the run has
// RINGKIT_SYNC_LOOKAHEAD's entries or more (32 by default; 150 here), ringsync's worker thread
// reads it and looks up every source name in it while the home thread stats the source
// (Syncer::dest_look_ahead), and the items are then decided on what the worker found. So each
// case changes the source and, apart, the destinations (the same change in rsync's and
// ringsync's), and compares every run with rsync line by line and tree by tree: a first copy,
// a no-op, a re-sync after source changes, one after destination changes; and the dry runs.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "support/rsync_diff.h"
#include "support/tree.h"

namespace ringkit::testing {
namespace {

std::string numbered(const char* prefix, int i) {
  char name[16];
  std::snprintf(name, sizeof name, "%s%03d", prefix, i);
  return name;
}

void set_mtime(const std::string& path, long long seconds) {
  struct timespec times[2] = {{seconds, 0}, {seconds, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW), 0) << path;
}

class RingsyncLookAhead : public OptionsOnSrcTest<> {
 protected:
  RingsyncLookAhead() : OptionsOnSrcTest("ringsync-look-ahead"), wide_(src_ + "/wide") {}
  void SetUp() override {
    std::filesystem::create_directories(wide_);
    for (int i = 0; i < 120; ++i) write_file(wide_ + "/" + numbered("f", i), std::string(13 * i, 'a' + i % 26));
    for (int i = 0; i < 10; ++i) {
      ASSERT_EQ(::symlink(numbered("f", i).c_str(), (wide_ + "/" + numbered("l", i)).c_str()), 0);
      std::filesystem::create_directories(wide_ + "/" + numbered("d", i));
      write_file(wide_ + "/" + numbered("d", i) + "/inner", "inner " + std::to_string(i) + "\n");
    }
    for (int i = 0; i < 10; ++i) ASSERT_EQ(::mkfifo((wide_ + "/" + numbered("p", i)).c_str(), 0640), 0);
    write_file(src_ + "/top", "a small directory above the wide one\n");
    pin_recent_times(runs_.base(), 0, 1700000000);
  }

  // Every kind of change a quick check, an attribute or a type decides on.
  void change_source() override {
    for (int i = 10; i < 20; ++i) write_file(wide_ + "/" + numbered("f", i), std::string(13 * i, '#'));  // same size
    for (int i = 20; i < 25; ++i) write_file(wide_ + "/" + numbered("f", i), "now another size\n");
    for (int i = 25; i < 30; ++i) ASSERT_EQ(::chmod((wide_ + "/" + numbered("f", i)).c_str(), 0751), 0);
    for (int i = 30; i < 35; ++i) set_mtime(wide_ + "/" + numbered("f", i), 1600000000);  // times only
    std::filesystem::remove(wide_ + "/f050");
    std::filesystem::create_directories(wide_ + "/f050");  // a file became a directory
    write_file(wide_ + "/f050/in", "in\n");
    std::filesystem::remove_all(wide_ + "/d003");
    write_file(wide_ + "/d003", "a directory became a file\n");
    std::filesystem::remove(wide_ + "/l002");
    write_file(wide_ + "/l002", "a symlink became a file\n");
    std::filesystem::remove(wide_ + "/f060");
    ASSERT_EQ(::symlink("f061", (wide_ + "/f060").c_str()), 0);  // a file became a symlink
    std::filesystem::remove(wide_ + "/p004");
    write_file(wide_ + "/p004", "a FIFO became a file\n");
    for (int i = 70; i < 75; ++i) std::filesystem::remove(wide_ + "/" + numbered("f", i));
    for (int i = 0; i < 5; ++i) write_file(wide_ + "/" + numbered("n", i), "new " + std::to_string(i) + "\n");
    pin_recent_times(runs_.base(), 1700000000, 1700001000);
  }
  // --existing makes nothing new: both destinations start as copies made by rsync -a.
  void seed_for_existing() {
    if (!has_option(words(GetParam()), "--existing")) return;
    for (const char* copy : {"/r/", "/g/"}) {
      RunResult seeded = run_program({"rsync", "-a", src_ + "/", runs_.base() + copy});
      ASSERT_EQ(seeded.exit_code, 0) << seeded.err;
    }
  }
  // What the worker finds and the source does not say: the same changes in both copies.
  void change_destinations() {
    for (const char* copy : {"/r/wide/", "/g/wide/"}) {
      std::string d = runs_.base() + copy;
      ASSERT_EQ(::chmod((d + "f080").c_str(), 0600), 0);
      std::filesystem::remove(d + "f081");
      set_mtime(d + "f082", 1500000000);
      ASSERT_EQ(::lchown((d + "f083").c_str(), 1234, 4321), 0);
      write_file(d + "f084", std::string(13 * 84, '!'));  // other bytes, the same size and time
      set_mtime(d + "f084", 1700000000);
      std::filesystem::remove(d + "f085");
      std::filesystem::create_directories(d + "f085");  // an empty directory in a file's place
      std::filesystem::remove(d + "f086");
      ASSERT_EQ(::symlink("elsewhere", (d + "f086").c_str()), 0);
      std::filesystem::remove_all(d + "d005");
      write_file(d + "d005", "a file in a directory's place\n");
      write_file(d + "extra", "only in the destination\n");
      set_mtime(d + "extra", 1700000000);
    }
  }

  std::string wide_;
};

TEST_P(RingsyncLookAhead, RunsAsRsyncAfterSourceAndDestinationChanges) {
  SCOPED_TRACE(label());
  seed_for_existing();
  runs_.first_noop_resync(args(), compare(), [this] { change_source(); });
  change_destinations();
  runs_.run_both(args(), "re-sync after destination changes");
  runs_.expect_same_trees(compare());
  runs_.run_both(args(), "no-op after that");
}

TEST_P(RingsyncLookAhead, DryRunPrintsWhatTheRealRunDoes) {
  SCOPED_TRACE(label());
  seed_for_existing();
  runs_.run_both(args(), "first copy");
  runs_.expect_dry_run_matches(args());
  change_source();
  runs_.expect_dry_run_matches(args());
  change_destinations();
  runs_.expect_dry_run_matches(args());
}

INSTANTIATE_TEST_SUITE_P(Options, RingsyncLookAhead,
                         ::testing::Values("-ai", "-ai --delete", "-ai --delete-after --force", "-aic", "-ai --size-only",
                                           "-aiu", "-ai --existing", "-ai --ignore-existing", "-ai --inplace",
                                           "-rlDi", "-aiI", "-ai --modify-window=1000"),
                         ParamTestName());

}  // namespace
}  // namespace ringkit::testing
