// How ringsync copies a regular file's data (Syncer::copy_data, data_copy.cc).
//
// Per file, the first of these that the file, the options and the file systems allow:
//  - clone (large files): FICLONE, the copy shares the source's blocks (btrfs, xfs, ...: file
//    systems that reflink); no data moves. Not with -S, whose allocation is rsync's (zero blocks
//    as holes).
//  - kernel copy (large files): copy_file_range(2) in pieces on the blocking pool. The kernel
//    copies page cache to page cache: no pass through user memory, and the pool threads copy
//    one file per core. Not with -S either (the zero blocks must be seen).
//  - kernel copy inline (small files whose source is in memory: tmpfs, ramfs): one
//    copy_file_range on the executor thread. Nothing can wait for a device, and the ring would
//    hand the read to an io-wq worker (fs::read_buffered says why).
//  - ring: reads into buffers leased from a BufferPool and writes from the same buffers, several
//    chunks of a file in flight. The way for -S, for small files, and the fallback where the
//    kernel refuses the others (EXDEV between file systems, EOPNOTSUPP, EINVAL). A small file's
//    read from memory is a direct call (fs::read_buffered), its write too (fs::write_buffered).
// "Large" is 1 MiB or more; the constants in data_copy.cc carry the measurements behind each
// choice.
//
// Thread affinity: CopyState::method is read-only during a run; each CopyLane belongs to one
// executor thread (the Syncer's, or its worker's: syncer.h, "Two executors").
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "ringkit/buffer_pool.h"

namespace ringkit::sync {

enum class CopyMethod : uint8_t {
  kAuto,    // the first of clone, kernel copy, ring that applies (above)
  kRing,    // always the ring
  kKernel,  // copy_file_range for every size (small files too, placed by the cheap-calls
            // policy), the ring where refused
  kClone,   // FICLONE for every size, then as kAuto where refused
};

std::optional<CopyMethod> parse_copy_method(std::string_view text);
std::string_view to_string(CopyMethod method);

// RINGKIT_SYNC_COPY=auto|ring|copy_file_range|clone (tests and benchmarks force a method with
// it); kAuto when unset. An unparsable value is reported on stderr once and ignored.
CopyMethod copy_method_from_env();

// Files of this size and larger are "large" (clone, kernel copy on the blocking pool).
constexpr uint64_t kLargeCopy = 1 << 20;

// What one executor thread's copies keep from file to file.
struct CopyLane {
  // Buffers of the ring copy, made (on the lane's thread) when the first file needs one.
  std::unique_ptr<BufferPool> buffers;
  // Bytes written update the progress counters here (the home lane); a worker's are counted at
  // home when its file is done.
  bool counts_progress = true;
  // Devices whose file system keeps files in memory (fs::memory_backed), asked once each.
  std::vector<std::pair<uint64_t, bool>> in_memory;
  // copy_file_range refused a small file from memory (between two file systems): the ring's
  // direct reads copy such files from then on.
  bool small_kernel_copy_refused = false;

  // Whether the file open as `fd`, on device `dev`, is in memory. kUnknownDevice: no.
  bool reads_from_memory(int fd, uint64_t dev);
};

// For copy_data: the source's device is not known (the copy takes the ring for small files).
constexpr uint64_t kUnknownDevice = ~uint64_t{0};

// What Syncer::copy_data keeps from file to file.
struct CopyState {
  CopyMethod method = copy_method_from_env();
  CopyLane home;
  CopyLane worker{nullptr, false};
};

}  // namespace ringkit::sync
