// Backend: the part of an executor that talks to the kernel (io_uring, or epoll + threads).
//
// One interface, two implementations, the same test suite. An executor thread owns its backend
// and calls it from that thread only. A backend receives operations of the kinds it runs
// (ring, metadata when placed on the ring, sockets, timers); cheap calls placed inline or on
// the pool never reach it.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <system_error>

#include "ringkit/operation.h"
#include "ringkit/settings.h"

struct iovec;

namespace ringkit {
class Executor;
struct ProbeReport;
}

namespace ringkit::detail {

class Backend {
 public:
  virtual ~Backend() = default;

  virtual BackendKind kind() const = 0;
  // Completion-queue entries this backend lets be in flight at once.
  virtual uint32_t capacity() const = 0;

  // Starts `op`; see Executor::submit for the return value. Never fails for lack of room:
  // excess requests wait in a queue.
  virtual bool submit(Operation& op) = 0;
  // Ends `op` early with ECANCELED if it has not completed; see Executor::cancel.
  virtual void cancel(Operation& op) = 0;
  // Submits what is queued, waits for at least one event when `wait`, runs completions.
  virtual void poll(bool wait) = 0;
  // Operations started and not yet completed.
  virtual size_t in_flight() const = 0;

  virtual std::error_code register_buffers(std::span<const iovec> buffers) = 0;
  virtual void unregister_buffers() = 0;

  // Provided-buffer rings; see Executor::register_buf_ring. Backends without a ring return
  // operation_not_supported.
  virtual std::error_code register_buf_ring(void* ring, uint32_t entries, uint16_t* group) = 0;
  virtual void unregister_buf_ring(uint16_t group) = 0;
};

// REQUIRES: `probe.usable`. Throws std::system_error when the ring cannot be set up.
std::unique_ptr<Backend> make_uring_backend(Executor& executor, const EngineSettings& settings,
                                            const ProbeReport& probe);
std::unique_ptr<Backend> make_threads_backend(Executor& executor, const EngineSettings& settings);

}  // namespace ringkit::detail
