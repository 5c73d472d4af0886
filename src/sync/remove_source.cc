// --remove-source-files: a non-directory of the source goes once the destination holds it, as
// rsync's sender removes each file its receiver reports done (rsync's successful_send).
//
// What counts as done is rsync's list: a file whose data was written and put in place; an item
// found up to date (attributes set or not), a hard link made or found in place (-H), an item
// linked from or matched in a --link-dest/--compare-dest directory; a symlink, device or special
// file made. What was skipped (--existing, --ignore-existing, -u, --max-size, excluded, unsafe
// links, kinds not copied) or failed stays. Directories always stay. A dry run removes nothing.
//
// Before removing, the source is looked at again: a file that changed since it was listed (size,
// modification time, or another inode under the name) is kept, and so is one that is the
// destination item itself (a sync onto itself, a --link-dest into the source); each is an error
// (exit 23), as in rsync. With --delay-updates a file (or a hard link to one) is in place only
// once finish_delayed() has renamed it at the end of the run: its source waits until then, and
// stays if that fails.
#include <fcntl.h>

#include "sync/syncer.h"

namespace ringkit::sync {

Task<void> Syncer::remove_source_of(DirPair& dir, Work& work) {
  const Entry& e = *work.src;
  std::string dst_rel = dir.rel + work.dst_name;
  co_await remove_source_when_in_place(dir.src.get(), dir.rel + e.name, e.followed, e.st, dir.dst.get(), dst_rel,
                                       dst_rel, work.more_lines());
}

Task<void> Syncer::remove_source_when_in_place(int src_dirfd, const std::string& rel, bool follow,
                                               const FileStat& listed, int dst_dirfd, const std::string& dst_rel,
                                               const std::string& placed_with, std::vector<ItemLine>& lines) {
  if (wd_.delayed_paths.count(placed_with) != 0) {
    held_removals_[dst_rel] = HeldRemoval{rel, follow, listed};
    co_return;
  }
  co_await remove_source(src_dirfd, rel, follow, listed, dst_dirfd, base_name(dst_rel), lines);
}

Task<void> Syncer::remove_source_of_delayed(std::map<std::string, HeldRemoval>& removals,
                                            const std::string& dst_rel, int dst_dirfd) {
  auto it = removals.find(dst_rel);
  if (it == removals.end()) co_return;
  HeldRemoval held = std::move(it->second);
  removals.erase(it);
  // (The source's directory is found again by its path, in whichever base has it; an item of
  // another base under the same path is not the one listed, and remove_source keeps it.)
  fs::Fd src_dir = co_await open_below_root(true, parent_rel(held.rel));
  if (!src_dir.valid()) co_return;
  std::vector<ItemLine> lines;
  co_await remove_source(src_dir.get(), held.rel, held.follow, held.listed, dst_dirfd, base_name(dst_rel), lines);
  for (ItemLine& line : lines) out_.emit(line);
}

bool Syncer::removes_source(Work::Sent sent) const {
  if (opt_.dry_run || opt_.remove_source_files == 0) return false;
  return sent == Work::Sent::kData || (sent == Work::Sent::kInPlace && opt_.remove_source_files == 1);
}

Task<void> Syncer::remove_source(int src_dirfd, const std::string& rel, bool follow, const FileStat& listed,
                                 int dst_dirfd, const std::string& dst_name, std::vector<ItemLine>& lines) {
  ++rep_.stats().sender_told;
  std::string name = base_name(rel);
  auto gone = [&](const std::error_code& ec, const char* what) {
    if (ec == std::errc::no_such_file_or_directory) {
      lines.emplace_back("sender file already removed: " + rel);  // (rsync says so, and goes on)
    } else {
      rep_.file_error(what, rel, ec);
    }
  };
  auto now = co_await fs::statx(src_dirfd, name, follow ? 0 : AT_SYMLINK_NOFOLLOW, kStatxMask);
  if (!now) {
    gone(now.error(), "stat source file");
    co_return;
  }
  auto there = co_await fs::statx(dst_dirfd, dst_name, AT_SYMLINK_NOFOLLOW, kStatxMask);
  if (there && inode_key(*there) == inode_key(*now)) {
    rep_.error_line("ERROR: Skipping sender remove of destination file: " + rel, kExitPartial);
    co_return;
  }
  // (A negative window: same_mtime compares the nanoseconds too.)
  if (inode_key(*now) != inode_key(listed) || now->stx_size != listed.stx_size || !same_mtime(*now, listed, -1)) {
    rep_.error_line("ERROR: Skipping sender remove for changed file: " + rel, kExitPartial);
    co_return;
  }
  // On a disk an unlink may wait for the device (ext4 mounted with discard trims the file's
  // blocks before the call returns): there the unlinks go to the blocking pool, several at once,
  // and the walk goes on. In memory they cost a few microseconds, less than the hand-off.
  // (100 000 x 1 KiB moved: ext4 8.9 s inline, 5.3 s on the pool; tmpfs 1.6 s inline, 3.0 s.)
  // (`listed` is the link's target when followed: its device says nothing of the directory's.)
  bool in_memory = !follow && copy_.home.reads_from_memory(src_dirfd, device_of(listed));
  fs::Placement where = in_memory ? fs::Placement::kPolicy : fs::Placement::kBlockingPool;
  auto removed = co_await fs::unlinkat(src_dirfd, name, 0, where);
  if (!removed) {
    gone(removed.error(), "remove source file");
    co_return;
  }
  if (out_.says_removed()) lines.emplace_back("sender removed " + rel);
}

}  // namespace ringkit::sync
