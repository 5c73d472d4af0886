// File data operations: read/write at offsets and at the file position, readv/writev, fsync,
// fallocate, ftruncate, close, and the kernel-side copies (copy_file_range, FICLONE, splice).
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "ringkit/fs.h"
#include "support/backend_test.h"

namespace ringkit {
namespace {

std::span<const std::byte> bytes(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}
std::span<std::byte> bytes_of(std::string& s) {
  return std::as_writable_bytes(std::span(s.data(), s.size()));
}

// Awaits one awaitable built by `make` (awaitables cannot move, so they are made in place).
// Paths handed to `make` must be named strings: a temporary would die before the co_await.
template <class F>
Task<decltype(std::declval<F&>()().await_resume())> await_one(F make) {
  co_return co_await make();
}

// A pattern that tells every offset apart, so a misplaced byte shows.
std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 26) % 26);
  return s;
}

class FsDataTest : public testing::BackendTest {
 protected:
  template <class F>
  auto call(F make) {
    return run(await_one(std::move(make)));
  }
  // Creates (or truncates) `name` in the test directory, opened read-write.
  fs::Fd create(const std::string& name) {
    std::string path = dir() + "/" + name;
    auto fd = call([&] { return fs::openat(AT_FDCWD, path, O_CREAT | O_TRUNC | O_RDWR, 0644); });
    EXPECT_TRUE(fd.ok()) << describe(fd.error());
    return fd.ok() ? std::move(*fd) : fs::Fd();
  }
  std::string read_all(int fd, size_t max = 1 << 20) {
    std::string out(max, '\0');
    ssize_t n = ::pread(fd, out.data(), out.size(), 0);
    out.resize(n < 0 ? 0 : static_cast<size_t>(n));
    return out;
  }
  off_t position(int fd) { return ::lseek(fd, 0, SEEK_CUR); }
};
RINGKIT_BACKEND_TEST_SUITE(FsDataTest);

TEST_P(FsDataTest, WriteAndReadAtOffsets) {
  fs::Fd fd = create("f");
  std::string hello = "hello", world = "world";
  EXPECT_EQ(*call([&] { return fs::write(fd.get(), bytes(hello), 0); }), 5u);
  EXPECT_EQ(*call([&] { return fs::write(fd.get(), bytes(world), 10); }), 5u);
  std::string got(32, '?');
  auto n = call([&] { return fs::read(fd.get(), bytes_of(got), 0); });
  ASSERT_TRUE(n.ok()) << describe(n.error());
  EXPECT_EQ(got.substr(0, *n), std::string("hello\0\0\0\0\0world", 15));
  std::string tail(3, '?');
  EXPECT_EQ(*call([&] { return fs::read(fd.get(), bytes_of(tail), 12); }), 3u);
  EXPECT_EQ(tail, "rld");
  EXPECT_EQ(*call([&] { return fs::read(fd.get(), bytes_of(tail), 1000); }), 0u) << "past EOF";
  // Explicit offsets leave the file position alone.
  EXPECT_EQ(position(fd.get()), 0);
}

TEST_P(FsDataTest, CurrentPositionReadsAndWritesAtTheFilePosition) {
  fs::Fd fd = create("f");
  std::string abc = "abc";
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(*call([&] { return fs::write(fd.get(), bytes(abc), fs::kCurrentPosition); }), 3u);
  }
  EXPECT_EQ(position(fd.get()), 6);
  EXPECT_EQ(read_all(fd.get()), "abcabc");
  ASSERT_EQ(::lseek(fd.get(), 1, SEEK_SET), 1);
  std::string two(2, '?');
  EXPECT_EQ(*call([&] { return fs::read(fd.get(), bytes_of(two), fs::kCurrentPosition); }), 2u);
  EXPECT_EQ(two, "bc");
  EXPECT_EQ(*call([&] { return fs::read(fd.get(), bytes_of(two), fs::kCurrentPosition); }), 2u);
  EXPECT_EQ(two, "ab");
  EXPECT_EQ(position(fd.get()), 5);
}

TEST_P(FsDataTest, AppendModeWritesAtTheEnd) {
  fs::Fd fd = create("f");
  std::string path = dir() + "/f", x = "xyz", y = "12";
  ASSERT_EQ(::pwrite(fd.get(), "0123456789", 10, 0), 10);
  auto app = call([&] { return fs::openat(AT_FDCWD, path, O_WRONLY | O_APPEND); });
  ASSERT_TRUE(app.ok()) << describe(app.error());
  EXPECT_EQ(*call([&] { return fs::write(app->get(), bytes(x), fs::kCurrentPosition); }), 3u);
  EXPECT_EQ(*call([&] { return fs::write(app->get(), bytes(y), fs::kCurrentPosition); }), 2u);
  EXPECT_EQ(read_all(fd.get()), "0123456789xyz12");
}

TEST_P(FsDataTest, ReadvAndWritevScatterAndGather) {
  fs::Fd fd = create("f");
  std::string a = "one-", b = "", c = "two-three";
  iovec out[3] = {{a.data(), a.size()}, {b.data(), b.size()}, {c.data(), c.size()}};
  EXPECT_EQ(*call([&] { return fs::writev(fd.get(), out, 4); }), 13u);
  EXPECT_EQ(read_all(fd.get()), std::string("\0\0\0\0one-two-three", 17));
  std::string p(6, '?'), q(20, '?');
  iovec in[2] = {{p.data(), p.size()}, {q.data(), q.size()}};
  EXPECT_EQ(*call([&] { return fs::readv(fd.get(), in, 4); }), 13u);
  EXPECT_EQ(p, "one-tw");
  EXPECT_EQ(q.substr(0, 7), "o-three");
  // At the file position: gathers append where the position is and move it.
  ASSERT_EQ(::lseek(fd.get(), 0, SEEK_END), 17);
  EXPECT_EQ(*call([&] { return fs::writev(fd.get(), out, fs::kCurrentPosition); }), 13u);
  EXPECT_EQ(position(fd.get()), 30);
  ASSERT_EQ(::lseek(fd.get(), 17, SEEK_SET), 17);
  EXPECT_EQ(*call([&] { return fs::readv(fd.get(), in, fs::kCurrentPosition); }), 13u);
  EXPECT_EQ(p, "one-tw");
}

TEST_P(FsDataTest, FsyncAndFdatasyncSucceedOnFilesAndFailOnPipes) {
  fs::Fd fd = create("f");
  std::string data = pattern(10000);
  ASSERT_EQ(*call([&] { return fs::write(fd.get(), bytes(data), 0); }), data.size());
  auto sync = call([&] { return fs::fsync(fd.get()); });
  EXPECT_TRUE(sync.ok()) << describe(sync.error());
  auto datasync = call([&] { return fs::fdatasync(fd.get()); });
  EXPECT_TRUE(datasync.ok()) << describe(datasync.error());
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  fs::Fd r(p[0]), w(p[1]);
  EXPECT_EQ(call([&] { return fs::fsync(w.get()); }).error(), std::errc::invalid_argument);
  EXPECT_EQ(call([&] { return fs::fdatasync(-1); }).error(), std::errc::bad_file_descriptor);
}

TEST_P(FsDataTest, FallocateReservesKeepsSizeAndPunchesHoles) {
  fs::Fd fd = create("f");
  auto grow = call([&] { return fs::fallocate(fd.get(), 0, 0, 1 << 20); });
  ASSERT_TRUE(grow.ok()) << describe(grow.error());
  auto st = call([&] { return fs::statx(fd.get(), "", AT_EMPTY_PATH); });
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->stx_size, 1u << 20);
  EXPECT_GE(st->stx_blocks * 512, 1u << 20);
  auto keep = call([&] { return fs::fallocate(fd.get(), FALLOC_FL_KEEP_SIZE, 1 << 20, 1 << 20); });
  ASSERT_TRUE(keep.ok()) << describe(keep.error());
  st = call([&] { return fs::statx(fd.get(), "", AT_EMPTY_PATH); });
  EXPECT_EQ(st->stx_size, 1u << 20) << "KEEP_SIZE must not change the size";
  EXPECT_GE(st->stx_blocks * 512, 2u << 20);
  std::string data(8192, 'x');
  ASSERT_EQ(::pwrite(fd.get(), data.data(), data.size(), 0), 8192);
  auto punch = call([&] {
    return fs::fallocate(fd.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, 4096);
  });
  ASSERT_TRUE(punch.ok()) << describe(punch.error());
  std::string back = read_all(fd.get()).substr(0, 8192);
  EXPECT_EQ(back, std::string(4096, 'x') + std::string(4096, '\0'));
}

TEST_P(FsDataTest, FtruncateGrowsWithZerosAndShrinks) {
  fs::Fd fd = create("f");
  ASSERT_EQ(::pwrite(fd.get(), "hello", 5, 0), 5);
  ASSERT_TRUE(call([&] { return fs::ftruncate(fd.get(), 10000); }).ok());
  std::string all = read_all(fd.get());
  EXPECT_EQ(all.size(), 10000u);
  EXPECT_EQ(all.substr(0, 5), "hello");
  EXPECT_EQ(all.find_first_not_of('\0', 5), std::string::npos);
  ASSERT_TRUE(call([&] { return fs::ftruncate(fd.get(), 3); }).ok());
  EXPECT_EQ(read_all(fd.get()), "hel");
}

TEST_P(FsDataTest, CloseReleasesTheDescriptorOnce) {
  fs::Fd fd = create("f");
  int raw = fd.release();
  auto closed = call([&] { return fs::close(raw); });
  ASSERT_TRUE(closed.ok()) << describe(closed.error());
  EXPECT_EQ(::fcntl(raw, F_GETFD), -1) << "the descriptor must be gone";
  EXPECT_EQ(call([&] { return fs::close(raw); }).error(), std::errc::bad_file_descriptor);
}

TEST_P(FsDataTest, AHugeBufferReadsWhatTheFileHolds) {
  // A 4 GiB span: the length must not be truncated to 32 bits on its way to the kernel (it would
  // become 0 and read as EOF). Only the first page is ever written, so reserve without backing.
  const size_t huge = size_t{1} << 32;
  void* area = ::mmap(nullptr, huge, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (area == MAP_FAILED) GTEST_SKIP() << "cannot reserve 4 GiB of address space: " << strerror(errno);
  ASSERT_EQ(::mprotect(area, 4096, PROT_READ | PROT_WRITE), 0);
  fs::Fd fd = create("f");
  ASSERT_EQ(::pwrite(fd.get(), "0123456789", 10, 0), 10);
  std::span<std::byte> buf(static_cast<std::byte*>(area), huge);
  auto n = call([&] { return fs::read(fd.get(), buf, 0); });
  ::munmap(area, huge);
  ASSERT_TRUE(n.ok()) << describe(n.error());
  EXPECT_EQ(*n, 10u);
}

TEST_P(FsDataTest, CopyFileRangeCopiesBetweenOffsets) {
  fs::Fd src = create("src"), dst = create("dst");
  std::string data = pattern(100'000);
  ASSERT_EQ(::pwrite(src.get(), data.data(), data.size(), 0), 100'000);
  size_t copied = 0;
  while (copied < 60'000) {  // copy_file_range may copy less than asked: loop like a caller must
    auto n = call([&] {
      return fs::copy_file_range(src.get(), 1000 + copied, dst.get(), 5 + copied, 60'000 - copied);
    });
    ASSERT_TRUE(n.ok()) << describe(n.error());
    ASSERT_GT(*n, 0u);
    copied += *n;
  }
  std::string got = read_all(dst.get());
  EXPECT_EQ(got.size(), 60'005u);
  EXPECT_EQ(got.substr(5), data.substr(1000, 60'000));
  EXPECT_EQ(position(src.get()), 0) << "explicit offsets leave positions alone";
  // At the file positions: both advance.
  ASSERT_EQ(::lseek(src.get(), 10, SEEK_SET), 10);
  ASSERT_EQ(::lseek(dst.get(), 0, SEEK_SET), 0);
  auto n = call([&] {
    return fs::copy_file_range(src.get(), fs::kCurrentPosition, dst.get(), fs::kCurrentPosition, 4);
  });
  ASSERT_EQ(n.value_or(0), 4u);
  EXPECT_EQ(position(src.get()), 14);
  EXPECT_EQ(position(dst.get()), 4);
  EXPECT_EQ(read_all(dst.get()).substr(0, 4), data.substr(10, 4));
}

TEST_P(FsDataTest, CopyFileRangeIsShortAtTheEndOfTheSourceAndZeroPastIt) {
  fs::Fd src = create("src"), dst = create("dst");
  std::string data = pattern(10'000);
  ASSERT_EQ(::pwrite(src.get(), data.data(), data.size(), 0), 10'000);
  auto n = call([&] { return fs::copy_file_range(src.get(), 9'000, dst.get(), 0, 5'000); });
  ASSERT_TRUE(n.ok()) << describe(n.error());
  EXPECT_EQ(*n, 1'000u) << "a short count, not an error";
  auto past = call([&] { return fs::copy_file_range(src.get(), 10'000, dst.get(), 1'000, 5'000); });
  ASSERT_TRUE(past.ok()) << describe(past.error());
  EXPECT_EQ(*past, 0u);
  EXPECT_EQ(read_all(dst.get()), data.substr(9'000));
}

TEST_P(FsDataTest, CopyFileRangeTakesLengthsBeyondWhatOneCallMoves) {
  // A length past the kernel's per-call limit (and past 32 bits) copies what there is, on both
  // backends, instead of wrapping to a small or zero length.
  fs::Fd src = create("src"), dst = create("dst");
  std::string data = pattern(70'000);
  ASSERT_EQ(::pwrite(src.get(), data.data(), data.size(), 0), 70'000);
  for (size_t length : {size_t{1} << 32, (size_t{1} << 32) + 5, ~size_t{0} >> 1}) {
    ASSERT_EQ(::ftruncate(dst.get(), 0), 0);
    auto n = call([&] { return fs::copy_file_range(src.get(), 0, dst.get(), 0, length); });
    ASSERT_TRUE(n.ok()) << length << ": " << describe(n.error());
    EXPECT_EQ(*n, 70'000u) << length;
  }
  EXPECT_EQ(read_all(dst.get()), data);
}

TEST_P(FsDataTest, CopyFileRangeBetweenFileSystemsSaysExdevAndWritesNothing) {
  // tmpfs and another file system: copy_file_range refuses (EXDEV) since Linux 5.19, and the
  // caller falls back to read/write.
  struct stat shm {}, tmp {};
  if (::stat("/dev/shm", &shm) != 0 || ::stat(dir().c_str(), &tmp) != 0 || shm.st_dev == tmp.st_dev) {
    GTEST_SKIP() << "needs /dev/shm and " << dir() << " on two file systems";
  }
  char name[] = "/dev/shm/ringkit-cfr-XXXXXX";
  fs::Fd src(::mkostemp(name, O_CLOEXEC));
  ASSERT_TRUE(src.valid());
  ::unlink(name);
  ASSERT_EQ(::pwrite(src.get(), "data", 4, 0), 4);
  fs::Fd dst = create("dst");
  auto n = call([&] { return fs::copy_file_range(src.get(), 0, dst.get(), 0, 4); });
  if (n.ok()) GTEST_SKIP() << "this kernel copies between these file systems (before 5.19, or one that can)";
  EXPECT_EQ(n.error(), std::errc::cross_device_link) << describe(n.error());
  EXPECT_EQ(read_all(dst.get()), "");
}

TEST_P(FsDataTest, FicloneEitherSharesExtentsOrFailsCleanly) {
  fs::Fd src = create("src"), dst = create("dst");
  std::string data = pattern(65536);
  ASSERT_EQ(::pwrite(src.get(), data.data(), data.size(), 0), 65536);
  auto r = call([&] { return fs::ficlone(dst.get(), src.get()); });
  if (r.ok()) {
    EXPECT_EQ(read_all(dst.get()), data);
  } else {
    // ext4 and tmpfs cannot reflink; what matters is a clean error, and an untouched target.
    int e = r.error().value();
    EXPECT_TRUE(e == EOPNOTSUPP || e == EXDEV || e == EINVAL || e == ENOTTY) << describe(r.error());
    EXPECT_EQ(read_all(dst.get()), "");
  }
  EXPECT_EQ(call([&] { return fs::ficlone(dst.get(), -1); }).error(),
            std::errc::bad_file_descriptor);
}

TEST_P(FsDataTest, SpliceMovesAFileThroughAPipeIntoAnotherFile) {
  fs::Fd src = create("src"), dst = create("dst");
  std::string data = pattern(200'000);  // more than a pipe holds: several rounds
  ASSERT_EQ(::pwrite(src.get(), data.data(), data.size(), 0), 200'000);
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  fs::Fd pr(p[0]), pw(p[1]);
  uint64_t done = 0;
  while (done < data.size()) {
    auto in = call([&] {
      return fs::splice(src.get(), done, pw.get(), fs::kCurrentPosition, data.size() - done);
    });
    ASSERT_TRUE(in.ok()) << describe(in.error());
    ASSERT_GT(*in, 0u);
    for (size_t left = *in; left > 0;) {
      auto out = call([&] { return fs::splice(pr.get(), fs::kCurrentPosition, dst.get(), done, left); });
      ASSERT_TRUE(out.ok()) << describe(out.error());
      left -= *out;
      done += *out;
    }
  }
  EXPECT_EQ(read_all(dst.get()), data);
  // A pipe has no offsets: asking for one is ESPIPE on every backend.
  EXPECT_EQ(call([&] { return fs::splice(pr.get(), 0, dst.get(), 0, 1); }).error(),
            std::errc::invalid_seek);
}

TEST_P(FsDataTest, OffsetsOnAPipeAreIgnoredOnEveryBackend) {
  // io_uring ignores the offset of a file without positions; pread would say ESPIPE. The
  // engine promises one behaviour, the ring's.
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  fs::Fd pr(p[0]), pw(p[1]);
  std::string ab = "ab", got(2, '?');
  auto w = call([&] { return fs::write(pw.get(), bytes(ab), 7); });
  ASSERT_TRUE(w.ok()) << describe(w.error());
  iovec iov{got.data(), got.size()};
  auto r = call([&] { return fs::readv(pr.get(), std::span(&iov, 1), 3); });
  ASSERT_TRUE(r.ok()) << describe(r.error());
  EXPECT_EQ(got.substr(0, *r), "ab");
}

}  // namespace
}  // namespace ringkit
