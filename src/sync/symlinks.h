// rsync's test of whether a symlink is "unsafe" (--safe-links, --copy-unsafe-links): a lexical
// test on the link's text, never resolving it. Pure; thread-safe.
#pragma once

#include <string_view>

namespace ringkit::sync {

// rsync 3.4's unsafe_symlink(): empty and absolute targets are unsafe; so is a ".." anywhere but
// in the leading run of "../" ("a/../b", "./../x"), and a target ending in "/.."; otherwise the
// target is unsafe when its leading ".." climb above the transfer root from the link's
// directory `dir_rel` ("" for the root, else ending in '/': "a/b/" is two levels down).
bool is_unsafe_symlink(std::string_view target, std::string_view dir_rel);

}  // namespace ringkit::sync
