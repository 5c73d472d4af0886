// Timers: sleeping inside a task without blocking the executor thread.
//
// `co_await sleep_for(10ms)` suspends the calling task; other tasks on the executor go on.
// Pass a stop token to cut a sleep short: it then ends early with `cancelled()`.
#pragma once

#include <chrono>

#include "ringkit/awaitable.h"

namespace ringkit {

class SleepAwaiter : public detail::OpAwaiterBase {
 public:
  SleepAwaiter(std::chrono::nanoseconds duration, std::stop_token stop) {
    set_stop(std::move(stop));
    op_.code = detail::OpCode::kTimeout;
    op_.timeout = duration.count() > 0 ? duration : std::chrono::nanoseconds(1);
  }
  // Ok when the time has passed; cancelled() when stopped early.
  Result<void> await_resume() {
    if (op_.res == -ETIME || op_.res >= 0) return {};
    return error_from_res(op_.res);
  }
};

inline SleepAwaiter sleep_for(std::chrono::nanoseconds duration, std::stop_token stop = {}) {
  return SleepAwaiter(duration, std::move(stop));
}

}  // namespace ringkit
