#include "ringkit/deadlines.h"

#include <algorithm>
#include <cassert>

#include "ringkit/executor.h"

namespace ringkit {

Deadlines::Entry::~Entry() { assert(!scheduled() && "a Deadlines::Entry destroyed while scheduled"); }

Deadlines::Deadlines(Executor& ex) : ex_(ex) { timer_.owner = this; }

Deadlines::~Deadlines() {
  for (Entry* e : heap_) e->index_ = Entry::kNone;
}

void Deadlines::place(size_t i, Entry* e) {
  heap_[i] = e;
  e->index_ = i;
}

void Deadlines::sift_up(size_t i) {
  Entry* e = heap_[i];
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (heap_[parent]->due_ <= e->due_) break;
    place(i, heap_[parent]);
    i = parent;
  }
  place(i, e);
}

void Deadlines::sift_down(size_t i) {
  Entry* e = heap_[i];
  const size_t n = heap_.size();
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && heap_[child + 1]->due_ < heap_[child]->due_) ++child;
    if (e->due_ <= heap_[child]->due_) break;
    place(i, heap_[child]);
    i = child;
  }
  place(i, e);
}

void Deadlines::remove_at(size_t i) {
  Entry* gone = heap_[i];
  gone->index_ = Entry::kNone;
  Entry* last = heap_.back();
  heap_.pop_back();
  if (last == gone) return;
  place(i, last);
  sift_up(i);
  sift_down(last->index_);
}

void Deadlines::schedule(Entry& entry, Clock::time_point due) {
  ++stats_.scheduled;
  entry.due_ = due;
  if (entry.scheduled()) {
    sift_up(entry.index_);
    sift_down(entry.index_);
  } else {
    heap_.push_back(&entry);
    sift_up(heap_.size() - 1);
  }
  arm();
}

void Deadlines::cancel(Entry& entry) {
  if (!entry.scheduled()) return;
  remove_at(entry.index_);
  if (heap_.empty() && in_flight_ && !cancelling_) {
    // Nothing left to wait for: let the executor go idle (or shut down) without this timer.
    cancelling_ = true;
    ex_.cancel(timer_);
  }
}

// Keeps one kernel timer in flight for the earliest deadline, not sooner than kBatch after the
// last pass. A timer armed for later than needed is cancelled; its completion arms again.
void Deadlines::arm() {
  if (shut_down_ || heap_.empty()) return;
  Clock::time_point want = std::max(heap_.front()->due_, last_pass_ + kBatch);
  if (in_flight_) {
    if (armed_for_ > want && !cancelling_) {
      cancelling_ = true;
      ex_.cancel(timer_);
    }
    return;
  }
  Clock::time_point now = Clock::now();
  static_cast<detail::Operation&>(timer_) = detail::Operation{};
  timer_.code = detail::OpCode::kTimeout;
  timer_.timeout = std::max<std::chrono::nanoseconds>(want - now, std::chrono::nanoseconds(1));
  timer_.on_complete = &on_timer;
  armed_for_ = now + timer_.timeout;
  in_flight_ = true;
  cancelling_ = false;
  ++stats_.timer_arms;
  if (!ex_.submit(timer_)) {  // a timer never finishes at once; be safe
    in_flight_ = false;
  }
}

void Deadlines::fire_due() {
  const Clock::time_point now = Clock::now();
  bool any = false;
  // An entry that schedules itself again does so for later than now (its due passed), so
  // this ends.
  while (!heap_.empty() && heap_.front()->due_ <= now) {
    Entry* e = heap_.front();
    remove_at(0);
    ++stats_.fired;
    any = true;
    e->fire_(e);
  }
  if (any) {
    ++stats_.passes;
    last_pass_ = now;
  }
}

void Deadlines::on_timer(detail::Operation* op) {
  Deadlines* self = static_cast<TimerOp*>(op)->owner;
  self->in_flight_ = false;
  self->cancelling_ = false;
  if (self->shut_down_) return;
  self->fire_due();
  self->arm();
}

void Deadlines::shut_down() {
  shut_down_ = true;
  if (in_flight_ && !cancelling_) {
    cancelling_ = true;
    ex_.cancel(timer_);
  }
}

}  // namespace ringkit
