// Syncer: copies source trees to a destination the way `rsync` does for local paths.
//
// It walks each source depth-first, one directory at a time, and within a directory works on
// many entries at once (each a chain of engine operations: stat, open, read, write, set
// attributes, rename), so the ring stays full while memory holds only the directories on the
// current path. Output follows rsync's order exactly: a directory's deletions, its own line,
// its non-directory entries in byte order, then each subdirectory in turn.
//
// Writes are safe: a new regular file is written as an unnamed O_TMPFILE and linked in when
// complete; a replaced one is written to ".NAME.XXXXXX" beside it and renamed over it (temp
// files left by a killed run are removed by the next one). Directory times and modes are set
// after their contents. Nothing is followed through a symlink in the destination. Where the
// data goes instead with --temp-dir, --partial-dir, --delay-updates, --backup-dir and the
// basis directories is in write_dirs.h.
//
// Two executors: the walk, every decision, the output, statistics, filters and hard-link groups
// stay on the executor thread that runs the Syncer (its home). The plain write of a small
// regular file (open the source, open a temp file, copy, set attributes, link or rename it in)
// hops to a second executor on a worker thread and back, so that a second core works; what it
// reports is reported at home after the hop back (transfer_worker.cc says which writes hop).
// The worker is started with the first file handed to it: a run that writes nothing runs on one
// thread. RINGKIT_SYNC_THREADS=1, or a process allowed one CPU, keeps everything at home.
//
// Thread affinity: runs on one executor thread (and its worker, as above).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <map>
#include <set>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "ringkit/executor_thread.h"
#include "ringkit/fs.h"
#include "ringkit/task.h"
#include "sync/attrs.h"
#include "sync/entry.h"
#include "sync/chmod.h"
#include "sync/data_copy.h"
#include "sync/filter.h"
#include "sync/hardlinks.h"
#include "sync/item_output.h"
#include "sync/itemize.h"
#include "sync/name_list.h"
#include "sync/options.h"
#include "sync/paths.h"
#include "sync/report.h"
#include "sync/selection.h"
#include "sync/threads.h"
#include "sync/write_dirs.h"

namespace ringkit::sync {

// Builds the filter rules of a command line, in order (-C last, as rsync does). The error
// carries rsync's message and its exit code (1 for a bad rule, 11 for an unreadable file).
struct FilterSetupError {
  std::string message;
  int exit_code;
};
std::variant<FilterList, FilterSetupError> build_filters(const Options& opt);

// How deleting one item went (rsync's delret).
enum class DeleteResult { kDeleted, kNotEmpty, kAtLimit, kFailed };

// The pre-pass's view of where a directory is read from: Syncer::DirPair's base and merged.
struct ScanFrom {
  uint32_t base = 0;
  std::vector<uint32_t> merged;
};

// The same directory opened in the other bases that merge into it (merge_listings_quietly).
struct MergedDirs {
  std::vector<std::pair<uint32_t, fs::Fd>> fds;
  // The descriptor to read entries from `base` in (`own`: the directory's own).
  int fd_of(uint32_t base, int own) const {
    for (const auto& [b, fd] : fds) {
      if (b == base) return fd.get();
    }
    return own;
  }
};

class Syncer {
 public:
  // `filters` as build_filters() made them (an empty list when no filter option was given).
  Syncer(const Options& opt, Reporter& reporter, FilterList filters);

  // Runs the whole transfer. The outcome is in the reporter (lines, errors, exit code).
  Task<void> run();

  // Set (to the signal number) by a SIGINT/SIGTERM/SIGHUP handler: the run starts no new
  // directory or file, lets what is in flight finish, and ends with exit code 20.
  static std::atomic<int> interrupt_signal;

  // Its output (--out-format, --log-file, progress): the closing lines come after --stats.
  ItemOutput& output() { return out_; }
  // When the transfer began: after the pre-pass, if the run makes one (--stats' file-list
  // generation time). The run's start until run() gets there.
  std::chrono::steady_clock::time_point transfer_started() const { return transfer_started_; }

 private:
  struct DirPair {
    fs::Fd src;
    fs::Fd dst;           // invalid when the destination directory does not exist (dry run)
    bool dst_new = false; // created by this run: holds nothing we need to compare or delete
    std::string rel;      // path below the transfer root, "" or ending in '/'
    // -R/--files-from (selected.cc): what the list names below this directory; none: the
    // directory is walked whole (with -r) as without a list.
    std::optional<SelView> sel;
    uint32_t base = 0;    // -R: the base its source directory is read from (as Entry::base)
    // A list's directory walked whole: the place in the list of the name that sends it from
    // `base` (SelectedName::order). A name the list gives from another base for one of its
    // entries wins over the entry when it comes earlier (add_names_from_other_bases).
    uint32_t order = 0;
    bool listed = true;   // the directory itself is an item (not the unnamed root of a list, nor
                          // an implied directory under --no-implied-dirs): its line, its attributes
    int links = 0;        // -L/-k/--copy-unsafe-links: source symlinks followed on the way here
    // -K (symlinks.cc): the destination directory is a symlink `link_name` in `link_dir` (the
    // parent's descriptor) that resolves inside DEST (dst is then its directory), or outside it
    // (dst_outside: nothing below it is touched, as rsync refuses it too).
    int link_dir = -1;
    std::string link_name;
    bool dst_outside = false;
    // --existing/--ignore-existing skipped the directory: it is walked for rsync's totals alone
    // (rsync's sender lists what its receiver then skips), nothing below it is touched.
    bool unsent = false;
    // --ignore-existing kept a non-directory where this unsent directory would be: each item in
    // it fails, as in rsync (count_unsent_entries, count_unsent_dir).
    bool dst_blocked = false;
    std::vector<std::unique_ptr<DirPair>> others;  // the same directory in other bases (-R /a/./x /b/./y)
    // Other bases that send this directory whole too ("a/ b/ DEST", -R a/./x b/./x), in order:
    // its entries are the union of theirs (merge_other_listings).
    std::vector<uint32_t> merged;
    std::optional<bool> dst_default_acl;  // create_mode(): dst has a default ACL (asked once)
  };
  // One source entry and what is in the destination under its name. Every entry of the
  // directory being synced has one until the directory's files are printed, so it is kept
  // small (48 bytes; a static_assert in sync_dir holds it there): what most entries do not need
  // is behind a pointer.
  // Not assignable (dst_name): made in place in its vector, in the order it is worked on.
  struct Work {
    Entry* src = nullptr;
    // Its name in the destination: the source's own, except for a single item that DEST renames
    // (sync_top_entry). The string outlives the Work.
    const std::string& dst_name;
    ItemLine line;               // the line to print about it, if any (item_output.h)
    // Printed after it: hard links made to this item (-H); made when the first one is.
    std::unique_ptr<std::vector<ItemLine>> more;
    // -H: the item's group, and what handling it as a plain file came to.
    enum class Outcome : unsigned char { kNone, kDeferred, kDone, kSkipped };
    HardLinkGroup* group = nullptr;
    bool dst_present = false;    // the destination listing has this name
    unsigned char dst_type = 0;  // its DT_* type (DT_UNKNOWN on some file systems)
    // An item of another type was removed to make way for it: for --existing, it existed.
    bool dst_replaced = false;
    Outcome outcome = Outcome::kNone;
    // Whether it is in the destination now (rsync's "successful send", which lets
    // --remove-source-files remove the source): its data was written (kData), or it is there
    // without that (kInPlace): found up to date, linked or matched in a basis directory, or a
    // symlink, device or special file made.
    enum class Sent : unsigned char { kNo, kInPlace, kData };
    Sent sent = Sent::kNo;

    std::vector<ItemLine>& more_lines() {
      if (!more) more = std::make_unique<std::vector<ItemLine>>();
      return *more;
    }
  };

  // What DEST is (dest.cc): a directory the items go into, or the name of the one item sent.
  // `selected`/`single`: the run's list, or its one source; a list that comes to one item (or
  // none) is turned into that source. False, with the run stopped, when DEST cannot be that.
  Task<bool> settle_dest(bool& selected, std::optional<SourceArg>& single);
  // What a source puts in rsync's file list, as far as DEST's role depends on it.
  struct SourceItems {
    int count = 0;  // 0, 1, or 2 for "two or more"
    bool is_dir = false;
  };
  // `entries_too`: a list's "dir/", whose entries are sent with it.
  Task<SourceItems> items_of(const SourceArg& source, bool entries_too = false);
  Task<bool> lists_an_entry(const std::string& path, const std::string& rel, std::optional<FilterList>& filters);
  struct DestTally;
  Task<void> count_selection(DestTally& tally);
  Task<int> source_stat_flags(const SourceArg& source);
  Task<void> report_unsent(const SourceArg& source);
  bool in_failed_base(const SourceArg& source) const;
  // DEST is not a directory for the items but the name of the one item sent (or of nothing).
  bool dest_names_item_ = false;
  // The sources of a list that send nothing when DEST names the one item: reported as the
  // transfer starts, before that item.
  std::vector<SourceArg> unsent_sources_;
  // One source without a list (several are a list: selected.cc).
  Task<void> sync_source(const SourceArg& source);
  // The root pair of a transfer into DEST (a directory, `created` by this run): `src_path`
  // opened at `src_at` (named `src_name` in an error) and DEST, which a dry run that would have
  // created it leaves unopened. False when one could not be opened (reported).
  Task<bool> open_root_pair(DirPair& root, int src_at, const std::string& src_path, const std::string& src_name,
                            bool created);
  // -R and --files-from (selected.cc): the list of named items, walked as one tree.
  Task<bool> load_selection();
  Task<bool> read_files_from(Selection& selection, uint32_t base);
  static void add_unrelative(Selection& selection, uint32_t src, const ListedName& name);
  bool fits_open_files_limit(size_t bases);
  Task<void> sync_selection();
  Task<void> scan_selection();
  Task<void> scan_selected_dir(int dirfd, std::string rel, SelView view, FilterList* filters);
  Task<void> scan_listed_child(const std::string& rel, const SelView& view, const SelChild& c, FilterList* filters);
  Task<std::vector<Entry>> selected_entries(DirPair& dir);
  Task<void> stat_selected(DirPair& dir, Entry& e);
  Task<void> open_other_bases(DirPair& dir, const std::vector<Entry>& entries);
  Task<DirPair*> other_base(DirPair& dir, uint32_t base);
  Task<void> merge_other_listings(DirPair& dir, std::vector<Entry>& entries);
  // The same for the pre-pass and -m's look-ahead, which only note errors (scan_error).
  Task<MergedDirs> merge_listings_quietly(const std::string& rel, const std::vector<uint32_t>& merged,
                                          std::vector<Entry>& entries);
  Task<std::error_code> add_other_listing(int fd, uint32_t base, const std::string& rel, std::vector<Entry>& entries,
                                          bool quiet);
  // Whether a subdirectory with this view of the list below it is walked: where the list sends
  // it whole or names things in it; with no list, with -r.
  bool walks_into(const std::optional<SelView>& below) const {
    return below ? below->full || !below->empty() : opt_.recursive;
  }
  // Whether a directory with this view of the list is read whole (its own listing) rather than
  // for the names the list holds in it.
  static bool walked_whole(const std::optional<SelView>& sel) { return !sel || sel->full; }
  Task<std::vector<uint32_t>> merged_below(const DirPair& parent, const Entry& e);
  Task<std::vector<uint32_t>> merged_below(const std::optional<SelView>& sel, uint32_t base,
                                           const std::vector<uint32_t>& merged, const std::string& rel,
                                           const Entry& e);
  DirPair& pair_for(DirPair& dir, const Entry& e);
  // -R from several bases: the absolute path of the base a directory of the list comes from,
  // where its per-directory filter files are read (FilterList::push_dir); empty otherwise.
  std::string_view filter_base(uint32_t base) const;
  Task<void> check_listed_names(DirPair& dir, std::vector<Entry>& listed);
  Task<void> stat_dest_entries(DirPair& dir, std::vector<Work>& works);
  // -m and implied directories (prune.cc): whether a directory ends up holding anything.
  Task<void> prune_dirs(DirPair& dir, std::vector<Entry>& entries);
  // `merged`: the other bases that send this directory whole too (DirPair::merged).
  Task<bool> has_content(int parent_fd, const Entry& dir_entry, std::string rel, std::optional<SelView> sel,
                         int links, std::vector<uint32_t> merged);
  bool counts_as_content(const Entry& e, const std::string& rel) const;
  void say_skipped_dir(const std::string& path);
  std::optional<SelView> view_below(const SelView& view, const Entry& e) const;
  Task<void> imply_if_names_below(int dirfd, const SelView& view, Entry& e, const std::string& rel, bool quiet);
  Task<void> add_names_from_other_bases(DirPair& dir, std::vector<Entry>& entries);
  Task<Result<struct statx>> stat_implied_dir(int dirfd, const std::string& name);
  void named_item_failed(uint32_t base, const std::string& path, std::error_code ec);
  Task<void> check_named_item(uint32_t base, const std::string& path);
  uint32_t child_order(const DirPair& parent, const Entry& e) const;
  void names_below_failed(const SelView& view, std::string_view name, std::error_code ec);
  // Symlinks (symlinks.cc): -L, -k, --copy-unsafe-links on the source; -K on the destination.
  bool follows_source_links() const;
  Task<bool> follow_source_link(int dirfd, Entry& e, const std::string& rel, bool quiet);
  std::error_code enter_followed(const Entry& e, int links);
  enum class DirLink { kNone, kInside, kOutside };
  Task<DirLink> dest_dirlink(DirPair& parent, const std::string& name, const std::string& rel, fs::Fd& out);
  Task<void> set_dirlink_attrs(DirPair& dir, const WantedAttrs& want, const std::string& display);
  Task<void> set_dir_attrs(DirPair& dir, const WantedAttrs& want, const std::string& display);
  static std::string sender_root(const SourceArg& source);
  // --list-only (listing.cc; a list's: selected.cc, which walks it as the transfer does).
  Task<void> list_source(const SourceArg& source);
  Task<void> list_selection();
  Task<void> settle_shared_names();
  Task<bool> skip_named_dirs(SelView& view);
  DirPair selection_root(const SelView& view, bool skip_root) const;
  Task<std::optional<FileStat>> stat_selection_root(const DirPair& root);
  bool listing_ = false;  // list_selection() is walking: DirPair::unsent items are listed
  Task<void> list_dir(int dirfd, std::string rel, FilterList* filters, bool recurse, int links = 0);
  Task<void> list_item(int dirfd, const Entry& e, const std::string& path);
  // Prints one item's line (a symlink's `target` with -l) and counts it.
  void list_line(const FileStat& st, const std::string& name, const std::string& target);
  // -H (hardlinks.cc).
  Task<void> scan_source(const SourceArg& source);
  std::optional<FilterList> side_filters(const SourceArg& source) const;
  static bool enter_filtered(FilterList* filters, const std::string& rel, std::vector<Entry>& entries);
  // `list`: -R/--files-from, what the list says of this directory, which is sent whole (with -r,
  // or one level as "dir/"): the names it holds below are checked and scanned as the transfer
  // meets them. `from`: the bases it is read from (DirPair::base and merged).
  Task<void> scan_dir(int dirfd, std::string rel, FilterList* filters, int links = 0,
                      std::optional<SelView> list = std::nullopt, ScanFrom from = {});
  // `failed`: set to the error when the item itself cannot be stat'ed.
  Task<void> quiet_stat(int dirfd, Entry& e, const std::string& rel, std::error_code* failed = nullptr);
  void scan_error(std::error_code ec);
  Task<fs::Fd> open_below_root(bool source, const std::string& rel_dir);
  Task<void> sync_linked(DirPair& dir, Work& work, HardLinkGroup& group);
  Task<void> settle_member(int dst_dirfd, Work& work, const std::string& rel);
  Task<void> copy_stand_in(const std::string& rel, HardLinkGroup& group, std::vector<ItemLine>& lines);
  // True when the member is in place (linked, or on the leader's inode already).
  Task<bool> link_member(int dst_dirfd, const std::string& name, const std::string& rel, const struct statx* dst,
                         const FileStat& src, HardLinkGroup& group, std::vector<ItemLine>& lines);
  Task<void> retouch_dirs();
  Task<Result<struct statx>> source_dir_stat(const std::string& rel);
  WantedAttrs mode_until_late_deletions(const std::string& rel, WantedAttrs want);
  Task<void> restore_late_modes();
  void print_work(Work& work);
  // --progress (item_output_sync.cc): a directory's items one at a time, each printed when done.
  Task<void> sync_in_order(DirPair& dir, std::vector<Work>& files, const std::vector<size_t>& linked);
  Task<void> note_sent(Work& work, int src_fd);
  Task<void> sync_top_entry(int src_parent, Entry entry, const std::string& dst_dir_path,
                            const std::string& dst_name);
  Task<void> sync_dir(DirPair dir, FileStat src_st, bool created, std::string display);
  Task<void> sync_subdir(DirPair& parent, Work& work);
  // A directory skipped by --existing/--ignore-existing, or one below it: counted, and what is
  // below it (when `walked`) counted as DirPair::unsent says.
  // `blocked`: it is skipped because a non-directory is in its place (DirPair::dst_blocked).
  // `listed`: it is an item of the list (not an implied directory under --no-implied-dirs).
  Task<void> count_unsent_dir(DirPair& parent, Entry& e, const std::string& rel, std::optional<SelView> sel,
                              bool walked, bool blocked, bool listed = true);
  Task<bool> open_child_source(const DirPair& parent, const Entry& e, int nofollow, const std::string& rel,
                               DirPair& child, std::error_code& not_entered);
  Task<void> count_unsent_entries(DirPair& dir, std::vector<Entry>& entries);
  // A listed non-directory in rsync's totals (the -v summary, --stats), whatever then happens
  // to it.
  void count_in_totals(const Entry& e);
  // Directories are walked in rsync's order of "name/"; `root`: entries of the transfer root.
  void sort_dirs(std::vector<Entry*>& dirs, bool root) const;
  // A non-directory, then (--remove-source-files) its source removed once it is in place.
  Task<void> sync_nondir(DirPair& dir, Work& work);
  // --remove-source-files (remove_source.cc): whether an item so sent goes from the source, and
  // removing it: `rel` (below the transfer root; its directory is `src_dirfd`), read through a
  // link if `follow`, as it was listed (`listed`), now in the destination as `dst_name` in
  // `dst_dirfd`. Its lines (-vv) go to `lines`.
  bool removes_source(Work::Sent sent) const;
  Task<void> remove_source_of(DirPair& dir, Work& work);  // sync_nondir's item
  Task<void> remove_source(int src_dirfd, const std::string& rel, bool follow, const FileStat& listed,
                           int dst_dirfd, const std::string& dst_name, std::vector<ItemLine>& lines);
  // remove_source() now, or, when --delay-updates holds back `placed_with` (`dst_rel` itself,
  // or the -H leader it is linked to), once finish_delayed() has put it in place.
  Task<void> remove_source_when_in_place(int src_dirfd, const std::string& rel, bool follow, const FileStat& listed,
                                         int dst_dirfd, const std::string& dst_rel, const std::string& placed_with,
                                         std::vector<ItemLine>& lines);
  struct HeldRemoval {
    std::string rel;  // the source item, below the transfer root
    bool follow = false;
    FileStat listed;
  };
  // finish_delayed(): `dst_rel` (in `dst_dirfd`) is in place now; its entry of `held` (taken
  // from held_removals_) is carried out.
  Task<void> remove_source_of_delayed(std::map<std::string, HeldRemoval>& held, const std::string& dst_rel,
                                      int dst_dirfd);
  std::map<std::string, HeldRemoval> held_removals_;  // by destination path, until finish_delayed()
  Task<void> sync_regular(DirPair& dir, Work& work, const struct statx* dst_st);
  struct BasisMatch;
  Task<void> write_regular(DirPair& dir, Work& work, const struct statx* dst, WantedAttrs want,
                           const BasisMatch* copy_from);
  // Two executors (transfer_worker.cc): the plain write of a small file on the worker.
  struct WorkerWrite;
  struct WorkerWritten;
  Executor* worker_for(const Entry& e, const BasisMatch* copy_from);
  Executor* worker_executor();  // the worker, started on first use; nullptr: one thread
  Task<void> write_on_worker(Executor& worker, DirPair& dir, Work& work, bool exists, WantedAttrs want);
  Task<WorkerWritten> write_plain(WorkerWrite job);
  Task<void> write_here(DirPair& dir, Work& work, const struct statx* dst, WantedAttrs want,
                        const BasisMatch* copy_from);
  Task<void> sync_symlink(DirPair& dir, Work& work, const struct statx* dst_st);
  Task<void> sync_special(DirPair& dir, Work& work, const struct statx* dst_st);
  // `prefix_done` (if given) receives how many bytes from the start were written completely.
  Task<Result<void>> copy_data(int src_fd, int dst_fd, uint64_t size, bool punch_holes = false,
                               uint64_t* prefix_done = nullptr, uint64_t src_dev = kUnknownDevice);
  // The same with `lane`'s buffers, on `lane`'s executor thread. `src_dev`, the source's device
  // if known, lets a small file from memory skip the ring (data_copy.h).
  Task<Result<void>> copy_data_on(CopyLane& lane, int src_fd, int dst_fd, uint64_t size, bool punch_holes = false,
                                  uint64_t* prefix_done = nullptr, uint64_t src_dev = kUnknownDevice);
  Task<void> copy_chunk(CopyLane& lane, int src_fd, int dst_fd, uint64_t offset, uint64_t length, bool punch_holes,
                        bool from_memory, Result<void>& outcome, char& finished);
  static Task<Result<void>> write_all(int fd, std::span<const std::byte> data, uint64_t offset);
  struct TempFile;
  Task<void> copy_failed(DirPair& dir, Work& work, TempFile& tmp, uint64_t prefix, WantedAttrs want,
                         std::error_code ec);
  Task<void> abandon(DirPair& dir, const std::string& tmp_name, const std::string& rel, const char* what,
                     std::error_code ec, Work& work);
  Task<bool> same_content(DirPair& dir, Work& work);
  static bool is_unsafe_link(const std::string& target, const std::string& dir_rel);
  // Puts the finished item `tmp` (in `dirfd`) in place of `name`, keeping a backup of what
  // `name` held with -b; `rel` is the item's path below the destination root.
  Task<Result<void>> replace_with(int dirfd, const std::string& tmp, const std::string& name,
                                  const std::string& rel);
  bool is_backup_name(std::string_view name) const;
  bool has_backup_suffix(std::string_view name) const;  // NAME + --suffix, NAME not empty

  // ---- The write side: temp files, installing, backups, partial files, delayed updates and
  // basis directories (install.cc, backup.cc, partial.cc, basis.cc, write_dirs.cc).
  // A regular file being written: unnamed (O_TMPFILE), or under a temp name in `dirfd` (the
  // file's own directory or the --temp-dir).
  struct TempFile {
    fs::Fd fd;
    int dirfd = -1;            // where `name` is (not owned)
    std::string name;          // "" while unnamed
    bool in_temp_dir = false;  // -T: on the temp dir's file system
  };
  // What a --link-dest/--compare-dest/--copy-dest lookup found for an item: rsync's match
  // levels, 0 nothing, 1 the same kind, 2 the same content (or target, or device), 3 the same
  // attributes too.
  struct BasisMatch {
    int level = 0;
    size_t index = 0;    // which basis directory
    struct statx st {};  // the item found there
  };
  Task<bool> open_write_dirs(const std::string& dst_root_path);
  Task<Result<fs::Fd>> open_option_dir(const std::string& path, const std::string& dst_root_path);
  // `mode`: what the temp file is created with (create_mode(); a temp dir's file is 0600).
  Task<Result<TempFile>> open_temp(DirPair& dir, const std::string& name, bool replacing, mode_t mode);
  static Task<Result<TempFile>> open_temp_beside(int dirfd, const std::string& name, bool replacing, mode_t mode);
  // The mode a new file's temp file is created with so that it needs no chmod once written:
  // `want`'s permission bits (ringsync runs with umask 0), or 0600 (the mode is then set after
  // the data) for set-ID and sticky bits (a chown clears them), with -A (an ACL written later
  // sets the group bits), and in a directory with a default ACL (it, not the umask, masks the
  // mode of what is created there; asked once per directory).
  Task<mode_t> create_mode(DirPair& dir, const WantedAttrs& want);
  static Task<Result<void>> install_beside(int dirfd, const std::string& name, bool replace, TempFile& tmp);
  Task<Result<void>> bring_near(DirPair& dir, TempFile& tmp, const std::string& name, uint64_t size);
  static Task<Result<void>> link_unnamed(int fd, int dirfd, const std::string& name);
  static Task<void> discard(TempFile& tmp);
  Task<Result<void>> install_file(DirPair& dir, const std::string& name, bool replace, TempFile& tmp, bool may_delay);
  Task<Result<void>> put_at(TempFile& tmp, int dirfd, const std::string& name);
  Task<void> keep_partial(DirPair& dir, Work& work, TempFile& tmp, uint64_t prefix, WantedAttrs want);
  Task<Result<fs::Fd>> partial_dir_of(int dst_dirfd, bool create);
  Task<void> probe_partial_dir(DirPair& dir);
  void note_partial(const DirPair& dir, const std::string& name);
  Task<void> drop_partial(DirPair& dir, const std::string& name);
  Task<bool> remove_partial_dir(int dst_dirfd);
  Task<void> finish_delayed();
  Task<Result<struct statx>> stat_installed(int dst_dirfd, const std::string& name, const std::string& rel);
  Task<Result<void>> make_backup(int dirfd, const std::string& name, const std::string& rel, bool prefer_rename);
  // make_backup's work, for the item `st` describes.
  Task<Result<void>> place_backup_of(int dirfd, const std::string& name, const std::string& rel, bool prefer_rename,
                                     const struct statx& st);
  Task<Result<void>> backup_by_copy(int dirfd, const std::string& name, const std::string& rel,
                                    const struct statx& st);
  Task<Result<std::shared_ptr<fs::Fd>>> backup_dir_for(const std::string& rel_dir);
  Task<Result<void>> make_backup_root();
  Task<Result<void>> copy_item(int dirfd, const std::string& name, const struct statx& st, int to_dirfd,
                               const std::string& to_name);
  // A lookup in the basis directories: the source item and where it is.
  struct BasisQuery {
    std::string rel;            // below the destination root ("" for the root itself)
    const FileStat* st;         // the source item (after --chmod/--chown)
    XattrTarget xattrs;         // the source item, for -X/-A
    int src_dirfd = -1;         // regular files: the source's directory and name, for -c
    std::string src_name;
    std::string target;         // symlinks: the source's target
  };
  enum class BasisAction { kNone, kDone, kCopy, kCompare };
  Task<BasisMatch> find_basis(const BasisQuery& q);
  Task<bool> basis_attrs_match(const BasisQuery& q, const struct statx& basis, size_t index);
  Task<bool> basis_content_matches(const BasisQuery& q, const struct statx& basis, size_t index);
  Task<void> basis_xattr_letters(const BasisQuery& q, size_t index, ItemChange& change);
  Task<BasisAction> basis_for_regular(DirPair& dir, Work& work, const struct statx* dst, BasisMatch& match);
  Task<bool> link_from_basis(DirPair& dir, Work& work, const BasisMatch& match, bool exists);
  Task<void> basis_regular_line(DirPair& dir, Work& work, const BasisMatch& match, BasisAction action,
                                const WantedAttrs& want);
  Task<BasisAction> basis_for_other(DirPair& dir, Work& work, const std::string& target, const WantedAttrs& want,
                                    ItemChange& change);
  Task<bool> basis_for_dir(const std::string& rel_dir, const FileStat& src_st, const XattrTarget& src_x,
                           const WantedAttrs& want, ItemChange& change);
  Task<void> basis_for_member(const std::string& rel, const FileStat& src, const HardLinkGroup& group,
                              ItemChange& change, bool& quiet);
  static Task<bool> same_file_content(int dirfd_a, const std::string& a, int dirfd_b, const std::string& b,
                                      bool follow_a = false);
  // deletion.cc
  // `d_type`: its kind as the listing gave it, for --stats (DT_UNKNOWN: a file).
  Task<DeleteResult> delete_item(int dirfd, const std::string& name, const std::string& rel, bool is_dir,
                                 unsigned char d_type, bool make_room, bool contents_gone = false);
  Task<DeleteResult> delete_contents(int dirfd, const std::string& name, const std::string& rel, bool merge_files);
  bool at_delete_limit() const;
  // `read_before`: the listing, if it was read already (DestLookAhead::names; taken).
  Task<bool> list_and_prune_dest(DirPair& dir, const std::vector<Entry>& entries, NameList& existing,
                                 std::optional<Result<NameList>>* read_before = nullptr);
  Task<void> delete_pass_dir(DirPair& dir, std::vector<Entry>& entries);
  Task<void> delete_pass_subdir(DirPair& parent, Work& work, std::optional<SelView> sel, bool enters);
  Task<void> delete_pass_selected(DirPair& dir, std::vector<Entry>& entries);
  bool deletes_in_this_pass() const;
  Task<void> delete_in_unreadable(DirPair& dir);
  bool deletion_blocked();
  Task<std::vector<std::pair<Entry, bool>>> deletion_order(int dirfd, std::vector<Entry> items);
  Task<void> delete_extraneous(DirPair& dir, const std::vector<Entry>& src, const NameList& dst);
  Task<bool> remove_in_the_way(DirPair& dir, Work& work, bool is_dir);
  Task<void> stat_entries(int dirfd, std::vector<Entry>& entries, const std::string& rel);
  // A re-sync's lookups on both cores (syncer.cc): the worker executor reads the destination
  // directory and looks up each name in it while home stats the source.
  struct DestLookAhead {
    std::optional<Result<NameList>> names;  // the directory's names, as list_and_prune_dest reads them
    std::vector<struct statx> seen;         // per source entry; stx_mask 0: not there (Entry::dst_seen)
  };
  Executor* dest_look_ahead(const DirPair& dir, size_t entries);
  Task<void> stat_both_sides(DirPair& dir, std::vector<Entry>& entries, Executor& worker, DestLookAhead& ahead);
  Task<void> stat_entries_only(int dirfd, std::vector<Entry>& entries, const std::string& rel);
  static Task<void> look_ahead_in(int dirfd, const std::vector<Entry>& entries, DestLookAhead& out);
  static Task<void> look_up_one(int dirfd, const std::string& name, struct statx& out);
  Task<void> stat_entry(int dirfd, Entry& entry, const std::string& rel);
  bool kind_from_listing_will_do(const Entry& e) const;
  Task<bool> make_path(const std::string& dir);
  Task<std::optional<bool>> create_dest_dir(const std::string& dest, bool something_else_exists);
  // A transfer root is open (`root_dir`: the directory whose contents are synced, "" for a
  // non-directory source), DEST made just now if `dest_created`: -vv says where a deletion
  // pass looks ("deleting in DIR"; rsync makes DEST before its --delete-before pass, which
  // looks in it then), and that the transfer starts.
  void root_ready(const std::string& root_dir, bool dest_created);
  static std::string temp_name(const std::string& name);  // thread-safe
  // `base`: the one the item is read from (Entry::base).
  void print(const ItemChange& change, const std::string& path, const FileStat& st, uint32_t base = 0);
  ItemLine line_for(const ItemChange& change, const std::string& path, const std::string& target,
                    const FileStat& st, const Entry* entry = nullptr, uint32_t base = 0);
  // --existing, --ignore-existing: whether `work`'s item (in `dir`) is left alone for being
  // missing from (or present in) the destination; `line` then says so, at --info=skip (-vv),
  // naming it by its destination path as rsync does (DEST itself, when DEST names the item).
  bool skipped_for_existence(bool exists, const DirPair& dir, const Work& work, bool is_dir, ItemLine& line) const;
  bool skip_by_size(const Entry& e) const;
  void adjust_source(FileStat& st) const;
  void setup_chown();
  bool copies_kind(const Entry& e) const;
  bool interrupted();
  bool excluded(const std::string& rel, bool is_dir) const;
  // excluded() for an entry of the transfer's walk, which at -vv says which rule decided (once:
  // not in a deletion pass, nor in the look-aheads, which call excluded()).
  bool hidden_by_sender(const std::string& rel, bool is_dir);
  // What --delete leaves of `rel`: what the receiver's rules protect, or else, with -b, a
  // backup (rsync adds "P *SUFFIX" after the other rules). Inside a directory being deleted
  // perishable rules do not count (rsync's ignore_perishable). `noted`: at -vv the generator's
  // note says which rule decided.
  bool spared_from_delete(const std::string& rel, bool is_dir, bool in_deleted_dir, bool noted);
  void say_not_empty(const std::string& rel);
  // -b: a file --delete removes is kept as a backup, unless it is one itself (`name`: its base
  // name; rsync's is_backup_file).
  bool keeps_backup_of_deleted(const std::string& name, bool is_dir) const;
  // -vv: the generator checks each name in a destination directory it deletes in against the
  // rules, and says which rule decided ("[generator] protecting file NAME ...").
  void note_dest_filters(const std::string& rel_dir, const NameList& dst);
  // -vv: "backed up REL to PATH", kept until the item's own line is printed (its directory's
  // items are written at once, printed in order) and then taken by take_backup_note(rel).
  // REQUIRES: the home thread (backups are made at home: transfer_worker.cc).
  void backed_up(const std::string& rel);
  ItemLine take_backup_note(const std::string& rel);
  // -vv with --backup-dir: says before the transfer whether DIR is there already.
  Task<void> note_backup_dir();
  static std::string dir_key(const std::string& rel);

  const Options& opt_;
  Reporter& rep_;
  std::map<std::string, std::string> backup_notes_;  // backed_up(), by item, until printed
  FilterList filters_;             // as built from the command line
  std::optional<FilterList> sender_;    // walks the source (reads its merge files)
  std::optional<FilterList> receiver_;  // walks the destination (protects from --delete)
  bool filtering_ = false;
  bool io_error_ = false;                // the source could not be read completely
  bool source_unreadable_ = false;       // the pre-pass found so (scan_error)
  bool said_skipping_deletion_ = false;
  mode_t umask_ = 022;
  uint64_t root_dev_ = 0;   // -x: the source root's device
  ChmodRules chmod_;        // --chmod, applied to source modes
  std::optional<uid_t> chown_uid_;  // --chown, applied to source owners
  std::optional<gid_t> chown_gid_;
  unsigned tmp_counter_ = 0;
  bool deletion_pass_ = false;  // a walk that only deletes (--delete-before/-after/-delay)
  uint64_t deleted_ = 0;          // extraneous items deleted (what --max-delete counts)
  uint64_t skipped_deletes_ = 0;  // deletions --max-delete stopped
  HardLinkTable links_;     // -H: groups of hard-linked source files
  fs::Fd src_root_;         // the transfer roots, which item paths (rel) are relative to
  fs::Fd dst_root_;         // (invalid in a dry run whose destination does not exist yet)
  // --delete-after/-delay, not root: the modes of directories kept open to their owner until
  // the late deletions are done, by path.
  std::map<std::string, mode_t> late_modes_;
  std::set<std::string> retouch_dirs_;  // -H: directories linked into after their times were set
  // -R/--files-from: the named items (the list of names only) and their base directories.
  std::optional<Selection> selection_;
  std::vector<fs::Fd> base_fds_;
  std::vector<std::string> base_roots_;  // their absolute paths, with more than one (filter_base)
  std::set<std::string> absolute_tops_;  // top names of absolute -R sources: lines show "/name/..."
  // -L/-k/--copy-unsafe-links: the source directories on the current path (loops), and how
  // often a followed link led back to one of them (see enter_followed()).
  std::chrono::steady_clock::time_point transfer_started_ = std::chrono::steady_clock::now();
  std::vector<InodeKey> ancestors_;
  uint64_t loop_reentries_ = 0;
  std::set<std::string> reported_unreadable_;  // errors the look-ahead (prune.cc) may meet first: said once
  std::set<std::string> said_skipped_;         // named directories not copied, which it may meet first too
  ItemOutput out_;          // what is printed and logged about each item
  WriteDirs wd_;            // --temp-dir, --backup-dir, --partial-dir, --delay-updates, --*-dest
  // Two executors (transfer_worker.cc): RINGKIT_SYNC_THREADS as read at the start (threads.h);
  // the worker thread, started with the first file or directory look-ahead it takes;
  // `workers_off_`: one thread (set, or one CPU usable), or the worker could not be started.
  // Declared before copy_: the worker's buffers (copy_.worker) go before the worker does.
  std::optional<unsigned> threads_setting_ = sync_threads_from_env();
  size_t look_ahead_min_ = look_ahead_from_env();  // RINGKIT_SYNC_LOOKAHEAD (dest_look_ahead)
  std::unique_ptr<ExecutorThread> worker_;
  bool workers_off_ = false;
  // Writes handed to the worker and not finished there yet (worker_for's balance): raised at
  // home, lowered on the worker thread.
  std::atomic<size_t> worker_backlog_{0};
  static constexpr size_t kWorkerBacklog = 64;
  CopyState copy_;          // how file data is copied (data_copy.cc)
};

}  // namespace ringkit::sync
