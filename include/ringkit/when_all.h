// Waiting for several tasks: when_all() and joinable spawns.
//
// `co_await when_all(std::move(tasks))` starts every task at once (they interleave on the
// current executor) and resumes when all have finished, with their values in order. If any
// throws, the first exception is rethrown after all have finished.
//
// `spawn_joinable(task)` starts a task now and returns a JoinHandle; `co_await handle.join()`
// waits for it and yields its value. The task runs to completion even if the handle is
// dropped. Thread affinity: the current executor's thread.
#pragma once

#include <coroutine>
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <vector>

#include "ringkit/task.h"

namespace ringkit {

namespace detail {

struct WhenAllState {
  size_t remaining = 0;  // children not finished, +1 while they are being started
  std::coroutine_handle<> parent;
  std::exception_ptr error;

  void child_done() {
    if (--remaining == 0) parent.resume();
  }
};

template <class T>
DetachedTask when_all_child(Task<T> task, WhenAllState& state, std::optional<T>& out) {
  try {
    out.emplace(co_await std::move(task));
  } catch (...) {
    if (!state.error) state.error = std::current_exception();
  }
  state.child_done();
}

inline DetachedTask when_all_child(Task<void> task, WhenAllState& state) {
  try {
    co_await std::move(task);
  } catch (...) {
    if (!state.error) state.error = std::current_exception();
  }
  state.child_done();
}

// Starts the children inside await_suspend; resumes the parent when the last one ends (or
// does not suspend at all if they all finished while being started).
template <class Start>
struct StartAll {
  WhenAllState& state;
  Start start;
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> parent) {
    state.parent = parent;
    start();
    return --state.remaining != 0;
  }
  void await_resume() const noexcept {}
};

}  // namespace detail

template <class T>
Task<std::vector<T>> when_all(std::vector<Task<T>> tasks) {
  std::vector<std::optional<T>> results(tasks.size());
  detail::WhenAllState state;
  state.remaining = tasks.size() + 1;
  auto start = [&] {
    for (size_t i = 0; i < tasks.size(); ++i) {
      detail::when_all_child(std::move(tasks[i]), state, results[i]);
    }
  };
  co_await detail::StartAll<decltype(start)>{state, start};
  if (state.error) std::rethrow_exception(state.error);
  std::vector<T> values;
  values.reserve(results.size());
  for (auto& r : results) values.push_back(std::move(*r));
  co_return values;
}

inline Task<void> when_all(std::vector<Task<void>> tasks) {
  detail::WhenAllState state;
  state.remaining = tasks.size() + 1;
  auto start = [&] {
    for (auto& t : tasks) detail::when_all_child(std::move(t), state);
  };
  co_await detail::StartAll<decltype(start)>{state, start};
  if (state.error) std::rethrow_exception(state.error);
}

template <class T>
class JoinHandle {
 public:
  // Task<void> stores a placeholder.
  using Stored = std::conditional_t<std::is_void_v<T>, bool, T>;
  struct State {
    bool done = false;
    std::optional<Stored> value;
    std::exception_ptr error;
    std::coroutine_handle<> joiner;
  };

  explicit JoinHandle(std::shared_ptr<State> state) : state_(std::move(state)) {}

  bool done() const { return state_->done; }

  // Waits for the task; its value, or its exception rethrown. REQUIRES: joined at most once.
  auto join() {
    struct Awaiter {
      std::shared_ptr<State> state;
      bool await_ready() const noexcept { return state->done; }
      void await_suspend(std::coroutine_handle<> h) { state->joiner = h; }
      T await_resume() {
        if (state->error) std::rethrow_exception(state->error);
        if constexpr (!std::is_void_v<T>) return std::move(*state->value);
      }
    };
    return Awaiter{state_};
  }

 private:
  std::shared_ptr<State> state_;
};

namespace detail {
template <class T>
DetachedTask joinable_root(Task<T> task, std::shared_ptr<typename JoinHandle<T>::State> state) {
  try {
    if constexpr (std::is_void_v<T>) {
      co_await std::move(task);
      state->value.emplace(true);
    } else {
      state->value.emplace(co_await std::move(task));
    }
  } catch (...) {
    state->error = std::current_exception();
  }
  state->done = true;
  if (state->joiner) state->joiner.resume();
}
}  // namespace detail

// Starts `task` now on the current thread; see JoinHandle.
template <class T>
JoinHandle<T> spawn_joinable(Task<T> task) {
  auto state = std::make_shared<typename JoinHandle<T>::State>();
  detail::joinable_root(std::move(task), state);
  return JoinHandle<T>(state);
}

}  // namespace ringkit
