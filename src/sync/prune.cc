// Directories that are not sent because nothing would end up in them:
//  - -m (--prune-empty-dirs): a directory with no non-directory anywhere below it (after the
//    filters), unless a receiver-side rule (protect) names it, as rsync's receiver prunes its
//    file list;
//  - with a list (-R, --files-from): an implied directory whose named items all turned out
//    missing or excluded (rsync sends implied directories only for items it sends).
// rsync decides this on its whole file list. The walk here streams, so it looks ahead: before
// a directory's line is printed, its subtree is scanned until the first item that keeps it
// (usually the first few entries). A pruned directory is never scanned again; a kept one is
// scanned again as it is walked, so a chain of nested directories with one file at the bottom
// costs the depth squared in directory reads, never more memory than the walk itself.
#include <fcntl.h>

#include <algorithm>

#include "sync/parallel.h"
#include "sync/syncer.h"

namespace ringkit::sync {

// Whether `e` (an entry of the directory at `rel`, already filtered) keeps its parent directory.
bool Syncer::counts_as_content(const Entry& e, const std::string& rel) const {
  if (!e.is_dir()) return true;  // any non-directory in the list, even of a kind not copied
  if (opt_.prune_empty_dirs) {
    return filtering_ && filters_.matches(rel + e.name, true, Side::kReceiver) == Decision::kProtected;
  }
  return !e.implied && copies_kind(e);  // a directory that is itself an item
}

// rsync's sender's note for a directory named without -r or -d: printed unless -q (no --info
// flag silences it). Said once: the look-ahead may meet it before the walk does, or instead of it.
void Syncer::say_skipped_dir(const std::string& path) {
  if (opt_.quiet || deletion_pass_) return;
  if (said_skipped_.insert(path).second) rep_.line("skipping directory " + path);
}

Task<void> Syncer::prune_dirs(DirPair& dir, std::vector<Entry>& entries) {
  std::vector<bool> keep(entries.size(), true);
  bool in_list = dir.sel && !dir.sel->full;
  for (size_t i = 0; i < entries.size(); ++i) {
    Entry& e = entries[i];
    if (!e.is_dir() || (!opt_.prune_empty_dirs && !e.implied)) continue;
    if (counts_as_content(e, dir.rel)) continue;
    std::optional<SelView> sel;
    if (dir.sel) sel = view_below(*dir.sel, e);
    bool enters = walks_into(sel);
    if (!in_list && opt_.one_file_system > 0 && device_of(e.st) != root_dev_) enters = false;
    bool content = false;
    if (enters) {
      DirPair& pair = pair_for(dir, e);
      std::vector<uint32_t> merged;
      if (walked_whole(sel)) merged = co_await merged_below(dir, e);
      if (pair.src.valid()) {
        content = co_await has_content(pair.src.get(), e, dir.rel + e.name + "/", sel, dir.links + (e.followed ? 1 : 0),
                                       merged);
      }
    }
    keep[i] = content;
  }
  size_t i = 0;
  std::erase_if(entries, [&](const Entry&) { return !keep[i++]; });
}

// Whether the directory `dir_entry` (at `rel`, ending in '/') holds something that keeps it,
// looking as deep as needed and stopping at the first such item. Quiet, except that a
// directory it cannot read is reported (once): it is pruned, so the walk never reports it.
Task<bool> Syncer::has_content(int parent_fd, const Entry& dir_entry, std::string rel, std::optional<SelView> sel,
                               int links, std::vector<uint32_t> merged) {
  if (dir_entry.followed && enter_followed(dir_entry, links)) co_return false;
  int nofollow = dir_entry.followed || dir_entry.implied ? 0 : O_NOFOLLOW;
  auto dir = co_await fs::openat(parent_fd, dir_entry.name, O_RDONLY | O_DIRECTORY | nofollow);
  if (!dir) {
    if (!deletion_pass_ && dir.error() != std::errc::no_such_file_or_directory &&
        reported_unreadable_.insert(rel).second) {
      io_error_ = true;
      rep_.file_error("opendir", rel, dir.error());
    }
    co_return false;
  }
  std::vector<Entry> entries;
  MergedDirs others;  // (the same directory in the bases merged into it)
  if (walked_whole(sel)) {
    auto listed = co_await list_directory(dir->get());
    if (!listed) co_return false;
    entries = std::move(*listed);
    for (Entry& e : entries) e.base = dir_entry.base;
    co_await parallel_for(entries.size(), kStatsInFlight, [&](size_t i) { return quiet_stat(dir->get(), entries[i], rel); });
    std::erase_if(entries, [](const Entry& e) { return !e.stat_ok; });
    others = co_await merge_listings_quietly(rel, merged, entries);
  } else {
    for (const SelChild& c : Selection::children(*sel)) {
      Entry e;
      e.name = std::string(c.name);
      e.base = c.base;
      e.implied = !c.named;
      // (Names read from another base are looked up there.)
      fs::Fd other;
      int fd = dir->get();
      if (c.base != sel->base && c.base < base_fds_.size() && base_fds_[c.base].valid()) {
        auto o = co_await fs::openat(base_fds_[c.base].get(), rel, O_RDONLY | O_DIRECTORY);
        if (!o) continue;
        other = std::move(*o);
        fd = other.get();
      }
      // A named item that is missing is an error wherever it is found first (see stat_selected).
      if (e.implied) {
        auto st = co_await stat_implied_dir(fd, e.name);
        if (!st) {
          names_below_failed(*sel, e.name, st.error());
          continue;
        }
        e.st = *st;
        e.stat_ok = true;
      } else {
        std::error_code failed;
        co_await quiet_stat(fd, e, rel, &failed);
        if (failed) {
          named_item_failed(e.base, rel + e.name, failed);
          continue;
        }
        co_await imply_if_names_below(fd, *sel, e, rel, false);
      }
      entries.push_back(std::move(e));
    }
  }
  std::erase_if(entries, [](const Entry& e) { return !e.stat_ok; });
  // The directory's merge files apply below it too: it stays pushed while its subtree is looked at.
  struct PopOnExit {
    explicit PopOnExit(std::optional<FilterList>* l) : list(l) {}
    PopOnExit(const PopOnExit&) = delete;
    PopOnExit& operator=(const PopOnExit&) = delete;
    ~PopOnExit() {
      if (list != nullptr) (*list)->pop_dir();
    }
    std::optional<FilterList>* list;
  } pop(nullptr);
  if (filtering_ && sender_) {
    bool ok = static_cast<bool>(sender_->push_dir(dir_key(rel), filter_base(dir_entry.base)));
    pop.list = &sender_;
    if (!ok) co_return false;  // the walk reports a bad merge file
    std::erase_if(entries, [&](const Entry& e) { return !e.implied && excluded(rel + e.name, e.is_dir()); });
  }
  std::erase_if(entries, [&](const Entry& e) {
    if (!e.is_dir() || e.implied || copies_kind(e)) return false;
    say_skipped_dir(rel + e.name);  // (the walk does not get here if this directory is pruned)
    return true;
  });
  // Non-directories first: they settle it without looking deeper.
  for (const Entry& e : entries) {
    if (counts_as_content(e, rel)) co_return true;
  }
  ancestors_.push_back(inode_key(dir_entry.st));
  bool found = false;
  for (const Entry& e : entries) {
    if (!e.is_dir()) continue;
    std::optional<SelView> sub;
    if (sel) sub = view_below(*sel, e);
    bool enters = walks_into(sub);
    bool in_list = sel && !sel->full;
    if (!in_list && opt_.one_file_system > 0 && device_of(e.st) != root_dev_) enters = false;
    if (!enters) continue;
    int fd = others.fd_of(e.base, dir->get());
    fs::Fd other;
    if (sel && e.base != sel->base && fd == dir->get() && e.base < base_fds_.size() && base_fds_[e.base].valid()) {
      auto o = co_await fs::openat(base_fds_[e.base].get(), rel, O_RDONLY | O_DIRECTORY);
      if (!o) continue;
      other = std::move(*o);
      fd = other.get();
    }
    std::vector<uint32_t> below;
    if (walked_whole(sub)) below = co_await merged_below(sel, dir_entry.base, merged, rel, e);
    if (co_await has_content(fd, e, rel + e.name + "/", sub, links + (e.followed ? 1 : 0), std::move(below))) {
      found = true;
      break;
    }
  }
  ancestors_.pop_back();
  co_return found;
}

}  // namespace ringkit::sync
