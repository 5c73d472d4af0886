#include "sync/files_from.h"

namespace ringkit::sync {

void FilesFromParser::feed(std::string_view bytes, const Emit& emit) {
  for (char c : bytes) {
    bool ends = nul_ ? c == '\0' : (c == '\n' || c == '\r');
    if (ends) {
      end_name(emit);
    } else {
      partial_ += c;
    }
  }
}

void FilesFromParser::finish(const Emit& emit) { end_name(emit); }

void FilesFromParser::end_name(const Emit& emit) {
  if (!partial_.empty() && partial_[0] != '#' && partial_[0] != ';') emit(partial_);
  partial_.clear();
}

}  // namespace ringkit::sync
