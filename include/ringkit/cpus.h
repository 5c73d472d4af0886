// How many CPUs this process may run on, for programs that size their thread counts.
//
// std::thread::hardware_concurrency() counts the CPUs of the machine; a process confined to
// fewer (taskset, a cpuset cgroup, a container's --cpuset-cpus) would start threads that only
// take turns on the CPUs it has. This counts the calling thread's affinity mask instead.
// Thread-safe; a system call each time (about a microsecond): call it once, when the answer is
// needed.
#pragma once

namespace ringkit {

// The number of CPUs in the calling thread's affinity mask (sched_getaffinity), at least 1.
// Where the call fails, std::thread::hardware_concurrency() (or 1 if that is unknown).
unsigned usable_cpu_count();

}  // namespace ringkit
