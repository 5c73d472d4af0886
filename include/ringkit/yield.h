// yield_now(): let the executor's other tasks run before this one goes on.
//
// `co_await yield_now()` suspends the calling task and resumes it on the executor's next turn,
// after I/O completions and other ready tasks. A task whose operations keep completing at once
// (a socket that always has a datagram ready, a Task that finishes without suspending) never
// returns to the executor loop on its own: it starves the other tasks, and in builds where the
// compiler does not turn symmetric transfer into a tail call (-O0, sanitizers) each such await
// nests a stack frame. Long loops yield every so often to bound both.
// Thread affinity: an executor thread.
#pragma once

#include <coroutine>

#include "ringkit/executor.h"
#include "ringkit/operation.h"

namespace ringkit {

class YieldAwaiter {
 public:
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> waiter) {
    op_.waiter = waiter;
    Executor::current()->finish_later(op_);
  }
  void await_resume() const noexcept {}

 private:
  detail::Operation op_;
};

// REQUIRES: on an executor thread.
inline YieldAwaiter yield_now() { return {}; }

}  // namespace ringkit
