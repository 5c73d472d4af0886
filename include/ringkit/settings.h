// EngineSettings: every knob of the engine, with its default and what it trades.
//
// A plain value; build one, adjust it, hand it to an Executor. `EngineSettings::from_env()`
// starts from the defaults and applies the RINGKIT_* environment variables, so that any program
// can be switched to another backend without a rebuild.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ringkit {

enum class BackendKind : uint8_t {
  kAuto,     // io_uring when the probe says it works, else threads (with one log line)
  kUring,    // io_uring only; fails to start if it is unusable and fallback_on_error is false
  kThreads,  // a blocking thread pool for files and epoll for sockets
};

// Where calls with no io_uring opcode run (getdents64, fchmodat, fchownat, utimensat, readlinkat,
// listxattr, copy_file_range, FICLONE, ...). See docs/benchmarks.md for the measurements.
enum class CheapCalls : uint8_t {
  kInline,  // directly on the executor thread: ~1x a syscall, but blocks the thread on slow media
  kPool,    // on the blocking pool: 15-30 us of hand-off, but never stalls the executor
  kAuto,    // inline on local file systems (ext4, xfs, btrfs, tmpfs), pool on NFS/CIFS/FUSE/others
};

// Where metadata calls that io_uring has opcodes for, but punts to its io-wq worker threads
// (statx, mkdirat, unlinkat, renameat, linkat, symlinkat, xattrs), run. Measured in
// docs/benchmarks.md: on these machines the direct call wins.
enum class MetadataOps : uint8_t {
  kRing,   // as io_uring operations (one batch, executed by io-wq)
  kCheap,  // like the cheap calls above (inline or pool, per CheapCalls)
};

std::string_view to_string(BackendKind kind);
std::string_view to_string(CheapCalls mode);
std::string_view to_string(MetadataOps mode);
std::optional<BackendKind> parse_backend(std::string_view text);
std::optional<CheapCalls> parse_cheap_calls(std::string_view text);
std::optional<MetadataOps> parse_metadata_ops(std::string_view text);

struct EngineSettings {
  // Which backend to run. Environment: RINGKIT_BACKEND=uring|threads|auto.
  BackendKind backend = BackendKind::kAuto;

  // Submission queue entries per ring (the completion queue is twice as large). More in flight
  // means more parallel I/O and more memory locked by the ring. Environment: RINGKIT_QUEUE_DEPTH.
  uint32_t queue_depth = 256;

  // A kernel thread polls the submission queue, saving io_uring_enter calls at the price of a
  // whole core spinning. Off: on 2-core machines it slows everything else down.
  bool use_sqpoll = false;
  // CPU for the SQPOLL thread; -1 lets the kernel choose.
  int sq_thread_cpu = -1;

  // IORING_SETUP_DEFER_TASKRUN (kernel 6.1+, not with SQPOLL): the kernel's work that completes
  // a request runs when the executor asks for completions, in one batch, instead of
  // interrupting it as each request finishes. At 10 000 TFTP clients it took 13% of the
  // server's CPU time (docs/engine.md). Environment: RINGKIT_DEFER_TASKRUN=0|1.
  bool defer_taskrun = true;

  // Register the buffer pool with the ring (READ_FIXED/WRITE_FIXED skip per-I/O page pinning).
  // Needs RLIMIT_MEMLOCK or CAP_IPC_LOCK; without them the pool works unregistered.
  bool use_registered_buffers = true;

  // When backend is kUring and io_uring cannot be set up, fall back to threads (true) or fail.
  bool fallback_on_error = true;

  // See CheapCalls. The compile-time default comes from the CMake option RINGKIT_CHEAP_CALLS_SYNC
  // (ON: inline, OFF: pool); kAuto is chosen at run time. Environment: RINGKIT_CHEAP_CALLS.
  CheapCalls cheap_calls = kDefaultCheapCalls;

  // See MetadataOps. Environment: RINGKIT_METADATA_OPS=ring|cheap.
  MetadataOps metadata_ops = MetadataOps::kCheap;

  // Threads of the blocking pool (threads backend, and cheap calls in pool mode). Blocking file
  // I/O on a cold cache needs several in flight to keep a disk busy, but more threads than
  // that contend on the pool's queue: statx over 100 000 files was fastest with 4 threads on
  // these 2-core machines and used 3-7x the CPU with 8-16 (docs/benchmarks.md).
  // Environment: RINGKIT_POOL_THREADS.
  uint32_t pool_threads = 4;

  static constexpr CheapCalls kDefaultCheapCalls =
#if RINGKIT_CHEAP_CALLS_SYNC
      CheapCalls::kInline;
#else
      CheapCalls::kPool;
#endif

  // Defaults with the RINGKIT_* environment variables applied. An unparsable value is reported
  // on stderr once and ignored.
  static EngineSettings from_env();
};

}  // namespace ringkit
