#include "ringkit/executor.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/statfs.h>
#include <sys/uio.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

#include "engine/backend.h"
#include "engine/blocking_pool.h"
#include "engine/remote_queue.h"
#include "ringkit/deadlines.h"
#include "ringkit/log.h"

namespace ringkit {
namespace {

thread_local Executor* t_current = nullptr;

// How often each fd number has been closed (forget_fd), for every executor's cache of which
// fds are on local file systems: a cached answer holds while the generation is unchanged.
// Larger fd numbers are not cached.
constexpr int kTrackedFds = 1 << 14;
std::atomic<uint32_t> g_fd_generation[kTrackedFds];

// A function posted from another thread, carried through the remote queue.
struct PostedFunction : detail::Operation {
  std::function<void()> fn;
  static void run(detail::Operation* op) {
    auto* self = static_cast<PostedFunction*>(op);
    auto fn = std::move(self->fn);
    delete self;
    fn();
  }
};

// Local file systems, where a metadata call is cheap enough to make on the executor thread.
bool local_fs_type(long type) {
  switch (static_cast<unsigned long>(type)) {
    case EXT4_SUPER_MAGIC:  // also ext2/ext3
    case XFS_SUPER_MAGIC:
    case BTRFS_SUPER_MAGIC:
    case TMPFS_MAGIC:
    case RAMFS_MAGIC:
    case F2FS_SUPER_MAGIC:
    case OVERLAYFS_SUPER_MAGIC:
      return true;
    default:
      return false;  // NFS, CIFS/SMB, FUSE and anything unknown: use the pool
  }
}

void log_fallback_once(const std::string& why) {
  static std::atomic<bool> said{false};
  if (!said.exchange(true)) {
    log(LogLevel::kWarning, "io_uring is unusable (" + why + "); using the threads backend");
  }
}

}  // namespace

Executor::Executor(const EngineSettings& settings) : settings_(settings) {
  remote_ = std::make_unique<detail::RemoteQueue>();
  pool_ = std::make_unique<detail::BlockingPool>(settings_.pool_threads, *remote_);
  previous_ = t_current;
  t_current = this;

  if (settings_.backend != BackendKind::kThreads) {
    const ProbeReport& probe = probe_io_uring();
    std::string why = probe.reason;
    if (probe.usable) {
      try {
        backend_ = detail::make_uring_backend(*this, settings_, probe);
        kind_ = BackendKind::kUring;
      } catch (const std::system_error& e) {
        why = e.what();
      }
    }
    if (!backend_) {
      if (settings_.backend == BackendKind::kUring && !settings_.fallback_on_error) {
        t_current = previous_;
        throw std::system_error(std::make_error_code(std::errc::function_not_supported),
                                "io_uring is unusable: " + why);
      }
      log_fallback_once(why);
    }
  }
  if (!backend_) {
    backend_ = detail::make_threads_backend(*this, settings_);
    kind_ = BackendKind::kThreads;
  }
}

Executor::~Executor() {
  flush_outbox();
  if (deadlines_) deadlines_->shut_down();
  backend_.reset();
  pool_.reset();
  remote_.reset();
  if (t_current == this) t_current = previous_;
}

Executor* Executor::current() { return t_current; }

Deadlines& Executor::deadlines() {
  if (!deadlines_) deadlines_ = std::make_unique<Deadlines>(*this);
  return *deadlines_;
}

uint32_t Executor::capacity() const { return backend_->capacity(); }

int Executor::remote_eventfd() const { return remote_->eventfd(); }

void Executor::post(std::function<void()> fn) {
  auto* op = new PostedFunction;
  op->fn = std::move(fn);
  op->on_complete = &PostedFunction::run;
  remote_->push(op);
}

void Executor::post_operation(detail::Operation& op) { remote_->push(&op); }

void Executor::send_later(Executor& target, detail::Operation& op) {
  for (auto& [to, ops] : outbox_) {
    if (to == &target) {
      ops.push_back(&op);
      return;
    }
  }
  outbox_.emplace_back(&target, std::vector<detail::Operation*>{&op});
}

void Executor::flush_outbox() {
  for (auto& [to, ops] : outbox_) {
    if (ops.empty()) continue;
    to->remote_->push(ops);
    ops.clear();
  }
}

detail::DetachedTask Executor::run_root(Task<void> task, bool& done, std::exception_ptr& error) {
  try {
    co_await std::move(task);
  } catch (...) {
    error = std::current_exception();
  }
  done = true;
}

detail::DetachedTask Executor::spawn_root(Task<void> task) { co_await std::move(task); }

void Executor::spawn(Task<void> task) { spawn_root(std::move(task)); }

bool Executor::submit(detail::Operation& op) {
  op.executor = this;
  op.cancel_requested = false;
  detail::OpClass cls = detail::op_class(op.code);
  if (op.worker_bound && cls == detail::OpClass::kRing) cls = detail::OpClass::kMetadata;
  switch (cls) {
    case detail::OpClass::kCheap:
      return submit_direct(op);
    case detail::OpClass::kMetadata:
      if (settings_.metadata_ops == MetadataOps::kCheap) return submit_direct(op);
      return backend_->submit(op);
    default:
      return backend_->submit(op);
  }
}

bool Executor::submit_direct(detail::Operation& op) {
  if (!op.on_pool && run_inline(op)) {
    observe(op);
    ++stats_.inline_calls;
    op.res = detail::execute_blocking(op);
    return false;
  }
  to_pool(op);
  return true;
}

void Executor::to_pool(detail::Operation& op) {
  observe(op);
  op.state = detail::Operation::State::kPool;
  ++stats_.pool_calls;
  ++pool_in_flight_;
  pool_->push(&op);
}

void Executor::cancel(detail::Operation& op) {
  if (op.state == detail::Operation::State::kPool) {
    op.cancel_requested = true;
    if (pool_->try_remove(&op)) {
      --pool_in_flight_;
      op.res = -ECANCELED;
      finish_later(op);
    }
    return;
  }
  backend_->cancel(op);
}

void Executor::finish_later(detail::Operation& op) {
  op.state = detail::Operation::State::kReady;
  ready_.push_back(&op);
}

void Executor::deliver_ready() {
  while (!ready_.empty()) {
    std::vector<detail::Operation*> batch;
    batch.swap(ready_);
    for (detail::Operation* op : batch) {
      op->state = detail::Operation::State::kIdle;
      ++stats_.completed;
      op->complete();
    }
  }
}

void Executor::drain_remote() {
  remote_batch_.clear();
  remote_->take(remote_batch_);
  for (detail::Operation* op : remote_batch_) {
    if (op->state == detail::Operation::State::kPool) {
      --pool_in_flight_;
      op->state = detail::Operation::State::kIdle;
      ++stats_.completed;
    }
    op->complete();
  }
}

void Executor::poll(bool wait) {
  flush_outbox();
  backend_->poll(wait && ready_.empty());
  deliver_ready();
}

bool Executor::run_inline(const detail::Operation& op) {
  switch (settings_.cheap_calls) {
    case CheapCalls::kInline: return true;
    case CheapCalls::kPool: return false;
    case CheapCalls::kAuto: break;
  }
  // The file system a call lands on: the one of the directory fd it is relative to, or, for
  // an absolute path, the one of that path ("/proc/self/fd/N/..." is the one of fd N).
  int fd = op.code == detail::OpCode::kSymlinkat ? op.fd2 : op.fd;
  bool path_only = op.code == detail::OpCode::kLgetxattr || op.code == detail::OpCode::kLsetxattr ||
                   op.code == detail::OpCode::kLlistxattr || op.code == detail::OpCode::kLremovexattr;
  const char* path = op.code == detail::OpCode::kSymlinkat ? op.path2 : op.path;
  if (path_only) fd = AT_FDCWD;
  if (path != nullptr && path[0] == '/') {
    static constexpr char kProcFd[] = "/proc/self/fd/";
    if (std::strncmp(path, kProcFd, sizeof kProcFd - 1) == 0) {
      int n = std::atoi(path + sizeof kProcFd - 1);
      if (n >= 0) return is_local_fs(n);
    }
    return path_is_local(path);
  }
  if (fd == AT_FDCWD) return path_is_local(".");
  return is_local_fs(fd);
}

// Not cached: the working directory can change, and absolute paths are many.
bool Executor::path_is_local(const char* path) {
  struct statfs info {};
  return ::statfs(path, &info) == 0 && local_fs_type(static_cast<long>(info.f_type));
}

bool Executor::is_local_fs(int fd) {
  bool tracked = fd >= 0 && fd < kTrackedFds;
  uint32_t generation = tracked ? g_fd_generation[fd].load(std::memory_order_acquire) : 0;
  if (tracked) {
    auto it = fd_is_local_.find(fd);
    if (it != fd_is_local_.end() && it->second.generation == generation) return it->second.local;
  }
  struct statfs info {};
  int rc = ::fstatfs(fd, &info);
  bool local = rc == 0 && local_fs_type(static_cast<long>(info.f_type));
  // A bad fd is not cached: the call will fail.
  if (rc == 0 && tracked) fd_is_local_[fd] = FdPlace{local, generation};
  return local;
}

void Executor::forget_fd(int fd) {
  if (fd >= 0 && fd < kTrackedFds) g_fd_generation[fd].fetch_add(1, std::memory_order_release);
}

bool Executor::register_buffers(std::span<const iovec> buffers, std::error_code* error) {
  std::error_code ec = backend_->register_buffers(buffers);
  if (error != nullptr) *error = ec;
  return !ec;
}

void Executor::unregister_buffers() { backend_->unregister_buffers(); }

Result<uint16_t> Executor::register_buf_ring(void* ring, uint32_t entries) {
  uint16_t group = 0;
  if (std::error_code ec = backend_->register_buf_ring(ring, entries, &group)) return ec;
  return group;
}

void Executor::unregister_buf_ring(uint16_t group) { backend_->unregister_buf_ring(group); }

}  // namespace ringkit
