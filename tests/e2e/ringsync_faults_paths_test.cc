// Fault injection for ringsync: hostile trees rather than hostile moments.
//  - a destination holding symlinks that point outside it;
//  - names of any bytes in paths deeper than PATH_MAX;
//  - a second run over an up-to-date copy, which must change nothing at all.
// The others: ringsync_faults_test.cc (kills and signals), ringsync_faults_disk_test.cc (a full
// disk), ringsync_faults_vanish_test.cc (vanishing source files), ringsync_faults_perms_test.cc
// (permission errors).
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>

#include "support/tree.h"

namespace ringkit::testing {
namespace {

const std::string kRingsync = std::string(RINGKIT_BIN_DIR) + "/ringsync";

// ---------------------------------------------------------------------------------------------
// 1. A destination whose items are symlinks that point outside it: dst/sub -> OUTSIDE (where
// the source has a directory "sub") and dst/file -> OUTSIDE/file (where it has a file "file"),
// dst/dir-link -> OUTSIDE/dir (where it has a file), and with --delete dst/extra -> OUTSIDE
// (where it has nothing). Nothing may be written or deleted through them: the outside tree is
// the same afterwards, and the destination holds real items in their place (and no "extra") —
// the same result as rsync's.

void make_outside_links(const std::string& dst, const std::string& outside) {
  std::filesystem::create_directories(dst);
  ::symlink(outside.c_str(), (dst + "/sub").c_str());
  ::symlink((outside + "/file").c_str(), (dst + "/file").c_str());
  ::symlink((outside + "/dir").c_str(), (dst + "/dir-link").c_str());
  ::symlink(outside.c_str(), (dst + "/extra").c_str());  // not in the source: --delete removes it
}

TEST(RingsyncFaultsPaths, SymlinksInTheDestinationAreReplacedNeverWrittenThrough) {
  std::string base = make_temp_dir("ringsync-links");
  std::string outside = make_temp_dir("outside");
  ScopedTempTree cleanup{base}, cleanup_outside{outside};
  std::filesystem::create_directories(outside + "/dir");
  write_file(outside + "/file", "outside, must stay\n");
  write_file(outside + "/inner", "outside too\n");  // the source's sub/inner, if followed
  write_file(outside + "/dir/x", "x\n");
  pin_recent_times(outside, 0, 1200000000);

  std::string src = base + "/src";
  std::filesystem::create_directories(src + "/sub/deeper");
  write_file(src + "/sub/inner", "source inner\n");
  write_file(src + "/sub/deeper/leaf", "source leaf\n");
  write_file(src + "/file", "source file\n");
  write_file(src + "/dir-link", "a file where the destination has a link to a directory\n");
  pin_recent_times(src, 0, 1300000000);

  TreeState outside_before = snapshot(outside);
  SnapshotOptions exact;
  exact.nanoseconds = true;
  for (const auto& [tool, side] : {std::pair{std::string("rsync"), std::string("/r")}, {kRingsync, "/g"}}) {
    SCOPED_TRACE(tool);
    make_outside_links(base + side, outside);
    RunResult r = run_program({tool, "-a", "--delete", src + "/", base + side + "/"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto outside_diffs = compare_trees(outside_before, snapshot(outside), exact);
    EXPECT_TRUE(outside_diffs.empty()) << "written outside the destination:\n" << indent_lines(outside_diffs);
  }
  TreeState copy = snapshot(base + "/g");
  EXPECT_EQ(copy["sub"].type, 'd');
  EXPECT_EQ(copy["file"].type, 'f');
  EXPECT_EQ(copy["dir-link"].type, 'f');
  auto diffs = compare_trees(snapshot(src), copy, exact);
  EXPECT_TRUE(diffs.empty()) << "source vs ringsync:\n" << indent_lines(diffs);
  diffs = compare_trees(snapshot(base + "/r"), copy, {});
  EXPECT_TRUE(diffs.empty()) << "rsync vs ringsync:\n" << indent_lines(diffs);
}

// ---------------------------------------------------------------------------------------------
// 2. Names of any bytes, deeper than PATH_MAX: 25 nested directories with 200-byte names made of
// every byte but NUL and '/' (newlines, control bytes, invalid UTF-8), about 5000 bytes of path,
// and at the bottom a file, a file whose 254-byte name holds every such byte once, a name with a
// leading dash and a symlink. Built and checked with *at() calls (snapshot() walks with them);
// paths this long cannot be named from the root. rsync is not asked: it may refuse such paths.

constexpr int kDepth = 25;
constexpr size_t kNameLength = 200;

std::string any_bytes_name(size_t length, int start) {
  std::string name;
  for (int b = start; name.size() < length; ++b) {
    auto c = static_cast<char>(1 + b % 255);  // 1..255
    if (c != '/') name += c;
  }
  return name;
}

// Opens the bottom directory of the chain below `root`; -1 on failure.
int open_bottom(const std::string& root) {
  int fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY);
  for (int i = 0; i < kDepth && fd >= 0; ++i) {
    int next = ::openat(fd, any_bytes_name(kNameLength, i * 37).c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    ::close(fd);
    fd = next;
  }
  return fd;
}

void write_at(int dirfd, const std::string& name, const std::string& data) {
  int fd = ::openat(dirfd, name.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0) << "create " << name.size() << "-byte name: " << std::strerror(errno);
  ASSERT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  ::close(fd);
}

std::string read_at(int dirfd, const std::string& name) {
  int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW);
  if (fd < 0) return "(cannot open: " + std::string(std::strerror(errno)) + ")";
  std::string out(1 << 16, '\0');
  ssize_t n = ::read(fd, out.data(), out.size());
  ::close(fd);
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return out;
}

TEST(RingsyncFaultsPaths, NamesOfAnyBytesDeeperThanPathMax) {
  std::string base = make_temp_dir("ringsync-deep");
  ScopedTempTree cleanup{base};
  std::string src = base + "/src";
  ASSERT_EQ(::mkdir(src.c_str(), 0755), 0);
  int fd = ::open(src.c_str(), O_RDONLY | O_DIRECTORY);
  size_t depth_bytes = 0;
  for (int i = 0; i < kDepth; ++i) {
    std::string name = any_bytes_name(kNameLength, i * 37);
    ASSERT_EQ(::mkdirat(fd, name.c_str(), 0755), 0) << "level " << i << ": " << std::strerror(errno);
    int next = ::openat(fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    ASSERT_GE(next, 0);
    ::close(fd);
    fd = next;
    depth_bytes += name.size() + 1;
  }
  ASSERT_GT(depth_bytes, static_cast<size_t>(PATH_MAX));
  const std::string all_bytes = any_bytes_name(254, 0);  // every byte 1..255 but '/', once
  write_at(fd, "leaf", "at the bottom\n");
  write_at(fd, all_bytes, "every byte in my name\n");
  write_at(fd, "-leading-dash", "dash\n");
  ASSERT_EQ(::symlinkat(all_bytes.c_str(), fd, "link"), 0);
  ::close(fd);

  RunResult r = run_program({kRingsync, "-a", src + "/", base + "/dst/"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");

  TreeState source = snapshot(src), copy = snapshot(base + "/dst");
  EXPECT_EQ(source.size(), static_cast<size_t>(1 + kDepth + 4));  // ".", the chain, 4 at the bottom
  SnapshotOptions exact;
  exact.nanoseconds = true;
  auto diffs = compare_trees(source, copy, exact);
  EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, the first: " << (diffs.empty() ? "" : diffs[0]);
  int bottom = open_bottom(base + "/dst");
  ASSERT_GE(bottom, 0) << "the copy's bottom directory cannot be reached: " << std::strerror(errno);
  EXPECT_EQ(read_at(bottom, "leaf"), "at the bottom\n");
  EXPECT_EQ(read_at(bottom, all_bytes), "every byte in my name\n");
  ::close(bottom);

  // And a second run finds nothing to do there either.
  r = run_program({kRingsync, "-ai", src + "/", base + "/dst/"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
}

// A source name may look like one of ringsync's own temp names (".NAME.~rkXXXXXX" beside NAME):
// it is the user's file and must be copied like any other, and never be taken for the leftover
// of a killed run. rsync copies it once; its second run prints nothing.
// Regression test: the stale-temp cleanup in Syncer::sync_dir once removed such a file on
// every run (and a killed run could leave it missing).
TEST(RingsyncFaultsPaths, SourceNamesShapedLikeTempFilesAreCopiedNotCleanedUp) {
  std::string base = make_temp_dir("ringsync-tempnames");
  ScopedTempTree cleanup{base};
  std::string src = base + "/src";
  std::filesystem::create_directories(src);
  write_file(src + "/notes", "notes\n");
  write_file(src + "/.notes.~rkABCDEF", "not a temp file: the user's own\n");
  for (const auto& [tool, side] : {std::pair{std::string("rsync"), std::string("/r/")}, {kRingsync, "/g/"}}) {
    SCOPED_TRACE(tool);
    RunResult first = run_program({tool, "-a", src + "/", base + side});
    ASSERT_EQ(first.exit_code, 0) << first.err;
    RunResult second = run_program({tool, "-ai", src + "/", base + side});
    EXPECT_EQ(second.exit_code, 0) << second.err;
    EXPECT_EQ(second.out, "");
    SnapshotOptions exact;
    exact.nanoseconds = tool != "rsync";
    auto diffs = compare_trees(snapshot(src), snapshot(base + side), exact);
    EXPECT_TRUE(diffs.empty()) << indent_lines(diffs);
  }
}

// ---------------------------------------------------------------------------------------------
// 3. A second run is a no-op: over an up-to-date copy of the hostile tree, `ringsync -ai`
// prints nothing, exits 0 and touches nothing — no item's mtime or ctime changes (a chmod,
// chown or utimensat with the same values still moves the ctime). rsync's second run prints
// nothing either.

struct Times {
  statx_timestamp mtime{}, ctime{};
};

void collect_times(int dirfd, const std::string& rel, std::map<std::string, Times>& out) {
  int fd = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY);
  DIR* d = fdopendir(fd);
  if (d == nullptr) return;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    struct statx st {};
    if (::statx(dirfd, name.c_str(), AT_SYMLINK_NOFOLLOW, STATX_MTIME | STATX_CTIME | STATX_TYPE, &st) != 0) continue;
    out[rel + name] = {st.stx_mtime, st.stx_ctime};
    if (S_ISDIR(st.stx_mode)) {
      int sub = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      if (sub >= 0) {
        collect_times(sub, rel + name + "/", out);
        ::close(sub);
      }
    }
  }
  closedir(d);
}

std::map<std::string, Times> times_of(const std::string& root) {
  std::map<std::string, Times> out;
  struct statx st {};
  ::statx(AT_FDCWD, root.c_str(), 0, STATX_MTIME | STATX_CTIME, &st);
  out["."] = {st.stx_mtime, st.stx_ctime};
  int fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY);
  collect_times(fd, "", out);
  ::close(fd);
  return out;
}

std::vector<std::string> changed_times(const std::map<std::string, Times>& before,
                                       const std::map<std::string, Times>& after) {
  auto same = [](const statx_timestamp& a, const statx_timestamp& b) {
    return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
  };
  std::vector<std::string> out;
  for (const auto& [path, t] : before) {
    auto it = after.find(path);
    if (it == after.end()) {
      out.push_back(path + ": gone");
    } else if (!same(t.mtime, it->second.mtime)) {
      out.push_back(path + ": mtime changed");
    } else if (!same(t.ctime, it->second.ctime)) {
      out.push_back(path + ": ctime changed");
    }
  }
  if (after.size() != before.size()) out.push_back("items added");
  return out;
}

TEST(RingsyncFaultsPaths, SecondRunIsANoOpThatTouchesNothing) {
  std::string base = make_temp_dir("ringsync-noop");
  ScopedTempTree cleanup{base};
  std::string src = base + "/src";
  build_hostile_tree(src);
  pin_recent_times(src, 1700000000, 1000000000);
  for (const auto& [tool, side] : {std::pair{std::string("rsync"), std::string("/r/")}, {kRingsync, "/g/"}}) {
    RunResult first = run_program({tool, "-a", src + "/", base + side});
    ASSERT_EQ(first.exit_code, 0) << tool << ": " << first.err;
  }
  auto before = times_of(base + "/g"), rsync_before = times_of(base + "/r");
  RunResult rr = run_program({"rsync", "-ai", src + "/", base + "/r/"});
  RunResult gr = run_program({kRingsync, "-ai", src + "/", base + "/g/"});
  EXPECT_EQ(rr.exit_code, 0);
  EXPECT_EQ(rr.out, "") << "rsync, the reference, is not quiet on a second run either";
  EXPECT_EQ(gr.exit_code, 0) << gr.err;
  EXPECT_EQ(gr.out, "");
  EXPECT_EQ(gr.err, "");
  auto changed = changed_times(before, times_of(base + "/g"));
  EXPECT_TRUE(changed.empty()) << "the no-op run touched:\n" << indent_lines(changed);
  std::cout << "[ no-op    ] rsync's second run changed the times of " << changed_times(rsync_before, times_of(base + "/r")).size()
            << " items, ringsync's of " << changed.size() << "\n";
}


}  // namespace
}  // namespace ringkit::testing
