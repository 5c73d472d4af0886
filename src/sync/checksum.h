// The whole-file checksum rsync 3.5.0 negotiates for a local copy (XXH3-128), which --out-format's
// %C prints. Computed only when a format asks for it, by reading the file again (from the page
// cache, right after it was copied). Thread affinity: the executor thread.
#pragma once

#include <array>
#include <optional>

#include "ringkit/task.h"

namespace ringkit::sync {

// XXH3-128 of everything `fd` holds, in the byte order rsync prints (canonical, big-endian);
// nullopt when it cannot be read.
Task<std::optional<std::array<unsigned char, 16>>> file_checksum(int fd);

}  // namespace ringkit::sync
