#include "ringkit/frame_cache.h"

#include <cstdint>
#include <new>

namespace ringkit::detail {

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kEnabled = false;
#else
constexpr bool kEnabled = true;
#endif

constexpr std::size_t kClasses = kMaxCachedFrame / kFrameClassBytes;

struct FreeFrame {
  FreeFrame* next;
};

// Trivially destructible, so that frames freed while the thread ends (by other thread_local
// destructors) still find it; `closed` then sends them to operator delete.
struct Cache {
  FreeFrame* heads[kClasses];
  std::uint32_t counts[kClasses];
  std::size_t bytes;
  bool armed;   // the Drain below is constructed (its destructor will run at thread exit)
  bool closed;  // the Drain has run
};
constinit thread_local Cache cache{};

struct Drain {
  bool touched = false;
  ~Drain() {
    for (std::size_t c = 0; c < kClasses; ++c) {
      while (FreeFrame* f = cache.heads[c]) {
        cache.heads[c] = f->next;
        ::operator delete(f);
      }
      cache.counts[c] = 0;
    }
    cache.bytes = 0;
    cache.closed = true;
  }
};
thread_local Drain drain;

bool cacheable(std::size_t bytes) { return kEnabled && bytes > 0 && bytes <= kMaxCachedFrame; }
std::size_t class_of(std::size_t bytes) { return (bytes - 1) / kFrameClassBytes; }
std::size_t class_bytes(std::size_t c) { return (c + 1) * kFrameClassBytes; }

}  // namespace

void* allocate_frame(std::size_t bytes) {
  if (!cacheable(bytes)) return ::operator new(bytes);
  const std::size_t c = class_of(bytes);
  if (FreeFrame* f = cache.heads[c]) {
    cache.heads[c] = f->next;
    --cache.counts[c];
    cache.bytes -= class_bytes(c);
    return f;
  }
  // Every cacheable frame is allocated at its class's size, so any frame of the class can
  // take its place later.
  return ::operator new(class_bytes(c));
}

void free_frame(void* frame, std::size_t bytes) noexcept {
  if (frame == nullptr) return;
  if (!cacheable(bytes)) {
    ::operator delete(frame);
    return;
  }
  const std::size_t c = class_of(bytes);
  if (cache.closed || cache.counts[c] >= kMaxPerClass ||
      cache.bytes + class_bytes(c) > kMaxCachedBytes) {
    ::operator delete(frame);
    return;
  }
  if (!cache.armed) {
    drain.touched = true;  // constructs this thread's Drain, so that it runs at thread exit
    cache.armed = true;
  }
  auto* f = static_cast<FreeFrame*>(frame);
  f->next = cache.heads[c];
  cache.heads[c] = f;
  ++cache.counts[c];
  cache.bytes += class_bytes(c);
}

std::size_t cached_frames() noexcept {
  std::size_t n = 0;
  for (std::size_t c = 0; c < kClasses; ++c) n += cache.counts[c];
  return n;
}

bool frame_cache_enabled() noexcept { return kEnabled; }

}  // namespace ringkit::detail
