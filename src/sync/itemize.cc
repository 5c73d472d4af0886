#include "sync/itemize.h"

namespace ringkit::sync {

std::string itemize(const ItemChange& c) {
  std::string s(11, '.');
  s[0] = static_cast<char>(c.update);
  s[1] = static_cast<char>(c.type);
  if (c.is_new) {
    for (size_t i = 2; i < s.size(); ++i) s[i] = '+';
    return s;
  }
  auto mark = [&s](size_t i, bool on, char letter) {
    if (on) s[i] = letter;
  };
  mark(2, c.changed, 'c');
  // Only regular files report size; a symlink's column 3 stays '.'.
  mark(3, c.size && c.type != ItemChange::Type::kSymlink, 's');
  mark(4, c.time, c.time_is_now ? 'T' : 't');
  mark(5, c.perms, 'p');
  mark(6, c.owner, 'o');
  mark(7, c.group, 'g');
  mark(8, c.atime, 'u');
  mark(9, c.acl, 'a');
  mark(10, c.xattr, 'x');
  // An item that is not transferred and has nothing changed shows blanks, not dots.
  bool quiet_kind = c.update != ItemChange::Update::kTransfer;
  if (quiet_kind && s.find_first_not_of('.', 2) == std::string::npos) {
    for (size_t i = 2; i < s.size(); ++i) s[i] = ' ';
  }
  return s;
}

std::string itemize_line(const ItemChange& change, const std::string& path,
                         const std::string& link_target) {
  std::string line = itemize(change) + " " + path;
  if (change.type == ItemChange::Type::kDir && (path.empty() || path.back() != '/')) line += '/';
  if (!link_target.empty()) {
    line += change.update == ItemChange::Update::kHardLink ? " => " : " -> ";
    line += link_target;
  }
  return line;
}

std::string deleting_line(const std::string& path, bool is_dir) {
  std::string line = "*deleting   " + path;
  if (is_dir && (path.empty() || path.back() != '/')) line += '/';
  return line;
}

}  // namespace ringkit::sync
