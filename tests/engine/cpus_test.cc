// usable_cpu_count(): the affinity mask, not the machine (taskset, cpusets).
//
// Not a backend operation (no executor is involved), so it runs once, not per backend.
#include "ringkit/cpus.h"

#include <gtest/gtest.h>
#include <sched.h>

#include <thread>

namespace ringkit {
namespace {

// The CPUs of this thread's mask, counted here independently of the engine.
int cpus_in_mask() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return -1;
  return CPU_COUNT(&set);
}

TEST(UsableCpuCount, IsTheCountOfTheAffinityMask) {
  int expected = cpus_in_mask();
  ASSERT_GT(expected, 0);
  EXPECT_EQ(usable_cpu_count(), static_cast<unsigned>(expected));
}

TEST(UsableCpuCount, AThreadPinnedToOneCpuCountsOne) {
  if (std::thread::hardware_concurrency() < 2) {
    GTEST_SKIP() << "one CPU in this machine: a pinned thread and the machine cannot be told apart";
  }
  unsigned seen = 0;
  int pinned = -1;
  std::thread t([&] {
    cpu_set_t one;
    CPU_ZERO(&one);
    if (::sched_getaffinity(0, sizeof one, &one) != 0) return;
    int first = 0;
    while (first < CPU_SETSIZE && !CPU_ISSET(first, &one)) ++first;
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    pinned = ::sched_setaffinity(0, sizeof one, &one);
    seen = usable_cpu_count();
  });
  t.join();
  ASSERT_EQ(pinned, 0) << "sched_setaffinity to one CPU failed";
  EXPECT_EQ(seen, 1u) << "hardware_concurrency() says " << std::thread::hardware_concurrency();
}

}  // namespace
}  // namespace ringkit
