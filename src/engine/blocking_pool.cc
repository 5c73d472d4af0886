#include "engine/blocking_pool.h"

#include <algorithm>

namespace ringkit::detail {

BlockingPool::BlockingPool(unsigned threads, RemoteQueue& done)
    : max_threads_(std::max(1u, threads)), done_(done) {}

BlockingPool::~BlockingPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    queue_.clear();
  }
  ready_.notify_all();
  for (auto& t : threads_) t.join();
}

void BlockingPool::push(Operation* op) {
  bool start_thread = false;
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(op);
    // Grow while every worker is busy, up to the limit.
    start_thread = idle_ == 0 && threads_.size() < max_threads_;
  }
  if (start_thread) {
    threads_.emplace_back([this] { worker(); });
  } else {
    ready_.notify_one();
  }
}

bool BlockingPool::try_remove(Operation* op) {
  std::lock_guard lock(mutex_);
  auto it = std::find(queue_.begin(), queue_.end(), op);
  if (it == queue_.end()) return false;
  queue_.erase(it);
  return true;
}

void BlockingPool::worker() {
  std::unique_lock lock(mutex_);
  for (;;) {
    while (queue_.empty() && !stopping_) {
      ++idle_;
      ready_.wait(lock);
      --idle_;
    }
    if (stopping_) return;
    Operation* op = queue_.front();
    queue_.pop_front();
    lock.unlock();
    op->res = execute_blocking(*op);
    done_.push(op);
    lock.lock();
  }
}

}  // namespace ringkit::detail
