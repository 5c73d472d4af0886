// BufferPool: distinct, page-aligned leases that are recycled; acquire() waiting first come,
// first served; a copy that reads into and writes from the same lease (checked at the point
// where operations reach the kernel); registration with the ring, and working unregistered when
// the kernel refuses (RLIMIT_MEMLOCK without CAP_IPC_LOCK, in a child process).
#include "ringkit/buffer_pool.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/capability.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "ringkit/executor.h"
#include "ringkit/fs.h"
#include "ringkit/log.h"
#include "support/backend_test.h"

namespace ringkit {
namespace {

using detail::OpCode;
using Lease = BufferPool::Lease;

constexpr size_t kPage = 4096;

// Routes ringkit::log into a vector for the lifetime of the capture.
struct LogCapture {
  std::vector<std::string> lines;
  LogCapture() {
    set_log_handler([this](LogLevel, std::string_view m) { lines.emplace_back(m); });
  }
  ~LogCapture() { set_log_handler(nullptr); }
};

// What reached the kernel: every operation's code and buffer address.
struct Submitted {
  OpCode code;
  const void* addr;
};

bool is_data_op(OpCode code) {
  return code == OpCode::kRead || code == OpCode::kWrite || code == OpCode::kReadFixed ||
         code == OpCode::kWriteFixed;
}

std::string random_bytes(size_t n) {
  std::mt19937 gen(12345);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(gen());
  return s;
}

void write_file(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Copies `in` to `out` through one lease: every byte is read into the lease and written from
// that same memory. Returns the bytes copied.
Task<Result<uint64_t>> copy_through(int in, int out, const Lease& lease) {
  uint64_t off = 0;
  for (;;) {
    auto n = co_await fs::read_fixed(in, lease.span(), off, lease.buf_index());
    if (!n.ok()) co_return n.error();
    if (*n == 0) co_return off;
    size_t done = 0;
    while (done < *n) {
      auto w = co_await fs::write_fixed(out, lease.span().subspan(done, *n - done), off + done,
                                        lease.buf_index());
      if (!w.ok()) co_return w.error();
      done += *w;
    }
    off += *n;
  }
}

struct CopyOutcome {
  std::string error;  // empty on success
  std::vector<Submitted> ops;
  uint64_t copied = 0;
};

// Copies `size` random bytes from one file to another under `dir` through one lease of `pool`,
// recording what reaches the kernel. Shared by the in-process tests and the child process.
CopyOutcome copy_with_lease(Executor& ex, BufferPool& pool, const std::string& dir, size_t size) {
  CopyOutcome outcome;
  std::string src = dir + "/src", dst = dir + "/dst";
  std::string data = random_bytes(size);
  write_file(src, data);
  fs::Fd in(::open(src.c_str(), O_RDONLY | O_CLOEXEC));
  fs::Fd out(::open(dst.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  std::optional<Lease> lease = pool.try_acquire();
  if (!in || !out || !lease) {
    outcome.error = "setup failed";
    return outcome;
  }
  ex.set_submit_observer(
      [&](const detail::Operation& op) { outcome.ops.push_back({op.code, op.addr}); });
  Result<uint64_t> copied = ex.run(copy_through(in.get(), out.get(), *lease));
  ex.set_submit_observer(nullptr);
  if (!copied.ok()) {
    outcome.error = "copy: " + describe(copied.error());
  } else if (read_file(dst) != data) {
    outcome.error = "the copy differs from the source";
  }
  outcome.copied = copied.value_or(0);
  // Check every operation that carried data against the lease, here where the lease is known.
  for (const Submitted& s : outcome.ops) {
    if (is_data_op(s.code) && s.addr != lease->data() && outcome.error.empty()) {
      outcome.error = std::string(detail::opcode_name(s.code)) + " used a buffer other than the lease";
    }
  }
  return outcome;
}

size_t count_code(const std::vector<Submitted>& ops, OpCode code) {
  return static_cast<size_t>(
      std::count_if(ops.begin(), ops.end(), [&](const Submitted& s) { return s.code == code; }));
}

class BufferPoolTest : public testing::BackendTest {};
RINGKIT_BACKEND_TEST_SUITE(BufferPoolTest);

TEST_P(BufferPoolTest, LeasesAreDistinctAlignedAndRecycled) {
  LogCapture quiet;
  BufferPool pool(ex(), 4, 10'000);
  EXPECT_EQ(pool.count(), 4u);
  EXPECT_EQ(pool.buffer_size() % kPage, 0u);
  EXPECT_GE(pool.buffer_size(), 10'000u);
  EXPECT_EQ(pool.available(), 4u);

  std::vector<Lease> leases;
  for (int i = 0; i < 4; ++i) {
    std::optional<Lease> lease = pool.try_acquire();
    ASSERT_TRUE(lease.has_value()) << "lease " << i;
    leases.push_back(std::move(*lease));
  }
  EXPECT_FALSE(pool.try_acquire().has_value()) << "a fifth lease from a pool of four";
  EXPECT_EQ(pool.available(), 0u);

  std::vector<std::byte*> starts;
  std::set<int> indices;
  for (const Lease& lease : leases) {
    EXPECT_EQ(reinterpret_cast<uintptr_t>(lease.data()) % kPage, 0u);
    EXPECT_EQ(lease.size(), pool.buffer_size());
    starts.push_back(lease.data());
    indices.insert(lease.buf_index());
  }
  std::sort(starts.begin(), starts.end());
  for (size_t i = 1; i < starts.size(); ++i) {
    EXPECT_GE(static_cast<size_t>(starts[i] - starts[i - 1]), pool.buffer_size()) << "overlap";
  }
  if (pool.registered()) {
    EXPECT_EQ(indices, (std::set<int>{0, 1, 2, 3}));
  } else {
    EXPECT_EQ(indices, std::set<int>{-1});
  }
  // Every byte of every lease is usable and belongs to that lease alone.
  for (size_t i = 0; i < leases.size(); ++i) {
    std::fill(leases[i].data(), leases[i].data() + leases[i].size(), std::byte(i + 1));
  }
  for (size_t i = 0; i < leases.size(); ++i) {
    auto s = leases[i].span();
    EXPECT_TRUE(std::all_of(s.begin(), s.end(), [&](std::byte b) { return b == std::byte(i + 1); }));
  }

  // Returning a lease makes exactly that buffer available again.
  std::byte* returned = leases[2].data();
  int returned_index = leases[2].buf_index();
  leases[2] = Lease();
  EXPECT_FALSE(leases[2]);
  EXPECT_EQ(pool.available(), 1u);
  std::optional<Lease> again = pool.try_acquire();
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->data(), returned);
  EXPECT_EQ(again->buf_index(), returned_index);

  // Moving a lease moves the buffer, not a copy of it; the moved-from lease holds nothing.
  Lease moved = std::move(*again);
  EXPECT_FALSE(*again);
  EXPECT_EQ(moved.data(), returned);
  EXPECT_EQ(pool.available(), 0u);
  moved.reset();
  EXPECT_EQ(pool.available(), 1u);
}

Task<void> take_in_turn(BufferPool& pool, std::vector<int>& order, int id) {
  Lease lease = co_await pool.acquire();
  order.push_back(id);
}  // the lease returns here and goes to the next waiter

Task<void> waiters_are_served_in_order(BufferPool& pool, std::vector<int>& order) {
  std::optional<Lease> held = pool.try_acquire();  // the pool's only buffer
  EXPECT_TRUE(held.has_value());
  if (!held) co_return;
  std::byte* only = held->data();
  Executor* ex = Executor::current();
  for (int id = 1; id <= 3; ++id) ex->spawn(take_in_turn(pool, order, id));
  // Each spawned task ran until it had to wait for the buffer.
  EXPECT_EQ(pool.waiting(), 3u);
  EXPECT_TRUE(order.empty());

  held.reset();
  // The buffer was promised to the first waiter: nobody can take it in between, and the waiter
  // is not resumed from inside the release.
  EXPECT_FALSE(pool.try_acquire().has_value());
  EXPECT_TRUE(order.empty());
  EXPECT_EQ(pool.waiting(), 2u);

  // Queue up behind the others: this resumes only after all three have had their turn.
  Lease last = co_await pool.acquire();
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(last.data(), only);
  EXPECT_EQ(pool.waiting(), 0u);
  EXPECT_EQ(pool.available(), 0u);
}

TEST_P(BufferPoolTest, WaitingAcquireResumesInOrderWhenLeasesReturn) {
  LogCapture quiet;
  BufferPool pool(ex(), 1, kPage);
  std::vector<int> order;
  run(waiters_are_served_in_order(pool, order));
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(pool.available(), 1u);
}

Task<bool> acquire_without_waiting(BufferPool& pool) {
  Lease lease = co_await pool.acquire();
  co_return static_cast<bool>(lease);
}

TEST_P(BufferPoolTest, AcquireWithAFreeBufferDoesNotWait) {
  LogCapture quiet;
  BufferPool pool(ex(), 2, kPage);
  EXPECT_TRUE(run(acquire_without_waiting(pool)));
  EXPECT_EQ(pool.available(), 2u);
  EXPECT_EQ(ex().stats().completed, 0u) << "a free buffer went through the executor's queue";
}

TEST_P(BufferPoolTest, CopyReadsIntoAndWritesFromTheSameLease) {
  LogCapture quiet;
  BufferPool pool(ex(), 2, 64 * 1024);
  size_t size = pool.buffer_size() * 3 + 1234;  // full buffers, a partial one, then EOF
  CopyOutcome outcome = copy_with_lease(ex(), pool, dir(), size);
  ASSERT_TRUE(outcome.error.empty()) << outcome.error;
  EXPECT_EQ(outcome.copied, size);

  OpCode read = pool.registered() ? OpCode::kReadFixed : OpCode::kRead;
  OpCode write = pool.registered() ? OpCode::kWriteFixed : OpCode::kWrite;
  EXPECT_EQ(count_code(outcome.ops, read), 5u);  // four with data, one at EOF
  EXPECT_EQ(count_code(outcome.ops, write), 4u);
  for (const Submitted& s : outcome.ops) {
    EXPECT_TRUE(s.code == read || s.code == write) << detail::opcode_name(s.code);
  }
}

TEST_P(BufferPoolTest, RegistersWithTheRingOnlyOnUring) {
  LogCapture log;
  BufferPool pool(ex(), 3, kPage);
  if (GetParam() == BackendKind::kThreads) {
    EXPECT_FALSE(pool.registered());
    EXPECT_FALSE(pool.registration_error()) << "the threads backend has no ring to refuse";
    EXPECT_EQ(pool.try_acquire()->buf_index(), -1);
    return;
  }
  if (!pool.registered() && pool.registration_error() == std::errc::not_enough_memory) {
    GTEST_SKIP() << "this process may not lock 12 KiB (RLIMIT_MEMLOCK without CAP_IPC_LOCK)";
  }
  EXPECT_TRUE(pool.registered()) << describe(pool.registration_error());
  EXPECT_TRUE(log.lines.empty());
  EXPECT_EQ(pool.try_acquire()->buf_index(), 0);
}

TEST_P(BufferPoolTest, RegistrationNeverLeavesTheRingAlone) {
  LogCapture log;
  BufferPool pool(ex(), 2, kPage, BufferPool::Registration::kNever);
  EXPECT_FALSE(pool.registered());
  EXPECT_FALSE(pool.registration_error()) << "registration was not even to be tried";
  EXPECT_TRUE(log.lines.empty());
  EXPECT_EQ(pool.try_acquire()->buf_index(), -1);
  // The ring's one registered-buffer table stays free for another pool.
  BufferPool second(ex(), 1, kPage);
  if (GetParam() == BackendKind::kUring && !second.registered()) {
    EXPECT_EQ(second.registration_error(), std::errc::not_enough_memory)
        << "only RLIMIT_MEMLOCK may refuse it: " << describe(second.registration_error());
  }
  CopyOutcome outcome = copy_with_lease(ex(), pool, dir(), 3 * kPage);
  ASSERT_TRUE(outcome.error.empty()) << outcome.error;
  EXPECT_EQ(outcome.copied, 3 * kPage);
  EXPECT_EQ(count_code(outcome.ops, OpCode::kReadFixed), 0u);
  EXPECT_EQ(count_code(outcome.ops, OpCode::kWriteFixed), 0u);
}

class UnregisteredBufferPoolTest : public testing::BackendTest {
  void tweak(EngineSettings& s) override { s.use_registered_buffers = false; }
};
RINGKIT_BACKEND_TEST_SUITE(UnregisteredBufferPoolTest);

TEST_P(UnregisteredBufferPoolTest, SettingOffMeansPlainReadsAndWrites) {
  LogCapture log;
  BufferPool pool(ex(), 2, 16 * 1024);
  EXPECT_FALSE(pool.registered());
  EXPECT_FALSE(pool.registration_error()) << "registration was not even to be tried";
  EXPECT_TRUE(log.lines.empty());
  CopyOutcome outcome = copy_with_lease(ex(), pool, dir(), 40'000);
  ASSERT_TRUE(outcome.error.empty()) << outcome.error;
  EXPECT_EQ(count_code(outcome.ops, OpCode::kReadFixed), 0u);
  EXPECT_EQ(count_code(outcome.ops, OpCode::kRead), 4u);
  EXPECT_EQ(count_code(outcome.ops, OpCode::kWrite), 3u);
}

TEST_P(BufferPoolTest, DestroyingAPoolUnregistersItsBuffers) {
  if (GetParam() == BackendKind::kThreads) {
    GTEST_SKIP() << "the threads backend has no ring to register buffers with";
  }
  LogCapture log;
  {
    BufferPool first(ex(), 2, kPage);
    if (!first.registered()) {
      GTEST_SKIP() << "registration refused here: " << describe(first.registration_error());
    }
    // A ring holds one buffer table: a second pool meanwhile works unregistered.
    BufferPool second(ex(), 2, kPage);
    EXPECT_FALSE(second.registered());
    EXPECT_EQ(second.registration_error(), std::errc::device_or_resource_busy);
  }
  BufferPool third(ex(), 2, kPage);
  EXPECT_TRUE(third.registered()) << "the first pool left its buffers registered: "
                                  << describe(third.registration_error());
}

// ---- Registration refused: a child process without CAP_IPC_LOCK and with a tiny memlock ----

[[noreturn]] void child_fail(const std::string& what) {
  std::fprintf(stderr, "child: FAIL %s\n", what.c_str());
  std::fflush(stderr);
  _exit(1);
}

void drop_ipc_lock() {
  cap_t caps = cap_get_proc();
  if (caps == nullptr) child_fail("cap_get_proc");
  cap_value_t lock[] = {CAP_IPC_LOCK};
  if (cap_set_flag(caps, CAP_EFFECTIVE, 1, lock, CAP_CLEAR) != 0 ||
      cap_set_flag(caps, CAP_PERMITTED, 1, lock, CAP_CLEAR) != 0 ||
      cap_set_flag(caps, CAP_INHERITABLE, 1, lock, CAP_CLEAR) != 0 || cap_set_proc(caps) != 0) {
    cap_free(caps);
    child_fail("dropping CAP_IPC_LOCK");
  }
  cap_free(caps);
}

// Runs in a fresh process (a "threadsafe" death test re-executes this binary), so no earlier
// test has already said the once-per-process line.
[[noreturn]] void refused_registration_child(BackendKind backend) {
  try {
    std::vector<std::string> lines;
    set_log_handler([&](LogLevel, std::string_view m) {
      lines.emplace_back(m);
      std::fprintf(stderr, "log: %.*s\n", static_cast<int>(m.size()), m.data());
    });
    // The ring decides at setup whether to account locked memory, by CAP_IPC_LOCK; the limit
    // is read when buffers are registered.
    drop_ipc_lock();
    EngineSettings settings;
    settings.backend = backend;
    settings.fallback_on_error = false;
    settings.use_registered_buffers = true;
    Executor ex(settings);
    rlimit small{8 * 1024, 8 * 1024};
    if (setrlimit(RLIMIT_MEMLOCK, &small) != 0) child_fail("setrlimit(RLIMIT_MEMLOCK)");

    BufferPool pool(ex, 4, 64 * 1024);  // 256 KiB, far over the 8 KiB limit
    if (pool.registered()) child_fail("the pool registered 256 KiB under an 8 KiB limit");
    if (!pool.registration_error()) child_fail("no registration error");
    std::fprintf(stderr, "child: registration error: %s\n",
                 describe(pool.registration_error()).c_str());

    char tmpl[] = "/tmp/ringkit-pool-child-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) child_fail("mkdtemp");
    std::string dir = tmpl;
    CopyOutcome outcome = copy_with_lease(ex, pool, dir, 100'000);
    std::remove((dir + "/src").c_str());
    std::remove((dir + "/dst").c_str());
    ::rmdir(dir.c_str());
    if (!outcome.error.empty()) child_fail(outcome.error);
    if (count_code(outcome.ops, OpCode::kRead) != 3 || count_code(outcome.ops, OpCode::kWrite) != 2 ||
        count_code(outcome.ops, OpCode::kReadFixed) != 0 ||
        count_code(outcome.ops, OpCode::kWriteFixed) != 0) {
      child_fail("expected 3 plain reads and 2 plain writes");
    }

    BufferPool another(ex, 4, 64 * 1024);  // refused again, but not said again
    if (another.registered()) child_fail("the second pool registered");
    if (lines.size() != 1) child_fail(std::to_string(lines.size()) + " log lines, expected 1");
  } catch (const std::exception& e) {
    child_fail(std::string("exception: ") + e.what());
  }
  std::fprintf(stderr, "child: ok\n");
  std::fflush(stderr);
  _exit(0);
}

TEST(BufferPoolDeathTest, RefusedRegistrationWorksUnregisteredAndSaysSoOnce) {
  const char* forced = std::getenv("RINGKIT_BACKEND");
  if (forced != nullptr && std::string(forced) == "threads") {
    GTEST_SKIP() << "RINGKIT_BACKEND=threads: registration needs the io_uring backend";
  }
  if (!probe_io_uring().usable) {
    GTEST_SKIP() << "io_uring unusable here: " << probe_io_uring().reason;
  }
  GTEST_FLAG_SET(death_test_style, "threadsafe");  // a fresh exec, not a fork of this process
  EXPECT_EXIT(refused_registration_child(BackendKind::kUring), ::testing::ExitedWithCode(0),
              ::testing::AllOf(::testing::HasSubstr("child: ok"),
                               ::testing::HasSubstr("not registered with io_uring"),
                               ::testing::HasSubstr("RLIMIT_MEMLOCK")));
}

}  // namespace
}  // namespace ringkit
