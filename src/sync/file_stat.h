// FileStat: the attributes of an item that ringsync reads, kept for every entry of the
// directories on the walk's path (entry.h). It takes 80 bytes where a struct statx takes 256,
// which is most of what a directory of many entries costs.
//
// The members keep statx's names and types, so that code reads the same with either, and a statx
// converts to it implicitly. What it drops, nothing reads: to read another statx field of a
// source item, add it here first. A plain value; any thread.
#pragma once

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cstdint>

namespace ringkit::sync {

struct FileStat {
  FileStat() = default;
  FileStat(const struct statx& st)  // NOLINT(google-explicit-constructor): a statx stands in for it
      : stx_ino(st.stx_ino),
        stx_size(st.stx_size),
        stx_atime(st.stx_atime),
        stx_mtime(st.stx_mtime),
        stx_uid(st.stx_uid),
        stx_gid(st.stx_gid),
        stx_nlink(st.stx_nlink),
        stx_dev_major(st.stx_dev_major),
        stx_dev_minor(st.stx_dev_minor),
        stx_rdev_major(st.stx_rdev_major),
        stx_rdev_minor(st.stx_rdev_minor),
        stx_mode(st.stx_mode) {}

  uint64_t stx_ino = 0;
  uint64_t stx_size = 0;
  struct statx_timestamp stx_atime {};
  struct statx_timestamp stx_mtime {};
  uint32_t stx_uid = 0;
  uint32_t stx_gid = 0;
  uint32_t stx_nlink = 0;
  uint32_t stx_dev_major = 0;
  uint32_t stx_dev_minor = 0;
  uint32_t stx_rdev_major = 0;
  uint32_t stx_rdev_minor = 0;
  uint16_t stx_mode = 0;
};

// The device an item is on, as one number.
inline uint64_t device_of(const FileStat& st) { return makedev(st.stx_dev_major, st.stx_dev_minor); }

}  // namespace ringkit::sync
