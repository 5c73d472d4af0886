// Gate: lets a server stop taking new work and wait for the work it already took.
//
// Each unit of work enters the gate (try_enter) and holds a Holder while it runs; `co_await
// gate.close()` refuses new entries and resumes once the last Holder is gone. Used for graceful
// shutdown: close the gate, then destroy what the work used.
//
// Thread affinity: one executor thread. The closer is resumed on the executor's next turn,
// never inside the Holder's destructor. Invariant: `count_` is the number of live Holders.
#pragma once

#include <cassert>
#include <coroutine>
#include <cstddef>
#include <optional>
#include <utility>

#include "ringkit/executor.h"
#include "ringkit/operation.h"

namespace ringkit {

class Gate {
 public:
  Gate() = default;
  Gate(const Gate&) = delete;
  Gate& operator=(const Gate&) = delete;
  // REQUIRES: no Holder outlives the gate.
  ~Gate() { assert(count_ == 0); }

  class Holder {
   public:
    Holder(Holder&& other) noexcept : gate_(std::exchange(other.gate_, nullptr)) {}
    Holder& operator=(Holder&& other) noexcept {
      if (this != &other) {
        release();
        gate_ = std::exchange(other.gate_, nullptr);
      }
      return *this;
    }
    Holder(const Holder&) = delete;
    Holder& operator=(const Holder&) = delete;
    ~Holder() { release(); }

   private:
    friend class Gate;
    explicit Holder(Gate* gate) : gate_(gate) {}
    void release() {
      if (gate_ != nullptr) std::exchange(gate_, nullptr)->leave();
    }
    Gate* gate_;
  };

  // A Holder, or nullopt once the gate is closing.
  std::optional<Holder> try_enter() {
    if (closing_) return std::nullopt;
    ++count_;
    return Holder(this);
  }

  bool closing() const { return closing_; }
  size_t count() const { return count_; }

  class CloseAwaiter {
   public:
    explicit CloseAwaiter(Gate& gate) : gate_(gate) {}
    bool await_ready() const noexcept { return gate_.count_ == 0; }
    void await_suspend(std::coroutine_handle<> waiter) {
      gate_.closer_.waiter = waiter;
      gate_.closer_.executor = Executor::current();
      gate_.waiting_ = true;
    }
    void await_resume() const noexcept {}

   private:
    Gate& gate_;
  };

  // Refuses new entries; completes when every Holder is gone. REQUIRES: one closer at a time.
  CloseAwaiter close() {
    closing_ = true;
    return CloseAwaiter(*this);
  }

 private:
  void leave() {
    assert(count_ > 0);
    if (--count_ == 0 && waiting_) {
      waiting_ = false;
      closer_.executor->finish_later(closer_);
    }
  }

  size_t count_ = 0;
  bool closing_ = false;
  bool waiting_ = false;
  detail::Operation closer_;  // resumes the closer through the executor's ready queue
};

}  // namespace ringkit
