// BlockingPool: threads that run blocking system calls for one executor.
//
// The executor pushes Operations; a worker runs execute_blocking() and hands the finished
// Operation back through the executor's RemoteQueue, so completions always run on the executor
// thread. Workers start on first use (an executor that never needs them pays nothing).
// push/try_remove are called by the executor thread only; workers touch an Operation only
// between taking it and pushing it back.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/remote_queue.h"
#include "ringkit/operation.h"

namespace ringkit::detail {

class BlockingPool {
 public:
  BlockingPool(unsigned threads, RemoteQueue& done);
  // Waits for running calls to finish; queued calls are dropped (their owners are gone).
  ~BlockingPool();
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  void push(Operation* op);
  // Removes `op` if no worker has taken it yet. True if removed.
  bool try_remove(Operation* op);

 private:
  void worker();

  const unsigned max_threads_;
  RemoteQueue& done_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Operation*> queue_;  // guarded by mutex_
  unsigned idle_ = 0;             // guarded by mutex_
  bool stopping_ = false;         // guarded by mutex_
  std::vector<std::thread> threads_;  // executor thread only
};

}  // namespace ringkit::detail
