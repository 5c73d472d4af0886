// ringsync's command line: rsync's syntax and option meanings, for local copies.
//
// parse_command_line() turns argv into Options without touching the file system: bundled short
// options (-aHAXv), `--opt=val` and `--opt val`, `--no-OPT` for every on/off option (long or
// one-letter, e.g. --no-perms, --no-p), `--` to end options, SRC... DEST with trailing slashes
// kept as typed (they matter: see the planner). Filter options are kept in command-line order,
// because rsync's first matching rule wins. On a usage error it returns the message rsync would
// give; the caller prints it and exits with code 1, as rsync does. (One thing comes from the
// environment, as in rsync: RSYNC_PARTIAL_DIR, the --partial-dir of a bare --partial.)
//
// A plain value type; thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace ringkit::sync {

enum class DeleteTiming { kNone, kBefore, kDuring, kDelay, kAfter };

// rsync's limit on --link-dest/--compare-dest/--copy-dest directories.
inline constexpr size_t kMaxBasisDirs = 20;
// Where --delay-updates holds finished files (in each destination directory) unless
// --partial-dir names another place.
inline constexpr const char* kDelayUpdatesDir = ".~tmp~";

// One filter-related option, in the order given.
struct FilterArg {
  enum Kind { kExclude, kInclude, kFilter, kExcludeFrom, kIncludeFrom, kPerDirF /* -F */ };
  Kind kind;
  std::string value;
  bool operator==(const FilterArg&) const = default;
};

struct Options {
  // Selection and recursion.
  bool recursive = false;            // -r
  bool dirs = false;                 // -d: directories without recursing
  bool relative = false;             // -R: keep the full source path names
  bool implied_dirs = true;          // -R: send the directories of each path too (--no-implied-dirs)
  int one_file_system = 0;           // -x (twice: skip mount points altogether)
  std::optional<std::string> files_from;
  bool from0 = false;                // -0: --files-from and *-from files are NUL-separated
  std::vector<FilterArg> filters;    // --exclude/--include/--filter/-f/--*-from, in order
  int filter_f = 0;                  // -F given N times
  bool cvs_exclude = false;          // -C
  bool prune_empty_dirs = false;     // -m
  std::optional<uint64_t> max_size;  // bytes; larger files are skipped
  std::optional<uint64_t> min_size;

  // What to keep.
  bool links = false;                // -l: copy symlinks as symlinks
  bool copy_links = false;           // -L: follow every symlink
  bool copy_unsafe_links = false;    // follow symlinks that point outside the tree
  bool safe_links = false;           // ignore symlinks that point outside the tree
  bool copy_dirlinks = false;        // -k: follow symlinks to directories in the source
  bool keep_dirlinks = false;        // -K: treat symlinked dirs in the destination as dirs
  bool perms = false;                // -p
  bool executability = false;        // -E
  std::vector<std::string> chmod;    // --chmod=CHMOD (each may hold a comma list)
  bool times = false;                // -t
  bool omit_dir_times = false;       // -O
  bool omit_link_times = false;      // -J
  bool atimes = false;               // -U
  bool group = false;                // -g
  bool owner = false;                // -o
  bool numeric_ids = false;
  std::optional<std::string> chown;  // --chown=USER:GROUP
  bool devices = false;              // --devices (-D = --devices --specials)
  bool specials = false;             // --specials
  bool hard_links = false;           // -H
  bool acls = false;                 // -A (implies -p)
  bool xattrs = false;               // -X
  bool sparse = false;               // -S

  // When to transfer.
  bool checksum = false;             // -c
  bool size_only = false;
  bool ignore_times = false;         // -I
  bool update = false;               // -u
  bool existing = false;
  bool ignore_existing = false;
  int64_t modify_window = 0;         // seconds of mtime difference treated as equal

  // Deletion.
  DeleteTiming delete_timing = DeleteTiming::kNone;
  bool delete_excluded = false;
  std::optional<int64_t> max_delete;
  bool ignore_errors = false;
  bool force = false;
  // --remove-source-files (1): the sender's non-directories that are now in the destination,
  // sent or found up to date, are removed; --remove-sent-files (2, rsync's old option): only
  // files whose data was sent, and symlinks made.
  int remove_source_files = 0;

  // How to write.
  std::optional<std::string> temp_dir;     // -T (relative: to the destination directory)
  bool inplace = false;
  bool partial = false;                    // keep what an interrupted transfer wrote
  std::optional<std::string> partial_dir;  // ... there (relative: in each file's directory)
  bool delay_updates = false;              // implies partial, and partial_dir ".~tmp~" if unset
  bool backup = false;                     // -b
  std::optional<std::string> backup_dir;   // relative: to the destination directory
  std::string suffix = "~";                // backup suffix (empty with --backup-dir unless given)
  bool suffix_given = false;
  std::vector<std::string> link_dest, compare_dest, copy_dest;  // at most one kind, kMaxBasisDirs
  bool mkpath = false;
  bool whole_file = true;                  // -W: always, locally (no delta algorithm)

  // Output.
  int verbose = 0;                         // -v, repeatable
  bool quiet = false;                      // -q
  int itemize = 0;                         // -i, repeatable (-ii also lists unchanged items)
  bool dry_run = false;                    // -n
  bool stats = false;
  int human_readable = 0;                  // -h, repeatable
  bool no_human_readable = false;          // --no-h: plain digits, not even commas
  bool progress = false;                   // per-file progress (--progress, -P, --info=progress1)
  bool progress2 = false;                  // whole-transfer progress (--info=progress2)
  bool progress_option = false;            // --progress or -P was given (implies flist2,name)
  bool stats_option = false;               // --stats was given
  bool list_only = false;
  // The stdout format after parsing: --out-format, else "%i %n%L" for -i, else "%n%L" when
  // names are shown (-v, --info=name, --progress); none with -q. `itemize` then holds rsync's
  // stdout_format_has_i: 0 no %i, 1 changed items, 2 unchanged ones too.
  std::optional<std::string> out_format;
  std::optional<std::string> log_file;
  std::optional<std::string> log_file_format;  // default "%i %n%L" when --log-file is given
  // --info=FLAG[N],... as given; -1: not given (then -v and the options above decide).
  struct InfoGiven {
    int name = -1, progress = -1, stats = -1, flist = -1, del = -1, nonreg = -1, misc = -1, symsafe = -1;
    int backup = -1, copy = -1, mount = -1, remove = -1, skip = -1;
  } info;

  std::vector<std::string> sources;
  std::string destination;                 // empty: list the sources (as rsync does)
};

// rsync's --info levels in force, from -v, -q, --info, --progress, --stats and --out-format.
struct InfoLevels {
  int name = 0;      // 1: updated items; 2: unchanged ones too
  int progress = 0;  // 1: per file; 2: whole transfer
  int stats = 0;     // 1: the -v summary; 2: --stats
  int flist = 0;     // 1: "sending incremental file list"; 2: with counts
  int del = 0;       // "deleting NAME"
  int nonreg = 1;    // "skipping non-regular file"
  int misc = 0;
  int symsafe = 0;   // "ignoring unsafe symlink"
  int skip = 0;      // why an item was left alone: "NAME exists", "NAME is newer", ...
  int backup = 0;    // "backed up NAME to PATH", "(new) backup_dir is DIR"
  int remove = 0;    // "sender removed NAME" (--remove-source-files)
  // rsync's --debug levels that -vv turns on, which say something in a local copy: flist
  // ("delta-transmission disabled ..."), deltasum (the "total: matches=..." line) and del
  // ("deleting in DIR" before a --delete-before/-after pass). ringsync has no --debug option.
  int debug = 0;
};
InfoLevels effective_info(const Options& opt);

struct UsageError {
  std::string message;  // without the program name
};

enum class Action { kRun, kHelp, kVersion };

struct ParsedCommandLine {
  Action action = Action::kRun;
  Options options;
};

std::variant<ParsedCommandLine, UsageError> parse_command_line(const std::vector<std::string>& args);

// Sizes as --max-size takes them: "100", "1.5M", "10KB" (1000-based), "2G", "1M+1", "1K-1".
std::optional<uint64_t> parse_size(std::string_view text);

// The --help text: every option, its meaning and default.
std::string help_text();

}  // namespace ringkit::sync
