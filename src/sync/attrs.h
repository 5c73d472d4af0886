// Metadata: comparing a source item's attributes with its destination's and applying them,
// the way rsync -p -t -o -g -X -A does. Thread affinity: the executor thread.
#pragma once

#include <sys/stat.h>

#include <string>

#include "ringkit/result.h"
#include "ringkit/task.h"
#include "sync/file_stat.h"
#include "sync/itemize.h"
#include "sync/options.h"
#include "sync/report.h"

namespace ringkit::sync {

// What the destination should look like, derived from the source item and the options.
struct WantedAttrs {
  mode_t mode = 0;           // permission bits (07777) to set, when set_mode
  bool set_mode = false;
  uid_t uid = 0;
  gid_t gid = 0;
  bool set_uid = false;
  bool set_gid = false;
  statx_timestamp mtime{};
  statx_timestamp atime{};
  bool set_mtime = false;
  bool set_atime = false;
};

// `dst_exists`: the destination item exists (its statx is `dst`); `is_new` items get their
// permissions from the source masked by the umask when -p is off, as rsync does.
WantedAttrs wanted_attrs(const Options& opt, const FileStat& src, bool is_new, mode_t umask_bits);

// `want` for an existing item that is not transferred: with --modify-window, a time within the
// window stays as it is (rsync leaves it; otherwise the source's is set, to the nanosecond).
WantedAttrs keeping_close_mtime(const Options& opt, WantedAttrs want, const struct statx& dst);

// Fills the attribute letters of `change` (p, o, g, t) for an existing destination.
void compare_attrs(const Options& opt, const WantedAttrs& want, const struct statx& dst, ItemChange& change);

// What an item ringsync just created looks like: ours, mode 0600, and times that match no real
// time (so that even a source time of exactly 0 gets set).
struct statx fresh_item();

// The effective user id, read once.
uid_t my_euid();

bool same_mtime(const FileStat& a, const FileStat& b, int64_t modify_window);

// -E without -p: the destination's permissions with execute bits following the source's
// (set where readable when the source is executable, cleared when it is not), as rsync does.
mode_t with_executability(mode_t dst_mode, mode_t src_mode);

// What a directory's attributes are set to once its contents are written (not in a dry run):
// `want`, except that a user who is not root leaves the directory with the mode rsync leaves.
// rsync, not root, gives each directory its owner's rwx while it writes inside, and gives the
// mode back afterwards only where the owner lacks write permission (its touch_up_dirs): so a
// directory of mode 0644 or 0311 (one such a user could not read) ends up 0744 or 0711, one of
// 0555 as 0555. Without -p the mode in question is the directory's own, `current` (when
// known: nullptr leaves it alone).
WantedAttrs final_dir_attrs(WantedAttrs want, const struct statx* current);

// Applies `want` to the open `fd` (owner, then mode, then times: chown may clear set-id bits,
// and times must come last). `current` is what the item has now (nullptr: set everything);
// only what differs is set (times exactly, to the nanosecond).
// Returns the first error.
Task<Result<void>> apply_attrs_fd(int fd, const WantedAttrs& want, const struct statx* current);

// The same for an item reached by name (symlinks: without following them).
Task<Result<void>> apply_attrs_at(int dirfd, const std::string& name, bool is_symlink,
                                  const WantedAttrs& want, const struct statx* current);

// Extended attributes (-X) and ACLs (-A, carried as system.posix_acl_* attributes).
// An item is reached through an open descriptor (fd >= 0: f*xattr calls) or by a path whose
// last component is not followed (l*xattr calls; fd_path() builds one from a directory fd).
struct XattrTarget {
  int fd = -1;
  std::string path;
  static XattrTarget of_fd(int fd) { return {fd, {}}; }
  static XattrTarget of_path(std::string path) { return {-1, std::move(path)}; }
};
struct XattrDiff {
  bool xattrs_differ = false;
  bool acls_differ = false;
};
// Makes the destination's set equal to the source's (unless `dry_run`) and says whether they
// differed (the 'x' and 'a' columns). A new destination reports no difference.
Task<Result<XattrDiff>> sync_xattrs(const Options& opt, const XattrTarget& src, const XattrTarget& dst,
                                    bool dst_is_new, bool dry_run);

// "/proc/self/fd/<dirfd>/<name>": a path for the l*xattr calls that need one.
std::string fd_path(int dirfd, const std::string& name);

}  // namespace ringkit::sync
