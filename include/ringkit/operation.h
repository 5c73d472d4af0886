// Operation: one request to the engine, and its state while in flight.
//
// This is the engine's neutral request. An awaitable embeds an Operation (no allocation per
// operation); its address is the io_uring user_data, the blocking pool's job and the epoll
// waiter. A backend turns it into an SQE (uring), a direct system call (threads, cheap calls)
// or an epoll wait (sockets, threads backend).
//
// Lifetime: an Operation must stay where it is from submit until `complete()` has been called.
// Every pointer it carries (buffers, paths, iovecs, msghdr, statx) must stay valid that long.
// Thread affinity: owned by one executor thread; the blocking pool touches `res` only between
// taking a job and posting it back.
#pragma once

#include <linux/time_types.h>

#include <chrono>
#include <coroutine>
#include <cstdint>
#include <stop_token>

namespace ringkit {
class Executor;
}

namespace ringkit::detail {

enum class OpCode : uint8_t {
  kNop,
  kTimeout,  // sleep for `timeout`
  // File I/O (io_uring opcodes).
  kRead, kWrite, kReadFixed, kWriteFixed, kReadv, kWritev,
  kFsync, kFallocate, kOpenat, kOpenat2, kClose, kSplice,
  // Metadata with io_uring opcodes that io-wq executes (placement: EngineSettings::metadata_ops).
  kStatx, kMkdirat, kUnlinkat, kRenameat, kLinkat, kSymlinkat, kFgetxattr, kFsetxattr,
  // Cheap calls: no io_uring opcode (placement: EngineSettings::cheap_calls).
  kFtruncate, kMknodat, kGetdents, kFchmod, kFchmodat, kFchown, kFchownat, kFutimens,
  kUtimensat, kReadlinkat, kLgetxattr, kLsetxattr, kLlistxattr, kFlistxattr, kLremovexattr,
  kFremovexattr, kCopyFileRange, kFiclone,
  // Sockets.
  kRecvmsg, kSendmsg,
  kSendto,            // one datagram (addr, len) to addr2 (a sockaddr of aux bytes; null: the
                      // connected peer). On the ring, a send with no msghdr to copy in.
  kRecvmsgMultishot,  // one request, a completion per datagram; buffers from a provided ring
  kCount
};

const char* opcode_name(OpCode code);

// How a backend should run an operation.
enum class OpClass : uint8_t { kRing, kMetadata, kCheap, kSocket, kTimer };
OpClass op_class(OpCode code);

struct Operation {
  OpCode code = OpCode::kNop;

  // Arguments; meaning per opcode (see syscall_ops.cc, the one place that defines them).
  int fd = -1;        // file, socket or directory descriptor
  int fd2 = -1;       // second descriptor (rename/link/splice/copy target)
  const char* path = nullptr;
  const char* path2 = nullptr;
  void* addr = nullptr;   // buffer, iovec array, msghdr, statx, open_how, timespec, xattr value
  const void* addr2 = nullptr;  // kSendto: the destination sockaddr
  uint64_t len = 0;
  uint64_t off = 0;
  uint64_t off2 = 0;
  uint32_t flags = 0;
  uint32_t mode = 0;
  uint32_t aux = 0;       // registered buffer index, uid, ...
  uint32_t aux2 = 0;      // gid, ...
  // Cheap calls only: the call may take long (a copy of many megabytes), so it runs on the
  // blocking pool whatever EngineSettings::cheap_calls says, and the executor thread goes on.
  bool on_pool = false;
  // Ring opcodes only: the kernel hands this request to an io-wq worker whatever the file (a
  // creating open; a buffered write to a file system that takes no nonblocking ones, as tmpfs
  // and ext4). Placed like the metadata opcodes (EngineSettings::metadata_ops): by default a
  // direct call, which costs less than the worker's wake-up and hand-off.
  bool worker_bound = false;

  // A deadline for socket operations and the sleep duration for kTimeout; zero means none.
  std::chrono::nanoseconds timeout{0};

  // Outcome: >= 0 success, -errno failure.
  int64_t res = 0;
  uint32_t cqe_flags = 0;

  // Completion: resume `waiter`, or call `on_complete` when set (multishot, posted functions).
  std::coroutine_handle<> waiter;
  void (*on_complete)(Operation*) = nullptr;

  // Engine bookkeeping.
  enum class State : uint8_t { kIdle, kPending, kInFlight, kPool, kReady };
  State state = State::kIdle;
  __kernel_timespec ts{};            // uring: the timeout as the kernel reads it
  int64_t deadline_ns = 0;           // threads: absolute CLOCK_MONOTONIC deadline
  Executor* executor = nullptr;
  Operation* next = nullptr;         // intrusive link for pending/wait queues
  bool cancel_requested = false;     // someone asked to cancel; ECANCELED is then "cancelled"
  bool has_link_timeout = false;     // uring: a LINK_TIMEOUT follows this SQE
  bool multishot = false;            // may complete many times (cqe_flags & IORING_CQE_F_MORE)

  void complete() {
    if (on_complete != nullptr) {
      on_complete(this);
    } else {
      waiter.resume();
    }
  }
};

// The direct system call for `op` (the threads backend, cheap calls, and opcodes the running
// kernel lacks). Returns >= 0 or -errno; never throws. May block.
int64_t execute_blocking(Operation& op);

}  // namespace ringkit::detail
