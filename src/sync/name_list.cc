#include "sync/name_list.h"

#include <algorithm>

#include "ringkit/fs.h"

namespace ringkit::sync {

size_t NameList::find(std::string_view name) const {
  auto it = std::lower_bound(at_.begin(), at_.end(), name,
                             [&](size_t at, std::string_view n) { return name_of(at) < n; });
  if (it == at_.end() || name_of(*it) != name) return npos;
  return static_cast<size_t>(it - at_.begin());
}

void NameList::add(std::string_view name, unsigned char type) {
  at_.push_back(bytes_.size());
  bytes_.push_back(static_cast<char>(type));
  bytes_.append(name);
  bytes_.push_back('\0');
}

void NameList::sort() {
  std::sort(at_.begin(), at_.end(), [&](size_t a, size_t b) {
    return name_of(a) < name_of(b);
  });
}

void NameList::erase_if(const std::function<bool(std::string_view)>& drop) {
  std::erase_if(at_, [&](size_t at) { return drop(name_of(at)); });
}

Task<Result<NameList>> read_names(int dirfd) {
  NameList names;
  std::vector<std::byte> buf(64 * 1024);
  for (;;) {
    auto n = co_await fs::getdents(dirfd, buf);
    if (!n) co_return n.error();
    if (*n == 0) break;
    for (fs::DirEntry e : fs::DirEntries(std::span(buf).first(*n))) names.add(e.name, e.type);
  }
  names.sort();
  co_return names;
}

}  // namespace ringkit::sync
