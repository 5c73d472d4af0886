// Rule syntax: the tokenizer for one rule and the loops that read rule strings and files into
// a FilterList.  Messages are rsync's own, so ringsync's stderr reads like rsync's.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <iterator>
#include <vector>

#include "sync/filter.h"
#include "sync/filter_internal.h"
#include "sync/paths.h"

namespace ringkit::sync {

using namespace filter_detail;  // NOLINT: the flag names are this unit's vocabulary

namespace {

bool is_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

// A long rule name ("exclude") at the front of `s`: returns the index of its last byte when
// followed by whitespace, '_' or the end, the index of the ',' when modifiers follow, or npos.
size_t long_name(std::string_view s, std::string_view name) {
  if (s.substr(0, name.size()) != name) return std::string_view::npos;
  if (s.size() == name.size()) return name.size() - 1;
  unsigned char next = static_cast<unsigned char>(s[name.size()]);
  if (is_space(next) || next == '_') return name.size() - 1;
  if (next == ',') return name.size();
  return std::string_view::npos;
}

}  // namespace

namespace filter_detail {

TokenResult next_rule_token(std::string_view& rest, uint32_t tmpl, bool old_prefixes,
                            bool delete_excluded, RuleToken* out, std::string* error) {
  if (tmpl & kWordSplit) {
    size_t skip = 0;
    while (skip < rest.size() && is_space(static_cast<unsigned char>(rest[skip]))) ++skip;
    rest.remove_prefix(skip);
  }
  if (rest.empty()) return TokenResult::kNone;
  const std::string_view rule = rest;  // rsync names the rest of the string in its messages
  auto at = [&](size_t i) -> unsigned char {
    return i < rule.size() ? static_cast<unsigned char>(rule[i]) : 0;
  };

  uint32_t flags = tmpl & kFromContainer;
  size_t pos = 0;  // start of the pattern once prefixes are consumed
  if (tmpl & kNoPrefixes) {
    if (rule[0] == '!' && (tmpl & kCvsIgnore)) flags |= kClearList;  // tentative, see below
  } else if (old_prefixes) {
    if (rule[0] == '-' && at(1) == ' ') {
      flags &= ~kInclude;
      pos = 2;
    } else if (rule[0] == '+' && at(1) == ' ') {
      flags |= kInclude;
      pos = 2;
    } else if (rule[0] == '!') {
      flags |= kClearList;  // tentative
    }
  } else {
    char ch = 0;
    size_t p = std::string_view::npos;
    switch (rule[0]) {
      case 'c': p = long_name(rule, "clear"); ch = '!'; break;
      case 'd': p = long_name(rule, "dir-merge"); ch = ':'; break;
      case 'e': p = long_name(rule, "exclude"); ch = '-'; break;
      case 'h': p = long_name(rule, "hide"); ch = 'H'; break;
      case 'i': p = long_name(rule, "include"); ch = '+'; break;
      case 'm': p = long_name(rule, "merge"); ch = '.'; break;
      case 'p': p = long_name(rule, "protect"); ch = 'P'; break;
      case 'r': p = long_name(rule, "risk"); ch = 'R'; break;
      case 's': p = long_name(rule, "show"); ch = 'S'; break;
      default:
        ch = rule[0];
        p = at(1) == ',' ? 1 : 0;
        break;
    }
    if (p == std::string_view::npos) ch = 0;
    bool side_by_prefix = false;
    switch (ch) {
      case ':': flags |= kPerDirMerge | kMergeFile; break;
      case '.': flags |= kMergeFile; break;
      case '+': flags |= kInclude; break;
      case '-': break;
      case 'S': flags |= kInclude | kSenderSide; side_by_prefix = true; break;
      case 'H': flags |= kSenderSide; side_by_prefix = true; break;
      case 'R': flags |= kInclude | kReceiverSide; side_by_prefix = true; break;
      case 'P': flags |= kReceiverSide; side_by_prefix = true; break;
      case '!': flags |= kClearList; break;
      default:
        *error = "Unknown filter rule: " + std::string(rule);
        return TokenResult::kError;
    }
    if (ch != '!') {
      // Modifiers run up to the ' ' or '_' that separates them from the pattern.
      while (++p < rule.size() && rule[p] != ' ' && rule[p] != '_') {
        const unsigned char m = at(p);
        if ((tmpl & kWordSplit) && is_space(m)) {
          --p;
          break;
        }
        bool valid = true;
        switch (m) {
          case '-':
            valid = (flags & kMergeFile) && !(flags & kNoPrefixes);
            flags |= kNoPrefixes;
            break;
          case '+':
            valid = (flags & kMergeFile) && !(flags & kNoPrefixes);
            flags |= kNoPrefixes | kInclude;
            break;
          case '/': flags |= kAbsPath; break;
          case '!':
            // Negation belongs to a pattern; a merge file's rules cannot inherit it.
            valid = !(flags & kMergeFile);
            flags |= kNegate;
            break;
          case 'C':
            valid = !(flags & kNoPrefixes) && !side_by_prefix;
            flags |= kNoPrefixes | kWordSplit | kNoInherit | kCvsIgnore;
            break;
          case 'e': valid = flags & kMergeFile; flags |= kExcludeSelf; break;
          case 'n': valid = flags & kMergeFile; flags |= kNoInherit; break;
          case 'p': flags |= kPerishable; break;
          case 'r': valid = !side_by_prefix; flags |= kReceiverSide; break;
          case 's': valid = !side_by_prefix; flags |= kSenderSide; break;
          case 'w': valid = flags & kMergeFile; flags |= kWordSplit; break;
          case 'x': flags |= kXattr; break;
          default: valid = false; break;
        }
        if (!valid) {
          *error = "invalid modifier '" + std::string(1, static_cast<char>(m)) +
                   "' at position " + std::to_string(p) + " in filter rule: " + std::string(rule);
          return TokenResult::kError;
        }
      }
    }
    pos = p < rule.size() ? p + 1 : rule.size();
  }

  if (tmpl & kSides) {
    if (flags & kSides) {
      // rsync refuses this: a one-sided per-dir merge cannot hold rules for the other side.
      *error = "specified-side merge file contains specified-side filter: " + std::string(rule);
      return TokenResult::kError;
    }
    flags |= tmpl & kSides;
  }

  size_t len;
  if (tmpl & kWordSplit) {
    len = 0;
    while (pos + len < rule.size() && !is_space(at(pos + len))) ++len;
  } else {
    len = rule.size() - pos;
  }

  if (flags & kClearList) {
    // A bare-pattern list (.cvsignore) may hold "!" as a token; only full rules must not
    // carry anything after it.
    if (!((flags | tmpl) & kNoPrefixes) && !old_prefixes && len) {
      *error = "'!' rule has trailing characters: " + std::string(rule);
      return TokenResult::kError;
    }
    if (len > 1) flags &= ~kClearList;  // "!foo" in a bare-pattern list is a pattern
  } else if (!len && !(flags & kCvsIgnore)) {
    *error = "unexpected end of filter rule: " + std::string(rule);
    return TokenResult::kError;
  }

  if (delete_excluded && !(flags & (kSides | kMergeFile | kPerDirMerge))) flags |= kSenderSide;

  out->flags = flags;
  out->pattern = rule.substr(pos, len);
  rest.remove_prefix(std::min(rule.size(), pos + len));
  return TokenResult::kToken;
}

std::string clean_abs_path(std::string_view path) {
  std::vector<std::string_view> parts;
  for (std::string_view part : path_components(path)) {
    if (part == ".." && !parts.empty() && parts.back() != "..") {
      parts.pop_back();
    } else {
      parts.push_back(part);
    }
  }
  std::string out;
  for (auto part : parts) {
    out += '/';
    out += part;
  }
  return out;
}

}  // namespace filter_detail

Result<std::string> read_rule_file(const std::string& path) {
  if (path == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  // stdio rather than ifstream: it is the one way to learn errno for rsync's message.
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return errno_error(errno);
  std::string data;
  char buf[8192];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) data.append(buf, n);
  const bool failed = std::ferror(f) != 0;
  const int err = errno;
  std::fclose(f);
  if (failed) return errno_error(err ? err : EIO);
  return data;
}

FilterStatus FilterList::parse_string(Sink& sink, std::string_view text, uint32_t tmpl,
                                      bool old_prefixes, bool anchored_to_dir, int nesting,
                                      const std::string& source) {
  // A rule is a C string in rsync: nothing after a NUL byte is seen.
  if (size_t nul = text.find('\0'); nul != std::string_view::npos) text = text.substr(0, nul);
  while (true) {
    RuleToken tok;
    std::string message;
    TokenResult r =
        next_rule_token(text, tmpl, old_prefixes, options_.delete_excluded, &tok, &message);
    if (r == TokenResult::kNone) return {};
    if (r == TokenResult::kError) {
      return FilterError{FilterError::Kind::kSyntax, std::move(message), source};
    }
    if (tok.pattern.size() >= kMaxPattern) {
      warnings_.push_back("discarding over-long filter: " + std::string(tok.pattern));
      continue;
    }
    if (tok.flags & kClearList) {
      clear_sink(sink);
      continue;
    }
    if (tok.flags & kMergeFile) {
      std::string_view pat = tok.pattern.empty() ? std::string_view(".cvsignore") : tok.pattern;
      if (tok.flags & kExcludeSelf) {
        add_parsed(sink, base_name(pat), 0, false, !source.empty());
        tok.flags &= ~kExcludeSelf;
      }
      if (tok.flags & kPerDirMerge) {
        add_parsed(sink, pat, tok.flags, false, !source.empty());
        continue;
      }
      // A single-instance merge: its rules take the place of the merge rule, now.
      if (nesting >= kMaxMergeNesting) {
        return FilterError{FilterError::Kind::kSyntax,
                           "merge-file nesting too deep: " + std::string(pat), source};
      }
      std::string path(pat);
      if (sink.list >= 0 && path[0] != '/') {
        // Inside a per-directory file rsync resolves a name with a '/' against that file's
        // directory and a bare name against its working directory, the transfer root.
        path = (path.find('/') != std::string::npos ? sink.dir_abs : dir_abs("")) + "/" + path;
      }
      FilterStatus st = parse_file(sink, path, tok.flags, false, false, true, nesting + 1);
      if (!st) return st;
      continue;
    }
    add_parsed(sink, tok.pattern, tok.flags, anchored_to_dir, !source.empty());
    if ((tok.flags & kCvsIgnore) && !cvs_loaded_) {
      FilterStatus st = load_cvs_defaults(tok.flags, nesting);
      if (!st) return st;
    }
  }
}

FilterStatus FilterList::parse_file(Sink& sink, const std::string& path, uint32_t tmpl,
                                    bool old_prefixes, bool anchored_to_dir, bool fatal,
                                    int nesting) {
  if (path.empty()) return {};
  Result<std::string> content = options_.read_file(path);
  if (!content.ok()) {
    if (!fatal) return {};
    const std::error_code& ec = content.error();
    return FilterError{FilterError::Kind::kFileIo,
                       std::string("failed to open ") + ((tmpl & kInclude) ? "in" : "ex") +
                           "clude file " + path + ": " + ec.message() + " (" +
                           std::to_string(ec.value()) + ")",
                       path};
  }
  const bool word_split = tmpl & kWordSplit;
  const std::string& data = *content;
  size_t i = 0;
  while (i <= data.size()) {
    // One line (or word): rsync stops at '\n' or '\r' (NUL with --from0), or at whitespace
    // for a word-split file.
    size_t j = i;
    while (j < data.size()) {
      unsigned char c = static_cast<unsigned char>(data[j]);
      if (word_split && (c == ' ' || (c >= '\t' && c <= '\r'))) break;
      if (options_.from0 ? c == 0 : (c == '\n' || c == '\r')) break;
      ++j;
    }
    std::string_view line(data.data() + i, j - i);
    i = j + 1;
    if (line.size() > kMaxLine) {
      warnings_.push_back("discarding over-long filter: " + std::string(line.substr(0, kMaxLine)) +
                          "...");
      continue;
    }
    if (size_t nul = line.find('\0'); nul != std::string_view::npos) line = line.substr(0, nul);
    if (line.empty() || (!word_split && (line[0] == ';' || line[0] == '#'))) continue;
    FilterStatus st =
        parse_string(sink, line, tmpl, old_prefixes, anchored_to_dir, nesting, path);
    if (!st) return st;
  }
  return {};
}

FilterStatus FilterList::load_cvs_defaults(uint32_t flags, int nesting) {
  // Built once, from the first -C rule, as rsync does (its flags decide sides and include).
  cvs_loaded_ = true;
  Sink sink{&cvs_rules_, nullptr, kCvsList, -1, ""};
  static constexpr std::string_view kDefaultCvsIgnore =
      "RCS SCCS CVS CVS.adm RCSLOG cvslog.* tags TAGS .make.state .nse_depinfo *~ #* .#* ,* _$* "
      "*$ *.old *.bak *.BAK *.orig *.rej .del-* *.a *.olb *.o *.obj *.so *.exe *.Z *.elc *.ln "
      "core .svn/ .git/ .hg/ .bzr/";
  // The built-in names are perishable (protocol 30+): they never keep a directory that is
  // gone from the source from being deleted.
  FilterStatus st =
      parse_string(sink, kDefaultCvsIgnore, flags | kPerishable, false, false, nesting, "");
  if (!st) return st;
  std::optional<std::string> home = options_.home;
  if (!home) {
    if (const char* h = std::getenv("HOME")) home = h;
  }
  if (home) {
    st = parse_file(sink, *home + "/.cvsignore", flags, false, false, false, nesting);
    if (!st) return st;
  }
  std::optional<std::string> env = options_.cvsignore_env;
  if (!env) {
    if (const char* e = std::getenv("CVSIGNORE")) env = e;
  }
  if (env) return parse_string(sink, *env, flags, false, false, nesting, "");
  return {};
}

}  // namespace ringkit::sync
