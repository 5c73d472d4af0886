// -R (--relative) and --files-from: the named items, with their implied directories, walked
// as one tree into DEST the way rsync sends its file list. The list itself is in selection.h;
// here it is read (the --files-from list through the engine, a block at a time, keeping the
// names only), and each directory of the walk takes its entries from it: the children the
// list names (and the implied directories on the way to deeper names), or, for a directory
// sent whole, its own listing as without a list. The per-entry work is the usual one.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>

#include "sync/files_from.h"
#include "sync/parallel.h"
#include "sync/syncer.h"

namespace ringkit::sync {
namespace {

constexpr size_t kListChunk = 64 * 1024;

std::string absolute_dir(const std::string& p) {
  if (!p.empty() && p[0] == '/') return p;
  char cwd[4096];
  std::string here = ::getcwd(cwd, sizeof cwd) != nullptr ? cwd : ".";
  return p == "." ? here : here + "/" + p;
}

// A source named as on the command line: an item of DEST's root read from its own directory
// ("a/b" is b from a; "a/" is the contents of a, merged with those of any other such source).
void add_source_item(Selection& sel, const SourceArg& s) {
  if (s.contents) {
    sel.add(std::string(), sel.add_base(s.path), true);
  } else {
    sel.add(s.name, sel.add_base(dirname_of(s.path)), false);
  }
}

// A directory of the walk by its path below a base ("" or ending in '/').
std::string dir_path(const std::string& rel) { return rel.empty() ? std::string(".") : rel; }

}  // namespace

// Reads the list (or the -R arguments) into selection_ and opens the base directories.
// False, with the run stopped, when the list cannot be read or an argument is refused.
Task<bool> Syncer::load_selection() {
  Selection sel;
  if (opt_.files_from) {
    uint32_t base = sel.add_base(opt_.sources.front());
    if (!co_await read_files_from(sel, base)) co_return false;
  } else if (!opt_.relative) {
    // Several sources: each is an item of DEST's root read from its own directory ("a/b" is b
    // from a; "a/" is the contents of a, merged with those of any other such source).
    for (const std::string& arg : opt_.sources) add_source_item(sel, parse_source(arg));
  } else {
    for (const std::string& arg : opt_.sources) {
      auto parsed = parse_relative_source(arg);
      if (auto* err = std::get_if<std::string>(&parsed)) {
        rep_.fatal(*err, kExitUsage);
        co_return false;
      }
      RelativeSource& r = std::get<RelativeSource>(parsed);
      uint32_t base = sel.add_base(r.base);
      if (r.root_implied) sel.imply_root(base);
      if (r.absolute && !r.path.empty()) absolute_tops_.insert(r.path.substr(0, r.path.find('/')));
      sel.add(std::move(r.path), base, r.contents);
    }
  }
  if (!fits_open_files_limit(sel.bases().size())) co_return false;
  std::vector<bool> failed;
  for (uint32_t b = 0; b < sel.bases().size(); ++b) {
    const std::string& dir = sel.bases()[b];
    auto fd = co_await fs::openat(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY);
    failed.push_back(!fd);
    if (!fd) {
      // --files-from's SRC: nothing can be sent, and rsync stops there (exit 3).
      if (opt_.files_from && b == 0) {
        rep_.file_error("change_dir", dir, fd.error());
        rep_.raise(kExitFileSelect);
        co_return false;
      }
      // Nothing is sent from it, and its names are not reported one by one; rsync says so
      // for each argument it changes into it for. As rsync's sender, an I/O error: --delete
      // deletes nothing then.
      for (uint32_t i = 0; i < sel.uses_of_base(b); ++i) rep_.file_error("change_dir", dir, fd.error());
      io_error_ = true;
      base_fds_.emplace_back();
      continue;
    }
    base_fds_.push_back(std::move(*fd));
  }
  sel.drop_names_from(failed);
  sel.finish();
  if (sel.bases().size() > 1) {
    for (const std::string& dir : sel.bases()) base_roots_.push_back(absolute_dir(dir));
  }
  selection_ = std::move(sel);
  co_await settle_shared_names();
  co_return true;
}

// A name given from several bases ("-R a/./x b/./x", "a/x b/x DEST") is sent from the first
// that has it, merged with the others that do; each that does not is rsync's link_stat error,
// as it looks every argument up. (When none has it, the walk meets the first again: said once.)
Task<void> Syncer::settle_shared_names() {
  Selection& sel = *selection_;
  for (const auto& [index, bases] : sel.names_from_several_bases()) {
    const std::string path = sel.name(index).path;
    std::vector<uint32_t> found;
    for (size_t i = 0; i < bases.size(); ++i) {
      auto st = co_await fs::statx(base_fds_[bases[i]].get(), path, AT_SYMLINK_NOFOLLOW, STATX_TYPE);
      if (st) {
        found.push_back(bases[i]);
      } else {
        named_item_failed(bases[i], path, st.error());
      }
    }
    sel.set_bases(index, found.empty() ? std::vector<uint32_t>{bases.front()} : found);
  }
}

// Each base directory stays open for the run, and the root's entries from it hold two more
// (DirPair::others): a --no-relative list naming items in very many directories (or very many
// sources from different directories) needs more descriptors than a process may have. It is
// refused before anything is touched, rather than failing file by file (rsync changes into
// each directory instead).
bool Syncer::fits_open_files_limit(size_t bases) {
  constexpr size_t kPerBase = 3;
  constexpr size_t kForTheTransfer = 512;  // files and directories in flight (kEntriesInFlight)
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY) return true;
  size_t need = kPerBase * bases + kForTheTransfer;
  if (need <= lim.rlim_cur) return true;
  bool unrelative_list = opt_.files_from && !opt_.relative;
  std::string what = unrelative_list ? "--files-from with --no-relative: the list names items in "
                                     : "the items are read from ";
  rep_.fatal(what + std::to_string(bases) + " directories, which takes about " + std::to_string(need) +
                 " open files; the limit is " + std::to_string(lim.rlim_cur) + " (raise it with ulimit -n" +
                 (unrelative_list ? ", or use -R)" : ")"),
             kExitFileIo);
  return false;
}

// The --files-from list ("-": standard input), read a block at a time; only the names stay.
Task<bool> Syncer::read_files_from(Selection& selection, uint32_t base) {
  const std::string& path = *opt_.files_from;
  fs::Fd owned;
  int fd = STDIN_FILENO;
  if (path != "-") {
    auto opened = co_await fs::openat(AT_FDCWD, path, O_RDONLY);
    if (!opened) {
      rep_.fatal("failed to open files-from file " + path + ": " + opened.error().message(), kExitUsage);
      co_return false;
    }
    owned = std::move(*opened);
    fd = owned.get();
  }
  FilesFromParser parser(opt_.from0);
  auto add = [&](std::string_view raw) {
    auto name = clean_listed_name(raw);
    if (!name) return;
    if (!opt_.relative) {
      add_unrelative(selection, base, *name);
      return;
    }
    uint32_t from = base;
    if (!name->base.empty()) from = selection.add_base(selection.bases()[base] + "/" + name->base);
    if (name->root_implied) selection.imply_root(from);
    selection.add(std::move(name->path), from, name->contents);
  };
  std::vector<std::byte> buf(kListChunk);
  for (;;) {
    auto n = co_await fs::read(fd, buf, fs::kCurrentPosition);
    if (!n) {
      rep_.fatal("read error in files-from file " + path + ": " + n.error().message(), kExitFileIo);
      co_return false;
    }
    if (*n == 0) break;
    parser.feed(std::string_view(reinterpret_cast<const char*>(buf.data()), *n), add);
  }
  parser.finish(add);
  co_return true;
}

// --no-relative: a listed name is an item of DEST's root, as the source SRC/NAME on the
// command line is ("a/b/f" is f read from SRC/a/b; "a/b/" the entries of SRC/a/b).
void Syncer::add_unrelative(Selection& selection, uint32_t src, const ListedName& name) {
  std::string kept = name.base.empty() ? name.path : name.path.empty() ? name.base : name.base + "/" + name.path;
  if (kept.empty()) {
    selection.add(std::string(), src, true);  // SRC itself: its entries
    return;
  }
  add_source_item(selection, parse_source(under_dir(selection.bases()[src], kept) + (name.contents ? "/" : "")));
}

// One pass of the transfer over the list: DEST is its root.
Task<void> Syncer::sync_selection() {
  const Selection& sel = *selection_;
  const std::string& dest = opt_.destination;
  if (sel.size() == 0 && !sel.root_listed()) {
    // An empty list: DEST is still made when it names a directory ("DEST/", or one that is
    // there); otherwise settle_dest() has left nothing to send.
    auto dest_st = co_await fs::statx(AT_FDCWD, dest, 0, STATX_TYPE);
    if (!deletion_pass_ && !(dest_st && S_ISDIR(dest_st->stx_mode))) co_await create_dest_dir(dest, dest_st.ok());
    if (!deletion_pass_) out_.transfer_started();
    co_return;
  }
  SelView view = sel.root_view(opt_.recursive);
  if (!base_fds_[view.base].valid()) co_return;  // reported when it was opened
  bool skip_root = co_await skip_named_dirs(view);
  if (filtering_) {
    sender_.emplace(filters_);
    receiver_.emplace(filters_);
    sender_->set_root(absolute_dir(sel.bases()[view.base]));
    receiver_->set_root(absolute_dir(dest));
  }
  auto dest_st = co_await fs::statx(AT_FDCWD, dest, 0, STATX_TYPE);
  bool dest_is_dir = dest_st && S_ISDIR(dest_st->stx_mode);
  if (deletion_pass_ && !dest_is_dir) co_return;  // nothing there to delete from
  bool created = !dest_is_dir;
  if (created) {
    std::optional<bool> made = co_await create_dest_dir(dest, dest_st.ok());
    if (!made) co_return;
    created = *made;
  }
  if (!deletion_pass_) out_.transfer_started();
  DirPair root = selection_root(view, skip_root);
  if (!co_await open_root_pair(root, base_fds_[view.base].get(), ".", sel.bases()[view.base], created)) co_return;
  std::optional<FileStat> st = co_await stat_selection_root(root);
  if (!st) co_return;
  FileStat root_st = *st;
  src_root_ = fs::Fd();
  dst_root_ = fs::Fd();
  if (auto s = co_await fs::openat(root.src.get(), ".", O_RDONLY | O_DIRECTORY)) src_root_ = std::move(*s);
  if (root.dst.valid()) {
    auto d = co_await fs::openat(root.dst.get(), ".", O_RDONLY | O_DIRECTORY);
    if (d) dst_root_ = std::move(*d);
  }
  if (!co_await open_write_dirs(dest)) co_return;  // --temp-dir, --backup-dir, --*-dest
  out_.set_sources(sel.bases());  // (%f names items below their own base)
  co_await sync_dir(std::move(root), root_st, created, "./");
  if (!deletion_pass_) co_await finish_delayed();  // --delay-updates
  co_await retouch_dirs();
  co_await restore_late_modes();
}

// Without -r or -d: the directories the arguments name are skipped, and said so. Several
// sources: rsync's sender notes them in the order of the arguments, before anything is sent;
// the walk meets them in name order (and says each once). "-R base/./" names the base
// directory itself: rsync skips it, as any directory named so (--files-from implies -d), and
// sends only the other names; then true, with `view` no longer sending the root whole.
Task<bool> Syncer::skip_named_dirs(SelView& view) {
  if (opt_.recursive || opt_.dirs) co_return false;
  if (!deletion_pass_ && !opt_.relative && !opt_.files_from) {
    for (const std::string& arg : opt_.sources) {
      SourceArg s = parse_source(arg);
      auto st = co_await fs::statx(AT_FDCWD, s.path, co_await source_stat_flags(s), STATX_TYPE);
      if (st && S_ISDIR(st->stx_mode)) say_skipped_dir(s.contents ? "." : s.name);
    }
  }
  if (!selection_->root_named()) co_return false;
  view.full = false;
  say_skipped_dir(".");
  co_return true;
}

// --list-only with a list: the items the transfer would send, as rsync lists them (the walk
// is the transfer's, each directory DirPair::unsent with listing_ set: nothing is compared or
// written, and there is no destination).
Task<void> Syncer::list_selection() {
  const Selection& sel = *selection_;
  if (sel.size() == 0 && !sel.root_listed()) co_return;
  SelView view = sel.root_view(opt_.recursive);
  if (!base_fds_[view.base].valid()) co_return;  // reported when it was opened
  listing_ = true;
  bool skip_root = co_await skip_named_dirs(view);  // (--no-d)
  if (filtering_) {
    sender_.emplace(filters_);
    sender_->set_root(absolute_dir(sel.bases()[view.base]));
  }
  DirPair root = selection_root(view, skip_root);
  root.unsent = true;
  auto src = co_await fs::openat(base_fds_[view.base].get(), ".", O_RDONLY | O_DIRECTORY);
  if (!src) {
    rep_.file_error("opendir", sel.bases()[view.base], src.error());
    co_return;
  }
  root.src = std::move(*src);
  std::optional<FileStat> st = co_await stat_selection_root(root);
  if (!st) co_return;
  if (root.listed) list_line(*st, ".", {});
  co_await sync_dir(std::move(root), *st, false, "./");
}

// The root of a walk over the list: DEST's root, read from the base of `view` (the root's).
Syncer::DirPair Syncer::selection_root(const SelView& view, bool skip_root) const {
  const Selection& sel = *selection_;
  DirPair root;
  root.sel = view;
  root.base = view.base;
  root.order = sel.root_order();
  root.listed = !skip_root && (sel.root_named() || (sel.root_listed() && opt_.implied_dirs));
  if (view.full) root.merged = sel.root_merged_bases();
  return root;
}

// Its source's attributes (an error said when they cannot be read); -x starts on its device.
Task<std::optional<FileStat>> Syncer::stat_selection_root(const DirPair& root) {
  auto st = co_await fs::statx(root.src.get(), "", AT_EMPTY_PATH, kStatxMask);
  if (!st) {
    rep_.file_error("stat", selection_->bases()[root.base], st.error());
    co_return std::nullopt;
  }
  FileStat root_st = *st;
  adjust_source(root_st);
  root_dev_ = device_of(root_st);
  co_return root_st;
}

// The children the list names in `dir` (named items and implied directories), each looked up
// in its own base, with the links followed as -L/-k/--copy-unsafe-links say.
Task<std::vector<Entry>> Syncer::selected_entries(DirPair& dir) {
  std::vector<Entry> entries;
  std::vector<SelChild> children = Selection::children(*dir.sel);
  for (const SelChild& c : children) {
    Entry e;
    e.name = std::string(c.name);
    e.base = c.base;
    e.implied = !c.named;
    entries.push_back(std::move(e));
  }
  co_await open_other_bases(dir, entries);
  co_await parallel_for(entries.size(), kStatsInFlight, [&](size_t i) { return stat_selected(dir, entries[i]); });
  // A named directory that an earlier argument implies from another base (-R b/./d/x a/./d):
  // rsync keeps the earlier item of the two, so the directory's attributes are that base's
  // (its entries still come from both).
  for (size_t i = 0; i < entries.size(); ++i) {
    const SelChild& c = children[i];
    Entry& e = entries[i];
    if (!e.stat_ok || !e.is_dir() || !c.named || !c.has_below || c.below_order > c.order || c.below_base == c.base) {
      continue;
    }
    DirPair* other = co_await other_base(dir, c.below_base);
    if (!other->src.valid()) continue;
    auto st = co_await stat_implied_dir(other->src.get(), e.name);
    if (!st) continue;
    e.st = *st;
    adjust_source(e.st);
  }
  std::erase_if(entries, [](const Entry& e) { return !e.stat_ok; });
  co_return entries;
}

// A named item is looked at as rsync's link_stat does (a missing one is an error, exit 23); an
// implied directory is always followed: rsync sends it as a real directory even when it is a
// symlink on the sending side.
Task<void> Syncer::stat_selected(DirPair& dir, Entry& e) {
  DirPair& pair = pair_for(dir, e);
  std::string path = dir.rel + e.name;
  if (!pair.src.valid()) co_return;
  auto st = co_await fs::statx(pair.src.get(), e.name, e.implied ? 0 : AT_SYMLINK_NOFOLLOW, kStatxMask);
  if (st && e.implied && !S_ISDIR(st->stx_mode)) st = std::make_error_code(std::errc::not_a_directory);
  if (!st) {
    if (e.implied) {
      names_below_failed(*dir.sel, e.name, st.error());
    } else {
      named_item_failed(e.base, path, st.error());
    }
    co_return;
  }
  e.st = *st;
  if (e.implied) {
    auto l = co_await fs::statx(pair.src.get(), e.name, AT_SYMLINK_NOFOLLOW, STATX_TYPE);
    e.followed = l && S_ISLNK(l->stx_mode);
  } else if (e.is_symlink() && follows_source_links() && !co_await follow_source_link(pair.src.get(), e, dir.rel, deletion_pass_)) {
    co_return;
  }
  adjust_source(e.st);
  e.stat_ok = true;
  co_await imply_if_names_below(pair.src.get(), *dir.sel, e, dir.rel, false);
}

// An implied directory as rsync sends it: followed if a link; anything but a directory is
// ENOTDIR for the names below it.
Task<Result<struct statx>> Syncer::stat_implied_dir(int dirfd, const std::string& name) {
  auto st = co_await fs::statx(dirfd, name, 0, kStatxMask);
  if (st && !S_ISDIR(st->stx_mode)) co_return std::make_error_code(std::errc::not_a_directory);
  co_return st;
}

// rsync's link_stat error for a named item: exit 23; a missing one does not stop --delete, an
// unreadable one does. Said once: the look-ahead of prune.cc may meet it first.
void Syncer::named_item_failed(uint32_t base, const std::string& path, std::error_code ec) {
  if (ec != std::errc::no_such_file_or_directory) io_error_ = true;
  // (Named as rsync names it: by the path given, base included.)
  std::string given = under_dir(selection_->bases()[base], path);
  if (deletion_pass_ || !reported_unreadable_.insert(given).second) return;
  rep_.file_error("link_stat", given, ec);
}

// A named item the walk takes from another base: rsync's link_stat of it, for the error alone.
Task<void> Syncer::check_named_item(uint32_t base, const std::string& path) {
  if (deletion_pass_ || base >= base_fds_.size() || !base_fds_[base].valid()) co_return;
  auto st = co_await fs::statx(base_fds_[base].get(), path, AT_SYMLINK_NOFOLLOW, STATX_TYPE);
  if (!st) named_item_failed(base, path, st.error());
}

// What the list names below `name` (of `view`'s directory), which is missing or no directory:
// each of those items fails on its own, as rsync's link_stat of its whole path does.
void Syncer::names_below_failed(const SelView& view, std::string_view name, std::error_code ec) {
  for (const SelectedName& n : Selection::names_below(view, name)) named_item_failed(n.base, n.path, ec);
}

// A named item that the list also names things below is their implied directory as well, and
// rsync keeps the directory: a named symlink to one is followed (the link itself is not sent),
// and a directory named without -r or -d is skipped as an item ("skipping directory", when
// `say`) yet still sent for what lies below it.
// Anything else named with items below it makes them fail ("Not a directory"); `quiet`: the
// pre-pass, which only notes the error.
Task<void> Syncer::imply_if_names_below(int dirfd, const SelView& view, Entry& e, const std::string& rel, bool quiet) {
  if (!e.stat_ok || e.implied || (e.is_dir() && copies_kind(e)) || Selection::names_below(view, e.name).empty()) {
    co_return;
  }
  if (e.is_dir()) {
    if (!quiet) say_skipped_dir(rel + e.name);
    e.implied = true;
    co_return;
  }
  Result<struct statx> st = std::make_error_code(std::errc::not_a_directory);
  if (e.is_symlink()) st = co_await stat_implied_dir(dirfd, e.name);
  if (!st) {
    if (quiet) {
      scan_error(st.error());
    } else {
      names_below_failed(view, e.name, st.error());
    }
    co_return;
  }
  e.st = *st;
  adjust_source(e.st);
  e.followed = true;
  e.implied = true;
}

// The view of the list below `e`, a directory of `view`'s, read from the base `e` came from
// (a directory sent whole lists its own base's entries). An implied directory is never sent
// whole, even when it is also a named item (see imply_if_names_below).
std::optional<SelView> Syncer::view_below(const SelView& view, const Entry& e) const {
  auto below = Selection::child_view(view, e.name, opt_.recursive && !e.implied, e.base);
  if (!below) return below;
  below->base = e.base;
  if (e.implied) below->full = false;
  return below;
}

// The same directory in the other bases its entries come from (-R /a/./x /b/./y: x and y are
// both entries of DEST's root, read from /a and /b).
Task<void> Syncer::open_other_bases(DirPair& dir, const std::vector<Entry>& entries) {
  if (!dir.sel && dir.merged.empty()) co_return;
  for (const Entry& e : entries) {
    if (e.base != dir.base) co_await other_base(dir, e.base);
  }
}

// `dir` as read from `base` (opened the first time it is asked for; its source is left
// invalid where the base does not hold it).
Task<Syncer::DirPair*> Syncer::other_base(DirPair& dir, uint32_t base) {
  if (base == dir.base) co_return &dir;
  for (auto& o : dir.others) {
    if (o->base == base) co_return o.get();
  }
  auto other = std::make_unique<DirPair>();
  other->rel = dir.rel;
  other->sel = dir.sel;
  if (other->sel) other->sel->base = base;
  other->base = base;
  other->listed = dir.listed;
  other->links = dir.links;
  other->dst_new = dir.dst_new;
  other->dst_outside = dir.dst_outside;
  other->unsent = dir.unsent;
  other->order = dir.order;
  // Its subdirectories may be merged from `dir`'s bases as well (merged_below): those `dir`
  // merges, and in a directory walked whole one the list names from this base in place of
  // the directory's own (add_names_from_other_bases).
  if (!dir.merged.empty() || walked_whole(dir.sel)) {
    other->merged.push_back(dir.base);
    for (uint32_t b : dir.merged) {
      if (b != base) other->merged.push_back(b);
    }
  }
  if (base < base_fds_.size() && base_fds_[base].valid()) {
    auto src = co_await fs::openat(base_fds_[base].get(), dir_path(dir.rel), O_RDONLY | O_DIRECTORY);
    if (src) other->src = std::move(*src);
  }
  if (dir.dst.valid()) {
    auto dst = co_await fs::openat(dir.dst.get(), ".", O_RDONLY | O_DIRECTORY);
    if (dst) other->dst = std::move(*dst);
  }
  dir.others.push_back(std::move(other));
  co_return dir.others.back().get();
}

// A directory sent whole from several bases (several "dir/" sources, -R a/./x b/./x): the
// entries of each other base that the ones before it do not have, as rsync keeps the first of
// two names in its file list. (Entries listed, in name order; they stay so.)
Task<void> Syncer::merge_other_listings(DirPair& dir, std::vector<Entry>& entries) {
  for (uint32_t base : dir.merged) {
    DirPair* other = co_await other_base(dir, base);
    if (!other->src.valid()) continue;
    std::error_code failed = co_await add_other_listing(other->src.get(), base, dir.rel, entries, false);
    if (failed) {
      io_error_ = true;
      if (!deletion_pass_) rep_.file_error("opendir", under_dir(selection_->bases()[base], dir_path(dir.rel)), failed);
    }
  }
}

Task<MergedDirs> Syncer::merge_listings_quietly(const std::string& rel, const std::vector<uint32_t>& merged,
                                                std::vector<Entry>& entries) {
  MergedDirs out;
  for (uint32_t base : merged) {
    if (base >= base_fds_.size() || !base_fds_[base].valid()) continue;
    auto fd = co_await fs::openat(base_fds_[base].get(), dir_path(rel), O_RDONLY | O_DIRECTORY);
    std::error_code failed = fd ? std::error_code() : fd.error();  // (no co_await inside ?: with GCC 12)
    if (fd) failed = co_await add_other_listing(fd->get(), base, rel, entries, true);
    if (failed) {
      scan_error(failed);
      continue;
    }
    out.fds.emplace_back(base, std::move(*fd));
  }
  co_return out;
}

// The entries of directory `fd` (the same directory read from `base`) that `entries` (in name
// order) does not have, added in order. `quiet`: stat'ed as the pre-pass does (errors noted
// only), else as the transfer does. The listing's error, if it could not be read.
Task<std::error_code> Syncer::add_other_listing(int fd, uint32_t base, const std::string& rel,
                                                std::vector<Entry>& entries, bool quiet) {
  auto listed = co_await list_directory(fd);
  if (!listed) co_return listed.error();
  std::vector<Entry> more;
  for (Entry& e : *listed) {
    if (find_entry(entries, e.name) != entries.end()) continue;
    e.base = base;
    more.push_back(std::move(e));
  }
  if (quiet) {
    co_await parallel_for(more.size(), kStatsInFlight, [&](size_t i) { return quiet_stat(fd, more[i], rel); });
    std::erase_if(more, [](const Entry& e) { return !e.stat_ok; });
  } else {
    co_await stat_entries(fd, more, rel);
  }
  std::move(more.begin(), more.end(), std::back_inserter(entries));
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.name < b.name; });
  co_return std::error_code();
}

// The bases, after `e`'s own, that send subdirectory `e` of `parent` whole as well: those the
// list names it from too, and those of `parent`'s that hold a directory of that name.
Task<std::vector<uint32_t>> Syncer::merged_below(const DirPair& parent, const Entry& e) {
  co_return co_await merged_below(parent.sel, parent.base, parent.merged, parent.rel, e);
}

// The same for a directory `rel` (with this view of the list) read from `base` and `merged`.
Task<std::vector<uint32_t>> Syncer::merged_below(const std::optional<SelView>& sel, uint32_t base,
                                                 const std::vector<uint32_t>& merged, const std::string& rel,
                                                 const Entry& e) {
  std::vector<uint32_t> out;
  int follow = e.followed ? 0 : AT_SYMLINK_NOFOLLOW;
  auto is_dir_in = [&](uint32_t b) -> Task<bool> {
    if (b >= base_fds_.size() || !base_fds_[b].valid()) co_return false;
    auto st = co_await fs::statx(base_fds_[b].get(), rel + e.name, follow, STATX_TYPE);
    co_return st && S_ISDIR(st->stx_mode);
  };
  const SelectedName* named = sel && selection_ ? Selection::named_child(*sel, e.name) : nullptr;
  if (named != nullptr) out = selection_->merged_bases(named);
  // A directory walked whole that the list also names from another base (-R a/./x b/./x/d):
  // the named one is merged into the entry (or, when it came first, the entry into it).
  bool whole = !sel || sel->full;
  if (named != nullptr && named->base != e.base && whole) {
    bool dir_there = co_await is_dir_in(named->base);  // (no co_await inside &&: GCC 12)
    if (dir_there) out.insert(out.begin(), named->base);
  }
  std::erase(out, e.base);
  bool shadowed = whole && e.base != base;
  if (merged.empty() && !shadowed) co_return out;
  std::vector<uint32_t> from = merged;
  from.insert(from.begin(), base);
  for (uint32_t b : from) {
    if (b == e.base || std::find(out.begin(), out.end(), b) != out.end()) continue;
    bool dir_there = co_await is_dir_in(b);
    if (dir_there) out.push_back(b);
  }
  co_return out;
}

std::string_view Syncer::filter_base(uint32_t base) const {
  if (base >= base_roots_.size()) return {};
  return base_roots_[base];
}

Syncer::DirPair& Syncer::pair_for(DirPair& dir, const Entry& e) {
  if (e.base == dir.base) return dir;
  for (auto& o : dir.others) {
    if (o->base == e.base) return *o;
  }
  return dir;
}

// A directory sent whole that the list also names things in: a named item it does not hold is
// an error, as a missing named item is anywhere; a child the list names things below is their
// implied directory (-r -R a/./ a/./link/f: rsync sends `link` as the directory it leads to,
// holding f), or makes them fail if it is a file. (Entries listed, in name order.)
Task<void> Syncer::check_listed_names(DirPair& dir, std::vector<Entry>& listed) {
  for (const SelChild& c : Selection::children(*dir.sel)) {
    if (c.base != dir.base) continue;  // (looked up in its own base: add_names_from_other_bases)
    auto it = find_entry(listed, c.name);
    if (it == listed.end()) {
      std::error_code missing = std::make_error_code(std::errc::no_such_file_or_directory);
      if (c.named) named_item_failed(c.base, dir.rel + std::string(c.name), missing);
      names_below_failed(*dir.sel, c.name, missing);
    } else if (c.has_below) {
      Entry& e = listed[static_cast<size_t>(it - listed.begin())];
      co_await imply_if_names_below(dir.src.get(), *dir.sel, e, dir.rel, false);
    }
  }
}

// A directory sent whole from one base that the list names items in from other bases (-R
// a/./x b/./x/f): those are its entries too, each read from its own base. A name the directory
// itself holds is taken from there.
Task<void> Syncer::add_names_from_other_bases(DirPair& dir, std::vector<Entry>& entries) {
  std::vector<Entry> added;
  std::vector<size_t> replaces;  // for each of `added`: the entry it takes the place of, or npos
  for (const SelChild& c : Selection::children(*dir.sel)) {
    if (c.base == dir.base) continue;
    auto it = find_entry(entries, c.name);
    size_t in_place_of = std::string::npos;
    if (it != entries.end()) {
      // The directory holds the name too. The argument that comes first wins (a directory
      // named from a later one is merged into this one: merged_below); otherwise rsync still
      // looks the named item up in its own base, and says so if it is missing.
      if (!c.named) continue;
      if (c.order > dir.order || it->base != dir.base) {
        co_await check_named_item(c.base, dir.rel + std::string(c.name));
        continue;
      }
      in_place_of = static_cast<size_t>(it - entries.begin());
    }
    Entry e;
    e.name = std::string(c.name);
    e.base = c.base;
    e.implied = !c.named;
    added.push_back(std::move(e));
    replaces.push_back(in_place_of);
  }
  if (added.empty()) co_return;
  co_await open_other_bases(dir, added);
  co_await parallel_for(added.size(), kStatsInFlight, [&](size_t i) { return stat_selected(dir, added[i]); });
  for (size_t i = 0; i < added.size(); ++i) {
    if (!added[i].stat_ok) continue;  // (a missing one is reported; the directory's own stays)
    if (replaces[i] != std::string::npos) {
      entries[replaces[i]] = std::move(added[i]);
    } else {
      entries.push_back(std::move(added[i]));
    }
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.name < b.name; });
}

// The place in the list of what sends the subdirectory `e` of `parent` whole: the name that
// puts it there, or (an entry of a directory walked whole) the parent's.
uint32_t Syncer::child_order(const DirPair& parent, const Entry& e) const {
  if (!parent.sel) return parent.order;
  const SelectedName* named = Selection::named_child(*parent.sel, e.name);
  return named != nullptr && named->base == e.base ? named->order : parent.order;
}

Task<void> Syncer::stat_dest_entries(DirPair& dir, std::vector<Work>& works) {
  co_await parallel_for(works.size(), kStatsInFlight, [&](size_t i) -> Task<void> {
    return [](DirPair& d, Work& w) -> Task<void> {
      auto st = co_await fs::statx(d.dst.get(), w.dst_name, AT_SYMLINK_NOFOLLOW, STATX_TYPE);
      w.dst_present = st.ok();
      w.dst_type = st ? IFTODT(st->stx_mode) : DT_UNKNOWN;
    }(dir, works[i]);
  });
}

// The pre-pass over the list (-H's groups, progress's totals): every item the transfer will
// meet is counted once.
Task<void> Syncer::scan_selection() {
  const Selection& sel = *selection_;
  SelView view = sel.root_view(opt_.recursive);
  if (base_fds_.empty() || !base_fds_[view.base].valid()) co_return;
  std::optional<FilterList> filters;
  if (filtering_) {
    filters.emplace(filters_);
    filters->set_root(absolute_dir(sel.bases()[view.base]));
  }
  FilterList* f = filters ? &*filters : nullptr;
  auto root = co_await fs::openat(base_fds_[view.base].get(), ".", O_RDONLY | O_DIRECTORY);
  if (!root) co_return;
  auto st = co_await fs::statx(root->get(), "", AT_EMPTY_PATH, kStatxMask);
  if (st) root_dev_ = device_of(*st);
  if (st && sel.root_listed()) out_.count_in_list(*st);
  if (view.full) {
    ScanFrom from;
    from.base = view.base;
    from.merged = sel.root_merged_bases();
    co_await scan_dir(root->get(), "", f, 0, view, std::move(from));
  } else {
    co_await scan_selected_dir(root->get(), "", view, f);
  }
}

Task<void> Syncer::scan_selected_dir(int dirfd, std::string rel, SelView view, FilterList* filters) {
  (void)dirfd;
  if (filters != nullptr && !filters->push_dir(dir_key(rel), filter_base(view.base))) co_return;
  for (const SelChild& c : Selection::children(view)) co_await scan_listed_child(rel, view, c, filters);
  if (filters != nullptr) filters->pop_dir();
}

// One child of a directory as the list names it (or implies it), read from its own base.
Task<void> Syncer::scan_listed_child(const std::string& rel, const SelView& view, const SelChild& c,
                                     FilterList* filters) {
  if (c.base >= base_fds_.size() || !base_fds_[c.base].valid()) co_return;
  auto parent = co_await fs::openat(base_fds_[c.base].get(), dir_path(rel), O_RDONLY | O_DIRECTORY);
  if (!parent) co_return;
  Entry e;
  e.name = std::string(c.name);
  e.base = c.base;
  e.implied = !c.named;
  if (e.implied) {
    auto st = co_await stat_implied_dir(parent->get(), e.name);
    if (!st) {
      scan_error(st.error());
      co_return;
    }
    e.st = *st;
    e.stat_ok = true;
  } else {
    co_await quiet_stat(parent->get(), e, rel);
    co_await imply_if_names_below(parent->get(), view, e, rel, true);
  }
  if (!e.stat_ok) co_return;
  if (!e.implied && filters != nullptr &&
      filters->matches(rel + e.name, e.is_dir(), Side::kSender) == Decision::kExcluded) {
    co_return;
  }
  out_.count_in_list(e.st);  // (progress: the size of the file list)
  if (!e.is_dir()) {
    if (opt_.hard_links && copies_kind(e) && may_be_hard_linked(e.st)) links_.count(e.st);
    co_return;
  }
  if (!e.implied && !copies_kind(e)) co_return;
  std::optional<SelView> sub = view_below(view, e);
  if (!walks_into(sub)) co_return;
  if (!e.implied) root_dev_ = device_of(e.st);
  int nofollow = e.followed || e.implied ? 0 : O_NOFOLLOW;
  auto dir = co_await fs::openat(parent->get(), e.name, O_RDONLY | O_DIRECTORY | nofollow);
  if (!dir) {
    scan_error(dir.error());
    co_return;
  }
  if (!sub || sub->full) {
    // Sent whole ("dir/" without -r: one level, and what the list names deeper down).
    ScanFrom from;
    from.base = e.base;
    const std::vector<uint32_t> none;  // (a named argument: no temporary in co_await's, GCC 12)
    from.merged = co_await merged_below(view, e.base, none, rel, e);
    co_await scan_dir(dir->get(), rel + e.name + "/", filters, 0, sub, std::move(from));
  } else {
    co_await scan_selected_dir(dir->get(), rel + e.name + "/", *sub, filters);
  }
}

}  // namespace ringkit::sync
