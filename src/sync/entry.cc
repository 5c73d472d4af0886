#include "sync/entry.h"

#include <algorithm>
#include <array>

#include "ringkit/fs.h"

namespace ringkit::sync {

Task<Result<std::vector<Entry>>> list_directory(int dirfd) {
  std::vector<Entry> entries;
  std::vector<std::byte> buf(64 * 1024);
  for (;;) {
    auto n = co_await fs::getdents(dirfd, buf);
    if (!n) co_return n.error();
    if (*n == 0) break;
    for (fs::DirEntry e : fs::DirEntries(std::span(buf).first(*n))) {
      entries.push_back(Entry{std::string(e.name), e.type});
    }
  }
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.name < b.name; });
  co_return entries;
}

}  // namespace ringkit::sync
