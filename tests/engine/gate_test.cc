// Gate (graceful shutdown), when_all and joinable spawns, on both backends.
#include "ringkit/gate.h"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>

#include "ringkit/time.h"
#include "ringkit/when_all.h"
#include "support/backend_test.h"

using namespace std::chrono_literals;

namespace ringkit {
namespace {

class GateTest : public testing::BackendTest {};
RINGKIT_BACKEND_TEST_SUITE(GateTest);

Task<void> work(Gate::Holder /*held until the work ends*/, std::chrono::milliseconds d, int& finished) {
  co_await sleep_for(d);
  ++finished;
}

Task<int> close_after_work(Gate& gate) {
  int finished = 0;
  for (int i = 1; i <= 5; ++i) {
    auto holder = gate.try_enter();
    EXPECT_TRUE(holder.has_value());
    Executor::current()->spawn(work(std::move(*holder), std::chrono::milliseconds(i), finished));
  }
  co_await gate.close();
  EXPECT_FALSE(gate.try_enter().has_value()) << "a closing gate admits nothing";
  co_return finished;
}

TEST_P(GateTest, CloseWaitsForEveryHolder) {
  Gate gate;
  EXPECT_EQ(run(close_after_work(gate)), 5);
  EXPECT_EQ(gate.count(), 0u);
}

Task<bool> close_idle(Gate& gate) {
  co_await gate.close();
  co_return gate.closing();
}

TEST_P(GateTest, ClosingAnIdleGateDoesNotWait) {
  Gate gate;
  EXPECT_TRUE(run(close_idle(gate)));
}

Task<int> square_later(int x) {
  co_await sleep_for(std::chrono::milliseconds(5 - x));
  co_return x * x;
}

Task<std::vector<int>> squares() {
  std::vector<Task<int>> tasks;
  for (int i = 0; i < 5; ++i) tasks.push_back(square_later(i));
  co_return co_await when_all(std::move(tasks));
}

TEST_P(GateTest, WhenAllKeepsOrderWhateverFinishesFirst) {
  EXPECT_EQ(run(squares()), (std::vector<int>{0, 1, 4, 9, 16}));
}

Task<int> immediate(int x) { co_return x; }

Task<std::vector<int>> all_immediate() {
  std::vector<Task<int>> tasks;
  for (int i = 0; i < 3; ++i) tasks.push_back(immediate(i));
  co_return co_await when_all(std::move(tasks));
}

TEST_P(GateTest, WhenAllOfTasksThatNeverSuspend) {
  EXPECT_EQ(run(all_immediate()), (std::vector<int>{0, 1, 2}));
}

Task<void> fail_later() {
  co_await sleep_for(1ms);
  throw std::runtime_error("child failed");
}

Task<void> sleep_a_bit(int& done) {
  co_await sleep_for(3ms);
  ++done;
}

Task<int> one_child_throws() {
  int done = 0;
  std::vector<Task<void>> tasks;
  tasks.push_back(fail_later());
  tasks.push_back(sleep_a_bit(done));
  try {
    co_await when_all(std::move(tasks));
  } catch (const std::runtime_error&) {
    co_return done;  // the other child had finished before the exception arrived
  }
  co_return -1;
}

TEST_P(GateTest, WhenAllRethrowsAfterAllFinished) { EXPECT_EQ(run(one_child_throws()), 1); }

Task<int> join_two() {
  auto a = spawn_joinable(square_later(3));
  auto b = spawn_joinable(immediate(7));
  EXPECT_TRUE(b.done());
  int x = co_await a.join();
  int y = co_await b.join();
  co_return x + y;
}

TEST_P(GateTest, JoinableSpawnReturnsValues) { EXPECT_EQ(run(join_two()), 16); }

}  // namespace
}  // namespace ringkit
