// Entry: one item of a directory as the syncer sees it, and reading a directory.
//
// list_directory() reads every name of an open directory (getdents64 through the engine) and
// sorts them in rsync's order (plain byte order). A directory's entries live only while that
// directory is being synced, so memory follows the widest directory, not the whole tree; an
// Entry is kept small for that (136 bytes and its name; tests/sync/entry_test.cc checks).
// Thread affinity: the executor thread.
#pragma once

#include <dirent.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "ringkit/result.h"
#include "ringkit/task.h"
#include "sync/file_stat.h"

namespace ringkit::sync {

struct Entry {
  std::string name;
  unsigned char d_type = 0;  // from getdents: DT_DIR, DT_REG, ... (DT_UNKNOWN on some file systems)
  FileStat st;               // filled by stat_entry()
  bool stat_ok = false;
  bool followed = false;  // a source symlink whose referent stands in for it (-L, -k, --copy-unsafe-links)
  bool implied = false;   // -R: a directory sent only because a named item lies below it
  bool not_copied = false;  // of a kind this run does not copy (a symlink without -l, ...): reported
  uint32_t base = 0;      // -R: the source base it is read from (see Selection)
  uint32_t ndx = 0;          // rsync's file-list index and place in the list (item_output.h)
  uint32_t list_pos = 0;
  // The destination's statx of the same name, looked up on the worker executor while this
  // entry's own was (Syncer::stat_both_sides); null when not looked up or not found there.
  const struct statx* dst_seen = nullptr;

  mode_t type() const { return st.stx_mode & S_IFMT; }
  bool is_dir() const { return S_ISDIR(st.stx_mode); }
  bool is_reg() const { return S_ISREG(st.stx_mode); }
  bool is_symlink() const { return S_ISLNK(st.stx_mode); }
};

// Every name in `dirfd` except "." and "..", sorted by bytes.
Task<Result<std::vector<Entry>>> list_directory(int dirfd);

// The entry named `name` in `entries` (sorted by name), or end().
std::vector<Entry>::const_iterator find_entry(const std::vector<Entry>& entries, std::string_view name);

// statx with everything ringsync compares (type, mode, ids, size, times, inode, nlink, rdev).
constexpr unsigned kStatxMask = STATX_TYPE | STATX_MODE | STATX_UID | STATX_GID | STATX_SIZE |
                                STATX_MTIME | STATX_ATIME | STATX_INO | STATX_NLINK | STATX_BLOCKS;

}  // namespace ringkit::sync
