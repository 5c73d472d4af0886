// Moving a coroutine between executors (thread-per-core hand-over).
//
// `co_await resume_on(other)` suspends the calling coroutine and resumes it on `other`'s thread
// (Executor::send_later: the hops of one loop turn go together, with one wake-up). Every engine operation it awaits
// afterwards is submitted on `other`: awaiters pick Executor::current() when they suspend, not
// before. The coroutine must hop back (`co_await resume_on(home)`) before it touches anything
// that belongs to its home thread and before it returns: a Task's continuation is resumed on
// whichever thread the Task finishes on. run_on() does both hops for a whole Task and carries
// its value or exception home.
//
// Lifetimes: `other` must run until the coroutine has hopped away again (ExecutorThread keeps a
// worker's executor running until stop()). Thread affinity: any executor thread.
#pragma once

#include <cassert>
#include <coroutine>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include "ringkit/executor.h"
#include "ringkit/operation.h"
#include "ringkit/task.h"

namespace ringkit {

class ResumeOnAwaiter {
 public:
  explicit ResumeOnAwaiter(Executor& target) : target_(target) {}
  ResumeOnAwaiter(const ResumeOnAwaiter&) = delete;
  ResumeOnAwaiter& operator=(const ResumeOnAwaiter&) = delete;

  // Already there: no hop.
  bool await_ready() const noexcept { return Executor::current() == &target_; }
  void await_suspend(std::coroutine_handle<> waiter) {
    op_.waiter = waiter;
    // Sent when this executor next turns to the kernel, with the other hops of this turn (one
    // wake-up for all). After it is sent the coroutine may run on the other thread at once.
    if (Executor* here = Executor::current()) {
      here->send_later(target_, op_);
    } else {
      target_.post_operation(op_);
    }
  }
  void await_resume() const noexcept { assert(Executor::current() == &target_); }

 private:
  Executor& target_;
  detail::Operation op_;  // lives in the coroutine frame until it is resumed
};

// REQUIRES: on an executor thread; `target` runs (see above).
inline ResumeOnAwaiter resume_on(Executor& target) { return ResumeOnAwaiter(target); }

// Runs `task` on `target`'s thread and returns its value (or rethrows its exception) on the
// calling executor's thread. `task` must not hop elsewhere without coming back to `target`.
// Arguments the task refers to must stay valid until run_on's Task completes, as for any Task.
// REQUIRES: awaited on an executor thread.
template <class T>
Task<T> run_on(Executor& target, Task<T> task) {
  Executor& home = *Executor::current();
  co_await resume_on(target);
  std::exception_ptr error;
  if constexpr (std::is_void_v<T>) {
    try {
      co_await std::move(task);
    } catch (...) {
      error = std::current_exception();
    }
    co_await resume_on(home);
    if (error) std::rethrow_exception(error);
  } else {
    std::optional<T> value;
    try {
      value.emplace(co_await std::move(task));
    } catch (...) {
      error = std::current_exception();
    }
    co_await resume_on(home);
    if (error) std::rethrow_exception(error);
    co_return std::move(*value);
  }
}

}  // namespace ringkit
