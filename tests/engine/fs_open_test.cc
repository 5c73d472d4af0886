// Opening: openat flags, and openat2's RESOLVE_* confinement, which ringsync and ringfs rely on
// to keep hostile paths (`..`, absolute paths, symlinks out of the tree) inside a root.
#include <fcntl.h>
#include <linux/openat2.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>

#include "ringkit/fs.h"
#include "support/backend_test.h"

namespace ringkit {
namespace {

template <class F>
Task<decltype(std::declval<F&>()().await_resume())> await_one(F make) {
  co_return co_await make();
}

// Layout under the test directory:
//   root/inside          a file ("in")
//   root/sub/            a directory
//   root/up -> ..        a symlink that climbs out of root
//   root/abs -> /etc/hostname-ringkit   an absolute symlink
//   root/rel -> inside   a symlink that stays inside
//   outside              a file ("out"), a sibling of root
class FsOpenTest : public testing::BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    if (IsSkipped()) return;
    std::string root = dir() + "/root";
    ASSERT_EQ(::mkdir(root.c_str(), 0755), 0);
    ASSERT_EQ(::mkdir((root + "/sub").c_str(), 0755), 0);
    put(root + "/inside", "in");
    put(dir() + "/outside", "out");
    ASSERT_EQ(::symlink("..", (root + "/up").c_str()), 0);
    ASSERT_EQ(::symlink("/outside", (root + "/abs").c_str()), 0);
    ASSERT_EQ(::symlink("inside", (root + "/rel").c_str()), 0);
    root_ = fs::Fd(::open(root.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(root_.valid());
  }
  void put(const std::string& path, const std::string& content) {
    int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
    ::close(fd);
  }
  template <class F>
  auto call(F make) {
    return run(await_one(std::move(make)));
  }
  // openat2 under root; returns the file's content or the error.
  Result<std::string> open_beneath(const std::string& path, uint64_t resolve) {
    auto fd = call([&] { return fs::openat2(root_.get(), path, O_RDONLY, 0, resolve); });
    if (!fd.ok()) return fd.error();
    char buf[64];
    ssize_t n = ::pread(fd->get(), buf, sizeof buf, 0);
    return std::string(buf, n < 0 ? 0 : static_cast<size_t>(n));
  }
  fs::Fd root_;
};
RINGKIT_BACKEND_TEST_SUITE(FsOpenTest);

TEST_P(FsOpenTest, OpenatCreatesWithModeAndHonoursFlags) {
  std::string path = dir() + "/new";
  ::umask(022);
  auto fd = call([&] { return fs::openat(AT_FDCWD, path, O_CREAT | O_EXCL | O_WRONLY, 0640); });
  ASSERT_TRUE(fd.ok()) << describe(fd.error());
  struct stat st {};
  ASSERT_EQ(::fstat(fd->get(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_NE(::fcntl(fd->get(), F_GETFD) & FD_CLOEXEC, 0) << "every descriptor is close-on-exec";
  auto again = call([&] { return fs::openat(AT_FDCWD, path, O_CREAT | O_EXCL | O_WRONLY, 0640); });
  EXPECT_EQ(again.error(), std::errc::file_exists);
  auto as_dir = call([&] { return fs::openat(AT_FDCWD, path, O_RDONLY | O_DIRECTORY); });
  EXPECT_EQ(as_dir.error(), std::errc::not_a_directory);
}

TEST_P(FsOpenTest, OpenatRelativeToADirectoryAndNoFollow) {
  auto fd = call([&] { return fs::openat(root_.get(), "inside", O_RDONLY); });
  ASSERT_TRUE(fd.ok()) << describe(fd.error());
  auto link = call([&] { return fs::openat(root_.get(), "rel", O_RDONLY | O_NOFOLLOW); });
  EXPECT_EQ(link.error(), std::errc::too_many_symbolic_link_levels);
  auto path_only = call([&] { return fs::openat(root_.get(), "rel", O_PATH | O_NOFOLLOW); });
  EXPECT_TRUE(path_only.ok()) << "O_PATH|O_NOFOLLOW opens the link itself";
}

TEST_P(FsOpenTest, Openat2TruncatesWithoutCreatingWhateverTheModeArgument) {
  // The kernel refuses a mode without O_CREAT/O_TMPFILE: openat2 passes it only with those.
  auto fd = call([&] { return fs::openat2(root_.get(), "inside", O_WRONLY | O_TRUNC, 0644, RESOLVE_BENEATH); });
  ASSERT_TRUE(fd.ok()) << describe(fd.error());
  struct stat st {};
  ASSERT_EQ(::fstat(fd->get(), &st), 0);
  EXPECT_EQ(st.st_size, 0);
}

TEST_P(FsOpenTest, BeneathAllowsPathsInsideTheRoot) {
  EXPECT_EQ(open_beneath("inside", RESOLVE_BENEATH).value_or("?"), "in");
  EXPECT_EQ(open_beneath("sub/../inside", RESOLVE_BENEATH).value_or("?"), "in");
  EXPECT_EQ(open_beneath("rel", RESOLVE_BENEATH).value_or("?"), "in");
}

TEST_P(FsOpenTest, BeneathRefusesEveryWayOut) {
  for (const char* path : {"../outside", "sub/../../outside", "/etc/hostname", "up/outside",
                           "abs"}) {
    auto r = open_beneath(path, RESOLVE_BENEATH);
    EXPECT_EQ(r.ok() ? std::error_code() : r.error(), std::errc::cross_device_link) << path;
  }
}

TEST_P(FsOpenTest, InRootTreatsTheRootAsSlash) {
  // `..` stops at the root and absolute paths start there, so every path lands inside.
  EXPECT_EQ(open_beneath("../../inside", RESOLVE_IN_ROOT).value_or("?"), "in");
  EXPECT_EQ(open_beneath("/inside", RESOLVE_IN_ROOT).value_or("?"), "in");
  EXPECT_EQ(open_beneath("up/inside", RESOLVE_IN_ROOT).value_or("?"), "in");
  // abs -> /outside, which in this root does not exist (the real one is a sibling of root).
  auto escaped = open_beneath("abs", RESOLVE_IN_ROOT);
  EXPECT_EQ(escaped.ok() ? std::error_code() : escaped.error(),
            std::errc::no_such_file_or_directory);
}

TEST_P(FsOpenTest, NoSymlinksRefusesAnyLink) {
  for (const char* path : {"rel", "up/inside", "abs"}) {
    auto r = open_beneath(path, RESOLVE_NO_SYMLINKS);
    EXPECT_EQ(r.ok() ? std::error_code() : r.error(), std::errc::too_many_symbolic_link_levels)
        << path;
  }
  EXPECT_EQ(open_beneath("inside", RESOLVE_NO_SYMLINKS).value_or("?"), "in");
}

TEST_P(FsOpenTest, MagicLinksAreRefusedWithNoMagiclinks) {
  // /proc/self/fd/N is a "magic" link; RESOLVE_NO_MAGICLINKS must stop it.
  std::string magic = "/proc/self/fd/" + std::to_string(root_.get());
  auto r = call([&] {
    return fs::openat2(AT_FDCWD, magic, O_RDONLY | O_DIRECTORY, 0, RESOLVE_NO_MAGICLINKS);
  });
  EXPECT_EQ(r.ok() ? std::error_code() : r.error(), std::errc::too_many_symbolic_link_levels);
}

TEST_P(FsOpenTest, Openat2CreatesWithModeBeneath) {
  ::umask(022);
  auto fd = call([&] {
    return fs::openat2(root_.get(), "made", O_CREAT | O_EXCL | O_WRONLY, 0604, RESOLVE_BENEATH);
  });
  ASSERT_TRUE(fd.ok()) << describe(fd.error());
  struct stat st {};
  ASSERT_EQ(::fstatat(root_.get(), "made", &st, 0), 0);
  EXPECT_EQ(st.st_mode & 07777, 0604u);
  auto out = call([&] {
    return fs::openat2(root_.get(), "../made", O_CREAT | O_WRONLY, 0644, RESOLVE_BENEATH);
  });
  EXPECT_EQ(out.ok() ? std::error_code() : out.error(), std::errc::cross_device_link);
  EXPECT_NE(::access((dir() + "/made").c_str(), F_OK), 0) << "nothing was created outside";
}

TEST_P(FsOpenTest, Openat2IgnoresTheModeWhenNotCreating) {
  // Like openat(2), a mode without O_CREAT/O_TMPFILE is ignored; the kernel's openat2 would
  // refuse it (EINVAL), so the engine must not pass it on. O_DIRECTORY shares a bit with
  // O_TMPFILE: opening a directory is not creating one.
  auto sub = call([&] { return fs::openat2(root_.get(), "sub", O_RDONLY | O_DIRECTORY, 0755, RESOLVE_BENEATH); });
  EXPECT_TRUE(sub.ok()) << describe(sub.error());
  auto file = call([&] { return fs::openat2(root_.get(), "inside", O_RDONLY, 0644, RESOLVE_BENEATH); });
  EXPECT_TRUE(file.ok()) << describe(file.error());
}

TEST_P(FsOpenTest, Openat2MakesAnonymousTmpfiles) {
  auto fd = call([&] { return fs::openat2(root_.get(), "sub", O_TMPFILE | O_RDWR, 0600, RESOLVE_BENEATH); });
  if (!fd.ok() && fd.error() == std::errc::operation_not_supported) {
    GTEST_SKIP() << "this file system has no O_TMPFILE";
  }
  ASSERT_TRUE(fd.ok()) << describe(fd.error());
  struct stat st {};
  ASSERT_EQ(::fstat(fd->get(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_nlink, 0u) << "an O_TMPFILE file has no name";
}

}  // namespace
}  // namespace ringkit
