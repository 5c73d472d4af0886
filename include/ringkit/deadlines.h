// Deadlines: many deadlines on one executor, served by one kernel timer.
//
// A server with thousands of transfers has thousands of retransmission deadlines, each moved
// forward every packet. A timer operation per deadline costs a submission, and when it fires a
// timer interrupt and a completion: at 10 000 lockstep TFTP clients that was most of a
// packet's cost beside the send and the receive themselves (bench/tftp/notes.md). Here they
// share one: the deadlines sit in a heap, one kTimeout is in flight for the earliest, and when
// it fires every deadline that has passed is fired in one pass.
//
// Batching: the kernel timer is never armed for less than kBatch after the previous pass, so a
// stream of deadlines spread thinly over time costs at most one timer per kBatch, and a
// deadline fires at most kBatch late (on a quiet executor it fires on time). A deadline never
// fires early.
//
//   struct MyEntry : Deadlines::Entry { ... };     // fire(entry) is called when due
//   ex.deadlines().schedule(entry, Clock::now() + 5ms);
//   ex.deadlines().cancel(entry);                  // before the entry goes away
//
// Thread affinity: the executor's thread. Lifetimes: an Entry must be cancelled (or have fired)
// before it is destroyed; ~Entry checks in debug builds. The executor owns its Deadlines and
// stops the timer when it shuts down; a Deadlines with nothing scheduled has no timer in flight
// (cancelling the last entry cancels the timer), so an idle executor is not kept waiting by it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "ringkit/operation.h"

namespace ringkit {

class Executor;

struct DeadlineStats {
  uint64_t scheduled = 0;  // schedule() calls
  uint64_t fired = 0;      // entries fired
  uint64_t timer_arms = 0; // kernel timers submitted
  uint64_t passes = 0;     // timer completions that fired at least one entry
};

class Deadlines {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::nanoseconds kBatch = std::chrono::milliseconds(1);

  class Entry {
   public:
    // `fire` is called on the executor's thread once the due time has passed, after the entry
    // was taken out (it may schedule itself again, for a later time).
    explicit Entry(void (*fire)(Entry*)) : fire_(fire) {}
    ~Entry();
    Entry(const Entry&) = delete;
    Entry& operator=(const Entry&) = delete;

    bool scheduled() const { return index_ != kNone; }
    Clock::time_point due() const { return due_; }

   private:
    friend class Deadlines;
    static constexpr size_t kNone = SIZE_MAX;
    void (*fire_)(Entry*);
    Clock::time_point due_{};
    size_t index_ = kNone;  // position in the heap
  };

  explicit Deadlines(Executor& ex);
  ~Deadlines();
  Deadlines(const Deadlines&) = delete;
  Deadlines& operator=(const Deadlines&) = delete;

  // Fires `entry` once `due` has passed (at once on the executor's next pass if it already
  // has). Moves it if it was scheduled.
  void schedule(Entry& entry, Clock::time_point due);
  // Takes `entry` out; nothing if it was not scheduled.
  void cancel(Entry& entry);

  size_t size() const { return heap_.size(); }
  // A kernel timer is in flight (armed, or cancelled and not yet completed).
  bool timer_in_flight() const { return in_flight_; }
  const DeadlineStats& stats() const { return stats_; }

  // Called by the executor before it shuts down: nothing fires or is armed after this.
  void shut_down();

 private:
  struct TimerOp : detail::Operation {
    Deadlines* owner = nullptr;
  };
  static void on_timer(detail::Operation* op);
  void fire_due();
  void arm();
  void place(size_t i, Entry* e);
  void sift_up(size_t i);
  void sift_down(size_t i);
  void remove_at(size_t i);

  Executor& ex_;
  std::vector<Entry*> heap_;  // a binary min-heap on due_
  TimerOp timer_;
  bool in_flight_ = false;
  bool cancelling_ = false;
  bool shut_down_ = false;
  Clock::time_point armed_for_{};
  Clock::time_point last_pass_{};
  DeadlineStats stats_;
};

}  // namespace ringkit
