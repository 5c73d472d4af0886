#include "ringkit/executor_thread.h"

#include <coroutine>
#include <exception>
#include <future>
#include <optional>
#include <utility>

namespace ringkit {

// What the owner and the worker thread share. `waiter` is touched on the worker thread only.
struct ExecutorThread::Shared {
  std::coroutine_handle<> waiter;
};

namespace {

// Suspends the worker's root task until stop() resumes it.
struct UntilStopped {
  std::coroutine_handle<>& waiter;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) noexcept { waiter = h; }
  void await_resume() const noexcept {}
};

Task<void> run_until_stopped(std::coroutine_handle<>& waiter) { co_await UntilStopped{waiter}; }

}  // namespace

ExecutorThread::ExecutorThread(const EngineSettings& settings) : shared_(std::make_shared<Shared>()) {
  std::promise<Executor*> started;
  std::future<Executor*> ready = started.get_future();
  thread_ = std::thread([settings, shared = shared_, &started] {
    std::optional<Executor> executor;
    try {
      executor.emplace(settings);
    } catch (...) {
      started.set_exception(std::current_exception());
      return;
    }
    // The root task suspends at once (before anything posted can run): stop() finds `waiter` set.
    Task<void> root = run_until_stopped(shared->waiter);
    started.set_value(&*executor);  // `started` is not touched after this
    executor->run(std::move(root));
  });
  try {
    executor_ = ready.get();
  } catch (...) {
    thread_.join();
    throw;
  }
}

ExecutorThread::~ExecutorThread() { stop(); }

void ExecutorThread::stop() {
  if (!thread_.joinable()) return;
  // Posted work runs in order: everything posted before this has run when the waiter resumes.
  executor_->post([shared = shared_] { shared->waiter.resume(); });
  thread_.join();
  executor_ = nullptr;
}

}  // namespace ringkit
