#include "ringkit/buffer_pool.h"

#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cassert>
#include <cerrno>
#include <string>

#include "ringkit/executor.h"
#include "ringkit/log.h"
#include "ringkit/result.h"

namespace ringkit {
namespace {

size_t page_size() {
  long size = ::sysconf(_SC_PAGESIZE);
  return size > 0 ? static_cast<size_t>(size) : 4096;
}

std::string memlock_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_MEMLOCK, &limit) != 0) return "unknown";
  if (limit.rlim_cur == RLIM_INFINITY) return "unlimited";
  return std::to_string(limit.rlim_cur) + " bytes";
}

// Once per process, like the backend fallback: a program with one pool per executor thread
// would otherwise say the same thing once per core.
void log_unregistered_once(size_t count, size_t buffer_size, const std::error_code& error) {
  static std::atomic<bool> said{false};
  if (said.exchange(true)) return;
  std::string hint;
  if (error == std::errc::not_enough_memory) {
    hint = " (RLIMIT_MEMLOCK is " + memlock_limit() + "; raise it or grant CAP_IPC_LOCK)";
  }
  log(LogLevel::kWarning, "buffer pool of " + std::to_string(count) + " x " +
                              std::to_string(buffer_size) +
                              " bytes not registered with io_uring: " + describe(error) + hint +
                              "; using plain reads and writes");
}

}  // namespace

BufferPool::BufferPool(Executor& executor, size_t count, size_t buffer_size, Registration registration)
    : executor_(executor), count_(count) {
  assert(count > 0 && buffer_size > 0);
  assert(count <= UINT32_MAX);
  const size_t page = page_size();
  buffer_size_ = (buffer_size + page - 1) / page * page;
  mapped_bytes_ = count_ * buffer_size_;
  void* mem = ::mmap(nullptr, mapped_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                     -1, 0);
  if (mem == MAP_FAILED) {
    throw std::system_error(errno, std::system_category(), "BufferPool: mmap");
  }
  base_ = static_cast<std::byte*>(mem);

  // Handed out lowest slot first: free_ is used as a stack.
  free_.reserve(count_);
  for (size_t i = count_; i > 0; --i) free_.push_back(static_cast<uint32_t>(i - 1));

  if (registration == Registration::kAsSettingsSay && executor_.settings().use_registered_buffers &&
      executor_.backend() == BackendKind::kUring) {
    std::vector<iovec> iov(count_);
    for (size_t i = 0; i < count_; ++i) {
      iov[i].iov_base = slot_data(static_cast<uint32_t>(i));
      iov[i].iov_len = buffer_size_;
    }
    registered_ = executor_.register_buffers(iov, &registration_error_);
    if (!registered_) {
      if (!registration_error_) registration_error_ = errno_error(EINVAL);
      log_unregistered_once(count_, buffer_size_, registration_error_);
    }
  }
}

BufferPool::~BufferPool() {
  assert(free_.size() == count_ && "BufferPool destroyed with leases out");
  assert(waiters_head_ == nullptr && "BufferPool destroyed with tasks waiting in acquire()");
  if (registered_) executor_.unregister_buffers();
  ::munmap(base_, mapped_bytes_);
}

std::optional<BufferPool::Lease> BufferPool::try_acquire() {
  if (free_.empty()) return std::nullopt;
  uint32_t slot = free_.back();
  free_.pop_back();
  return Lease(this, slot);
}

void BufferPool::release(uint32_t slot) {
  AcquireAwaiter* waiter = waiters_head_;
  if (waiter == nullptr) {
    free_.push_back(slot);
    return;
  }
  // Hand the buffer straight to the longest waiter, so nobody can take it in between, and
  // resume it on the executor's next turn rather than inside this destructor.
  waiters_head_ = waiter->next_;
  if (waiters_head_ == nullptr) waiters_tail_ = nullptr;
  --waiters_size_;
  waiter->next_ = nullptr;
  waiter->queued_ = false;
  waiter->slot_ = slot;
  waiter->op_.res = 0;
  executor_.finish_later(waiter->op_);
}

BufferPool::AcquireAwaiter::~AcquireAwaiter() {
  if (!queued_) return;
  // The waiting task is being destroyed: leave the queue.
  AcquireAwaiter* prev = nullptr;
  for (AcquireAwaiter* it = pool_->waiters_head_; it != nullptr; prev = it, it = it->next_) {
    if (it != this) continue;
    (prev != nullptr ? prev->next_ : pool_->waiters_head_) = next_;
    if (pool_->waiters_tail_ == this) pool_->waiters_tail_ = prev;
    --pool_->waiters_size_;
    return;
  }
}

bool BufferPool::AcquireAwaiter::await_ready() {
  if (pool_->waiters_head_ != nullptr || pool_->free_.empty()) return false;
  slot_ = pool_->free_.back();
  pool_->free_.pop_back();
  return true;
}

void BufferPool::AcquireAwaiter::await_suspend(std::coroutine_handle<> waiter) {
  op_.waiter = waiter;
  op_.executor = &pool_->executor_;
  queued_ = true;
  next_ = nullptr;
  if (pool_->waiters_tail_ != nullptr) {
    pool_->waiters_tail_->next_ = this;
  } else {
    pool_->waiters_head_ = this;
  }
  pool_->waiters_tail_ = this;
  ++pool_->waiters_size_;
}

}  // namespace ringkit
