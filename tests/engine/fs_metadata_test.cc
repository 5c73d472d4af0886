// Metadata: statx, mkdirat, mknodat/mkfifoat, unlinkat, renameat2, linkat, symlinkat and
// readlinkat. Modes, owners and times are in fs_attrs_test.cc.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
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

class FsMetadataTest : public testing::BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    if (IsSkipped()) return;
    dirfd_ = fs::Fd(::open(dir().c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(dirfd_.valid());
  }
  template <class F>
  auto call(F make) {
    return run(await_one(std::move(make)));
  }
  void put(const std::string& name, const std::string& content) {
    int fd = ::openat(dirfd_.get(), name.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0) << name;
    ASSERT_EQ(::write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
    ::close(fd);
  }
  std::string content(const std::string& name) {
    int fd = ::openat(dirfd_.get(), name.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return "<missing>";
    char buf[256];
    ssize_t n = ::read(fd, buf, sizeof buf);
    ::close(fd);
    return std::string(buf, n < 0 ? 0 : static_cast<size_t>(n));
  }
  Result<struct statx> stat(const std::string& name, int flags = AT_SYMLINK_NOFOLLOW) {
    return call([&] { return fs::statx(dirfd_.get(), name, flags); });
  }
  fs::Fd dirfd_;
};
RINGKIT_BACKEND_TEST_SUITE(FsMetadataTest);

TEST_P(FsMetadataTest, StatxReportsSizeModeInodeAndNanosecondMtime) {
  put("f", std::string(1234, 'x'));
  ASSERT_EQ(::fchmodat(dirfd_.get(), "f", 0640, 0), 0);
  timespec times[2] = {{1'000'000'000, 111'111'111}, {1'234'567'890, 123'456'789}};
  ASSERT_EQ(::utimensat(dirfd_.get(), "f", times, 0), 0);
  auto st = stat("f");
  ASSERT_TRUE(st.ok()) << describe(st.error());
  EXPECT_EQ(st->stx_size, 1234u);
  EXPECT_EQ(st->stx_mode, S_IFREG | 0640);
  EXPECT_EQ(st->stx_nlink, 1u);
  EXPECT_EQ(st->stx_mtime.tv_sec, 1'234'567'890);
  EXPECT_EQ(st->stx_mtime.tv_nsec, 123'456'789u);
  EXPECT_EQ(st->stx_atime.tv_nsec, 111'111'111u);
  struct stat plain {};
  ASSERT_EQ(::fstatat(dirfd_.get(), "f", &plain, 0), 0);
  EXPECT_EQ(st->stx_ino, plain.st_ino);
}

TEST_P(FsMetadataTest, StatxOfADescriptorAndOfASymlinkItself) {
  put("f", "abc");
  ASSERT_EQ(::symlinkat("f", dirfd_.get(), "link"), 0);
  auto fd = call([&] { return fs::openat(dirfd_.get(), "f", O_RDONLY); });
  ASSERT_TRUE(fd.ok());
  auto by_fd = call([&] { return fs::statx(fd->get(), "", AT_EMPTY_PATH, STATX_SIZE); });
  ASSERT_TRUE(by_fd.ok()) << describe(by_fd.error());
  EXPECT_EQ(by_fd->stx_size, 3u);
  auto link = stat("link");
  ASSERT_TRUE(link.ok());
  EXPECT_TRUE(S_ISLNK(link->stx_mode));
  EXPECT_EQ(link->stx_size, 1u) << "a link's size is its target's length";
  auto followed = stat("link", 0);
  ASSERT_TRUE(followed.ok());
  EXPECT_TRUE(S_ISREG(followed->stx_mode));
}

TEST_P(FsMetadataTest, MkdiratMakesADirectoryOnce) {
  ::umask(022);
  ASSERT_TRUE(call([&] { return fs::mkdirat(dirfd_.get(), "d", 0750); }).ok());
  auto st = stat("d");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->stx_mode, S_IFDIR | 0750);
  EXPECT_EQ(call([&] { return fs::mkdirat(dirfd_.get(), "d", 0750); }).error(),
            std::errc::file_exists);
  EXPECT_EQ(call([&] { return fs::mkdirat(dirfd_.get(), "no/such/parent", 0750); }).error(),
            std::errc::no_such_file_or_directory);
}

TEST_P(FsMetadataTest, MkfifoatAndMknodatMakeSpecialFiles) {
  ::umask(022);
  ASSERT_TRUE(call([&] { return fs::mkfifoat(dirfd_.get(), "fifo", 0640); }).ok());
  auto fifo = stat("fifo");
  ASSERT_TRUE(fifo.ok());
  EXPECT_EQ(fifo->stx_mode, S_IFIFO | 0640);
  ASSERT_TRUE(call([&] { return fs::mknodat(dirfd_.get(), "reg", S_IFREG | 0600, 0); }).ok());
  EXPECT_EQ(stat("reg")->stx_mode, S_IFREG | 0600);
  EXPECT_EQ(call([&] { return fs::mkfifoat(dirfd_.get(), "fifo", 0640); }).error(),
            std::errc::file_exists);
}

TEST_P(FsMetadataTest, MknodatMakesACharacterDevice) {
  auto r = call([&] { return fs::mknodat(dirfd_.get(), "null", S_IFCHR | 0666, makedev(1, 3)); });
  if (r.error() == std::errc::operation_not_permitted) {
    GTEST_SKIP() << "mknod of devices is not permitted here (no CAP_MKNOD in this container)";
  }
  ASSERT_TRUE(r.ok()) << describe(r.error());
  auto st = stat("null");
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(S_ISCHR(st->stx_mode));
  EXPECT_EQ(st->stx_rdev_major, 1u);
  EXPECT_EQ(st->stx_rdev_minor, 3u);
}

TEST_P(FsMetadataTest, UnlinkatRemovesFilesAndEmptyDirectories) {
  put("f", "x");
  ASSERT_EQ(::mkdirat(dirfd_.get(), "d", 0755), 0);
  ASSERT_EQ(::mkdirat(dirfd_.get(), "full", 0755), 0);
  put("full/inner", "x");
  EXPECT_EQ(call([&] { return fs::unlinkat(dirfd_.get(), "d", 0); }).error(),
            std::errc::is_a_directory);
  EXPECT_EQ(call([&] { return fs::unlinkat(dirfd_.get(), "f", AT_REMOVEDIR); }).error(),
            std::errc::not_a_directory);
  EXPECT_EQ(call([&] { return fs::unlinkat(dirfd_.get(), "full", AT_REMOVEDIR); }).error(),
            std::errc::directory_not_empty);
  EXPECT_TRUE(call([&] { return fs::unlinkat(dirfd_.get(), "f", 0); }).ok());
  EXPECT_TRUE(call([&] { return fs::unlinkat(dirfd_.get(), "d", AT_REMOVEDIR); }).ok());
  EXPECT_EQ(stat("f").error(), std::errc::no_such_file_or_directory);
  EXPECT_EQ(stat("d").error(), std::errc::no_such_file_or_directory);
  EXPECT_EQ(call([&] { return fs::unlinkat(dirfd_.get(), "f", 0); }).error(),
            std::errc::no_such_file_or_directory);
}

TEST_P(FsMetadataTest, Renameat2MovesReplacesAndRefusesWithNoreplace) {
  put("a", "A");
  put("b", "B");
  auto clash = call([&] { return fs::renameat2(dirfd_.get(), "a", dirfd_.get(), "b", RENAME_NOREPLACE); });
  EXPECT_EQ(clash.error(), std::errc::file_exists);
  EXPECT_EQ(content("a"), "A");
  EXPECT_EQ(content("b"), "B");
  ASSERT_TRUE(call([&] { return fs::renameat2(dirfd_.get(), "a", dirfd_.get(), "c", RENAME_NOREPLACE); }).ok());
  EXPECT_EQ(content("c"), "A");
  EXPECT_EQ(content("a"), "<missing>");
  ASSERT_TRUE(call([&] { return fs::renameat2(dirfd_.get(), "c", dirfd_.get(), "b"); }).ok());
  EXPECT_EQ(content("b"), "A") << "a plain rename replaces";
}

TEST_P(FsMetadataTest, Renameat2ExchangesAtomically) {
  put("a", "A");
  ASSERT_EQ(::mkdirat(dirfd_.get(), "d", 0755), 0);
  auto r = call([&] { return fs::renameat2(dirfd_.get(), "a", dirfd_.get(), "d", RENAME_EXCHANGE); });
  ASSERT_TRUE(r.ok()) << describe(r.error());
  EXPECT_TRUE(S_ISDIR(stat("a")->stx_mode));
  EXPECT_EQ(content("d"), "A");
}

TEST_P(FsMetadataTest, LinkatAddsASecondNameToTheSameInode) {
  put("f", "data");
  ASSERT_TRUE(call([&] { return fs::linkat(dirfd_.get(), "f", dirfd_.get(), "g"); }).ok());
  auto f = stat("f"), g = stat("g");
  ASSERT_TRUE(f.ok() && g.ok());
  EXPECT_EQ(f->stx_nlink, 2u);
  EXPECT_EQ(f->stx_ino, g->stx_ino);
  EXPECT_EQ(call([&] { return fs::linkat(dirfd_.get(), "f", dirfd_.get(), "g"); }).error(),
            std::errc::file_exists);
}

TEST_P(FsMetadataTest, LinkatFollowsASymlinkOnlyWhenAsked) {
  put("f", "data");
  ASSERT_EQ(::symlinkat("f", dirfd_.get(), "link"), 0);
  ASSERT_TRUE(call([&] { return fs::linkat(dirfd_.get(), "link", dirfd_.get(), "hard_to_link"); }).ok());
  EXPECT_TRUE(S_ISLNK(stat("hard_to_link")->stx_mode)) << "without flags, the link itself";
  ASSERT_TRUE(call([&] {
                return fs::linkat(dirfd_.get(), "link", dirfd_.get(), "hard_to_file", AT_SYMLINK_FOLLOW);
              }).ok());
  EXPECT_EQ(stat("hard_to_file")->stx_ino, stat("f")->stx_ino);
}

TEST_P(FsMetadataTest, SymlinkTargetsKeepEveryByte) {
  // Targets are bytes, not text: newlines, dashes, invalid UTF-8, spaces, the longest allowed.
  const std::string targets[] = {"a\nb", "-rf", std::string("\xff\xfe\x80 bad utf8"),
                                 "  spaced  ", "../up/../and/../down", std::string(4095, 'L')};
  int i = 0;
  for (const std::string& target : targets) {
    std::string name = "link" + std::to_string(i++);
    auto made = call([&] { return fs::symlinkat(target, dirfd_.get(), name); });
    ASSERT_TRUE(made.ok()) << describe(made.error()) << " for target of size " << target.size();
    auto back = call([&] { return fs::readlinkat(dirfd_.get(), name); });
    ASSERT_TRUE(back.ok()) << describe(back.error());
    EXPECT_EQ(*back, target);
  }
}

TEST_P(FsMetadataTest, SymlinkatAndReadlinkatErrors) {
  put("f", "x");
  EXPECT_EQ(call([&] { return fs::symlinkat("x", dirfd_.get(), "f"); }).error(),
            std::errc::file_exists);
  EXPECT_EQ(call([&] { return fs::readlinkat(dirfd_.get(), "f"); }).error(),
            std::errc::invalid_argument) << "not a link";
  EXPECT_EQ(call([&] { return fs::readlinkat(dirfd_.get(), "missing"); }).error(),
            std::errc::no_such_file_or_directory);
  std::string too_long(4096, 'L');
  EXPECT_EQ(call([&] { return fs::symlinkat(too_long, dirfd_.get(), "long"); }).error(),
            std::errc::filename_too_long);
}

}  // namespace
}  // namespace ringkit
