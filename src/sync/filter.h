// FilterList: rsync's filter rules (--filter/-f, --exclude, --include, --exclude-from,
// --include-from, -F, -C, --delete-excluded) parsed and matched exactly as rsync 3.2+ does.
//
// Who calls it: ringsync's option parser builds one FilterList from the command line; each tree
// walker (the sender's walk of the source, the receiver's deletion scan of the destination) works
// on its own copy, because per-directory merge files (dir-merge, -F's .rsync-filter, -C's
// .cvsignore) are read from the tree that walker is scanning.  The walker calls
//   push_dir(rel_dir)          before it filters the entries of a directory (also for the root,
//                              rel_dir ""), which reads that directory's merge files;
//   matches(rel_path, is_dir, side) for each entry, with the path relative to the transfer root;
//   pop_dir()                  when it leaves the directory.
// The walker must prune: rsync never descends into an excluded directory, so nothing below one
// is ever listed (the list cannot know that on its own when per-directory files are in play).
//
// I/O: none, except reading rule files (merge files, *-from files, $HOME/.cvsignore) through
// FilterOptions::read_file, which tests and fuzzers replace.
//
// Errors are values: a bad rule yields a FilterError carrying rsync's own message
// ("invalid modifier 'f' at position 1 in filter rule: -foo"); rsync exits with code 1
// (kSyntax) or 11 (kFileIo, an unreadable --exclude-from or merge file). The caller picks.
//
// Thread-safety: a FilterList is a plain value.  Concurrent const calls (matches) are safe;
// push_dir/pop_dir/add_* need exclusive access.  Copy it to give each walker its own.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ringkit/result.h"

namespace ringkit::sync {

// Which side of the transfer is asking.  The sender decides what goes into the file list
// (hide/show, i.e. exclude/include and H/S rules); the receiver decides what --delete must not
// remove (protect/risk, i.e. exclude/include and P/R rules).
enum class Side : uint8_t { kSender, kReceiver };

enum class Decision : uint8_t {
  kIncluded,   // no rule matched, or an include/show/risk rule matched first
  kExcluded,   // sender side: an exclude/hide rule matched; leave it (and, if a dir, all below) out
  kProtected,  // receiver side: an exclude/protect rule matched; --delete must not remove it
};

struct FilterError {
  enum class Kind : uint8_t {
    kSyntax,  // a malformed rule: rsync exits 1 (RERR_SYNTAX)
    kFileIo,  // a rule file that could not be read: rsync exits 11 (RERR_FILEIO)
  };
  Kind kind = Kind::kSyntax;
  std::string message;  // rsync's message, naming the offending rule or file
  std::string source;   // the rule file the rule came from, empty for a command-line rule
};

// Success, or the error that stopped parsing (rules added before the error stay added).
class [[nodiscard]] FilterStatus {
 public:
  FilterStatus() = default;
  FilterStatus(FilterError error) : error_(std::move(error)) {}  // NOLINT: implicit by design
  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  // REQUIRES: !ok()
  const FilterError& error() const { return *error_; }

 private:
  std::optional<FilterError> error_;
};

// Reads a whole rule file, or says why it could not (a missing per-directory merge file is
// normal; a missing --exclude-from file is an error the list reports with this reason).
// `path` "-" means standard input, as in rsync.
using RuleFileReader = std::function<Result<std::string>(const std::string& path)>;

// Reads from the file system (and "-" from stdin).
Result<std::string> read_rule_file(const std::string& path);

struct FilterOptions {
  // --delete-excluded: rules that name no side become sender-only, so excluded files on the
  // receiver are no longer protected from deletion.
  bool delete_excluded = false;
  // --from0: rule files are separated by NUL bytes instead of newlines.
  bool from0 = false;
  RuleFileReader read_file = read_rule_file;
  // -C reads $HOME/.cvsignore and the CVSIGNORE variable; these default to the environment
  // when left unset (tests set them to stay hermetic).
  std::optional<std::string> home;
  std::optional<std::string> cvsignore_env;
};

// How a line of text is to be read, mirroring the command-line option it came from.
enum class RuleSyntax : uint8_t {
  kFilter,   // --filter/-f: full rule syntax ("- foo", "exclude,s foo", ": .rules", "!")
  kExclude,  // --exclude: a bare pattern, optionally prefixed "- " or "+ "; "!" clears
  kInclude,  // --include: likewise, default include
};

class FilterList {
 public:
  explicit FilterList(FilterOptions options = {});

  // --- Building (REQUIRES: no directory pushed) -------------------------------------------
  // One rule (or, for kExclude/kInclude, one pattern), as one command-line option gives it.
  FilterStatus add_rule(std::string_view text, RuleSyntax syntax = RuleSyntax::kFilter);
  // --exclude-from / --include-from (kFilter is accepted too and reads full rules):
  // one pattern per line, blank lines and lines starting with ';' or '#' skipped.
  FilterStatus add_rules_from_file(const std::string& path, RuleSyntax syntax);
  // -F: the first call adds "dir-merge /.rsync-filter", the second "- .rsync-filter".
  FilterStatus add_F_option();
  // --cvs-exclude/-C.  REQUIRES: called after every other rule, because rsync appends the CVS
  // rules (":C" then "-C") after all command-line rules wherever -C appeared.
  FilterStatus add_cvs_exclude();

  // Absolute path of the transfer root (rsync's current directory while it walks: the source
  // directory for "src/", its parent for "src").  Used to read per-directory merge files, for
  // rules with the '/' modifier and for anchored rules read from per-directory files.
  // Defaults to the process's working directory.
  void set_root(std::string root);

  // --- Walking ---------------------------------------------------------------------------
  // Enters `rel_dir` (relative to the root, "" for the root itself): reads the per-directory
  // merge files there, on top of the inherited ones.  Returns an error for a bad rule in one
  // of them (rsync aborts the transfer); the directory counts as pushed either way.
  // `base_root`: with -R from several bases (/a/./x /b/./y), the absolute path of the base the
  // directory comes from, where rsync (which changes into each base) reads its merge files and
  // matches '/' rules; it holds below it too.  Empty: the enclosing directory's (the root at
  // the top).
  FilterStatus push_dir(std::string_view rel_dir, std::string_view base_root = {});
  // REQUIRES: a matching push_dir.
  void pop_dir();
  int depth() const { return static_cast<int>(dirs_.size()); }

  // The decision for one entry, path relative to the transfer root ("dir/sub/name", no
  // trailing slash).  `ignore_perishable` is set by the receiver inside a directory that is
  // itself being deleted: perishable rules ('p' modifier, -C's defaults) then do not protect.
  Decision matches(std::string_view rel_path, bool is_dir, Side side,
                   bool ignore_perishable = false) const;
  // The decision for an extended-attribute name: only rules with the 'x' modifier apply.
  Decision matches_xattr(std::string_view name, Side side) const;

  // The rule that decides matches() for the same arguments, as rsync's -vv filter notes name
  // it ("[sender] hiding file NAME because of pattern PATTERN"); nullopt when no rule matches.
  struct Reason {
    bool include = false;  // an include/show/risk rule
    // The rule's pattern, with the '/' of a directory-only rule, then the list holding it
    // (" [global CVS]", " [per-dir .rsync-filter]"). A rule read from a file is shown as
    // "<rule from a file read earlier>": rsync 3.5 does not echo a rule file's text.
    std::string pattern;
  };
  std::optional<Reason> reason(std::string_view rel_path, bool is_dir, Side side,
                               bool ignore_perishable = false) const;

  // True when no rule at all is set (the walker may skip matching).
  bool empty() const;
  // Non-fatal notes rsync prints and carries on from (e.g. an over-long pattern discarded).
  const std::vector<std::string>& warnings() const { return warnings_; }

  // One rule after parsing; public so tests and --debug output can describe it.
  struct Rule {
    uint32_t flags = 0;
    std::string pattern;  // trailing '/' removed (kDirectory), anchoring prefix added
    int slash_count = 0;
    int merge_list = -1;  // index into merge_lists_ for a dir-merge rule
    bool from_file = false;  // read from a rule file (--exclude-from, merge files)
  };

 private:
  struct Frame {
    std::vector<Rule> rules;
    bool cuts_inheritance = false;  // a '!' in this file, or an 'n' list
    int depth = 0;                  // directory depth that owns the frame
  };
  // The rules from one dir-merge rule's files, one frame per directory on the walk path.
  struct MergeList {
    uint32_t flags = 0;      // the dir-merge rule's flags: template for the rules read
    std::string name;        // as given; becomes the base name once set up
    bool needs_setup = true;
    bool alive = true;
    int owner_list = kGlobalList;  // the list holding the dir-merge rule
    int owner_depth = -1;    // -1: a command-line rule; else the depth whose file defined it
    std::vector<Frame> frames;
  };
  static constexpr int kGlobalList = -1;
  static constexpr int kCvsList = -2;
  // Where parsed rules go: the global list, the CVS list or one frame of a merge list.
  struct Sink {
    std::vector<Rule>* rules;
    Frame* frame;         // null for the global and CVS lists
    int list;             // kGlobalList, kCvsList or a merge_lists_ index
    int depth;            // -1 for command-line rules, else the pushed depth being read
    std::string dir_abs;  // directory of a per-directory file, no trailing '/', "" for "/"
  };

  FilterStatus parse_string(Sink& sink, std::string_view text, uint32_t tmpl, bool old_prefixes,
                            bool anchored_to_dir, int nesting, const std::string& source);
  FilterStatus parse_file(Sink& sink, const std::string& path, uint32_t tmpl, bool old_prefixes,
                          bool anchored_to_dir, bool fatal, int nesting);
  void add_parsed(Sink& sink, std::string_view pat, uint32_t flags, bool anchored_to_dir,
                  bool from_file);
  void clear_sink(Sink& sink);
  FilterStatus load_cvs_defaults(uint32_t flags, int nesting);
  FilterStatus read_merge_frame(int list, const std::string& dir, const std::string& anchor,
                                int depth);
  FilterStatus setup_merge_list(int list, const std::string& dir_abs, int depth);
  std::string dir_abs(std::string_view rel_dir) const;
  const std::string& root() const;
  // The root of the innermost pushed directory (push_dir's base_root), else root().
  const std::string& current_root() const;

  // The rule check() found, and the list it is in (kGlobalList, kCvsList, a merge list).
  struct Hit {
    const Rule* rule = nullptr;
    int list = kGlobalList;
  };
  int check(const std::vector<Rule>& rules, std::string_view path, bool is_dir, bool xattr,
            Side side, bool ignore_perishable, int list = kGlobalList, Hit* hit = nullptr) const;
  int check_merge(int list, std::string_view path, bool is_dir, bool xattr, Side side,
                  bool ignore_perishable, Hit* hit) const;
  bool rule_matches(const Rule& rule, std::string_view path, bool is_dir, bool xattr) const;

  FilterOptions options_;
  std::vector<Rule> rules_;
  std::vector<Rule> cvs_rules_;
  bool cvs_loaded_ = false;
  std::deque<MergeList> merge_lists_;  // a deque: parsing into one list's frame may add lists
  struct PushedDir {
    std::string rel;   // its rel_dir
    std::string root;  // the root it is below (push_dir's base_root, or inherited)
  };
  std::vector<PushedDir> dirs_;
  mutable std::string root_;
  int f_option_count_ = 0;
  std::vector<std::string> warnings_;
};

}  // namespace ringkit::sync
