// ItemOutput: what ringsync says about each item -- its line on stdout (--out-format, -i, -v),
// its line in the --log-file, its progress -- by rsync 3.5.0's rules, written in file-list
// order.
//
// The syncer decides what happened to an item and makes an ItemLine for it (line()); the line
// is rendered only when it is printed (emit()), in rsync's file-list order, because some of it
// depends on that order: %b counts the bytes rsync's sender would have written for the file
// (its file-list index travels as a difference from the previous one), and progress numbers
// the transfers (xfr#N) and counts what is left (to-chk=M/T). For that the syncer numbers the
// entries of each directory as rsync's file list does (number_listing()), and, when progress
// is asked for, counts the whole list first (FileListTotals; rsync knows it from its list).
//
// rsync's rules, as its log.c and generator apply them to a local copy:
//  - a transferred file is printed always, logged once its data is in place (not in a dry
//    run); with %b/%c/%C in the format it is printed after its data, otherwise before;
//  - another item is printed when the format has %i and anything about it changed (or -ii),
//    when it was created or changed locally (c... lines), when it is a hard link (h...), or
//    when it is a directory whose attributes changed; it is logged too when something about it
//    changed or the log format has %i;
//  - a deletion prints with the format when it has %i or %o, otherwise as "deleting NAME";
//  - at --info=name2 (-vv), unless the format has %i, a non-directory left as it was is
//    "NAME is uptodate", or just "NAME" when only its attributes were set (rsync's
//    set_file_attrs() report); at --info=skip (-vv) an item skipped by -u, --existing,
//    --ignore-existing or a size limit says why. rsync's generator prints these on a channel
//    of their own, so among the other lines they land where its buffering puts them: ringsync
//    prints them where the item's line would be (tests compare them as a sequence apart);
//  - what -vv adds from rsync's debug output: "delta-transmission disabled for local transfer
//    or --whole-file" as the transfer starts, and "total: matches=0  hash_hits=0
//    false_alarms=0 data=N" before the summary, N being the bytes of file data written (rsync's
//    literal data: all of it, as a local copy sends whole files).
// Thread affinity: the executor thread of the run.
#pragma once

#include <sys/stat.h>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sync/entry.h"
#include "sync/itemize.h"
#include "sync/options.h"
#include "sync/out_format.h"
#include "sync/progress.h"
#include "sync/report.h"

namespace ringkit::sync {

// One line of output about an item, or a fixed note ("cannot delete non-empty directory: x").
// Every entry of the directory being synced holds one until the directory's files are printed,
// and most hold none: an empty line is one null pointer (tests/sync/entry_test.cc checks).
class ItemLine {
 public:
  ItemLine() = default;
  ItemLine(std::string note) {  // NOLINT: a note reads as a string
    if (note.empty()) return;
    body_ = std::make_unique<Body>();
    body_->note = std::move(note);
  }
  ItemLine(const char* note) : ItemLine(std::string(note)) {}  // NOLINT

  bool empty() const { return !body_; }
  // A symlink's target shown after a hard link's line (which names no leader).
  void set_symlink_target(std::string target) {
    if (body_ && body_->item) body_->item->symlink_target = std::move(target);
  }
  void clear() { body_.reset(); }

 private:
  friend class ItemOutput;
  struct Body {
    std::string note;
    std::optional<LogItem> item;
    uint32_t ndx = 0;          // rsync's file-list index (for %b)
    uint32_t pos = 0;          // its place in the list (for to-chk)
    bool sent = false;         // its data was written
    bool pre_printed = false;
  };
  std::unique_ptr<Body> body_;  // null: no line
};

// rsync's file list as a whole, counted before the transfer when progress needs it.
struct FileListTotals {
  uint64_t files = 0;  // entries (files, directories, links, specials, "." included)
  uint64_t size = 0;   // regular files' sizes plus symlinks' target lengths
};

class ItemOutput {
 public:
  ItemOutput(const Options& opt, Reporter& rep);

  // Whether lines are wanted at all (on stdout or in the log), and for unchanged items too.
  bool wants_items() const { return stdout_.has_value() || log_.has_value() || info_.progress > 0; }
  bool all_items() const { return opt_.itemize > 1; }
  // "NAME is uptodate" is said (see the header comment).
  bool says_uptodate() const { return info_.name >= 2 && opt_.itemize == 0; }
  // Whether an item that needed nothing still gets a line (-ii, or -vv's "is uptodate").
  bool lists_unchanged() const { return all_items() || says_uptodate(); }
  // -vv: a new directory found exactly so in a basis directory (`display` ends in '/').
  void basis_dir_uptodate(const std::string& display) {
    if (says_uptodate()) rep_.line(display + " is uptodate");
  }
  // The note "why it was skipped" for an item (--info=skip), or no line.
  ItemLine skipped(std::string note) const { return info_.skip > 0 ? ItemLine(std::move(note)) : ItemLine(); }
  // "created directory DEST" is said with names or itemizing on.
  bool names_created_dest() const { return (info_.name > 0 || opt_.itemize > 0) && stdout_.has_value(); }
  bool says_skipped_nonregular() const { return info_.nonreg > 0; }
  // --progress: items are handled in file-list order and printed as soon as they are done, big
  // files one at a time, "live": their name and progress show while they are copied.
  bool live_progress() const { return info_.progress == 1; }
  // Any --progress/--info=progress2 output.
  bool shows_progress() const { return info_.progress > 0; }
  void set_live(bool live) { live_ = live; }
  bool needs_file_list() const { return info_.progress > 0; }
  // %C in a format: transferred files get their checksum computed.
  bool wants_checksum() const { return wants_checksum_; }

  // The line for an item. `target`: a symlink's target, or the leader for a hard link (update
  // kHardLink). `entry`, when given, holds the item's place in the file list and the base it is
  // read from (else `base`).
  ItemLine line(const ItemChange& change, const std::string& path, const std::string& target,
                const FileStat& st, const Entry* entry = nullptr, uint32_t base = 0) const;
  // Prints and logs `line` as rsync would, then clears it.
  void emit(ItemLine& line);
  void deleted(const std::string& path, bool is_dir);

  // The source being copied now: %f names items as the sender has them ("SRC/NAME").
  void set_source(const std::string& path, bool contents);
  // A list's bases (-R, --files-from, several sources): %f names an item below its own.
  void set_sources(std::vector<std::string> bases) { source_roots_ = std::move(bases); }

  // rsync's file-list numbering (see the header comment). number_top: a source named without
  // a trailing slash; number_listing: a directory's entries after filtering, before anything
  // else is dropped; `root`: the transfer root ("SRC/"), which lists "." first.
  void number_top(Entry& entry);
  // Returns the place of the listing's last entry, for listing_done().
  // `listed`: the directory itself is an item (not the unnamed root of a -R list, nor an
  // implied directory under --no-implied-dirs), which takes a place of its own. `walked`: which
  // subdirectories are listed in their turn.
  uint32_t number_listing(std::vector<Entry>& entries, bool root, bool listed,
                          const std::function<bool(const Entry&)>& walked);
  // A directory's own items are all printed: rsync's sender has finished that file list, and
  // --info=progress2 says so.
  void listing_done(uint32_t last_pos);
  // The pre-pass counts each item of the list.
  void count_in_list(const FileStat& st) {
    ++totals_.files;
    if (S_ISREG(st.stx_mode) || S_ISLNK(st.stx_mode)) totals_.size += st.stx_size;
  }

  // A transfer's data is about to be written (`line` is its line); `bytes` more of it were
  // written; its checksum (%C) is known; it was completed.
  void transfer_starting(ItemLine& line, uint64_t size);
  void data_written(uint64_t bytes);
  static void set_checksum(ItemLine& line, const std::array<unsigned char, 16>& sum);
  static void mark_sent(ItemLine& line) {
    if (line.body_) line.body_->sent = true;
  }

  // Lines at the start ("sending incremental file list", the log's "building file list") and
  // at the end (progress2's newline, the -v summary or the log's "sent ... total size").
  // `listing`: --list-only, which says "building file list" even without -r or -d.
  void begin(bool listing);
  // The transfer itself starts (after "created directory" and a --delete-before pass): -vv's
  // "delta-transmission" note, once.
  void transfer_started();
  // -vv: a --delete-before/-after pass deletes in the transfer root `dir`.
  void deleting_in(const std::string& dir);
  // -vv (--info=backup): "backed up NAME to PATH" for each backup made, and, as the transfer
  // starts, "backup_dir is DIR" ("(new) backup_dir is DIR" when it did not exist yet).
  bool says_backups() const { return info_.backup > 0; }
  // --info=remove (-vv): "sender removed NAME".
  bool says_removed() const { return info_.remove > 0; }
  void set_backup_dir_note(std::string note) { backup_dir_note_ = std::move(note); }
  // -vv: which filter rule decided for `name`, as rsync's --debug=filter says it.
  bool notes_filters() const { return info_.debug > 0; }
  // "[sender] hiding file NAME because of pattern P" (showing with an include rule), or from
  // the generator, deciding what --delete spares, "[generator] protecting ..." (risking).
  // REQUIRES: notes_filters().
  void filter_note(bool generator, bool include, bool is_dir, const std::string& name, const std::string& pattern);
  // The transfer is over (before a --delete-after pass and --stats): -vv's "total: ... data=N".
  void transfer_done();
  void end(uint64_t total_size, double seconds);
  // What rsync's sender would have sent (the file list and the data) and its generator asked
  // for: estimates (rsync's own counts vary from run to run with its buffering).
  struct Traffic {
    uint64_t sent = 0;
    uint64_t received = 0;
  };
  Traffic traffic() const;

 private:
  void emit_transfer(ItemLine& line);
  void emit_unchanged(const LogItem& item);
  void render_stdout(const LogItem& item, const char* op);
  void write_log(const LogItem& item, const char* op);
  uint64_t sender_bytes(const ItemLine& line);  // %b: what rsync's sender writes for the file

  const Options& opt_;
  Reporter& rep_;
  InfoLevels info_;
  std::optional<OutFormat> stdout_;
  std::optional<OutFormat> log_;       // --log-file with a non-empty format
  LogFile* log_file_ = nullptr;
  bool late_ = false;                  // stdout line after the data (%b %c %C)
  bool wants_checksum_ = false;
  bool wants_sender_path_ = false;
  bool numbering_ = false;             // progress or %b: entries get their file-list numbers
  bool live_ = false;                  // the file being copied is alone: show it as it goes     // %f (not worked out for every item otherwise)
  bool incremental_ = true;            // rsync's incremental recursion (numbering, wording)
  bool sends_dirs_ = true;             // -r or -d: rsync's xfer_dirs
  bool transfer_started_ = false;
  std::string backup_dir_note_;        // printed as the transfer starts, if not empty
  std::vector<std::string> source_roots_;  // for %f: by the base an item is read from (Entry::base)
  // File-list numbering.
  uint32_t position_ = 0;
  uint32_t segments_ = 0;
  // In print order.
  int64_t prev_ndx_ = -1;
  uint64_t transfers_ = 0;             // xfr#
  uint64_t transferred_size_ = 0;
  FileListTotals totals_;
  ProgressMeter meter_;
};

}  // namespace ringkit::sync
