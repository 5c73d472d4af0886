// Fault injection for ringsync, part 1: the run itself is interrupted or starved.
//  - SIGKILL at random moments, then a re-run;
//  - a full disk (a small tmpfs);
//  - source files that vanish between listing and copying.
// Each scenario runs the real rsync too where that shows what to expect (exit codes above all).
// Part 2 (ringsync_faults_paths_test.cc): permissions, symlinks in the destination, deep paths,
// a no-op second run.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/fanotify.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <random>
#include <sstream>
#include <tuple>

#include "support/tree.h"

namespace ringkit::testing {
namespace {

const std::string kRingsync = std::string(RINGKIT_BIN_DIR) + "/ringsync";

// tmpfs when there is one: the kill test writes 60 MiB per round.
std::string fast_temp_dir(const char* prefix) {
  return ::access("/dev/shm", W_OK) == 0 ? make_temp_dir_in("/dev/shm", prefix) : make_temp_dir(prefix);
}

// Removes a test's directory however the test ends (declare it before anything mounted inside).
struct RemoveOnExit {
  std::string path;
  ~RemoveOnExit() { remove_deep_tree(path); }
};

void set_mtime(const std::string& path, long long sec) {
  timespec t[2] = {{sec, 0}, {sec, 0}};
  ::utimensat(AT_FDCWD, path.c_str(), t, AT_SYMLINK_NOFOLLOW);
}

// Content that tells files (and versions of a file) apart: the tag, then a filler byte.
std::string content(const std::string& tag, size_t size, int version) {
  std::string s(size, static_cast<char>('a' + (version + static_cast<int>(tag.size())) % 26));
  s.replace(0, std::min(size, tag.size()), tag.substr(0, std::min(size, tag.size())));
  return s;
}

std::string lines_of(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& l : v) out += "  " + l + "\n";
  return out;
}

// ---------------------------------------------------------------------------------------------
// 1. SIGKILL at random moments.
//
// Each round starts ringsync, SIGKILLs it after a random delay within the time a whole run
// takes, and checks that no file is visible under its final name with content the source never
// had; then a re-run must exit 0, converge (the destination equals the source, times to the
// nanosecond) and leave no ".NAME.~rkXXXXXX" temp file. Even rounds copy into an empty
// destination (new files: O_TMPFILE + linkat); odd rounds change part of the source first and
// sync over the previous copy (replaced files: named temp + rename), where a file may hold the
// old or the new version, never a mix. Every other pair of rounds uses the threads backend
// (RINGKIT_BACKEND=threads), whose operations complete in another order than the ring's.

constexpr int kDirs = 20, kFilesPerDir = 100, kSmall = 4096, kBigFiles = 3;
constexpr size_t kBig = 20u << 20;

std::string small_path(int d, int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "d%02d/f%03d", d, i);
  return buf;
}

void build_kill_tree(const std::string& root) {
  std::filesystem::create_directories(root);
  for (int d = 0; d < kDirs; ++d) {
    std::filesystem::create_directories(root + "/" + small_path(d, 0).substr(0, 3));
    for (int i = 0; i < kFilesPerDir; ++i) write_file(root + "/" + small_path(d, i), content(small_path(d, i), kSmall, 0));
  }
  for (int b = 0; b < kBigFiles; ++b) write_file(root + "/big" + std::to_string(b), content("big" + std::to_string(b), kBig, 0));
}

// Rewrites a quarter of the small files and one big file with version `round`, with an mtime
// of their own (so that the quick check sees them changed whatever second it is).
void change_kill_tree(const std::string& root, int round) {
  for (int d = 0; d < kDirs; ++d) {
    for (int i = round % 4; i < kFilesPerDir; i += 4) {
      std::string p = root + "/" + small_path(d, i);
      write_file(p, content(small_path(d, i), kSmall + round, round));
      set_mtime(p, 1000000000 + round);
    }
  }
  std::string big = "big" + std::to_string(round % kBigFiles);
  write_file(root + "/" + big, content(big, kBig - static_cast<size_t>(round), round));
  set_mtime(root + "/" + big, 1000000000 + round);
}

TEST(RingsyncFaults, KilledAtRandomMomentsLeavesNoHalfWrittenFileAndRerunConverges) {
  std::string base = fast_temp_dir("ringsync-kill");
  RemoveOnExit cleanup{base};
  std::string src = base + "/src", dst = base + "/dst";
  build_kill_tree(src);
  const std::vector<std::string> args = {kRingsync, "-a", src + "/", dst + "/"};
  SnapshotOptions exact;
  exact.nanoseconds = true;

  // How long a whole run takes, for each kind of round, so that the kills land inside a run.
  // (Measured, never asserted.)
  auto timed_run = [&]() {
    auto start = std::chrono::steady_clock::now();
    RunResult r = run_program(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
  };
  long long full_us = timed_run();
  change_kill_tree(src, 1);
  long long update_us = timed_run();
  ASSERT_TRUE(compare_trees(snapshot(src), snapshot(dst), exact).empty()) << "a plain run does not even converge";

  std::mt19937 rng(20240611);  // fixed seed: the same fractions of a run every time
  int interrupted = 0, with_temps = 0;
  TreeState current = snapshot(src);
  for (int round = 2; round < 32; ++round) {
    bool update = round % 2 == 1;
    TreeState previous = current;
    if (update) {
      change_kill_tree(src, round);
      current = snapshot(src);
    } else {
      remove_tree(dst);
    }
    long long span = update ? update_us : full_us;
    long long delay = std::uniform_int_distribution<long long>(0, span)(rng);
    bool threads = round % 4 >= 2;
    SCOPED_TRACE("round " + std::to_string(round) + (update ? " (update" : " (fresh") +
                 (threads ? ", threads backend)" : ", uring backend)") + ", killed after " + std::to_string(delay) +
                 " us of ~" + std::to_string(span));
    std::vector<std::string> argv = args;
    // env execs ringsync in the same process: the kill still hits ringsync.
    argv.insert(argv.begin(), {"env", std::string("RINGKIT_BACKEND=") + (threads ? "threads" : "uring")});

    Spawned p = spawn_program(argv, false);
    ASSERT_GT(p.pid, 0);
    ::usleep(static_cast<useconds_t>(delay));
    int status = kill_program(p);
    TreeState killed = snapshot(dst);
    std::vector<const TreeState*> versions = {&current};
    if (update) versions.push_back(&previous);
    auto half = half_written_files(killed, versions);
    EXPECT_TRUE(half.empty()) << "visible under final names, half-written:\n" << lines_of(half);
    if (WIFSIGNALED(status) && !compare_trees(current, killed, exact).empty()) ++interrupted;
    if (!temp_files(killed).empty()) ++with_temps;

    RunResult again = run_program(argv);
    EXPECT_EQ(again.exit_code, 0) << again.err;
    TreeState done = snapshot(dst);
    auto diffs = compare_trees(current, done, exact);
    EXPECT_TRUE(diffs.empty()) << "the re-run did not converge:\n" << lines_of(diffs);
    EXPECT_TRUE(temp_files(done).empty()) << "temp files left:\n" << lines_of(temp_files(done));
    if (HasFailure()) break;  // one round's worth of failures says it all
  }
  std::cout << "[ kill     ] " << interrupted << " of 30 kills interrupted a run; " << with_temps
            << " left temp files for the re-run to clean (whole run ~" << full_us << " us, update ~" << update_us
            << " us)\n";
  // Not a timing assertion: a test whose kills all missed the run would have tested nothing.
  EXPECT_GT(interrupted, 0) << "no kill landed inside a run";
}

// ---------------------------------------------------------------------------------------------
// 2. A full disk: a 4 MiB tmpfs as the destination, a source of 6 MiB and more.
//
// ringsync must stop with exit 11 and a message naming the file, and leave nothing half
// written under a final name and no temp file; first for new files, then for files being
// replaced (the old versions must survive). rsync exits 11 too (its code is printed).

class MountedTmpfs {
 public:
  explicit MountedTmpfs(const std::string& path, const char* options = "size=4m") : path_(path) {
    std::filesystem::create_directories(path);
    if (::mount("tmpfs", path.c_str(), "tmpfs", 0, options) == 0) {
      mounted_ = true;
    } else {
      error_ = std::strerror(errno);
    }
  }
  ~MountedTmpfs() {
    if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
  }
  MountedTmpfs(const MountedTmpfs&) = delete;
  MountedTmpfs& operator=(const MountedTmpfs&) = delete;
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

 private:
  std::string path_;
  bool mounted_ = false;
  std::string error_;
};

void build_disk_tree(const std::string& root, size_t big_size, int version) {
  std::filesystem::create_directories(root + "/sub");
  for (int i = 1; i <= 3; ++i) {
    std::string name = "big" + std::to_string(i);
    write_file(root + "/" + name, content(name, big_size, version));
    set_mtime(root + "/" + name, 1000000000 + version);
  }
  for (int i = 0; i < 20; ++i) write_file(root + "/small" + std::to_string(i), content("s" + std::to_string(i), 1000, 0));
  write_file(root + "/sub/inner", "inner\n");
}

TEST(RingsyncFaults, FullDiskStopsWithExit11AndNoPartialFiles) {
  if (geteuid() != 0) GTEST_SKIP() << "mounting a small tmpfs needs root";
  std::string base = make_temp_dir("ringsync-enospc");
  RemoveOnExit cleanup{base};  // after the unmounts
  std::string src = base + "/src";
  build_disk_tree(src, 2u << 20, 1);  // 3 x 2 MiB + small files: more than 4 MiB
  MountedTmpfs g_mount(base + "/g"), r_mount(base + "/r");
  if (!g_mount.mounted() || !r_mount.mounted()) {
    std::string why = g_mount.mounted() ? r_mount.error() : g_mount.error();
    GTEST_SKIP() << "cannot mount a 4 MiB tmpfs as the destination: " << why;
  }
  TreeState source = snapshot(src);

  // New files.
  RunResult rr = run_program({"rsync", "-a", src + "/", base + "/r/dst/"});
  RunResult gr = run_program({kRingsync, "-a", src + "/", base + "/g/dst/"});
  std::cout << "[ ENOSPC   ] new files: rsync exits " << rr.exit_code << ", ringsync " << gr.exit_code << "\n";
  EXPECT_EQ(gr.exit_code, 11) << gr.err;
  EXPECT_NE(gr.err.find("No space left on device"), std::string::npos) << gr.err;
  EXPECT_TRUE(gr.err.find("\"big1\"") != std::string::npos || gr.err.find("\"big2\"") != std::string::npos ||
              gr.err.find("\"big3\"") != std::string::npos)
      << "the message does not name the file:\n" << gr.err;
  TreeState after = snapshot(base + "/g/dst");
  EXPECT_TRUE(half_written_files(after, {&source}).empty()) << lines_of(half_written_files(after, {&source}));
  EXPECT_TRUE(temp_files(after).empty()) << lines_of(temp_files(after));

  // Replaced files: small versions first (they fit), then big ones that do not.
  remove_tree(src);
  for (const char* side : {"/g/dst", "/r/dst"}) remove_tree(base + side);
  build_disk_tree(src, 100 << 10, 1);
  TreeState old_version = snapshot(src);
  ASSERT_EQ(run_program({"rsync", "-a", src + "/", base + "/r/dst/"}).exit_code, 0);
  RunResult first = run_program({kRingsync, "-a", src + "/", base + "/g/dst/"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  build_disk_tree(src, 2u << 20, 2);
  TreeState new_version = snapshot(src);
  rr = run_program({"rsync", "-a", src + "/", base + "/r/dst/"});
  gr = run_program({kRingsync, "-a", src + "/", base + "/g/dst/"});
  std::cout << "[ ENOSPC   ] replaced files: rsync exits " << rr.exit_code << ", ringsync " << gr.exit_code << "\n";
  EXPECT_EQ(gr.exit_code, 11) << gr.err;
  EXPECT_NE(gr.err.find("No space left on device"), std::string::npos) << gr.err;
  after = snapshot(base + "/g/dst");
  auto half = half_written_files(after, {&old_version, &new_version});
  EXPECT_TRUE(half.empty()) << lines_of(half);
  EXPECT_TRUE(temp_files(after).empty()) << "temp files left on the full disk:\n" << lines_of(temp_files(after));
  for (int i = 1; i <= 3; ++i) {
    std::string name = "big" + std::to_string(i);
    EXPECT_TRUE(after.count(name)) << name << ": the old version is gone and no new one took its place";
  }
}

// Out of inodes rather than blocks: creating the file fails, not writing it. rsync reports each
// file ("mkstemp ... failed: No space left on device") and goes on, exit 23; so must ringsync,
// and the files that fit must be there, complete.
TEST(RingsyncFaults, OutOfInodesReportsEachFileWithExit23AsRsync) {
  if (geteuid() != 0) GTEST_SKIP() << "mounting a small tmpfs needs root";
  std::string base = make_temp_dir("ringsync-inodes");
  RemoveOnExit cleanup{base};
  std::string src = base + "/src";
  std::filesystem::create_directories(src);
  for (int i = 0; i < 30; ++i) write_file(src + "/f" + std::to_string(i), content("f" + std::to_string(i), 100, 0));
  MountedTmpfs g_mount(base + "/g", "size=4m,nr_inodes=12"), r_mount(base + "/r", "size=4m,nr_inodes=12");
  if (!g_mount.mounted() || !r_mount.mounted()) {
    GTEST_SKIP() << "cannot mount a tmpfs with 12 inodes: " << (g_mount.mounted() ? r_mount.error() : g_mount.error());
  }
  RunResult rr = run_program({"rsync", "-a", src + "/", base + "/r/dst/"});
  RunResult gr = run_program({kRingsync, "-a", src + "/", base + "/g/dst/"});
  EXPECT_EQ(rr.exit_code, 23) << "rsync, the reference, said:\n" << rr.err;
  EXPECT_EQ(gr.exit_code, rr.exit_code) << gr.err;
  EXPECT_TRUE(gr.err.find("No space left on device") != std::string::npos) << gr.err;
  TreeState source = snapshot(src), copy = snapshot(base + "/g/dst");
  EXPECT_GT(copy.size(), 1u) << "nothing was copied";
  EXPECT_TRUE(half_written_files(copy, {&source}).empty()) << lines_of(half_written_files(copy, {&source}));
  EXPECT_TRUE(temp_files(copy).empty()) << lines_of(temp_files(copy));
}

// ---------------------------------------------------------------------------------------------
// 3. Files that vanish during the run, deterministically.
//
// A race with a deleting thread would only sometimes hit the window between listing and
// copying. Instead the test holds the window open with fanotify permission events: a process
// that lists a marked directory (getdents) is blocked in the kernel until this test answers, and
// the test deletes source items before it answers.
//  - The destination directory "v" exists, so ringsync lists it (stale temps, --delete) after
//    it has listed and stat'ed the source "v" and before it copies anything in it. On that
//    listing, the source's v/gone-file and v/gone-dir/ are deleted: they vanish between stat
//    and open.
//  - The source directory "w" is listed with two getdents calls (the second returns 0). On the
//    second, w/gone-stat is deleted: it vanishes between listing and stat.
// rsync (with --no-inc-recursive, so that its sender lists the whole tree before its generator
// lists destination directories for --delete) meets the same deletions at the same points.
// Both must exit 24 and say "vanished"; nothing half-written is left; everything else is copied.

struct VanishStage {
  int fan = -1;
  dev_t dst_v_dev = 0, src_w_dev = 0;
  ino_t dst_v_ino = 0, src_w_ino = 0;
  int dst_v_events = 0, src_w_events = 0;
  std::string src;
  bool staged_open = false, staged_stat = false;

  void serve() {
    alignas(fanotify_event_metadata) char buf[4096];
    ssize_t len = ::read(fan, buf, sizeof buf);
    if (len <= 0) return;
    auto* m = reinterpret_cast<fanotify_event_metadata*>(buf);
    for (; FAN_EVENT_OK(m, len); m = FAN_EVENT_NEXT(m, len)) {
      if (m->fd < 0) continue;
      struct stat st {};
      ::fstat(m->fd, &st);
      if (st.st_dev == dst_v_dev && st.st_ino == dst_v_ino && ++dst_v_events == 1) {
        ::unlink((src + "/v/gone-file").c_str());
        remove_tree(src + "/v/gone-dir");
        staged_open = true;
      } else if (st.st_dev == src_w_dev && st.st_ino == src_w_ino && ++src_w_events == 2) {
        ::unlink((src + "/w/gone-stat").c_str());
        staged_stat = true;
      }
      fanotify_response answer{m->fd, FAN_ALLOW};
      if (::write(fan, &answer, sizeof answer) != sizeof answer) ADD_FAILURE() << "fanotify answer failed";
      ::close(m->fd);
    }
  }
};

void build_vanish_tree(const std::string& src) {
  std::filesystem::create_directories(src + "/v/gone-dir/deeper");
  std::filesystem::create_directories(src + "/w");
  write_file(src + "/top", "top\n");
  write_file(src + "/v/keep", "keep\n");
  write_file(src + "/v/gone-file", content("gone-file", 1 << 20, 0));
  write_file(src + "/v/gone-dir/inner", "inner\n");
  write_file(src + "/v/gone-dir/deeper/leaf", "leaf\n");
  write_file(src + "/w/keep", "keep too\n");
  write_file(src + "/w/gone-stat", "soon gone\n");
}

// Runs `argv` (which syncs `src` into `dst`) with the deletions staged. Empty `why` on success.
RunResult run_with_vanishing(const std::vector<std::string>& argv, const std::string& src, const std::string& dst,
                             VanishStage& stage, std::string& why) {
  stage = VanishStage{};
  stage.src = src;
  std::filesystem::create_directories(dst + "/v");
  stage.fan = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC, O_RDONLY | O_LARGEFILE);
  if (stage.fan < 0) {
    why = std::string("fanotify_init(FAN_CLASS_CONTENT): ") + std::strerror(errno);
    return {};
  }
  for (auto [path, dev, ino] : {std::tuple{dst + "/v", &stage.dst_v_dev, &stage.dst_v_ino},
                                std::tuple{src + "/w", &stage.src_w_dev, &stage.src_w_ino}}) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 ||
        fanotify_mark(stage.fan, FAN_MARK_ADD, FAN_ACCESS_PERM | FAN_ONDIR, AT_FDCWD, path.c_str()) != 0) {
      why = "fanotify_mark(FAN_ACCESS_PERM) on " + path + ": " + std::strerror(errno);
      ::close(stage.fan);
      return {};
    }
    *dev = st.st_dev;
    *ino = st.st_ino;
  }
  Spawned p = spawn_program(argv);
  RunResult r = wait_program(p, stage.fan, [&stage] { stage.serve(); });
  ::close(stage.fan);  // before anything here lists a marked directory: it would wait on itself
  return r;
}

TEST(RingsyncFaults, FilesVanishingBetweenListingAndCopyingAreReportedWithExit24) {
  if (geteuid() != 0) GTEST_SKIP() << "fanotify permission events need CAP_SYS_ADMIN";
  std::string base = make_temp_dir("ringsync-vanish");
  RemoveOnExit cleanup{base};
  std::string src = base + "/src";
  VanishStage stage;
  std::string why;

  build_vanish_tree(src);
  TreeState original = snapshot(src);
  RunResult rr = run_with_vanishing({"rsync", "-a", "--delete", "--no-inc-recursive", src + "/", base + "/r/"}, src,
                                    base + "/r", stage, why);
  if (!why.empty()) {
    GTEST_SKIP() << "cannot stage vanishing files: " << why;
  }
  std::cout << "[ vanish   ] rsync exits " << rr.exit_code << (stage.staged_open && stage.staged_stat ? "" : " (not all staged)")
            << ":\n" << rr.err;

  remove_tree(src);
  build_vanish_tree(src);
  RunResult gr = run_with_vanishing({kRingsync, "-a", "--delete", src + "/", base + "/g/"}, src, base + "/g", stage, why);
  ASSERT_TRUE(why.empty()) << why;
  ASSERT_TRUE(stage.staged_open) << "ringsync never listed the destination directory v: the race was not staged";
  ASSERT_TRUE(stage.staged_stat) << "ringsync did not list the source directory w with two getdents calls";
  EXPECT_EQ(gr.exit_code, 24) << gr.err;
  EXPECT_EQ(gr.exit_code, rr.exit_code) << "rsync said:\n" << rr.err << "ringsync said:\n" << gr.err;
  for (const char* name : {"v/gone-file", "v/gone-dir", "w/gone-stat"}) {
    bool reported = false;
    std::istringstream err(gr.err);
    for (std::string line; std::getline(err, line);) {
      reported |= line.find("vanished") != std::string::npos && line.find(name) != std::string::npos;
    }
    EXPECT_TRUE(reported) << name << " is not reported as vanished:\n" << gr.err;
  }

  // Nothing half-written; everything still in the source copied (directory times aside: the
  // deletions changed v's and w's after ringsync had read them).
  TreeState copy = snapshot(base + "/g");
  EXPECT_TRUE(half_written_files(copy, {&original}).empty()) << lines_of(half_written_files(copy, {&original}));
  EXPECT_TRUE(temp_files(copy).empty()) << lines_of(temp_files(copy));
  SnapshotOptions cmp;
  cmp.dir_times = false;
  auto diffs = compare_trees(snapshot(src), copy, cmp);
  EXPECT_TRUE(diffs.empty()) << lines_of(diffs);
}

}  // namespace
}  // namespace ringkit::testing
