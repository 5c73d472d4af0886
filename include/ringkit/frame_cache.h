// Where Task frames come from: a per-thread cache of freed coroutine frames.
//
// A coroutine frame is a heap allocation, and the engine's programs make and free several per
// packet or per file (a TFTP transfer's send and receive, ringsync's per-file steps). With
// thousands of transfers on one thread, frames are freed in bursts (every transfer whose packet
// arrived in one ring round) and allocated again in the next: more than glibc's per-thread
// cache keeps (7 chunks per size), so most frees and allocations went to the arena's bins and
// their locks, and ~9% of the TFTP server's CPU at 10 000 clients with it (measured by raising
// glibc's limit with GLIBC_TUNABLES; bench/tftp/notes.md).
//
// The cache keeps freed frames in lists by size class (64-byte steps up to kMaxCachedFrame),
// each list up to kMaxPerClass frames and the thread's lists up to kMaxCachedBytes in all;
// beyond that, and for larger frames, frames go back to operator delete. A frame freed on
// another thread than its allocating one joins the freeing thread's cache. A thread's cache is
// emptied when the thread ends.
//
// Under AddressSanitizer the cache is off (every frame is a plain new/delete), so a use of a
// frame after its coroutine ended is still caught.
#pragma once

#include <cstddef>

namespace ringkit::detail {

inline constexpr std::size_t kFrameClassBytes = 64;
inline constexpr std::size_t kMaxCachedFrame = 4096;
inline constexpr std::size_t kMaxPerClass = 4096;
inline constexpr std::size_t kMaxCachedBytes = 8u << 20;

void* allocate_frame(std::size_t bytes);
void free_frame(void* frame, std::size_t bytes) noexcept;

// For tests: frames this thread's cache holds now, and whether it is in use in this build.
std::size_t cached_frames() noexcept;
bool frame_cache_enabled() noexcept;

}  // namespace ringkit::detail
