// files.h: confinement of every request to the root, the read rules, and uploads that never
// leave a partial file under the final name — on both backends.
#include "tftp/files.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "support/backend_test.h"
#include "support/co_assert.h"
#include "tftp_test_util.h"

namespace ringkit::tftp {
namespace {

namespace fsys = std::filesystem;

void write_file(const std::string& path, const std::string& content, mode_t mode = 0644) {
  std::ofstream(path, std::ios::binary) << content;
  ::chmod(path.c_str(), mode);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(RelativePath, StripsLeadingSlashesAndRefusesDotDot) {
  EXPECT_EQ(*relative_path("a/b"), "a/b");
  EXPECT_EQ(*relative_path("/pxelinux.0"), "pxelinux.0");
  EXPECT_EQ(*relative_path("//x//y"), "x//y");
  EXPECT_EQ(*relative_path("a/./b"), "a/./b");
  EXPECT_EQ(*relative_path("..a/b.."), "..a/b..");
  for (const char* bad : {"..", "../x", "a/..", "a/../b", "/../x", "a/b/../../..", "/", "",
                          "//", "x/../../etc/passwd"}) {
    EXPECT_FALSE(relative_path(bad).ok()) << bad;
  }
  EXPECT_FALSE(relative_path(std::string(5000, 'a')).ok());
}

class FilesTest : public testing::RootTest {
 protected:
  void populate() override {
    fsys::create_directories(root_ + "/sub");
    write_file(base_ + "/secret", "SECRET");
    write_file(root_ + "/ok", "hello");
    write_file(root_ + "/sub/deep", "deep");
    write_file(root_ + "/private", "private", 0600);
    fsys::create_directory_symlink("/", root_ + "/to_slash");
    fsys::create_symlink(base_ + "/secret", root_ + "/abs_out");
    fsys::create_symlink("../secret", root_ + "/rel_out");
    fsys::create_symlink("sub/deep", root_ + "/inside_link");
    fsys::create_symlink("/ok", root_ + "/abs_inside");  // absolute, resolved in the root
    ::mkfifo((root_ + "/fifo").c_str(), 0666);
  }

  // The content served for `name`, or "<errno message>".
  std::string served(const std::string& name, FileRules rules = {}) {
    return run(serve(name, rules));
  }
  Task<std::string> serve(std::string name, FileRules rules) {
    auto f = co_await open_for_reading(root_fd_, name, rules);
    if (!f) co_return "<" + f.error().message() + ">";
    std::string out(f->size, '\0');
    ssize_t n = ::pread(f->fd.get(), out.data(), out.size(), 0);
    if (n != static_cast<ssize_t>(out.size())) co_return "<short read>";
    co_return out;
  }

};

TEST_P(FilesTest, ServesFilesInsideTheRoot) {
  EXPECT_EQ(served("ok"), "hello");
  EXPECT_EQ(served("/ok"), "hello");
  EXPECT_EQ(served("sub/deep"), "deep");
  EXPECT_EQ(served("inside_link"), "deep");
  EXPECT_EQ(served("abs_inside"), "hello");
  EXPECT_EQ(served("nothing"), "<No such file or directory>");
}

TEST_P(FilesTest, NothingOutsideTheRootIsEverRead) {
  // Every attempt either fails or yields a file inside the root; none yields the secret.
  std::vector<std::string> attempts = {
      "../secret", "/../secret", "sub/../../secret", "./../secret", "sub/./../../secret",
      base_ + "/secret", "abs_out", "rel_out", "to_slash" + base_ + "/secret",
      "/" + base_ + "/secret", "sub/../../../../../../" + base_ + "/secret",
      "to_slash/etc/passwd", "/etc/passwd", "/proc/self/root" + base_ + "/secret",
      "/proc/self/cwd/secret", std::string(4000, 'a'), "sub/" + std::string(300, 'b'),
      "..\\secret", "ok/../../secret", "\x01\x02../secret"};
  for (const auto& a : attempts) {
    std::string got = served(a);
    EXPECT_NE(got, "SECRET") << a;
    EXPECT_EQ(got.front(), '<') << a << " served " << got;
  }
}

TEST_P(FilesTest, RefusesWhatIsNotAWorldReadableRegularFile) {
  EXPECT_EQ(served("private"), "<Permission denied>");
  EXPECT_EQ(served("private", {.permissive = true}), "private");
  EXPECT_EQ(served("fifo"), "<Permission denied>") << "a FIFO must not block the worker";
  EXPECT_EQ(served("sub"), "<Is a directory>");
  EXPECT_EQ(served("inside_link", {.follow_symlinks = false}).front(), '<');
  EXPECT_EQ(served("sub/deep", {.follow_symlinks = false}), "deep");
}

TEST_P(FilesTest, UploadsAreOffByDefault) {
  auto r = run([this]() -> Task<std::error_code> {
    auto up = co_await open_for_writing(root_fd_, "new", FileRules{});
    co_return up ? std::error_code() : up.error();
  }());
  EXPECT_EQ(r, std::errc::permission_denied);
  EXPECT_FALSE(fsys::exists(root_ + "/new"));
}

Task<std::error_code> upload(int root_fd, std::string name, std::string content, FileRules rules,
                             bool commit) {
  auto up = co_await open_for_writing(root_fd, name, rules);
  if (!up) co_return up.error();
  ssize_t n = ::pwrite(up->fd(), content.data(), content.size(), 0);
  if (n != static_cast<ssize_t>(content.size())) co_return std::error_code(errno, std::system_category());
  if (!commit) {
    co_await up->abort();
    co_return std::error_code();
  }
  auto r = co_await up->commit();
  co_return r ? std::error_code() : r.error();
}

TEST(UploadTempName, RecognisesOnlyItsOwnShape) {
  for (const char* ours : {".a.~rkAbC123", ".pxelinux.0.~rkzzzzzz", "..~rkABCDEF.~rk000000"}) {
    EXPECT_TRUE(is_upload_temp_name(ours)) << ours;
  }
  EXPECT_TRUE(is_upload_temp_name("." + std::string(200, 'n') + ".~rkabcdef"));
  for (const char* other : {"a.~rkAbC123", ".a.~rkAbC12", ".a.~rkAbC1234", ".a.~rkAbC12-",
                            ".a.rkAbC123x", ".~rkAbC123", ".a.~RKAbC123", "", ".", ".bashrc"}) {
    EXPECT_FALSE(is_upload_temp_name(other)) << other;
  }
  EXPECT_FALSE(is_upload_temp_name("." + std::string(201, 'n') + ".~rkabcdef")) << "too long";
}

TEST_P(FilesTest, TemporaryFilesHaveTheShapeTheSweepLooksFor) {
  FileRules create{.uploads = Uploads::kCreate};
  for (std::string name : {std::string("boot.img"), std::string(255, 'L')}) {
    auto temps = run([&]() -> Task<std::vector<std::string>> {
      auto up = co_await open_for_writing(root_fd_, name, create);
      std::vector<std::string> found;
      if (!up) co_return found;
      for (const auto& e : fsys::directory_iterator(root_)) {
        std::string n = e.path().filename();
        if (n.find(".~rk") != std::string::npos) found.push_back(n);
      }
      co_await up->abort();
      co_return found;
    }());
    ASSERT_EQ(temps.size(), 1u) << name;
    EXPECT_TRUE(is_upload_temp_name(temps.front())) << temps.front();
  }
}

TEST_P(FilesTest, UploadsAppearOnlyWhenCommitted) {
  FileRules create{.uploads = Uploads::kCreate, .umask = 027};
  EXPECT_FALSE(run(upload(root_fd_, "/sub/new", "data", create, true)));
  EXPECT_EQ(read_file(root_ + "/sub/new"), "data");
  struct stat st;
  ASSERT_EQ(::stat((root_ + "/sub/new").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  // Create-only refuses an existing name and leaves it alone.
  EXPECT_EQ(run(upload(root_fd_, "sub/new", "other", create, true)), std::errc::file_exists);
  EXPECT_EQ(read_file(root_ + "/sub/new"), "data");
  // An aborted upload leaves nothing behind.
  EXPECT_FALSE(run(upload(root_fd_, "aborted", "x", create, false)));
  EXPECT_FALSE(fsys::exists(root_ + "/aborted"));
  for (const auto& e : fsys::directory_iterator(root_)) {
    EXPECT_EQ(e.path().filename().string().find(".~rk"), std::string::npos) << e.path();
  }
}

TEST_P(FilesTest, OverwriteNeedsAWorldWritableRegularFile) {
  FileRules overwrite{.uploads = Uploads::kOverwrite};
  EXPECT_EQ(run(upload(root_fd_, "ok", "new", overwrite, true)), std::errc::permission_denied);
  ::chmod((root_ + "/ok").c_str(), 0666);
  EXPECT_FALSE(run(upload(root_fd_, "ok", "new", overwrite, true)));
  EXPECT_EQ(read_file(root_ + "/ok"), "new");
  FileRules permissive{.permissive = true, .uploads = Uploads::kOverwrite};
  EXPECT_FALSE(run(upload(root_fd_, "private", "p2", permissive, true)));
  EXPECT_EQ(read_file(root_ + "/private"), "p2");
  // A symlink is never written through (nor replaced).
  EXPECT_EQ(run(upload(root_fd_, "abs_out", "x", permissive, true)), std::errc::permission_denied);
  EXPECT_EQ(read_file(base_ + "/secret"), "SECRET");
}

TEST_P(FilesTest, UploadsNeverLandOutsideTheRoot) {
  FileRules rules{.permissive = true, .uploads = Uploads::kOverwrite};
  for (const std::string& name : std::vector<std::string>{"../escape", "sub/../../escape",
                                                          "to_slash" + base_ + "/escape",
                                                          "rel_out/../escape", "/../escape"}) {
    (void)run(upload(root_fd_, name, "x", rules, true));
    EXPECT_FALSE(fsys::exists(base_ + "/escape")) << name;
  }
  EXPECT_EQ(read_file(base_ + "/secret"), "SECRET");
}

TEST_P(FilesTest, UploadPatternsLimitNames) {
  FileRules rules{.uploads = Uploads::kCreate, .upload_patterns = {"sub/*.log", "*.txt"}};
  EXPECT_FALSE(run(upload(root_fd_, "sub/a.log", "1", rules, true)));
  EXPECT_FALSE(run(upload(root_fd_, "/b.txt", "2", rules, true)));
  EXPECT_EQ(run(upload(root_fd_, "c.log", "3", rules, true)), std::errc::permission_denied);
  EXPECT_EQ(run(upload(root_fd_, "sub/d.txt", "4", rules, true)), std::errc::permission_denied)
      << "* does not match '/'";
  EXPECT_EQ(run(upload(root_fd_, ".hidden.txt", "5", rules, true)), std::errc::permission_denied)
      << "a leading dot must be matched explicitly";
}

TEST_P(FilesTest, TransfersOfOneFileShareADescriptor) {
  OpenFiles files;
  auto open = [&](const std::string& name) {
    return run([this, name]() -> Task<ReadableFile> {
      auto f = co_await open_for_reading(root_fd_, name, FileRules{});
      EXPECT_TRUE(f.ok()) << name;
      co_return std::move(*f);
    }());
  };
  auto a = files.share(open("ok"));
  auto b = files.share(open("/ok"));  // another path to the same file
  auto c = files.share(open("sub/deep"));
  EXPECT_EQ(a.get(), b.get());
  EXPECT_EQ(a->get(), b->get());
  EXPECT_NE(a->get(), c->get());
  EXPECT_EQ(files.open_count(), 2u);
  int old_fd = a->get();
  a.reset();
  b.reset();
  EXPECT_EQ(files.open_count(), 1u);
  EXPECT_EQ(::fcntl(old_fd, F_GETFD), -1) << "the last transfer closed it";
  // A file replaced by rename is another inode: its transfers get their own descriptor.
  auto before = files.share(open("ok"));
  write_file(root_ + "/ok.new", "replaced");
  fsys::rename(root_ + "/ok.new", root_ + "/ok");
  auto after = files.share(open("ok"));
  EXPECT_NE(before.get(), after.get());
  char buf[16] = {};
  EXPECT_EQ(::pread(after->get(), buf, sizeof buf, 0), 8);
  EXPECT_EQ(std::string(buf), "replaced");
}

TEST(ClientError, MapsErrorsToTftpCodes) {
  EXPECT_EQ(client_error(std::make_error_code(std::errc::no_such_file_or_directory)).code,
            ErrorCode::kFileNotFound);
  EXPECT_EQ(client_error(std::make_error_code(std::errc::permission_denied)).code,
            ErrorCode::kAccessViolation);
  EXPECT_EQ(client_error(std::make_error_code(std::errc::file_exists)).code, ErrorCode::kFileExists);
  EXPECT_EQ(client_error(std::make_error_code(std::errc::no_space_on_device)).code,
            ErrorCode::kDiskFull);
  EXPECT_EQ(client_error(std::make_error_code(std::errc::too_many_symbolic_link_levels)).code,
            ErrorCode::kAccessViolation);
  EXPECT_EQ(client_error(make_error_code(Errc::kUploadTooLarge)).code, ErrorCode::kDiskFull);
}

RINGKIT_BACKEND_TEST_SUITE(FilesTest);

}  // namespace
}  // namespace ringkit::tftp
