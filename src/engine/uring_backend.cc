// The io_uring backend: one ring per executor thread.
//
// Invariants:
//  - `reserved_` counts completion-queue entries we expect and have not reaped; it never
//    exceeds `cq_capacity_`. An operation reserves one entry, two with a linked timeout; a
//    cancel request reserves one; a multishot request reserves one until its final completion.
//  - An Operation of ours is in exactly one place: the pending list (waiting for room) or the
//    ring (kInFlight). `in_flight_ops_` counts both.
//  - user_data is the Operation's address, or one of the tags below for entries whose
//    completion only returns their reservation.
#include <liburing.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <vector>

#include "engine/backend.h"
#include "ringkit/executor.h"
#include "ringkit/probe.h"

namespace ringkit::detail {
namespace {

constexpr uint64_t kIgnoreTag = 1;  // link timeouts and cancel requests
constexpr uint64_t kRemoteTag = 2;  // the poll on the executor's remote-queue eventfd

// Opcodes the ring runs for each OpCode; -1 for those it never runs.
int uring_opcode(OpCode code) {
  switch (code) {
    case OpCode::kNop: return IORING_OP_NOP;
    case OpCode::kTimeout: return IORING_OP_TIMEOUT;
    case OpCode::kRead: return IORING_OP_READ;
    case OpCode::kWrite: return IORING_OP_WRITE;
    case OpCode::kReadFixed: return IORING_OP_READ_FIXED;
    case OpCode::kWriteFixed: return IORING_OP_WRITE_FIXED;
    case OpCode::kReadv: return IORING_OP_READV;
    case OpCode::kWritev: return IORING_OP_WRITEV;
    case OpCode::kFsync: return IORING_OP_FSYNC;
    case OpCode::kFallocate: return IORING_OP_FALLOCATE;
    case OpCode::kOpenat: return IORING_OP_OPENAT;
    case OpCode::kOpenat2: return IORING_OP_OPENAT2;
    case OpCode::kClose: return IORING_OP_CLOSE;
    case OpCode::kSplice: return IORING_OP_SPLICE;
    case OpCode::kStatx: return IORING_OP_STATX;
    case OpCode::kMkdirat: return IORING_OP_MKDIRAT;
    case OpCode::kUnlinkat: return IORING_OP_UNLINKAT;
    case OpCode::kRenameat: return IORING_OP_RENAMEAT;
    case OpCode::kLinkat: return IORING_OP_LINKAT;
    case OpCode::kSymlinkat: return IORING_OP_SYMLINKAT;
    case OpCode::kFgetxattr: return IORING_OP_FGETXATTR;
    case OpCode::kFsetxattr: return IORING_OP_FSETXATTR;
    case OpCode::kRecvmsg: return IORING_OP_RECVMSG;
    case OpCode::kSendmsg: return IORING_OP_SENDMSG;
    case OpCode::kSendto: return IORING_OP_SEND;
    case OpCode::kRecvmsgMultishot: return IORING_OP_RECVMSG;
    default: return -1;
  }
}

// An SQE carries a 32-bit length: cap larger requests at the kernel's own per-call limit
// (MAX_RW_COUNT), which yields the same short count a direct call would, instead of wrapping.
unsigned sqe_length(uint64_t len) { return static_cast<unsigned>(std::min<uint64_t>(len, 0x7ffff000)); }

// The one place that turns a neutral Operation into an SQE.
void prepare_sqe(io_uring_sqe* sqe, Operation& op) {
  auto* data = &op;
  switch (op.code) {
    case OpCode::kNop: io_uring_prep_nop(sqe); break;
    case OpCode::kTimeout: io_uring_prep_timeout(sqe, &op.ts, 0, 0); break;
    case OpCode::kRead:
      io_uring_prep_read(sqe, op.fd, op.addr, sqe_length(op.len), op.off);
      break;
    case OpCode::kWrite:
      io_uring_prep_write(sqe, op.fd, op.addr, sqe_length(op.len), op.off);
      break;
    case OpCode::kReadFixed:
      io_uring_prep_read_fixed(sqe, op.fd, op.addr, sqe_length(op.len), op.off,
                               static_cast<int>(op.aux));
      break;
    case OpCode::kWriteFixed:
      io_uring_prep_write_fixed(sqe, op.fd, op.addr, sqe_length(op.len), op.off,
                                static_cast<int>(op.aux));
      break;
    case OpCode::kReadv:
      io_uring_prep_readv(sqe, op.fd, static_cast<const iovec*>(op.addr),
                          sqe_length(op.len), op.off);
      break;
    case OpCode::kWritev:
      io_uring_prep_writev(sqe, op.fd, static_cast<const iovec*>(op.addr),
                           sqe_length(op.len), op.off);
      break;
    case OpCode::kFsync: io_uring_prep_fsync(sqe, op.fd, op.flags); break;
    case OpCode::kFallocate:
      io_uring_prep_fallocate(sqe, op.fd, static_cast<int>(op.mode), op.off, op.len);
      break;
    case OpCode::kOpenat:
      io_uring_prep_openat(sqe, op.fd, op.path, static_cast<int>(op.flags), op.mode);
      break;
    case OpCode::kOpenat2:
      io_uring_prep_openat2(sqe, op.fd, op.path, static_cast<open_how*>(op.addr));
      break;
    case OpCode::kClose: io_uring_prep_close(sqe, op.fd); break;
    case OpCode::kSplice:
      io_uring_prep_splice(sqe, op.fd, static_cast<int64_t>(op.off), op.fd2,
                           static_cast<int64_t>(op.off2), sqe_length(op.len),
                           op.flags);
      break;
    case OpCode::kStatx:
      io_uring_prep_statx(sqe, op.fd, op.path, static_cast<int>(op.flags), op.mode,
                          static_cast<struct statx*>(op.addr));
      break;
    case OpCode::kMkdirat: io_uring_prep_mkdirat(sqe, op.fd, op.path, op.mode); break;
    case OpCode::kUnlinkat:
      io_uring_prep_unlinkat(sqe, op.fd, op.path, static_cast<int>(op.flags));
      break;
    case OpCode::kRenameat:
      io_uring_prep_renameat(sqe, op.fd, op.path, op.fd2, op.path2, op.flags);
      break;
    case OpCode::kLinkat:
      io_uring_prep_linkat(sqe, op.fd, op.path, op.fd2, op.path2, static_cast<int>(op.flags));
      break;
    case OpCode::kSymlinkat: io_uring_prep_symlinkat(sqe, op.path, op.fd2, op.path2); break;
    case OpCode::kFgetxattr:
      io_uring_prep_fgetxattr(sqe, op.fd, op.path, static_cast<char*>(op.addr),
                              sqe_length(op.len));
      break;
    case OpCode::kFsetxattr:
      io_uring_prep_fsetxattr(sqe, op.fd, op.path, static_cast<const char*>(op.addr),
                              static_cast<int>(op.flags), sqe_length(op.len));
      break;
    case OpCode::kRecvmsg:
      io_uring_prep_recvmsg(sqe, op.fd, static_cast<msghdr*>(op.addr), op.flags);
      break;
    case OpCode::kSendmsg:
      io_uring_prep_sendmsg(sqe, op.fd, static_cast<const msghdr*>(op.addr), op.flags);
      break;
    case OpCode::kSendto:
      io_uring_prep_send(sqe, op.fd, op.addr, sqe_length(op.len), static_cast<int>(op.flags));
      if (op.addr2 != nullptr) {
        io_uring_prep_send_set_addr(sqe, static_cast<const sockaddr*>(op.addr2),
                                    static_cast<uint16_t>(op.aux));
      }
      break;
    case OpCode::kRecvmsgMultishot:
      io_uring_prep_recvmsg_multishot(sqe, op.fd, static_cast<msghdr*>(op.addr), op.flags);
      sqe->flags |= IOSQE_BUFFER_SELECT;
      sqe->buf_group = static_cast<uint16_t>(op.aux);
      break;
    default:
      // Never reached: Executor routes cheap calls elsewhere, and submit() checks support.
      io_uring_prep_nop(sqe);
      data = nullptr;
      break;
  }
  io_uring_sqe_set_data(sqe, data);
}

void set_timespec(__kernel_timespec& ts, std::chrono::nanoseconds d) {
  ts.tv_sec = d.count() / 1'000'000'000;
  ts.tv_nsec = d.count() % 1'000'000'000;
}

class UringBackend final : public Backend {
 public:
  UringBackend(Executor& executor, const EngineSettings& settings, const ProbeReport& probe)
      : executor_(executor), probe_(probe) {
    io_uring_params params{};
    params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP;
    params.cq_entries = settings.queue_depth * 2;
    if (probe.coop_taskrun) params.flags |= IORING_SETUP_COOP_TASKRUN;
    if (probe.single_issuer && !settings.use_sqpoll) params.flags |= IORING_SETUP_SINGLE_ISSUER;
    if (probe.defer_taskrun && settings.defer_taskrun && !settings.use_sqpoll) {
      params.flags |= IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_TASKRUN_FLAG;
    }
    if (settings.use_sqpoll) {
      params.flags |= IORING_SETUP_SQPOLL;
      params.sq_thread_idle = 50;
      if (settings.sq_thread_cpu >= 0) {
        params.flags |= IORING_SETUP_SQ_AFF;
        params.sq_thread_cpu = static_cast<uint32_t>(settings.sq_thread_cpu);
      }
    }
    int rc = io_uring_queue_init_params(settings.queue_depth, &ring_, &params);
    if (rc < 0) throw std::system_error(-rc, std::system_category(), "io_uring_queue_init");
    cq_capacity_ = params.cq_entries;
    sqpoll_ = settings.use_sqpoll;
    arm_remote_poll();
  }

  ~UringBackend() override {
    // Cancel everything still in flight and wait for it, so the kernel writes into no memory
    // that is about to be freed; then tear the ring down. Pending requests never reached it.
    for (Operation* op = pending_head_; op != nullptr; op = op->next) --in_flight_ops_;
    if (in_flight_ops_ > 0) {
      if (io_uring_sqe* sqe = io_uring_get_sqe(&ring_)) {
        io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
        io_uring_sqe_set_data64(sqe, kIgnoreTag);
      }
      io_uring_submit(&ring_);
      for (int spins = 0; in_flight_ops_ > 0 && spins < 1000; ++spins) {
        io_uring_cqe* cqe = nullptr;
        __kernel_timespec ts{0, 10'000'000};
        if (io_uring_wait_cqe_timeout(&ring_, &cqe, &ts) < 0) continue;
        unsigned head, n = 0;
        io_uring_for_each_cqe(&ring_, head, cqe) {
          uint64_t data = cqe->user_data;
          if (data != kIgnoreTag && data != kRemoteTag && !(cqe->flags & IORING_CQE_F_MORE)) {
            --in_flight_ops_;
          }
          ++n;
        }
        io_uring_cq_advance(&ring_, n);
      }
    }
    io_uring_queue_exit(&ring_);
  }

  BackendKind kind() const override { return BackendKind::kUring; }
  uint32_t capacity() const override { return cq_capacity_; }
  size_t in_flight() const override { return in_flight_ops_; }

  bool submit(Operation& op) override {
    int opcode = uring_opcode(op.code);
    if (opcode < 0 || !probe_.has(opcode) ||
        (op.code == OpCode::kRecvmsgMultishot && !probe_.recv_multishot)) {
      if (op.code == OpCode::kRecvmsgMultishot) {
        op.res = -EOPNOTSUPP;
        return false;
      }
      // The running kernel lacks this opcode: make the direct call on the pool.
      executor_.to_pool(op);
      return true;
    }
    op.executor = &executor_;
    op.has_link_timeout = op.timeout.count() > 0 && op.code != OpCode::kTimeout;
    if (op.code == OpCode::kTimeout) set_timespec(op.ts, op.timeout);
    ++in_flight_ops_;
    ++executor_.mutable_stats().submitted;
    if (pending_head_ != nullptr || !try_start(op)) {
      ++executor_.mutable_stats().deferred;
      op.state = Operation::State::kPending;
      append_pending(op);
    }
    return true;
  }

  void cancel(Operation& op) override {
    switch (op.state) {
      case Operation::State::kPending:
        remove_pending(op);
        --in_flight_ops_;
        op.res = -ECANCELED;
        executor_.finish_later(op);
        break;
      case Operation::State::kInFlight:
        op.cancel_requested = true;
        cancel_requests_.push_back(&op);
        flush_cancels();
        break;
      default:
        break;
    }
  }

  void poll(bool wait) override {
    ++executor_.mutable_stats().submit_calls;
    // With DEFER_TASKRUN completions are posted only when the thread asks for them; the kernel
    // flags that some wait (TASKRUN_FLAG), and io_uring_submit then asks.
    int rc = wait ? io_uring_submit_and_wait(&ring_, 1) : io_uring_submit(&ring_);
    if (rc < 0 && rc != -EINTR && rc != -EBUSY && rc != -EAGAIN && rc != -ETIME) {
      throw std::system_error(-rc, std::system_category(), "io_uring_enter");
    }
    reap();
    start_pending();
  }

  std::error_code register_buffers(std::span<const iovec> buffers) override {
    int rc = io_uring_register_buffers(&ring_, buffers.data(), static_cast<unsigned>(buffers.size()));
    return rc < 0 ? std::error_code(-rc, std::system_category()) : std::error_code();
  }
  void unregister_buffers() override { io_uring_unregister_buffers(&ring_); }

  std::error_code register_buf_ring(void* ring, uint32_t entries, uint16_t* group) override {
    if (!probe_.buf_ring) return std::make_error_code(std::errc::operation_not_supported);
    // Group ids are per ring: hand out the lowest free one so ids stay small and reusable.
    size_t id = 0;
    while (id < buf_groups_.size() && buf_groups_[id]) ++id;
    if (id > UINT16_MAX) return std::make_error_code(std::errc::resource_unavailable_try_again);
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<uint64_t>(ring);
    reg.ring_entries = entries;
    reg.bgid = static_cast<uint16_t>(id);
    int rc = io_uring_register_buf_ring(&ring_, &reg, 0);
    if (rc < 0) return std::error_code(-rc, std::system_category());
    if (id == buf_groups_.size()) buf_groups_.push_back(false);
    buf_groups_[id] = true;
    *group = static_cast<uint16_t>(id);
    return {};
  }
  void unregister_buf_ring(uint16_t group) override {
    if (group >= buf_groups_.size() || !buf_groups_[group]) return;
    io_uring_unregister_buf_ring(&ring_, group);
    buf_groups_[group] = false;
  }

 private:
  unsigned needed_entries(const Operation& op) const { return op.has_link_timeout ? 2 : 1; }

  // An io_uring_enter outside poll() (the submission queue is full). Counted like poll's, so
  // that submit_calls is every round trip to the kernel.
  void submit_now() {
    ++executor_.mutable_stats().submit_calls;
    io_uring_submit(&ring_);
  }

  // Puts `op` on the ring if there is room in both queues.
  bool try_start(Operation& op) {
    unsigned need = needed_entries(op);
    if (reserved_ + need > cq_capacity_) return false;
    if (io_uring_sq_space_left(&ring_) < need) {
      submit_now();
      if (io_uring_sq_space_left(&ring_) < need) return false;
    }
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    prepare_sqe(sqe, op);
    executor_.observe(op);
    if (op.has_link_timeout) {
      sqe->flags |= IOSQE_IO_LINK;
      set_timespec(op.ts, op.timeout);
      io_uring_sqe* timeout = io_uring_get_sqe(&ring_);
      io_uring_prep_link_timeout(timeout, &op.ts, 0);
      io_uring_sqe_set_data64(timeout, kIgnoreTag);
    }
    reserved_ += need;
    if (reserved_ > executor_.mutable_stats().max_in_flight) {
      executor_.mutable_stats().max_in_flight = reserved_;
    }
    op.state = Operation::State::kInFlight;
    return true;
  }

  void append_pending(Operation& op) {
    op.next = nullptr;
    if (pending_tail_ != nullptr) {
      pending_tail_->next = &op;
    } else {
      pending_head_ = &op;
    }
    pending_tail_ = &op;
  }

  void remove_pending(Operation& op) {
    Operation* prev = nullptr;
    for (Operation* it = pending_head_; it != nullptr; prev = it, it = it->next) {
      if (it != &op) continue;
      (prev != nullptr ? prev->next : pending_head_) = it->next;
      if (pending_tail_ == it) pending_tail_ = prev;
      it->next = nullptr;
      return;
    }
  }

  void start_pending() {
    while (pending_head_ != nullptr) {
      Operation* op = pending_head_;
      if (!try_start(*op)) break;
      pending_head_ = op->next;
      if (pending_head_ == nullptr) pending_tail_ = nullptr;
      op->next = nullptr;
    }
    flush_cancels();
  }

  void flush_cancels() {
    while (!cancel_requests_.empty()) {
      if (reserved_ + 1 > cq_capacity_) return;
      io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
      if (sqe == nullptr) {
        submit_now();
        sqe = io_uring_get_sqe(&ring_);
        if (sqe == nullptr) return;
      }
      Operation* op = cancel_requests_.back();
      cancel_requests_.pop_back();
      io_uring_prep_cancel64(sqe, reinterpret_cast<uint64_t>(op), 0);
      io_uring_sqe_set_data64(sqe, kIgnoreTag);
      ++reserved_;
    }
  }

  void arm_remote_poll() {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (probe_.has(IORING_OP_POLL_ADD)) {
      io_uring_prep_poll_multishot(sqe, executor_.remote_eventfd(), POLLIN);
    }
    io_uring_sqe_set_data64(sqe, kRemoteTag);
    ++reserved_;
  }

  void reap() {
    io_uring_cqe* cqes[256];
    for (;;) {
      unsigned n = io_uring_peek_batch_cqe(&ring_, cqes, 256);
      if (n == 0) return;
      struct Done {
        uint64_t data;
        int32_t res;
        uint32_t flags;
      };
      Done done[256];
      for (unsigned i = 0; i < n; ++i) done[i] = {cqes[i]->user_data, cqes[i]->res, cqes[i]->flags};
      io_uring_cq_advance(&ring_, n);
      for (unsigned i = 0; i < n; ++i) handle(done[i].data, done[i].res, done[i].flags);
      if (n < 256) return;
    }
  }

  void handle(uint64_t data, int32_t res, uint32_t flags) {
    bool more = (flags & IORING_CQE_F_MORE) != 0;
    if (data == kRemoteTag) {
      if (!more) {
        --reserved_;
        arm_remote_poll();
      }
      executor_.drain_remote();
      return;
    }
    if (!more) --reserved_;
    if (data == kIgnoreTag || data == 0) return;
    auto* op = reinterpret_cast<Operation*>(data);
    op->res = res;
    op->cqe_flags = flags;
    if (!more) {
      // A linked timeout's own completion returns its reservation separately.
      op->state = Operation::State::kIdle;
      --in_flight_ops_;
      if (op->cancel_requested) std::erase(cancel_requests_, op);
    }
    ++executor_.mutable_stats().completed;
    op->complete();
  }

  Executor& executor_;
  const ProbeReport& probe_;
  io_uring ring_{};
  uint32_t cq_capacity_ = 0;
  uint32_t reserved_ = 0;
  size_t in_flight_ops_ = 0;
  bool sqpoll_ = false;
  Operation* pending_head_ = nullptr;
  Operation* pending_tail_ = nullptr;
  std::vector<Operation*> cancel_requests_;
  std::vector<bool> buf_groups_;  // provided-buffer group ids in use
};

}  // namespace

std::unique_ptr<Backend> make_uring_backend(Executor& executor, const EngineSettings& settings,
                                            const ProbeReport& probe) {
  return std::make_unique<UringBackend>(executor, settings, probe);
}

}  // namespace ringkit::detail
