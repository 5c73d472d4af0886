// The --files-from list: splitting its bytes into names the way rsync reads them.
//
// A name ends at a newline, a carriage return (so CR+LF and a lone CR both end one) or, with
// -0/--from0, at a NUL byte only. Blank names are dropped, and so are whole-name comments
// (starting with '#' or ';'); everything else, spaces included, is part of the name. The list
// is read incrementally: bytes go in as they are read (from a file or stdin), names come out
// one by one, and only the unfinished last name is held here.
//
// A plain value; not thread-safe.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace ringkit::sync {

class FilesFromParser {
 public:
  using Emit = std::function<void(std::string_view name)>;
  explicit FilesFromParser(bool nul_separated) : nul_(nul_separated) {}

  // Feeds the next bytes of the list; `emit` is called for each name completed by them.
  void feed(std::string_view bytes, const Emit& emit);
  // The end of the list: a last name without a terminator is emitted too.
  void finish(const Emit& emit);

 private:
  void end_name(const Emit& emit);

  bool nul_;
  std::string partial_;
};

}  // namespace ringkit::sync
