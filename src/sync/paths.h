// Turning SRC... DEST into transfer roots, with rsync's rules for local copies:
//  - "dir/" (trailing slash, or "." / "dir/.") copies the directory's contents into DEST;
//  - "dir" copies the directory itself, as DEST/dir;
//  - DEST is a directory the items go into, or, when it is not an existing directory and the
//    transfer sends just one item, that item's name (Syncer::settle_dest(), dest.cc).
// Pure string logic plus a few stat calls made by the caller; see plan_roots().
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ringkit::sync {

struct SourceArg {
  std::string path;      // as given, without trailing slashes (but "/" stays "/")
  bool contents = false; // trailing slash (or "/."): copy what is inside
  std::string name;      // the last component: the name the item gets under DEST
};

SourceArg parse_source(const std::string& arg);

// The directory part of a path: "a/b" -> "a", "b" -> ".", "/b" -> "/".
std::string dirname_of(const std::string& path);

// The components of `path` in order, without empty ones (a leading, doubled or trailing '/')
// and ".": "/a//./b/" gives {"a", "b"}; ".." is kept (its meaning is the caller's). Views into
// `path`, valid as long as it is.
std::vector<std::string_view> path_components(std::string_view path);

// `path` below the directory `dir` as a user names it: "." + "a" = "a", "/x" + "a" = "/x/a",
// "/" + "a" = "/a".
inline std::string under_dir(const std::string& dir, const std::string& path) {
  if (dir == ".") return path;
  return dir + (dir.ends_with('/') ? "" : "/") + path;
}

// Joins a directory-relative path for messages: "" + "a" = "a", "d/" + "a" = "d/a".
inline std::string join_rel(const std::string& dir_rel, const std::string& name) {
  return dir_rel + name;
}

}  // namespace ringkit::sync
