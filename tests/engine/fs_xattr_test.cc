// Extended attributes: get/set/list/remove, f* and l* variants, user and trusted namespaces,
// and POSIX ACLs carried in system.posix_acl_access.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
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

std::span<const std::byte> bytes(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

// The names in a NUL-separated listxattr buffer.
std::vector<std::string> names(const std::string& list) {
  std::vector<std::string> out;
  for (size_t pos = 0; pos < list.size();) {
    size_t end = list.find('\0', pos);
    if (end == std::string::npos) end = list.size();
    out.push_back(list.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

class FsXattrTest : public testing::BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    if (IsSkipped()) return;
    path_ = dir() + "/f";
    link_ = dir() + "/link";
    file_ = fs::Fd(::open(path_.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644));
    ASSERT_TRUE(file_.valid());
    ASSERT_EQ(::symlink("f", link_.c_str()), 0);
    if (::fsetxattr(file_.get(), "user.probe", "", 0, 0) != 0) {
      GTEST_SKIP() << "no user xattrs on " << dir() << ": " << strerror(errno);
    }
    ::fremovexattr(file_.get(), "user.probe");
  }
  template <class F>
  auto call(F make) {
    return run(await_one(std::move(make)));
  }
  // The value of `name` on the open file, read through the engine.
  Result<std::string> fget(const std::string& name) {
    std::string value(70'000, '\0');
    auto n = call([&] { return fs::fgetxattr(file_.get(), name, std::as_writable_bytes(std::span(value))); });
    if (!n.ok()) return n.error();
    value.resize(*n);
    return value;
  }
  std::vector<std::string> flist() {
    std::string list(4096, '\0');
    auto n = call([&] { return fs::flistxattr(file_.get(), std::span(list)); });
    EXPECT_TRUE(n.ok()) << describe(n.error());
    list.resize(n.value_or(0));
    return names(list);
  }
  std::string path_, link_;
  fs::Fd file_;
};
RINGKIT_BACKEND_TEST_SUITE(FsXattrTest);

TEST_P(FsXattrTest, FdCallsRoundTripBinaryValues) {
  const std::string value("\0bin\xff\n value", 12);
  ASSERT_TRUE(call([&] { return fs::fsetxattr(file_.get(), "user.data", bytes(value)); }).ok());
  EXPECT_EQ(fget("user.data").value_or("?"), value);
  auto size = call([&] { return fs::fgetxattr(file_.get(), "user.data", {}); });
  EXPECT_EQ(size.value_or(0), value.size()) << "an empty buffer asks for the size";
  std::byte small[4];
  EXPECT_EQ(call([&] { return fs::fgetxattr(file_.get(), "user.data", small); }).error(),
            std::errc::result_out_of_range);
  EXPECT_EQ(flist(), std::vector<std::string>{"user.data"});
  ASSERT_TRUE(call([&] { return fs::fremovexattr(file_.get(), "user.data"); }).ok());
  EXPECT_EQ(fget("user.data").error(), std::errc::no_message_available) << "ENODATA";
  EXPECT_TRUE(flist().empty());
}

TEST_P(FsXattrTest, CreateAndReplaceFlags) {
  const std::string one = "1", two = "22";
  ASSERT_TRUE(call([&] { return fs::fsetxattr(file_.get(), "user.k", bytes(one), XATTR_CREATE); }).ok());
  EXPECT_EQ(call([&] { return fs::fsetxattr(file_.get(), "user.k", bytes(two), XATTR_CREATE); }).error(),
            std::errc::file_exists);
  EXPECT_EQ(call([&] { return fs::fsetxattr(file_.get(), "user.new", bytes(two), XATTR_REPLACE); }).error(),
            std::errc::no_message_available);
  ASSERT_TRUE(call([&] { return fs::fsetxattr(file_.get(), "user.k", bytes(two), XATTR_REPLACE); }).ok());
  EXPECT_EQ(fget("user.k").value_or("?"), "22");
}

TEST_P(FsXattrTest, EmptyAndLargeValues) {
  const std::string empty, large(3000, 'v');  // ext4 keeps values within one block
  ASSERT_TRUE(call([&] { return fs::fsetxattr(file_.get(), "user.empty", bytes(empty)); }).ok());
  ASSERT_TRUE(call([&] { return fs::fsetxattr(file_.get(), "user.large", bytes(large)); }).ok());
  EXPECT_EQ(fget("user.empty").value_or("?"), "");
  EXPECT_EQ(fget("user.large").value_or("?"), large);
  const std::string too_big(XATTR_SIZE_MAX + 1, 'x');
  EXPECT_EQ(call([&] { return fs::fsetxattr(file_.get(), "user.big", bytes(too_big)); }).error(),
            std::errc::argument_list_too_long) << "E2BIG";
}

// The same calls placed on the ring (metadata_ops = kRing), where a length travels in 32 bits.
class FsXattrOnRingTest : public FsXattrTest {
  void tweak(EngineSettings& s) override { s.metadata_ops = MetadataOps::kRing; }
};
RINGKIT_BACKEND_TEST_SUITE(FsXattrOnRingTest);

TEST_P(FsXattrOnRingTest, FdCallsRoundTrip) {
  const std::string value("ring\0value", 10);
  ASSERT_TRUE(call([&] { return fs::fsetxattr(file_.get(), "user.r", bytes(value)); }).ok());
  EXPECT_EQ(fget("user.r").value_or("?"), value);
  EXPECT_EQ(fget("user.none").error(), std::errc::no_message_available);
}

TEST_P(FsXattrOnRingTest, HugeSpansNeitherWrapNorTruncate) {
  // A span longer than 32 bits must not reach the kernel wrapped: a set would store a short
  // value, a get would turn into a size query. Only the first page is backed.
  const size_t huge = (size_t{1} << 32) + 3;
  void* area = ::mmap(nullptr, huge, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (area == MAP_FAILED) GTEST_SKIP() << "cannot reserve 4 GiB of address space: " << strerror(errno);
  ASSERT_EQ(::mprotect(area, 4096, PROT_READ | PROT_WRITE), 0);
  std::span<std::byte> buf(static_cast<std::byte*>(area), huge);
  auto set = call([&] { return fs::fsetxattr(file_.get(), "user.huge", buf); });
  ASSERT_EQ(::fsetxattr(file_.get(), "user.abc", "abc", 3, 0), 0);
  auto got = call([&] { return fs::fgetxattr(file_.get(), "user.abc", buf); });
  std::string first(static_cast<const char*>(area), 3);
  ::munmap(area, huge);
  EXPECT_EQ(set.error(), std::errc::argument_list_too_long);
  ASSERT_TRUE(got.ok()) << describe(got.error());
  EXPECT_EQ(*got, 3u);
  EXPECT_EQ(first, "abc") << "the value must have been copied, not just measured";
}

TEST_P(FsXattrTest, TrustedNamespaceWorksForRoot) {
  if (::geteuid() != 0) GTEST_SKIP() << "trusted.* needs CAP_SYS_ADMIN; not running as root";
  const std::string value = "secret";
  auto r = call([&] { return fs::fsetxattr(file_.get(), "trusted.t", bytes(value)); });
  ASSERT_TRUE(r.ok()) << describe(r.error());
  EXPECT_EQ(fget("trusted.t").value_or("?"), value);
  std::vector<std::string> listed = flist();
  EXPECT_NE(std::find(listed.begin(), listed.end(), "trusted.t"), listed.end());
}

TEST_P(FsXattrTest, PathCallsRoundTrip) {
  const std::string value = "by path";
  ASSERT_TRUE(call([&] { return fs::lsetxattr(path_, "user.p", bytes(value)); }).ok());
  std::string got(64, '\0');
  auto n = call([&] { return fs::lgetxattr(path_, "user.p", std::as_writable_bytes(std::span(got))); });
  ASSERT_TRUE(n.ok()) << describe(n.error());
  EXPECT_EQ(got.substr(0, *n), value);
  std::string list(256, '\0');
  auto len = call([&] { return fs::llistxattr(path_, std::span(list)); });
  ASSERT_TRUE(len.ok());
  list.resize(*len);
  EXPECT_EQ(names(list), std::vector<std::string>{"user.p"});
  ASSERT_TRUE(call([&] { return fs::lremovexattr(path_, "user.p"); }).ok());
  EXPECT_EQ(call([&] { return fs::lremovexattr(path_, "user.p"); }).error(),
            std::errc::no_message_available);
}

TEST_P(FsXattrTest, PathCallsActOnTheSymlinkItself) {
  // user.* is not allowed on symlinks; trusted.* is (for root), and must land on the link,
  // never on its target.
  const std::string value = "on link";
  EXPECT_EQ(call([&] { return fs::lsetxattr(link_, "user.x", bytes(value)); }).error(),
            std::errc::operation_not_permitted);
  if (::geteuid() != 0) GTEST_SKIP() << "trusted.* on a link needs CAP_SYS_ADMIN";
  ASSERT_TRUE(call([&] { return fs::lsetxattr(link_, "trusted.l", bytes(value)); }).ok());
  std::string got(64, '\0');
  auto n = call([&] { return fs::lgetxattr(link_, "trusted.l", std::as_writable_bytes(std::span(got))); });
  EXPECT_EQ(n.value_or(0), value.size());
  EXPECT_EQ(fget("trusted.l").error(), std::errc::no_message_available) << "target untouched";
}

TEST_P(FsXattrTest, Errors) {
  const std::string v = "v";
  EXPECT_EQ(fget("user.missing").error(), std::errc::no_message_available);
  EXPECT_EQ(call([&] { return fs::fsetxattr(file_.get(), "nonamespace", bytes(v)); }).error(),
            std::errc::operation_not_supported);
  EXPECT_EQ(call([&] { return fs::fsetxattr(-1, "user.v", bytes(v)); }).error(),
            std::errc::bad_file_descriptor);
  std::string missing = dir() + "/missing";
  EXPECT_EQ(call([&] { return fs::lgetxattr(missing, "user.v", {}); }).error(),
            std::errc::no_such_file_or_directory);
}

// ---- POSIX ACLs: the value format of <linux/posix_acl_xattr.h>, little-endian. ----

constexpr uint16_t kUserObj = 0x01, kUser = 0x02, kGroupObj = 0x04, kMask = 0x10, kOther = 0x20;
constexpr uint32_t kNoId = 0xffffffff;

struct AclEntry {
  uint16_t tag, perm;
  uint32_t id;
};

std::string encode_acl(const std::vector<AclEntry>& entries) {
  std::string out(4 + 8 * entries.size(), '\0');
  uint32_t version = 2;
  std::memcpy(out.data(), &version, 4);
  for (size_t i = 0; i < entries.size(); ++i) std::memcpy(out.data() + 4 + 8 * i, &entries[i], 8);
  return out;
}

std::vector<AclEntry> decode_acl(const std::string& value) {
  std::vector<AclEntry> out((value.size() - 4) / 8);
  for (size_t i = 0; i < out.size(); ++i) std::memcpy(&out[i], value.data() + 4 + 8 * i, 8);
  return out;
}

std::string command_output(const std::string& command) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return out;
  char buf[512];
  while (size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  ::pclose(p);
  return out;
}

TEST_P(FsXattrTest, AclWrittenByHandIsWhatGetfaclSees) {
  if (std::system("command -v getfacl >/dev/null 2>&1") != 0) GTEST_SKIP() << "getfacl not installed";
  const std::string acl = encode_acl({{kUserObj, 6, kNoId}, {kUser, 5, 4321}, {kGroupObj, 4, kNoId},
                                      {kMask, 5, kNoId}, {kOther, 0, kNoId}});
  auto r = call([&] { return fs::fsetxattr(file_.get(), "system.posix_acl_access", bytes(acl)); });
  if (r.error() == std::errc::operation_not_supported) GTEST_SKIP() << "no POSIX ACLs on " << dir();
  ASSERT_TRUE(r.ok()) << describe(r.error());
  std::string shown = command_output("getfacl -n '" + path_ + "' 2>&1");
  EXPECT_NE(shown.find("user:4321:r-x"), std::string::npos) << shown;
  EXPECT_NE(shown.find("mask::r-x"), std::string::npos) << shown;
  struct stat st {};
  ASSERT_EQ(::fstat(file_.get(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0650u) << "the group bits show the mask";
}

TEST_P(FsXattrTest, AclWrittenBySetfaclReadsBack) {
  if (std::system("command -v setfacl >/dev/null 2>&1") != 0) GTEST_SKIP() << "setfacl not installed";
  std::string out = command_output("setfacl -m u:777:rw '" + path_ + "' 2>&1");
  if (!out.empty()) GTEST_SKIP() << "setfacl failed here: " << out;
  auto value = fget("system.posix_acl_access");
  ASSERT_TRUE(value.ok()) << describe(value.error());
  ASSERT_GE(value->size(), 4u);
  bool found = false;
  for (const AclEntry& e : decode_acl(*value)) found |= e.tag == kUser && e.id == 777 && e.perm == 6;
  EXPECT_TRUE(found) << "no user:777:rw- entry in the value read back";
}

}  // namespace
}  // namespace ringkit
