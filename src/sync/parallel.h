// parallel_for: run fn(0..n-1) with at most `limit` of them in flight on the current executor.
// `fn(i)` must return a Task<void> (typically by calling a member coroutine, so that its state
// lives in that coroutine's parameters, not in lambda captures). Thread affinity: one executor.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include "ringkit/task.h"
#include "ringkit/when_all.h"

namespace ringkit::sync {

// Lookups (statx) of one directory's entries kept in flight at once, where a pass stats them
// (-m pruning, -H groups, named lists).
inline constexpr size_t kStatsInFlight = 64;

template <class Fn>
Task<void> parallel_worker(size_t& next, size_t n, Fn& fn) {
  while (next < n) {
    size_t i = next++;
    co_await fn(i);
  }
}

template <class Fn>
Task<void> parallel_for(size_t n, size_t limit, Fn fn) {
  size_t next = 0;
  std::vector<Task<void>> workers;
  for (size_t w = 0; w < std::min(n, limit); ++w) workers.push_back(parallel_worker(next, n, fn));
  co_await when_all(std::move(workers));
}

}  // namespace ringkit::sync
