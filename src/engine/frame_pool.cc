#include "ringkit/frame_pool.h"

#include <new>

namespace ringkit::detail {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kPooled = false;
#else
constexpr bool kPooled = true;
#endif

constexpr size_t kClasses = FramePool::kMaxFrame / FramePool::kGranule;

struct FreeFrame {
  FreeFrame* next;
};

struct Lists {
  FreeFrame* head[kClasses] = {};
  size_t count[kClasses] = {};

  ~Lists();
};

// Set when the thread's lists have been destroyed (a frame freed later in the thread's exit goes
// straight to the heap). A plain bool: it needs no destructor of its own.
thread_local bool lists_gone = false;
thread_local Lists lists;

Lists::~Lists() {
  for (size_t c = 0; c < kClasses; ++c) {
    while (head[c] != nullptr) {
      FreeFrame* f = head[c];
      head[c] = f->next;
      ::operator delete(f);
    }
  }
  lists_gone = true;
}

// The class of a frame of `size` bytes (0 for 1-64, ...), or kClasses when it is not pooled.
size_t class_of(size_t size) {
  if (!kPooled || size == 0 || size > FramePool::kMaxFrame) return kClasses;
  return (size - 1) / FramePool::kGranule;
}

}  // namespace

void* FramePool::allocate(size_t size) {
  size_t c = class_of(size);
  if (c == kClasses || lists_gone) return ::operator new(size);
  Lists& l = lists;
  if (FreeFrame* f = l.head[c]) {
    l.head[c] = f->next;
    --l.count[c];
    return f;
  }
  return ::operator new((c + 1) * kGranule);  // the whole class, so that any list may take it
}

void FramePool::deallocate(void* frame, size_t size) noexcept {
  size_t c = class_of(size);
  if (c == kClasses || lists_gone || lists.count[c] >= kPerClass) {
    ::operator delete(frame);
    return;
  }
  Lists& l = lists;
  auto* f = static_cast<FreeFrame*>(frame);
  f->next = l.head[c];
  l.head[c] = f;
  ++l.count[c];
}

size_t FramePool::cached(size_t size) {
  size_t c = class_of(size);
  return c == kClasses || lists_gone ? 0 : lists.count[c];
}

}  // namespace ringkit::detail
