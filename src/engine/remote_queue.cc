#include "engine/remote_queue.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <system_error>

namespace ringkit::detail {

RemoteQueue::RemoteQueue() {
  eventfd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (eventfd_ < 0) throw std::system_error(errno, std::system_category(), "eventfd");
}

RemoteQueue::~RemoteQueue() { ::close(eventfd_); }

void RemoteQueue::push(std::span<Operation* const> ops) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    items_.insert(items_.end(), ops.begin(), ops.end());
    if (!eventfd_armed_) {
      eventfd_armed_ = true;
      wake = true;
    }
  }
  if (wake) {
    uint64_t one = 1;
    // EAGAIN only if the counter would overflow, which one pending wake-up cannot cause.
    [[maybe_unused]] ssize_t n = ::write(eventfd_, &one, sizeof one);
  }
}

void RemoteQueue::take(std::vector<Operation*>& out) {
  uint64_t value;
  [[maybe_unused]] ssize_t n = ::read(eventfd_, &value, sizeof value);
  std::lock_guard lock(mutex_);
  eventfd_armed_ = false;
  out.insert(out.end(), items_.begin(), items_.end());
  items_.clear();
}

}  // namespace ringkit::detail
