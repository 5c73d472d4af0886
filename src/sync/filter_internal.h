// Internals shared by filter.cc (matching, per-directory state) and filter_parse.cc (rule
// syntax).  Not for use outside the filter unit.  Pure functions; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ringkit::sync::filter_detail {

// Rule flags, one bit per property rsync tracks for a rule.
inline constexpr uint32_t kInclude = 1u << 0;  // '+', include, show, risk
inline constexpr uint32_t kDirectory = 1u << 1;  // pattern had a trailing '/': matches directories only
inline constexpr uint32_t kAbsPath = 1u << 2;  // '/' modifier, or an anchored rule from a per-directory file
inline constexpr uint32_t kNegate = 1u << 3;  // '!' modifier: takes effect when the pattern does NOT match
inline constexpr uint32_t kMergeFile = 1u << 4;  // '.' or ':'
inline constexpr uint32_t kPerDirMerge = 1u << 5;  // ':' (dir-merge)
inline constexpr uint32_t kNoPrefixes = 1u << 6;  // merge-file modifier '-' or '+': lines are bare patterns
inline constexpr uint32_t kWordSplit = 1u << 7;  // 'w': split on whitespace, no comments
inline constexpr uint32_t kNoInherit = 1u << 8;  // 'n': per-directory rules not inherited by subdirectories
inline constexpr uint32_t kCvsIgnore = 1u << 9;  // 'C'
inline constexpr uint32_t kExcludeSelf = 1u << 10;  // 'e': also exclude the merge file itself
inline constexpr uint32_t kPerishable = 1u << 11;  // 'p'
inline constexpr uint32_t kSenderSide = 1u << 12;  // 's', hide, show
inline constexpr uint32_t kReceiverSide = 1u << 13;  // 'r', protect, risk
inline constexpr uint32_t kXattr = 1u << 14;  // 'x': matches xattr names, not files
inline constexpr uint32_t kClearList = 1u << 15;  // '!' rule
inline constexpr uint32_t kWild = 1u << 16;  // pattern has '*', '?' or '['
inline constexpr uint32_t kWild2 = 1u << 17;  // pattern has "**"
inline constexpr uint32_t kWild2Prefix = 1u << 18;  // pattern starts with "**"
inline constexpr uint32_t kWild3Suffix = 1u << 19;  // pattern ends with "***"
inline constexpr uint32_t kSides = kSenderSide | kReceiverSide;
// What a rule read from a merge file inherits from the merge rule (rsync's
// FILTRULES_FROM_CONTAINER); sides are handled separately.
inline constexpr uint32_t kFromContainer = kAbsPath | kInclude | kDirectory | kNegate | kPerishable;

// rsync's MAXPATHLEN: longer patterns are discarded with a warning.
inline constexpr size_t kMaxPattern = 4096;
// rsync's BIGPATHBUFLEN - 1: longer lines in a rule file are discarded with a warning.
inline constexpr size_t kMaxLine = 4096 + 1024 - 1;
// Merge files that merge merge files: rsync recurses without bound; we stop here.
inline constexpr int kMaxMergeNesting = 32;

struct RuleToken {
  uint32_t flags = 0;
  std::string_view pattern;
};

enum class TokenResult { kNone, kToken, kError };

// Takes the next rule off the front of `rest` (rsync's parse_rule_tok).  `tmpl` holds the
// flags of the merge rule whose file is being read (0 on the command line); `old_prefixes`
// selects --exclude/--include syntax.  On kError, `error` holds rsync's message.
TokenResult next_rule_token(std::string_view& rest, uint32_t tmpl, bool old_prefixes,
                            bool delete_excluded, RuleToken* out, std::string* error);

// Lexical clean-up of an absolute path: collapses "//", "/./" and "dir/..".  Returns the
// path without a trailing slash, and "" for the root directory itself.
std::string clean_abs_path(std::string_view path);

inline std::string_view base_name(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

}  // namespace ringkit::sync::filter_detail
