// -S: where a buffer of file data holds something other than zeros.
//
// rsync -S skips runs of zero bytes when it writes (seeking over them), so that they become
// holes, and sets the length at the end. The file system allocates whole blocks, so what counts
// is which blocks hold a non-zero byte: those are written, the rest are left as holes. Pure
// functions; thread-safe.
#pragma once

#include <cstddef>
#include <span>
#include <utility>
#include <vector>

namespace ringkit::sync {

// The file-system block size the zero test works in (ext4, xfs, btrfs, tmpfs: 4 KiB).
inline constexpr size_t kSparseBlock = 4096;

// The runs [begin, end) of `data` to write: maximal runs of `block`-sized pieces (the last may
// be shorter) that hold a non-zero byte. `data` must start on a block boundary of the file.
std::vector<std::pair<size_t, size_t>> nonzero_runs(std::span<const std::byte> data,
                                                    size_t block = kSparseBlock);

}  // namespace ringkit::sync
