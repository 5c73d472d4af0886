#include "sync/paths.h"

namespace ringkit::sync {

SourceArg parse_source(const std::string& arg) {
  SourceArg s;
  std::string p = arg;
  // "dir/." means the contents of dir, as "dir/" does. So do ".." and "dir/.." (rsync reads
  // them as "../." and "dir/../."): ".." is never the name of an item, which would be written
  // above DEST.
  if (p.size() >= 2 && p.ends_with("/.")) {
    p.resize(p.size() - 1);
  } else if (p == "." || p == ".." || p.ends_with("/..")) {
    p += '/';
  }
  if (p.size() > 1 && p.back() == '/') s.contents = true;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  if (p == "/") s.contents = true;
  s.path = p;
  size_t slash = p.find_last_of('/');
  s.name = slash == std::string::npos ? p : p.substr(slash + 1);
  if (s.name == "." || s.name.empty()) s.contents = true;
  return s;
}

std::string dirname_of(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::vector<std::string_view> path_components(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view part = path.substr(pos, slash - pos);
    if (!part.empty() && part != ".") parts.push_back(part);
    pos = slash + 1;
  }
  return parts;
}

}  // namespace ringkit::sync
