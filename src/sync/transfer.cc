// Writing one item: regular files (data + attributes, then linked or renamed into place),
// symlinks, devices and special files. The walk is in syncer.cc.
#include <fcntl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <random>

#include "sync/attrs.h"
#include "sync/syncer.h"

namespace ringkit::sync {
namespace {

constexpr uint64_t kCompareChunk = 1 << 20;  // -c: bytes compared at a time

}  // namespace

// What an item we just created looks like: ours, mode 0600, and times that match no real
// time (so that even a source time of exactly 0, 1970-01-01, gets set).
struct statx fresh_item() {
  struct statx st {};
  static const gid_t my_egid = ::getegid();
  st.stx_uid = my_euid();
  st.stx_gid = my_egid;
  st.stx_mode = 0600;
  st.stx_mtime.tv_nsec = st.stx_atime.tv_nsec = 0xFFFFFFFF;
  return st;
}

std::string Syncer::temp_name(const std::string& name) {
  static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  thread_local std::mt19937 rng(std::random_device{}());
  std::string suffix = ".~rk";
  for (int i = 0; i < 6; ++i) suffix += kChars[rng() % (sizeof kChars - 1)];
  // Keep the temp name within NAME_MAX (255) however long the real name is.
  std::string base = name.substr(0, std::min<size_t>(name.size(), 255 - 1 - suffix.size()));
  return "." + base + suffix;
}

Task<void> Syncer::sync_regular(DirPair& dir, Work& work, const struct statx* dst) {
  Entry& e = *work.src;
  std::string rel = dir.rel + work.src->name;  // rsync names the source item
  bool exists = dst != nullptr;
  if (skipped_for_existence(exists || work.dst_replaced, dir, work, false, work.line)) {
    work.outcome = Work::Outcome::kSkipped;
    co_return;
  }
  if (skip_by_size(e)) {
    bool over = opt_.max_size && e.st.stx_size > *opt_.max_size;
    work.line = out_.skipped(rel + (over ? " is over max-size" : " is under min-size"));
    co_return;
  }
  if (exists && opt_.update && dst->stx_mtime.tv_sec > e.st.stx_mtime.tv_sec) {
    work.line = out_.skipped(rel + " is newer");
    work.outcome = Work::Outcome::kSkipped;
    co_return;
  }

  WantedAttrs want = wanted_attrs(opt_, e.st, !exists, umask_);
  // --link-dest/--compare-dest/--copy-dest come first, as in rsync (basis.cc).
  BasisMatch basis;
  BasisAction action = co_await basis_for_regular(dir, work, dst, basis);
  if (action == BasisAction::kDone) co_return;
  if (exists) {
    bool same_size = dst->stx_size == e.st.stx_size;
    bool up_to_date;
    if (opt_.ignore_times) {
      up_to_date = false;
    } else if (opt_.checksum) {
      // (Not `same_size && co_await ...`: GCC 12 mishandles temporaries of co_await inside
      // conditional expressions.)
      up_to_date = false;
      if (same_size) up_to_date = co_await same_content(dir, work);
    } else if (opt_.size_only) {
      up_to_date = same_size;
    } else {
      up_to_date = same_size && same_mtime(e.st, *dst, opt_.modify_window);
    }
    if (up_to_date) {
      ItemChange change{ItemChange::Update::kNoUpdate, ItemChange::Type::kFile};
      if (opt_.executability && !opt_.perms) {
        want.mode = with_executability(dst->stx_mode, e.st.stx_mode);
        want.set_mode = true;
        change.perms = want.mode != (dst->stx_mode & 07777);
      }
      compare_attrs(opt_, want, *dst, change);
      if (opt_.xattrs || opt_.acls) {
        auto x = co_await sync_xattrs(opt_, XattrTarget::of_path(fd_path(dir.src.get(), e.name)),
                                      XattrTarget::of_path(fd_path(dir.dst.get(), work.dst_name)), false, opt_.dry_run);
        if (x) {
          change.xattr = x->xattrs_differ;
          change.acl = x->acls_differ;
        }
      }
      if (!opt_.dry_run) {
        WantedAttrs kept = keeping_close_mtime(opt_, want, *dst);
        auto r = co_await apply_attrs_at(dir.dst.get(), work.dst_name, false, kept, dst);
        if (!r) rep_.file_error("set attributes of", rel, r.error());
      }
      bool changed = change.perms || change.owner || change.group || change.time || change.xattr || change.acl;
      if (out_.lists_unchanged() || (changed && out_.wants_items())) work.line = line_for(change, rel, {}, e.st, &e);
      work.outcome = Work::Outcome::kDone;
      work.sent = Work::Sent::kInPlace;
      co_await drop_partial(dir, work.dst_name);  // a partial file has served its purpose
      co_return;
    }
  } else if (action == BasisAction::kNone && work.group != nullptr && !work.group->at_last()) {
    // -H: a missing member waits for the group's last one, which is copied (rsync's order).
    work.outcome = Work::Outcome::kDeferred;
    co_return;
  }

  if (exists && !opt_.perms) {
    // Without -p an updated file keeps the permissions it had (rsync's rule), -E aside.
    want.mode = dst->stx_mode & 07777;
    want.set_mode = true;
  }
  if (opt_.executability && !opt_.perms) want.mode = with_executability(want.mode, e.st.stx_mode);
  if (action == BasisAction::kNone) {
    ItemChange change{ItemChange::Update::kTransfer, ItemChange::Type::kFile, !exists};
    if (exists) {
      change.size = dst->stx_size != e.st.stx_size;
      change.changed = opt_.checksum;
      compare_attrs(opt_, want, *dst, change);
      if (opt_.executability && !opt_.perms) change.perms = want.mode != (dst->stx_mode & 07777);
      if (!opt_.times) {
        // Set to the time of the transfer: rsync says so of every file it sends without -t,
        // whatever the times were.
        change.time = true;
        change.time_is_now = true;
      }
    }
    work.line = out_.wants_items() ? line_for(change, rel, {}, e.st, &e) : ItemLine();
  } else {
    co_await basis_regular_line(dir, work, basis, action, want);
  }
  if (action != BasisAction::kCopy) {
    ++rep_.stats().transferred;
    rep_.stats().transferred_bytes += e.st.stx_size;
  }
  if (!exists) rep_.stats().created.add(e.st.stx_mode);
  // -H: a failed copy lets the next member try (rsync's send_failed); success makes it leader.
  work.outcome = opt_.dry_run ? Work::Outcome::kDone : Work::Outcome::kSkipped;
  if (opt_.dry_run) co_return;
  if (action != BasisAction::kCopy) rep_.stats().literal_bytes += e.st.stx_size;  // sent whole
  const BasisMatch* copy_from = nullptr;  // (not a ?: inside the co_await: GCC 12)
  if (action == BasisAction::kCopy) copy_from = &basis;
  co_await write_regular(dir, work, dst, want, copy_from);
}

// Writes a regular file's new data (from the source, or with `copy_from` from a basis
// directory) and puts it in place; see install.cc for where the data goes.
Task<void> Syncer::write_regular(DirPair& dir, Work& work, const struct statx* dst, WantedAttrs want,
                                 const BasisMatch* copy_from) {
  bool exists = dst != nullptr;
  if (Executor* worker = worker_for(*work.src, copy_from)) {
    co_await write_on_worker(*worker, dir, work, exists, want);  // transfer_worker.cc
    co_return;
  }
  co_await write_here(dir, work, dst, want, copy_from);
}

// write_regular on the home executor.
Task<void> Syncer::write_here(DirPair& dir, Work& work, const struct statx* dst, WantedAttrs want,
                              const BasisMatch* copy_from) {
  Entry& e = *work.src;
  std::string rel = dir.rel + work.src->name;
  bool exists = dst != nullptr;
  Result<fs::Fd> src = std::make_error_code(std::errc::bad_file_descriptor);
  if (copy_from != nullptr) {
    src = co_await fs::openat(wd_.basis[copy_from->index].get(), dir.rel + work.dst_name, O_RDONLY | O_NOFOLLOW);
  } else {
    src = co_await fs::openat(dir.src.get(), e.name, O_RDONLY | (e.followed ? 0 : O_NOFOLLOW));  // -L etc.
  }
  if (!src) {
    if (src.error() == std::errc::no_such_file_or_directory) {
      rep_.vanished(rel);
    } else {
      rep_.file_error("open", rel, src.error());
    }
    work.line.clear();
    co_return;
  }
  TempFile tmp;
  mode_t created_mode = 0600;  // a new file's, as fresh_item() says
  if (opt_.inplace) {
    // --inplace: the data goes straight into the file under its name (rsync's documented
    // trade: no second copy, no atomic switch; hard links to it see the change). With -b the
    // old data is copied to the backup first.
    if (exists && opt_.backup) {
      auto kept = co_await backup_by_copy(dir.dst.get(), work.dst_name, rel, *dst);
      if (!kept) {
        rep_.file_error("backup", rel, kept.error());
        co_return;
      }
    }
    int flags = O_WRONLY | O_NOFOLLOW | (exists ? 0 : O_CREAT | O_EXCL);
    auto fd = co_await fs::openat(dir.dst.get(), work.dst_name, flags, 0600);
    if (!fd) {
      rep_.file_error("open", rel, fd.error());
      co_return;
    }
    tmp.fd = std::move(*fd);
  } else {
    if (!wd_.temp.valid()) created_mode = co_await create_mode(dir, want);
    auto opened = co_await open_temp(dir, work.dst_name, exists, created_mode);
    if (!opened) {
      // The line stays: rsync itemizes the transfer before the write that fails.
      rep_.file_error("mkstemp", rel, opened.error());
      co_return;
    }
    tmp = std::move(*opened);
  }
  uint64_t prefix = 0;
  out_.transfer_starting(work.line, e.st.stx_size);
  uint64_t src_dev = copy_from != nullptr ? kUnknownDevice : device_of(e.st);
  auto copied = co_await copy_data(src->get(), tmp.fd.get(), e.st.stx_size, opt_.inplace && exists, &prefix, src_dev);
  if (copied && opt_.inplace) copied = co_await fs::ftruncate(tmp.fd.get(), e.st.stx_size);  // it may have been longer
  if (copied) copied = co_await bring_near(dir, tmp, work.dst_name, e.st.stx_size);
  if (!copied) {
    co_await copy_failed(dir, work, tmp, prefix, want, copied.error());
    co_return;
  }
  if (opt_.xattrs || opt_.acls) {
    bool fresh_file = !(opt_.inplace && exists);
    auto x = co_await sync_xattrs(opt_, XattrTarget::of_path(fd_path(dir.src.get(), e.name)),
                                  XattrTarget::of_fd(tmp.fd.get()), fresh_file, false);
    if (!x) rep_.file_error("copy xattrs of", rel, x.error());
  }
  struct statx fresh = fresh_item();
  fresh.stx_mode = static_cast<uint16_t>(created_mode);
  auto attrs = co_await apply_attrs_fd(tmp.fd.get(), want, opt_.inplace && exists ? dst : &fresh);
  if (!attrs) {
    if (!opt_.inplace) co_await discard(tmp);
    co_await abandon(dir, {}, rel, "set attributes of", attrs.error(), work);
    co_return;
  }
  co_await note_sent(work, src->get());  // for its output: %b, %C, progress
  if (opt_.inplace) {
    work.outcome = Work::Outcome::kDone;
    work.sent = Work::Sent::kData;
    co_return;
  }
  // (A copy from a basis directory is put in place at once, as rsync's is, not delayed.)
  bool delayed = opt_.delay_updates && copy_from == nullptr;
  auto installed = co_await install_file(dir, work.dst_name, exists, tmp, delayed);
  if (!installed) {
    co_await discard(tmp);
    co_await abandon(dir, {}, rel, "rename", installed.error(), work);
    co_return;
  }
  if (!delayed) co_await drop_partial(dir, work.dst_name);
  work.outcome = Work::Outcome::kDone;
  work.sent = Work::Sent::kData;
}

// Copying the data into `tmp` failed with `ec`: a copy that was stopped (interrupted, disk or
// file size full) keeps what it wrote as a partial file (--partial-dir), any other loses it;
// then the failure is reported. (--inplace: there is no temp file to keep or lose.)
Task<void> Syncer::copy_failed(DirPair& dir, Work& work, TempFile& tmp, uint64_t prefix, WantedAttrs want,
                               std::error_code ec) {
  bool stopped = ec == std::errc::operation_canceled || ec == std::errc::no_space_on_device ||
                 ec == std::errc::file_too_large;
  if (!opt_.inplace && stopped) {
    co_await keep_partial(dir, work, tmp, prefix, want);
  } else if (!opt_.inplace) {
    co_await discard(tmp);
  }
  co_await abandon(dir, {}, dir.rel + work.src->name, "write", ec, work);
}

// A failed transfer leaves the destination as it was: the temp file goes away.
Task<void> Syncer::abandon(DirPair& dir, const std::string& tmp_name, const std::string& rel, const char* what,
                           std::error_code ec, Work& work) {
  if (!tmp_name.empty()) co_await fs::unlinkat(dir.dst.get(), tmp_name, 0);
  if (ec == std::errc::operation_canceled && interrupted()) {
    work.line.clear();  // never started as far as the user is concerned
    co_return;          // said once, by interrupted()
  }
  // Otherwise the line stays, as rsync's does: it itemizes before the write that fails.
  if (ec == std::errc::no_space_on_device || ec == std::errc::file_too_large) {
    rep_.fatal(std::string(what) + " \"" + rel + "\" failed: " + ec.message() + " (" + std::to_string(ec.value()) + ")",
               kExitFileIo);
  } else {
    rep_.file_error(what, rel, ec);
  }
}

Task<bool> Syncer::same_content(DirPair& dir, Work& work) {
  co_return co_await same_file_content(dir.src.get(), work.src->name, dir.dst.get(), work.dst_name,
                                      work.src->followed);
}

// Whether two files hold the same bytes (-c). `b` may be a path below `dirfd_b`; `follow_a`: `a`
// is a symlink followed (-L etc.).
Task<bool> Syncer::same_file_content(int dirfd_a, const std::string& a_name, int dirfd_b, const std::string& b_name,
                                     bool follow_a) {
  auto a = co_await fs::openat(dirfd_a, a_name, O_RDONLY | (follow_a ? 0 : O_NOFOLLOW));
  auto b = co_await fs::openat(dirfd_b, b_name, O_RDONLY | O_NOFOLLOW);
  if (!a || !b) co_return false;
  std::vector<std::byte> x(kCompareChunk), y(kCompareChunk);
  for (uint64_t off = 0;; off += kCompareChunk) {
    auto n = co_await fs::read(a->get(), x, off);
    auto m = co_await fs::read(b->get(), y, off);
    if (!n || !m || *n != *m) co_return false;
    if (*n == 0) co_return true;
    if (!std::equal(x.begin(), x.begin() + static_cast<long>(*n), y.begin())) co_return false;
  }
}

Task<void> Syncer::sync_symlink(DirPair& dir, Work& work, const struct statx* dst) {
  Entry& e = *work.src;
  std::string rel = dir.rel + work.src->name;  // rsync names the source item
  auto target = co_await fs::readlinkat(dir.src.get(), e.name);
  if (!target) {
    if (target.error() == std::errc::no_such_file_or_directory) {
      rep_.vanished(rel);
    } else {
      rep_.file_error("readlink", rel, target.error());
    }
    co_return;
  }
  if (opt_.safe_links && is_unsafe_link(*target, dir.rel)) {
    if (opt_.verbose > 0) work.line = "ignoring unsafe symlink \"" + rel + "\" -> \"" + *target + "\"";
    co_return;
  }
  bool exists = dst != nullptr;
  if (skipped_for_existence(exists || work.dst_replaced, dir, work, false, work.line)) {
    work.outcome = Work::Outcome::kSkipped;
    co_return;
  }
  // -H: a symlink or special file leads its group at once (rsync defers only regular files).
  work.outcome = Work::Outcome::kDone;
  WantedAttrs want = wanted_attrs(opt_, e.st, !exists, umask_);
  want.set_mode = false;
  if (exists) {
    auto current = co_await fs::readlinkat(dir.dst.get(), work.dst_name);
    if (current && *current == *target) {
      ItemChange change{ItemChange::Update::kNoUpdate, ItemChange::Type::kSymlink};
      compare_attrs(opt_, want, *dst, change);
      WantedAttrs kept = keeping_close_mtime(opt_, want, *dst);
      if (!opt_.dry_run) co_await apply_attrs_at(dir.dst.get(), work.dst_name, true, kept, dst);
      bool changed = change.owner || change.group || change.time;
      if (out_.lists_unchanged() || (changed && out_.wants_items())) work.line = line_for(change, rel, *target, e.st, &e);
      work.sent = Work::Sent::kInPlace;
      co_return;
    }
  }
  ItemChange change{ItemChange::Update::kLocalChange, ItemChange::Type::kSymlink, !exists};
  change.changed = exists;
  if (exists) compare_attrs(opt_, want, *dst, change);
  BasisAction basis = BasisAction::kNone;
  if (!exists) basis = co_await basis_for_other(dir, work, *target, want, change);
  if (basis == BasisAction::kDone) co_return;  // linked from, or matched in, a basis dir
  if (!exists) rep_.stats().created.add(e.st.stx_mode);
  if (basis != BasisAction::kCopy) {
    work.line = out_.wants_items() ? line_for(change, rel, *target, e.st, &e) : ItemLine();
  }
  if (opt_.dry_run) co_return;
  std::string tmp = temp_name(work.dst_name);
  auto made = co_await fs::symlinkat(*target, dir.dst.get(), tmp);
  if (!made) {
    work.outcome = Work::Outcome::kSkipped;
    co_await abandon(dir, {}, rel, "symlink", made.error(), work);
    co_return;
  }
  auto attrs = co_await apply_attrs_at(dir.dst.get(), tmp, true, want, nullptr);
  if (!attrs) rep_.file_error("set attributes of", rel, attrs.error());
  auto moved = co_await replace_with(dir.dst.get(), tmp, work.dst_name, dir.rel + work.dst_name);
  if (!moved) {
    work.outcome = Work::Outcome::kSkipped;
    co_await abandon(dir, tmp, rel, "rename", moved.error(), work);
    co_return;
  }
  work.sent = Work::Sent::kData;  // (rsync's --remove-sent-files removes a symlink it made too)
}

Task<void> Syncer::sync_special(DirPair& dir, Work& work, const struct statx* dst) {
  Entry& e = *work.src;
  std::string rel = dir.rel + work.src->name;  // rsync names the source item
  bool device = S_ISCHR(e.st.stx_mode) || S_ISBLK(e.st.stx_mode);
  auto type = device ? ItemChange::Type::kDevice : ItemChange::Type::kSpecial;
  bool exists = dst != nullptr;
  if (skipped_for_existence(exists || work.dst_replaced, dir, work, false, work.line)) {
    work.outcome = Work::Outcome::kSkipped;
    co_return;
  }
  // -H: a symlink or special file leads its group at once (rsync defers only regular files).
  work.outcome = Work::Outcome::kDone;
  WantedAttrs want = wanted_attrs(opt_, e.st, !exists, umask_);
  bool same = exists && (!device || (dst->stx_rdev_major == e.st.stx_rdev_major &&
                                     dst->stx_rdev_minor == e.st.stx_rdev_minor));
  if (same) {
    ItemChange change{ItemChange::Update::kNoUpdate, type};
    compare_attrs(opt_, want, *dst, change);
    WantedAttrs kept = keeping_close_mtime(opt_, want, *dst);
    if (!opt_.dry_run) co_await apply_attrs_at(dir.dst.get(), work.dst_name, false, kept, dst);
    bool changed = change.perms || change.owner || change.group || change.time;
    if (out_.lists_unchanged() || (changed && out_.wants_items())) work.line = line_for(change, rel, {}, e.st, &e);
    work.sent = Work::Sent::kInPlace;
    co_return;
  }
  ItemChange change{ItemChange::Update::kLocalChange, type, !exists};
  change.changed = exists;
  BasisAction basis = BasisAction::kNone;
  if (!exists) basis = co_await basis_for_other(dir, work, {}, want, change);
  if (basis == BasisAction::kDone) co_return;  // linked from, or matched in, a basis dir
  if (!exists) rep_.stats().created.add(e.st.stx_mode);
  if (basis != BasisAction::kCopy) {
    work.line = out_.wants_items() ? line_for(change, rel, {}, e.st, &e) : ItemLine();
  }
  if (opt_.dry_run) co_return;
  std::string tmp = temp_name(work.dst_name);
  dev_t rdev = makedev(e.st.stx_rdev_major, e.st.stx_rdev_minor);
  auto made = co_await fs::mknodat(dir.dst.get(), tmp, (e.st.stx_mode & S_IFMT) | 0600, rdev);
  if (!made) {
    work.outcome = Work::Outcome::kSkipped;
    co_await abandon(dir, {}, rel, "mknod", made.error(), work);
    co_return;
  }
  struct statx fresh = fresh_item();
  auto attrs = co_await apply_attrs_at(dir.dst.get(), tmp, false, want, &fresh);
  if (!attrs) rep_.file_error("set attributes of", rel, attrs.error());
  auto moved = co_await replace_with(dir.dst.get(), tmp, work.dst_name, dir.rel + work.dst_name);
  if (!moved) {
    work.outcome = Work::Outcome::kSkipped;
    co_await abandon(dir, tmp, rel, "rename", moved.error(), work);
    co_return;
  }
  work.sent = Work::Sent::kInPlace;
}

}  // namespace ringkit::sync
