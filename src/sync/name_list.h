// NameList: the names in a directory and their getdents types, sorted by bytes (rsync's order),
// packed in one block: a name costs its length plus 10 bytes, where an Entry costs ~170.
//
// The syncer reads the destination side of a directory as a NameList: it needs only the names
// (which source entries the destination has, which it has in excess) and their types. Each
// name is stored NUL-terminated, so name() can be passed on as a C string. A plain value; the
// thread that owns it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "ringkit/result.h"
#include "ringkit/task.h"

namespace ringkit::sync {

class NameList {
 public:
  static constexpr size_t npos = static_cast<size_t>(-1);

  size_t size() const { return at_.size(); }
  bool empty() const { return at_.empty(); }
  // The i-th name in byte order (NUL-terminated in place), valid while the list lives unchanged.
  const char* c_name(size_t i) const { return name_of(at_[i]).data(); }
  std::string_view name(size_t i) const { return c_name(i); }
  unsigned char type(size_t i) const { return static_cast<unsigned char>(bytes_[at_[i]]); }
  // The place of `name`, or npos.
  size_t find(std::string_view name) const;

  // REQUIRES: sort() after the last add() before any other call.
  void add(std::string_view name, unsigned char type);
  void sort();
  // Drops the names `drop` says so of (their bytes stay until the list goes).
  void erase_if(const std::function<bool(std::string_view)>& drop);

 private:
  // The name of the record at byte `at` of bytes_ (NUL-terminated in place).
  std::string_view name_of(size_t at) const { return bytes_.data() + at + 1; }
  std::string bytes_;        // per name: its type, its bytes, a NUL
  std::vector<size_t> at_;   // where each name's record starts, in the names' byte order
};

// Every name in `dirfd` except "." and "..", sorted.
Task<Result<NameList>> read_names(int dirfd);

}  // namespace ringkit::sync
