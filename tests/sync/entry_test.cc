// The size of what the walk keeps per directory entry (entry.h, file_stat.h, item_output.h).
// The widest directory on the walk's path sets ringsync's memory, so these records are kept
// small; a member added to one of them should be a choice, which this test makes visible. (The
// syncer's per-entry Work is checked by a static_assert in syncer.cc, where it is visible.)
#include "sync/entry.h"

#include <gtest/gtest.h>

#include "sync/item_output.h"

namespace ringkit::sync {
namespace {

TEST(EntrySize, StaysSmall) {
  // A statx is 256 bytes; FileStat keeps the fields ringsync reads.
  EXPECT_LE(sizeof(FileStat), 80u);
  // The name (a std::string, and its bytes beyond 15 on the heap), the type, FileStat, flags
  // and the file-list numbers.
  EXPECT_LE(sizeof(Entry), 144u);
  // Most entries have no line to print: an empty ItemLine is a null pointer.
  EXPECT_EQ(sizeof(ItemLine), sizeof(void*));
}

TEST(FileStat, KeepsWhatItIsGivenOfAStatx) {
  struct statx st {};
  st.stx_mode = S_IFREG | 0640;
  st.stx_size = 1ull << 40;
  st.stx_ino = 77;
  st.stx_nlink = 3;
  st.stx_uid = 1000;
  st.stx_gid = 100;
  st.stx_mtime = {1700000000, 123456789, 0};
  st.stx_atime = {1600000000, 5, 0};
  st.stx_dev_major = 8;
  st.stx_dev_minor = 1;
  st.stx_rdev_major = 4;
  st.stx_rdev_minor = 64;
  FileStat f = st;
  EXPECT_EQ(f.stx_mode, S_IFREG | 0640);
  EXPECT_EQ(f.stx_size, 1ull << 40);
  EXPECT_EQ(f.stx_ino, 77u);
  EXPECT_EQ(f.stx_nlink, 3u);
  EXPECT_EQ(f.stx_uid, 1000u);
  EXPECT_EQ(f.stx_gid, 100u);
  EXPECT_EQ(f.stx_mtime.tv_sec, 1700000000);
  EXPECT_EQ(f.stx_mtime.tv_nsec, 123456789u);
  EXPECT_EQ(f.stx_atime.tv_sec, 1600000000);
  EXPECT_EQ(f.stx_atime.tv_nsec, 5u);
  EXPECT_EQ(device_of(f), makedev(8, 1));
  EXPECT_EQ(f.stx_rdev_major, 4u);
  EXPECT_EQ(f.stx_rdev_minor, 64u);
}

}  // namespace
}  // namespace ringkit::sync
