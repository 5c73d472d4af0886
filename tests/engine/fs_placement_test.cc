// Placement: where calls without an io_uring opcode run (EngineSettings::cheap_calls) and where
// the io-wq metadata calls run (metadata_ops). The place changes; the results must not.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <span>
#include <string>
#include <vector>

#include "ringkit/fs.h"
#include "support/backend_test.h"

namespace ringkit {
namespace {

constexpr uint64_t kCheapCallsInSequence = 7;

// Seven cheap calls with deterministic outcomes, folded into one string; no ring operations, so
// the stats move only by what the cheap-calls policy decides.
Task<std::string> cheap_sequence(int dirfd, int filefd) {
  std::string out;
  auto note = [&out](const auto& r, const std::string& what) { out += r.ok() ? what : describe(r.error()); out += '|'; };
  note(co_await fs::fchmod(filefd, 0640), "fchmod");
  note(co_await fs::fchmodat(dirfd, "f", 04750), "fchmodat");
  note(co_await fs::ftruncate(filefd, 12345), "ftruncate");
  const timespec times[2] = {{10, 1}, {20, 2}};  // after ftruncate, which sets mtime
  note(co_await fs::utimensat(dirfd, "f", times), "utimensat");
  auto target = co_await fs::readlinkat(dirfd, "link");
  note(target, target.ok() ? *target : "");
  std::vector<std::byte> buf(4096);
  auto n = co_await fs::getdents(dirfd, buf);
  size_t entries = 0;
  if (n.ok()) for (const auto& e : fs::DirEntries(std::span(buf).first(*n))) entries += !e.name.empty();
  note(n, "entries=" + std::to_string(entries));
  auto missing = co_await fs::fchmodat(dirfd, "missing", 0644);
  note(missing, "?");
  co_return out;
}

const char* const kExpected =
    "fchmod|fchmodat|ftruncate|utimensat|f|entries=2|No such file or directory|";

class FsPlacementTest : public testing::BackendTest {
 protected:
  // Makes f and link -> f under `base`, runs the sequence, checks the file, returns the string.
  std::string run_sequence(const char* base = "/tmp") {
    const std::string& d = dir(base);
    fs::Fd dirfd(::open(d.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
    fs::Fd file(::openat(dirfd.get(), "f", O_CREAT | O_RDWR | O_CLOEXEC, 0644));
    EXPECT_EQ(::symlinkat("f", dirfd.get(), "link"), 0);
    before_ = ex().stats();
    std::string out = run(cheap_sequence(dirfd.get(), file.get()));
    struct stat st {};
    EXPECT_EQ(::fstat(file.get(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 04750u);
    EXPECT_EQ(st.st_size, 12345);
    EXPECT_EQ(st.st_mtim.tv_nsec, 2);
    return out;
  }
  uint64_t inline_delta() const { return ex_stats().inline_calls - before_.inline_calls; }
  uint64_t pool_delta() const { return ex_stats().pool_calls - before_.pool_calls; }
  const ExecutorStats& ex_stats() const { return executor_->stats(); }
  ExecutorStats before_;
};

class FsPlacementInlineTest : public FsPlacementTest {
  void tweak(EngineSettings& s) override { s.cheap_calls = CheapCalls::kInline; }
};
class FsPlacementPoolTest : public FsPlacementTest {
  void tweak(EngineSettings& s) override { s.cheap_calls = CheapCalls::kPool; }
};
class FsPlacementAutoTest : public FsPlacementTest {
  void tweak(EngineSettings& s) override { s.cheap_calls = CheapCalls::kAuto; }
};
RINGKIT_BACKEND_TEST_SUITE(FsPlacementInlineTest);
RINGKIT_BACKEND_TEST_SUITE(FsPlacementPoolTest);
RINGKIT_BACKEND_TEST_SUITE(FsPlacementAutoTest);

TEST_P(FsPlacementInlineTest, CheapCallsRunOnTheExecutorThread) {
  EXPECT_EQ(run_sequence(), kExpected);
  EXPECT_EQ(inline_delta(), kCheapCallsInSequence);
  EXPECT_EQ(pool_delta(), 0u);
}

TEST_P(FsPlacementPoolTest, CheapCallsRunOnThePool) {
  EXPECT_EQ(run_sequence(), kExpected);
  EXPECT_EQ(pool_delta(), kCheapCallsInSequence);
  EXPECT_EQ(inline_delta(), 0u);
}

// Placement::kBlockingPool: a long call goes to the pool even where the policy says inline,
// with the same result; kPolicy follows the policy.
Task<std::string> long_calls(int src, int dst) {
  std::string out;
  auto copied = co_await fs::copy_file_range(src, 0, dst, 0, 1 << 20, fs::Placement::kBlockingPool);
  out += copied.ok() ? std::to_string(*copied) : describe(copied.error());
  auto again = co_await fs::copy_file_range(src, 3, dst, 100, 5, fs::Placement::kPolicy);
  out += "|" + (again.ok() ? std::to_string(*again) : describe(again.error()));
  auto clone = co_await fs::ficlone(dst, src, fs::Placement::kBlockingPool);
  // ext4 and tmpfs cannot reflink (a clean refusal); a file system that can makes dst a copy.
  int e = clone.ok() ? 0 : clone.error().value();
  bool clean = e == 0 || e == EOPNOTSUPP || e == EXDEV || e == EINVAL || e == ENOTTY;
  out += "|" + (clean ? std::string("clone ok") : describe(clone.error()));
  co_return out;
}

TEST_P(FsPlacementInlineTest, LongCallsGoToThePoolWhateverThePolicy) {
  const std::string& d = dir();
  fs::Fd src(::open((d + "/src").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644));
  fs::Fd dst(::open((d + "/dst").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644));
  ASSERT_EQ(::pwrite(src.get(), "0123456789", 10, 0), 10);
  ExecutorStats before = ex().stats();
  EXPECT_EQ(run(long_calls(src.get(), dst.get())), "10|5|clone ok");
  EXPECT_EQ(ex().stats().pool_calls - before.pool_calls, 2u) << "copy_file_range and ficlone";
  EXPECT_EQ(ex().stats().inline_calls - before.inline_calls, 1u) << "the kPolicy copy";
  char got[10] = {};
  ASSERT_EQ(::pread(dst.get(), got, sizeof got, 0), 10);
  EXPECT_EQ(std::string(got, sizeof got), "0123456789");
}

// An unlink that may wait for the device (a discard) can go to the pool too.
Task<std::string> pooled_unlinks(int dirfd) {
  auto gone = co_await fs::unlinkat(dirfd, "f", 0, fs::Placement::kBlockingPool);
  auto missing = co_await fs::unlinkat(dirfd, "f", 0, fs::Placement::kBlockingPool);
  co_return (gone.ok() ? std::string("unlinked") : describe(gone.error())) + "|" +
      (missing.ok() ? std::string("unlinked again?") : describe(missing.error()));
}

TEST_P(FsPlacementInlineTest, AnUnlinkCanBeSentToThePool) {
  const std::string& d = dir();
  fs::Fd dirfd(::open(d.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  fs::Fd file(::openat(dirfd.get(), "f", O_CREAT | O_RDWR | O_CLOEXEC, 0644));
  ExecutorStats before = ex().stats();
  EXPECT_EQ(run(pooled_unlinks(dirfd.get())), "unlinked|No such file or directory");
  EXPECT_EQ(ex().stats().pool_calls - before.pool_calls, 2u);
  EXPECT_EQ(ex().stats().inline_calls, before.inline_calls);
  struct stat st {};
  EXPECT_NE(::fstatat(dirfd.get(), "f", &st, AT_SYMLINK_NOFOLLOW), 0);
}

// kAuto decides by file system type; skip (saying why) where the base is not the local file
// system the test is about.
void require_fs(const char* base, long type, const char* what) {
  struct statfs info {};
  if (::statfs(base, &info) != 0 || info.f_type != type) {
    GTEST_SKIP() << base << " is not " << what << " on this machine";
  }
}

TEST_P(FsPlacementAutoTest, CheapCallsAreInlineOnExt4Tmp) {
  require_fs("/tmp", 0xEF53, "ext4");
  if (IsSkipped()) return;
  EXPECT_EQ(run_sequence("/tmp"), kExpected);
  EXPECT_EQ(inline_delta(), kCheapCallsInSequence);
  EXPECT_EQ(pool_delta(), 0u);
}

TEST_P(FsPlacementAutoTest, CheapCallsAreInlineOnTmpfsDevShm) {
  require_fs("/dev/shm", 0x01021994, "tmpfs");
  if (IsSkipped()) return;
  EXPECT_EQ(run_sequence("/dev/shm"), kExpected);
  EXPECT_EQ(inline_delta(), kCheapCallsInSequence);
  EXPECT_EQ(pool_delta(), 0u);
}

// fs::memory_backed: tmpfs keeps its files in memory, ext4 does not.
TEST(FsMemoryBacked, TmpfsIsAndExt4IsNot) {
  fs::Fd shm(::open("/dev/shm", O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  fs::Fd tmp(::open("/tmp", O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  struct statfs shm_info {};
  struct statfs tmp_info {};
  ASSERT_EQ(::fstatfs(shm.get(), &shm_info), 0);
  ASSERT_EQ(::fstatfs(tmp.get(), &tmp_info), 0);
  if (shm_info.f_type != 0x01021994 || tmp_info.f_type != 0xEF53) {
    GTEST_SKIP() << "needs tmpfs on /dev/shm and ext4 on /tmp";
  }
  EXPECT_TRUE(fs::memory_backed(shm.get()));
  EXPECT_FALSE(fs::memory_backed(tmp.get()));
  EXPECT_FALSE(fs::memory_backed(-1)) << "a failed fstatfs says no";
}

// ---- metadata_ops: statx and mkdirat on the ring or as cheap calls. ----

Task<std::string> metadata_sequence(int dirfd) {
  std::string out;
  auto made = co_await fs::mkdirat(dirfd, "sub", 0751);
  out += made.ok() ? "made|" : describe(made.error()) + "|";
  auto st = co_await fs::statx(dirfd, "sub", 0);
  out += st.ok() ? std::to_string(st->stx_mode & 07777) + "|" : describe(st.error()) + "|";
  auto again = co_await fs::mkdirat(dirfd, "sub", 0751);
  out += again.ok() ? "made again|" : describe(again.error()) + "|";
  co_return out;
}

class FsMetadataOnRingTest : public FsPlacementTest {
  void tweak(EngineSettings& s) override {
    s.metadata_ops = MetadataOps::kRing;
    s.cheap_calls = CheapCalls::kInline;
  }
};
class FsMetadataCheapTest : public FsPlacementTest {
  void tweak(EngineSettings& s) override {
    s.metadata_ops = MetadataOps::kCheap;
    s.cheap_calls = CheapCalls::kInline;
  }
};
RINGKIT_BACKEND_TEST_SUITE(FsMetadataOnRingTest);
RINGKIT_BACKEND_TEST_SUITE(FsMetadataCheapTest);

const std::string kMetadataExpected = std::to_string(0751) + "|";

TEST_P(FsMetadataOnRingTest, StatxAndMkdiratGoThroughTheBackend) {
  ::umask(022);
  fs::Fd d(::open(dir().c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  ExecutorStats before = ex().stats();
  EXPECT_EQ(run(metadata_sequence(d.get())), "made|" + kMetadataExpected + "File exists|");
  EXPECT_EQ(ex().stats().inline_calls, before.inline_calls) << "kRing never runs them inline";
  // The ring runs them (io-wq); the threads backend, which has no ring, on its pool.
  if (GetParam() == BackendKind::kUring) {
    EXPECT_EQ(ex().stats().submitted - before.submitted, 3u);
  } else {
    EXPECT_EQ(ex().stats().pool_calls - before.pool_calls, 3u);
  }
}

TEST_P(FsMetadataCheapTest, StatxAndMkdiratRunInline) {
  ::umask(022);
  fs::Fd d(::open(dir().c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  ExecutorStats before = ex().stats();
  EXPECT_EQ(run(metadata_sequence(d.get())), "made|" + kMetadataExpected + "File exists|");
  EXPECT_EQ(ex().stats().inline_calls - before.inline_calls, 3u);
  EXPECT_EQ(ex().stats().submitted, before.submitted) << "nothing reached the backend";
  EXPECT_EQ(ex().stats().pool_calls, before.pool_calls);
}

// Opens that create (O_CREAT, O_TMPFILE, O_TRUNC), fs::write_buffered and fs::read_buffered,
// which io_uring would hand to io-wq (always, or on tmpfs), are placed as the metadata calls are;
// a plain open, write and read stay ring requests. Returns what each did, for the result must
// not change.
Task<std::string> worker_bound_sequence(int dirfd) {
  std::string out;
  auto created = co_await fs::openat(dirfd, "new", O_CREAT | O_EXCL | O_RDWR, 0600);
  out += created ? "created|" : describe(created.error()) + "|";
  auto tmp = co_await fs::openat(dirfd, ".", O_TMPFILE | O_WRONLY, 0600);
  out += tmp ? "tmpfile|" : describe(tmp.error()) + "|";
  auto beneath = co_await fs::openat2(dirfd, "new2", O_CREAT | O_WRONLY, 0600, RESOLVE_BENEATH);
  out += beneath ? "beneath|" : describe(beneath.error()) + "|";
  const std::byte data[3] = {std::byte{'a'}, std::byte{'b'}, std::byte{'c'}};
  if (created) {
    auto n = co_await fs::write_buffered(created->get(), data, 0);
    out += n ? std::to_string(*n) + "|" : describe(n.error()) + "|";
    char back[4] = {};
    auto r = co_await fs::read_buffered(created->get(), std::as_writable_bytes(std::span(back)), 0);
    out += r ? std::string(back, *r) + "|" : describe(r.error()) + "|";
  }
  co_return out;
}

Task<std::string> ring_bound_sequence(int dirfd) {
  std::string out;
  auto opened = co_await fs::openat(dirfd, "new", O_RDWR);
  out += opened ? "opened|" : describe(opened.error()) + "|";
  const std::byte data[2] = {std::byte{'x'}, std::byte{'y'}};
  if (opened) {
    auto n = co_await fs::write(opened->get(), data, 3);
    out += n ? std::to_string(*n) + "|" : describe(n.error()) + "|";
    char back[8] = {};
    auto r = co_await fs::read(opened->get(), std::as_writable_bytes(std::span(back)), 0);
    out += r ? std::string(back, *r) + "|" : describe(r.error()) + "|";
  }
  co_return out;
}

TEST_P(FsMetadataCheapTest, CreatingOpensAndBufferedWritesRunInline) {
  fs::Fd d(::open(dir().c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  ExecutorStats before = ex().stats();
  EXPECT_EQ(run(worker_bound_sequence(d.get())), "created|tmpfile|beneath|3|abc|");
  EXPECT_EQ(ex().stats().inline_calls - before.inline_calls, 5u);
  EXPECT_EQ(ex().stats().submitted, before.submitted) << "nothing reached the backend";

  before = ex().stats();
  EXPECT_EQ(run(ring_bound_sequence(d.get())), "opened|2|abcxy|");
  EXPECT_EQ(ex().stats().inline_calls, before.inline_calls) << "a plain open, write and read are ring requests";
  struct stat st {};
  ASSERT_EQ(::fstatat(d.get(), "new", &st, 0), 0);
  EXPECT_EQ(st.st_size, 5);
}

TEST_P(FsMetadataOnRingTest, CreatingOpensGoThroughTheBackend) {
  fs::Fd d(::open(dir().c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  ExecutorStats before = ex().stats();
  EXPECT_EQ(run(worker_bound_sequence(d.get())), "created|tmpfile|beneath|3|abc|");
  EXPECT_EQ(ex().stats().inline_calls, before.inline_calls) << "kRing never runs them inline";
}

}  // namespace
}  // namespace ringkit
