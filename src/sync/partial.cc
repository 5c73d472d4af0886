// Partial files (--partial-dir, and the bare --partial) and delayed updates (--delay-updates),
// as rsync handles them for a local copy:
//  - An interrupted transfer (SIGINT/SIGTERM/SIGHUP, or a full disk) with --partial-dir keeps
//    what was written completely from the start of the file as DIR/NAME; relative DIRs live in
//    each file's directory (made, mode 0700, when needed). The file's mtime is not set, so the
//    next run transfers it again: a local copy is always whole-file, so, as rsync's manual says,
//    the next run simply removes the partial file (and the DIR once empty) when it has updated
//    the file or found it up to date.
//  - A bare --partial keeps nothing: rsync would leave the partial data under the file's own
//    name, which a local copy never reuses and which would show a half-written file under its
//    final name. The destination keeps its previous version instead (documented difference).
//  - --delay-updates puts each finished file in its directory's holding dir (.~tmp~, or the
//    --partial-dir) and, once the whole transfer is done, renames them all into place (after
//    their backups, with -b), removes the emptied holding dirs and sets the directories' times
//    again (rsync leaves them at the time of the renames). An interrupted run renames nothing:
//    what it held stays as partial files for the next run, as with rsync.
// A SIGKILLed run leaves at most complete files in the holding dirs (never a half-written
// one: files are written unnamed), which the next run removes or replaces.
#include <fcntl.h>
#include <unistd.h>

#include "ringkit/yield.h"
#include "sync/syncer.h"

namespace ringkit::sync {
namespace {

std::string without_trailing_slashes(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

}  // namespace

FilterStatus add_partial_dir_rule(const Options& opt, FilterList& list) {
  if (!opt.partial_dir) return {};
  std::string dir = without_trailing_slashes(*opt.partial_dir);
  if (dir.empty() || dir[0] == '/') return {};
  return list.add_rule("-p " + dir + "/", RuleSyntax::kFilter);
}

// The partial dir for the files of the destination directory `dst_dirfd`: relative, DIR inside
// it (only its last level is made, when `create`), never reached through a symlink; absolute,
// the one DIR.
Task<Result<fs::Fd>> Syncer::partial_dir_of(int dst_dirfd, bool create) {
  std::string dir = without_trailing_slashes(*opt_.partial_dir);
  if (dir[0] == '/') {
    if (!wd_.partial_root.valid()) {
      auto fd = co_await fs::openat(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY);
      if (!fd && fd.error() == std::errc::no_such_file_or_directory && create) {
        auto made = co_await fs::mkdirat(AT_FDCWD, dir, 0700);
        if (!made && made.error() != std::errc::file_exists) co_return made.error();
        fd = co_await fs::openat(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY);
      }
      if (!fd) co_return fd.error();
      wd_.partial_root = std::move(*fd);
    }
    co_return co_await fs::openat(wd_.partial_root.get(), ".", O_RDONLY | O_DIRECTORY);
  }
  auto fd = co_await fs::openat2(dst_dirfd, dir, O_RDONLY | O_DIRECTORY, 0, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
  if (fd || !create || fd.error() != std::errc::no_such_file_or_directory) co_return fd;
  fs::Fd parent;
  int base = dst_dirfd;
  if (!parent_rel(dir).empty()) {
    auto p = co_await fs::openat2(dst_dirfd, parent_rel(dir), O_RDONLY | O_DIRECTORY, 0,
                                  RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
    if (!p) co_return p.error();
    parent = std::move(*p);
    base = parent.get();
  }
  auto made = co_await fs::mkdirat(base, base_name(dir), 0700);
  if (!made && made.error() != std::errc::file_exists) co_return made.error();
  co_return co_await fs::openat(base, base_name(dir), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
}

// --partial-dir: whether the destination directory `dir` has a partial dir, looked up once per
// directory (before its files), so that a file found up to date needs no look-up of its own.
// An absolute partial dir is listed once instead.
Task<void> Syncer::probe_partial_dir(DirPair& dir) {
  if (!opt_.partial_dir || opt_.dry_run || !dir.dst.valid()) co_return;
  if ((*opt_.partial_dir)[0] == '/') {
    if (wd_.partial_names_listed) co_return;
    wd_.partial_names_listed = true;
    auto pdir = co_await partial_dir_of(dir.dst.get(), false);
    if (!pdir) co_return;
    auto listed = co_await list_directory(pdir->get());
    if (!listed) co_return;
    for (const Entry& e : *listed) wd_.partial_names.insert(e.name);
    co_return;
  }
  if (dir.dst_new) co_return;
  auto pdir = co_await partial_dir_of(dir.dst.get(), false);
  if (!pdir) co_return;
  // An empty one (a run killed between making it and filling it, or between emptying it and
  // removing it) goes now; rsync would leave it.
  bool removed = co_await remove_partial_dir(dir.dst.get());
  if (!removed) wd_.partial_dirs.insert(dir.rel);
}

// The partial file of `name` has served its purpose (the file is up to date now): it goes,
// and a relative partial dir with it once empty.
Task<void> Syncer::drop_partial(DirPair& dir, const std::string& name) {
  if (!opt_.partial_dir || opt_.dry_run || !dir.dst.valid()) co_return;
  bool absolute = (*opt_.partial_dir)[0] == '/';
  if (absolute ? wd_.partial_names.count(name) == 0 : wd_.partial_dirs.count(dir.rel) == 0) co_return;
  auto pdir = co_await partial_dir_of(dir.dst.get(), false);
  if (!pdir) co_return;
  auto gone = co_await fs::unlinkat(pdir->get(), name, 0);
  if (absolute) {
    wd_.partial_names.erase(name);
    co_return;
  }
  // (No co_await inside &&: GCC 12.)
  bool removed = false;
  if (gone) removed = co_await remove_partial_dir(dir.dst.get());
  if (removed) wd_.partial_dirs.erase(dir.rel);
}

// A relative partial dir is removed when empty (an absolute one is the user's, and stays).
// True if it is gone.
Task<bool> Syncer::remove_partial_dir(int dst_dirfd) {
  std::string dir = without_trailing_slashes(*opt_.partial_dir);
  if (dir[0] == '/') co_return false;
  fs::Fd parent;
  int base = dst_dirfd;
  if (!parent_rel(dir).empty()) {
    auto p = co_await fs::openat2(dst_dirfd, parent_rel(dir), O_RDONLY | O_DIRECTORY, 0,
                                  RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
    if (!p) co_return false;
    parent = std::move(*p);
    base = parent.get();
  }
  auto gone = co_await fs::unlinkat(base, base_name(dir), AT_REMOVEDIR);  // not empty: stays
  co_return gone.ok();
}

// A transfer that stopped part-way (interrupted, or the disk is full): with --partial-dir what
// was written completely from the start (`prefix` bytes) is kept there; otherwise nothing.
Task<void> Syncer::keep_partial(DirPair& dir, Work& work, TempFile& tmp, uint64_t prefix, WantedAttrs want) {
  if (!opt_.partial_dir || opt_.dry_run || prefix == 0) {
    co_await discard(tmp);
    co_return;
  }
  std::string rel = dir.rel + work.dst_name;
  auto cut = co_await fs::ftruncate(tmp.fd.get(), prefix);
  // Its own attributes, but not the source's times: the next run must see it differs.
  want.set_mtime = want.set_atime = false;
  struct statx fresh = fresh_item();
  if (cut) cut = co_await apply_attrs_fd(tmp.fd.get(), want, &fresh);
  Result<fs::Fd> pdir = std::make_error_code(std::errc::io_error);
  if (cut) pdir = co_await partial_dir_of(dir.dst.get(), true);
  if (cut && !pdir) cut = pdir.error();
  if (cut) cut = co_await put_at(tmp, pdir->get(), work.dst_name);
  if (cut) note_partial(dir, work.dst_name);
  if (!cut) {
    rep_.error_line("Unable to create partial-dir for " + rel + " -- discarding partial file.", kExitOk);
    co_await discard(tmp);
  }
}

// A partial (or held) file was just put in the partial dir of `dir`: later look-ups know it.
void Syncer::note_partial(const DirPair& dir, const std::string& name) {
  if ((*opt_.partial_dir)[0] == '/') {
    wd_.partial_names.insert(name);
  } else {
    wd_.partial_dirs.insert(dir.rel);
  }
}

// Where an item's data is now: its name, or, held back by --delay-updates, the holding dir.
Task<Result<struct statx>> Syncer::stat_installed(int dst_dirfd, const std::string& name, const std::string& rel) {
  if (wd_.delayed_paths.count(rel) != 0) {
    auto pdir = co_await partial_dir_of(dst_dirfd, false);
    if (!pdir) co_return pdir.error();
    co_return co_await fs::statx(pdir->get(), name, AT_SYMLINK_NOFOLLOW, STATX_INO);
  }
  co_return co_await fs::statx(dst_dirfd, name, AT_SYMLINK_NOFOLLOW, STATX_INO);
}

// --delay-updates: the held files go into place, in the order they were finished; then the
// hard links (-H) that waited for them; then the directories get their times again.
Task<void> Syncer::finish_delayed() {
  std::vector<DelayedUpdate> files = std::move(wd_.delayed);
  std::vector<DelayedLink> links = std::move(wd_.delayed_links);
  // (--remove-source-files: what is not put in place below keeps its source.)
  std::map<std::string, HeldRemoval> removals = std::move(held_removals_);
  held_removals_.clear();
  wd_.delayed.clear();
  wd_.delayed_links.clear();
  wd_.delayed_paths.clear();
  if (files.empty() && links.empty()) co_return;
  if (rep_.stopped() || interrupt_signal.load(std::memory_order_relaxed) != 0) co_return;  // all or nothing
  for (size_t i = 0; i < files.size(); ++i) {
    if (i % 32 == 31) co_await yield_now();
    const std::string& rel = files[i].rel;
    std::string name = base_name(rel);
    fs::Fd dst = co_await open_below_root(false, parent_rel(rel));
    Result<fs::Fd> pdir = std::make_error_code(std::errc::no_such_file_or_directory);
    if (dst.valid()) pdir = co_await partial_dir_of(dst.get(), false);
    if (!pdir) {
      rep_.file_error("rename", rel, pdir.error());
      continue;
    }
    if (opt_.backup) {
      auto kept = co_await make_backup(dst.get(), name, rel, false);
      if (!kept) {
        rep_.file_error("backup", rel, kept.error());
        continue;
      }
      if (ItemLine note = take_backup_note(rel); !note.empty()) out_.emit(note);
    }
    auto moved = co_await fs::renameat2(pdir->get(), name, dst.get(), name, 0);
    if (!moved) {
      rep_.file_error("rename", rel, moved.error());
      continue;
    }
    bool removed = co_await remove_partial_dir(dst.get());
    if (removed) wd_.partial_dirs.erase(parent_rel(rel).empty() ? std::string() : parent_rel(rel) + "/");
    retouch_dirs_.insert(parent_rel(rel));
    if (!removals.empty()) co_await remove_source_of_delayed(removals, rel, dst.get());
  }
  for (const DelayedLink& link : links) {
    fs::Fd leader_dir = co_await open_below_root(false, parent_rel(link.leader));
    fs::Fd member_dir = co_await open_below_root(false, parent_rel(link.member));
    std::string held = temp_name(base_name(link.member));
    Result<void> linked = std::make_error_code(std::errc::no_such_file_or_directory);
    if (leader_dir.valid() && member_dir.valid()) {
      linked = co_await fs::linkat(leader_dir.get(), base_name(link.leader), member_dir.get(), held, 0);
    }
    if (linked) {
      linked = co_await replace_with(member_dir.get(), held, base_name(link.member), link.member);
      if (!linked) co_await fs::unlinkat(member_dir.get(), held, 0);
    }
    if (!linked) {
      rep_.file_error("link " + link.member + " =>", link.leader, linked.error());
      continue;
    }
    retouch_dirs_.insert(parent_rel(link.member));
    if (!removals.empty()) co_await remove_source_of_delayed(removals, link.member, member_dir.get());
  }
  // (The caller sets the directories' times again: retouch_dirs().)
}

}  // namespace ringkit::sync
