// rsync's wildmatch, re-expressed over std::string_view. The tri-state aborts are what keep
// the matcher polynomial: once a `*` has scanned to the end of the text without success, no
// earlier `*` can do better (kAbortAll), and a single `*` that reached a '/' lets only an
// outer `**` retry further along (kAbortToStarStar).
#include "sync/wildmatch.h"

#include <cstddef>

namespace ringkit::sync {
namespace {

enum class Wild { kNoMatch, kMatch, kAbortAll, kAbortToStarStar };

bool in_class(std::string_view name, unsigned char c, bool* known) {
  *known = true;
  const bool upper = c >= 'A' && c <= 'Z';
  const bool lower = c >= 'a' && c <= 'z';
  const bool digit = c >= '0' && c <= '9';
  const bool alpha = upper || lower;
  const bool space = c == ' ' || (c >= '\t' && c <= '\r');
  const bool print = c >= 0x20 && c < 0x7f;
  if (name == "alnum") return alpha || digit;
  if (name == "alpha") return alpha;
  if (name == "blank") return c == ' ' || c == '\t';
  if (name == "cntrl") return c < 0x20 || c == 0x7f;
  if (name == "digit") return digit;
  if (name == "graph") return print && c != ' ';
  if (name == "lower") return lower;
  if (name == "print") return print;
  if (name == "punct") return print && c != ' ' && !alpha && !digit;
  if (name == "space") return space;
  if (name == "upper") return upper;
  if (name == "xdigit") return digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  *known = false;
  return false;
}

// Byte at `i` of the pattern, or 0 past its end (rsync's patterns are NUL-terminated).
inline unsigned char at(std::string_view s, size_t i) {
  return i < s.size() ? static_cast<unsigned char>(s[i]) : 0;
}

Wild match(std::string_view pat, size_t pi, std::string_view text, size_t ti) {
  for (; pi < pat.size(); ++pi, ++ti) {
    unsigned char p = at(pat, pi);
    if (ti >= text.size() && p != '*') return Wild::kAbortAll;
    const unsigned char t = at(text, ti);
    switch (p) {
      case '\\':
        p = at(pat, ++pi);
        if (pi >= pat.size() || t != p) return Wild::kNoMatch;
        continue;
      default:
        if (t != p) return Wild::kNoMatch;
        continue;
      case '?':
        if (t == '/') return Wild::kNoMatch;
        continue;
      case '*': {
        bool special = false;
        if (at(pat, pi + 1) == '*') {
          special = true;
          while (at(pat, pi + 1) == '*') ++pi;
        }
        ++pi;  // first byte after the stars
        if (pi >= pat.size()) {
          // A trailing "**" matches everything; a trailing "*" only what has no more '/'.
          if (!special && text.find('/', ti) != std::string_view::npos) return Wild::kNoMatch;
          return Wild::kMatch;
        }
        for (; ti < text.size(); ++ti) {
          Wild m = match(pat, pi, text, ti);
          if (m != Wild::kNoMatch) {
            if (!special || m != Wild::kAbortToStarStar) return m;
          } else if (!special && text[ti] == '/') {
            return Wild::kAbortToStarStar;
          }
        }
        return Wild::kAbortAll;
      }
      case '[': {
        p = at(pat, ++pi);
        if (p == '^') p = '!';
        const bool negated = p == '!';
        if (negated) p = at(pat, ++pi);
        unsigned char prev = 0;
        bool matched = false;
        // The first byte after '[' (or after the negation) is never the closing ']'.
        do {
          if (pi >= pat.size()) return Wild::kAbortAll;
          if (p == '\\') {
            p = at(pat, ++pi);
            if (pi >= pat.size()) return Wild::kAbortAll;
            if (t == p) matched = true;
          } else if (p == '-' && prev && pi + 1 < pat.size() && at(pat, pi + 1) != ']') {
            p = at(pat, ++pi);
            if (p == '\\') {
              p = at(pat, ++pi);
              if (pi >= pat.size()) return Wild::kAbortAll;
            }
            if (t <= p && t >= prev) matched = true;
            p = 0;  // a range end never starts another range
          } else if (p == '[' && at(pat, pi + 1) == ':') {
            const size_t s = pi + 2;
            size_t q = s;
            while (q < pat.size() && pat[q] != ']') ++q;
            if (q >= pat.size()) return Wild::kAbortAll;
            if (q < s + 1 || pat[q - 1] != ':') {
              // No ":]": the '[' is an ordinary member of the set.
              p = '[';
              if (t == p) matched = true;
              continue;
            }
            bool known = false;
            if (in_class(pat.substr(s, q - s - 1), t, &known)) matched = true;
            if (!known) return Wild::kAbortAll;
            pi = q;
            p = 0;
          } else if (t == p) {
            matched = true;
          }
        } while (prev = p, (p = at(pat, ++pi)) != ']');  // past the end reads 0: aborts above
        if (matched == negated || t == '/') return Wild::kNoMatch;
        continue;
      }
    }
  }
  return ti >= text.size() ? Wild::kMatch : Wild::kNoMatch;
}

// The last `count` '/'-separated components of text, or npos when it has fewer.
size_t trailing_components(std::string_view text, int count) {
  for (size_t i = text.size(); i-- > 0;) {
    if (text[i] == '/' && --count == 0) return i + 1;
  }
  return count == 1 ? 0 : std::string_view::npos;
}

}  // namespace

bool wildmatch(std::string_view pattern, std::string_view text) {
  return match(pattern, 0, text, 0) == Wild::kMatch;
}

bool wildmatch_path(std::string_view pattern, std::string_view text, int where) {
  size_t start = 0;
  if (where > 0) {
    start = trailing_components(text, where);
    if (start == std::string_view::npos) return false;
  }
  Wild m = match(pattern, 0, text, start);
  if (m == Wild::kMatch || where >= 0 || m == Wild::kAbortAll) return m == Wild::kMatch;
  for (size_t i = start; i < text.size(); ++i) {
    if (text[i] != '/') continue;
    m = match(pattern, 0, text, i + 1);
    if (m != Wild::kNoMatch && m != Wild::kAbortToStarStar) break;
  }
  return m == Wild::kMatch;
}

bool litmatch_path(std::string_view literal, std::string_view text, int where) {
  size_t start = 0;
  if (where > 0) {
    start = trailing_components(text, where);
    if (start == std::string_view::npos) return false;
  }
  return text.substr(start) == literal;
}

}  // namespace ringkit::sync
