// FramePool: where Task coroutine frames come from.
//
// Every call of a coroutine allocates its frame, and a transfer or a file copy makes several
// such calls per packet or per file. glibc's malloc serves them from its per-thread cache only
// up to 7 blocks of a size and 1 KiB; past that (thousands of transfers whose frames are freed
// and allocated in turn, frames of 1-2 KiB) it takes its general path, which was 5-7% of
// ringtftpd's CPU at 10 000 clients. This pool keeps freed frames in per-thread lists by size
// class (64-byte steps up to kMaxFrame) and hands them out again; larger frames go to the
// heap. It holds at most kPerClass frames of a class per thread, so what it keeps never
// exceeds what was once in use at the same time.
//
// Thread affinity: each thread has its own lists; a frame freed on another thread than it was
// allocated on joins that thread's list (no locks). A thread's lists are freed when it ends.
// Under AddressSanitizer the pool is off (frames come from the heap), so that a use of a freed
// frame is still caught.
#pragma once

#include <cstddef>

namespace ringkit::detail {

struct FramePool {
  static constexpr size_t kGranule = 64;
  static constexpr size_t kMaxFrame = 4096;
  static constexpr size_t kPerClass = 512;

  static void* allocate(size_t size);
  static void deallocate(void* frame, size_t size) noexcept;
  // Freed frames of `size`'s class that this thread holds (0 for sizes it does not pool).
  static size_t cached(size_t size);
};

}  // namespace ringkit::detail
