// The threads backend: file operations on the blocking pool, sockets on epoll, timers in a
// sorted set. For kernels or sandboxes where io_uring is unusable, and as a reference that the
// io_uring backend is tested against.
//
// Invariants:
//  - A socket operation waiting for readiness is on exactly one fd's reader or writer queue, and
//    in `timers_` too when it has a deadline. The fd is registered with epoll for the union of
//    the events its queues wait for, and not at all when both queues are empty.
//  - Timers are keyed by (deadline_ns, address), so an operation can be found and removed.
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <deque>
#include <set>
#include <system_error>
#include <unordered_map>
#include <utility>

#include "engine/backend.h"
#include "ringkit/executor.h"

namespace ringkit::detail {
namespace {

int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

bool is_receive(const Operation& op) { return op.code == OpCode::kRecvmsg; }

// One non-blocking attempt at a socket operation: -EAGAIN if it would block.
int64_t try_socket_op(Operation& op) {
  Operation attempt = op;
  attempt.flags |= MSG_DONTWAIT;
  int64_t res = execute_blocking(attempt);
  if (res == -EWOULDBLOCK) res = -EAGAIN;
  return res;
}

class ThreadsBackend final : public Backend {
 public:
  ThreadsBackend(Executor& executor, const EngineSettings& settings)
      : executor_(executor), capacity_(settings.queue_depth * 2) {
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) throw std::system_error(errno, std::system_category(), "epoll_create1");
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = executor.remote_eventfd();
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, ev.data.fd, &ev) < 0) {
      throw std::system_error(errno, std::system_category(), "epoll_ctl");
    }
  }
  ~ThreadsBackend() override { ::close(epoll_fd_); }

  BackendKind kind() const override { return BackendKind::kThreads; }
  uint32_t capacity() const override { return capacity_; }
  size_t in_flight() const override { return in_flight_; }

  bool submit(Operation& op) override {
    if (op.code == OpCode::kRecvmsgMultishot) {
      op.res = -EOPNOTSUPP;  // callers fall back to one recvmsg at a time
      return false;
    }
    op.executor = &executor_;
    ++executor_.mutable_stats().submitted;
    switch (op_class(op.code)) {
      case OpClass::kTimer:
        ++in_flight_;
        add_timer(op);
        return true;
      case OpClass::kSocket:
        return submit_socket(op);
      default:
        executor_.to_pool(op);
        return true;
    }
  }

  void cancel(Operation& op) override {
    if (op.state != Operation::State::kInFlight) return;
    op.cancel_requested = true;
    if (op.deadline_ns != 0) timers_.erase({op.deadline_ns, &op});
    if (op.code != OpCode::kTimeout) unwait(op);
    finish(op, -ECANCELED);
  }

  void poll(bool wait) override {
    ++executor_.mutable_stats().submit_calls;
    timespec ts{0, 0};
    const timespec* tsp = &ts;
    if (wait) {
      if (timers_.empty()) {
        tsp = nullptr;
      } else {
        int64_t delta = std::max<int64_t>(0, timers_.begin()->first - now_ns());
        ts.tv_sec = delta / 1'000'000'000;
        ts.tv_nsec = delta % 1'000'000'000;
      }
    }
    epoll_event events[128];
    int n = epoll_pwait2(epoll_fd_, events, 128, tsp, nullptr);
    if (n < 0 && errno != EINTR) throw std::system_error(errno, std::system_category(), "epoll_pwait2");
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == executor_.remote_eventfd()) {
        executor_.drain_remote();
        continue;
      }
      service_fd(fd, events[i].events);
    }
    expire_timers();
  }

  std::error_code register_buffers(std::span<const iovec>) override {
    return std::make_error_code(std::errc::operation_not_supported);
  }
  void unregister_buffers() override {}
  std::error_code register_buf_ring(void*, uint32_t, uint16_t*) override {
    return std::make_error_code(std::errc::operation_not_supported);
  }
  void unregister_buf_ring(uint16_t) override {}

 private:
  struct FdWaiters {
    std::deque<Operation*> readers;
    std::deque<Operation*> writers;
    uint32_t registered = 0;  // events epoll watches for this fd
  };

  bool submit_socket(Operation& op) {
    FdWaiters& w = waiters_[op.fd];
    auto& queue = is_receive(op) ? w.readers : w.writers;
    if (queue.empty()) {
      executor_.observe(op);
      int64_t res = try_socket_op(op);
      if (res != -EAGAIN) {
        op.res = res;
        if (w.readers.empty() && w.writers.empty()) waiters_.erase(op.fd);
        return false;
      }
    }
    ++in_flight_;
    op.state = Operation::State::kInFlight;
    queue.push_back(&op);
    update_interest(op.fd);
    if (op.timeout.count() > 0) add_timer(op);
    return true;
  }

  void add_timer(Operation& op) {
    op.state = Operation::State::kInFlight;
    op.deadline_ns = now_ns() + op.timeout.count();
    timers_.insert({op.deadline_ns, &op});
  }

  void update_interest(int fd) {
    auto it = waiters_.find(fd);
    uint32_t want = 0;
    if (it != waiters_.end()) {
      if (!it->second.readers.empty()) want |= EPOLLIN;
      if (!it->second.writers.empty()) want |= EPOLLOUT;
    }
    uint32_t have = it != waiters_.end() ? it->second.registered : 0;
    if (want == have) {
      if (want == 0 && it != waiters_.end()) waiters_.erase(it);
      return;
    }
    epoll_event ev{};
    ev.events = want;
    ev.data.fd = fd;
    int op = have == 0 ? EPOLL_CTL_ADD : (want == 0 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD);
    epoll_ctl(epoll_fd_, op, fd, &ev);
    if (want == 0) {
      waiters_.erase(it);
    } else {
      it->second.registered = want;
    }
  }

  void unwait(Operation& op) {
    auto it = waiters_.find(op.fd);
    if (it == waiters_.end()) return;
    auto& queue = is_receive(op) ? it->second.readers : it->second.writers;
    std::erase(queue, &op);
    update_interest(op.fd);
  }

  void service_fd(int fd, uint32_t events) {
    auto it = waiters_.find(fd);
    if (it == waiters_.end()) return;
    // Errors and hang-ups wake both queues: the retried call reports what happened.
    bool readable = events & (EPOLLIN | EPOLLERR | EPOLLHUP);
    bool writable = events & (EPOLLOUT | EPOLLERR | EPOLLHUP);
    if (readable) service_queue(it->second.readers);
    if (writable) service_queue(it->second.writers);
    update_interest(fd);
  }

  void service_queue(std::deque<Operation*>& queue) {
    while (!queue.empty()) {
      Operation* op = queue.front();
      int64_t res = try_socket_op(*op);
      if (res == -EAGAIN) return;
      queue.pop_front();
      if (op->deadline_ns != 0) timers_.erase({op->deadline_ns, op});
      finish(*op, res);
    }
  }

  void expire_timers() {
    int64_t now = now_ns();
    while (!timers_.empty() && timers_.begin()->first <= now) {
      Operation* op = timers_.begin()->second;
      timers_.erase(timers_.begin());
      op->deadline_ns = 0;
      if (op->code != OpCode::kTimeout) unwait(*op);
      finish(*op, -ETIME);
    }
  }

  void finish(Operation& op, int64_t res) {
    op.res = res;
    op.cqe_flags = 0;
    op.deadline_ns = 0;
    --in_flight_;
    executor_.finish_later(op);
  }

  Executor& executor_;
  const uint32_t capacity_;
  int epoll_fd_ = -1;
  size_t in_flight_ = 0;
  std::unordered_map<int, FdWaiters> waiters_;
  std::set<std::pair<int64_t, Operation*>> timers_;
};

}  // namespace

std::unique_ptr<Backend> make_threads_backend(Executor& executor, const EngineSettings& settings) {
  return std::make_unique<ThreadsBackend>(executor, settings);
}

}  // namespace ringkit::detail
