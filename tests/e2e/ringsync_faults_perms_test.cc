// Fault injection for ringsync: permission errors, with both tools run as an unprivileged user
// (uid/gid 65534) in a forked child, since the tests run as root who may read everything.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>

#include "support/rsync_diff.h"
#include "support/tree.h"

namespace ringkit::testing {
namespace {

const std::string kRingsync = std::string(RINGKIT_BIN_DIR) + "/ringsync";
constexpr uid_t kNobody = 65534;

// Whether some line of `text` holds every one of `parts`.
bool has_line_with(const std::string& text, std::initializer_list<const char*> parts) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    bool all = true;
    for (const char* p : parts) all &= line.find(p) != std::string::npos;
    if (all) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Unreadable source items. Both tools run as nobody (65534) over a tree nobody owns, with one file and one directory of mode 000.
// rsync reports both, copies the rest and exits 23; it also creates the unreadable directory
// (empty, mode 000 at the end) and itemizes it, because the directory itself was listed and
// stat'ed fine — only its contents could not be read.

class RingsyncFaultsPermissions : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to give the tree to uid 65534 and drop to it";
    base_ = make_temp_dir("ringsync-perm");
    ::chmod(base_.c_str(), 0755);  // nobody must reach inside
    src_ = base_ + "/src";
    std::filesystem::create_directories(src_ + "/sub");
    std::filesystem::create_directories(src_ + "/locked");
    std::filesystem::create_directories(base_ + "/out");
    write_file(src_ + "/ok", "readable\n");
    write_file(src_ + "/sub/x", "also readable\n");
    write_file(src_ + "/secret", "unreadable\n");
    write_file(src_ + "/locked/inner", "behind a locked door\n");
    for (const auto& e : std::filesystem::recursive_directory_iterator(base_)) {
      ::lchown(e.path().c_str(), kNobody, kNobody);
    }
    ::chmod((src_ + "/secret").c_str(), 0);
    ::chmod((src_ + "/locked").c_str(), 0);
    rsync_ = run_program_as({"rsync", "-ai", src_ + "/", base_ + "/out/r/"}, kNobody, kNobody);
    ringsync_ = run_program_as({kRingsync, "-ai", src_ + "/", base_ + "/out/g/"}, kNobody, kNobody);
  }
  void TearDown() override {
    if (!base_.empty()) remove_deep_tree(base_);
  }

  std::string base_, src_;
  RunResult rsync_, ringsync_;
};

TEST_F(RingsyncFaultsPermissions, UnreadableItemsAreReportedTheRestCopiedExit23) {
  EXPECT_EQ(rsync_.exit_code, 23) << "rsync, the reference, said:\n" << rsync_.err;
  EXPECT_EQ(ringsync_.exit_code, 23) << ringsync_.err;
  EXPECT_TRUE(has_line_with(ringsync_.err, {"\"secret\"", "Permission denied"})) << ringsync_.err;
  EXPECT_TRUE(has_line_with(ringsync_.err, {"locked", "Permission denied"})) << ringsync_.err;

  // Everything readable is there, exactly; nothing of the unreadable file.
  TreeState expected = snapshot(src_), copy = snapshot(base_ + "/out/g");
  for (const char* unreadable : {"secret", "locked", "locked/inner"}) expected.erase(unreadable);
  copy.erase("locked");  // whether the empty directory is made is the next test's business
  SnapshotOptions cmp;
  cmp.nanoseconds = true;
  cmp.dir_times = false;  // "." holds "locked" in the source
  auto diffs = compare_trees(expected, copy, cmp);
  EXPECT_TRUE(diffs.empty()) << indent_lines(diffs);
}

// rsync makes a directory whose contents it cannot read, prints "cd+++++++++ locked/" and gives it
// the source's mode at the end (regression test: ringsync once skipped it entirely).
TEST_F(RingsyncFaultsPermissions, UnreadableDirectoryIsCreatedAndItemizedAsRsyncDoes) {
  std::string rsync_out = rsync_.out;
  size_t dest = rsync_out.find(base_ + "/out/r");  // "created directory DEST" names another DEST
  if (dest != std::string::npos) rsync_out.replace(dest, base_.size() + 6, base_ + "/out/g");
  EXPECT_EQ(ringsync_.out, rsync_out);
  SnapshotOptions cmp;
  auto diffs = compare_trees(snapshot(base_ + "/out/r"), snapshot(base_ + "/out/g"), cmp);
  EXPECT_TRUE(diffs.empty()) << "rsync's copy vs ringsync's:\n" << indent_lines(diffs);
}

// Source directories that nobody may write to but not read whole: "noread" (0311: no listing)
// and "noexec" (0644: no entering), beside "locked" (000) and a readable "ok". Each case runs
// both tools as nobody into a destination of its own.
// - rsync, not root, gives every directory its owner's rwx while it writes inside and gives the
//   mode back at the end only where the owner lacks write permission, so noread and noexec end
//   up 0711 and 0744 (locked stays 000).
// - Where it does not walk a directory (-d, a --files-from list without -r), it does not open
//   it either: no error, exit 0.
// - A readable "ro" (0555) keeps its owner's rwx until --delete-after/-delay have deleted in it.
// - With --ignore-errors, what it could not list is an empty directory to --delete, and
//   everything in its destination goes.
// (Regression test: ringsync kept 0311 and 0644, and opened them under -d, failing with 23;
// it failed to delete in ro after the transfer, and deleted nothing in an unreadable directory.)
struct UnreadableDirsCase {
  const char* args;
  int rsync_exit;  // what rsync 3 gives, asserted so that a change there is seen
};
void PrintTo(const UnreadableDirsCase& c, std::ostream* os) { *os << c.args; }

class RingsyncUnreadableDirs : public ::testing::TestWithParam<UnreadableDirsCase> {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to give the tree to uid 65534 and drop to it";
    base_ = make_temp_dir("ringsync-unreadable-dirs");
    ::chmod(base_.c_str(), 0755);
    src_ = base_ + "/src";
    for (const char* d : {"/noread", "/noexec", "/locked", "/ok", "/ro"}) {
      std::filesystem::create_directories(src_ + d);
      write_file(src_ + d + "/f", "behind the door\n");
    }
    write_file(base_ + "/list", "noread\nnoexec\nlocked\nok/f\n");
    // An old time, so that a directory whose time a deletion changes shows it in both tools,
    // whichever second each runs in (the destinations' times are pinned to the same below).
    pin_recent_times(src_, 0, 1600000000);
    // Extraneous items for the --delete cases: at the top, in a readable directory, and in
    // ones the source cannot show (rsync deletes none with --delete-before or -after, having
    // found the I/O error first). Plain --delete is not a case: rsync deletes during the
    // transfer up to the point where its generator hears of the error from its sender, which
    // varies from run to run.
    for (const char* side : {"/r", "/g"}) {
      for (const char* d : {"/ok", "/locked", "/noexec", "/ro"}) std::filesystem::create_directories(base_ + side + d);
      for (const char* f : {"/zz", "/ok/old", "/locked/old", "/noexec/old", "/ro/old"}) {
        write_file(base_ + side + f, "old\n");
      }
      // (What a case keeps must not differ by the second it was written in.)
      pin_recent_times(base_ + side, 0, 1600000000);
    }
    for (const auto& e : std::filesystem::recursive_directory_iterator(base_)) {
      ::lchown(e.path().c_str(), kNobody, kNobody);
    }
    ::chmod((src_ + "/noread").c_str(), 0311);
    ::chmod((src_ + "/noexec").c_str(), 0644);
    ::chmod((src_ + "/locked").c_str(), 0);
    ::chmod((src_ + "/ro").c_str(), 0555);
  }
  void TearDown() override {
    if (!base_.empty()) remove_deep_tree(base_);
  }

  std::string base_, src_;
};

TEST_P(RingsyncUnreadableDirs, TreeLinesAndExitCodeAsRsync) {
  std::vector<std::string> args = words_with(GetParam().args, {{"LIST", base_ + "/list"}});
  auto run = [&](const std::string& program, const char* side) {
    std::vector<std::string> argv{program};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back(src_ + "/");
    argv.push_back(base_ + side + "/");
    return run_program_as(argv, kNobody, kNobody);
  };
  RunResult rsync = run("rsync", "/r"), ringsync = run(ringsync_program(), "/g");
  EXPECT_EQ(rsync.exit_code, GetParam().rsync_exit) << "rsync, the reference, said:\n" << rsync.err;
  expect_same_run(rsync, ringsync, GetParam().args);
  // Times that neither keeps (no -t; DEST itself under --files-from, which is no item) are
  // those of the writes, which may fall into different seconds.
  SnapshotOptions options;
  std::string first = args.front();
  options.times = first.find_first_of("at") != std::string::npos;
  auto diffs = compare_trees(snapshot(base_ + "/r"), snapshot(base_ + "/g"), options);
  std::erase_if(diffs, [](const std::string& d) { return d.starts_with(".: mtime"); });
  EXPECT_TRUE(diffs.empty()) << "rsync's copy vs ringsync's:\n" << indent_lines(diffs);
}

INSTANTIATE_TEST_SUITE_P(Cases, RingsyncUnreadableDirs,
                         ::testing::Values(UnreadableDirsCase{"-ai", 23}, UnreadableDirsCase{"-ri", 23},
                                           UnreadableDirsCase{"-dpti", 0},
                                           UnreadableDirsCase{"-ai --files-from=LIST", 0},
                                           UnreadableDirsCase{"-ai --delete-before", 23},
                                           UnreadableDirsCase{"-ai --delete-before -H", 23},
                                           UnreadableDirsCase{"-ai --delete-after", 23},
                                           UnreadableDirsCase{"-ai --delete-before --ignore-errors", 23},
                                           UnreadableDirsCase{"-ai --delete-after --ignore-errors", 23},
                                           UnreadableDirsCase{"-ai --delete-delay --ignore-errors", 23}),
                         [](const ::testing::TestParamInfo<UnreadableDirsCase>& param) {
                           return param_test_name(param.param.args, param.index);
                         });

// Not root, --delete-after/-delay: a source directory its owner may not write to (0555, and
// 0500 below it) is given its mode only once the late deletions in it are done, as rsync gives
// its directories their modes in its final touch-up.
// (Regression test: ringsync set the mode first and then failed to delete in it, exit 23.)
TEST(RingsyncLateDeletionsNonRoot, ReadOnlyDirectoriesAreDeletedInThenGetTheirModes) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to give the tree to uid 65534 and drop to it";
  std::string base = make_temp_dir("ringsync-late-ro");
  ScopedTempTree cleanup{base};
  ::chmod(base.c_str(), 0755);
  std::filesystem::create_directories(base + "/src/ro/inner");
  write_file(base + "/src/ro/f", "kept\n");
  write_file(base + "/src/ro/inner/g", "kept\n");
  for (const auto& e : std::filesystem::recursive_directory_iterator(base)) ::lchown(e.path().c_str(), kNobody, kNobody);
  ::chmod((base + "/src/ro").c_str(), 0555);
  ::chmod((base + "/src/ro/inner").c_str(), 0500);
  for (const char* spec : {"-ai --delete-after", "-ai --delete-delay", "-ai --delete-after -n"}) {
    SCOPED_TRACE(spec);
    for (const char* side : {"/r", "/g"}) {
      std::string d = base + side;
      remove_tree(d);  // (as root, whatever the modes)
      std::filesystem::create_directories(d + "/ro/inner");
      write_file(d + "/ro/old", "old\n");
      write_file(d + "/ro/inner/old", "old\n");
      for (const char* p : {"", "/ro", "/ro/inner", "/ro/old", "/ro/inner/old"}) ::lchown((d + p).c_str(), kNobody, kNobody);
    }
    std::vector<std::string> args = words(spec);
    auto run = [&](const std::string& program, const char* side) {
      std::vector<std::string> argv{program};
      argv.insert(argv.end(), args.begin(), args.end());
      argv.push_back(base + "/src/");
      argv.push_back(base + side + "/");
      return run_program_as(argv, kNobody, kNobody);
    };
    RunResult rsync = run("rsync", "/r"), ringsync = run(kRingsync, "/g");
    EXPECT_EQ(rsync.exit_code, 0) << "rsync, the reference, said:\n" << rsync.err;
    expect_same_run(rsync, ringsync, spec);
    SnapshotOptions options;
    auto diffs = compare_trees(snapshot(base + "/r"), snapshot(base + "/g"), options);
    std::erase_if(diffs, [](const std::string& d) { return d.starts_with(".: mtime"); });
    EXPECT_TRUE(diffs.empty()) << "rsync's copy vs ringsync's:\n" << indent_lines(diffs);
  }
}

// A destination directory the user cannot write to (owned by root, mode 555, holding an old
// version of a file): the temp file cannot be created. rsync reports it ("mkstemp ... failed:
// Permission denied"), keeps the old file, goes on and exits 23. Its -i output still lists the
// file (">f.st...... sub/b"): in rsync the line is printed once the source has been opened and
// sent, whatever the receiving side then makes of it.

class RingsyncFaultsUnwritable : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to make a directory that uid 65534 cannot write to";
    base_ = make_temp_dir("ringsync-unwritable");
    ::chmod(base_.c_str(), 0755);
    std::filesystem::create_directories(base_ + "/src/sub");
    write_file(base_ + "/src/a", "a\n");
    write_file(base_ + "/src/sub/b", "new b\n");
    for (const char* item : {"/src", "/src/a", "/src/sub", "/src/sub/b"}) ::chown((base_ + item).c_str(), kNobody, kNobody);
    for (const char* side : {"/r", "/g"}) {
      std::string sub = base_ + side + "/sub";
      std::filesystem::create_directories(sub);
      write_file(sub + "/b", "old\n");
      ::chown((base_ + side).c_str(), kNobody, kNobody);
      ::chown((sub + "/b").c_str(), kNobody, kNobody);
      timespec t[2] = {{978307200, 0}, {978307200, 0}};  // 2001
      ::utimensat(AT_FDCWD, (sub + "/b").c_str(), t, 0);
      ::chmod(sub.c_str(), 0555);  // root's: nobody cannot create anything in it
    }
    old_ = snapshot(base_ + "/g");
    rsync_ = run_program_as({"rsync", "-ai", base_ + "/src/", base_ + "/r/"}, kNobody, kNobody);
    ringsync_ = run_program_as({kRingsync, "-ai", base_ + "/src/", base_ + "/g/"}, kNobody, kNobody);
  }
  void TearDown() override {
    if (!base_.empty()) remove_deep_tree(base_);
  }

  std::string base_;
  TreeState old_;
  RunResult rsync_, ringsync_;
};

TEST_F(RingsyncFaultsUnwritable, UnwritableDestinationIsReportedOldFileKeptExit23) {
  EXPECT_EQ(rsync_.exit_code, 23) << "rsync, the reference, said:\n" << rsync_.err;
  EXPECT_EQ(ringsync_.exit_code, 23) << ringsync_.err;
  EXPECT_TRUE(has_line_with(ringsync_.err, {"sub/", "b", "Permission denied"})) << ringsync_.err;
  TreeState now = snapshot(base_ + "/g");
  EXPECT_EQ(now["sub/b"].content_hash, old_["sub/b"].content_hash) << "the old version is gone";
  EXPECT_TRUE(temp_files(now).empty()) << indent_lines(temp_files(now));
  EXPECT_EQ(now["a"].size, 2) << "the writable part was not copied";
}

// rsync itemizes a transfer that then fails on the receiving side (temp file not made, write
// failed): the line is dropped only when the source itself could not be opened. (Regression
// test: ringsync once dropped the line on every failure.)
TEST_F(RingsyncFaultsUnwritable, FailedWriteIsStillItemizedAsRsyncDoes) {
  EXPECT_EQ(ringsync_.out, rsync_.out);
}

// ---------------------------------------------------------------------------------------------
// A second run as a user who is not root, over a tree owned by root: -a cannot give the copies
// root's owner or group, so rsync (not root) keeps neither and does not itemize them; its second
// run prints nothing.
// (Regression test: ringsync once itemized a group it could not set, on every run.)
TEST(RingsyncFaultsNonRoot, SecondRunOverRootsTreeIsQuiet) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to make a root-owned tree and drop to uid 65534";
  std::string base = make_temp_dir("ringsync-noop-user");
  ScopedTempTree cleanup{base};
  ::chmod(base.c_str(), 0755);
  std::filesystem::create_directories(base + "/src/d");
  write_file(base + "/src/a", "a\n");
  for (const char* side : {"/r", "/g"}) {
    std::filesystem::create_directories(base + side);
    ::chown((base + side).c_str(), kNobody, kNobody);
  }
  for (const auto& [tool, side] : {std::pair{std::string("rsync"), std::string("/r/")}, {kRingsync, "/g/"}}) {
    SCOPED_TRACE(tool);
    RunResult first = run_program_as({tool, "-a", base + "/src/", base + side}, kNobody, kNobody);
    EXPECT_EQ(first.exit_code, 0) << first.err;
    RunResult second = run_program_as({tool, "-ai", base + "/src/", base + side}, kNobody, kNobody);
    EXPECT_EQ(second.exit_code, 0) << second.err;
    EXPECT_EQ(second.out, "");
  }
}

}  // namespace
}  // namespace ringkit::testing
