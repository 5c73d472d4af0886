#include "ringkit/cpus.h"

#include <sched.h>

#include <cerrno>
#include <memory>
#include <thread>

namespace ringkit {
namespace {

struct FreeCpuSet {
  void operator()(cpu_set_t* set) const { CPU_FREE(set); }
};

}  // namespace

unsigned usable_cpu_count() {
  // A mask sized for the CPUs the kernel may have; grown while the kernel says it is too small
  // (EINVAL: its mask is larger than ours).
  for (int cpus = 1024; cpus <= (1 << 20); cpus *= 2) {
    std::unique_ptr<cpu_set_t, FreeCpuSet> mask(CPU_ALLOC(cpus));
    if (!mask) break;
    size_t size = CPU_ALLOC_SIZE(cpus);
    CPU_ZERO_S(size, mask.get());
    if (::sched_getaffinity(0, size, mask.get()) == 0) {
      int count = CPU_COUNT_S(size, mask.get());
      if (count > 0) return static_cast<unsigned>(count);
      break;
    }
    if (errno != EINVAL) break;
  }
  unsigned machine = std::thread::hardware_concurrency();
  return machine > 0 ? machine : 1;
}

}  // namespace ringkit
