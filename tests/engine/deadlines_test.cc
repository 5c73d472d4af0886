// Deadlines: many deadlines on one executor served by one kernel timer, on both backends.
#include "ringkit/deadlines.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <vector>

#include "ringkit/time.h"
#include "support/backend_test.h"

using namespace std::chrono_literals;

namespace ringkit {
namespace {

using Clock = Deadlines::Clock;

class DeadlinesTest : public testing::BackendTest {};
RINGKIT_BACKEND_TEST_SUITE(DeadlinesTest);

// An entry that records when it fired and in which order.
struct Probe : Deadlines::Entry {
  Probe() : Entry(&on_fire) {}
  static void on_fire(Deadlines::Entry* e) {
    auto* self = static_cast<Probe*>(e);
    self->fired_at = Clock::now();
    self->order = (*self->counter)++;
    ++self->fires;
  }
  Clock::time_point wanted{};
  Clock::time_point fired_at{};
  int order = -1;
  int fires = 0;
  int* counter = nullptr;
};

// Sleeps until every probe fired or `limit` passed.
Task<void> wait_for(std::vector<Probe>& probes, std::chrono::milliseconds limit) {
  auto end = Clock::now() + limit;
  while (Clock::now() < end &&
         std::any_of(probes.begin(), probes.end(), [](const Probe& p) { return p.fires == 0; })) {
    (void)co_await sleep_for(2ms);
  }
}

Task<void> fire_in_order(std::vector<Probe>& probes) {
  Deadlines& d = Executor::current()->deadlines();
  std::mt19937 rng(42);
  auto start = Clock::now();
  for (auto& p : probes) {
    p.wanted = start + std::chrono::microseconds(1000 + rng() % 30000);
    d.schedule(p, p.wanted);
  }
  co_await wait_for(probes, 10s);
}

TEST_P(DeadlinesTest, FireInOrderOfDueAndNeverEarly) {
  std::vector<Probe> probes(60);
  int counter = 0;
  for (auto& p : probes) p.counter = &counter;
  run(fire_in_order(probes));
  std::vector<const Probe*> by_order;
  for (const auto& p : probes) {
    ASSERT_EQ(p.fires, 1);
    EXPECT_GE(p.fired_at, p.wanted) << "fired before its due time";
    by_order.push_back(&p);
  }
  std::sort(by_order.begin(), by_order.end(),
            [](const Probe* a, const Probe* b) { return a->order < b->order; });
  for (size_t i = 1; i < by_order.size(); ++i) {
    EXPECT_LE(by_order[i - 1]->wanted, by_order[i]->wanted) << "fired out of order at " << i;
  }
  EXPECT_EQ(ex().deadlines().size(), 0u);
  EXPECT_EQ(ex().deadlines().stats().fired, probes.size());
}

Task<void> schedule_close_together(std::vector<Probe>& probes) {
  Deadlines& d = Executor::current()->deadlines();
  auto start = Clock::now() + 5ms;
  for (size_t i = 0; i < probes.size(); ++i) {
    d.schedule(probes[i], start + std::chrono::nanoseconds(i * 500));  // 1000 over 0.5 ms
  }
  co_await wait_for(probes, 10s);
}

TEST_P(DeadlinesTest, ThousandDeadlinesShareAFewTimers) {
  std::vector<Probe> probes(1000);
  int counter = 0;
  for (auto& p : probes) p.counter = &counter;
  run(schedule_close_together(probes));
  for (const auto& p : probes) ASSERT_EQ(p.fires, 1);
  // The earliest one's timer, then at most one more a batch (1 ms) later for the rest.
  EXPECT_LE(ex().deadlines().stats().timer_arms, 2u);
  EXPECT_GE(ex().deadlines().stats().timer_arms, 1u);
}

Task<void> cancel_then_idle(Probe& far, Probe& near, bool& in_flight_after_cancel) {
  Deadlines& d = Executor::current()->deadlines();
  d.schedule(far, Clock::now() + 1h);
  d.schedule(near, Clock::now() + 1h);
  d.schedule(near, Clock::now() + 3ms);  // moved nearer: the hour-long timer must not hold it
  auto end = Clock::now() + 10s;
  while (near.fires == 0 && Clock::now() < end) (void)co_await sleep_for(2ms);
  d.cancel(far);
  (void)co_await sleep_for(5ms);  // the cancelled timer's completion comes back
  in_flight_after_cancel = d.timer_in_flight();
}

TEST_P(DeadlinesTest, MovedNearerFiresAndCancellingTheLastStopsTheTimer) {
  Probe far, near;
  int counter = 0;
  far.counter = near.counter = &counter;
  bool in_flight = true;
  run(cancel_then_idle(far, near, in_flight));
  EXPECT_EQ(near.fires, 1);
  EXPECT_EQ(far.fires, 0);
  EXPECT_FALSE(far.scheduled());
  EXPECT_FALSE(in_flight) << "nothing scheduled, yet a timer stays in flight";
}

// An entry that schedules itself again from its fire, three times.
struct Repeater : Deadlines::Entry {
  Repeater() : Entry(&on_fire) {}
  static void on_fire(Deadlines::Entry* e) {
    auto* self = static_cast<Repeater*>(e);
    if (++self->fires < 3) Executor::current()->deadlines().schedule(*self, Clock::now() + 1ms);
  }
  int fires = 0;
};

Task<void> repeat(Repeater& r) {
  Executor::current()->deadlines().schedule(r, Clock::now() + 1ms);
  auto end = Clock::now() + 10s;
  while (r.fires < 3 && Clock::now() < end) (void)co_await sleep_for(2ms);
}

TEST_P(DeadlinesTest, AnEntryMayScheduleItselfAgainWhenItFires) {
  Repeater r;
  run(repeat(r));
  EXPECT_EQ(r.fires, 3);
  EXPECT_FALSE(r.scheduled());
}

}  // namespace
}  // namespace ringkit
