// The executor: running tasks, spawning, backpressure when the ring is full, sleeping,
// cancellation, cross-thread posts.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <stop_token>
#include <thread>
#include <vector>

#include "ringkit/executor.h"
#include "ringkit/fs.h"
#include "ringkit/time.h"
#include "support/backend_test.h"

using namespace std::chrono_literals;

namespace ringkit {
namespace {

class ExecutorTest : public testing::BackendTest {};
RINGKIT_BACKEND_TEST_SUITE(ExecutorTest);

Task<int> add(int a, int b) { co_return a + b; }

Task<int> nested(int depth) {
  if (depth == 0) co_return 0;
  int below = co_await nested(depth - 1);
  co_return below + 1;
}

TEST_P(ExecutorTest, RunsTaskAndReturnsValue) {
  EXPECT_EQ(run(add(2, 3)), 5);
  EXPECT_EQ(ex().backend(), GetParam());
}

TEST_P(ExecutorTest, DeepChainsDoNotGrowTheStack) {
#if !defined(__OPTIMIZE__) || defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "symmetric transfer becomes a tail call only in an optimized build without "
                  "AddressSanitizer (GCC at -O0, or with ASan's instrumentation, grows the stack); "
                  "the plain -O2 build runs this test";
#endif
  // Symmetric transfer: 100 000 nested awaits would overflow the stack otherwise.
  EXPECT_EQ(run(nested(100'000)), 100'000);
}

Task<void> thrower() {
  throw std::runtime_error("boom");
  co_return;
}

TEST_P(ExecutorTest, ExceptionsReachTheAwaiter) {
  EXPECT_THROW(run(thrower()), std::runtime_error);
}

Task<void> count_after_sleep(int& counter, std::chrono::milliseconds d) {
  auto r = co_await sleep_for(d);
  EXPECT_TRUE(r.ok());
  ++counter;
}

Task<void> spawn_and_wait(Executor& ex, int& counter) {
  for (int i = 0; i < 10; ++i) ex.spawn(count_after_sleep(counter, std::chrono::milliseconds(i)));
  while (counter < 10) co_await sleep_for(1ms);
}

TEST_P(ExecutorTest, SpawnedTasksRunConcurrently) {
  int counter = 0;
  run(spawn_and_wait(ex(), counter));
  EXPECT_EQ(counter, 10);
}

Task<int> many_nops(int n) {
  // Ten times more reads than the completion queue holds, all in flight at once: the executor
  // must queue the excess, never fail or abort.
  std::vector<Task<void>> tasks;
  int done = 0;
  auto one = [](int& d) -> Task<void> {
    std::byte b[1];
    auto r = co_await fs::read(-1, b, 0);  // EBADF, but it still travels the ring
    EXPECT_FALSE(r.ok());
    ++d;
  };
  Executor* ex = Executor::current();
  for (int i = 0; i < n; ++i) ex->spawn(one(done));
  while (done < n) co_await sleep_for(1ms);
  co_return done;
}

TEST_P(ExecutorTest, RingFullQueuesInsteadOfFailing) {
  int n = static_cast<int>(ex().capacity()) * 10;
  EXPECT_EQ(run(many_nops(n)), n);
  EXPECT_LE(ex().stats().max_in_flight, ex().capacity());
  if (GetParam() == BackendKind::kUring) {
    EXPECT_GT(ex().stats().deferred, 0u);
  }
}

Task<Result<void>> sleep_until_stopped(std::stop_token stop) {
  co_return co_await sleep_for(10s, stop);
}

Task<void> stop_soon(std::stop_source& source) {
  co_await sleep_for(5ms);
  source.request_stop();
}

Task<Result<void>> cancel_a_sleep() {
  std::stop_source source;
  Executor::current()->spawn(stop_soon(source));
  co_return co_await sleep_until_stopped(source.get_token());
}

TEST_P(ExecutorTest, CancellingASleepEndsItEarly) {
  auto start = std::chrono::steady_clock::now();
  auto r = run(cancel_a_sleep());
  EXPECT_TRUE(r.cancelled()) << describe(r.error());
  // Not a timing assertion: 10 s is the sleep that must not have happened.
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

Task<Result<void>> already_stopped() {
  std::stop_source source;
  source.request_stop();
  co_return co_await sleep_for(10s, source.get_token());
}

TEST_P(ExecutorTest, AlreadyStoppedTokenCancelsAtOnce) {
  EXPECT_TRUE(run(already_stopped()).cancelled());
}

Task<int> wait_for_post(Executor& ex, std::atomic<int>& value) {
  std::thread other([&] { ex.post([&] { value = 42; }); });
  while (value.load() == 0) co_await sleep_for(1ms);
  other.join();
  co_return value.load();
}

TEST_P(ExecutorTest, PostFromAnotherThreadRunsOnExecutor) {
  std::atomic<int> value{0};
  EXPECT_EQ(run(wait_for_post(ex(), value)), 42);
}

// Sets an environment variable for one test and puts the old value back, so that a suite run
// with RINGKIT_BACKEND=threads keeps it for the tests that follow.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(ExecutorSettings, EnvironmentSelectsBackend) {
  EngineSettings s;
  {
    ScopedEnv env("RINGKIT_BACKEND", "threads");
    s = EngineSettings::from_env();
  }
  EXPECT_EQ(s.backend, BackendKind::kThreads);
  Executor ex(s);
  EXPECT_EQ(ex.backend(), BackendKind::kThreads);
}

// Both ways of running the ring's completion work: deferred (kernel 6.1+) and not (as on older
// kernels, or with RINGKIT_DEFER_TASKRUN=0). A request completes, and so does a wake-up from
// another thread while the executor waits, which under DEFER_TASKRUN only arrives when the
// executor asks the kernel for completions.
TEST(ExecutorSettings, DeferredTaskRunningCanBeTurnedOff) {
  for (const char* value : {"0", "1"}) {
    SCOPED_TRACE(value);
    EngineSettings s;
    {
      ScopedEnv env("RINGKIT_DEFER_TASKRUN", value);
      s = EngineSettings::from_env();
    }
    EXPECT_EQ(s.defer_taskrun, value[0] == '1');
    s.backend = BackendKind::kUring;
    s.fallback_on_error = false;
    if (!probe_io_uring().usable) GTEST_SKIP() << "io_uring is unusable here: " << probe_io_uring().reason;
    Executor ex(s);
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    std::thread writer([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      EXPECT_EQ(::write(fds[1], "x", 1), 1);
    });
    char c = 0;
    auto got = ex.run([](int fd, char* out) -> Task<Result<size_t>> {
      co_return co_await fs::read(fd, std::as_writable_bytes(std::span<char>(out, 1)), ~uint64_t{0});
    }(fds[0], &c));
    writer.join();
    ::close(fds[0]);
    ::close(fds[1]);
    ASSERT_TRUE(got) << got.error().message();
    EXPECT_EQ(*got, 1u);
    EXPECT_EQ(c, 'x');
  }
}

TEST(ExecutorSettings, BadEnvironmentValueIsIgnored) {
  ScopedEnv env("RINGKIT_CHEAP_CALLS", "sometimes");
  EngineSettings s = EngineSettings::from_env();
  EXPECT_EQ(s.cheap_calls, EngineSettings::kDefaultCheapCalls);
}

}  // namespace
}  // namespace ringkit
