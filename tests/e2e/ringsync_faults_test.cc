// Fault injection for ringsync: runs interrupted at random moments.
//  - SIGKILL, then a re-run, which must clean up and converge;
//  - SIGTERM and SIGINT, which ringsync must obey as rsync does (exit 20, nothing left behind).
// The other fault tests: ringsync_faults_disk_test.cc (a full disk), ringsync_faults_vanish_test.cc
// (vanishing source files), ringsync_faults_paths_test.cc (permissions, symlinks in the
// destination, deep paths, no-op runs).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <random>
#include <sstream>

#include "support/rsync_diff.h"
#include "support/tree.h"

namespace ringkit::testing {
namespace {

const std::string kRingsync = std::string(RINGKIT_BIN_DIR) + "/ringsync";

// tmpfs when there is one: the kill test writes 60 MiB per round.
std::string fast_temp_dir(const char* prefix) {
  return ::access("/dev/shm", W_OK) == 0 ? make_temp_dir_in("/dev/shm", prefix) : make_temp_dir(prefix);
}

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

// The same with the options that write elsewhere first (fewer rounds each): a --temp-dir on
// another file system, --delay-updates (whose holding dirs may keep complete files, which the
// re-run uses up), a --partial-dir (which a SIGKILL leaves nothing in: files are written
// unnamed), a --backup-dir with --delete.
struct KillCase {
  const char* options;  // "TMP" and "BK" name a scratch and a backup dir outside the destination
  int rounds;
};

class RingsyncKilled : public ::testing::TestWithParam<KillCase> {};

// A file in a holding dir (--delay-updates) or partial dir stands for its final name: split
// out of `tree`, under that name.
TreeState take_held(TreeState& tree) {
  TreeState held;
  for (auto it = tree.begin(); it != tree.end();) {
    std::string path = "/" + it->first;
    size_t at = std::string::npos;
    for (const char* dir : {"/.~tmp~/", "/.pp/"}) at = std::min(at, path.find(dir));
    if (at == std::string::npos) {
      ++it;
      continue;
    }
    std::string final_name = path.substr(1, at) + path.substr(path.find('/', at + 1) + 1);
    held.emplace(final_name, it->second);
    it = tree.erase(it);
  }
  return held;
}

TEST_P(RingsyncKilled, KilledAtRandomMomentsLeavesNoHalfWrittenFileAndRerunConverges) {
  std::string base = fast_temp_dir("ringsync-kill");
  ScopedTempTree cleanup{base};
  std::string src = base + "/src", dst = base + "/dst";
  std::string scratch = ::access("/dev/shm", W_OK) == 0 && !base.starts_with("/dev/shm") ? "/dev/shm" : base;
  scratch = make_temp_dir_in(scratch, "ringsync-kill-tmp");
  ScopedTempTree cleanup_scratch{scratch};
  build_kill_tree(src);
  std::vector<std::string> args = {kRingsync};
  std::istringstream words(GetParam().options);
  for (std::string w; words >> w;) {
    if (w.ends_with("=TMP")) w = w.substr(0, w.size() - 3) + scratch;
    if (w.ends_with("=BK")) w = w.substr(0, w.size() - 2) + base + "/bk";
    args.push_back(w);
  }
  args.insert(args.end(), {src + "/", dst + "/"});
  const int rounds = GetParam().rounds;
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
  for (int round = 2; round < 2 + rounds; ++round) {
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
    // (A held file must be a complete version of the file it stands for.)
    TreeState visible = killed;
    TreeState held = take_held(visible);
    for (const auto& h : half_written_files(held, versions)) ADD_FAILURE() << "held, but half-written: " << h;
    auto half = half_written_files(visible, versions);
    EXPECT_TRUE(half.empty()) << "visible under final names, half-written:\n" << indent_lines(half);
    if (WIFSIGNALED(status) && !compare_trees(current, killed, exact).empty()) ++interrupted;
    if (!temp_files(killed).empty()) ++with_temps;

    RunResult again = run_program(argv);
    EXPECT_EQ(again.exit_code, 0) << again.err;
    TreeState done = snapshot(dst);
    auto diffs = compare_trees(current, done, exact);
    EXPECT_TRUE(diffs.empty()) << "the re-run did not converge:\n" << indent_lines(diffs);
    EXPECT_TRUE(temp_files(done).empty()) << "temp files left:\n" << indent_lines(temp_files(done));
    if (HasFailure()) break;  // one round's worth of failures says it all
  }
  EXPECT_TRUE(items_below(scratch).empty()) << "left in the temp dir:\n" << indent_lines(items_below(scratch));
  std::cout << "[ kill     ] " << GetParam().options << ": " << interrupted << " of " << rounds
            << " kills interrupted a run; " << with_temps
            << " left temp files for the re-run to clean (whole run ~" << full_us << " us, update ~" << update_us
            << " us)\n";
  // Not a timing assertion: a test whose kills all missed the run would have tested nothing.
  EXPECT_GT(interrupted, 0) << "no kill landed inside a run";
}


INSTANTIATE_TEST_SUITE_P(Options, RingsyncKilled,
                         ::testing::Values(KillCase{"-a", 30}, KillCase{"-a --temp-dir=TMP", 10},
                                           KillCase{"-a --delay-updates", 10}, KillCase{"-a --partial-dir=.pp", 10},
                                           KillCase{"-a --delete --backup-dir=BK", 10}),
                         [](const auto& param_info) {
                           std::string name = param_info.param.options;
                           for (char& c : name) {
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

// ---------------------------------------------------------------------------------------------
// 2. SIGTERM and SIGINT at random moments: ringsync stops as rsync does, with exit 20, and
// cleans up at once: no temp file, nothing half-written, without waiting for a re-run. (A
// signal that arrives before ringsync has installed its handlers ends it by the signal, before
// it has written anything; that is accepted when the destination is indeed untouched.)

TEST(RingsyncFaults, SigtermAndSigintStopWithExit20AndLeaveNothingBehind) {
  std::string base = fast_temp_dir("ringsync-term");
  ScopedTempTree cleanup{base};
  std::string src = base + "/src", dst = base + "/dst";
  build_kill_tree(src);
  const std::vector<std::string> args = {kRingsync, "-a", src + "/", dst + "/"};
  SnapshotOptions exact;
  exact.nanoseconds = true;

  // rsync, the reference, stopped half-way through a copy (its code is printed, not asserted:
  // it may have finished first).
  auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(run_program({"rsync", "-a", src + "/", base + "/r/"}).exit_code, 0);
  auto rsync_us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
  remove_tree(base + "/r");
  Spawned rsync = spawn_program({"rsync", "-a", src + "/", base + "/r/"});
  ::usleep(static_cast<useconds_t>(rsync_us.count() / 2));
  ::kill(rsync.pid, SIGTERM);
  RunResult rr = wait_program(rsync);
  std::cout << "[ signal   ] rsync, sent SIGTERM half-way, exits " << rr.exit_code << "\n";

  start = std::chrono::steady_clock::now();
  ASSERT_EQ(run_program(args).exit_code, 0);
  long long full_us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
  std::mt19937 rng(20240612);
  int stopped = 0;
  TreeState current = snapshot(src);
  for (int round = 0; round < 12; ++round) {
    bool update = round % 2 == 1;
    TreeState previous = current;
    if (update) {
      change_kill_tree(src, 100 + round);
      current = snapshot(src);
    } else {
      remove_tree(dst);
    }
    TreeState before = snapshot(dst);
    int sig = round % 4 < 2 ? SIGTERM : SIGINT;
    long long delay = std::uniform_int_distribution<long long>(0, update ? full_us / 2 : full_us)(rng);
    SCOPED_TRACE("round " + std::to_string(round) + (update ? " (update)" : " (fresh)") + ", " + strsignal(sig) +
                 " after " + std::to_string(delay) + " us");
    Spawned p = spawn_program(args);
    ASSERT_GT(p.pid, 0);
    ::usleep(static_cast<useconds_t>(delay));
    ::kill(p.pid, sig);
    RunResult r = wait_program(p);
    TreeState after = snapshot(dst);
    std::vector<const TreeState*> versions = {&current, &previous};
    EXPECT_TRUE(half_written_files(after, versions).empty()) << indent_lines(half_written_files(after, versions));
    EXPECT_TRUE(temp_files(after).empty()) << "left behind:\n" << indent_lines(temp_files(after));
    if (r.exit_code == 20) {
      ++stopped;
      EXPECT_NE(r.err.find("(code 20)"), std::string::npos) << r.err;
    } else if (r.exit_code == 0) {
      auto diffs = compare_trees(current, after, exact);
      EXPECT_TRUE(diffs.empty()) << "exit 0 but not a complete copy:\n" << indent_lines(diffs);
    } else if (r.exit_code == 128 + sig) {
      auto diffs = compare_trees(before, after, exact);
      EXPECT_TRUE(diffs.empty()) << "ended by the signal itself after writing:\n" << indent_lines(diffs);
    } else {
      ADD_FAILURE() << "exit " << r.exit_code << ", expected 20 (or 0 if it had finished):\n" << r.err;
    }
    RunResult again = run_program(args);
    EXPECT_EQ(again.exit_code, 0) << again.err;
    auto diffs = compare_trees(current, snapshot(dst), exact);
    EXPECT_TRUE(diffs.empty()) << "the re-run did not converge:\n" << indent_lines(diffs);
    if (HasFailure()) break;
  }
  std::cout << "[ signal   ] " << stopped << " of 12 signals stopped ringsync with exit 20\n";
  EXPECT_GT(stopped, 0) << "no signal landed inside a run";
}

}  // namespace
}  // namespace ringkit::testing
