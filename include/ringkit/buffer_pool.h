// BufferPool: a fixed set of equal, page-aligned I/O buffers, registered with the executor's
// ring when that pays, handed out as move-only leases.
//
// A pool mmaps `count` buffers of `buffer_size` bytes (rounded up to a whole number of pages) in
// one mapping. When EngineSettings::use_registered_buffers is set and the executor runs the
// io_uring backend, the pool registers them with the ring (one registered buffer per lease
// slot), so fs::read_fixed/write_fixed skip per-I/O page pinning. When the kernel refuses (most
// often RLIMIT_MEMLOCK too small without CAP_IPC_LOCK, or another pool already registered on the
// same ring) the pool works unregistered: leases carry index -1 and fs falls back to plain
// read/write. That is said once per process through ringkit::log. On the threads backend the
// pool is simply unregistered (there is no ring), without a log line.
//
// Data read into a lease is written from that same lease: the pool exists so that a copy never
// passes through a second user-space buffer.
//
// Thread affinity: a pool belongs to one executor and is created, used and destroyed on that
// executor's thread, as are its leases (including their destruction) and acquire().
//
// Ownership and lifetimes:
//  - The pool owns the memory. Leases borrow one buffer each and return it when destroyed.
//  - The executor must outlive the pool (the pool unregisters its buffers on destruction).
//  - The pool must outlive every lease, every task waiting in acquire(), and every operation
//    in flight on a lease's memory (the kernel may still be writing into it).
//    REQUIRES at destruction: no lease out, nobody waiting in acquire().
//
// Usage:
//   BufferPool pool(*Executor::current(), 8, 256 * 1024);
//   BufferPool::Lease lease = co_await pool.acquire();
//   auto n = co_await fs::read_fixed(in, lease.span(), off, lease.buf_index());
//   co_await fs::write_fixed(out, lease.span().first(*n), off, lease.buf_index());
#pragma once

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <system_error>
#include <utility>
#include <vector>

#include "ringkit/operation.h"

namespace ringkit {

class Executor;

class BufferPool {
 public:
  class Lease;
  class AcquireAwaiter;

  // Whether the buffers are registered with the ring. kNever suits buffered file I/O, where
  // registered buffers measured slower than plain ones (docs/benchmarks.md) and a refused
  // registration would only add a log line.
  enum class Registration : uint8_t { kAsSettingsSay, kNever };

  // Maps `count` buffers of `buffer_size` bytes each (rounded up to the page size) and registers
  // them with `executor`'s ring when `registration`, the settings and the backend allow. Throws
  // std::system_error when the memory cannot be mapped; a refused registration is not an error
  // (see registered()).
  // REQUIRES: on `executor`'s thread; count > 0; buffer_size > 0.
  BufferPool(Executor& executor, size_t count, size_t buffer_size,
             Registration registration = Registration::kAsSettingsSay);
  // Unregisters the buffers from the ring and unmaps them.
  // REQUIRES: every lease returned, no task waiting in acquire(), no I/O in flight on them.
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // A free buffer now, or nullopt when all are leased (or all free ones are already promised to
  // tasks waiting in acquire(): waiters are served first).
  std::optional<Lease> try_acquire();
  // `co_await pool.acquire()` yields a Lease, waiting (first come, first served) until one is
  // returned when all are out. A waiter is resumed on a later turn of the executor loop, never
  // from inside the Lease destructor that freed its buffer.
  // REQUIRES: awaited on the pool's executor thread; the waiting task is not destroyed while
  // it waits.
  AcquireAwaiter acquire();

  // True when the buffers are registered with the ring (leases carry indices >= 0).
  bool registered() const { return registered_; }
  // Why registration was refused (empty when registered or when it was never tried).
  const std::error_code& registration_error() const { return registration_error_; }

  size_t count() const { return count_; }
  size_t buffer_size() const { return buffer_size_; }
  size_t available() const { return free_.size(); }  // buffers neither leased nor promised
  size_t waiting() const { return waiters_size_; }    // tasks suspended in acquire()

 private:
  void release(uint32_t slot);
  std::byte* slot_data(uint32_t slot) const { return base_ + size_t{slot} * buffer_size_; }

  // Set at construction, read-only afterwards.
  Executor& executor_;
  size_t count_ = 0;
  size_t buffer_size_ = 0;  // a multiple of the page size
  std::byte* base_ = nullptr;
  size_t mapped_bytes_ = 0;
  bool registered_ = false;
  std::error_code registration_error_;

  // Invariants: a slot is in exactly one of `free_`, a live Lease, or a waiter's hand-over
  // (between release() and that waiter's resumption). `free_` is non-empty only while no task
  // waits.
  std::vector<uint32_t> free_;
  AcquireAwaiter* waiters_head_ = nullptr;  // FIFO, intrusive
  AcquireAwaiter* waiters_tail_ = nullptr;
  size_t waiters_size_ = 0;
};

// One borrowed buffer. Move-only; returns the buffer to its pool when destroyed or reset().
// An empty lease (default-constructed or moved from) holds nothing.
class BufferPool::Lease {
 public:
  Lease() = default;
  Lease(Lease&& other) noexcept
      : pool_(std::exchange(other.pool_, nullptr)), slot_(other.slot_) {}
  Lease& operator=(Lease&& other) noexcept {
    if (this != &other) {
      reset();
      pool_ = std::exchange(other.pool_, nullptr);
      slot_ = other.slot_;
    }
    return *this;
  }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  ~Lease() { reset(); }

  explicit operator bool() const { return pool_ != nullptr; }
  // REQUIRES (for the accessors below): *this holds a buffer.
  std::byte* data() const { return pool_->slot_data(slot_); }
  size_t size() const { return pool_->buffer_size_; }
  std::span<std::byte> span() const { return {data(), size()}; }
  // The registered-buffer index for fs::read_fixed/write_fixed, or -1 when the pool is not
  // registered (fs then issues plain read/write).
  int buf_index() const { return pool_->registered_ ? static_cast<int>(slot_) : -1; }
  // Returns the buffer to the pool now.
  void reset() {
    if (pool_ != nullptr) std::exchange(pool_, nullptr)->release(slot_);
  }

 private:
  friend class BufferPool;
  Lease(BufferPool* pool, uint32_t slot) : pool_(pool), slot_(slot) {}

  BufferPool* pool_ = nullptr;
  uint32_t slot_ = 0;
};

// The awaitable returned by acquire(). A prvalue awaited at once: it must not be moved while
// suspended (its address is in the pool's wait queue).
class BufferPool::AcquireAwaiter {
 public:
  explicit AcquireAwaiter(BufferPool& pool) : pool_(&pool) {}
  AcquireAwaiter(const AcquireAwaiter&) = delete;
  AcquireAwaiter& operator=(const AcquireAwaiter&) = delete;
  ~AcquireAwaiter();

  bool await_ready();
  void await_suspend(std::coroutine_handle<> waiter);
  Lease await_resume() { return Lease(pool_, slot_); }

 private:
  friend class BufferPool;
  BufferPool* pool_;
  uint32_t slot_ = 0;
  bool queued_ = false;           // in the pool's wait queue
  AcquireAwaiter* next_ = nullptr;
  detail::Operation op_;          // resumes the waiter through the executor's ready list
};

inline BufferPool::AcquireAwaiter BufferPool::acquire() { return AcquireAwaiter(*this); }

}  // namespace ringkit
