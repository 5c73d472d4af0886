// FramePool: frames of a size class are handed out again, large ones come from the heap, a
// thread keeps at most kPerClass of a class, and frames may be freed on another thread.
#include "ringkit/frame_pool.h"

#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <thread>
#include <vector>

#include "ringkit/task.h"

namespace ringkit::detail {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kPoolIsOn = false;
#else
constexpr bool kPoolIsOn = true;
#endif

TEST(FramePool, AFreedFrameIsHandedOutAgainForAnySizeOfItsClass) {
  if (!kPoolIsOn) GTEST_SKIP() << "AddressSanitizer build: the pool is off so that ASan sees frames";
  void* a = FramePool::allocate(130);  // class 129-192
  std::memset(a, 0xab, 130);
  FramePool::deallocate(a, 130);
  void* b = FramePool::allocate(190);
  EXPECT_EQ(a, b);
  std::memset(b, 0xcd, 190);  // the class's whole size is usable
  FramePool::deallocate(b, 190);
  void* other = FramePool::allocate(100);  // another class
  EXPECT_NE(other, a);
  FramePool::deallocate(other, 100);
}

TEST(FramePool, LargeFramesComeFromTheHeapAndAreUsable) {
  std::vector<void*> frames;
  for (size_t size : {size_t{1}, size_t{64}, size_t{65}, FramePool::kMaxFrame, FramePool::kMaxFrame + 1,
                      size_t{100000}}) {
    void* f = FramePool::allocate(size);
    std::memset(f, 0x5a, size);
    frames.push_back(f);
    FramePool::deallocate(f, size);
  }
  EXPECT_EQ(frames.size(), 6u);
}

TEST(FramePool, KeepsAtMostItsCapOfAClass) {
  if (!kPoolIsOn) GTEST_SKIP() << "AddressSanitizer build: the pool is off so that ASan sees frames";
  std::thread([] {  // a fresh thread: empty lists
    std::vector<void*> live;
    for (size_t i = 0; i < FramePool::kPerClass + 100; ++i) live.push_back(FramePool::allocate(256));
    EXPECT_EQ(FramePool::cached(256), 0u);
    for (void* f : live) FramePool::deallocate(f, 256);
    EXPECT_EQ(FramePool::cached(256), FramePool::kPerClass);
    EXPECT_EQ(FramePool::cached(200), FramePool::kPerClass) << "the same class";
    EXPECT_EQ(FramePool::cached(100), 0u);
    EXPECT_EQ(FramePool::cached(FramePool::kMaxFrame + 1), 0u);
    void* f = FramePool::allocate(256);
    EXPECT_EQ(FramePool::cached(256), FramePool::kPerClass - 1);
    FramePool::deallocate(f, 256);
  }).join();
}

TEST(FramePool, AFrameMayBeFreedOnAnotherThread) {
  std::vector<void*> frames;
  for (int i = 0; i < 1000; ++i) frames.push_back(FramePool::allocate(200 + i % 7));
  std::thread([&] {
    for (size_t i = 0; i < frames.size(); ++i) FramePool::deallocate(frames[i], 200 + i % 7);
    void* again = FramePool::allocate(200);  // from this thread's list now
    FramePool::deallocate(again, 200);
  }).join();  // the thread's lists are freed as it ends
}

Task<int> add_one(int x) { co_return x + 1; }
Task<int> chain(int depth) {
  if (depth == 0) co_return 0;
  int below = co_await chain(depth - 1);
  co_return co_await add_one(below);
}

TEST(FramePool, TasksRunOnPooledFrames) {
  // Frames of two sizes, allocated and freed in turn many times over.
  for (int round = 0; round < 100; ++round) {
    Task<int> t = chain(50);
    auto awaiter = std::move(t).operator co_await();
    ASSERT_FALSE(awaiter.await_ready());
    awaiter.await_suspend(std::noop_coroutine()).resume();
    EXPECT_EQ(awaiter.await_resume(), 50);
  }
}

}  // namespace
}  // namespace ringkit::detail
