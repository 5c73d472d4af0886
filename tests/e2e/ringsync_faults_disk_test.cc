// Fault injection for ringsync: a full destination file system (a small tmpfs), out of blocks
// and out of inodes. rsync runs the same way beside it, for the exit codes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "support/tree.h"

namespace ringkit::testing {
namespace {

const std::string kRingsync = std::string(RINGKIT_BIN_DIR) + "/ringsync";

void set_mtime(const std::string& path, long long sec) {
  timespec t[2] = {{sec, 0}, {sec, 0}};
  ::utimensat(AT_FDCWD, path.c_str(), t, AT_SYMLINK_NOFOLLOW);
}

// Content that tells files (and versions of a file) apart: the tag, then a filler byte.
std::string content(const std::string& tag, size_t size, int version) {
  std::string s(size, static_cast<char>('a' + (version + static_cast<int>(tag.size())) % 26));
  s.replace(0, std::min(size, tag.size()), tag.substr(0, std::min(size, tag.size())));
  return s;
}

// ---------------------------------------------------------------------------------------------
// A full disk: a 4 MiB tmpfs as the destination, a source of 6 MiB and more.
//
// ringsync must stop with exit 11 and a message naming the file, and leave nothing half
// written under a final name and no temp file; first for new files, then for files being
// replaced (the old versions must survive). rsync exits 11 too (its code is printed).

class MountedTmpfs {
 public:
  explicit MountedTmpfs(const std::string& path, const char* options = "size=4m") : path_(path) {
    std::filesystem::create_directories(path);
    if (::mount("tmpfs", path.c_str(), "tmpfs", 0, options) == 0) {
      mounted_ = true;
    } else {
      error_ = std::strerror(errno);
    }
  }
  ~MountedTmpfs() {
    if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
  }
  MountedTmpfs(const MountedTmpfs&) = delete;
  MountedTmpfs& operator=(const MountedTmpfs&) = delete;
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

 private:
  std::string path_;
  bool mounted_ = false;
  std::string error_;
};

void build_disk_tree(const std::string& root, size_t big_size, int version) {
  std::filesystem::create_directories(root + "/sub");
  for (int i = 1; i <= 3; ++i) {
    std::string name = "big" + std::to_string(i);
    write_file(root + "/" + name, content(name, big_size, version));
    set_mtime(root + "/" + name, 1000000000 + version);
  }
  for (int i = 0; i < 20; ++i) write_file(root + "/small" + std::to_string(i), content("s" + std::to_string(i), 1000, 0));
  write_file(root + "/sub/inner", "inner\n");
}

TEST(RingsyncFaults, FullDiskStopsWithExit11AndNoPartialFiles) {
  if (geteuid() != 0) GTEST_SKIP() << "mounting a small tmpfs needs root";
  std::string base = make_temp_dir("ringsync-enospc");
  ScopedTempTree cleanup{base};  // after the unmounts
  std::string src = base + "/src";
  build_disk_tree(src, 2u << 20, 1);  // 3 x 2 MiB + small files: more than 4 MiB
  MountedTmpfs g_mount(base + "/g"), r_mount(base + "/r");
  if (!g_mount.mounted() || !r_mount.mounted()) {
    std::string why = g_mount.mounted() ? r_mount.error() : g_mount.error();
    GTEST_SKIP() << "cannot mount a 4 MiB tmpfs as the destination: " << why;
  }
  TreeState source = snapshot(src);

  // New files.
  RunResult rr = run_program({"rsync", "-a", src + "/", base + "/r/dst/"});
  RunResult gr = run_program({kRingsync, "-a", src + "/", base + "/g/dst/"});
  std::cout << "[ ENOSPC   ] new files: rsync exits " << rr.exit_code << ", ringsync " << gr.exit_code << "\n";
  EXPECT_EQ(gr.exit_code, 11) << gr.err;
  EXPECT_NE(gr.err.find("No space left on device"), std::string::npos) << gr.err;
  EXPECT_TRUE(gr.err.find("\"big1\"") != std::string::npos || gr.err.find("\"big2\"") != std::string::npos ||
              gr.err.find("\"big3\"") != std::string::npos)
      << "the message does not name the file:\n" << gr.err;
  TreeState after = snapshot(base + "/g/dst");
  EXPECT_TRUE(half_written_files(after, {&source}).empty()) << indent_lines(half_written_files(after, {&source}));
  EXPECT_TRUE(temp_files(after).empty()) << indent_lines(temp_files(after));

  // Replaced files: small versions first (they fit), then big ones that do not.
  remove_tree(src);
  for (const char* side : {"/g/dst", "/r/dst"}) remove_tree(base + side);
  build_disk_tree(src, 100 << 10, 1);
  TreeState old_version = snapshot(src);
  ASSERT_EQ(run_program({"rsync", "-a", src + "/", base + "/r/dst/"}).exit_code, 0);
  RunResult first = run_program({kRingsync, "-a", src + "/", base + "/g/dst/"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  build_disk_tree(src, 2u << 20, 2);
  TreeState new_version = snapshot(src);
  rr = run_program({"rsync", "-a", src + "/", base + "/r/dst/"});
  gr = run_program({kRingsync, "-a", src + "/", base + "/g/dst/"});
  std::cout << "[ ENOSPC   ] replaced files: rsync exits " << rr.exit_code << ", ringsync " << gr.exit_code << "\n";
  EXPECT_EQ(gr.exit_code, 11) << gr.err;
  EXPECT_NE(gr.err.find("No space left on device"), std::string::npos) << gr.err;
  after = snapshot(base + "/g/dst");
  auto half = half_written_files(after, {&old_version, &new_version});
  EXPECT_TRUE(half.empty()) << indent_lines(half);
  EXPECT_TRUE(temp_files(after).empty()) << "temp files left on the full disk:\n" << indent_lines(temp_files(after));
  for (int i = 1; i <= 3; ++i) {
    std::string name = "big" + std::to_string(i);
    EXPECT_TRUE(after.count(name)) << name << ": the old version is gone and no new one took its place";
  }
}

// Out of inodes rather than blocks: creating the file fails, not writing it. rsync reports each
// file ("mkstemp ... failed: No space left on device") and goes on, exit 23; so must ringsync,
// and the files that fit must be there, complete.
TEST(RingsyncFaults, OutOfInodesReportsEachFileWithExit23AsRsync) {
  if (geteuid() != 0) GTEST_SKIP() << "mounting a small tmpfs needs root";
  std::string base = make_temp_dir("ringsync-inodes");
  ScopedTempTree cleanup{base};
  std::string src = base + "/src";
  std::filesystem::create_directories(src);
  for (int i = 0; i < 30; ++i) write_file(src + "/f" + std::to_string(i), content("f" + std::to_string(i), 100, 0));
  MountedTmpfs g_mount(base + "/g", "size=4m,nr_inodes=12"), r_mount(base + "/r", "size=4m,nr_inodes=12");
  if (!g_mount.mounted() || !r_mount.mounted()) {
    GTEST_SKIP() << "cannot mount a tmpfs with 12 inodes: " << (g_mount.mounted() ? r_mount.error() : g_mount.error());
  }
  RunResult rr = run_program({"rsync", "-a", src + "/", base + "/r/dst/"});
  RunResult gr = run_program({kRingsync, "-a", src + "/", base + "/g/dst/"});
  EXPECT_EQ(rr.exit_code, 23) << "rsync, the reference, said:\n" << rr.err;
  EXPECT_EQ(gr.exit_code, rr.exit_code) << gr.err;
  EXPECT_TRUE(gr.err.find("No space left on device") != std::string::npos) << gr.err;
  TreeState source = snapshot(src), copy = snapshot(base + "/g/dst");
  EXPECT_GT(copy.size(), 1u) << "nothing was copied";
  EXPECT_TRUE(half_written_files(copy, {&source}).empty()) << indent_lines(half_written_files(copy, {&source}));
  EXPECT_TRUE(temp_files(copy).empty()) << indent_lines(temp_files(copy));
}

}  // namespace
}  // namespace ringkit::testing
