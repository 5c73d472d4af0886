// RemoteQueue: how other threads hand completions and functions to an executor.
//
// Any thread may push(); only the owning executor thread drains. The eventfd becomes readable
// when the queue goes from empty to non-empty, so a sleeping executor (in io_uring_enter or
// epoll_wait) wakes. Invariant: `eventfd_armed_` is true iff a wake-up has been written and not
// yet consumed by take().
#pragma once

#include <mutex>
#include <span>
#include <vector>

#include "ringkit/operation.h"

namespace ringkit::detail {

class RemoteQueue {
 public:
  RemoteQueue();
  ~RemoteQueue();
  RemoteQueue(const RemoteQueue&) = delete;
  RemoteQueue& operator=(const RemoteQueue&) = delete;

  int eventfd() const { return eventfd_; }

  // Thread-safe: appends `ops` in order, with at most one wake-up.
  void push(std::span<Operation* const> ops);
  void push(Operation* op) { push(std::span(&op, 1)); }
  // Executor thread: everything pushed so far, in order.
  void take(std::vector<Operation*>& out);

 private:
  int eventfd_ = -1;
  std::mutex mutex_;
  std::vector<Operation*> items_;  // guarded by mutex_
  bool eventfd_armed_ = false;     // guarded by mutex_
};

}  // namespace ringkit::detail
