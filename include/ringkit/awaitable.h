// The awaitables that engine operations return.
//
// `co_await fs::read(...)` builds one of these (a prvalue: never moved, so the embedded
// Operation keeps its address), submits its Operation on the current thread's executor, suspends
// unless the call finished at once, and turns `op.res` into a Result when resumed.
//
// Cancellation: operations that can wait for long (sleeps, socket receives and sends) take a
// std::stop_token; requesting stop cancels the operation (its Result is then cancelled()).
// REQUIRES: stop is requested on the executor's own thread (use Executor::post from elsewhere).
#pragma once

#include <cassert>
#include <coroutine>
#include <optional>
#include <stop_token>

#include "ringkit/executor.h"
#include "ringkit/operation.h"
#include "ringkit/result.h"

namespace ringkit::detail {

class OpAwaiterBase {
 public:
  OpAwaiterBase() = default;
  OpAwaiterBase(const OpAwaiterBase&) = delete;
  OpAwaiterBase& operator=(const OpAwaiterBase&) = delete;

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> waiter) {
    Executor* ex = Executor::current();
    assert(ex != nullptr && "engine operations must be awaited on an executor thread");
    op_.waiter = waiter;
    if (stop_.stop_requested()) {
      op_.res = -ECANCELED;
      return false;
    }
    if (!ex->submit(op_)) return false;
    if (stop_.stop_possible()) stop_callback_.emplace(stop_, CancelOp{ex, &op_});
    return true;
  }

 protected:
  void set_stop(std::stop_token stop) { stop_ = std::move(stop); }

  // The error for a failed op: a deadline that fired reads as timed_out.
  std::error_code error() const {
    if (op_.res == -ECANCELED && !op_.cancel_requested && op_.timeout.count() > 0 &&
        !stop_.stop_requested()) {
      return errno_error(ETIMEDOUT);
    }
    if (op_.res == -ETIME) return errno_error(ETIMEDOUT);
    return error_from_res(op_.res);
  }

  Operation op_;

 private:
  struct CancelOp {
    Executor* ex;
    Operation* op;
    void operator()() const noexcept { ex->cancel(*op); }
  };
  std::stop_token stop_;
  std::optional<std::stop_callback<CancelOp>> stop_callback_;
};

// An operation whose result is its byte count or other non-negative number.
template <class T>
class CountAwaiter : public OpAwaiterBase {
 public:
  explicit CountAwaiter(const Operation& op, std::stop_token stop = {}) {
    this->op_ = op;
    this->set_stop(std::move(stop));
  }
  Result<T> await_resume() {
    if (this->op_.res < 0) return this->error();
    return static_cast<T>(this->op_.res);
  }
};

// An operation that only succeeds or fails.
class VoidAwaiter : public OpAwaiterBase {
 public:
  explicit VoidAwaiter(const Operation& op, std::stop_token stop = {}) {
    op_ = op;
    set_stop(std::move(stop));
  }
  Result<void> await_resume() {
    if (op_.res < 0) return error();
    return {};
  }
};

}  // namespace ringkit::detail
