// --partial-dir (and the bare --partial, and RSYNC_PARTIAL_DIR) against the real rsync: a copy
// interrupted half-way through a big file keeps what was written from the start of the file in
// the partial dir, the file itself keeps its old version, and the next run replaces the file
// and removes the partial file and, once empty, the partial dir. The interruption is exact: the
// copy's reads of the big file are held (fanotify) and SIGTERM is sent before the third one.
// Also: a full disk keeps the partial file the same way, the partial dir's filter rule (not
// sent, not deleted unless its directory is), and a planted symlink where the partial dir goes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/rsync_diff.h"
#include "support/tree.h"

namespace ringkit::testing {
namespace {

// Large enough that a kernel copy (copy_file_range in 4 MiB pieces, one read check each) still
// reads it in more than three steps.
constexpr size_t kBig = 16u << 20;

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Distinct content per version, so that a prefix can be told apart.
std::string version_of(int v, size_t size) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>('a' + (i / 4096 + static_cast<size_t>(v) * 7) % 26);
  return s;
}

void set_mtime(const std::string& path, long long sec) {
  timespec t[2] = {{sec, 0}, {sec, 0}};
  ::utimensat(AT_FDCWD, path.c_str(), t, AT_SYMLINK_NOFOLLOW);
}

class RingsyncPartial : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "holding reads with fanotify needs CAP_SYS_ADMIN";
    base_ = make_temp_dir("ringsync-partial");
    src_ = base_ + "/src";
    std::filesystem::create_directories(src_ + "/sub");
    write_file(src_ + "/a", "small\n");
    write_file(src_ + "/sub/big", version_of(1, kBig));
    set_mtime(src_ + "/sub/big", 1600000000);
    for (const char* d : {"/r/", "/g/"}) ASSERT_EQ(run_sync("rsync", {"-a"}, src_ + "/", base_ + d).exit_code, 0);
    write_file(src_ + "/sub/big", version_of(2, kBig));
    set_mtime(src_ + "/sub/big", 1600000100);
  }
  void TearDown() override {
    if (!base_.empty()) remove_tree(base_);
  }

  // Runs argv, held at the third read of sub/big, where it gets SIGTERM.
  RunResult interrupted(const std::vector<std::string>& argv) {
    ReadGate gate(src_ + "/sub/big");
    if (!gate.error().empty()) {
      why_ = gate.error();
      return {};
    }
    Spawned p = spawn_program(argv);
    RunResult r = wait_program(p, gate.fd(), [&] {
      gate.serve([&](int n) {
        if (n == 3) ::kill(p.pid, SIGTERM);
      });
    });
    EXPECT_GE(gate.reads(), 3) << "the copy of sub/big was not held at its third read";
    return r;
  }

  // What an interrupted run left: the file's old version, and in `partial` a true prefix of the
  // new one (or nothing, when `kept` is false).
  void expect_kept(const std::string& dest, const std::string& partial, bool kept) {
    EXPECT_EQ(read_all(dest + "/sub/big"), version_of(1, kBig)) << "the file itself was changed";
    if (!kept) {
      EXPECT_FALSE(std::filesystem::exists(partial)) << partial;
      return;
    }
    std::string part = read_all(partial);
    EXPECT_GT(part.size(), 0u) << partial;
    EXPECT_LT(part.size(), kBig) << partial;
    EXPECT_TRUE(version_of(2, kBig).starts_with(part)) << partial << " is not a prefix of the new version";
    struct stat st {};
    ::stat(partial.c_str(), &st);
    EXPECT_NE(st.st_mtime, 1600000100) << "a partial file must not look up to date";
  }

  std::string base_, src_, why_;
};

TEST_F(RingsyncPartial, InterruptedCopyKeepsAPrefixInThePartialDirAndTheNextRunCleansUp) {
  std::vector<std::string> opts = {"-ai", "--partial-dir=.pp"};
  std::vector<std::string> r = {"rsync"}, g = {ringsync_program()};
  r.insert(r.end(), opts.begin(), opts.end());
  g.insert(g.end(), opts.begin(), opts.end());
  r.insert(r.end(), {src_ + "/", base_ + "/r/"});
  g.insert(g.end(), {src_ + "/", base_ + "/g/"});
  RunResult rr = interrupted(r);
  if (!why_.empty()) GTEST_SKIP() << "cannot hold reads: " << why_;
  RunResult gr = interrupted(g);
  EXPECT_EQ(rr.exit_code, 20) << rr.err;
  EXPECT_EQ(gr.exit_code, 20) << gr.err;
  expect_kept(base_ + "/r", base_ + "/r/sub/.pp/big", true);
  expect_kept(base_ + "/g", base_ + "/g/sub/.pp/big", true);
  EXPECT_TRUE(temp_files(snapshot(base_ + "/g")).empty()) << indent_lines(temp_files(snapshot(base_ + "/g")));
  struct stat pp {};
  ASSERT_EQ(::stat((base_ + "/g/sub/.pp").c_str(), &pp), 0);
  EXPECT_EQ(pp.st_mode & 07777, 0700u) << "rsync makes the partial dir private";

  // The next run replaces the file and cleans up, as rsync's does. (Where the partial dir was
  // made, an interrupted rsync may leave its directory's time changed, which its next run
  // mends with a ".d..t......" line; ringsync set it right before it stopped.)
  RunResult r2 = run_sync("rsync", opts, src_ + "/", base_ + "/r/");
  RunResult g2 = run_sync(ringsync_program(), opts, src_ + "/", base_ + "/g/");
  for (RunResult* run : {&r2, &g2}) {
    std::string kept;
    for (const std::string& line : split_lines(run->out)) {
      if (!line.starts_with(".d..t...... ")) kept += line + "\n";
    }
    run->out = kept;
  }
  expect_same_run(r2, g2, "");
  EXPECT_FALSE(std::filesystem::exists(base_ + "/g/sub/.pp"));
  EXPECT_EQ(read_all(base_ + "/g/sub/big"), version_of(2, kBig));
  SnapshotOptions cmp;
  cmp.dir_times = false;  // (rsync leaves the times of the directories the partial dir was in)
  for (const auto& d : compare_trees(snapshot(base_ + "/r"), snapshot(base_ + "/g"), cmp)) ADD_FAILURE() << d;
  for (const auto& d : compare_trees(snapshot(src_), snapshot(base_ + "/g"), {})) ADD_FAILURE() << "vs source: " << d;
}

TEST_F(RingsyncPartial, AbsolutePartialDirHoldsTheFileByNameAndStays) {
  std::string dir = base_ + "/held";
  RunResult gr = interrupted({ringsync_program(), "-a", "--partial-dir=" + dir, src_ + "/", base_ + "/g/"});
  if (!why_.empty()) GTEST_SKIP() << "cannot hold reads: " << why_;
  EXPECT_EQ(gr.exit_code, 20) << gr.err;
  expect_kept(base_ + "/g", dir + "/big", true);
  RunResult again = run_sync(ringsync_program(), {"-a", "--partial-dir=" + dir}, src_ + "/", base_ + "/g/");
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_FALSE(std::filesystem::exists(dir + "/big"));
  EXPECT_TRUE(std::filesystem::is_directory(dir)) << "an absolute partial dir is the user's: it stays";
}

TEST_F(RingsyncPartial, RsyncPartialDirFromTheEnvironment) {
  RunResult gr = interrupted({"env", "RSYNC_PARTIAL_DIR=.from-env", ringsync_program(), "-a", "--partial", src_ + "/",
                              base_ + "/g/"});
  if (!why_.empty()) GTEST_SKIP() << "cannot hold reads: " << why_;
  EXPECT_EQ(gr.exit_code, 20) << gr.err;
  expect_kept(base_ + "/g", base_ + "/g/sub/.from-env/big", true);
}

// A bare --partial: rsync would leave the prefix under the file's own name (a half-written
// file under its final name, which a local, whole-file copy never reuses). ringsync keeps the
// old version and nothing else: documented in the man page.
TEST_F(RingsyncPartial, BarePartialNeverLeavesAHalfWrittenFileUnderItsName) {
  RunResult gr = interrupted({ringsync_program(), "-a", "--partial", src_ + "/", base_ + "/g/"});
  if (!why_.empty()) GTEST_SKIP() << "cannot hold reads: " << why_;
  EXPECT_EQ(gr.exit_code, 20) << gr.err;
  expect_kept(base_ + "/g", base_ + "/g/sub/.pp/big", false);
  EXPECT_TRUE(temp_files(snapshot(base_ + "/g")).empty());
  RunResult rr = interrupted({"rsync", "-a", "--partial", src_ + "/", base_ + "/r/"});
  std::cout << "[ partial  ] rsync --partial, interrupted, left sub/big at " << std::filesystem::file_size(base_ + "/r/sub/big")
            << " of " << kBig << " bytes (exit " << rr.exit_code << ")\n";
}

// A symlink planted where the partial dir goes is not followed: the partial file is dropped.
TEST_F(RingsyncPartial, PlantedSymlinkAsThePartialDirIsNotFollowed) {
  std::filesystem::create_directories(base_ + "/outside");
  ASSERT_EQ(::symlink((base_ + "/outside").c_str(), (base_ + "/g/sub/.pp").c_str()), 0);
  RunResult gr = interrupted({ringsync_program(), "-a", "--partial-dir=.pp", src_ + "/", base_ + "/g/"});
  if (!why_.empty()) GTEST_SKIP() << "cannot hold reads: " << why_;
  EXPECT_EQ(gr.exit_code, 20) << gr.err;
  EXPECT_NE(gr.err.find("Unable to create partial-dir for sub/big"), std::string::npos) << gr.err;
  EXPECT_TRUE(items_below(base_ + "/outside").empty());
  EXPECT_EQ(read_all(base_ + "/g/sub/big"), version_of(1, kBig));
}

// A full disk (a 4 MiB tmpfs) stops the copy with exit 11 and keeps the partial file too.
TEST(RingsyncPartialDisk, FullDiskKeepsThePartialFileAsRsyncDoes) {
  if (geteuid() != 0) GTEST_SKIP() << "mounting a small tmpfs needs root";
  std::string base = make_temp_dir("ringsync-partial-full");
  ScopedTempTree cleanup{base};
  std::filesystem::create_directories(base + "/src");
  write_file(base + "/src/big", version_of(3, kBig));
  std::vector<std::string> mounts;
  for (const char* d : {"/r", "/g"}) {
    std::filesystem::create_directories(base + d);
    if (::mount("tmpfs", (base + d).c_str(), "tmpfs", 0, "size=4m") != 0) {
      for (const auto& m : mounts) ::umount2(m.c_str(), MNT_DETACH);
      GTEST_SKIP() << "mount tmpfs: " << std::strerror(errno);
    }
    mounts.push_back(base + d);
  }
  RunResult rr = run_sync("rsync", {"-a", "--partial-dir=.pp"}, base + "/src/", base + "/r/");
  RunResult gr = run_sync(ringsync_program(), {"-a", "--partial-dir=.pp"}, base + "/src/", base + "/g/");
  EXPECT_EQ(gr.exit_code, 11) << gr.err;
  EXPECT_EQ(gr.exit_code, rr.exit_code) << rr.err;
  for (const char* d : {"/r", "/g"}) {
    std::string part = read_all(base + d + "/.pp/big");
    EXPECT_GT(part.size(), 0u) << d;
    EXPECT_TRUE(version_of(3, kBig).starts_with(part)) << d;
    EXPECT_FALSE(std::filesystem::exists(base + d + "/big")) << d;
  }
  for (const auto& m : mounts) ::umount2(m.c_str(), MNT_DETACH);
}

// rsync's "-p DIR/" rule for a relative partial dir: the source's partial dirs are not sent,
// the destination's are not deleted by --delete, unless the directory holding one is deleted.
TEST(RingsyncPartialFilter, PartialDirsAreNeitherSentNorDeletedAsWithRsync) {
  std::string base = make_temp_dir("ringsync-partial-filter");
  ScopedTempTree cleanup{base};
  std::filesystem::create_directories(base + "/src/sub/.pp");
  std::filesystem::create_directories(base + "/src/.pp");
  write_file(base + "/src/f", "f\n");
  write_file(base + "/src/.pp/not-sent", "x\n");
  write_file(base + "/src/sub/.pp/not-sent-either", "x\n");
  pin_recent_times(base + "/src", 0, 1600000000);
  for (const char* d : {"/r", "/g"}) {
    std::filesystem::create_directories(base + d + "/.pp");
    std::filesystem::create_directories(base + d + "/sub/.pp");
    std::filesystem::create_directories(base + d + "/gone/.pp");
    write_file(base + d + "/.pp/f", "partial\n");
    write_file(base + d + "/sub/.pp/old", "partial\n");
    write_file(base + d + "/gone/.pp/g", "partial\n");
    write_file(base + d + "/extra", "extra\n");
    // Written a moment apart for r/ and g/, maybe in two seconds: the kept ones are compared.
    pin_recent_times(base + d, 0, 1600000000);
  }
  for (const char* opts : {"-ai --partial-dir=.pp --delete", "-ai --partial-dir=.pp --delete-after",
                           "-ai --delay-updates --partial-dir=.pp --delete"}) {
    SCOPED_TRACE(opts);
    RunResult rr = run_sync("rsync", words(opts), base + "/src/", base + "/r/");
    RunResult gr = run_sync(ringsync_program(), words(opts), base + "/src/", base + "/g/");
    expect_same_run(rr, gr, "");
    SnapshotOptions cmp;
    cmp.dir_times = false;
    for (const auto& d : compare_trees(snapshot(base + "/r"), snapshot(base + "/g"), cmp)) ADD_FAILURE() << d;
  }
  EXPECT_FALSE(std::filesystem::exists(base + "/g/.pp/not-sent"));
}

// A file named as the source (a single file, several files, one renamed by DEST) has its stale
// partial file removed too, as in a directory: rsync drops the partial file of the name it
// writes, whether the file was up to date or copied, and the relative partial dir once empty;
// another name's partial file stays. (Regression test: ringsync looked for partial files only
// in the directories it walked, so a named file's stayed.)
TEST(RingsyncPartialNamedFiles, StalePartialFilesGoAsWithRsync) {
  DiffRuns runs("ringsync-partial-named");
  std::string src = runs.base() + "/src";
  std::filesystem::create_directories(src);
  write_file(src + "/file", "the whole file\n");
  write_file(src + "/other", "another file\n");
  pin_recent_times(src, 0, 1600000000);
  struct Case {
    std::vector<std::string> sources;
    const char* dest;
    bool up_to_date;
  };
  const Case cases[] = {{{"src/file"}, "", true},
                        {{"src/file"}, "", false},
                        {{"src/file"}, "renamed", false},
                        {{"src/file", "src/other"}, "", false}};
  for (const char* partial : {".pp", "ABS"}) {
    for (const Case& c : cases) {
      std::vector<std::string> args = {"-ai"};
      args.insert(args.end(), c.sources.begin(), c.sources.end());
      std::string label = std::string("--partial-dir=") + partial;
      for (const std::string& source : c.sources) label += " " + source;
      SCOPED_TRACE(label + " DEST/" + c.dest + (c.up_to_date ? ", up to date" : ""));
      std::string pdir[2], option[2];
      int side = 0;
      for (const char* dest : {"/r", "/g"}) {
        std::string d = runs.base() + dest;
        remove_tree(d);
        std::filesystem::create_directories(d);
        bool absolute = partial == std::string("ABS");
        std::string p = absolute ? runs.base() + "/partial" + dest : d + "/.pp";
        remove_tree(p);
        std::filesystem::create_directories(p);
        for (const char* name : {"file", "other", "renamed", "unrelated"}) write_file(p + "/" + name, "stale\n");
        if (c.up_to_date) std::filesystem::copy(src + "/file", d + "/file");
        pin_recent_times(d, 0, 1600000000);
        pdir[side] = p;
        option[side++] = "--partial-dir=" + (absolute ? p : std::string(partial));
      }
      std::vector<std::string> r_args = args, g_args = args;
      r_args.insert(r_args.begin(), option[0]);
      g_args.insert(g_args.begin(), option[1]);
      RunResult rr = runs.run_rsync(r_args, runs.base() + "/r/" + c.dest);
      RunResult gr = runs.run_ringsync(g_args, runs.base() + "/g/" + c.dest);
      expect_same_run(rr, gr, "");
      EXPECT_EQ(items_below(pdir[1]), items_below(pdir[0])) << "what is left in the partial dir";
      SnapshotOptions cmp;
      cmp.dir_times = false;
      runs.expect_same_trees(cmp);
    }
  }
}

}  // namespace
}  // namespace ringkit::testing
