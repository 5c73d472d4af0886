// -H: the group table, the pre-pass that sizes the groups, and linking members to their
// leader. The rules are in hardlinks.h; the per-file decisions are in sync_linked() below.
#include "sync/hardlinks.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "sync/attrs.h"
#include "sync/parallel.h"
#include "sync/syncer.h"

namespace ringkit::sync {

InodeKey inode_key(const FileStat& st) { return {st.stx_dev_major, st.stx_dev_minor, st.stx_ino}; }

bool may_be_hard_linked(const FileStat& st) { return !S_ISDIR(st.stx_mode) && st.stx_nlink > 1; }

void HardLinkTable::count(const FileStat& st) { ++groups_[inode_key(st)].total; }

HardLinkGroup* HardLinkTable::find(const FileStat& st) {
  // (By inode alone, not the link count now: --remove-source-files removes members during the
  // run, so one met later may have fewer links than the pre-pass counted.)
  if (groups_.empty() || S_ISDIR(st.stx_mode)) return nullptr;
  auto it = groups_.find(inode_key(st));
  return it == groups_.end() || it->second.total < 2 ? nullptr : &it->second;
}

void HardLinkTable::forget_if_complete(const FileStat& st) {
  auto it = groups_.find(inode_key(st));
  if (it != groups_.end() && it->second.at_last()) groups_.erase(it);
}

// ---- The pre-pass: hard-link groups (-H) and the size of the file list (progress) ----

Task<void> Syncer::scan_source(const SourceArg& source) {
  int follow = source.contents ? 0 : AT_SYMLINK_NOFOLLOW;
  auto st = co_await fs::statx(AT_FDCWD, source.path, follow, kStatxMask);
  if (!st) co_return;  // the transfer itself reports it
  root_dev_ = device_of(*st);
  std::optional<FilterList> filters = side_filters(source);
  FilterList* f = filters ? &*filters : nullptr;
  out_.count_in_list(*st);  // "." for SRC/, else the item itself
  if (!S_ISDIR(st->stx_mode)) {
    if (opt_.hard_links && may_be_hard_linked(*st)) links_.count(*st);
    co_return;
  }
  if (!opt_.recursive && !opt_.dirs) co_return;
  auto dir = co_await fs::openat(AT_FDCWD, source.path, O_RDONLY | O_DIRECTORY);
  if (!dir) {
    scan_error(dir.error());
    co_return;
  }
  if (source.contents) {
    co_await scan_dir(dir->get(), "", f);
    co_return;
  }
  if (f != nullptr) {
    if (!f->push_dir("")) co_return;
    bool skip = f->matches(source.name, true, Side::kSender) == Decision::kExcluded;
    if (!skip) co_await scan_dir(dir->get(), source.name + "/", f);
    f->pop_dir();
  } else {
    co_await scan_dir(dir->get(), source.name + "/", f);
  }
}

Task<void> Syncer::scan_dir(int dirfd, std::string rel, FilterList* filters, int links, std::optional<SelView> list,
                            ScanFrom from) {
  auto listed = co_await list_directory(dirfd);
  if (!listed) {
    scan_error(listed.error());
    co_return;
  }
  std::vector<Entry> entries = std::move(*listed);
  if (list) from.base = list->base;
  for (Entry& e : entries) e.base = from.base;
  co_await parallel_for(entries.size(), kStatsInFlight, [&](size_t i) { return quiet_stat(dirfd, entries[i], rel); });
  std::erase_if(entries, [](const Entry& e) { return !e.stat_ok; });
  // As the transfer's merge_other_listings: the same directory sent whole from other bases.
  MergedDirs others = co_await merge_listings_quietly(rel, from.merged, entries);
  // As the transfer's check_listed_names: a child the list names things below may be their
  // implied directory (a symlink to one is followed).
  if (list) {
    for (const SelChild& c : Selection::children(*list)) {
      if (!c.has_below || c.base != list->base) continue;
      auto it = find_entry(entries, c.name);
      if (it == entries.end()) continue;
      Entry& e = entries[static_cast<size_t>(it - entries.begin())];
      co_await imply_if_names_below(dirfd, *list, e, rel, true);
    }
  }
  if (!enter_filtered(filters, rel, entries)) co_return;
  std::vector<Entry*> dirs;
  for (Entry& e : entries) {
    out_.count_in_list(e.st);  // rsync lists even the kinds it then skips
    if (!e.implied && !copies_kind(e)) continue;
    if (e.is_dir()) {
      dirs.push_back(&e);
    } else if (opt_.hard_links && may_be_hard_linked(e.st)) {
      links_.count(e.st);
    }
  }
  std::sort(dirs.begin(), dirs.end(), [](const Entry* a, const Entry* b) { return a->name + "/" < b->name + "/"; });
  for (Entry* e : dirs) {
    // What the list says below the directory, as the transfer reads it (view_below): nothing
    // (walked whole with -r, not entered without), that it is sent whole (with -r, or one
    // level as "dir/"), or just the names it holds there.
    std::optional<SelView> sub;
    if (list) sub = view_below(*list, *e);
    bool selected = sub && !sub->full;
    if (!opt_.recursive && !sub) continue;
    if (!selected && opt_.one_file_system > 0 && device_of(e->st) != root_dev_) continue;
    // -L and friends: a followed link to a directory is scanned as the transfer enters it.
    int sub_links = links + (e->followed ? 1 : 0);
    if (e->followed && sub_links > 40) continue;
    auto sub_fd = co_await fs::openat(others.fd_of(e->base, dirfd), e->name, O_RDONLY | O_DIRECTORY | (e->followed ? 0 : O_NOFOLLOW));
    if (!sub_fd) {
      scan_error(sub_fd.error());
    } else if (selected) {
      co_await scan_selected_dir(sub_fd->get(), rel + e->name + "/", *sub, filters);
    } else {
      ScanFrom below;
      below.base = e->base;
      below.merged = co_await merged_below(list, from.base, from.merged, rel, *e);
      co_await scan_dir(sub_fd->get(), rel + e->name + "/", filters, sub_links, sub, std::move(below));
    }
  }
  // As the transfer's add_names_from_other_bases: what the list names in this directory from
  // other bases.
  if (list) {
    for (const SelChild& c : Selection::children(*list)) {
      if (c.base != list->base && find_entry(entries, c.name) == entries.end()) {
        co_await scan_listed_child(rel, *list, c, filters);
      }
    }
  }
  if (filters != nullptr) filters->pop_dir();
}

// rsync's file list is complete before --delete-before deletes anything: a part of the source it
// could not read (an I/O error) stops every deletion. The pre-pass finds such parts for
// ringsync's deletion walk, which comes before the transfer's (run()). A name that vanished is
// no such error, as in the transfer.
void Syncer::scan_error(std::error_code ec) {
  if (ec != std::errc::no_such_file_or_directory) source_unreadable_ = true;
}

Task<void> Syncer::quiet_stat(int dirfd, Entry& e, const std::string& rel, std::error_code* failed) {
  auto st = co_await fs::statx(dirfd, e.name, AT_SYMLINK_NOFOLLOW, kStatxMask);
  if (!st) scan_error(st.error());
  if (!st && failed != nullptr) *failed = st.error();
  if (st) {
    e.st = *st;
    if (e.is_symlink() && follows_source_links() && !co_await follow_source_link(dirfd, e, rel, true)) co_return;
    adjust_source(e.st);
    e.stat_ok = true;
  }
}

// ---- During the transfer ----

// A directory of the destination (or, with `source`, of the source) by its path below the
// transfer root, never through a symlink. Invalid when it does not exist (in a dry run).
Task<fs::Fd> Syncer::open_below_root(bool source, const std::string& rel_dir) {
  const fs::Fd& root = source ? src_root_ : dst_root_;
  if (!root.valid()) co_return fs::Fd();
  std::string path = rel_dir.empty() ? std::string(".") : rel_dir;
  // In the source, -L/-k/--copy-unsafe-links walk through links (reading only), and so does a
  // list (-R, --files-from), whose implied directories may be links to directories anywhere.
  bool follow = source && (follows_source_links() || selection_);
  uint64_t resolve = follow ? 0 : RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS;
  auto fd = co_await fs::openat2(root.get(), path, O_RDONLY | O_DIRECTORY, 0, resolve);
  // Several bases (-R /a/./x /b/./y, several sources, a --no-relative list): the source
  // directory may be in another one.
  if (!fd && source && selection_) {
    for (uint32_t b : selection_->bases_holding(rel_dir)) {
      if (b >= base_fds_.size() || !base_fds_[b].valid()) continue;
      fd = co_await fs::openat2(base_fds_[b].get(), path, O_RDONLY | O_DIRECTORY, 0, resolve);
      if (fd) break;
    }
  }
  if (!fd) co_return fs::Fd();
  co_return std::move(*fd);
}

// A member that belongs to a group of hard links: linked to the group's leader once there is
// one, otherwise handled as a plain file that may wait for, or become, the leader.
Task<void> Syncer::sync_linked(DirPair& dir, Work& work, HardLinkGroup& group) {
  Entry& e = *work.src;
  const FileStat src_st = e.st;
  std::string rel = dir.rel + e.name;
  ++group.seen;
  if (group.done) {
    rep_.stats().files.add(S_IFREG);
    rep_.stats().total_size += e.st.stx_size;
    struct statx dst_st {};
    bool exists = false;
    if (work.dst_present && dir.dst.valid()) {
      auto st = co_await fs::statx(dir.dst.get(), work.dst_name, AT_SYMLINK_NOFOLLOW, kStatxMask);
      if (st) {
        dst_st = *st;
        exists = true;
      }
    }
    bool skipped = skipped_for_existence(exists, dir, work, false, work.line);
    if (!skipped && exists && S_ISDIR(dst_st.stx_mode)) {
      // A directory in the way goes first (with --delete or --force, or when empty), as rsync's
      // delete_item does; the line still compares the source with what was there.
      skipped = !co_await remove_in_the_way(dir, work, true);
    }
    if (!skipped) {
      bool linked = co_await link_member(dir.dst.get(), work.dst_name, rel, exists ? &dst_st : nullptr, src_st,
                                         group, work.more_lines());
      if (linked && removes_source(Work::Sent::kInPlace)) {
        co_await remove_source_when_in_place(dir.src.get(), rel, e.followed, src_st, dir.dst.get(),
                                             dir.rel + work.dst_name, group.leader, work.more_lines());
      }
    }
  } else {
    work.group = &group;
    co_await sync_nondir(dir, work);
    co_await settle_member(dir.dst.get(), work, rel);
  }
  links_.forget_if_complete(src_st);
}

// After a member was handled as a plain file: it waits, it leads, or it was skipped.
Task<void> Syncer::settle_member(int dst_dirfd, Work& work, const std::string& rel) {
  HardLinkGroup& group = *work.group;
  switch (work.outcome) {
    case Work::Outcome::kNone:
      break;
    case Work::Outcome::kDeferred:
      group.deferred.push_back(rel);
      break;
    case Work::Outcome::kDone: {
      group.done = true;
      group.leader = rel;
      if (dst_dirfd >= 0) {
        auto st = co_await stat_installed(dst_dirfd, work.dst_name, rel);  // (--delay-updates: held back)
        if (st) {
          group.leader_ino = st->stx_ino;
          group.leader_dev_major = st->stx_dev_major;
          group.leader_dev_minor = st->stx_dev_minor;
        }
      }
      std::vector<std::string> waiting = std::move(group.deferred);
      group.deferred.clear();
      for (auto m = waiting.rbegin(); m != waiting.rend(); ++m) {
        fs::Fd member_dir = co_await open_below_root(false, parent_rel(*m));
        struct statx dst_st {};
        bool exists = false;
        if (member_dir.valid()) {
          auto st = co_await fs::statx(member_dir.get(), base_name(*m), AT_SYMLINK_NOFOLLOW, kStatxMask);
          if (st) {
            dst_st = *st;
            exists = true;
          }
        }
        bool linked = co_await link_member(member_dir.get(), base_name(*m), *m, exists ? &dst_st : nullptr,
                                           work.src->st, group, work.more_lines());
        retouch_dirs_.insert(parent_rel(*m));  // its times may have been set already
        if (linked && removes_source(Work::Sent::kInPlace)) {
          // (Its directory's walk is over: the source is found again by its path. A member has
          // the leader's inode, size and time, which remove_source checks.)
          fs::Fd src_dir = co_await open_below_root(true, parent_rel(*m));
          if (src_dir.valid()) {
            co_await remove_source_when_in_place(src_dir.get(), *m, false, work.src->st, member_dir.get(), *m,
                                                 group.leader, work.more_lines());
          }
        }
      }
      break;
    }
    case Work::Outcome::kSkipped:
      // The last member skipped: the latest waiting one is copied in its place, as rsync does.
      if (group.at_last() && !group.deferred.empty()) {
        std::string stand_in = group.deferred.back();
        group.deferred.pop_back();
        co_await copy_stand_in(stand_in, group, work.more_lines());
      }
      break;
  }
}

Task<void> Syncer::copy_stand_in(const std::string& rel, HardLinkGroup& group, std::vector<ItemLine>& lines) {
  DirPair pair;
  pair.src = co_await open_below_root(true, parent_rel(rel));
  pair.dst = co_await open_below_root(false, parent_rel(rel));
  pair.rel = parent_rel(rel).empty() ? std::string() : parent_rel(rel) + "/";
  if (!pair.src.valid()) co_return;
  Entry entry{base_name(rel)};
  co_await quiet_stat(pair.src.get(), entry, pair.rel);
  if (!entry.stat_ok) co_return;
  Work stand_in{&entry, entry.name};
  stand_in.group = &group;
  if (pair.dst.valid()) {
    auto st = co_await fs::statx(pair.dst.get(), entry.name, AT_SYMLINK_NOFOLLOW, STATX_TYPE);
    stand_in.dst_present = st.ok();
  }
  co_await sync_nondir(pair, stand_in);
  co_await settle_member(pair.dst.get(), stand_in, rel);
  retouch_dirs_.insert(parent_rel(rel));
  if (!stand_in.line.empty()) lines.push_back(std::move(stand_in.line));
  if (stand_in.more) std::move(stand_in.more->begin(), stand_in.more->end(), std::back_inserter(lines));
}

// rsync's maybe_hard_link: a member already on the leader's inode is left alone (itemized
// only if its attributes differ from the source's, or with -ii); anything else under its name
// is replaced by a link to the leader (through a temp name and rename: never a moment without
// the name). `dst` is what the destination holds now (nullptr: nothing).
Task<bool> Syncer::link_member(int dst_dirfd, const std::string& name, const std::string& rel,
                               const struct statx* dst, const FileStat& src, HardLinkGroup& group,
                               std::vector<ItemLine>& lines) {
  ItemChange change{ItemChange::Update::kHardLink, ItemChange::type_of(src.stx_mode), dst == nullptr};
  bool quiet = false;  // (a --link-dest has it on the leader's inode: listed with -ii only)
  if (dst == nullptr) co_await basis_for_member(rel, src, group, change, quiet);
  if (dst != nullptr) {
    WantedAttrs want = wanted_attrs(opt_, src, false, umask_);
    if (S_ISLNK(src.stx_mode)) want.set_mode = false;
    compare_attrs(opt_, want, *dst, change);
    change.size = S_ISREG(src.stx_mode) && dst->stx_size != src.stx_size;
    bool same_inode = dst->stx_ino == group.leader_ino && dst->stx_dev_major == group.leader_dev_major &&
                      dst->stx_dev_minor == group.leader_dev_minor;
    if (same_inode) {
      bool changed = change.size || change.perms || change.owner || change.group || change.time;
      if (out_.lists_unchanged() || (changed && opt_.itemize > 0)) {
        ItemLine line = line_for(change, rel, {}, src);
        if (S_ISLNK(src.stx_mode)) {  // rsync names a symlink's target here, not a leader
          auto target = co_await fs::readlinkat(dst_dirfd, name);
          if (target) line.set_symlink_target(*target);
        }
        lines.push_back(std::move(line));
      }
      co_return true;
    }
  }
  if (!opt_.dry_run && wd_.delayed_paths.count(group.leader) != 0) {
    wd_.delayed_links.push_back({rel, group.leader});  // --delay-updates: once the leader is in place
  } else if (!opt_.dry_run) {
    fs::Fd leader_dir = co_await open_below_root(false, parent_rel(group.leader));
    std::string tmp = temp_name(name);
    Result<void> linked = std::make_error_code(std::errc::no_such_file_or_directory);
    if (leader_dir.valid() && dst_dirfd >= 0) {
      linked = co_await fs::linkat(leader_dir.get(), base_name(group.leader), dst_dirfd, tmp, 0);
    }
    if (linked) {
      linked = co_await replace_with(dst_dirfd, tmp, name, rel);
      if (!linked) co_await fs::unlinkat(dst_dirfd, tmp, 0);
    }
    if (!linked) {
      rep_.file_error("link " + rel + " =>", group.leader, linked.error());
      co_return false;
    }
  }
  // (Linked to a leader from a --link-dest, it is listed with -ii only, as rsync does.)
  if (out_.wants_items() && (!quiet || out_.all_items())) lines.push_back(line_for(change, rel, group.leader, src));
  co_return true;
}

}  // namespace ringkit::sync

namespace ringkit::sync {

// A source directory by its path below the transfer root (in whichever base has it); one that
// cannot be opened (--ignore-errors deleted in its destination) is looked at from its parent.
Task<Result<struct statx>> Syncer::source_dir_stat(const std::string& rel) {
  fs::Fd dir = co_await open_below_root(true, rel);
  if (dir.valid()) co_return co_await fs::statx(dir.get(), "", AT_EMPTY_PATH, kStatxMask);
  if (rel.empty()) co_return std::make_error_code(std::errc::no_such_file_or_directory);
  std::string parent_path = parent_rel(rel), name = base_name(rel);  // (named, not temporaries: GCC 12)
  fs::Fd parent = co_await open_below_root(true, parent_path);
  if (!parent.valid()) co_return std::make_error_code(std::errc::no_such_file_or_directory);
  int flags = follows_source_links() || selection_ ? 0 : AT_SYMLINK_NOFOLLOW;
  co_return co_await fs::statx(parent.get(), name, flags, kStatxMask);
}

// Directories that got a link after their times were set get them again, as rsync's final
// touch-up of directory times does.
Task<void> Syncer::retouch_dirs() {
  std::set<std::string> dirs = std::move(retouch_dirs_);
  retouch_dirs_.clear();
  if (opt_.dry_run) co_return;
  for (const std::string& rel : dirs) {
    auto src_st = co_await source_dir_stat(rel);
    fs::Fd dst = co_await open_below_root(false, rel);
    if (!src_st || !dst.valid()) continue;
    auto dst_st = co_await fs::statx(dst.get(), "", AT_EMPTY_PATH, kStatxMask);
    if (!dst_st) continue;
    WantedAttrs want = wanted_attrs(opt_, *src_st, false, umask_);
    want.set_mode = want.set_uid = want.set_gid = want.set_atime = false;
    auto r = co_await apply_attrs_fd(dst.get(), want, &*dst_st);
    if (!r) rep_.file_error("set times of", rel.empty() ? "." : rel + "/", r.error());
  }
}

}  // namespace ringkit::sync
