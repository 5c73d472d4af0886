#include "sync/paths.h"

namespace ringkit::sync {

SourceArg parse_source(const std::string& arg) {
  SourceArg s;
  std::string p = arg;
  // "dir/." means the contents of dir, as "dir/" does.
  if (p.size() >= 2 && p.ends_with("/.")) {
    p.resize(p.size() - 1);
  } else if (p == ".") {
    p = "./";
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

}  // namespace ringkit::sync
