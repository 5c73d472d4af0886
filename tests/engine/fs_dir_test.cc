// Directories: getdents + DirEntries over large directories, and names of any bytes (newline,
// leading dash, 255 bytes, invalid UTF-8) through every path operation.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <map>
#include <set>
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

struct Listed {
  std::string name;
  unsigned char type;
  uint64_t inode;
};

// Reads a whole directory through the engine, `buf_size` bytes per getdents call.
Task<Result<std::vector<Listed>>> list_dir(int dirfd, size_t buf_size) {
  std::vector<std::byte> buf(buf_size);
  std::vector<Listed> out;
  for (;;) {
    auto n = co_await fs::getdents(dirfd, buf);
    if (!n.ok()) co_return n.error();
    if (*n == 0) co_return out;
    for (const fs::DirEntry& e : fs::DirEntries(std::span(buf).first(*n))) {
      out.push_back({std::string(e.name), e.type, e.inode});
    }
  }
}

class FsDirTest : public testing::BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    if (IsSkipped()) return;
    dirfd_ = open_dir(dir());
    ASSERT_TRUE(dirfd_.valid());
  }
  static fs::Fd open_dir(const std::string& path) {
    return fs::Fd(::open(path.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  }
  template <class F>
  auto call(F make) {
    return run(await_one(std::move(make)));
  }
  fs::Fd dirfd_;
};
RINGKIT_BACKEND_TEST_SUITE(FsDirTest);

TEST_P(FsDirTest, FiveThousandEntriesAreEachListedOnce) {
  ASSERT_EQ(::mkdirat(dirfd_.get(), "big", 0755), 0);
  fs::Fd big = open_dir(dir() + "/big");
  std::set<std::string> made;
  for (int i = 0; i < 5000; ++i) {
    std::string name = "entry-" + std::to_string(i) + (i % 3 == 0 ? std::string(100, 'x') : "");
    int fd = ::openat(big.get(), name.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0) << name;
    ::close(fd);
    made.insert(name);
  }
  ASSERT_EQ(::mkdirat(big.get(), "subdir", 0755), 0);
  made.insert("subdir");
  // A small buffer forces hundreds of getdents calls, each resuming where the last stopped.
  auto listed = run(list_dir(big.get(), 4096));
  ASSERT_TRUE(listed.ok()) << describe(listed.error());
  std::map<std::string, int> seen;
  for (const Listed& e : *listed) {
    ++seen[e.name];
    struct stat st {};
    if (e.name == "subdir" || e.name == "entry-7") {
      ASSERT_EQ(::fstatat(big.get(), e.name.c_str(), &st, AT_SYMLINK_NOFOLLOW), 0);
      EXPECT_EQ(e.inode, st.st_ino) << e.name;
      EXPECT_EQ(e.type, e.name == "subdir" ? DT_DIR : DT_REG) << e.name;
    }
  }
  EXPECT_EQ(seen.count("."), 0u);
  EXPECT_EQ(seen.count(".."), 0u);
  EXPECT_EQ(listed->size(), made.size()) << "an entry is missing or repeated";
  for (const std::string& name : made) EXPECT_EQ(seen[name], 1) << name;
}

TEST_P(FsDirTest, EmptyDirectoryListsNothingAndEndsWithZero) {
  auto listed = run(list_dir(dirfd_.get(), 32768));
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());
  std::vector<std::byte> buf(4096);
  EXPECT_EQ(call([&] { return fs::getdents(dirfd_.get(), buf); }).value_or(99), 0u) << "at the end";
}

TEST_P(FsDirTest, GetdentsErrors) {
  int fd = ::openat(dirfd_.get(), "file", O_CREAT | O_RDONLY | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  fs::Fd file(fd);
  std::vector<std::byte> buf(4096);
  EXPECT_EQ(call([&] { return fs::getdents(file.get(), buf); }).error(), std::errc::not_a_directory);
  EXPECT_EQ(call([&] { return fs::getdents(-1, buf); }).error(), std::errc::bad_file_descriptor);
  std::vector<std::byte> tiny(8);  // smaller than one record
  EXPECT_EQ(call([&] { return fs::getdents(dirfd_.get(), tiny); }).error(), std::errc::invalid_argument);
}

TEST_P(FsDirTest, DirEntriesSkipsOnlyDotAndDotDot) {
  // Names that merely start with dots are real entries.
  for (const char* name : {"...", ".hidden", "..x"}) {
    int fd = ::openat(dirfd_.get(), name, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    ::close(fd);
  }
  auto listed = run(list_dir(dirfd_.get(), 4096));
  ASSERT_TRUE(listed.ok());
  std::set<std::string> names;
  for (const Listed& e : *listed) names.insert(e.name);
  EXPECT_EQ(names, (std::set<std::string>{"...", ".hidden", "..x"}));
}

// Names are bytes: every path operation must carry them unchanged.
const std::vector<std::string>& odd_names() {
  static const std::vector<std::string> names = {
      "new\nline", "-rf", "--help", std::string(255, 'n'), std::string("\xff\xfe\xc3\x28 utf8"),
      " lead and trail ", "tab\there", "back\\slash", "*?[glob]", std::string(1, '\x01')};
  return names;
}

TEST_P(FsDirTest, NamesOfAnyBytesSurviveCreateListRenameAndUnlink) {
  for (const std::string& name : odd_names()) {
    auto fd = call([&] { return fs::openat(dirfd_.get(), name, O_CREAT | O_EXCL | O_WRONLY, 0644); });
    ASSERT_TRUE(fd.ok()) << describe(fd.error()) << " for a name of " << name.size() << " bytes";
  }
  auto listed = run(list_dir(dirfd_.get(), 4096));
  ASSERT_TRUE(listed.ok());
  std::set<std::string> seen;
  for (const Listed& e : *listed) seen.insert(e.name);
  EXPECT_EQ(seen, std::set<std::string>(odd_names().begin(), odd_names().end()));
  for (const std::string& name : odd_names()) {
    std::string renamed = name.size() < 255 ? name + "\n2" : std::string(255, 'm');
    auto st = call([&] { return fs::statx(dirfd_.get(), name, AT_SYMLINK_NOFOLLOW); });
    EXPECT_TRUE(st.ok()) << describe(st.error());
    EXPECT_TRUE(call([&] { return fs::renameat2(dirfd_.get(), name, dirfd_.get(), renamed); }).ok());
    EXPECT_TRUE(call([&] { return fs::unlinkat(dirfd_.get(), renamed, 0); }).ok());
  }
  auto after = run(list_dir(dirfd_.get(), 4096));
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->empty());
}

TEST_P(FsDirTest, OddNamesWorkForDirectoriesLinksAndXattrFreePathCalls) {
  const std::string name = "-dir\n\xff";
  ASSERT_TRUE(call([&] { return fs::mkdirat(dirfd_.get(), name, 0755); }).ok());
  const std::string link = "--link\n";
  ASSERT_TRUE(call([&] { return fs::symlinkat(name, dirfd_.get(), link); }).ok());
  EXPECT_EQ(call([&] { return fs::readlinkat(dirfd_.get(), link); }).value_or("?"), name);
  const std::string nested = name + "/-file\n";
  auto fd = call([&] { return fs::openat(dirfd_.get(), nested, O_CREAT | O_WRONLY, 0600); });
  ASSERT_TRUE(fd.ok()) << describe(fd.error());
  const timespec times[2] = {{5, 5}, {6, 6}};
  EXPECT_TRUE(call([&] { return fs::utimensat(dirfd_.get(), nested, times); }).ok());
  EXPECT_TRUE(call([&] { return fs::fchmodat(dirfd_.get(), nested, 0640); }).ok());
  auto st = call([&] { return fs::statx(dirfd_.get(), nested, 0); });
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->stx_mode & 07777, 0640u);
  EXPECT_EQ(st->stx_mtime.tv_sec, 6);
}

TEST_P(FsDirTest, NameOf256BytesIsTooLong) {
  const std::string name(256, 'n');
  EXPECT_EQ(call([&] { return fs::openat(dirfd_.get(), name, O_CREAT | O_WRONLY, 0644); }).error(),
            std::errc::filename_too_long);
  EXPECT_EQ(call([&] { return fs::mkdirat(dirfd_.get(), name, 0755); }).error(),
            std::errc::filename_too_long);
}

}  // namespace
}  // namespace ringkit
