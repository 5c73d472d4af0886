// Error paths: every operation turns a failing call into the right error, never a crash or a
// hang. ENOENT, EEXIST, ENOTDIR, EISDIR, ELOOP, EBADF here; EACCES as an unprivileged child;
// ENOSPC on a small tmpfs.
#include <fcntl.h>
#include <grp.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "ringkit/fs.h"
#include "support/backend_test.h"

namespace ringkit {
namespace {

template <class F>
Task<decltype(std::declval<F&>()().await_resume())> await_one(F make) {
  co_return co_await make();
}

// `expr` (an fs:: call) fails with std::errc::`err`.
#define EXPECT_FS_ERROR(expr, err) \
  EXPECT_EQ(call([&] { return expr; }).error(), std::errc::err) << #expr

class FsErrorsTest : public testing::BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    if (IsSkipped()) return;
    d_ = fs::Fd(::open(dir().c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(d_.valid());
    int fd = ::openat(d_.get(), "file", O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    file_ = fs::Fd(fd);
    ASSERT_EQ(::mkdirat(d_.get(), "dir", 0755), 0);
  }
  template <class F>
  auto call(F make) {
    return run(await_one(std::move(make)));
  }
  fs::Fd d_, file_;
  std::byte buf_[16]{};
  const timespec times_[2] = {{1, 0}, {1, 0}};
};
RINGKIT_BACKEND_TEST_SUITE(FsErrorsTest);

TEST_P(FsErrorsTest, MissingPathsAreEnoent) {
  const int d = d_.get();
  EXPECT_FS_ERROR(fs::openat(d, "missing", O_RDONLY), no_such_file_or_directory);
  EXPECT_FS_ERROR(fs::openat2(d, "missing", O_RDONLY, 0, RESOLVE_BENEATH), no_such_file_or_directory);
  EXPECT_FS_ERROR(fs::statx(d, "missing", 0), no_such_file_or_directory);
  EXPECT_FS_ERROR(fs::unlinkat(d, "missing", 0), no_such_file_or_directory);
  EXPECT_FS_ERROR(fs::renameat2(d, "missing", d, "x"), no_such_file_or_directory);
  EXPECT_FS_ERROR(fs::linkat(d, "missing", d, "x"), no_such_file_or_directory);
  EXPECT_FS_ERROR(fs::readlinkat(d, "missing"), no_such_file_or_directory);
  EXPECT_FS_ERROR(fs::mkdirat(d, "missing/sub", 0755), no_such_file_or_directory);
  EXPECT_FS_ERROR(fs::mkfifoat(d, "missing/fifo", 0644), no_such_file_or_directory);
  EXPECT_FS_ERROR(fs::symlinkat("t", d, "missing/link"), no_such_file_or_directory);
  EXPECT_FS_ERROR(fs::fchmodat(d, "missing", 0644), no_such_file_or_directory);
  EXPECT_FS_ERROR(fs::fchownat(d, "missing", 0, 0), no_such_file_or_directory);
  EXPECT_FS_ERROR(fs::utimensat(d, "missing", times_), no_such_file_or_directory);
}

TEST_P(FsErrorsTest, ExistingTargetsAreEexist) {
  const int d = d_.get();
  EXPECT_FS_ERROR(fs::openat(d, "file", O_CREAT | O_EXCL | O_WRONLY, 0644), file_exists);
  EXPECT_FS_ERROR(fs::mkdirat(d, "dir", 0755), file_exists);
  EXPECT_FS_ERROR(fs::mkdirat(d, "file", 0755), file_exists);
  EXPECT_FS_ERROR(fs::mkfifoat(d, "file", 0644), file_exists);
  EXPECT_FS_ERROR(fs::symlinkat("t", d, "dir"), file_exists);
  EXPECT_FS_ERROR(fs::linkat(d, "file", d, "dir"), file_exists);
  EXPECT_FS_ERROR(fs::renameat2(d, "file", d, "dir", RENAME_NOREPLACE), file_exists);
}

TEST_P(FsErrorsTest, FilesUsedAsDirectoriesAreEnotdir) {
  const int d = d_.get();
  EXPECT_FS_ERROR(fs::openat(d, "file/x", O_RDONLY), not_a_directory);
  EXPECT_FS_ERROR(fs::openat(d, "file", O_RDONLY | O_DIRECTORY), not_a_directory);
  EXPECT_FS_ERROR(fs::statx(d, "file/x", 0), not_a_directory);
  EXPECT_FS_ERROR(fs::mkdirat(d, "file/x", 0755), not_a_directory);
  EXPECT_FS_ERROR(fs::unlinkat(d, "file", AT_REMOVEDIR), not_a_directory);
  EXPECT_FS_ERROR(fs::renameat2(d, "dir", d, "file"), not_a_directory);
  EXPECT_FS_ERROR(fs::statx(file_.get(), "x", 0), not_a_directory) << "a file as dirfd";
  std::vector<std::byte> dents(4096);
  EXPECT_FS_ERROR(fs::getdents(file_.get(), dents), not_a_directory);
}

TEST_P(FsErrorsTest, DirectoriesUsedAsFilesAreEisdir) {
  const int d = d_.get();
  EXPECT_FS_ERROR(fs::openat(d, "dir", O_WRONLY), is_a_directory);
  EXPECT_FS_ERROR(fs::unlinkat(d, "dir", 0), is_a_directory);
  EXPECT_FS_ERROR(fs::renameat2(d, "file", d, "dir"), is_a_directory);
  EXPECT_FS_ERROR(fs::read(d, buf_, 0), is_a_directory);
}

TEST_P(FsErrorsTest, SymlinkLoopsAreEloop) {
  ASSERT_EQ(::symlinkat("b", d_.get(), "a"), 0);
  ASSERT_EQ(::symlinkat("a", d_.get(), "b"), 0);
  EXPECT_FS_ERROR(fs::openat(d_.get(), "a", O_RDONLY), too_many_symbolic_link_levels);
  EXPECT_FS_ERROR(fs::statx(d_.get(), "a", 0), too_many_symbolic_link_levels);
  EXPECT_TRUE(call([&] { return fs::statx(d_.get(), "a", AT_SYMLINK_NOFOLLOW); }).ok());
}

TEST_P(FsErrorsTest, BadDescriptorsAreEbadf) {
  const int bad = -1;
  std::vector<std::byte> dents(4096);
  iovec iov{buf_, sizeof buf_};
  EXPECT_FS_ERROR(fs::read(bad, buf_, 0), bad_file_descriptor);
  EXPECT_FS_ERROR(fs::write(bad, buf_, fs::kCurrentPosition), bad_file_descriptor);
  EXPECT_FS_ERROR(fs::readv(bad, std::span(&iov, 1), 0), bad_file_descriptor);
  EXPECT_FS_ERROR(fs::writev(bad, std::span(&iov, 1), 0), bad_file_descriptor);
  EXPECT_FS_ERROR(fs::fsync(bad), bad_file_descriptor);
  EXPECT_FS_ERROR(fs::fallocate(bad, 0, 0, 10), bad_file_descriptor);
  EXPECT_FS_ERROR(fs::ftruncate(bad, 0), bad_file_descriptor);
  EXPECT_FS_ERROR(fs::close(bad), bad_file_descriptor);
  EXPECT_FS_ERROR(fs::openat(bad, "relative", O_RDONLY), bad_file_descriptor);
  EXPECT_FS_ERROR(fs::statx(bad, "", AT_EMPTY_PATH), bad_file_descriptor);
  EXPECT_FS_ERROR(fs::mkdirat(bad, "relative", 0755), bad_file_descriptor);
  EXPECT_FS_ERROR(fs::futimens(bad, times_), bad_file_descriptor);
  EXPECT_FS_ERROR(fs::fgetxattr(bad, "user.x", {}), bad_file_descriptor);
  EXPECT_FS_ERROR(fs::flistxattr(bad, {}), bad_file_descriptor);
  EXPECT_FS_ERROR(fs::fremovexattr(bad, "user.x"), bad_file_descriptor);
  EXPECT_FS_ERROR(fs::getdents(bad, dents), bad_file_descriptor);
  EXPECT_FS_ERROR(fs::copy_file_range(bad, 0, file_.get(), 0, 1), bad_file_descriptor);
  EXPECT_FS_ERROR(fs::splice(bad, 0, file_.get(), 0, 1), bad_file_descriptor);
}

// ---- EACCES: the tests run as root, who is never refused; drop to nobody in a child. ----

constexpr int kChildNoRing = 99;  // the child could not set up its executor

// Each check returns 0 when it saw EACCES; the child exits with the first failing check's number.
int access_checks(Executor& ex, int d) {
  auto expect_eacces = [&](auto make) {
    auto r = ex.run(await_one(make));
    return !r.ok() && r.error() == std::errc::permission_denied;
  };
  if (!expect_eacces([&] { return fs::openat(d, "secret", O_RDONLY); })) return 1;
  if (!expect_eacces([&] { return fs::openat(d, "locked/inner", O_RDONLY); })) return 2;
  if (!expect_eacces([&] { return fs::statx(d, "locked/inner", 0); })) return 3;
  if (!expect_eacces([&] { return fs::mkdirat(d, "ro/new", 0755); })) return 4;
  if (!expect_eacces([&] { return fs::unlinkat(d, "ro/victim", 0); })) return 5;
  if (!expect_eacces([&] { return fs::openat(d, "ro/new", O_CREAT | O_WRONLY, 0644); })) return 6;
  if (!expect_eacces([&] { return fs::renameat2(d, "ro/victim", d, "ro/moved"); })) return 7;
  return 0;
}

TEST_P(FsErrorsTest, UnprivilegedCallsAreEacces) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to drop to nobody (uid 65534)";
  ASSERT_EQ(::chmod(dir().c_str(), 0755), 0);  // mkdtemp made it 0700
  const int d = d_.get();
  ASSERT_EQ(::fchmodat(d, "file", 0600, 0), 0);
  ASSERT_EQ(::renameat(d, "file", d, "secret"), 0);
  ASSERT_EQ(::mkdirat(d, "locked", 0700), 0);
  ASSERT_EQ(::close(::openat(d, "locked/inner", O_CREAT | O_WRONLY | O_CLOEXEC, 0644)), 0);
  ASSERT_EQ(::mkdirat(d, "ro", 0755), 0);
  ASSERT_EQ(::close(::openat(d, "ro/victim", O_CREAT | O_WRONLY | O_CLOEXEC, 0644)), 0);
  // Forked before this test starts any pool thread, so the child is a clean single thread.
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0) << strerror(errno);
  if (pid == 0) {
    if (::setgroups(0, nullptr) != 0 || ::setresgid(65534, 65534, 65534) != 0 ||
        ::setresuid(65534, 65534, 65534) != 0) {
      ::_exit(98);
    }
    try {
      Executor child(settings_);
      ::_exit(access_checks(child, d));
    } catch (...) {
      ::_exit(kChildNoRing);
    }
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "the child died of signal " << WTERMSIG(status);
  if (WEXITSTATUS(status) == kChildNoRing) {
    GTEST_SKIP() << "an unprivileged process cannot set up this backend (io_uring_disabled?)";
  }
  ASSERT_NE(WEXITSTATUS(status), 98) << "could not drop privileges";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "EACCES check number " << WEXITSTATUS(status) << " failed";
}

// ---- ENOSPC on a 1 MiB tmpfs. ----

class SmallTmpfs {
 public:
  explicit SmallTmpfs(std::string path) : path_(std::move(path)) {
    if (::mkdir(path_.c_str(), 0755) != 0) {
      error_ = std::string("mkdir: ") + strerror(errno);
    } else if (::mount("ringkit-test", path_.c_str(), "tmpfs", 0, "size=1m") != 0) {
      error_ = std::string("mount -t tmpfs: ") + strerror(errno);
    } else {
      mounted_ = true;
    }
  }
  ~SmallTmpfs() {
    if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

 private:
  std::string path_, error_;
  bool mounted_ = false;
};

TEST_P(FsErrorsTest, FullFileSystemIsEnospc) {
  std::string mnt = dir() + "/small";
  SmallTmpfs tmpfs(mnt);
  if (!tmpfs.mounted()) GTEST_SKIP() << "cannot mount a small tmpfs here: " << tmpfs.error();
  std::string path = mnt + "/fill";
  auto fd = call([&] { return fs::openat(AT_FDCWD, path, O_CREAT | O_WRONLY, 0644); });
  ASSERT_TRUE(fd.ok()) << describe(fd.error());
  EXPECT_FS_ERROR(fs::fallocate(fd->get(), 0, 0, 4 << 20), no_space_on_device);
  std::vector<std::byte> chunk(64 << 10, std::byte{'x'});
  Result<size_t> last = size_t{0};
  uint64_t written = 0;
  for (int i = 0; i < 64 && last.ok(); ++i) {  // 4 MiB would be far more than fits
    last = call([&] { return fs::write(fd->get(), chunk, written); });
    if (last.ok()) written += *last;
  }
  EXPECT_EQ(last.error(), std::errc::no_space_on_device);
  EXPECT_LE(written, 1u << 20);
  EXPECT_GT(written, 0u) << "something must have fitted before the disk filled";
  std::string another = mnt + "/dir";
  auto made = call([&] { return fs::mkdirat(AT_FDCWD, another, 0755); });
  EXPECT_TRUE(made.ok() || made.error() == std::errc::no_space_on_device) << describe(made.error());
}

}  // namespace
}  // namespace ringkit
