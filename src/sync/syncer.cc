// The directory walk and the per-entry decisions of ringsync. File data and attributes are in
// transfer.cc and attrs.cc.
#include "sync/syncer.h"

#include <fcntl.h>
#include <sys/sysmacros.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>

#include "ringkit/resume_on.h"
#include "ringkit/when_all.h"
#include "sync/attrs.h"
#include "sync/parallel.h"

namespace ringkit::sync {
namespace {

// Entries of a directory worked on at once (lookups, or the writes of its files). With two
// executors, up to kWorkerBacklog of them wait on the worker (transfer_worker.cc) and the rest
// keep the home thread busy: 64 in all left one thread or the other idle, 128 measured 1.21 s
// against 1.40 s for 100 000 x 1 KiB on tmpfs (medians of 12, interleaved).
constexpr size_t kEntriesInFlight = 128;

std::string basename_of(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string without_trailing_slash(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

// How rsync names an item's kind in messages.
std::string kind_name(const Entry& e) {
  if (e.is_reg()) return "regular file";
  if (e.is_dir()) return "directory";
  if (e.is_symlink()) return "symlink";
  if (S_ISCHR(e.st.stx_mode) || S_ISBLK(e.st.stx_mode)) return "device";
  return "special file";
}

std::string absolute_path(const std::string& p) {
  if (!p.empty() && p[0] == '/') return p;
  char cwd[4096];
  std::string here = ::getcwd(cwd, sizeof cwd) != nullptr ? cwd : ".";
  return here + "/" + p;
}

// A directory, or an invalid Fd when it cannot be opened (a dry run's new destination).
Task<fs::Fd> open_dir_or_none(const std::string& path) {
  auto fd = co_await fs::openat(AT_FDCWD, path, O_RDONLY | O_DIRECTORY);
  if (!fd) co_return fs::Fd();
  co_return std::move(*fd);
}

// Temp files of a killed run: ".NAME.~rkXXXXXX".
bool is_stale_temp(std::string_view name) {
  if (name.size() < 11 || name[0] != '.') return false;
  size_t mark = name.rfind(".~rk");
  return mark != std::string::npos && mark > 1 && name.size() - mark == 10;
}

}  // namespace

std::variant<FilterList, FilterSetupError> build_filters(const Options& opt) {
  FilterOptions fo;
  fo.delete_excluded = opt.delete_excluded;
  fo.from0 = opt.from0;
  FilterList list(fo);
  auto failed = [](const FilterStatus& st) {
    return FilterSetupError{st.error().message,
                            st.error().kind == FilterError::Kind::kFileIo ? kExitFileIo : kExitUsage};
  };
  for (const FilterArg& f : opt.filters) {
    FilterStatus st;
    switch (f.kind) {
      case FilterArg::kExclude: st = list.add_rule(f.value, RuleSyntax::kExclude); break;
      case FilterArg::kInclude: st = list.add_rule(f.value, RuleSyntax::kInclude); break;
      case FilterArg::kFilter: st = list.add_rule(f.value, RuleSyntax::kFilter); break;
      case FilterArg::kExcludeFrom: st = list.add_rules_from_file(f.value, RuleSyntax::kExclude); break;
      case FilterArg::kIncludeFrom: st = list.add_rules_from_file(f.value, RuleSyntax::kInclude); break;
      case FilterArg::kPerDirF: st = list.add_F_option(); break;
    }
    if (!st) return failed(st);
  }
  if (opt.cvs_exclude) {
    if (FilterStatus st = list.add_cvs_exclude(); !st) return failed(st);
  }
  if (FilterStatus st = add_partial_dir_rule(opt, list); !st) return failed(st);
  return list;
}

Syncer::Syncer(const Options& opt, Reporter& reporter, FilterList filters)
    : opt_(opt), rep_(reporter), filters_(std::move(filters)), out_(opt, reporter) {
  umask_ = ::umask(0);  // modes are computed explicitly; see wanted_attrs()
  filtering_ = !filters_.empty();
  for (const std::string& text : opt_.chmod) {
    if (auto rules = ChmodRules::parse(text)) chmod_.append(*rules);
  }
  setup_chown();
}

// --chown=USER:GROUP: names (or numbers) looked up once; an unknown name is reported and
// ignored, as rsync's --usermap/--groupmap do.
void Syncer::setup_chown() {
  if (!opt_.chown) return;
  const std::string& spec = *opt_.chown;
  size_t colon = spec.find(':');
  auto resolve = [this](const std::string& name, bool user) -> std::optional<unsigned long> {
    if (name.empty()) return std::nullopt;
    if (name.find_first_not_of("0123456789") == std::string::npos) return std::stoul(name);
    if (user) {
      if (struct passwd* pw = ::getpwnam(name.c_str())) return pw->pw_uid;
    } else if (struct group* gr = ::getgrnam(name.c_str())) {
      return gr->gr_gid;
    }
    rep_.error_line(std::string("Unknown --") + (user ? "usermap" : "groupmap") + " name on receiver: " + name,
                    kExitOk);
    return std::nullopt;
  };
  if (auto id = resolve(spec.substr(0, colon), true)) chown_uid_ = static_cast<uid_t>(*id);
  if (colon != std::string::npos) {
    if (auto id = resolve(spec.substr(colon + 1), false)) chown_gid_ = static_cast<gid_t>(*id);
  }
}

// --chmod and --chown act on the source's attributes as rsync's sender sees them.
void Syncer::adjust_source(FileStat& st) const {
  if (!chmod_.empty() && !S_ISLNK(st.stx_mode)) {
    st.stx_mode = static_cast<uint16_t>((st.stx_mode & S_IFMT) | chmod_.apply(st.stx_mode, S_ISDIR(st.stx_mode), umask_));
  }
  if (chown_uid_) st.stx_uid = *chown_uid_;
  if (chown_gid_) st.stx_gid = *chown_gid_;
}

// The filter lists take directory paths without the trailing '/'.
std::string Syncer::dir_key(const std::string& rel) {
  return rel.empty() ? rel : rel.substr(0, rel.size() - 1);
}

bool Syncer::excluded(const std::string& rel, bool is_dir) const {
  return filtering_ && sender_ && sender_->matches(rel, is_dir, Side::kSender) == Decision::kExcluded;
}

// For the walks beside the transfer (-H's pre-pass, --list-only): their own copy of the sender's
// rules (none when there are no filter options).
std::optional<FilterList> Syncer::side_filters(const SourceArg& source) const {
  if (!filtering_) return std::nullopt;
  std::optional<FilterList> list(filters_);
  list->set_root(sender_root(source));
  return list;
}

// For the walks beside the transfer (-H's pre-pass, --list-only): enters `rel` in their own
// filter list and drops the entries it excludes. False if its merge files cannot be read.
bool Syncer::enter_filtered(FilterList* filters, const std::string& rel, std::vector<Entry>& entries) {
  if (filters == nullptr) return true;
  if (!filters->push_dir(dir_key(rel))) return false;
  std::erase_if(entries, [&](const Entry& e) {
    return filters->matches(rel + e.name, e.is_dir(), Side::kSender) == Decision::kExcluded;
  });
  return true;
}

bool Syncer::hidden_by_sender(const std::string& rel, bool is_dir) {
  if (!filtering_ || !sender_) return false;
  if (!out_.notes_filters() || deletion_pass_) return excluded(rel, is_dir);
  // The rule that decides is the one excluded() would find: one look at the rules, not two.
  auto why = sender_->reason(rel, is_dir, Side::kSender);
  if (!why) return false;
  out_.filter_note(false, why->include, is_dir, rel, why->pattern);
  return !why->include;
}

bool Syncer::spared_from_delete(const std::string& rel, bool is_dir, bool in_deleted_dir, bool noted) {
  std::optional<FilterList::Reason> why;
  if (filtering_ && receiver_) why = receiver_->reason(rel, is_dir, Side::kReceiver, in_deleted_dir);
  if (!why && is_backup_name(base_name(rel))) why = FilterList::Reason{false, "*" + opt_.suffix};
  if (why && noted && out_.notes_filters()) out_.filter_note(true, why->include, is_dir, rel, why->pattern);
  return why && !why->include;
}

void Syncer::note_dest_filters(const std::string& rel_dir, const NameList& dst) {
  if (!out_.notes_filters()) return;
  for (size_t i = 0; i < dst.size(); ++i) {
    // (A name whose type getdents does not give is taken for a non-directory.)
    spared_from_delete(rel_dir + std::string(dst.name(i)), dst.type(i) == DT_DIR, false, true);
  }
}

// rsync matches paths relative to the transfer root: the directory itself for "src/", its
// parent for "src" (so the rules see "src/..."); the receiver's root is DEST.
std::string Syncer::sender_root(const SourceArg& source) {
  return absolute_path(source.contents ? source.path : dirname_of(source.path));
}

std::atomic<int> Syncer::interrupt_signal{0};

bool Syncer::interrupted() {
  int sig = interrupt_signal.load(std::memory_order_relaxed);
  if (sig == 0) return false;
  if (!rep_.stopped()) {
    rep_.fatal(std::string("received ") + (sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "SIGHUP") +
                   ", stopping; nothing is left half-written",
               kExitInterrupted);
  }
  return true;
}

Task<void> Syncer::run() {
  // -R, --files-from and several sources name their items as one list, walked as one tree
  // (selected.cc), as rsync sends them.
  bool selected = opt_.relative || opt_.files_from || opt_.sources.size() > 1;
  if (opt_.list_only) {
    out_.begin(true);
    out_.transfer_started();  // (-vv's notes, as rsync's generator says them even so)
    if (!selected) {
      co_await list_source(parse_source(opt_.sources.front()));
    } else if (co_await load_selection()) {
      co_await list_selection();
    }
    out_.transfer_done();
    co_return;
  }
  if (selected && !co_await load_selection()) co_return;
  std::optional<SourceArg> single;  // without a list: the one source (none: nothing is sent)
  if (!selected) single = parse_source(opt_.sources.front());
  if (!co_await settle_dest(selected, single)) co_return;
  // --delete-before: whether the whole source can be read, before anything is deleted.
  bool check_source = opt_.delete_timing == DeleteTiming::kBefore && !opt_.ignore_errors;
  if (opt_.hard_links || out_.needs_file_list() || check_source) {
    // rsync knows every group, and how many items there are, from its file list before it
    // decides which member to copy.
    if (selected) {
      co_await scan_selection();
    } else if (single) {
      co_await scan_source(*single);
    }
  }
  out_.begin(false);
  transfer_started_ = std::chrono::steady_clock::now();
  co_await note_backup_dir();
  // --delete-before deletes in a walk of its own before the transfer; --delete-after and
  // --delete-delay in one after it (rsync prints the same for both); --delete during it.
  DeleteTiming timing = opt_.delete_timing;
  for (int pass = 0; pass < 3; ++pass) {
    deletion_pass_ = pass != 1;
    if (pass == 2) out_.transfer_done();  // (rsync's sender is done before a late deletion pass)
    if (pass == 0 && timing != DeleteTiming::kBefore) continue;
    if (pass == 0 && source_unreadable_) io_error_ = true;  // (scan_error: no deletion at all)
    if (pass == 2 && timing != DeleteTiming::kAfter && timing != DeleteTiming::kDelay) continue;
    if (rep_.stopped() || interrupted()) continue;
    if (selected) {
      co_await sync_selection();
      continue;
    }
    if (pass == 1) {
      // A list that came down to one item (settle_dest()): what the rest did not send first.
      for (const SourceArg& s : unsent_sources_) co_await report_unsent(s);
      if (!single) out_.transfer_started();
    }
    if (single) co_await sync_source(*single);
  }
  deletion_pass_ = false;
  if (skipped_deletes_ > 0) {
    rep_.error_line("Deletions stopped due to --max-delete limit (" + std::to_string(skipped_deletes_) + " skipped)",
                    kExitDeleteLimit);
  }
  interrupted();  // a signal that came while the last items were in flight still counts
}

// Whether the walk under way deletes extraneous items.
bool Syncer::deletes_in_this_pass() const {
  if (opt_.delete_timing == DeleteTiming::kNone) return false;
  return opt_.delete_timing == DeleteTiming::kDuring ? !deletion_pass_ : deletion_pass_;
}

ItemLine Syncer::line_for(const ItemChange& change, const std::string& path_arg, const std::string& target,
                          const FileStat& st, const Entry* entry, uint32_t base) {
  // -R with an absolute source: rsync shows the item with its leading '/'.
  std::string path = path_arg;
  if (!absolute_tops_.empty() && absolute_tops_.contains(path.substr(0, path.find('/')))) path.insert(0, "/");
  return out_.line(change, path, target, st, entry, base);
}

void Syncer::print(const ItemChange& change, const std::string& path, const FileStat& st, uint32_t base) {
  if (!out_.wants_items()) return;
  ItemLine line = line_for(change, path, {}, st, nullptr, base);
  out_.emit(line);
}

bool Syncer::skipped_for_existence(bool exists, const DirPair& dir, const Work& work, bool is_dir,
                                   ItemLine& line) const {
  if (!(exists ? opt_.ignore_existing : opt_.existing)) return false;
  std::string rel = dir.rel + work.dst_name;
  line = exists ? out_.skipped(rel + " exists")
                : out_.skipped(std::string("not creating new ") + (is_dir ? "directory" : "file") + " \"" + rel + "\"");
  return true;
}

bool Syncer::skip_by_size(const Entry& e) const {
  if (!e.is_reg()) return false;
  if (opt_.max_size && e.st.stx_size > *opt_.max_size) return true;
  return opt_.min_size && e.st.stx_size < *opt_.min_size;
}

Task<bool> Syncer::open_root_pair(DirPair& root, int src_at, const std::string& src_path, const std::string& src_name,
                                  bool created) {
  auto src = co_await fs::openat(src_at, src_path, O_RDONLY | O_DIRECTORY);
  if (!src) {
    rep_.file_error("opendir", src_name, src.error());
    co_return false;
  }
  root.src = std::move(*src);
  if (!opt_.dry_run || !created) {  // a dry run does not make DEST: nothing to open then
    auto dst = co_await fs::openat(AT_FDCWD, opt_.destination, O_RDONLY | O_DIRECTORY);
    if (!dst) {
      rep_.file_error("opendir", opt_.destination, dst.error());
      co_return false;
    }
    root.dst = std::move(*dst);
  }
  root.dst_new = created;
  co_return true;
}

Task<void> Syncer::sync_source(const SourceArg& source) {
  if (deletion_pass_ && dest_names_item_) co_return;  // (DEST was not there: nothing to delete)
  // The named item itself: followed with a trailing slash, and as -L/-k say (rsync's link_stat).
  int follow = co_await source_stat_flags(source);
  auto st = co_await fs::statx(AT_FDCWD, source.path, follow, kStatxMask);
  if (!st) {
    if (!deletion_pass_) rep_.file_error("link_stat", source.path, st.error());
    co_return;
  }
  root_dev_ = device_of(*st);
  FileStat src_st = *st;
  adjust_source(src_st);
  out_.set_source(source.path, source.contents);
  if (filtering_) {
    sender_.emplace(filters_);
    receiver_.emplace(filters_);
    sender_->set_root(sender_root(source));
    receiver_->set_root(absolute_path(opt_.destination));
  }
  const std::string& dest = opt_.destination;
  auto dest_st = co_await fs::statx(AT_FDCWD, dest, 0, STATX_TYPE);
  bool dest_is_dir = dest_st && S_ISDIR(dest_st->stx_mode);
  bool is_dir = S_ISDIR(src_st.stx_mode);
  if (deletion_pass_ && (!is_dir || !dest_is_dir)) co_return;  // nothing there to delete from

  if (is_dir && !opt_.recursive && !opt_.dirs) {
    say_skipped_dir(source.contents ? "." : source.name);  // ("src/" sends ".")
    // rsync goes on with what is left, nothing: a DEST that names a directory (DEST/) is made
    // all the same, and -vv says how it would have sent data.
    if (deletion_pass_) co_return;
    bool names_dir = !dest.empty() && dest.back() == '/';
    if (!dest_is_dir && names_dir && !co_await create_dest_dir(dest, dest_st.ok())) co_return;
    out_.transfer_started();
    co_return;
  }
  if (is_dir && source.contents) {
    // "src/": the contents of src go into dest itself.
    bool created = !dest_is_dir;
    if (created) {
      std::optional<bool> made = co_await create_dest_dir(dest, dest_st.ok());
      if (!made) co_return;
      created = *made;
    }
    root_ready(".", created);
    DirPair dir;
    if (!co_await open_root_pair(dir, AT_FDCWD, source.path, source.path, created)) co_return;
    src_root_ = co_await open_dir_or_none(source.path);
    dst_root_ = co_await open_dir_or_none(dest);
    if (!co_await open_write_dirs(dest)) co_return;
    co_await sync_dir(std::move(dir), src_st, created, "./");
    if (!deletion_pass_) co_await finish_delayed();
    co_await retouch_dirs();
    co_await restore_late_modes();
    co_return;
  }

  // A named item: it goes into dest (a directory), or becomes dest (settle_dest()).
  std::string dst_dir = dest, dst_name = source.name;
  bool into_dir = !dest_names_item_;
  if (!into_dir) {
    dst_dir = dirname_of(dest);
    dst_name = basename_of(dest);
    if (opt_.mkpath && dst_dir != "." && !co_await make_path(dst_dir)) co_return;
  }
  bool dest_created = false;
  if (into_dir && !dest_is_dir) {
    std::optional<bool> made = co_await create_dest_dir(dest, dest_st.ok());
    if (!made) co_return;
    dest_created = *made;
  }
  root_ready(is_dir ? source.name : std::string(), dest_created);
  src_root_ = co_await open_dir_or_none(dirname_of(source.path));
  dst_root_ = co_await open_dir_or_none(dst_dir);
  if (!co_await open_write_dirs(dst_dir)) co_return;
  Entry entry{source.name, 0, src_st, true};
  entry.followed = follow == 0;  // -L/-k: read through the link
  auto parent = co_await fs::openat(AT_FDCWD, dirname_of(source.path), O_RDONLY | O_DIRECTORY);
  if (!parent) {
    rep_.file_error("opendir", dirname_of(source.path), parent.error());
    co_return;
  }
  co_await sync_top_entry(parent->get(), std::move(entry), dst_dir, dst_name);
  if (!deletion_pass_) co_await finish_delayed();
  co_await retouch_dirs();
  co_await restore_late_modes();
}

void Syncer::root_ready(const std::string& root_dir, bool dest_created) {
  if (!root_dir.empty() && (deletion_pass_ || (dest_created && opt_.delete_timing == DeleteTiming::kBefore &&
                                               !opt_.dry_run))) {
    out_.deleting_in(root_dir);
  }
  if (!deletion_pass_) out_.transfer_started();
}

// DEST does not exist as a directory: make it (not in a dry run) and say so, as rsync does.
// nullopt, with the run stopped, when something else is in the way or it cannot be made;
// otherwise whether DEST is new to the transfer. --mkpath makes it before the transfer, as
// rsync does, so that it is then a directory that exists (its attributes are set as any).
Task<std::optional<bool>> Syncer::create_dest_dir(const std::string& dest, bool something_else_exists) {
  if (something_else_exists) {
    rep_.fatal("destination \"" + dest + "\" exists and is not a directory", kExitFileSelect);
    co_return std::nullopt;
  }
  // "SRC/" sending only itself (settle_dest()): DEST is that directory, made as the item, with
  // no note; --mkpath makes only the directories above it, as rsync does.
  bool as_item = dest_names_item_;
  if (opt_.mkpath && !as_item) {
    if (!co_await make_path(dest)) co_return std::nullopt;
    if (!opt_.dry_run) co_return false;
  } else {
    std::string above = dirname_of(dest);
    if (opt_.mkpath && above != "." && !co_await make_path(above)) co_return std::nullopt;
    if (!opt_.dry_run) {
      auto made = co_await fs::mkdirat(AT_FDCWD, without_trailing_slash(dest), 0755);
      if (!made) {
        rep_.fatal("mkdir \"" + dest + "\" failed: " + made.error().message(), kExitFileIo);
        co_return std::nullopt;
      }
    }
  }
  if (!as_item && out_.names_created_dest()) rep_.line("created directory " + without_trailing_slash(dest));
  co_return true;
}

// --mkpath: makes the directories of `dir` that are missing (in a dry run, none) and says how
// many, as rsync does. False, with the run stopped, when one cannot be made.
Task<bool> Syncer::make_path(const std::string& dir) {
  std::string path = without_trailing_slash(dir);
  std::vector<size_t> ends;  // where each directory of the path ends
  for (size_t slash = path.find('/', 1); slash != std::string::npos; slash = path.find('/', slash + 1)) {
    if (path[slash - 1] != '/') ends.push_back(slash);
  }
  ends.push_back(path.size());
  size_t missing_from = ends.size();
  while (missing_from > 0) {
    auto st = co_await fs::statx(AT_FDCWD, path.substr(0, ends[missing_from - 1]), 0, STATX_TYPE);
    if (st) break;
    --missing_from;
  }
  size_t count = ends.size() - missing_from;
  if (count == 0) co_return true;
  for (size_t i = missing_from; i < ends.size() && !opt_.dry_run; ++i) {
    std::string part = path.substr(0, ends[i]);
    auto made = co_await fs::mkdirat(AT_FDCWD, part, 0755);
    if (!made && made.error() != std::errc::file_exists) {
      rep_.fatal("mkdir \"" + part + "\" failed: " + made.error().message(), kExitFileIo);
      co_return false;
    }
  }
  if (out_.names_created_dest()) {
    rep_.line("created " + std::to_string(count) + (count == 1 ? " directory" : " directories") + " for " + path);
  }
  co_return true;
}

Task<void> Syncer::sync_top_entry(int src_parent, Entry entry, const std::string& dst_dir_path,
                                  const std::string& dst_name) {
  DirPair dir;
  auto src_dup = co_await fs::openat(src_parent, ".", O_RDONLY | O_DIRECTORY);
  if (!src_dup) {
    rep_.file_error("opendir", ".", src_dup.error());
    co_return;
  }
  dir.src = std::move(*src_dup);
  auto dst = co_await fs::openat(AT_FDCWD, dst_dir_path, O_RDONLY | O_DIRECTORY);
  if (dst) {
    dir.dst = std::move(*dst);
  } else if (!opt_.dry_run) {
    rep_.file_error("opendir", dst_dir_path, dst.error());
    co_return;
  } else {
    dir.dst_new = true;
  }
  if (filtering_) {
    // The named item is an entry of the transfer root: its rules apply to it too.
    if (FilterStatus st = sender_->push_dir(""); !st) {
      rep_.fatal(st.error().message, kExitUsage);
      co_return;
    }
    bool skip = hidden_by_sender(entry.name, entry.is_dir());
    if (skip) {
      sender_->pop_dir();
      co_return;
    }
  }
  // -m prunes the named directory too when nothing would end up in it, as rsync does.
  if (opt_.prune_empty_dirs && entry.is_dir() && opt_.recursive && !counts_as_content(entry, "")) {
    std::string below = entry.name + "/";
    bool content = co_await has_content(dir.src.get(), entry, below, std::nullopt, 0, std::vector<uint32_t>());
    if (!content) {
      if (filtering_) sender_->pop_dir();
      co_return;
    }
  }
  if (!deletion_pass_) out_.number_top(entry);
  Work work{&entry, dst_name};
  if (dir.dst.valid()) {
    auto existing = co_await fs::statx(dir.dst.get(), dst_name, AT_SYMLINK_NOFOLLOW, STATX_TYPE);
    if (existing) {
      work.dst_present = true;
      work.dst_type = IFTODT(existing->stx_mode);
    }
  }
  if (entry.is_dir()) {
    co_await sync_subdir(dir, work);
  } else if (!deletion_pass_) {
    co_await probe_partial_dir(dir);  // --partial-dir: its stale partial file goes too
    co_await sync_nondir(dir, work);
    print_work(work);
  }
  if (filtering_) sender_->pop_dir();
}

Task<void> Syncer::stat_entries(int dirfd, std::vector<Entry>& entries, const std::string& rel) {
  co_await stat_entries_only(dirfd, entries, rel);
  std::erase_if(entries, [](const Entry& e) { return !e.stat_ok; });
}

// Stats the listed entries and marks the ones still there to sync (stat_ok).
Task<void> Syncer::stat_entries_only(int dirfd, std::vector<Entry>& entries, const std::string& rel) {
  // A walk that only deletes needs the names of the source's non-directories and their kind,
  // which getdents gave: no statx for them (a --delete-before or --delete-after walk of a tree
  // of files would otherwise stat every file once more than the transfer). Their read errors are
  // the transfer's and the pre-pass's to find.
  std::vector<Entry*> to_stat;
  to_stat.reserve(entries.size());
  const bool kinds_will_do = deletion_pass_ && !opt_.prune_empty_dirs;
  for (Entry& e : entries) {
    if (kinds_will_do && kind_from_listing_will_do(e)) {
      e.st.stx_mode = DTTOIF(e.d_type);
      e.stat_ok = true;
    } else {
      to_stat.push_back(&e);
    }
  }
  co_await parallel_for(to_stat.size(), kEntriesInFlight,
                        [&](size_t i) { return stat_entry(dirfd, *to_stat[i], rel); });
}

// A no-op or a small re-sync is two lookups per file, one on each side, and little else: one
// thread doing both leaves the second core idle. So where the destination directory was there
// before this run, the worker executor reads it and looks up each source name it holds, while
// home stats the source; list_and_prune_dest takes that listing and sync_nondir what was found
// (Entry::dst_seen) instead of asking again.
// Not where something this run does in the directory can change a name before its item is
// synced: -H (members linked from elsewhere), -b (backups beside the names). Not for entries
// from other bases or a list, nor in a deletion pass (which needs no destination attributes).
// A small directory is not worth it (below RINGKIT_SYNC_LOOKAHEAD's entries, kDefaultLookAhead):
// a hop to the worker and back took ~60 us here (two wake-ups), the time of some 40 lookups. A
// no-op of a copy of /usr/share (67 000 items, most directories small) took 0.34 s on one
// thread, 0.52 s looking ahead in every directory, 0.29 s from 32 entries up (0.30-0.31 from 16
// or 64); 100 directories of 1 000 files: 0.36 -> 0.25 s.
Executor* Syncer::dest_look_ahead(const DirPair& dir, size_t entries) {
  if (look_ahead_min_ == 0 || entries < look_ahead_min_ || deletion_pass_) return nullptr;
  if (!dir.dst.valid() || dir.dst_new || dir.dst_outside || dir.unsent) return nullptr;
  if (dir.sel || !dir.merged.empty() || opt_.hard_links || opt_.backup) return nullptr;
  return worker_executor();
}

Task<void> Syncer::stat_both_sides(DirPair& dir, std::vector<Entry>& entries, Executor& worker, DestLookAhead& ahead) {
  // The worker reads the names only; home writes the rest of each entry, and drops entries
  // (which moves the names) after the worker is done.
  JoinHandle<void> looked = spawn_joinable(run_on(worker, look_ahead_in(dir.dst.get(), entries, ahead)));
  Executor::current()->send_held();  // home's lookups may all finish inline: start the worker now
  co_await stat_entries_only(dir.src.get(), entries, dir.rel);
  co_await looked.join();
  for (size_t i = 0; i < ahead.seen.size(); ++i) {
    if (ahead.seen[i].stx_mask != 0) entries[i].dst_seen = &ahead.seen[i];
  }
  std::erase_if(entries, [](const Entry& e) { return !e.stat_ok; });
}

// On the worker: the names in `dirfd`, and the statx of each entry's name found there.
Task<void> Syncer::look_ahead_in(int dirfd, const std::vector<Entry>& entries, DestLookAhead& out) {
  out.names = co_await read_names(dirfd);
  if (!*out.names) co_return;
  out.seen.assign(entries.size(), {});
  // Both lists are in byte order: one pass finds the names on both sides.
  const NameList& names = **out.names;
  std::vector<size_t> both;
  for (size_t i = 0, j = 0; i < entries.size() && j < names.size();) {
    int order = std::string_view(entries[i].name).compare(names.name(j));
    if (order == 0) both.push_back(i);
    if (order <= 0) ++i;
    if (order >= 0) ++j;
  }
  co_await parallel_for(both.size(), kEntriesInFlight,
                        [&](size_t k) { return look_up_one(dirfd, entries[both[k]].name, out.seen[both[k]]); });
}

// `out` is the statx of `name` in `dirfd`, or stays zeros (stx_mask 0) if it cannot be had.
Task<void> Syncer::look_up_one(int dirfd, const std::string& name, struct statx& out) {
  auto st = co_await fs::statx(dirfd, name, AT_SYMLINK_NOFOLLOW, kStatxMask);
  if (st) out = *st;
}

// Whether a deletion walk can take an entry's kind from getdents: not for directories (their
// device, inode and links matter to the walk), unknown kinds, or links that are followed.
bool Syncer::kind_from_listing_will_do(const Entry& e) const {
  if (e.d_type == DT_UNKNOWN || e.d_type == DT_DIR) return false;
  return e.d_type != DT_LNK || !follows_source_links();
}

Task<void> Syncer::stat_entry(int dirfd, Entry& e, const std::string& rel) {
  auto st = co_await fs::statx(dirfd, e.name, AT_SYMLINK_NOFOLLOW, kStatxMask);
  if (st) {
    e.st = *st;
    // -L/-k/--copy-unsafe-links: the referent stands in for the link (or the item is dropped).
    if (e.is_symlink() && follows_source_links() && !co_await follow_source_link(dirfd, e, rel, deletion_pass_)) {
      co_return;
    }
    adjust_source(e.st);
    e.stat_ok = true;
  } else if (st.error() == std::errc::no_such_file_or_directory) {
    if (!deletion_pass_) rep_.vanished(rel + e.name);
  } else {
    io_error_ = true;
    if (!deletion_pass_) rep_.file_error("stat", rel + e.name, st.error());
  }
}

Task<void> Syncer::sync_dir(DirPair dir, FileStat src_st, bool created, std::string display) {
  // Every entry of the directory has a Work while its files are synced (see syncer.h).
  static_assert(sizeof(Work) <= 48, "Work is made for every entry of a directory: keep it small");
  // With a list (-R, --files-from), a directory that is not sent whole holds just what the list
  // names below it.
  bool whole = walked_whole(dir.sel);
  DestLookAhead ahead;  // what the worker read of the destination (Entry::dst_seen points into it)
  std::vector<Entry> entries;
  if (whole) {
    auto listed = co_await list_directory(dir.src.get());
    if (!listed) {
      io_error_ = true;
      if (!deletion_pass_) rep_.file_error("opendir", dir.rel.empty() ? "." : dir.rel, listed.error());
      co_return;
    }
    entries = std::move(*listed);
    for (Entry& e : entries) e.base = dir.base;
    if (Executor* worker = dest_look_ahead(dir, entries.size())) {
      co_await stat_both_sides(dir, entries, *worker, ahead);
    } else {
      co_await stat_entries(dir.src.get(), entries, dir.rel);
    }
    if (!dir.merged.empty()) co_await merge_other_listings(dir, entries);
    if (dir.sel) {
      co_await check_listed_names(dir, entries);
      co_await add_names_from_other_bases(dir, entries);
    }
  } else {
    entries = co_await selected_entries(dir);
  }
  // Leaves the directory in a filter list when sync_dir ends, however it ends.
  struct PopOnExit {
    explicit PopOnExit(std::optional<FilterList>* l) : list(l) {}
    PopOnExit(const PopOnExit&) = delete;
    PopOnExit& operator=(const PopOnExit&) = delete;
    ~PopOnExit() {
      if (*list) (*list)->pop_dir();
    }
    std::optional<FilterList>* list;
  };
  std::optional<PopOnExit> pop_sender, pop_receiver;
  if (filtering_) {
    if (FilterStatus st = sender_->push_dir(dir_key(dir.rel), filter_base(dir.base)); !st) {
      rep_.fatal(st.error().message, st.error().kind == FilterError::Kind::kFileIo ? kExitFileIo : kExitUsage);
    }
    pop_sender.emplace(&sender_);
    if (dir.dst.valid() && !dir.dst_new) {
      if (FilterStatus st = receiver_->push_dir(dir_key(dir.rel)); !st) {
        rep_.fatal(st.error().message, st.error().kind == FilterError::Kind::kFileIo ? kExitFileIo : kExitUsage);
      }
      pop_receiver.emplace(&receiver_);
    }
    if (rep_.stopped()) co_return;
    // (Implied directories are not filtered: rsync sends them for the named items below.)
    std::erase_if(entries, [&](const Entry& e) { return !e.implied && hidden_by_sender(dir.rel + e.name, e.is_dir()); });
  }
  // (With a list, a subdirectory is walked where the list names things in it, -r or not.)
  auto walked = [&](const Entry& e) { return walks_into(dir.sel ? view_below(*dir.sel, e) : std::nullopt); };
  uint32_t listed_up_to = deletion_pass_ ? 0 : out_.number_listing(entries, dir.rel.empty(), dir.listed, walked);
  // Directories this run does not copy are reported while listing, before the directory's line
  // (rsync's sender leaves them out of its list); other kinds stay in the list, so that --delete
  // leaves their names alone, and are reported in their place among the files, as rsync's
  // generator does.
  for (Entry& e : entries) e.not_copied = !e.implied && !copies_kind(e);
  std::erase_if(entries, [&](const Entry& e) {
    if (!e.not_copied || !e.is_dir()) return false;
    say_skipped_dir(dir.rel + e.name);
    return true;
  });
  // -L and friends: the directories on the way here, to see a link that leads back to one.
  ancestors_.push_back(inode_key(src_st));
  struct PopAncestor {
    explicit PopAncestor(std::vector<InodeKey>& a) : stack(a) {}
    PopAncestor(const PopAncestor&) = delete;
    PopAncestor& operator=(const PopAncestor&) = delete;
    ~PopAncestor() { stack.pop_back(); }
    std::vector<InodeKey>& stack;
  } pop_ancestor(ancestors_);
  // -m, and implied directories of names that all turned out missing or excluded: directories
  // that would end up empty are not sent at all.
  if (opt_.prune_empty_dirs || dir.sel) co_await prune_dirs(dir, entries);
  co_await open_other_bases(dir, entries);
  if (dir.unsent) {
    co_await count_unsent_entries(dir, entries);
    co_return;
  }

  // The directory's own line is decided before its deletions (which change its times; they are
  // made good when its attributes are set after the contents), as rsync does.
  WantedAttrs want = wanted_attrs(opt_, src_st, created, umask_);
  ItemChange change{created ? ItemChange::Update::kLocalChange : ItemChange::Update::kNoUpdate,
                    ItemChange::Type::kDir, created};
  if (deletion_pass_) {
    if (whole) {
      co_await delete_pass_dir(dir, entries);
    } else {
      co_await delete_pass_selected(dir, entries);
    }
    co_return;
  }
  if (dir.listed) {
    if (!created && dir.dst.valid()) {
      auto now = co_await fs::statx(dir.dst.get(), "", AT_EMPTY_PATH, kStatxMask);
      if (now) compare_attrs(opt_, want, *now, change);
    } else if (!created && dir.dst_outside) {
      // -K, a link out of DEST: compared with what it leads to, as rsync does; never changed.
      auto now = co_await fs::statx(dir.link_dir, dir.link_name, 0, kStatxMask);
      if (now) compare_attrs(opt_, want, *now, change);
    }
    if ((opt_.xattrs || opt_.acls) && dir.dst.valid()) {
      auto x = co_await sync_xattrs(opt_, XattrTarget::of_fd(dir.src.get()), XattrTarget::of_fd(dir.dst.get()),
                                    created, opt_.dry_run);
      if (x) {
        change.xattr = x->xattrs_differ;
        change.acl = x->acls_differ;
      } else {
        rep_.file_error("xattrs", display, x.error());
      }
    }
    rep_.stats().files.add(S_IFDIR);
    if (created) rep_.stats().created.add(S_IFDIR);
    bool changed = created || change.perms || change.owner || change.group || change.time || change.xattr || change.acl;
    // A new directory found in a --link-dest/--compare-dest/--copy-dest is itemized against it
    // (found unchanged there: listed with -ii only).
    bool matched = false;
    if (created) matched = co_await basis_for_dir(dir.rel, src_st, XattrTarget::of_fd(dir.src.get()), want, change);
    if (matched) changed = false;
    if (changed || opt_.itemize > 1) print(change, display, src_st, dir.base);
    if (matched) out_.basis_dir_uptodate(display);
  }

  std::vector<Work> files, dirs;
  {
    // Only while the Works are made: what the destination has is in them afterwards.
    NameList existing;
    if (whole && dir.dst.valid() && !dir.dst_new && !co_await list_and_prune_dest(dir, entries, existing, &ahead.names)) {
      co_return;
    }
    // A directory made just now has nothing to delete, but rsync looks (and says why it will
    // not) all the same.
    if (whole && dir.dst.valid() && dir.dst_new && deletes_in_this_pass()) deletion_blocked();
    std::vector<Entry*> dir_entries;
    for (Entry& e : entries) {
      if (e.is_dir()) dir_entries.push_back(&e);
    }
    sort_dirs(dir_entries, dir.rel.empty());
    files.reserve(entries.size() - dir_entries.size());
    dirs.reserve(dir_entries.size());
    auto add = [&](std::vector<Work>& to, Entry& e) {
      Work& w = to.emplace_back(&e, e.name);
      if (size_t at = existing.find(e.name); at != NameList::npos) {
        w.dst_present = true;
        w.dst_type = existing.type(at);
      }
      if (e.not_copied && !deletion_pass_) {
        if (out_.says_skipped_nonregular()) w.line = "skipping non-regular file \"" + dir.rel + e.name + "\"";
        // Still in rsync's file list: counted, and a symlink's length in the total size.
        count_in_totals(e);
      }
    };
    for (Entry& e : entries) {
      if (!e.is_dir()) add(files, e);
    }
    for (Entry* e : dir_entries) add(dirs, *e);
  }
  // A directory that is not sent whole is not listed in the destination either (it may be
  // large, and nothing in it is deleted): each named item is looked up by its name.
  if (!whole && dir.dst.valid() && !dir.dst_new) {
    co_await stat_dest_entries(dir, files);
    co_await stat_dest_entries(dir, dirs);
  }
  // -H: members of hard-link groups depend on each other in list order, so they go one at a
  // time after the others (which only changes when, not what, they print).
  std::vector<size_t> plain, linked;
  for (size_t i = 0; i < files.size(); ++i) {
    if (files[i].src->not_copied) continue;
    bool member = opt_.hard_links && links_.find(files[i].src->st) != nullptr;
    (member ? linked : plain).push_back(i);
  }
  co_await probe_partial_dir(dir);  // --partial-dir: once per directory, not per file
  if (out_.live_progress()) {  // --progress: one at a time, each printed as it is done
    co_await sync_in_order(dir, files, linked);
    plain.clear();
    linked.clear();
  }
  co_await parallel_for(plain.size(), kEntriesInFlight, [&](size_t i) {
    Work& w = files[plain[i]];
    return sync_nondir(pair_for(dir, *w.src), w);
  });
  for (size_t i : linked) {
    if (interrupted()) break;
    HardLinkGroup* group = links_.find(files[i].src->st);
    if (group != nullptr) co_await sync_linked(pair_for(dir, *files[i].src), files[i], *group);
  }
  for (Work& w : files) print_work(w);
  out_.listing_done(listed_up_to);
  for (Work& w : dirs) {
    if (rep_.stopped() || interrupted()) co_return;
    co_await sync_subdir(pair_for(dir, *w.src), w);
  }

  // Times and modes last: writing the contents changed the mtime, and a read-only mode would
  // have stopped us writing.
  if (dir.listed) co_await set_dir_attrs(dir, want, display);
}

// rsync compares directory names as "name/": "a.d/" comes before "a/". (-R with absolute
// sources: rsync's names keep their leading '/' while it sorts, so "/usr/" sorts first.)
void Syncer::sort_dirs(std::vector<Entry*>& dirs, bool root) const {
  auto key = [&](const Entry* e) {
    bool absolute = root && absolute_tops_.contains(e->name);
    return (absolute ? "/" : "") + e->name + "/";
  };
  std::sort(dirs.begin(), dirs.end(), [&](const Entry* a, const Entry* b) { return key(a) < key(b); });
}

// The attributes of a directory of the walk, once its contents are done.
Task<void> Syncer::set_dir_attrs(DirPair& dir, const WantedAttrs& want, const std::string& display) {
  if (opt_.dry_run) co_return;
  if (dir.link_dir >= 0) {
    co_await set_dirlink_attrs(dir, want, display);
    co_return;
  }
  if (!dir.dst.valid()) co_return;
  auto after = co_await fs::statx(dir.dst.get(), "", AT_EMPTY_PATH, kStatxMask);
  const struct statx* now = after ? &*after : nullptr;
  WantedAttrs kept = now != nullptr ? keeping_close_mtime(opt_, want, *now) : want;
  auto r = co_await apply_attrs_fd(dir.dst.get(), mode_until_late_deletions(dir.rel, final_dir_attrs(kept, now)), now);
  if (!r) rep_.file_error("set attributes of", display, r.error());
}

// Not root, a directory whose mode keeps its owner out, and --delete-after/-delay still to
// delete in it: it stays open to its owner (u+rwx) until they are done, as rsync's directories
// do until its final touch-up (restore_late_modes).
WantedAttrs Syncer::mode_until_late_deletions(const std::string& rel, WantedAttrs want) {
  bool late = opt_.delete_timing == DeleteTiming::kAfter || opt_.delete_timing == DeleteTiming::kDelay;
  if (!late || deletion_pass_ || opt_.dry_run || my_euid() == 0 || !want.set_mode) return want;
  if ((want.mode & S_IRWXU) == S_IRWXU) return want;
  late_modes_[rel] = want.mode;
  want.mode |= S_IRWXU;
  return want;
}

Task<void> Syncer::restore_late_modes() {
  if (!deletion_pass_) co_return;
  while (!late_modes_.empty()) {
    auto it = late_modes_.begin();
    const std::string& rel = it->first;
    fs::Fd dir = co_await open_below_root(false, rel);
    WantedAttrs want;
    want.mode = it->second;
    want.set_mode = true;
    // (No co_await inside ?: here: GCC 12 destroys such a temporary twice.)
    Result<void> r = std::make_error_code(std::errc::no_such_file_or_directory);
    if (dir.valid()) r = co_await apply_attrs_fd(dir.get(), want, nullptr);
    if (!r) rep_.file_error("set attributes of", rel.empty() ? std::string(".") : rel, r.error());
    late_modes_.erase(it);
  }
}

// As rsync: once the source could not be read completely, deleting could remove what only
// looks extraneous; --ignore-errors deletes anyway. Said once, where the first deletion would be.
bool Syncer::deletion_blocked() {
  if (!io_error_ || opt_.ignore_errors) return false;
  if (!said_skipping_deletion_) {
    // (On stdout, as rsync's; -q silences it.)
    if (!opt_.quiet) rep_.line("IO error encountered -- skipping file deletion");
    rep_.raise(kExitPartial);
    said_skipping_deletion_ = true;
  }
  return true;
}

// What the destination directory holds, less the temp files of a killed run (which go); when
// this walk deletes, what the source does not have goes too. False if it cannot be listed.
Task<bool> Syncer::list_and_prune_dest(DirPair& dir, const std::vector<Entry>& entries, NameList& existing,
                                       std::optional<Result<NameList>>* read_before) {
  {
    std::optional<Result<NameList>> dst_list;
    if (read_before != nullptr) dst_list = std::move(*read_before);
    if (!dst_list) dst_list = co_await read_names(dir.dst.get());
    if (!*dst_list) {
      rep_.file_error("opendir", dir.rel.empty() ? "." : dir.rel, dst_list->error());
      co_return false;
    }
    existing = std::move(**dst_list);
    // Temp files of a killed run: only those named after an item this run copies, so that a
    // user's own file that merely looks like one is left alone.
    // A name the source has is never a temp file, whatever it looks like.
    auto ours = [&](std::string_view name) {
      if (!is_stale_temp(name)) return false;
      auto same = [&](const Entry& s) { return s.name == name; };
      if (std::any_of(entries.begin(), entries.end(), same)) return false;
      std::string_view base = name.substr(1, name.size() - 11);
      return std::any_of(entries.begin(), entries.end(),
                         [&](const Entry& s) { return std::string_view(s.name).substr(0, base.size()) == base; });
    };
    for (size_t i = 0; i < existing.size(); ++i) {
      if (ours(existing.name(i)) && !opt_.dry_run) co_await fs::unlinkat(dir.dst.get(), existing.c_name(i), 0);
    }
    existing.erase_if(ours);
    if (deletes_in_this_pass() && !deletion_blocked()) co_await delete_extraneous(dir, entries, existing);
  }
  co_return true;
}

Task<void> Syncer::sync_subdir(DirPair& parent, Work& work) {
  Entry& e = *work.src;
  std::string rel = parent.rel + e.name + "/";  // (DEST may name it: settle_dest())
  // With a list: what it says about this directory (none: walk it whole with -r, as usual).
  bool in_list = parent.sel && !parent.sel->full;
  std::optional<SelView> child_sel;
  if (parent.sel) child_sel = view_below(*parent.sel, e);
  bool enters = walks_into(child_sel);
  // -x: each named directory of a list starts on its own device, as each source does.
  if (in_list && !e.implied) root_dev_ = device_of(e.st);
  bool mount_point = !in_list && opt_.one_file_system > 0 && device_of(e.st) != root_dev_;
  if (mount_point && opt_.one_file_system > 1) co_return;
  if (deletion_pass_) {
    co_await delete_pass_subdir(parent, work, child_sel, enters);
    co_return;
  }
  bool listed = !(e.implied && !opt_.implied_dirs);
  if (parent.unsent) {
    // (A listing walks an implied directory under --no-implied-dirs for the names below it.)
    if (listed || listing_) {
      co_await count_unsent_dir(parent, e, rel, child_sel, enters && !mount_point, parent.dst_blocked, listed);
    }
    co_return;
  }
  if (parent.dst_outside && !opt_.dry_run && listed) {
    // -K: the parent is a link that leads out of DEST. rsync's mkdir there fails (ELOOP) and
    // nothing below is sent; nothing is written outside DEST here either.
    print(ItemChange{ItemChange::Update::kLocalChange, ItemChange::Type::kDir, true}, rel, e.st, e.base);
    rep_.file_error("mkdir", rel, std::make_error_code(std::errc::too_many_symbolic_link_levels));
    co_return;
  }
  // An implied directory under --no-implied-dirs below such a link: nothing is made for it;
  // the named items below fail in their turn.
  bool outside = parent.dst_outside && !opt_.dry_run;
  unsigned char dst_type = work.dst_present ? work.dst_type : static_cast<unsigned char>(DT_UNKNOWN);
  if (work.dst_present && dst_type == DT_UNKNOWN && parent.dst.valid()) {
    auto st = co_await fs::statx(parent.dst.get(), work.dst_name, AT_SYMLINK_NOFOLLOW, STATX_TYPE);
    if (st) dst_type = IFTODT(st->stx_mode);
  }
  bool exists_as_dir = work.dst_present && dst_type == DT_DIR;
  // -K (and --no-implied-dirs): a symlink to a directory stands for the directory, when it
  // stays inside DEST.
  DirLink link = outside ? DirLink::kOutside : DirLink::kNone;
  fs::Fd link_fd;
  if (work.dst_present && dst_type == DT_LNK && (opt_.keep_dirlinks || !listed) && parent.dst.valid()) {
    link = co_await dest_dirlink(parent, work.dst_name, rel, link_fd);
  }
  if (link != DirLink::kNone) exists_as_dir = true;
  // --ignore-existing: an existing non-directory stays, and so does the subtree; --existing
  // creates nothing where nothing is, not even directories (a non-directory in the way is
  // replaced, as rsync does: something exists under the name).
  ItemLine skip_note;
  bool in_the_way = work.dst_present && !exists_as_dir && dst_type != DT_UNKNOWN;
  bool skipped = !exists_as_dir && skipped_for_existence(in_the_way, parent, work, true, skip_note);
  if (!skipped && in_the_way && !co_await remove_in_the_way(parent, work, false)) co_return;
  if (skipped) {
    out_.emit(skip_note);
    if (listed) co_await count_unsent_dir(parent, e, rel, child_sel, enters && !mount_point, in_the_way);
    // rsync's final touch of the directory's time lands on the non-directory kept in its place.
    if (listed && in_the_way && opt_.times && !opt_.omit_dir_times && !opt_.dry_run && parent.dst.valid()) {
      WantedAttrs dir_time;
      dir_time.mtime = e.st.stx_mtime;
      dir_time.set_mtime = true;
      auto r = co_await apply_attrs_at(parent.dst.get(), work.dst_name, false, dir_time, nullptr);  // the time alone
      if (!r) rep_.file_error("set times of", without_trailing_slash(rel), r.error());
    }
    co_return;
  }
  DirPair child;
  child.rel = rel;
  child.sel = child_sel;
  child.base = e.base;
  child.order = child_order(parent, e);
  if (walked_whole(child_sel)) child.merged = co_await merged_below(parent, e);
  child.listed = listed;
  child.links = parent.links + (e.followed ? 1 : 0);
  std::error_code not_entered;  // made and itemized, like rsync, but not entered
  if (e.followed) not_entered = enter_followed(e, child.links);
  // A directory that is not walked (-d, a list without -r, a mount point under -x) is not
  // opened either: rsync does not read it, so one it could not read is no error there. Nor is
  // one that DEST names (settle_dest()): nothing below it is sent.
  bool walked = enters && !mount_point && !dest_names_item_;
  bool unreadable = false;
  if (!not_entered && walked) {
    int nofollow = e.followed || e.implied ? 0 : O_NOFOLLOW;  // implied directories: followed, as rsync does
    if (!co_await open_child_source(parent, e, nofollow, rel, child, not_entered)) co_return;
    unreadable = static_cast<bool>(not_entered);
  }
  if (not_entered) io_error_ = true;
  // rsync still looks for deletions in a directory it could not read, and says why it makes none.
  if (not_entered && walked && !deletion_pass_ && deletes_in_this_pass()) deletion_blocked();
  bool created = !exists_as_dir;
  if (link != DirLink::kNone) {
    child.link_dir = parent.dst.get();
    child.link_name = work.dst_name;
    child.dst_outside = link == DirLink::kOutside;
    child.dst = std::move(link_fd);
  } else if (!opt_.dry_run && parent.dst.valid()) {
    if (created) {
      // An implied directory under --no-implied-dirs gets rsync's default mode (0777 - umask).
      mode_t mode = listed ? 0700 : 0777 & ~umask_;
      auto made = co_await fs::mkdirat(parent.dst.get(), work.dst_name, mode);
      if (!made && made.error() != std::errc::file_exists) {
        rep_.file_error("mkdir", rel, made.error());
        co_return;
      }
    }
    auto dst = co_await fs::openat(parent.dst.get(), work.dst_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (!dst) {
      rep_.file_error("opendir", rel, dst.error());
      co_return;
    }
    child.dst = std::move(*dst);
  } else if (!created && parent.dst.valid()) {
    auto dst = co_await fs::openat(parent.dst.get(), work.dst_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (dst) child.dst = std::move(*dst);
  }
  child.dst_new = created;
  if (!walked || not_entered) {
    // -d, a mount point under -x, or a named directory alone: the directory itself.
    if (listed) {
      ItemChange change{created ? ItemChange::Update::kLocalChange : ItemChange::Update::kNoUpdate,
                        ItemChange::Type::kDir, created};
      WantedAttrs want = wanted_attrs(opt_, e.st, created, umask_);
      const struct statx* now = nullptr;
      struct statx now_st {};
      if (!created && child.dst.valid()) {
        auto st = co_await fs::statx(child.dst.get(), "", AT_EMPTY_PATH, kStatxMask);
        if (st) {
          now_st = *st;
          now = &now_st;
          compare_attrs(opt_, want, now_st, change);
        }
      }
      rep_.stats().files.add(S_IFDIR);
      if (created) rep_.stats().created.add(S_IFDIR);
      bool changed = created || change.perms || change.owner || change.group || change.time;
      if (changed || opt_.itemize > 1) print(change, rel, e.st, e.base);
      if (unreadable) co_await delete_in_unreadable(child);
      if (!opt_.dry_run && child.link_dir >= 0) {
        co_await set_dirlink_attrs(child, want, rel);
      } else if (!opt_.dry_run && child.dst.valid()) {
        auto r = co_await apply_attrs_fd(child.dst.get(), mode_until_late_deletions(rel, final_dir_attrs(want, now)), now);
        if (!r) rep_.file_error("set attributes of", rel, r.error());
      }
    }
    if (not_entered) rep_.file_error("opendir", rel, not_entered);
    co_return;
  }
  co_await sync_dir(std::move(child), e.st, created, rel);
}

void Syncer::print_work(Work& work) {
  out_.emit(work.line);
  if (work.more) {
    for (ItemLine& l : *work.more) out_.emit(l);
    work.more.reset();
  }
}

Task<void> Syncer::sync_nondir(DirPair& dir, Work& work) {
  if (interrupted()) co_return;
  Entry& e = *work.src;
  if (e.not_copied) co_return;  // a kind this run does not copy: only its note is printed
  std::string rel = dir.rel + work.src->name;  // rsync names the source item
  if (dir.dst_outside) {
    // -K, a link out of DEST: rsync cannot look at anything behind it (ELOOP), nor can we.
    rep_.file_error("stat", rel, std::make_error_code(std::errc::too_many_symbolic_link_levels));
    co_return;
  }
  count_in_totals(e);
  struct statx dst_st {};
  const struct statx* dst = nullptr;
  if (work.dst_present && e.dst_seen != nullptr && work.dst_name == e.name) {
    dst_st = *e.dst_seen;  // looked up beside the source's (stat_both_sides)
    dst = &dst_st;
  } else if (work.dst_present && dir.dst.valid()) {
    auto st = co_await fs::statx(dir.dst.get(), work.dst_name, AT_SYMLINK_NOFOLLOW, kStatxMask);
    if (st) {
      dst_st = *st;
      dst = &dst_st;
    } else {
      work.dst_present = false;
    }
  }
  if (dst != nullptr && skipped_for_existence(true, dir, work, false, work.line)) {  // whatever its type
    work.outcome = Work::Outcome::kSkipped;
    co_return;
  }
  // A destination of another type is removed first (a directory only with --delete/--force).
  if (dst != nullptr && (dst->stx_mode & S_IFMT) != e.type()) {
    if (!co_await remove_in_the_way(dir, work, S_ISDIR(dst->stx_mode))) co_return;
    dst = nullptr;
    work.dst_replaced = true;
  }
  if (e.is_reg()) {
    co_await sync_regular(dir, work, dst);
  } else if (e.is_symlink()) {
    co_await sync_symlink(dir, work, dst);
  } else {
    co_await sync_special(dir, work, dst);
  }
  // -vv: the backup of what was there is said after the item's line, as rsync's receiver does.
  if (ItemLine kept = take_backup_note(rel); !kept.empty()) work.more_lines().push_back(std::move(kept));
  if (removes_source(work.sent)) co_await remove_source_of(dir, work);  // --remove-source-files
}

void Syncer::count_in_totals(const Entry& e) {
  rep_.stats().files.add(e.st.stx_mode);
  // rsync counts a symlink's target in the total size too
  if (e.is_reg() || e.is_symlink()) rep_.stats().total_size += e.st.stx_size;
}

Task<void> Syncer::count_unsent_dir(DirPair& parent, Entry& e, const std::string& rel, std::optional<SelView> sel,
                                    bool walked, bool blocked, bool listed) {
  // A directory below a non-directory kept by --ignore-existing: rsync itemizes it as made,
  // fails to make it and says nothing of what is below; in a dry run, where it makes nothing,
  // it goes on as into any new directory (sync_dir prints and counts it and what it holds).
  bool new_in_dry_run = parent.dst_blocked && opt_.dry_run && walked;
  if (listing_) {
    if (listed) list_line(e.st, without_trailing_slash(rel), {});
  } else if (!new_in_dry_run) {
    rep_.stats().files.add(S_IFDIR);
  }
  if (parent.dst_blocked) {
    if (!new_in_dry_run) print(ItemChange{ItemChange::Update::kLocalChange, ItemChange::Type::kDir, true}, rel, e.st, e.base);
    if (!opt_.dry_run) {
      rep_.file_error("mkdir", without_trailing_slash(rel), std::make_error_code(std::errc::not_a_directory));
      rep_.error_line("*** Skipping any contents from this failed directory ***", kExitPartial);
    }
  }
  if (!walked || interrupted()) co_return;
  DirPair child;
  child.dst_blocked = blocked && !parent.dst_blocked;  // (below a failed one: nothing is said)
  child.dst_new = new_in_dry_run;
  child.rel = rel;
  child.sel = sel;
  child.base = e.base;
  child.order = child_order(parent, e);
  if (walked_whole(sel)) child.merged = co_await merged_below(parent, e);
  child.links = parent.links + (e.followed ? 1 : 0);
  child.listed = listed;
  child.unsent = !new_in_dry_run;
  // What rsync's sender says of a directory it cannot list, it says here too.
  std::error_code not_entered;
  if (e.followed) not_entered = enter_followed(e, child.links);
  if (!not_entered && !co_await open_child_source(parent, e, e.followed ? 0 : O_NOFOLLOW, rel, child, not_entered)) {
    co_return;
  }
  if (not_entered) {
    io_error_ = true;
    rep_.file_error("opendir", rel, not_entered);
    co_return;
  }
  co_await sync_dir(std::move(child), e.st, new_in_dry_run, rel);
}

// Opens the source directory of `e` (in `parent`) as `child.src`. False when it vanished (said
// here); otherwise true, with `not_entered` set if it could not be opened.
Task<bool> Syncer::open_child_source(const DirPair& parent, const Entry& e, int nofollow, const std::string& rel,
                                     DirPair& child, std::error_code& not_entered) {
  auto src = co_await fs::openat(parent.src.get(), e.name, O_RDONLY | O_DIRECTORY | nofollow);
  if (!src && src.error() == std::errc::no_such_file_or_directory) {
    rep_.vanished(rel);
    co_return false;
  }
  if (src) {
    child.src = std::move(*src);
  } else {
    not_entered = src.error();
  }
  co_return true;
}

Task<void> Syncer::count_unsent_entries(DirPair& dir, std::vector<Entry>& entries) {
  std::vector<Entry*> subdirs;
  for (Entry& e : entries) {
    if (e.is_dir()) {
      subdirs.push_back(&e);
    } else if (listing_) {
      co_await list_item(pair_for(dir, e).src.get(), e, dir.rel + e.name);  // (every kind: rsync lists them all)
    } else if (!e.not_copied) {
      count_in_totals(e);
      // Below a non-directory that --ignore-existing kept: rsync's generator fails to look the
      // file up, says so and exits 23 in the end, so that a script sees it is not there. (A
      // directory there is itemized and fails to be made: count_unsent_dir.)
      if (dir.dst_blocked) rep_.file_error("stat", dir.rel + e.name, std::make_error_code(std::errc::not_a_directory));
    }
  }
  sort_dirs(subdirs, false);
  for (Entry* e : subdirs) {
    if (rep_.stopped() || interrupted()) co_return;
    Work w{e, e->name};
    co_await sync_subdir(pair_for(dir, *e), w);
  }
}

// Whether this run copies items of e's kind (others are skipped with a note, as rsync does).
bool Syncer::copies_kind(const Entry& e) const {
  if (e.is_reg()) return true;
  if (e.is_dir()) return opt_.recursive || opt_.dirs;
  if (e.is_symlink()) return opt_.links;
  if (S_ISCHR(e.st.stx_mode) || S_ISBLK(e.st.stx_mode)) return opt_.devices;
  return opt_.specials;
}

Task<bool> Syncer::remove_in_the_way(DirPair& dir, Work& work, bool is_dir) {
  std::string rel = dir.rel + work.dst_name;
  if (is_dir && opt_.delete_timing == DeleteTiming::kNone && !opt_.force) {
    // rsync only removes a non-empty directory in the way with --delete or --force. A dry run
    // looks inside instead, to say what the real run would.
    Result<void> r;
    if (opt_.dry_run) {
      // (No co_await inside ?: here: GCC 12 destroys such a temporary twice.)
      bool empty = false;
      auto sub = co_await fs::openat(dir.dst.get(), work.dst_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      if (sub) {
        auto listed = co_await list_directory(sub->get());
        empty = listed && listed->empty();
      }
      if (!empty) r = std::make_error_code(std::errc::directory_not_empty);
    } else {
      r = co_await fs::unlinkat(dir.dst.get(), work.dst_name, AT_REMOVEDIR);
    }
    if (!r) {
      // rsync's words: a note in the output at the item's place, an error on stderr.
      work.line = "cannot delete non-empty directory: " + rel;
      rep_.error_line("could not make way for new " + kind_name(*work.src) + ": " + rel, kExitPartial);
      co_return false;
    }
    work.dst_present = false;
    co_return true;
  }
  // The replaced item itself gets no "*deleting" line (rsync's make-room delete); its contents do.
  DeleteResult done = co_await delete_item(dir.dst.get(), work.dst_name, rel, is_dir, DT_UNKNOWN, true);
  if (done != DeleteResult::kDeleted) {
    rep_.error_line("could not make way for new " + kind_name(*work.src) + ": " + rel, kExitPartial);
    co_return false;
  }
  work.dst_present = false;
  co_return true;
}

}  // namespace ringkit::sync
