// The option table: each row is one rsync option with its letter, whether it takes a value,
// what it does to Options, and its help line. Parsing and --help both read this table, so an
// option cannot be accepted but undocumented, or documented but refused.
//
// Hand-written rather than CLI11: rsync's semantics are order-dependent (`-a --no-p` differs
// from `--no-p -a`; filter rules apply in command-line order), and `-f` takes the rest of a
// bundle (`-f'- *.o'`), which general-purpose parsers do not model.
#include "sync/options.h"

#include "sync/chmod.h"
#include "sync/out_format.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <string>

namespace ringkit::sync {
namespace {

using Setter = std::function<void(Options&, bool on)>;
using ArgSetter = std::function<std::optional<std::string>(Options&, const std::string&)>;

struct Spec {
  const char* section;  // help heading this option starts, or nullptr
  const char* name;     // long name without "--"
  char letter;          // short option, or 0
  const char* arg;      // value placeholder for options that take one, else nullptr
  const char* help;
  Setter set;           // on/off options (called with on=false for --no-NAME)
  ArgSetter set_arg;    // options with a value; returns an error message or nullopt
  bool negatable = true;
};

Setter flag(bool Options::*field) {
  return [field](Options& o, bool on) { o.*field = on; };
}
Setter counter(int Options::*field) {
  return [field](Options& o, bool on) { o.*field = on ? o.*field + 1 : 0; };
}
ArgSetter text(std::optional<std::string> Options::*field) {
  return [field](Options& o, const std::string& v) -> std::optional<std::string> {
    o.*field = v;
    return std::nullopt;
  };
}
// --link-dest, --compare-dest, --copy-dest: up to 20 directories, all of one kind (rsync
// refuses to mix them; the message names the later option first, as rsync's does).
ArgSetter basis_dir(std::vector<std::string> Options::*field, const char* name) {
  return [field, name](Options& o, const std::string& v) -> std::optional<std::string> {
    struct Kind {
      const char* name;
      std::vector<std::string> Options::*dirs;
    };
    static const Kind kKinds[] = {{"compare-dest", &Options::compare_dest},
                                  {"copy-dest", &Options::copy_dest},
                                  {"link-dest", &Options::link_dest}};
    for (const Kind& k : kKinds) {
      if (k.dirs != field && !(o.*(k.dirs)).empty()) {
        return std::string("ERROR: the --") + name + " option conflicts with the --" + k.name + " option";
      }
    }
    if ((o.*field).size() >= kMaxBasisDirs) {
      return "ERROR: at most " + std::to_string(kMaxBasisDirs) + " --" + name + " args may be specified";
    }
    (o.*field).push_back(v);
    return std::nullopt;
  };
}
ArgSetter filter(FilterArg::Kind kind) {
  return [kind](Options& o, const std::string& v) -> std::optional<std::string> {
    o.filters.push_back({kind, v});
    return std::nullopt;
  };
}
ArgSetter size(std::optional<uint64_t> Options::*field, const char* name) {
  return [field, name](Options& o, const std::string& v) -> std::optional<std::string> {
    auto n = parse_size(v);
    if (!n) return std::string("--") + name + " value is invalid: " + v;
    o.*field = *n;
    return std::nullopt;
  };
}
template <class Int>
std::optional<Int> parse_int(std::string_view text) {
  Int n{};
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return n;
}
Setter delete_at(DeleteTiming timing) {
  return [timing](Options& o, bool on) {
    o.delete_timing = on ? timing : DeleteTiming::kNone;
  };
}

// rsync's --info=FLAG[N],... : every flag rsync has is accepted; a level that would make rsync
// print something ringsync does not print yet is refused by check_info(), never ignored.
std::optional<std::string> apply_info(Options& o, const std::string& value) {
  Options::InfoGiven& g = o.info;
  struct Flag {
    const char* name;
    int Options::InfoGiven::*level;
  };
  static const Flag kFlags[] = {
      {"backup", &Options::InfoGiven::backup}, {"copy", &Options::InfoGiven::copy},
      {"del", &Options::InfoGiven::del},       {"flist", &Options::InfoGiven::flist},
      {"misc", &Options::InfoGiven::misc},     {"mount", &Options::InfoGiven::mount},
      {"name", &Options::InfoGiven::name},     {"nonreg", &Options::InfoGiven::nonreg},
      {"progress", &Options::InfoGiven::progress}, {"remove", &Options::InfoGiven::remove},
      {"skip", &Options::InfoGiven::skip},     {"stats", &Options::InfoGiven::stats},
      {"symsafe", &Options::InfoGiven::symsafe},
  };
  size_t start = 0;
  while (start <= value.size()) {
    size_t comma = value.find(',', start);
    std::string item = value.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    start = comma == std::string::npos ? value.size() + 1 : comma + 1;
    if (item.empty()) continue;
    size_t digits = item.find_first_of("0123456789");
    std::string name = item.substr(0, digits);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    int level = digits == std::string::npos ? 1 : parse_int<int>(item.substr(digits)).value_or(-1);
    if (level < 0) return "Unknown --info item: \"" + item + "\"";
    if (name == "all" || name == "none") {
      if (name == "none") level = 0;
      for (const Flag& f : kFlags) g.*(f.level) = level;
      continue;
    }
    if (name == "help") return std::string("--info=help is not available in ringsync; see ringsync --help and the man page");
    const Flag* flag = nullptr;
    for (const Flag& f : kFlags) {
      if (name == f.name) flag = &f;
    }
    if (flag == nullptr) return "Unknown --info item: \"" + item + "\"";
    g.*(flag->level) = level;
  }
  return std::nullopt;
}

// --info levels whose output ringsync does not produce yet: refused, like any option it does
// not implement, rather than silently printing less than rsync would.
std::optional<std::string> check_info(const Options::InfoGiven& g) {
  auto no = [](const std::string& what) {
    return "--info=" + what + " is not supported by this version of ringsync yet";
  };
  if (g.backup > 1) return no("backup2");
  if (g.mount > 0) return no("mount");
  if (g.skip > 1) return no("skip2");
  if (g.misc > 1) return no("misc2");
  if (g.stats > 2) return no("stats3");
  if (g.flist > 2) return no("flist3");
  return std::nullopt;
}

const std::vector<Spec>& table() {
  static const std::vector<Spec> specs = [] {
    std::vector<Spec> t;
    auto add = [&t](Spec s) { t.push_back(std::move(s)); };
    auto on_off = [&](const char* section, const char* name, char letter, const char* help,
                      Setter set) { add({section, name, letter, nullptr, help, std::move(set), nullptr}); };
    auto valued = [&](const char* section, const char* name, char letter, const char* arg,
                      const char* help, ArgSetter set) {
      add({section, name, letter, arg, help, nullptr, std::move(set), false});
    };

    on_off("Selection and recursion", "archive", 'a',
           "archive mode: -rlptgoD (no -A, -X, -H)", [](Options& o, bool on) {
             if (!on) return;
             o.recursive = o.links = o.perms = o.times = o.group = o.owner = true;
             o.devices = o.specials = true;
           });
    on_off(nullptr, "recursive", 'r', "recurse into directories", flag(&Options::recursive));
    on_off(nullptr, "dirs", 'd', "transfer directories without recursing", flag(&Options::dirs));
    on_off(nullptr, "relative", 'R', "use relative path names: keep the source path (/./ marks where it starts)",
           flag(&Options::relative));
    on_off(nullptr, "implied-dirs", 0, "with -R, send the directories of each path too (default on; "
           "--no-implied-dirs leaves them as they are)", flag(&Options::implied_dirs));
    on_off(nullptr, "one-file-system", 'x', "don't cross file-system boundaries (twice: skip mount points)",
           counter(&Options::one_file_system));
    valued(nullptr, "files-from", 0, "FILE", "read the list of source names from FILE (- for stdin); implies -R (with --no-R "
           "each name goes straight into DEST) and -d, not -r (give -r to recurse)",
           text(&Options::files_from));
    on_off(nullptr, "from0", '0', "names in *-from files end with NUL, not newline", flag(&Options::from0));
    valued(nullptr, "exclude", 0, "PATTERN", "exclude files matching PATTERN", filter(FilterArg::kExclude));
    valued(nullptr, "include", 0, "PATTERN", "don't exclude files matching PATTERN", filter(FilterArg::kInclude));
    valued(nullptr, "filter", 'f', "RULE", "add a file-filtering RULE", filter(FilterArg::kFilter));
    valued(nullptr, "exclude-from", 0, "FILE", "read exclude patterns from FILE", filter(FilterArg::kExcludeFrom));
    valued(nullptr, "include-from", 0, "FILE", "read include patterns from FILE", filter(FilterArg::kIncludeFrom));
    on_off(nullptr, "F", 'F', "same as --filter='dir-merge /.rsync-filter'; twice also excludes the files",
           [](Options& o, bool on) {
             if (!on) return;
             ++o.filter_f;
             o.filters.push_back({FilterArg::kPerDirF, {}});  // its place among the rules matters
           });
    on_off(nullptr, "cvs-exclude", 'C', "auto-ignore files the way CVS does", flag(&Options::cvs_exclude));
    on_off(nullptr, "prune-empty-dirs", 'm', "prune empty directory chains from the file list",
           flag(&Options::prune_empty_dirs));
    valued(nullptr, "max-size", 0, "SIZE", "don't transfer any file larger than SIZE (K, M, G suffixes)",
           size(&Options::max_size, "max-size"));
    valued(nullptr, "min-size", 0, "SIZE", "don't transfer any file smaller than SIZE",
           size(&Options::min_size, "min-size"));

    on_off("What to keep", "links", 'l', "copy symlinks as symlinks", flag(&Options::links));
    on_off(nullptr, "copy-links", 'L', "transform symlink into referent file/dir", flag(&Options::copy_links));
    on_off(nullptr, "copy-unsafe-links", 0, "only \"unsafe\" symlinks (pointing outside the tree) are transformed",
           flag(&Options::copy_unsafe_links));
    on_off(nullptr, "safe-links", 0, "ignore symlinks that point outside the tree", flag(&Options::safe_links));
    on_off(nullptr, "copy-dirlinks", 'k', "transform symlink to dir into referent dir", flag(&Options::copy_dirlinks));
    on_off(nullptr, "keep-dirlinks", 'K', "treat symlinked dir on receiver as dir (only links that stay inside DEST)", flag(&Options::keep_dirlinks));
    on_off(nullptr, "perms", 'p', "preserve permissions", flag(&Options::perms));
    on_off(nullptr, "executability", 'E', "preserve executability", flag(&Options::executability));
    valued(nullptr, "chmod", 0, "CHMOD", "affect file and/or directory permissions (e.g. Dg+s,Fo-w)",
           [](Options& o, const std::string& v) -> std::optional<std::string> {
             if (!ChmodRules::parse(v)) return "Invalid argument passed to --chmod (" + v + ")";
             o.chmod.push_back(v);
             return std::nullopt;
           });
    on_off(nullptr, "times", 't', "preserve modification times", flag(&Options::times));
    on_off(nullptr, "omit-dir-times", 'O', "omit directories from --times", flag(&Options::omit_dir_times));
    on_off(nullptr, "omit-link-times", 'J', "omit symlinks from --times", flag(&Options::omit_link_times));
    on_off(nullptr, "atimes", 'U', "preserve access (use) times", flag(&Options::atimes));
    on_off(nullptr, "group", 'g', "preserve group", flag(&Options::group));
    on_off(nullptr, "owner", 'o', "preserve owner (super-user only)", flag(&Options::owner));
    on_off(nullptr, "numeric-ids", 0, "don't map uid/gid values by user/group name", flag(&Options::numeric_ids));
    valued(nullptr, "chown", 0, "USER:GROUP", "simple username/groupname mapping", text(&Options::chown));
    on_off(nullptr, "D", 'D', "same as --devices --specials", [](Options& o, bool on) {
      o.devices = o.specials = on;
    });
    on_off(nullptr, "devices", 0, "preserve device files (super-user only)", flag(&Options::devices));
    on_off(nullptr, "specials", 0, "preserve special files (FIFOs, sockets)", flag(&Options::specials));
    on_off(nullptr, "hard-links", 'H', "preserve hard links", flag(&Options::hard_links));
    on_off(nullptr, "acls", 'A', "preserve ACLs (implies --perms)", [](Options& o, bool on) {
      o.acls = on;
      if (on) o.perms = true;
    });
    on_off(nullptr, "xattrs", 'X', "preserve extended attributes", flag(&Options::xattrs));
    on_off(nullptr, "sparse", 'S', "turn sequences of nulls into sparse blocks", flag(&Options::sparse));

    on_off("When to transfer", "checksum", 'c', "skip based on checksum, not mod-time & size",
           flag(&Options::checksum));
    on_off(nullptr, "size-only", 0, "skip files that match in size", flag(&Options::size_only));
    on_off(nullptr, "ignore-times", 'I', "don't skip files that match size and time", flag(&Options::ignore_times));
    on_off(nullptr, "update", 'u', "skip files that are newer on the receiver", flag(&Options::update));
    on_off(nullptr, "existing", 0, "skip creating new files on receiver", flag(&Options::existing));
    on_off(nullptr, "ignore-existing", 0, "skip updating files that exist on receiver", flag(&Options::ignore_existing));
    valued(nullptr, "modify-window", '@', "NUM", "set the accuracy for mod-time comparisons (seconds; default 0)",
           [](Options& o, const std::string& v) -> std::optional<std::string> {
             auto n = parse_int<int64_t>(v);
             if (!n) return "--modify-window value is invalid: " + v;
             o.modify_window = *n;
             return std::nullopt;
           });

    on_off("Deletion", "delete", 0, "delete extraneous files from dest dirs (during the transfer)",
           delete_at(DeleteTiming::kDuring));
    on_off(nullptr, "delete-before", 0, "receiver deletes before transfer", delete_at(DeleteTiming::kBefore));
    on_off(nullptr, "delete-during", 0, "receiver deletes during the transfer", delete_at(DeleteTiming::kDuring));
    on_off(nullptr, "del", 0, "an alias for --delete-during", delete_at(DeleteTiming::kDuring));
    on_off(nullptr, "delete-delay", 0, "find deletions during, delete after", delete_at(DeleteTiming::kDelay));
    on_off(nullptr, "delete-after", 0, "receiver deletes after transfer, not during", delete_at(DeleteTiming::kAfter));
    on_off(nullptr, "delete-excluded", 0, "also delete excluded files from dest dirs", [](Options& o, bool on) {
      o.delete_excluded = on;
      if (on && o.delete_timing == DeleteTiming::kNone) o.delete_timing = DeleteTiming::kDuring;
    });
    valued(nullptr, "max-delete", 0, "NUM", "don't delete more than NUM files",
           [](Options& o, const std::string& v) -> std::optional<std::string> {
             auto n = parse_int<int64_t>(v);
             if (!n) return "--max-delete value is invalid: " + v;
             o.max_delete = *n;
             return std::nullopt;
           });
    on_off(nullptr, "ignore-errors", 0, "delete even if there are I/O errors", flag(&Options::ignore_errors));
    on_off(nullptr, "force", 0, "force deletion of directories even if not empty", flag(&Options::force));
    on_off(nullptr, "remove-source-files", 0, "sender removes synchronized files (non-directory)",
           [](Options& o, bool on) { o.remove_source_files = on ? 1 : 0; });
    on_off(nullptr, "remove-sent-files", 0, "the same, only for files whose data was sent and symlinks made (rsync's older option)",
           [](Options& o, bool on) { o.remove_source_files = on ? 2 : 0; });

    valued("How to write", "temp-dir", 'T', "DIR",
           "write temporary files in DIR (relative: to the destination; default: beside each file)",
           text(&Options::temp_dir));
    on_off(nullptr, "inplace", 0, "update destination files in-place (no temp file + rename)",
           flag(&Options::inplace));
    on_off(nullptr, "partial", 0, "keep partially transferred files in --partial-dir or $RSYNC_PARTIAL_DIR (none: keep none)",
           flag(&Options::partial));
    valued(nullptr, "partial-dir", 0, "DIR", "put a partially transferred file into DIR (implies --partial)",
           [](Options& o, const std::string& v) -> std::optional<std::string> {
             o.partial_dir = v;
             o.partial = true;
             return std::nullopt;
           });
    on_off(nullptr, "delay-updates", 0, "put all updated files into place at transfer's end (via .~tmp~ dirs)",
           flag(&Options::delay_updates));
    on_off(nullptr, "backup", 'b', "make backups (see --suffix & --backup-dir)", flag(&Options::backup));
    valued(nullptr, "backup-dir", 0, "DIR", "make backups into hierarchy based in DIR (relative: to the destination)",
           [](Options& o, const std::string& v) -> std::optional<std::string> {
             o.backup_dir = v;
             o.backup = true;
             return std::nullopt;
           });
    valued(nullptr, "suffix", 0, "SUFFIX", "backup suffix (default ~ w/o --backup-dir)",
           [](Options& o, const std::string& v) -> std::optional<std::string> {
             o.suffix = v;
             o.suffix_given = true;
             return std::nullopt;
           });
    valued(nullptr, "link-dest", 0, "DIR", "hardlink to files in DIR when unchanged (up to 20 DIRs)",
           basis_dir(&Options::link_dest, "link-dest"));
    valued(nullptr, "compare-dest", 0, "DIR", "also compare destination files relative to DIR",
           basis_dir(&Options::compare_dest, "compare-dest"));
    valued(nullptr, "copy-dest", 0, "DIR", "... and include copies of unchanged files",
           basis_dir(&Options::copy_dest, "copy-dest"));
    on_off(nullptr, "mkpath", 0, "create the destination's path component", flag(&Options::mkpath));
    on_off(nullptr, "whole-file", 'W', "copy files whole (always, for local copies)", flag(&Options::whole_file));

    on_off("Output", "verbose", 'v', "increase verbosity", counter(&Options::verbose));
    on_off(nullptr, "quiet", 'q', "suppress non-error messages", flag(&Options::quiet));
    on_off(nullptr, "itemize-changes", 'i', "output a change-summary for all updates", counter(&Options::itemize));
    on_off(nullptr, "dry-run", 'n', "perform a trial run with no changes made", flag(&Options::dry_run));
    on_off(nullptr, "stats", 0, "give some file-transfer stats", flag(&Options::stats_option));
    on_off(nullptr, "human-readable", 'h', "output numbers in a human-readable format (-hh: units of 1024)",
           [](Options& o, bool on) {
             o.human_readable = on ? o.human_readable + 1 : 0;
             o.no_human_readable = !on;
           });
    on_off(nullptr, "progress", 0, "show progress during transfer (= --info=flist2,name,progress)",
           flag(&Options::progress_option));
    on_off(nullptr, "P", 'P', "same as --partial --progress", [](Options& o, bool on) {
      o.partial = o.progress_option = on;
    });
    valued(nullptr, "info", 0, "FLAGS",
           "fine-grained informational verbosity: progress2 (whole transfer), name, stats2, flist, del, "
           "nonreg, ...; 0 silences a flag",
           apply_info);
    on_off(nullptr, "list-only", 0, "list the files instead of copying them", flag(&Options::list_only));
    valued(nullptr, "out-format", 0, "FORMAT", "output updates using the specified FORMAT (%n %i %l %b %M ...)",
           text(&Options::out_format));
    valued(nullptr, "log-file", 0, "FILE", "log what we're doing to the specified FILE (appended)",
           text(&Options::log_file));
    valued(nullptr, "log-file-format", 0, "FMT", "log updates using the specified FMT (default \"%i %n%L\")",
           text(&Options::log_file_format));
    return t;
  }();
  return specs;
}

const Spec* find_long(std::string_view name) {
  for (const Spec& s : table()) {
    if (name == s.name) return &s;
  }
  return nullptr;
}

const Spec* find_short(char letter) {
  for (const Spec& s : table()) {
    if (s.letter == letter && letter != 0) return &s;
  }
  return nullptr;
}

// Checks that rsync also makes after parsing.
std::optional<std::string> check_combinations(const Options& o) {
  if (o.backup && !o.backup_dir && o.suffix.empty()) return "--suffix cannot be empty without a --backup-dir";
  if (o.backup_dir && o.suffix.empty()) {
    std::string dir = *o.backup_dir;
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    if (dir.empty() || dir == ".") return "--suffix cannot be empty when --backup-dir is the same as the dest dir";
  }
  if (o.inplace && o.delay_updates) return "--inplace cannot be used with --delay-updates";
  if (o.inplace && o.partial_dir) return "--inplace cannot be used with --partial-dir";
  if (o.delete_timing != DeleteTiming::kNone && !o.recursive && !o.dirs) {
    return "--delete does not work without --recursive (-r) or --dirs (-d).";
  }
  if (o.sources.empty()) return "no source given; usage: ringsync [OPTION]... SRC [SRC]... DEST";
  if (o.files_from && o.sources.size() != 1) {
    return "--files-from takes exactly one SRC: the directory the listed names are relative to";
  }
  // rsync reads "host:path" as a remote path; ringsync copies local trees only. (A local name
  // with a colon before any slash can be given as ./host:path.)
  auto remote = [](const std::string& p) {
    size_t colon = p.find(':');
    return colon != std::string::npos && colon > 0 && p.find('/') > colon;
  };
  for (const auto& src : o.sources) {
    if (remote(src)) return "\"" + src + "\" looks like a remote HOST:PATH; ringsync copies local trees only (use ./" + src + " for a local name)";
  }
  if (remote(o.destination)) {
    return "\"" + o.destination + "\" looks like a remote HOST:PATH; ringsync copies local trees only (use ./" + o.destination + " for a local name)";
  }
  return std::nullopt;
}

}  // namespace

InfoLevels effective_info(const Options& o) {
  const Options::InfoGiven& g = o.info;
  int v = o.verbose;
  auto pick = [](int given, int implied) { return given >= 0 ? given : implied; };
  InfoLevels l;
  // (--out-format prints names by itself; it does not turn on what else --info=name says,
  // such as "created directory", as rsync's does not.)
  l.name = pick(g.name, std::max(v >= 2 ? 2 : v, o.progress_option ? 1 : 0));
  l.progress = pick(g.progress, o.progress_option ? 1 : 0);
  l.flist = pick(g.flist, o.progress_option ? 2 : std::min(v, 1));
  l.stats = pick(g.stats, o.stats_option ? (v >= 2 ? 3 : 2) : std::min(v, 1));
  l.del = pick(g.del, std::min(v, 1));
  l.nonreg = pick(g.nonreg, 1);
  l.misc = pick(g.misc, std::min(v, 2));
  l.symsafe = pick(g.symsafe, std::min(v, 1));
  l.skip = pick(g.skip, v >= 2 ? 1 : 0);
  l.backup = pick(g.backup, v >= 2 ? 1 : 0);
  l.remove = pick(g.remove, v >= 2 ? 1 : 0);
  l.debug = v >= 2 ? 1 : 0;
  if (o.quiet) l = InfoLevels{.nonreg = 0};  // -q: no informational output at all
  return l;
}

namespace {

// What rsync's option parser settles about the output (its stdout_format and
// stdout_format_has_i), folded into Options so that the rest reads one answer.
// (Not inlined: GCC 12 then takes an optional<string> here for maybe uninitialized.)
[[gnu::noinline]] void resolve_output(Options& o) {
  InfoLevels info = effective_info(o);
  o.progress = info.progress == 1;
  o.progress2 = info.progress >= 2;
  o.stats = info.stats >= 2;
  if (o.quiet) {
    o.out_format.reset();
  } else if (!o.out_format) {
    if (o.itemize > 0) o.out_format = "%i %n%L";
    else if (info.name > 0) o.out_format = "%n%L";
  }
  int has_i = 0;
  if (o.out_format && OutFormat(*o.out_format).has('i')) has_i = o.itemize > 1 || o.verbose > 1 ? 2 : 1;
  o.itemize = has_i;
  if (o.log_file && !o.log_file_format) o.log_file_format = "%i %n%L";
}

// --delay-updates holds the finished files in a partial dir (".~tmp~" unless one is given) and
// keeps an interrupted one there. --partial alone takes its dir from RSYNC_PARTIAL_DIR, as rsync
// does (not with --inplace or --delay-updates).
void settle_partial_dir(Options& o) {
  if (o.delay_updates && !o.inplace) {
    if (!o.partial_dir) o.partial_dir = kDelayUpdatesDir;
    o.partial = true;
  } else if (o.partial && !o.partial_dir && !o.inplace) {
    if (const char* env = std::getenv("RSYNC_PARTIAL_DIR"); env != nullptr && *env != '\0') o.partial_dir = env;
  }
  if (o.partial_dir && o.partial_dir->empty()) o.partial_dir.reset();
}

}  // namespace

std::optional<uint64_t> parse_size(std::string_view text) {
  if (text.empty()) return std::nullopt;
  // Trailing "+1" / "-1" adjusts by one byte, as rsync allows.
  int adjust = 0;
  if (text.size() > 2 && (text.ends_with("+1") || text.ends_with("-1"))) {
    adjust = text.ends_with("+1") ? 1 : -1;
    text.remove_suffix(2);
  }
  size_t number_end = 0;
  while (number_end < text.size() &&
         ((text[number_end] >= '0' && text[number_end] <= '9') || text[number_end] == '.')) {
    ++number_end;
  }
  std::string number(text.substr(0, number_end));
  if (number.empty() || number == "." || number.find('.') != number.rfind('.')) return std::nullopt;
  double value = std::stod(number);
  std::string_view unit = text.substr(number_end);
  double base = 1024;
  if (unit.size() == 2 && (unit[1] == 'B' || unit[1] == 'b')) {
    base = 1000;
    unit.remove_suffix(1);
  } else if (unit.size() == 3 && (unit.substr(1) == "iB" || unit.substr(1) == "ib")) {
    unit.remove_suffix(2);
  }
  double scale = 1;
  if (!unit.empty()) {
    if (unit.size() != 1) return std::nullopt;
    switch (unit[0]) {
      case 'b': case 'B': scale = 1; break;
      case 'k': case 'K': scale = base; break;
      case 'm': case 'M': scale = base * base; break;
      case 'g': case 'G': scale = base * base * base; break;
      case 't': case 'T': scale = base * base * base * base; break;
      case 'p': case 'P': scale = base * base * base * base * base; break;
      default: return std::nullopt;
    }
  }
  double bytes = std::floor(value * scale) + adjust;
  if (bytes < 0 || bytes > 1.8e19) return std::nullopt;
  return static_cast<uint64_t>(bytes);
}

std::variant<ParsedCommandLine, UsageError> parse_command_line(const std::vector<std::string>& args) {
  ParsedCommandLine parsed;
  Options& o = parsed.options;
  std::vector<std::string> positional;
  bool recursive_explicit = false;
  bool relative_negated = false, dirs_negated = false;  // --no-R / --no-d, wherever they stand
  if (args.size() == 1 && args[0] == "-h") {
    parsed.action = Action::kHelp;
    return parsed;
  }
  auto apply = [&](const Spec& spec, bool on, const std::string* value) -> std::optional<std::string> {
    if (spec.letter == 'r' || std::string_view(spec.name) == "recursive") recursive_explicit = on;
    if (spec.letter == 'R') relative_negated = !on;
    if (spec.letter == 'd') dirs_negated = !on;
    if (spec.set_arg) return spec.set_arg(o, *value);
    spec.set(o, on);
    return std::nullopt;
  };

  bool options_ended = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (options_ended || a.size() < 2 || a[0] != '-') {
      positional.push_back(a);
      continue;
    }
    if (a == "--") {
      options_ended = true;
      continue;
    }
    if (a[1] == '-') {
      std::string body = a.substr(2);
      size_t eq = body.find('=');
      std::string name = body.substr(0, eq);
      std::optional<std::string> inline_value;
      if (eq != std::string::npos) inline_value = body.substr(eq + 1);
      if (name == "help") {
        parsed.action = Action::kHelp;
        return parsed;
      }
      if (name == "version" || name == "V") {
        parsed.action = Action::kVersion;
        return parsed;
      }
      const Spec* spec = find_long(name);
      bool on = true;
      if (spec == nullptr && name.starts_with("no-")) {
        std::string rest = name.substr(3);
        spec = rest.size() == 1 ? find_short(rest[0]) : find_long(rest);
        if (spec == nullptr) spec = find_long(rest);
        if (spec != nullptr && (!spec->negatable || spec->set_arg)) {
          return UsageError{"--" + name + ": this option cannot be negated"};
        }
        on = false;
      }
      if (spec == nullptr) return UsageError{"--" + name + ": unknown option"};
      std::string value;
      if (spec->set_arg) {
        if (inline_value) {
          value = *inline_value;
        } else if (i + 1 < args.size()) {
          value = args[++i];
        } else {
          return UsageError{"--" + name + ": missing argument"};
        }
      } else if (inline_value) {
        return UsageError{"--" + name + ": option does not take an argument"};
      }
      if (auto err = apply(*spec, on, &value)) return UsageError{*err};
      continue;
    }
    for (size_t j = 1; j < a.size(); ++j) {
      if (a[j] == 'V') {
        parsed.action = Action::kVersion;
        return parsed;
      }
      const Spec* spec = find_short(a[j]);
      if (spec == nullptr) return UsageError{std::string("-") + a[j] + ": unknown option"};
      std::string value;
      if (spec->set_arg) {
        if (j + 1 < a.size()) {
          value = a.substr(j + 1);
        } else if (i + 1 < args.size()) {
          value = args[++i];
        } else {
          return UsageError{std::string("-") + a[j] + ": missing argument"};
        }
        if (auto err = apply(*spec, true, &value)) return UsageError{*err};
        break;
      }
      if (auto err = apply(*spec, true, nullptr)) return UsageError{*err};
    }
  }

  if (auto err = check_info(o.info)) return UsageError{*err};
  resolve_output(o);
  // --files-from: -a does not imply -r (only an explicit -r recurses); -R and -d are implied
  // unless turned off anywhere on the line, as in rsync.
  if (o.files_from) {
    if (!recursive_explicit) o.recursive = false;
    if (!relative_negated) o.relative = true;
    if (!dirs_negated) o.dirs = true;
  }
  if (o.backup_dir && !o.suffix_given) o.suffix.clear();
  settle_partial_dir(o);
  // -b without --backup-dir implies -O in rsync: backups change directory times anyway.
  if (o.backup && !o.backup_dir) o.omit_dir_times = true;
  if (o.copy_links) o.links = false;
  // --chown=USER:GROUP implies -o for a USER and -g for a GROUP, as in rsync.
  if (o.chown) {
    size_t colon = o.chown->find(':');
    if (colon != 0 && !o.chown->empty()) o.owner = true;
    if (colon != std::string::npos && colon + 1 < o.chown->size()) o.group = true;
  }
  if (!positional.empty()) {
    if (positional.size() == 1) {
      o.sources = positional;
      o.list_only = true;
    } else {  // with --list-only the DEST is taken and left alone, as rsync does
      o.destination = positional.back();
      positional.pop_back();
      o.sources = positional;
    }
  }
  // A listing implies -d unless --no-d was given, as in rsync: "dir/" lists its entries, and
  // a directory named in a list is listed rather than skipped.
  if (o.list_only && !dirs_negated) o.dirs = true;
  if (auto err = check_combinations(o)) return UsageError{*err};
  return parsed;
}

std::string help_text() {
  std::string out =
      "ringsync: rsync-compatible sync of local directory trees, using io_uring.\n\n"
      "Usage: ringsync [OPTION]... SRC [SRC]... DEST\n"
      "  or   ringsync [OPTION]... SRC             (list the source, like --list-only)\n\n"
      "A trailing slash on SRC copies its contents; without one, the directory itself.\n"
      "Options take rsync's meaning. Short options bundle (-aHAXv); --no-OPTION turns an\n"
      "option off (e.g. -a --no-o); -- ends the options.\n"
      "The few --info levels not printed yet are refused (exit 1) before anything is touched.\n";
  for (const Spec& s : table()) {
    if (s.section != nullptr) out += std::string("\n") + s.section + ":\n";
    std::string left = "  ";
    left += s.letter != 0 ? std::string("-") + s.letter + ", " : "    ";
    std::string name(s.name);
    left += name.size() == 1 ? "" : "--" + name;
    if (name.size() == 1 && s.letter == 0) left += "-" + name;
    if (s.arg != nullptr) left += (name.size() == 1 ? " " : "=") + std::string(s.arg);
    if (left.size() < 28) left.resize(28, ' ');
    else left += "\n" + std::string(28, ' ');
    out += left + s.help + "\n";
  }
  out +=
      "\n  -V, --version             print the version and exit\n"
      "      --help                show this help (-h alone also shows it)\n"
      "\nExit codes, as rsync's: 0 success, 1 syntax or usage error, 3 errors selecting\n"
      "input/output files or dirs, 11 error in file I/O (e.g. disk full), 20 interrupted,\n"
      "23 partial transfer due to error, 24 partial transfer due to vanished source files,\n"
      "25 --max-delete stopped deletions.\n"
      "Environment: RINGKIT_BACKEND=auto|uring|threads, RINGKIT_CHEAP_CALLS=inline|pool|auto,\n"
      "RINGKIT_SYNC_THREADS=1|2 (default 2 if the process may use 2+ CPUs),\n"
      "RINGKIT_SYNC_LOOKAHEAD=N (look up the destination of directories of N+ entries on\n"
      "the second thread; default 32, 0 never); see ringsync(1).\n";
  return out;
}

}  // namespace ringkit::sync
