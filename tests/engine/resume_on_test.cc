// Moving coroutines between executors: resume_on(), run_on() and ExecutorThread, on both
// backends (the worker's executor uses the same backend as the test's home executor).
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "ringkit/executor_thread.h"
#include "ringkit/fs.h"
#include "ringkit/resume_on.h"
#include "ringkit/time.h"
#include "ringkit/when_all.h"
#include "support/backend_test.h"

using namespace std::chrono_literals;

namespace ringkit {
namespace {

pid_t tid() { return static_cast<pid_t>(::syscall(SYS_gettid)); }

class ResumeOnTest : public testing::BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    if (IsSkipped()) return;
    worker_ = std::make_unique<ExecutorThread>(settings_);
  }
  void TearDown() override {
    worker_.reset();
    BackendTest::TearDown();
  }
  Executor& worker() { return worker_->executor(); }

  std::unique_ptr<ExecutorThread> worker_;
};
RINGKIT_BACKEND_TEST_SUITE(ResumeOnTest);

struct Where {
  pid_t home = 0, after_hop = 0, after_op = 0, back = 0;
  Executor* on_worker = nullptr;
  Executor* after_back = nullptr;
  uint64_t worker_completed_before = 0, worker_completed_after = 0;
  bool wrote = false;
};

Task<void> hop_and_write(Executor& worker, Executor& home, std::string path, Where& w) {
  w.home = tid();
  co_await resume_on(worker);
  w.after_hop = tid();
  w.on_worker = Executor::current();
  w.worker_completed_before = Executor::current()->stats().completed + Executor::current()->stats().inline_calls;
  auto fd = co_await fs::openat(AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd) {
    std::string text = "hello";
    auto n = co_await fs::write(fd->get(), std::as_bytes(std::span(text)), 0);
    w.wrote = n && *n == text.size();
  }
  w.after_op = tid();
  w.worker_completed_after = Executor::current()->stats().completed + Executor::current()->stats().inline_calls;
  if (fd) fd->reset();  // closed here, on the worker
  co_await resume_on(home);
  w.back = tid();
  w.after_back = Executor::current();
}

TEST_P(ResumeOnTest, OperationsAfterTheHopRunOnTheOtherThreadAndTheHopBackReturns) {
  Where w;
  run(hop_and_write(worker(), ex(), dir() + "/f", w));
  EXPECT_NE(w.after_hop, w.home);
  EXPECT_EQ(w.on_worker, &worker());
  EXPECT_EQ(w.after_op, w.after_hop);  // the completions came back on the worker thread
  EXPECT_GT(w.worker_completed_after, w.worker_completed_before);  // counted by the worker
  EXPECT_TRUE(w.wrote);
  EXPECT_EQ(w.back, w.home);
  EXPECT_EQ(w.after_back, &ex());
}

TEST_P(ResumeOnTest, HopToTheCurrentExecutorIsNoHop) {
  auto task = [](Executor& home) -> Task<pid_t> {
    co_await resume_on(home);
    co_return tid();
  };
  EXPECT_EQ(run(task(ex())), tid());
}

Task<pid_t> worker_tid_after_sleep() {
  co_await sleep_for(1ms);
  co_return tid();
}

// Thousands of coroutines on the worker at once, each sleeping there (so they overlap), all
// hopping back; the counter is touched on the home thread only.
TEST_P(ResumeOnTest, ThousandsOfHopsInFlight) {
  constexpr int kTasks = 3000;
  int home_count = 0;
  pid_t home = tid();
  std::atomic<int> on_worker{0};
  auto one = [](Executor& worker, int& count, std::atomic<int>& remote, pid_t home_tid) -> Task<void> {
    pid_t there = co_await run_on(worker, worker_tid_after_sleep());
    if (there != home_tid) remote.fetch_add(1, std::memory_order_relaxed);
    if (tid() == home_tid) ++count;
  };
  std::vector<Task<void>> tasks;
  for (int i = 0; i < kTasks; ++i) tasks.push_back(one(worker(), home_count, on_worker, home));
  run(when_all(std::move(tasks)));
  EXPECT_EQ(home_count, kTasks);
  EXPECT_EQ(on_worker.load(), kTasks);
}

// The worker's part of a spawned run_on starts at send_held(), while home goes on without
// suspending (it would otherwise wait for home's next turn to the kernel).
TEST_P(ResumeOnTest, SendHeldStartsTheOtherPartWhileHomeKeepsWorking) {
  std::atomic<bool> started{false};
  auto part = [](std::atomic<bool>& flag) -> Task<void> {
    flag.store(true, std::memory_order_release);
    co_return;
  };
  auto task = [&](Executor& worker, bool send) -> Task<bool> {
    JoinHandle<void> other = spawn_joinable(run_on(worker, part(started)));
    if (send) Executor::current()->send_held();
    // Home works on without a turn of its loop: until the part has started, for at most 5 s
    // when it was sent (a loaded machine may be slow to run the worker); 100 ms shows that a
    // held part does not start (it cannot before home's loop turns).
    auto until = std::chrono::steady_clock::now() + (send ? 5000ms : 100ms);
    while (!started.load(std::memory_order_acquire) && std::chrono::steady_clock::now() < until) {
    }
    bool seen = started.load(std::memory_order_acquire);
    co_await other.join();
    co_return seen;
  };
  EXPECT_FALSE(run(task(worker(), false)));  // held: sent only when home suspends
  EXPECT_TRUE(started.load());
  started.store(false);
  EXPECT_TRUE(run(task(worker(), true)));
}

Task<int> throws_on_worker() {
  co_await sleep_for(1ms);
  throw std::runtime_error("from the worker");
  co_return 0;
}

TEST_P(ResumeOnTest, ExceptionsAreRethrownAtHome) {
  auto task = [](Executor& worker) -> Task<pid_t> {
    try {
      co_await run_on(worker, throws_on_worker());
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "from the worker");
      co_return tid();
    }
    co_return 0;
  };
  EXPECT_EQ(run(task(worker())), tid());
}

Task<Result<fs::Fd>> open_missing(std::string path) { co_return co_await fs::openat(AT_FDCWD, path, O_RDONLY); }

TEST_P(ResumeOnTest, ResultErrorsComeHome) {
  auto result = run(run_on(worker(), open_missing(dir() + "/missing")));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), std::errc::no_such_file_or_directory);
}

TEST_P(ResumeOnTest, StopRunsWhatWasPostedAndJoins) {
  std::atomic<int> ran{0};
  for (int i = 0; i < 1000; ++i) worker().post([&ran] { ran.fetch_add(1, std::memory_order_relaxed); });
  worker_->stop();
  EXPECT_EQ(ran.load(), 1000);
  worker_->stop();  // a second stop is harmless
}

TEST_P(ResumeOnTest, StartsAndStopsRepeatedly) {
  for (int i = 0; i < 20; ++i) {
    ExecutorThread t(settings_);
    EXPECT_EQ(t.executor().backend(), GetParam());
    EXPECT_NE(run(run_on(t.executor(), worker_tid_after_sleep())), tid());
  }
}

}  // namespace
}  // namespace ringkit
