// rsync-compatible wildcard matching for filter rules.
//
// The matcher follows rsync's wildmatch semantics byte for byte, because ringsync must select
// exactly the files rsync selects: `?` and `*` never match '/', `**` (two or more stars) matches
// anything including '/', `[...]` classes (with `!` or `^` negation, ranges, `[:alpha:]` style
// classes, backslash escapes) never match '/', and a backslash escapes the next character.
// Character classes are ASCII-only (rsync runs them in a C/UTF-8 locale where bytes >= 0x80 are
// never alpha, digit, ...), so results do not depend on the process locale.
//
// Pure functions over byte strings: no allocation beyond the stack, usable from any thread.
// Called by FilterList (filter.cc) and by its tests.
#pragma once

#include <string_view>

namespace ringkit::sync {

// Matches `pattern` against the whole of `text`.
bool wildmatch(std::string_view pattern, std::string_view text);

// How a filter pattern is positioned on a path (rsync's `slash_handling`):
//   where == 0: the pattern must match the whole text;
//   where  > 0: the pattern must match the last `where` '/'-separated components of text;
//   where  < 0: the pattern may match starting at the beginning or right after any '/'.
bool wildmatch_path(std::string_view pattern, std::string_view text, int where);

// The same positioning for a pattern with no wildcards, compared literally (where >= 0 only).
bool litmatch_path(std::string_view literal, std::string_view text, int where);

}  // namespace ringkit::sync
