// Where a regular file's data is written and how it gets its name:
//  - normally an unnamed O_TMPFILE in the file's own directory, linked in when complete (a
//    replaced file: a named temp ".NAME.~rkXXXXXX" renamed over it);
//  - with --temp-dir, an unnamed file in that directory; on the same file system it is linked
//    into the destination directory and renamed into place like any temp file, on another one
//    it is first copied into a temp file beside its destination (rsync instead copies over the
//    destination file, which is then visible half-written; ringsync never shows that, at the
//    cost of room for one more copy of one file);
//  - with --delay-updates, put in the directory's holding dir (.~tmp~) and renamed into place
//    when the transfer ends (partial.cc).
// Backups (-b) are made by replace_with() just before the rename (backup.cc).
#include <fcntl.h>
#include <unistd.h>

#include "sync/syncer.h"

namespace ringkit::sync {

// REQUIRES: `name` does not exist in `dirfd` (else EEXIST).
Task<Result<void>> Syncer::link_unnamed(int fd, int dirfd, const std::string& name) {
  auto linked = co_await fs::linkat(fd, "", dirfd, name, AT_EMPTY_PATH);
  if (!linked && (linked.error() == std::errc::no_such_file_or_directory ||
                  linked.error() == std::errc::operation_not_permitted)) {
    // AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; the /proc path works for everyone.
    linked = co_await fs::linkat(AT_FDCWD, "/proc/self/fd/" + std::to_string(fd), dirfd, name, AT_SYMLINK_FOLLOW);
  }
  co_return linked;
}

// A file to write `name`'s new data into. `replacing`: `name` exists (its temp gets a name
// beside it, to be renamed over it).
Task<Result<Syncer::TempFile>> Syncer::open_temp(DirPair& dir, const std::string& name, bool replacing,
                                                 mode_t mode) {
  TempFile tmp;
  if (wd_.temp.valid()) {
    // Readable too: on another file system it is copied into place from this descriptor.
    auto fd = co_await fs::openat(wd_.temp.get(), ".", O_TMPFILE | O_RDWR, 0600);
    if (!fd) {
      tmp.name = temp_name(name);
      fd = co_await fs::openat(wd_.temp.get(), tmp.name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
      if (!fd) co_return fd.error();
      tmp.dirfd = wd_.temp.get();
    }
    tmp.fd = std::move(*fd);
    tmp.in_temp_dir = true;
    co_return tmp;
  }
  co_return co_await open_temp_beside(dir.dst.get(), name, replacing, mode);
}

Task<mode_t> Syncer::create_mode(DirPair& dir, const WantedAttrs& want) {
  constexpr mode_t kPrivate = 0600;
  if (!want.set_mode || (want.mode & 07000) != 0 || opt_.acls || !dir.dst.valid()) co_return kPrivate;
  if (!dir.dst_default_acl) {
    auto size = co_await fs::fgetxattr(dir.dst.get(), "system.posix_acl_default", {});
    // None (ENODATA), or no ACLs on this file system; any other answer: assume there may be one.
    dir.dst_default_acl = !(!size && (size.error() == std::errc::no_message_available ||
                                      size.error() == std::errc::operation_not_supported));
  }
  co_return *dir.dst_default_acl ? kPrivate : want.mode;
}

// A temp file in `dirfd` for `name`'s data: unnamed when `name` is new, else named beside it.
Task<Result<Syncer::TempFile>> Syncer::open_temp_beside(int dirfd, const std::string& name, bool replacing,
                                                        mode_t mode) {
  TempFile tmp;
  if (!replacing) {
    auto fd = co_await fs::openat(dirfd, ".", O_TMPFILE | O_WRONLY, mode);
    if (fd) {
      tmp.fd = std::move(*fd);
      co_return tmp;
    }
  }
  tmp.name = temp_name(name);
  auto fd = co_await fs::openat(dirfd, tmp.name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
  if (!fd) co_return fd.error();
  tmp.fd = std::move(*fd);
  tmp.dirfd = dirfd;
  co_return tmp;
}

// -T on another file system than the file's directory: the data is copied into a temp file
// there, which replaces `tmp` (the one in the temp dir goes). Nothing to do otherwise.
Task<Result<void>> Syncer::bring_near(DirPair& dir, TempFile& tmp, const std::string& name, uint64_t size) {
  if (!tmp.in_temp_dir) co_return Result<void>{};
  auto here = co_await fs::statx(dir.dst.get(), "", AT_EMPTY_PATH, STATX_TYPE);
  if (!here) co_return here.error();
  if (device_of(*here) == wd_.temp_dev) co_return Result<void>{};
  TempFile near;
  auto fd = co_await fs::openat(dir.dst.get(), ".", O_TMPFILE | O_WRONLY, 0600);
  if (!fd) {
    near.name = temp_name(name);
    near.dirfd = dir.dst.get();
    fd = co_await fs::openat(dir.dst.get(), near.name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
    if (!fd) co_return fd.error();
  }
  near.fd = std::move(*fd);
  auto copied = co_await copy_data(tmp.fd.get(), near.fd.get(), size);
  if (!copied) {
    co_await discard(near);
    co_return copied;
  }
  co_await discard(tmp);
  tmp = std::move(near);
  co_return Result<void>{};
}

// A temp file that will not be used: its name goes (an unnamed one vanishes with its descriptor).
Task<void> Syncer::discard(TempFile& tmp) {
  if (!tmp.name.empty() && tmp.dirfd >= 0) co_await fs::unlinkat(tmp.dirfd, tmp.name, 0);
  tmp.name.clear();
  tmp.fd = fs::Fd();
}

// Puts the complete temp file at `dirfd`/`name`, replacing a file there (no backup: for the
// holding and partial dirs, which only ringsync writes to).
Task<Result<void>> Syncer::put_at(TempFile& tmp, int dirfd, const std::string& name) {
  if (!tmp.name.empty()) {
    auto moved = co_await fs::renameat2(tmp.dirfd, tmp.name, dirfd, name, 0);
    if (moved) tmp.name.clear();
    co_return moved;
  }
  auto linked = co_await link_unnamed(tmp.fd.get(), dirfd, name);
  if (linked || linked.error() != std::errc::file_exists) co_return linked;
  std::string held = temp_name(name);
  linked = co_await link_unnamed(tmp.fd.get(), dirfd, held);
  if (!linked) co_return linked;
  auto moved = co_await fs::renameat2(dirfd, held, dirfd, name, 0);
  if (!moved) co_await fs::unlinkat(dirfd, held, 0);
  co_return moved;
}

// The complete file gets its name: linked (a new file) or renamed over the old one (after its
// backup, -b). With --delay-updates (`may_delay`) it goes to the holding dir instead.
Task<Result<void>> Syncer::install_file(DirPair& dir, const std::string& name, bool replace, TempFile& tmp,
                                        bool may_delay) {
  std::string rel = dir.rel + name;
  if (may_delay && opt_.delay_updates) {
    auto hold = co_await partial_dir_of(dir.dst.get(), true);
    if (!hold) co_return hold.error();
    auto put = co_await put_at(tmp, hold->get(), name);
    if (!put) co_return put;
    note_partial(dir, name);
    wd_.delayed.push_back({rel});
    if (opt_.hard_links || opt_.remove_source_files != 0) wd_.delayed_paths.insert(rel);
    co_return put;
  }
  if (tmp.name.empty() || tmp.dirfd == dir.dst.get()) {
    if (!opt_.backup) co_return co_await install_beside(dir.dst.get(), name, replace, tmp);
    if (!tmp.name.empty()) {
      auto moved = co_await replace_with(dir.dst.get(), tmp.name, name, rel);
      if (moved) tmp.name.clear();
      co_return moved;
    }
    std::string held = temp_name(name);
    auto linked = co_await link_unnamed(tmp.fd.get(), dir.dst.get(), held);
    if (!linked) co_return linked;
    auto moved = co_await replace_with(dir.dst.get(), held, name, rel);
    if (!moved) co_await fs::unlinkat(dir.dst.get(), held, 0);
    co_return moved;
  }
  // A named temp in the temp dir, on this file system.
  if (opt_.backup) {
    auto kept = co_await make_backup(dir.dst.get(), name, rel, false);
    if (!kept) co_return kept;
  }
  auto moved = co_await fs::renameat2(tmp.dirfd, tmp.name, dir.dst.get(), name, 0);
  if (moved) tmp.name.clear();
  co_return moved;
}

// install_file without -b, --delay-updates or a temp dir: `tmp` (unnamed, or named in `dirfd`)
// becomes `dirfd`/`name`, linked in (new) or renamed over what is there (`replace`). Touches
// no Syncer state: it runs on a worker executor too (syncer.h, "Two executors").
Task<Result<void>> Syncer::install_beside(int dirfd, const std::string& name, bool replace, TempFile& tmp) {
  if (!tmp.name.empty()) {
    auto moved = co_await fs::renameat2(dirfd, tmp.name, dirfd, name, 0);
    if (moved) tmp.name.clear();
    co_return moved;
  }
  if (!replace) co_return co_await link_unnamed(tmp.fd.get(), dirfd, name);
  std::string held = temp_name(name);
  auto linked = co_await link_unnamed(tmp.fd.get(), dirfd, held);
  if (!linked) co_return linked;
  auto moved = co_await fs::renameat2(dirfd, held, dirfd, name, 0);
  if (!moved) co_await fs::unlinkat(dirfd, held, 0);
  co_return moved;
}

// Puts the finished item `tmp` in place of `name`; with -b what `name` held is kept first.
Task<Result<void>> Syncer::replace_with(int dirfd, const std::string& tmp, const std::string& name,
                                        const std::string& rel) {
  if (opt_.backup) {
    auto kept = co_await make_backup(dirfd, name, rel, false);
    if (!kept) co_return kept;
  }
  co_return co_await fs::renameat2(dirfd, tmp, dirfd, name, 0);
}

}  // namespace ringkit::sync
