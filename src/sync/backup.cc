// Backups (-b, --suffix, --backup-dir), as rsync makes them:
//  - without --backup-dir, NAME becomes NAME~ (--suffix) beside it;
//  - with --backup-dir=DIR, DIR/REL (plus --suffix, empty by default), where REL is the item's
//    path below the destination root; DIR's own missing path is made as with mkdir -p, and the
//    levels below it like the destination directories they mirror (mode, owner, times);
//  - an item that is replaced is hard-linked to its backup name first (so that its name never
//    goes missing), one that is deleted is renamed there; when the backup is on another file
//    system the item is copied (data, attributes, -X/-A), then, if deleted, removed;
//  - whatever is in the way at the backup name goes, a directory with its contents;
//  - only non-directories are backed up: a deleted directory's files are, one by one.
// Nothing is followed through a symlink below the backup root (one in the way is replaced).
#include <fcntl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>

#include "ringkit/yield.h"
#include "sync/syncer.h"

namespace ringkit::sync {
namespace {

// Removes `name` in `dirfd` whatever it is, a directory with everything in it; quietly: it is
// an old backup in the way of a new one.
Task<Result<void>> remove_quietly(int dirfd, const std::string& name) {
  auto gone = co_await fs::unlinkat(dirfd, name, 0);
  if (gone || gone.error() == std::errc::no_such_file_or_directory) co_return Result<void>{};
  if (gone.error() != std::errc::is_a_directory && gone.error() != std::errc::operation_not_permitted) co_return gone;
  auto sub = co_await fs::openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  if (!sub) co_return sub.error();
  auto listed = co_await list_directory(sub->get());
  if (!listed) co_return listed.error();
  for (const Entry& e : *listed) {
    co_await yield_now();  // deep trees: keep the stack flat
    auto r = co_await remove_quietly(sub->get(), e.name);
    if (!r) co_return r;
  }
  co_return co_await fs::unlinkat(dirfd, name, AT_REMOVEDIR);
}

bool in_the_way(const std::error_code& ec) {
  return ec == std::errc::file_exists || ec == std::errc::is_a_directory || ec == std::errc::directory_not_empty ||
         ec == std::errc::not_a_directory;
}

// What openat(O_DIRECTORY | O_NOFOLLOW) says when the name is there but no directory.
bool not_a_directory(const std::error_code& ec) {
  return ec == std::errc::not_a_directory || ec == std::errc::too_many_symbolic_link_levels;
}

// Links (or, to keep a deleted item, moves) `name` to its backup name.
Task<Result<void>> place_backup(bool rename, int dirfd, const std::string& name, int to, const std::string& target) {
  if (rename) co_return co_await fs::renameat2(dirfd, name, to, target, 0);
  co_return co_await fs::linkat(dirfd, name, to, target, 0);
}

}  // namespace

Task<Result<void>> Syncer::make_backup(int dirfd, const std::string& name, const std::string& rel,
                                       bool prefer_rename) {
  auto st = co_await fs::statx(dirfd, name, AT_SYMLINK_NOFOLLOW, kStatxMask);
  if (!st) {
    if (st.error() == std::errc::no_such_file_or_directory) co_return Result<void>{};  // nothing to keep
    co_return st.error();
  }
  Result<void> r = co_await place_backup_of(dirfd, name, rel, prefer_rename, *st);
  if (r) backed_up(rel);
  co_return r;
}

Task<Result<void>> Syncer::place_backup_of(int dirfd, const std::string& name, const std::string& rel,
                                           bool prefer_rename, const struct statx& st) {
  if (!opt_.backup_dir) {
    std::string kept = name + opt_.suffix;
    if (prefer_rename) co_return co_await fs::renameat2(dirfd, name, dirfd, kept, 0);
    // A link under a temp name, renamed over NAME~: an older backup is replaced at once.
    std::string held = temp_name(name);
    auto linked = co_await fs::linkat(dirfd, name, dirfd, held, 0);
    if (!linked) co_return linked;
    auto moved = co_await fs::renameat2(dirfd, held, dirfd, kept, 0);
    if (!moved) co_await fs::unlinkat(dirfd, held, 0);
    co_return moved;
  }
  auto bdir = co_await backup_dir_for(parent_rel(rel));
  if (!bdir) co_return bdir.error();
  int to = (*bdir)->get();
  std::string target = base_name(rel) + opt_.suffix;
  Result<void> r = co_await place_backup(prefer_rename, dirfd, name, to, target);
  if (!r && in_the_way(r.error())) {
    auto cleared = co_await remove_quietly(to, target);
    if (!cleared) co_return cleared;
    r = co_await place_backup(prefer_rename, dirfd, name, to, target);
  }
  // rsync renames a regular file it could not link (the caller's rename follows at once).
  if (!r && !prefer_rename && S_ISREG(st.stx_mode) && r.error() != std::errc::cross_device_link) {
    r = co_await fs::renameat2(dirfd, name, to, target, 0);
  }
  if (!r && r.error() == std::errc::cross_device_link) {
    r = co_await copy_item(dirfd, name, st, to, target);
    if (r && prefer_rename) r = co_await fs::unlinkat(dirfd, name, 0);
  }
  co_return r;
}

void Syncer::backed_up(const std::string& rel) {
  if (!out_.says_backups()) return;
  // rsync names the backup as it made it: its --backup-dir as given, with a '/' if it had none.
  std::string to = rel + opt_.suffix;
  if (opt_.backup_dir) to = *opt_.backup_dir + (opt_.backup_dir->ends_with('/') ? "" : "/") + to;
  backup_notes_[rel] = "backed up " + rel + " to " + to;
}

ItemLine Syncer::take_backup_note(const std::string& rel) {
  auto it = backup_notes_.find(rel);
  if (it == backup_notes_.end()) return {};
  ItemLine note(std::move(it->second));
  backup_notes_.erase(it);
  return note;
}

Task<void> Syncer::note_backup_dir() {
  if (!opt_.backup_dir || opt_.backup_dir->empty() || !out_.says_backups()) co_return;
  const std::string& dir = *opt_.backup_dir;
  // rsync looks from inside DEST, which it has made by then: a DEST not there yet is looked
  // through by name.
  std::string path = dir;
  if (dir[0] != '/') {
    path = opt_.destination + "/" + dir;
    auto dest = co_await fs::statx(AT_FDCWD, opt_.destination, 0, STATX_TYPE);
    if (!dest) path = std::filesystem::path(path).lexically_normal().string();
  }
  auto st = co_await fs::statx(AT_FDCWD, path, 0, STATX_TYPE);
  bool there = st && S_ISDIR(st->stx_mode);
  std::string shown = dir.size() > 1 && dir.ends_with('/') ? dir.substr(0, dir.size() - 1) : dir;
  out_.set_backup_dir_note(std::string(there ? "" : "(new) ") + "backup_dir is " + shown);
}

// --inplace with -b: the file is about to be overwritten where it is, so its backup is a copy
// (rsync's too), made complete before the first byte is written.
Task<Result<void>> Syncer::backup_by_copy(int dirfd, const std::string& name, const std::string& rel,
                                          const struct statx& st) {
  std::shared_ptr<fs::Fd> bdir;
  int to = dirfd;
  std::string target = name + opt_.suffix;
  if (opt_.backup_dir) {
    auto made = co_await backup_dir_for(parent_rel(rel));
    if (!made) co_return made.error();
    bdir = *made;
    to = bdir->get();
    target = base_name(rel) + opt_.suffix;
  }
  auto there = co_await fs::statx(to, target, AT_SYMLINK_NOFOLLOW, STATX_TYPE);
  if (there && S_ISDIR(there->stx_mode)) {
    auto cleared = co_await remove_quietly(to, target);
    if (!cleared) co_return cleared;
  }
  Result<void> r = co_await copy_item(dirfd, name, st, to, target);
  if (r) backed_up(rel);
  co_return r;
}

// The backup directory for items of `rel_dir` (a directory below the destination root, "" for
// the root), made as needed. Shared so that a caller keeps it while others move on.
Task<Result<std::shared_ptr<fs::Fd>>> Syncer::backup_dir_for(const std::string& rel_dir) {
  if (wd_.backup_dir && wd_.backup_dir_rel == rel_dir) co_return wd_.backup_dir;
  if (!wd_.backup_root.valid()) {
    auto made = co_await make_backup_root();
    if (!made) co_return made.error();
  }
  auto cur = std::make_shared<fs::Fd>();
  {
    auto fd = co_await fs::openat(wd_.backup_root.get(), ".", O_RDONLY | O_DIRECTORY);
    if (!fd) co_return fd.error();
    *cur = std::move(*fd);
  }
  std::string walked;
  size_t start = 0;
  while (start < rel_dir.size()) {
    size_t slash = rel_dir.find('/', start);
    std::string part = rel_dir.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    start = slash == std::string::npos ? rel_dir.size() : slash + 1;
    if (part.empty()) continue;
    walked += walked.empty() ? part : "/" + part;
    auto next = co_await fs::openat(cur->get(), part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (!next && not_a_directory(next.error())) {
      // Not a directory (a symlink, say): it goes, as rsync's validate_backup_dir does.
      auto cleared = co_await remove_quietly(cur->get(), part);
      if (!cleared) co_return cleared.error();
      next = std::make_error_code(std::errc::no_such_file_or_directory);
    }
    if (!next && next.error() != std::errc::no_such_file_or_directory) co_return next.error();
    if (!next) {
      auto made = co_await fs::mkdirat(cur->get(), part, 0777 & ~umask_);
      if (!made && made.error() != std::errc::file_exists) co_return made.error();
      next = co_await fs::openat(cur->get(), part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      if (!next) co_return next.error();
      if (made) {
        // Like the destination directory it mirrors, which by now has the source directory's
        // settings (rsync sets a directory's before its contents; ringsync after them, so it
        // takes the source's; a directory being deleted has no source: its own).
        fs::Fd mirrored = co_await open_below_root(true, walked);
        if (!mirrored.valid()) mirrored = co_await open_below_root(false, walked);
        if (mirrored.valid()) {
          auto dst_st = co_await fs::statx(mirrored.get(), "", AT_EMPTY_PATH, kStatxMask);
          if (dst_st) {
            WantedAttrs want = wanted_attrs(opt_, *dst_st, true, umask_);
            co_await apply_attrs_fd(next->get(), want, nullptr);
          }
        }
      }
    }
    *cur = std::move(*next);
  }
  wd_.backup_dir = cur;
  wd_.backup_dir_rel = rel_dir;
  co_return cur;
}

// The --backup-dir itself, with its missing parents (rsync's make_path). Inside the
// destination (a relative name without ".."), level by level without following symlinks.
Task<Result<void>> Syncer::make_backup_root() {
  std::string path = *opt_.backup_dir;
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  bool absolute = !path.empty() && path[0] == '/';
  int base = absolute || !dst_root_.valid() ? AT_FDCWD : dst_root_.get();
  if (!absolute && stays_inside(path) && dst_root_.valid()) {
    auto cur = co_await fs::openat(dst_root_.get(), ".", O_RDONLY | O_DIRECTORY);
    if (!cur) co_return cur.error();
    size_t start = 0;
    while (start < path.size()) {
      size_t slash = path.find('/', start);
      std::string part = path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
      start = slash == std::string::npos ? path.size() : slash + 1;
      if (part.empty() || part == ".") continue;
      auto next = co_await fs::openat(cur->get(), part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      if (!next && not_a_directory(next.error())) {
        auto cleared = co_await remove_quietly(cur->get(), part);
        if (!cleared) co_return cleared;
        next = std::make_error_code(std::errc::no_such_file_or_directory);
      }
      if (!next && next.error() != std::errc::no_such_file_or_directory) co_return next.error();
      if (!next) {
        auto made = co_await fs::mkdirat(cur->get(), part, 0777 & ~umask_);
        if (!made && made.error() != std::errc::file_exists) co_return made;
        next = co_await fs::openat(cur->get(), part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
        if (!next) co_return next.error();
      }
      *cur = std::move(*next);
    }
    wd_.backup_root = std::move(*cur);
    co_return Result<void>{};
  }
  // The user's own path, outside the destination: made and followed as given.
  for (size_t slash = path.find('/', 1); slash != std::string::npos; slash = path.find('/', slash + 1)) {
    co_await fs::mkdirat(base, path.substr(0, slash), 0777 & ~umask_);
  }
  auto made = co_await fs::mkdirat(base, path, 0777 & ~umask_);
  if (!made && made.error() != std::errc::file_exists) co_return made;
  auto fd = co_await fs::openat(base, path, O_RDONLY | O_DIRECTORY);
  if (!fd) co_return fd.error();
  wd_.backup_root = std::move(*fd);
  co_return Result<void>{};
}

// A copy of the item `name` (whose statx is `st`) as `to_name` in `to_dirfd`, with its
// attributes: for a backup on another file system. The copy appears complete or not at all.
Task<Result<void>> Syncer::copy_item(int dirfd, const std::string& name, const struct statx& st, int to_dirfd,
                                     const std::string& to_name) {
  WantedAttrs want = wanted_attrs(opt_, st, true, umask_);
  if (S_ISREG(st.stx_mode)) {
    auto src = co_await fs::openat(dirfd, name, O_RDONLY | O_NOFOLLOW);
    if (!src) co_return src.error();
    TempFile tmp;
    auto fd = co_await fs::openat(to_dirfd, ".", O_TMPFILE | O_WRONLY, 0600);
    if (!fd) {
      tmp.name = temp_name(to_name);
      tmp.dirfd = to_dirfd;
      fd = co_await fs::openat(to_dirfd, tmp.name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
      if (!fd) co_return fd.error();
    }
    tmp.fd = std::move(*fd);
    auto copied = co_await copy_data(src->get(), tmp.fd.get(), st.stx_size);
    if (copied && (opt_.xattrs || opt_.acls)) {
      auto x = co_await sync_xattrs(opt_, XattrTarget::of_fd(src->get()), XattrTarget::of_fd(tmp.fd.get()), true, false);
      if (!x) copied = x.error();
    }
    if (copied) {
      struct statx fresh = fresh_item();
      copied = co_await apply_attrs_fd(tmp.fd.get(), want, &fresh);
    }
    if (copied) copied = co_await put_at(tmp, to_dirfd, to_name);
    if (!copied) co_await discard(tmp);
    co_return copied;
  }
  Result<void> made;
  if (S_ISLNK(st.stx_mode)) {
    auto target = co_await fs::readlinkat(dirfd, name);
    if (!target) co_return target.error();
    made = co_await fs::symlinkat(*target, to_dirfd, to_name);
    want.set_mode = false;
  } else if (!S_ISDIR(st.stx_mode)) {
    made = co_await fs::mknodat(to_dirfd, to_name, (st.stx_mode & S_IFMT) | 0600,
                                makedev(st.stx_rdev_major, st.stx_rdev_minor));
  } else {
    made = std::make_error_code(std::errc::is_a_directory);
  }
  if (!made) co_return made;
  co_return co_await apply_attrs_at(to_dirfd, to_name, S_ISLNK(st.stx_mode), want, nullptr);
}

}  // namespace ringkit::sync
