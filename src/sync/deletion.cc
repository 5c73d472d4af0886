// Deleting from the destination: extraneous items (--delete and its timings), items in the way
// of a new one, and rsync's --max-delete limit. The walk that decides what is extraneous is in
// syncer.cc.
#include <fcntl.h>

#include <algorithm>

#include "sync/syncer.h"

namespace ringkit::sync {

// rsync's deletion order: the reverse of its listing order (files by name, then directories
// by "name/"), i.e. directories last-to-first, then files last-to-first; a directory's contents
// before the directory itself.
Task<std::vector<std::pair<Entry, bool>>> Syncer::deletion_order(int dirfd, std::vector<Entry> items) {
  std::vector<std::pair<Entry, bool>> out;
  for (Entry& e : items) {
    bool is_dir = e.d_type == DT_DIR;
    if (e.d_type == DT_UNKNOWN) {
      auto st = co_await fs::statx(dirfd, e.name, AT_SYMLINK_NOFOLLOW, STATX_TYPE);
      is_dir = st && S_ISDIR(st->stx_mode);
    }
    out.emplace_back(std::move(e), is_dir);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    if (a.second != b.second) return a.second;  // directories first
    return (a.first.name + (a.second ? "/" : "")) > (b.first.name + (b.second ? "/" : ""));
  });
  co_return out;
}

// -b without --backup-dir protects the backups (NAME~) from --delete, as rsync's implied
// "P *~" rule does (which it leaves out with --delete-excluded).
bool Syncer::is_backup_name(std::string_view name) const {
  return opt_.backup && !opt_.backup_dir && !opt_.delete_excluded && !opt_.suffix.empty() &&
         has_backup_suffix(name);
}

bool Syncer::has_backup_suffix(std::string_view name) const {
  return name.size() > opt_.suffix.size() && name.ends_with(opt_.suffix);
}

bool Syncer::keeps_backup_of_deleted(const std::string& name, bool is_dir) const {
  if (!opt_.backup || is_dir) return false;
  return opt_.backup_dir || !has_backup_suffix(name);
}

// rsync's note for a directory --delete leaves because something in it stays (-q silences it).
void Syncer::say_not_empty(const std::string& rel) {
  if (!opt_.quiet) rep_.line("cannot delete non-empty directory: " + rel);
}

// --max-delete=N: N deletions, then none (rsync reads a negative N as 0).
bool Syncer::at_delete_limit() const {
  return opt_.max_delete && deleted_ >= static_cast<uint64_t>(std::max<int64_t>(0, *opt_.max_delete));
}

// rsync's delete_item: a directory's contents go first (each counted and logged); the item
// itself is then removed, unless the limit is reached. `make_room`: the item is in the way of a
// new one, which neither counts nor prints it (its contents do).
Task<DeleteResult> Syncer::delete_item(int dirfd, const std::string& name, const std::string& rel, bool is_dir,
                                       unsigned char d_type, bool make_room, bool contents_gone) {
  if (is_dir && !contents_gone) {
    DeleteResult inside = co_await delete_contents(dirfd, name, rel, !make_room);
    if (inside != DeleteResult::kDeleted) co_return inside;
  }
  if (!make_room && at_delete_limit()) {
    ++skipped_deletes_;
    co_return DeleteResult::kAtLimit;
  }
  if (!opt_.dry_run) {
    // -b: a deleted file is kept as NAME~ (or in the --backup-dir) instead; directories go,
    // once empty, and so does a backup a rule lets go (rsync keeps no NAME~~).
    Result<void> r;
    if (keeps_backup_of_deleted(name, is_dir)) {
      r = co_await make_backup(dirfd, name, rel, true);
    } else {
      r = co_await fs::unlinkat(dirfd, name, is_dir ? AT_REMOVEDIR : 0);
    }
    if (!r && is_dir && r.error() == std::errc::directory_not_empty) {
      say_not_empty(rel);
      co_return DeleteResult::kNotEmpty;
    }
    if (!r && r.error() != std::errc::no_such_file_or_directory) {
      rep_.file_error("delete", rel, r.error());
      co_return DeleteResult::kFailed;
    }
  }
  if (opt_.dry_run && keeps_backup_of_deleted(name, is_dir)) backed_up(rel);  // rsync -n says so too
  if (ItemLine kept = take_backup_note(rel); !kept.empty()) out_.emit(kept);  // (before "deleting", as rsync)
  if (!make_room) {
    out_.deleted(rel, is_dir);
    rep_.stats().deleted.add(is_dir ? S_IFDIR : d_type == DT_UNKNOWN ? S_IFREG : DTTOIF(d_type));
    ++deleted_;
  }
  co_return DeleteResult::kDeleted;
}

// rsync's delete_dir_contents: everything below a directory, deepest first; a directory that
// keeps something says so ("cannot delete non-empty directory"). `merge_files`: the rules of
// its per-directory merge files apply inside, as rsync's generator reads them (not while other
// items of the directory are synced: the receiver's list is the walk's, one directory deep).
Task<DeleteResult> Syncer::delete_contents(int dirfd, const std::string& name, const std::string& rel,
                                           bool merge_files) {
  auto sub = co_await fs::openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  if (!sub) {
    rep_.file_error("opendir", rel, sub.error());
    co_return DeleteResult::kFailed;
  }
  auto listed = co_await list_directory(sub->get());
  if (!listed) {
    rep_.file_error("opendir", rel, listed.error());
    co_return DeleteResult::kFailed;
  }
  DeleteResult result = DeleteResult::kDeleted;
  merge_files = merge_files && filtering_ && receiver_;
  if (merge_files) {
    if (FilterStatus st = receiver_->push_dir(rel); !st) {
      rep_.fatal(st.error().message, st.error().kind == FilterError::Kind::kFileIo ? kExitFileIo : kExitUsage);
    }
  }
  for (auto& [child, child_dir] : co_await deletion_order(sub->get(), std::move(*listed))) {
    std::string child_rel = rel + "/" + child.name;
    // What a rule protects stays, and so does the directory (rsync's delete_dir_contents).
    if (spared_from_delete(child_rel, child_dir, true, true)) {
      result = DeleteResult::kNotEmpty;
      continue;
    }
    if (child_dir) {
      DeleteResult inside = co_await delete_contents(sub->get(), child.name, child_rel, merge_files);
      if (inside != DeleteResult::kDeleted) result = DeleteResult::kNotEmpty;
    }
    DeleteResult item = co_await delete_item(sub->get(), child.name, child_rel, child_dir, child.d_type, false, true);
    if (item != DeleteResult::kDeleted) result = DeleteResult::kNotEmpty;
  }
  if (merge_files) receiver_->pop_dir();
  if (result == DeleteResult::kNotEmpty) say_not_empty(rel);
  co_return result;
}

Task<void> Syncer::delete_extraneous(DirPair& dir, const std::vector<Entry>& src, const NameList& dst) {
  note_dest_filters(dir.rel, dst);
  std::vector<Entry> extra;
  size_t s = 0;
  for (size_t i = 0; i < dst.size(); ++i) {
    std::string_view name = dst.name(i);
    while (s < src.size() && src[s].name < name) ++s;
    if (s < src.size() && src[s].name == name) continue;
    extra.push_back(Entry{std::string(name), dst.type(i)});
  }
  bool deleted_any = false;
  for (auto& [e, is_dir] : co_await deletion_order(dir.dst.get(), std::move(extra))) {
    if (spared_from_delete(dir.rel + e.name, is_dir, false, false)) continue;
    co_await delete_item(dir.dst.get(), e.name, dir.rel + e.name, is_dir, e.d_type, false);
    deleted_any = true;
  }
  // After the transfer (--delete-after/-delay) the directory's times were set already.
  if (deleted_any && deletion_pass_ && opt_.delete_timing != DeleteTiming::kBefore) {
    retouch_dirs_.insert(dir_key(dir.rel));
  }
}

// A directory in a walk that only deletes: its extraneous items, then its subdirectories that
// the destination has too.
Task<void> Syncer::delete_pass_dir(DirPair& dir, std::vector<Entry>& entries) {
  if (!dir.dst.valid()) co_return;
  NameList existing;
  if (!co_await list_and_prune_dest(dir, entries, existing)) co_return;
  std::vector<Entry*> order;
  for (Entry& e : entries) {
    if (e.is_dir() && existing.find(e.name) != NameList::npos) order.push_back(&e);
  }
  sort_dirs(order, false);
  std::vector<Work> dirs;
  dirs.reserve(order.size());
  for (Entry* e : order) {
    Work& w = dirs.emplace_back(e, e->name);
    w.dst_present = true;
    w.dst_type = existing.type(existing.find(e->name));
  }
  for (Work& w : dirs) {
    if (rep_.stopped() || interrupted()) co_return;
    co_await sync_subdir(pair_for(dir, *w.src), w);  // (read from its own base: merged listings)
  }
}

// A directory of a list (-R, --files-from) that is not sent whole, in a walk that only
// deletes: nothing in it is extraneous, but its subdirectories may be sent whole.
Task<void> Syncer::delete_pass_selected(DirPair& dir, std::vector<Entry>& entries) {
  if (!dir.dst.valid()) co_return;
  std::vector<Entry*> order;
  for (Entry& e : entries) {
    if (e.is_dir()) order.push_back(&e);
  }
  sort_dirs(order, false);
  std::vector<Work> dirs;
  for (Entry* e : order) {
    auto st = co_await fs::statx(dir.dst.get(), e->name, AT_SYMLINK_NOFOLLOW, STATX_TYPE);
    if (!st || !(S_ISDIR(st->stx_mode) || S_ISLNK(st->stx_mode))) continue;
    Work& w = dirs.emplace_back(e, e->name);
    w.dst_present = true;
    w.dst_type = IFTODT(st->stx_mode);
  }
  for (Work& w : dirs) {
    if (rep_.stopped() || interrupted()) co_return;
    co_await sync_subdir(pair_for(dir, *w.src), w);
  }
}

// A subdirectory in a walk that only deletes: entered when the destination has it as a
// directory (and it is walked: -r, or a list names what is below it; not a mount point under -x).
Task<void> Syncer::delete_pass_subdir(DirPair& parent, Work& work, std::optional<SelView> sel, bool enters) {
  Entry& e = *work.src;
  if (!enters || !parent.dst.valid()) co_return;
  bool in_list = parent.sel && !parent.sel->full;
  if (!in_list && opt_.one_file_system > 0 && device_of(e.st) != root_dev_) co_return;
  std::string rel = parent.rel + work.dst_name + "/";
  unsigned char type = work.dst_type;
  if (type == DT_UNKNOWN) {
    auto st = co_await fs::statx(parent.dst.get(), work.dst_name, AT_SYMLINK_NOFOLLOW, STATX_TYPE);
    if (st) type = IFTODT(st->stx_mode);
  }
  // -K (and --no-implied-dirs): a link to a directory inside DEST is that directory here too.
  fs::Fd linked;
  bool follows = opt_.keep_dirlinks || (e.implied && !opt_.implied_dirs);
  if (type == DT_LNK && follows && co_await dest_dirlink(parent, work.dst_name, rel, linked) != DirLink::kInside) {
    co_return;
  }
  if (type != DT_DIR && !linked.valid()) co_return;
  DirPair child;
  child.rel = rel;
  child.sel = sel;
  child.base = e.base;
  child.order = child_order(parent, e);
  if (walked_whole(sel)) child.merged = co_await merged_below(parent, e);
  child.links = parent.links + (e.followed ? 1 : 0);
  if (e.followed && enter_followed(e, child.links)) co_return;  // the transfer reports it
  int nofollow = e.followed || e.implied ? 0 : O_NOFOLLOW;
  auto src = co_await fs::openat(parent.src.get(), e.name, O_RDONLY | O_DIRECTORY | nofollow);
  if (!src && src.error() == std::errc::no_such_file_or_directory) co_return;  // (the transfer says so)
  if (linked.valid()) {
    child.dst = std::move(linked);
  } else {
    auto dst = co_await fs::openat(parent.dst.get(), work.dst_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (!dst) co_return;
    child.dst = std::move(*dst);
  }
  if (!src) {
    // Unreadable: what is below it could look extraneous. (The transfer reports it.)
    io_error_ = true;
    co_await delete_in_unreadable(child);
    co_return;
  }
  child.src = std::move(*src);
  co_await sync_dir(std::move(child), e.st, false, rel);
}

// A source directory that could not be read is an empty one in rsync's file list: nothing is
// deleted in its destination (the I/O error stops deletions), unless --ignore-errors says to
// delete all the same, and then everything there goes.
Task<void> Syncer::delete_in_unreadable(DirPair& dir) {
  if (!opt_.ignore_errors || !deletes_in_this_pass() || !dir.dst.valid() || dir.dst_new) co_return;
  NameList existing;
  co_await list_and_prune_dest(dir, {}, existing);
}

}  // namespace ringkit::sync
