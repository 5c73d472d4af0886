// FilterList: building the global list, the per-directory merge state, and matching.
//
// Per-directory merge state (rsync's mergelist_parents and their inherited lists) is kept as
// one MergeList per dir-merge rule, each a stack of frames, one frame per pushed directory.
// The rules in force for a list are its frames from the top down, stopping after a frame that
// cuts inheritance (a '!' in that file, or every frame of an 'n' list).  Frames of the same
// depth are popped together, and lists defined inside a per-directory file die with the
// frame that defined them; both are suffixes, so indices held by rules stay valid.
#include "sync/filter.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "sync/filter_internal.h"
#include "sync/wildmatch.h"

namespace ringkit::sync {

using namespace filter_detail;  // NOLINT: the flag names are this unit's vocabulary

FilterList::FilterList(FilterOptions options) : options_(std::move(options)) {
  if (!options_.read_file) options_.read_file = read_rule_file;
}

FilterStatus FilterList::add_rule(std::string_view text, RuleSyntax syntax) {
  if (!dirs_.empty()) {
    return FilterError{FilterError::Kind::kSyntax,
                       "filter rule added while walking: " + std::string(text), ""};
  }
  Sink sink{&rules_, nullptr, kGlobalList, -1, ""};
  const uint32_t tmpl = syntax == RuleSyntax::kInclude ? kInclude : 0;
  return parse_string(sink, text, tmpl, syntax != RuleSyntax::kFilter, false, 0, "");
}

FilterStatus FilterList::add_rules_from_file(const std::string& path, RuleSyntax syntax) {
  if (!dirs_.empty()) {
    return FilterError{FilterError::Kind::kSyntax, "filter file added while walking: " + path,
                       path};
  }
  Sink sink{&rules_, nullptr, kGlobalList, -1, ""};
  const uint32_t tmpl = syntax == RuleSyntax::kInclude ? kInclude : 0;
  return parse_file(sink, path, tmpl, syntax != RuleSyntax::kFilter, false, true, 0);
}

FilterStatus FilterList::add_F_option() {
  switch (++f_option_count_) {
    case 1: return add_rule("dir-merge /.rsync-filter");
    case 2: return add_rule("- .rsync-filter");
    default: return {};  // rsync ignores a third -F
  }
}

FilterStatus FilterList::add_cvs_exclude() {
  // The per-directory .cvsignore first, so its names outrank the global CVS list.
  FilterStatus st = add_rule(":C");
  if (!st) return st;
  return add_rule("-C");
}

void FilterList::set_root(std::string root) { root_ = clean_abs_path(root); if (root_.empty()) root_ = "/"; }

const std::string& FilterList::root() const {
  if (root_.empty()) {
    std::error_code ec;
    std::filesystem::path cwd = std::filesystem::current_path(ec);
    root_ = ec ? std::string("/") : clean_abs_path(cwd.string());
    if (root_.empty()) root_ = "/";
  }
  return root_;
}

const std::string& FilterList::current_root() const { return dirs_.empty() ? root() : dirs_.back().root; }

std::string FilterList::dir_abs(std::string_view rel_dir) const {
  std::string dir = current_root() == "/" ? std::string() : current_root();
  if (!rel_dir.empty()) {
    dir += '/';
    dir += rel_dir;
  }
  return clean_abs_path(dir);
}

bool FilterList::empty() const { return rules_.empty(); }

void FilterList::add_parsed(Sink& sink, std::string_view pat, uint32_t flags,
                            bool anchored_to_dir, bool from_file) {
  Rule rule;
  rule.flags = flags;
  rule.from_file = from_file;
  std::string pattern(pat);
  if (pattern.size() > 1 && pattern.back() == '/') {
    pattern.pop_back();
    rule.flags |= kDirectory;
  }
  int slashes = static_cast<int>(std::count(pattern.begin(), pattern.end(), '/'));
  if (!(rule.flags & (kAbsPath | kMergeFile)) && anchored_to_dir && !pattern.empty() &&
      pattern[0] == '/') {
    // An anchored rule in a per-directory file is anchored at that file's directory: rsync
    // turns it into an absolute-path rule by prefixing the directory.
    rule.flags |= kAbsPath;
    slashes += static_cast<int>(std::count(sink.dir_abs.begin(), sink.dir_abs.end(), '/'));
    pattern = sink.dir_abs + pattern;
  }
  if (pattern.find_first_of("*?[") != std::string::npos) {
    rule.flags |= kWild;
    size_t stars = pattern.find("**");
    if (stars != std::string::npos) {
      rule.flags |= kWild2;
      if (stars == 0) rule.flags |= kWild2Prefix;
      if (pattern.size() >= 3 && pattern.compare(pattern.size() - 3, 3, "***") == 0) {
        rule.flags |= kWild3Suffix;
      }
    }
  }
  if (rule.flags & kPerDirMerge) {
    // A merge file already named by an active dir-merge rule is not added twice.
    const std::string_view base = base_name(pattern);
    for (const MergeList& m : merge_lists_) {
      if (m.alive && base_name(m.name) == base) return;
    }
    MergeList list;
    list.flags = rule.flags;
    list.name = pattern;
    list.owner_list = sink.list;
    list.owner_depth = sink.depth;
    merge_lists_.push_back(std::move(list));
    rule.merge_list = static_cast<int>(merge_lists_.size()) - 1;
  } else {
    rule.slash_count = slashes;
  }
  // rsync applies --delete-excluded to command-line rules once more when it splits them by
  // side: an unsided rule (even one 'e' added) is then the sender's alone.
  if (sink.list == kGlobalList && options_.delete_excluded && !(rule.flags & kSides) &&
      (!(rule.flags & kPerDirMerge) || (rule.flags & kNoPrefixes))) {
    rule.flags |= kSenderSide;
  }
  rule.pattern = std::move(pattern);
  sink.rules->push_back(std::move(rule));
}

void FilterList::clear_sink(Sink& sink) {
  sink.rules->clear();
  if (sink.frame) sink.frame->cuts_inheritance = true;  // drops the inherited rules too
  // Dir-merge rules just dropped take their lists with them.
  for (MergeList& m : merge_lists_) {
    if (m.owner_list == sink.list && m.owner_depth == sink.depth) m.alive = false;
  }
}

FilterStatus FilterList::push_dir(std::string_view rel_dir, std::string_view base_root) {
  std::string root_here = base_root.empty() ? current_root() : clean_abs_path(base_root);
  if (root_here.empty()) root_here = "/";
  dirs_.push_back(PushedDir{std::string(rel_dir), std::move(root_here)});
  const std::string dir = dir_abs(rel_dir);
  const int depth = static_cast<int>(dirs_.size());
  FilterStatus first;
  // Lists added by a file read in this loop are read for this directory too.
  for (size_t i = 0; i < merge_lists_.size(); ++i) {
    if (!merge_lists_[i].alive) continue;
    FilterStatus st;
    if (merge_lists_[i].needs_setup) {
      merge_lists_[i].needs_setup = false;
      st = setup_merge_list(static_cast<int>(i), dir, depth);
    }
    if (st) st = read_merge_frame(static_cast<int>(i), dir, dir, depth);
    if (!st && first) first = st;
  }
  return first;
}

void FilterList::pop_dir() {
  if (dirs_.empty()) return;
  const int depth = static_cast<int>(dirs_.size());
  for (MergeList& m : merge_lists_) {
    while (!m.frames.empty() && m.frames.back().depth >= depth) m.frames.pop_back();
  }
  while (!merge_lists_.empty() && merge_lists_.back().owner_depth >= depth) {
    merge_lists_.pop_back();
  }
  dirs_.pop_back();
}

FilterStatus FilterList::read_merge_frame(int list, const std::string& dir,
                                          const std::string& anchor, int depth) {
  MergeList& m = merge_lists_[static_cast<size_t>(list)];
  Frame& frame = m.frames.emplace_back();
  frame.depth = depth;
  frame.cuts_inheritance = (m.flags & kNoInherit) != 0;
  Sink sink{&frame.rules, &frame, list, depth, anchor};
  return parse_file(sink, dir + "/" + m.name, m.flags, false, true, false, 0);
}

FilterStatus FilterList::setup_merge_list(int list, const std::string& dir, int depth) {
  MergeList& m = merge_lists_[static_cast<size_t>(list)];
  if (m.name.find('/') == std::string::npos) return {};
  // A name with a directory part is looked up by its base name in every directory; if that
  // directory part is the transfer directory or one of its parents, the files in the parents
  // are read first, from the outermost down (rsync's "parent_dirscan").
  const std::string full = clean_abs_path(m.name[0] == '/' ? m.name : dir + "/" + m.name);
  const size_t slash = full.rfind('/');
  const std::string parent = full.substr(0, slash == std::string::npos ? 0 : slash);
  m.name = std::string(base_name(full));
  const std::string here = dir + "/";
  const std::string from = parent + "/";
  if (here.compare(0, from.size(), from) != 0) return {};
  FilterStatus first;
  for (size_t end = from.size(); end < here.size();) {
    const std::string scan = here.substr(0, end - 1);  // "" for "/"
    FilterStatus st = read_merge_frame(list, scan, scan, depth);
    MergeList& ml = merge_lists_[static_cast<size_t>(list)];
    if (ml.flags & kNoInherit) ml.frames.pop_back();  // parents' rules are never inherited
    if (!st && first) first = st;
    end = here.find('/', end) + 1;
  }
  return first;
}

Decision FilterList::matches(std::string_view rel_path, bool is_dir, Side side,
                             bool ignore_perishable) const {
  if (check(rules_, rel_path, is_dir, false, side, ignore_perishable) < 0) {
    return side == Side::kSender ? Decision::kExcluded : Decision::kProtected;
  }
  return Decision::kIncluded;
}

Decision FilterList::matches_xattr(std::string_view name, Side side) const {
  if (check(rules_, name, false, true, side, false) < 0) {
    return side == Side::kSender ? Decision::kExcluded : Decision::kProtected;
  }
  return Decision::kIncluded;
}

std::optional<FilterList::Reason> FilterList::reason(std::string_view rel_path, bool is_dir,
                                                    Side side, bool ignore_perishable) const {
  Hit hit;
  if (check(rules_, rel_path, is_dir, false, side, ignore_perishable, kGlobalList, &hit) == 0) {
    return std::nullopt;
  }
  const Rule& rule = *hit.rule;
  Reason why{(rule.flags & kInclude) != 0, "<rule from a file read earlier>"};
  if (!rule.from_file) why.pattern = rule.pattern + ((rule.flags & kDirectory) ? "/" : "");
  if (hit.list == kCvsList) {
    why.pattern += " [global CVS]";
  } else if (hit.list >= 0) {
    why.pattern += " [per-dir " + merge_lists_[static_cast<size_t>(hit.list)].name + "]";
  }
  return why;
}

namespace {

bool applies_to(uint32_t flags, Side side) {
  const uint32_t sides = flags & kSides;
  if (sides == 0) return true;
  return side == Side::kSender ? (sides & kSenderSide) != 0 : (sides & kReceiverSide) != 0;
}

}  // namespace

// -1 excluded, 1 included, 0 no rule matched (rsync's check_filter).
int FilterList::check(const std::vector<Rule>& rules, std::string_view path, bool is_dir,
                      bool xattr, Side side, bool ignore_perishable, int list, Hit* hit) const {
  for (const Rule& rule : rules) {
    if (ignore_perishable && (rule.flags & kPerishable)) continue;
    if (!applies_to(rule.flags, side)) continue;
    if (rule.flags & kPerDirMerge) {
      if (int rc = check_merge(rule.merge_list, path, is_dir, xattr, side, ignore_perishable, hit)) {
        return rc;
      }
      continue;
    }
    if (rule.flags & kCvsIgnore) {
      if (int rc = check(cvs_rules_, path, is_dir, xattr, side, ignore_perishable, kCvsList, hit)) {
        return rc;
      }
      continue;
    }
    if (rule_matches(rule, path, is_dir, xattr)) {
      if (hit != nullptr) *hit = Hit{&rule, list};
      return (rule.flags & kInclude) ? 1 : -1;
    }
  }
  return 0;
}

int FilterList::check_merge(int list, std::string_view path, bool is_dir, bool xattr, Side side,
                            bool ignore_perishable, Hit* hit) const {
  if (list < 0 || static_cast<size_t>(list) >= merge_lists_.size()) return 0;
  const MergeList& m = merge_lists_[static_cast<size_t>(list)];
  for (auto it = m.frames.rbegin(); it != m.frames.rend(); ++it) {
    if (int rc = check(it->rules, path, is_dir, xattr, side, ignore_perishable, list, hit)) return rc;
    if (it->cuts_inheritance) break;
  }
  return 0;
}

bool FilterList::rule_matches(const Rule& rule, std::string_view path, bool is_dir,
                              bool xattr) const {
  std::string_view name = path;
  if (!name.empty() && name[0] == '/') name.remove_prefix(1);
  if (name.empty()) return false;
  if (xattr != ((rule.flags & kXattr) != 0)) return false;
  const bool on_match = !(rule.flags & kNegate);

  // The text a pattern sees: the last component for a pattern with no '/' and no "**";
  // otherwise the whole path, behind the root's absolute path for an absolute rule, or behind
  // a '/' for a leading "**" so that "**/foo" also matches "foo" at the top.
  std::string text;
  int pieces = 1;
  if (!rule.slash_count && !(rule.flags & kWild2)) {
    name = base_name(name);
  } else if ((rule.flags & kAbsPath) && current_root() != "/") {
    text = current_root().substr(1) + "/";
    ++pieces;
  } else if (rule.flags & kWild2Prefix) {
    text = "/";
    ++pieces;
  }
  text += name;
  if (is_dir) {
    // "dir/***" matches "dir" itself as if it were "dir/".
    if (rule.flags & kWild3Suffix) {
      text += '/';
      ++pieces;
    }
  } else if (rule.flags & kDirectory) {
    return !on_match;
  }

  std::string_view pattern = rule.pattern;
  const bool anchored = !pattern.empty() && pattern[0] == '/';
  if (anchored) pattern.remove_prefix(1);
  int where = 0;
  if (!anchored && rule.slash_count && !(rule.flags & kWild2)) {
    where = rule.slash_count + 1;  // the last slash_count+1 components
  } else if (!anchored && !(rule.flags & kWild2Prefix) && (rule.flags & kWild2)) {
    where = -1;  // at the start or after any '/'
  }

  bool hit;
  if (rule.flags & kWild) {
    hit = wildmatch_path(pattern, text, where);
  } else if (pieces > 1) {
    hit = litmatch_path(pattern, text, where);
  } else if (anchored) {
    hit = name == pattern;
  } else {
    hit = name.size() >= pattern.size() &&
          name.substr(name.size() - pattern.size()) == pattern &&
          (name.size() == pattern.size() || name[name.size() - pattern.size() - 1] == '/');
  }
  return hit ? on_match : !on_match;
}

}  // namespace ringkit::sync
