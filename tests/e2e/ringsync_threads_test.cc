// How many executor threads ringsync runs on (src/sync/threads.h, transfer_worker.cc), seen from
// outside: a RINGKIT_SYNC_THREADS it cannot use is said on stderr (and the copy is still made);
// without a setting, the CPUs counted are those the process may run on (taskset), not the
// machine's; and the worker thread is started by the first file written, or by the first
// directory of RINGKIT_SYNC_LOOKAHEAD entries or more compared with one that exists (its
// lookups), so a no-op run of small directories starts none. What was decided is the -vv line
// "ringsync: executor threads: N (why)", printed where the worker is started or refused. The
// environment of each run is set explicitly, so that the suite means the same under any
// RINGKIT_SYNC_THREADS and RINGKIT_SYNC_LOOKAHEAD.
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "ringkit/cpus.h"
#include "support/tree.h"

namespace ringkit::testing {
namespace {

const std::string kRingsync = std::string(RINGKIT_BIN_DIR) + "/ringsync";
constexpr const char* kThreadsLine = "ringsync: executor threads: ";

// The first CPU this process may run on (for taskset -c).
std::string first_usable_cpu() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return "0";
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) return std::to_string(cpu);
  }
  return "0";
}

class RingsyncThreads : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = make_temp_dir("ringsync-threads");
    for (const char* dir : {"/src", "/src/a", "/src/b"}) ASSERT_EQ(::mkdir((base_ + dir).c_str(), 0755), 0);
    for (int i = 0; i < 20; ++i) {
      write_file(base_ + "/src/a/f" + std::to_string(i), "small file " + std::to_string(i) + "\n");
      write_file(base_ + "/src/b/g" + std::to_string(i), std::string(100 + i, 'x'));
    }
  }
  void TearDown() override { remove_tree(base_); }

  // ringsync ARGS src/ dst/ with RINGKIT_SYNC_THREADS set to `setting` (nullptr: unset), under
  // `taskset -c CPU` when `cpu` is given.
  // RINGKIT_SYNC_LOOKAHEAD is `look_ahead` (nullptr: unset).
  RunResult sync(const char* setting, const std::vector<std::string>& args, const std::string& cpu = {},
                 const char* look_ahead = nullptr) {
    std::vector<std::string> argv = {"env", "-u", "RINGKIT_SYNC_THREADS", "-u", "RINGKIT_SYNC_LOOKAHEAD"};
    if (setting != nullptr) argv.push_back(std::string("RINGKIT_SYNC_THREADS=") + setting);
    if (look_ahead != nullptr) argv.push_back(std::string("RINGKIT_SYNC_LOOKAHEAD=") + look_ahead);
    if (!cpu.empty()) argv.insert(argv.end(), {"taskset", "-c", cpu});
    argv.push_back(kRingsync);
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {base_ + "/src/", base_ + "/dst/"});
    return run_program(argv);
  }
  void expect_copied() {
    auto diffs = compare_trees(snapshot(base_ + "/src"), snapshot(base_ + "/dst"), SnapshotOptions{});
    EXPECT_TRUE(diffs.empty()) << indent_lines(diffs);
  }
  void change_a_file() { write_file(base_ + "/src/a/f3", "changed, and longer than it was\n"); }

  std::string base_;
};

TEST_F(RingsyncThreads, AnUnusableSettingIsSaidOnStderrAndTheDefaultTaken) {
  for (const char* setting : {"abc", "0", "-1", "-4", "2x", ""}) {
    SCOPED_TRACE(std::string("RINGKIT_SYNC_THREADS=") + setting);
    std::string warning = std::string("ringsync: ignoring RINGKIT_SYNC_THREADS=") + setting +
                          " (a whole number, 1 or more)\n";
    RunResult first = sync(setting, {"-a"});
    EXPECT_EQ(first.exit_code, 0) << first.err;
    EXPECT_EQ(first.err, warning);
    EXPECT_EQ(first.out, "");
    expect_copied();
    RunResult noop = sync(setting, {"-a"});  // said on a run that writes nothing too
    EXPECT_EQ(noop.exit_code, 0) << noop.err;
    EXPECT_EQ(noop.err, warning);
    remove_tree(base_ + "/dst");
  }
}

TEST_F(RingsyncThreads, AUsableSettingIsQuiet) {
  for (const char* setting : {"1", "2", "16"}) {
    SCOPED_TRACE(std::string("RINGKIT_SYNC_THREADS=") + setting);
    RunResult r = sync(setting, {"-a"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    expect_copied();
    remove_tree(base_ + "/dst");
  }
}

TEST_F(RingsyncThreads, AProcessAllowedOneCpuWritesOnOneThread) {
  RunResult r = sync(nullptr, {"-avv"}, first_usable_cpu());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find(std::string(kThreadsLine) + "1 (1 CPU usable by this process)\n"), std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find(std::string(kThreadsLine) + "2"), std::string::npos) << r.err;
  expect_copied();
}

TEST_F(RingsyncThreads, TheSettingWinsOverTheCpus) {
  RunResult two = sync("2", {"-avv"}, first_usable_cpu());
  ASSERT_EQ(two.exit_code, 0) << two.err;
  EXPECT_NE(two.err.find(std::string(kThreadsLine) + "2 (set by RINGKIT_SYNC_THREADS)\n"), std::string::npos)
      << two.err;
  expect_copied();
  remove_tree(base_ + "/dst");
  RunResult one = sync("1", {"-avv"});
  ASSERT_EQ(one.exit_code, 0) << one.err;
  EXPECT_NE(one.err.find(std::string(kThreadsLine) + "1 (set by RINGKIT_SYNC_THREADS)\n"), std::string::npos)
      << one.err;
  expect_copied();
}

TEST_F(RingsyncThreads, TheWorkerStartsWithTheFirstFileWritten) {
  unsigned cpus = usable_cpu_count();
  if (cpus < 2) GTEST_SKIP() << "this process may run on one CPU only: ringsync would not start a worker";
  std::string started = std::string(kThreadsLine) + "2 (" + std::to_string(cpus) + " CPUs usable by this process)\n";
  RunResult first = sync(nullptr, {"-avv"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.err.find(started), std::string::npos) << first.err;
  expect_copied();
  // Nothing to write: no worker, and so no line (not even the one-thread one).
  RunResult noop = sync(nullptr, {"-avv"});
  ASSERT_EQ(noop.exit_code, 0) << noop.err;
  EXPECT_EQ(noop.err.find(kThreadsLine), std::string::npos) << noop.err;
  // One file to write: the worker is started for it.
  change_a_file();
  RunResult again = sync(nullptr, {"-avv"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.err.find(started), std::string::npos) << again.err;
  expect_copied();
}

// A no-op of a directory of 40 entries (the default look-ahead is from 32) starts the worker
// for its lookups; RINGKIT_SYNC_LOOKAHEAD moves the bound, 0 turns it off, and a value it
// cannot use is said and the default taken.
TEST_F(RingsyncThreads, ANoOpOfAWideDirectoryLooksAheadOnTheWorker) {
  unsigned cpus = usable_cpu_count();
  if (cpus < 2) GTEST_SKIP() << "this process may run on one CPU only: ringsync would not start a worker";
  for (int i = 0; i < 38; ++i) write_file(base_ + "/src/w" + std::to_string(i), "wide " + std::to_string(i) + "\n");
  std::string started = std::string(kThreadsLine) + "2 (" + std::to_string(cpus) + " CPUs usable by this process)\n";
  ASSERT_EQ(sync(nullptr, {"-a"}).exit_code, 0);
  struct Case {
    const char* look_ahead;
    bool starts;
    std::string warning;
  };
  for (const Case& c : {Case{nullptr, true, ""}, Case{"40", true, ""}, Case{"41", false, ""}, Case{"0", false, ""},
                        Case{"1", true, ""},
                        Case{"many", true, "ringsync: ignoring RINGKIT_SYNC_LOOKAHEAD=many (a whole number, 0 or more)\n"}}) {
    SCOPED_TRACE(std::string("RINGKIT_SYNC_LOOKAHEAD=") + (c.look_ahead ? c.look_ahead : "(unset)"));
    RunResult noop = sync(nullptr, {"-avv"}, {}, c.look_ahead);
    ASSERT_EQ(noop.exit_code, 0) << noop.err;
    EXPECT_EQ(noop.err.find(started) != std::string::npos, c.starts) << noop.err;
    if (!c.starts) {
      EXPECT_EQ(noop.err.find(kThreadsLine), std::string::npos) << noop.err;
    }
    EXPECT_EQ(noop.err.find("ignoring RINGKIT_SYNC_LOOKAHEAD") != std::string::npos, !c.warning.empty()) << noop.err;
    if (!c.warning.empty()) {
      EXPECT_EQ(noop.err.find(c.warning), 0u) << noop.err;
    }
    EXPECT_NE(noop.out.find("\nw1 is uptodate\n"), std::string::npos) << noop.out;  // either way
    expect_copied();
  }
  // Under one CPU the look-ahead is given up with the worker; the run is the same.
  RunResult one = sync(nullptr, {"-avv"}, first_usable_cpu());
  ASSERT_EQ(one.exit_code, 0) << one.err;
  EXPECT_NE(one.err.find(std::string(kThreadsLine) + "1 (1 CPU usable by this process)\n"), std::string::npos)
      << one.err;
  expect_copied();
}

// -v is rsync's -v: the line is for -vv, and stderr stays as rsync's would be.
TEST_F(RingsyncThreads, MinusVAloneDoesNotSayIt) {
  RunResult r = sync(nullptr, {"-av"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  expect_copied();
}

}  // namespace
}  // namespace ringkit::testing
