// -S against the real rsync: files with holes, with runs of written zeros and with data at
// both ends are copied by both; the destinations must hold the same bytes and, file by file,
// the same number of allocated blocks (rsync turns every all-zero block into a hole). Without
// -S both allocate everything, so the big hole must be allocated then.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "support/tree.h"

namespace ringkit::testing {
namespace {

const std::string kRingsync = std::string(RINGKIT_BIN_DIR) + "/ringsync";

struct Blocks {
  long long size = -1;
  long long blocks = -1;  // 512-byte units
};

Blocks blocks_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  return {static_cast<long long>(st.st_size), static_cast<long long>(st.st_blocks)};
}

void write_at(const std::string& path, const std::string& data, off_t offset) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::pwrite(fd, data.data(), data.size(), offset), static_cast<ssize_t>(data.size()));
  ::close(fd);
}

class Sparse : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = make_temp_dir("ringsync-sparse");
    src_ = base_ + "/s";
    std::filesystem::create_directories(src_);
    // 16 MiB with 3 bytes of data at 4 MiB: nearly all hole.
    write_at(src_ + "/holes", "abc", 4 << 20);
    ASSERT_EQ(::truncate((src_ + "/holes").c_str(), 16 << 20), 0);
    // Written zeros (allocated in the source): become holes with -S.
    write_at(src_ + "/zeros", std::string(3 << 20, '\0'), 0);
    // Data, 2 MiB of zeros, data again, not on block boundaries.
    write_at(src_ + "/mixed", std::string(100000, 'd') + std::string(2 << 20, '\0') + std::string(5000, 'e'), 0);
    // Only a hole.
    write_at(src_ + "/allhole", "", 0);
    ASSERT_EQ(::truncate((src_ + "/allhole").c_str(), 5 << 20), 0);
    probe_ = blocks_of(src_ + "/holes");
  }
  void TearDown() override { remove_tree(base_); }

  void copy_both(const std::vector<std::string>& options) {
    std::vector<std::string> r = {"rsync"}, g = {kRingsync};
    r.insert(r.end(), options.begin(), options.end());
    g.insert(g.end(), options.begin(), options.end());
    r.insert(r.end(), {src_ + "/", base_ + "/r/"});
    g.insert(g.end(), {src_ + "/", base_ + "/g/"});
    RunResult rr = run_program(r), gr = run_program(g);
    ASSERT_EQ(rr.exit_code, 0) << rr.err;
    ASSERT_EQ(gr.exit_code, 0) << gr.err;
    auto same_dest = [](const std::string& out) {  // "created directory DEST" names two places
      return out.starts_with("created directory ") ? out.substr(out.find('\n') + 1) : out;
    };
    EXPECT_EQ(same_dest(gr.out), same_dest(rr.out));
  }

  std::string base_, src_;
  Blocks probe_;
};

TEST_F(Sparse, HolesAndZeroRunsAsRsyncMakesThem) {
  if (probe_.blocks * 512 >= probe_.size) GTEST_SKIP() << "this file system does not keep holes";
  copy_both({"-aiS"});
  for (const char* name : {"holes", "zeros", "mixed", "allhole"}) {
    SCOPED_TRACE(name);
    Blocks r = blocks_of(base_ + "/r/" + name), g = blocks_of(base_ + "/g/" + name);
    EXPECT_EQ(g.size, r.size);
    EXPECT_EQ(g.blocks, r.blocks);
    RunResult same = run_program({"cmp", src_ + "/" + name, base_ + "/g/" + name});
    EXPECT_EQ(same.exit_code, 0) << same.out;
  }
  // A 16 MiB file with 3 bytes of data holds one block, not 16 MiB.
  EXPECT_LE(blocks_of(base_ + "/g/holes").blocks * 512, 64 * 1024);
  EXPECT_EQ(blocks_of(base_ + "/g/allhole").blocks, 0);
}

TEST_F(Sparse, WithoutTheOptionEverythingIsAllocated) {
  if (probe_.blocks * 512 >= probe_.size) GTEST_SKIP() << "this file system does not keep holes";
  copy_both({"-ai"});
  Blocks r = blocks_of(base_ + "/r/holes"), g = blocks_of(base_ + "/g/holes");
  EXPECT_EQ(g.blocks, r.blocks);
  EXPECT_GE(g.blocks * 512, 16 << 20);
}

TEST_F(Sparse, AnUpdatedFileIsSparseToo) {
  if (probe_.blocks * 512 >= probe_.size) GTEST_SKIP() << "this file system does not keep holes";
  copy_both({"-a"});  // fully allocated copies
  write_at(src_ + "/holes", "xyz", 8 << 20);
  timespec old[2] = {{1234567890, 0}, {1234567890, 0}};  // not the same second as the copy
  ASSERT_EQ(::utimensat(AT_FDCWD, (src_ + "/holes").c_str(), old, 0), 0);
  copy_both({"-aiS"});
  Blocks r = blocks_of(base_ + "/r/holes"), g = blocks_of(base_ + "/g/holes");
  EXPECT_EQ(g.blocks, r.blocks);
  EXPECT_LE(g.blocks * 512, 64 * 1024);
}

}  // namespace
}  // namespace ringkit::testing
