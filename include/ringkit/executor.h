// Executor: one ring (or one epoll + blocking pool), one thread, many coroutines.
//
// Thread-per-core: each thread that does I/O owns one Executor, created and used on that thread
// only. Tasks spawned on an executor run on its thread; the operations they await complete on
// that thread. Nothing is shared between executors except what a program hands over itself
// (Executor::post is the one thread-safe entry point).
//
// The backend (io_uring or threads) is chosen at construction from EngineSettings, after probing
// io_uring; see settings.h. Capacity is a budget: the executor never has more operations in
// flight than the completion queue holds; the rest wait in a queue and are submitted as
// completions free room. A full ring never fails or aborts a request.
//
// Shutdown: destroy an executor only when the work it ran has finished (use a Gate to wait for
// spawned tasks). The destructor cancels whatever is still in flight and waits for it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "ringkit/operation.h"
#include "ringkit/probe.h"
#include "ringkit/result.h"
#include "ringkit/settings.h"
#include "ringkit/task.h"

struct iovec;

namespace ringkit {

namespace detail {
class Backend;
class BlockingPool;
class RemoteQueue;
}  // namespace detail

// Counters, read on the executor thread; tests and benchmarks use them.
struct ExecutorStats {
  uint64_t submitted = 0;        // operations handed to the backend (ring, epoll, timers)
  uint64_t completed = 0;        // completions delivered
  uint64_t inline_calls = 0;     // cheap/metadata calls run directly on the executor thread
  uint64_t pool_calls = 0;       // calls run on the blocking pool
  uint64_t deferred = 0;         // requests that waited because the ring was full
  uint64_t max_in_flight = 0;    // high-water mark of completion-queue entries reserved
  uint64_t submit_calls = 0;     // io_uring_enter / epoll_wait rounds
};

class Deadlines;

class Executor {
 public:
  explicit Executor(const EngineSettings& settings = EngineSettings::from_env());
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Runs `task` to completion on this thread, driving I/O, and returns its value (or rethrows).
  // REQUIRES: called on the thread that created this executor; not from inside a task.
  template <class T>
  T run(Task<T> task);

  // Starts `task` now; it runs on this executor's thread, interleaved with others, until done.
  // A spawned task must not throw (there is nobody to receive the exception).
  void spawn(Task<void> task);

  // The executor driving the calling thread, or nullptr outside one.
  static Executor* current();

  BackendKind backend() const { return kind_; }
  const EngineSettings& settings() const { return settings_; }
  const ExecutorStats& stats() const { return stats_; }
  // Capacity of the completion queue (uring) or the equivalent budget (threads).
  uint32_t capacity() const;

  // Thread-safe: runs `fn` on this executor's thread soon. Wakes a blocked executor.
  void post(std::function<void()> fn);
  // Thread-safe, allocation-free: `op.complete()` (resuming `op.waiter`) is called on this
  // executor's thread soon, after what was posted before. Wakes a blocked executor.
  // REQUIRES: `op` stays valid until completed (resume_on.h keeps it in the coroutine frame).
  void post_operation(detail::Operation& op);
  // On this executor's thread: like target.post_operation(op), but held until this executor
  // next turns to the kernel (before it polls or waits), and sent with everything else held for
  // `target` by then in one push and at most one wake-up. Coroutines that hop many at a time
  // (resume_on.h) then cost a wake-up per loop turn, not one each.
  void send_later(Executor& target, detail::Operation& op);
  // On this executor's thread: sends what send_later() holds now, instead of at the next turn
  // to the kernel. For a coroutine that hands another executor its part (spawn_joinable of a
  // run_on) and then works on for a while without suspending: the other part starts at once.
  void send_held() { flush_outbox(); }

  // The deadlines of this executor's tasks, served by one timer (ringkit/deadlines.h).
  // REQUIRES: on this executor's thread.
  Deadlines& deadlines();

  // ---- Used by awaitables (engine-internal, but called from header templates). ----

  // Starts `op`. Returns false when it finished at once (inline call, or a socket that was
  // ready): `op.res` holds the result and `op.waiter` will not be resumed. Returns true when it
  // is in flight: `op.complete()` will be called later on this thread.
  bool submit(detail::Operation& op);
  // Asks for `op` to end early with ECANCELED. Best effort: it may still complete normally.
  // REQUIRES: on this executor's thread; `op` was submitted and has not completed.
  void cancel(detail::Operation& op);
  // Forget what the cheap-calls policy cached about `fd` (it is being closed), in every
  // executor: an fd opened on one executor thread may have been used on another (resume_on.h).
  // Thread-safe; callable outside any executor.
  static void forget_fd(int fd);

  // Test hook: called with every operation just before it reaches the kernel (ring or direct).
  void set_submit_observer(std::function<void(const detail::Operation&)> observer) {
    observer_ = std::move(observer);
  }

  // Registers buffers with the ring. False when the backend has no ring or the kernel refused
  // (e.g. RLIMIT_MEMLOCK); `error` then says why.
  bool register_buffers(std::span<const iovec> buffers, std::error_code* error);
  void unregister_buffers();

  // Registers a provided-buffer ring (io_uring_register_buf_ring) and returns its buffer group
  // id, for Operation::aux of operations that let the kernel pick a buffer (kRecvmsgMultishot).
  // `ring` is page-aligned memory for `entries` io_uring_buf slots (a power of two, at most
  // 32768), filled and advanced by the caller (io_uring_buf_ring_add/advance); it must stay
  // valid until unregister_buf_ring(). Errors: operation_not_supported on the threads backend
  // or a kernel without buffer rings; otherwise what the kernel said.
  // REQUIRES: on this executor's thread.
  Result<uint16_t> register_buf_ring(void* ring, uint32_t entries);
  // REQUIRES: no operation selecting buffers from `group` is in flight.
  void unregister_buf_ring(uint16_t group);

  // Called by backends.
  void drain_remote();
  // Runs `op` as a direct call on the blocking pool; it completes through drain_remote().
  void to_pool(detail::Operation& op);
  // `op` has its result; complete it on the next turn of the loop (never inside the caller).
  void finish_later(detail::Operation& op);
  ExecutorStats& mutable_stats() { return stats_; }
  void observe(const detail::Operation& op) {
    if (observer_) observer_(op);
  }
  int remote_eventfd() const;

 private:
  bool run_inline(const detail::Operation& op);
  bool is_local_fs(int fd);
  static bool path_is_local(const char* path);
  bool submit_direct(detail::Operation& op);  // cheap-call placement; false if done at once
  void poll(bool wait);
  void flush_outbox();
  void deliver_ready();
  static detail::DetachedTask run_root(Task<void> task, bool& done, std::exception_ptr& error);
  template <class T>
  static detail::DetachedTask run_root_value(Task<T> task, bool& done, std::optional<T>& out,
                                             std::exception_ptr& error);
  static detail::DetachedTask spawn_root(Task<void> task);

  EngineSettings settings_;
  BackendKind kind_ = BackendKind::kThreads;
  ExecutorStats stats_;
  std::unique_ptr<detail::RemoteQueue> remote_;
  std::unique_ptr<detail::BlockingPool> pool_;
  std::unique_ptr<detail::Backend> backend_;
  std::unique_ptr<Deadlines> deadlines_;  // made by the first deadlines()
  std::vector<detail::Operation*> ready_;       // finished, completion not yet delivered
  std::vector<detail::Operation*> remote_batch_;
  // send_later(): operations held per target executor until the next flush_outbox().
  std::vector<std::pair<Executor*, std::vector<detail::Operation*>>> outbox_;
  size_t pool_in_flight_ = 0;
  // Cheap-calls kAuto: fd -> whether its file system is local, valid while the fd's close
  // generation (bumped by forget_fd on any thread) is still `generation`.
  struct FdPlace {
    bool local;
    uint32_t generation;
  };
  std::unordered_map<int, FdPlace> fd_is_local_;
  std::function<void(const detail::Operation&)> observer_;
  Executor* previous_ = nullptr;  // the thread's current executor before this one
};

template <class T>
detail::DetachedTask Executor::run_root_value(Task<T> task, bool& done, std::optional<T>& out,
                                              std::exception_ptr& error) {
  try {
    out.emplace(co_await std::move(task));
  } catch (...) {
    error = std::current_exception();
  }
  done = true;
}

template <class T>
T Executor::run(Task<T> task) {
  bool done = false;
  std::exception_ptr error;
  if constexpr (std::is_void_v<T>) {
    run_root(std::move(task), done, error);
    while (!done) poll(true);
    if (error) std::rethrow_exception(error);
  } else {
    std::optional<T> out;
    run_root_value(std::move(task), done, out, error);
    while (!done) poll(true);
    if (error) std::rethrow_exception(error);
    return std::move(*out);
  }
}

}  // namespace ringkit
