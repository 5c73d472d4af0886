// What DEST is, decided once before the transfer as rsync's receiver does (get_local_name()):
//  - an existing directory, or a path ending in '/': the items go into it (made if missing);
//  - otherwise it depends on how many items the file list holds:
//    - two or more: DEST is made as a directory for them; an existing non-directory there is
//      an error ("destination must be a directory when copying more than 1 file");
//    - exactly one: that item, a file or a directory, is made under the name DEST (an existing
//      non-directory is replaced by a file, and refused for a directory);
//    - none: nothing is made at all.
// rsync counts what its sender lists: each source that exists and is not excluded (a directory
// only with -r or -d), the same name given twice as two, and what a directory
// sent whole holds after the filters, however it is pruned later (-m). So "rsync -a src/empty
// dst" makes dst the empty directory, while with one file in src/empty it makes dst/empty.
// A list (-R, --files-from) that names nested paths always has two or more: the item and its
// implied directory. When it names the root ("." or "dir/./"), it is taken as more than one too.
#include <fcntl.h>

#include <array>

#include "sync/syncer.h"

namespace ringkit::sync {

// How a source named on the command line is looked at (rsync's link_stat): through a symlink
// with a trailing slash, and as -L and -k say.
Task<int> Syncer::source_stat_flags(const SourceArg& source) {
  int follow = source.contents || opt_.copy_links ? 0 : AT_SYMLINK_NOFOLLOW;
  if (follow != 0 && opt_.copy_dirlinks) {
    auto target = co_await fs::statx(AT_FDCWD, source.path, 0, STATX_TYPE);
    if (target && S_ISDIR(target->stx_mode)) follow = 0;
  }
  co_return follow;
}

Task<Syncer::SourceItems> Syncer::items_of(const SourceArg& source, bool entries_too) {
  SourceItems items;
  auto st = co_await fs::statx(AT_FDCWD, source.path, co_await source_stat_flags(source), STATX_TYPE);
  if (!st) co_return items;  // (the transfer reports it)
  items.is_dir = S_ISDIR(st->stx_mode);
  std::optional<FilterList> filters = side_filters(source);
  if (filters && !source.contents) {
    if (!filters->push_dir("")) co_return SourceItems{2};  // (the transfer stops on the bad merge file)
    if (filters->matches(source.name, items.is_dir, Side::kSender) == Decision::kExcluded) co_return items;
  }
  if (!items.is_dir) {
    items.count = 1;
    co_return items;
  }
  // A directory: skipped without -r or -d ("skipping directory"), alone with -d, and with what
  // is below it when that is listed too (-r, "dir/" with -d, a list's "dir/").
  bool below = opt_.recursive || (source.contents && opt_.dirs) || entries_too;
  if (!below) {
    items.count = opt_.dirs && !source.contents ? 1 : 0;
    co_return items;
  }
  std::string rel = source.contents ? std::string() : source.name + "/";
  items.count = co_await lists_an_entry(source.path, rel, filters) ? 2 : 1;
  co_return items;
}

// Whether the directory `path` (at `rel` below the transfer root) has an entry that the
// sender's rules let through, reading no further than the first one.
Task<bool> Syncer::lists_an_entry(const std::string& path, const std::string& rel, std::optional<FilterList>& filters) {
  auto dir = co_await fs::openat(AT_FDCWD, path, O_RDONLY | O_DIRECTORY);
  if (!dir) co_return false;  // (the transfer reports it)
  if (filters && !filters->push_dir(dir_key(rel))) co_return true;
  std::array<std::byte, 16 * 1024> buf;
  for (;;) {
    auto n = co_await fs::getdents(dir->get(), buf);
    if (!n || *n == 0) co_return false;
    for (fs::DirEntry d : fs::DirEntries(std::span<const std::byte>(buf.data(), *n))) {
      if (!filters) co_return true;
      bool is_dir = d.type == DT_DIR;
      if (d.type == DT_UNKNOWN) {
        auto st = co_await fs::statx(dir->get(), std::string(d.name), AT_SYMLINK_NOFOLLOW, STATX_TYPE);
        is_dir = st && S_ISDIR(st->stx_mode);
      }
      if (filters->matches(rel + std::string(d.name), is_dir, Side::kSender) != Decision::kExcluded) co_return true;
    }
  }
}

// The items counted so far, up to two; the one item while there is just one; the sources that
// send nothing (reported if DEST then names the one item).
struct Syncer::DestTally {
  int count = 0;
  std::optional<SourceArg> one;
  bool one_is_dir = false;
  std::vector<SourceArg> others;

  // Counts `source`, which sends `items` (twice over when `repeated`). True once there are two.
  bool add(SourceArg source, const SourceItems& items, bool repeated = false) {
    if (items.count == 0) {
      others.push_back(std::move(source));
      return false;
    }
    count += repeated ? 2 : items.count;
    one = std::move(source);
    one_is_dir = items.is_dir;
    return count >= 2;
  }
};

// A list's names (-R, --files-from).
Task<void> Syncer::count_selection(DestTally& tally) {
  const Selection& sel = *selection_;
  if (sel.root_listed()) {
    tally.count = 2;
    co_return;
  }
  SelView root = sel.root_view(opt_.recursive);
  for (const SelChild& c : Selection::children(root)) {
    if (c.has_below) {
      // An implied directory: sent when an item below it is, which makes two.
      for (const SelectedName& n : Selection::names_below(root, c.name)) {
        SourceArg below{under_dir(sel.bases()[n.base], n.path), false, n.path};
        auto st = co_await fs::statx(AT_FDCWD, below.path, AT_SYMLINK_NOFOLLOW, STATX_TYPE);
        if (st) {
          tally.count = 2;
          co_return;
        }
        tally.others.push_back(std::move(below));
      }
      if (!c.named) continue;
    }
    std::string name(c.name);
    SourceArg s{under_dir(sel.bases()[c.base], name), false, name};
    SourceItems items = co_await items_of(s, c.contents);
    if (tally.add(std::move(s), items, c.repeated)) co_return;
  }
}

Task<bool> Syncer::settle_dest(bool& selected, std::optional<SourceArg>& single) {
  const std::string& dest = opt_.destination;
  if (dest.empty() || dest.back() == '/') co_return true;
  auto dest_st = co_await fs::statx(AT_FDCWD, dest, 0, STATX_TYPE);
  if (dest_st && S_ISDIR(dest_st->stx_mode)) co_return true;
  if (!dest_st && dest_st.error() != std::errc::no_such_file_or_directory) co_return true;  // (reported as it is used)
  DestTally tally;
  if (!selected) {
    SourceItems items = co_await items_of(*single);
    tally.add(*single, items);
  } else if (!opt_.relative) {
    for (const std::string& arg : opt_.sources) {
      SourceArg s = parse_source(arg);
      SourceItems items = co_await items_of(s);
      if (tally.add(std::move(s), items)) break;
    }
  } else {
    co_await count_selection(tally);
  }
  if (dest_st && tally.count >= 2) {
    rep_.fatal_line("ERROR: destination must be a directory when copying more than 1 file", kExitFileSelect);
    co_return false;
  }
  if (dest_st && tally.count == 1 && tally.one_is_dir) {
    rep_.fatal_line("ERROR: cannot overwrite non-directory with a directory", kExitFileSelect);
    co_return false;
  }
  if (tally.count >= 2) co_return true;
  dest_names_item_ = true;
  if (selected) {
    // The one item (if any) goes as a single source would; the rest is reported as the
    // transfer would have.
    selected = false;
    single = std::move(tally.one);
    unsent_sources_ = std::move(tally.others);
  }
  co_return true;
}

// A source that sends nothing, as the transfer reports it: rsync's link_stat error, or its note
// for a directory named without -r or -d.
Task<void> Syncer::report_unsent(const SourceArg& source) {
  auto st = co_await fs::statx(AT_FDCWD, source.path, co_await source_stat_flags(source), STATX_TYPE);
  if (!st) {
    // Not again when its directory could not be entered (change_dir), or when it was said as
    // the list was read (settle_shared_names).
    if (!in_failed_base(source) && reported_unreadable_.insert(source.path).second) {
      rep_.file_error("link_stat", source.path, st.error());
    }
    co_return;
  }
  if (S_ISDIR(st->stx_mode) && !opt_.recursive && !opt_.dirs) say_skipped_dir(source.contents ? "." : source.name);
}

// Several sources (or a --no-relative list): whether `source` is read from a directory that
// could not be opened when the list was read.
bool Syncer::in_failed_base(const SourceArg& source) const {
  if (!selection_ || opt_.relative) return false;
  std::optional<uint32_t> base = selection_->find_base(source.contents ? source.path : dirname_of(source.path));
  return base && *base < base_fds_.size() && !base_fds_[*base].valid();
}

}  // namespace ringkit::sync
