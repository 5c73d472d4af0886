#include "sync/entry.h"

#include <algorithm>

#include "sync/name_list.h"

namespace ringkit::sync {

Task<Result<std::vector<Entry>>> list_directory(int dirfd) {
  // The names first, packed, so that the entries are made once, in a vector of their number:
  // grown one at a time, it would hold up to twice that, and three times while it moved.
  auto names = co_await read_names(dirfd);
  if (!names) co_return names.error();
  std::vector<Entry> entries;
  entries.reserve(names->size());
  for (size_t i = 0; i < names->size(); ++i) entries.push_back(Entry{std::string(names->name(i)), names->type(i)});
  co_return entries;
}

std::vector<Entry>::const_iterator find_entry(const std::vector<Entry>& entries, std::string_view name) {
  auto it = std::lower_bound(entries.begin(), entries.end(), name,
                             [](const Entry& e, std::string_view n) { return e.name < n; });
  return it != entries.end() && it->name == name ? it : entries.end();
}

}  // namespace ringkit::sync
