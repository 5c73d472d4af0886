// Attributes: fchmod/fchmodat (incl. setuid, setgid, sticky and AT_SYMLINK_NOFOLLOW),
// fchown/fchownat, futimens/utimensat with nanoseconds, UTIME_OMIT/UTIME_NOW, 1970 and far
// future. ringsync's archive mode depends on every one of these being exact.
#include <fcntl.h>
#include <sys/stat.h>
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

class FsAttrsTest : public testing::BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    if (IsSkipped()) return;
    dirfd_ = fs::Fd(::open(dir().c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(dirfd_.valid());
    int fd = ::openat(dirfd_.get(), "f", O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    file_ = fs::Fd(fd);
    ASSERT_EQ(::fchmod(fd, 0644), 0);  // whatever the umask
    ASSERT_EQ(::symlinkat("f", dirfd_.get(), "link"), 0);
  }
  template <class F>
  auto call(F make) {
    return run(await_one(std::move(make)));
  }
  struct stat lstat(const char* name) {
    struct stat st {};
    EXPECT_EQ(::fstatat(dirfd_.get(), name, &st, AT_SYMLINK_NOFOLLOW), 0) << name;
    return st;
  }
  fs::Fd dirfd_, file_;
};
RINGKIT_BACKEND_TEST_SUITE(FsAttrsTest);

TEST_P(FsAttrsTest, FchmodSetsSpecialBits) {
  for (mode_t mode : {04755u, 02711u, 06700u, 0u, 0777u}) {
    auto r = call([&] { return fs::fchmod(file_.get(), mode); });
    ASSERT_TRUE(r.ok()) << describe(r.error());
    EXPECT_EQ(lstat("f").st_mode & 07777, mode);
  }
}

TEST_P(FsAttrsTest, FchmodatSetsStickyOnADirectoryAndFollowsLinks) {
  ASSERT_EQ(::mkdirat(dirfd_.get(), "d", 0755), 0);
  ASSERT_TRUE(call([&] { return fs::fchmodat(dirfd_.get(), "d", 01777); }).ok());
  EXPECT_EQ(lstat("d").st_mode & 07777, 01777u);
  ASSERT_TRUE(call([&] { return fs::fchmodat(dirfd_.get(), "link", 0600); }).ok());
  EXPECT_EQ(lstat("f").st_mode & 07777, 0600u) << "without flags the target changes";
}

TEST_P(FsAttrsTest, FchmodatNoFollowChangesFilesButNotSymlinks) {
  // Linux has no modes on symlinks: fchmodat2 says EOPNOTSUPP for a link, and neither the link
  // nor its target may change. On a regular file the flag is harmless.
  auto on_link = call([&] { return fs::fchmodat(dirfd_.get(), "link", 0600, AT_SYMLINK_NOFOLLOW); });
  EXPECT_EQ(on_link.error(), std::errc::operation_not_supported) << describe(on_link.error());
  EXPECT_EQ(lstat("f").st_mode & 07777, 0644u) << "the target must be untouched";
  EXPECT_EQ(lstat("link").st_mode & 07777, 0777u);
  auto on_file = call([&] { return fs::fchmodat(dirfd_.get(), "f", 04750, AT_SYMLINK_NOFOLLOW); });
  ASSERT_TRUE(on_file.ok()) << describe(on_file.error());
  EXPECT_EQ(lstat("f").st_mode & 07777, 04750u);
}

TEST_P(FsAttrsTest, FchownAndFchownatSetOwners) {
  ASSERT_TRUE(call([&] { return fs::fchown(file_.get(), 1234, 5678); }).ok());
  EXPECT_EQ(lstat("f").st_uid, 1234u);
  EXPECT_EQ(lstat("f").st_gid, 5678u);
  // -1 leaves that id alone.
  ASSERT_TRUE(call([&] { return fs::fchownat(dirfd_.get(), "f", static_cast<uid_t>(-1), 42); }).ok());
  EXPECT_EQ(lstat("f").st_uid, 1234u);
  EXPECT_EQ(lstat("f").st_gid, 42u);
}

TEST_P(FsAttrsTest, FchownatNoFollowChangesTheLinkItself) {
  ASSERT_TRUE(call([&] { return fs::fchownat(dirfd_.get(), "link", 777, 888, AT_SYMLINK_NOFOLLOW); }).ok());
  EXPECT_EQ(lstat("link").st_uid, 777u);
  EXPECT_EQ(lstat("link").st_gid, 888u);
  EXPECT_EQ(lstat("f").st_uid, 0u) << "the target keeps its owner";
  ASSERT_TRUE(call([&] { return fs::fchownat(dirfd_.get(), "link", 999, 999); }).ok());
  EXPECT_EQ(lstat("f").st_uid, 999u) << "without the flag the target changes";
  EXPECT_EQ(lstat("link").st_uid, 777u);
}

TEST_P(FsAttrsTest, ChownClearsSetuidOnAFile) {
  // The kernel drops setuid/setgid when the owner of an executable changes: a copier must chown
  // before chmod. This checks the engine does not hide that ordering.
  ASSERT_EQ(::fchmod(file_.get(), 06755), 0);
  ASSERT_TRUE(call([&] { return fs::fchown(file_.get(), 1000, 1000); }).ok());
  EXPECT_EQ(lstat("f").st_mode & 06000, 0u);
}

TEST_P(FsAttrsTest, FutimensSetsNanosecondTimes) {
  const timespec cases[][2] = {
      {{1'600'000'000, 1}, {1'700'000'000, 999'999'999}},
      {{0, 0}, {0, 1}},                                // the epoch, and one nanosecond after
      {{4'102'444'800, 5}, {4'102'444'800, 123'456'789}},  // 2100-01-01
  };
  for (const auto& times : cases) {
    auto r = call([&] { return fs::futimens(file_.get(), times); });
    ASSERT_TRUE(r.ok()) << describe(r.error());
    struct stat st = lstat("f");
    EXPECT_EQ(st.st_atim.tv_sec, times[0].tv_sec);
    EXPECT_EQ(st.st_atim.tv_nsec, times[0].tv_nsec);
    EXPECT_EQ(st.st_mtim.tv_sec, times[1].tv_sec);
    EXPECT_EQ(st.st_mtim.tv_nsec, times[1].tv_nsec);
  }
}

TEST_P(FsAttrsTest, UtimeOmitKeepsOneTimeAndUtimeNowSetsTheClock) {
  const timespec first[2] = {{1'000, 100}, {2'000, 200}};
  ASSERT_TRUE(call([&] { return fs::utimensat(dirfd_.get(), "f", first); }).ok());
  const timespec omit_atime[2] = {{0, UTIME_OMIT}, {3'000, 300}};
  ASSERT_TRUE(call([&] { return fs::utimensat(dirfd_.get(), "f", omit_atime); }).ok());
  struct stat st = lstat("f");
  EXPECT_EQ(st.st_atim.tv_sec, 1'000);
  EXPECT_EQ(st.st_atim.tv_nsec, 100);
  EXPECT_EQ(st.st_mtim.tv_sec, 3'000);
  ASSERT_TRUE(call([&] { return fs::utimensat(dirfd_.get(), "f", nullptr); }).ok());
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  st = lstat("f");
  EXPECT_GT(st.st_mtim.tv_sec, 3'000) << "null times mean now";
  EXPECT_LE(st.st_mtim.tv_sec, now.tv_sec);
}

TEST_P(FsAttrsTest, UtimensatNoFollowSetsTheLinkTimes) {
  const timespec link_times[2] = {{111, 1}, {222, 2}};
  ASSERT_TRUE(call([&] { return fs::utimensat(dirfd_.get(), "link", link_times, AT_SYMLINK_NOFOLLOW); }).ok());
  EXPECT_EQ(lstat("link").st_mtim.tv_sec, 222);
  EXPECT_EQ(lstat("link").st_mtim.tv_nsec, 2);
  EXPECT_NE(lstat("f").st_mtim.tv_sec, 222) << "the target keeps its times";
}

TEST_P(FsAttrsTest, BeforeTheEpochWhereTheFileSystemAllowsIt) {
  const timespec old[2] = {{-86'400, 0}, {-1, 999'999'999}};  // 1969
  auto r = call([&] { return fs::futimens(file_.get(), old); });
  ASSERT_TRUE(r.ok()) << describe(r.error());
  EXPECT_EQ(lstat("f").st_mtim.tv_sec, -1);
  EXPECT_EQ(lstat("f").st_mtim.tv_nsec, 999'999'999);
}

TEST_P(FsAttrsTest, BadTimesAndMissingPathsFail) {
  const timespec bad[2] = {{0, 1'000'000'000}, {0, 0}};  // tv_nsec out of range
  EXPECT_EQ(call([&] { return fs::futimens(file_.get(), bad); }).error(), std::errc::invalid_argument);
  EXPECT_EQ(call([&] { return fs::utimensat(dirfd_.get(), "missing", nullptr); }).error(),
            std::errc::no_such_file_or_directory);
  EXPECT_EQ(call([&] { return fs::fchmodat(dirfd_.get(), "missing", 0644); }).error(),
            std::errc::no_such_file_or_directory);
  EXPECT_EQ(call([&] { return fs::fchownat(dirfd_.get(), "missing", 0, 0); }).error(),
            std::errc::no_such_file_or_directory);
  EXPECT_EQ(call([&] { return fs::fchmod(-1, 0644); }).error(), std::errc::bad_file_descriptor);
  EXPECT_EQ(call([&] { return fs::fchown(-1, 0, 0); }).error(), std::errc::bad_file_descriptor);
}

}  // namespace
}  // namespace ringkit
