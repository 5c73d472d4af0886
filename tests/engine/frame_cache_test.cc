// The per-thread cache of coroutine frames (ringkit/frame_cache.h): frames are reused by size
// class, the cache is bounded, and Tasks whose frames move between threads still work.
#include "ringkit/frame_cache.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "ringkit/executor_thread.h"
#include "ringkit/task.h"
#include "ringkit/resume_on.h"
#include "support/backend_test.h"

namespace ringkit {
namespace {

using detail::allocate_frame;
using detail::cached_frames;
using detail::free_frame;

TEST(FrameCache, ReusesAFreedFrameOfTheSameClass) {
  if (!detail::frame_cache_enabled()) GTEST_SKIP() << "the frame cache is off under ASan";
  void* a = allocate_frame(100);
  free_frame(a, 100);
  // 100 and 120 bytes share the class of 65..128 bytes.
  void* b = allocate_frame(120);
  EXPECT_EQ(a, b);
  void* c = allocate_frame(130);  // the next class: not the frame above
  EXPECT_NE(b, c);
  free_frame(b, 120);
  free_frame(c, 130);
}

TEST(FrameCache, LargeFramesAreNotCached) {
  const size_t before = cached_frames();
  void* big = allocate_frame(detail::kMaxCachedFrame + 1);
  free_frame(big, detail::kMaxCachedFrame + 1);
  EXPECT_EQ(cached_frames(), before);
}

TEST(FrameCache, HoldsAtMostItsLimitPerClass) {
  if (!detail::frame_cache_enabled()) GTEST_SKIP() << "the frame cache is off under ASan";
  std::thread([] {  // a thread of its own: starts with an empty cache
    std::vector<void*> frames;
    for (size_t i = 0; i < detail::kMaxPerClass + 100; ++i) frames.push_back(allocate_frame(64));
    for (void* f : frames) free_frame(f, 64);
    EXPECT_EQ(cached_frames(), detail::kMaxPerClass);
    // And at most kMaxCachedBytes over all classes.
    frames.clear();
    for (size_t i = 0; i < detail::kMaxPerClass; ++i) frames.push_back(allocate_frame(4000));
    for (void* f : frames) free_frame(f, 4000);
    // (4000 bytes are the class of 3969..4032 bytes; 64 bytes the first class.)
    const size_t left = detail::kMaxCachedBytes - detail::kMaxPerClass * 64;
    EXPECT_EQ(cached_frames() - detail::kMaxPerClass, left / 4032);
  }).join();
}

TEST(FrameCache, ANewThreadStartsEmptyAndFramesFreedElsewhereAreFine) {
  void* on_main = allocate_frame(200);
  size_t there = 1;
  std::thread([&] {
    there = cached_frames();
    free_frame(on_main, 200);  // joins this thread's cache, drained when it ends
  }).join();
  EXPECT_EQ(there, 0u);
}

Task<int> leaf(int v) { co_return v + 1; }

// 0 + (1+1) + (2+1) + ... + (depth+1) - 1: a chain of `depth` frames, each awaiting a leaf.
Task<int> chain(int depth) {
  if (depth == 0) co_return 0;
  int below = co_await chain(depth - 1);
  co_return below + co_await leaf(depth);
}

long expected_sum(int tasks) {
  long s = 0;
  for (int i = 0; i < tasks; ++i) {
    long d = i % 20;
    s += d * (d + 1) / 2 + d;
  }
  return s;
}

std::vector<Task<int>> make_chains(int n) {
  std::vector<Task<int>> tasks;
  for (int i = 0; i < n; ++i) tasks.push_back(chain(i % 20));
  return tasks;
}

// Awaits every task and frees their frames here.
Task<long> await_and_free(std::vector<Task<int>> tasks) {
  long s = 0;
  for (auto& t : tasks) s += co_await std::move(t);
  tasks.clear();
  co_return s;
}

Task<std::vector<Task<int>>> chains_made_here(int n) { co_return make_chains(n); }

class FrameCacheOnExecutors : public testing::BackendTest {};

// Frames made on one executor thread and run and freed on another, both ways: every result is
// right (and ASan, where the cache is off, checks the frames' lifetimes).
TEST_P(FrameCacheOnExecutors, FramesMadeOnOneThreadAndFreedOnAnother) {
  constexpr int kTasks = 100;
  constexpr int kRounds = 30;
  ExecutorThread worker(settings_);
  long sum = run([](Executor& other) -> Task<long> {
    long s = 0;
    for (int round = 0; round < kRounds; ++round) {
      s += co_await run_on(other, await_and_free(make_chains(kTasks)));
      std::vector<Task<int>> there = co_await run_on(other, chains_made_here(kTasks));
      s += co_await await_and_free(std::move(there));
    }
    co_return s;
  }(worker.executor()));
  EXPECT_EQ(sum, 2 * kRounds * expected_sum(kTasks));
  worker.stop();
}

RINGKIT_BACKEND_TEST_SUITE(FrameCacheOnExecutors);

}  // namespace
}  // namespace ringkit
