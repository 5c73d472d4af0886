// MultishotReceiver: a receive that stays armed on a socket and queues datagrams for next().
//
// Two ways to fill the queue, chosen at construction:
//  - multishot: one IORING_OP_RECVMSG with IORING_RECV_MULTISHOT selecting buffers from a
//    provided-buffer ring we register. Each completion names a buffer (its id is the slot
//    index); the kernel writes an io_uring_recvmsg_out header, the source address, the control
//    messages (UDP_GRO's segment size) and the payload into it. A buffer goes back to the ring
//    when the consumer asks for the next datagram. When the ring runs dry the kernel ends the
//    multishot (-ENOBUFS); we re-arm as soon as a buffer is back.
//  - one at a time (threads backend, kernels without multishot): a plain recvmsg into a free
//    slot, re-armed after each completion while slots are free.
//
// With UDP_GRO on, one completion may hold several datagrams of `segment` bytes each (the last
// may be shorter): next() hands them out one by one from `rest` before taking the next entry.
//
// Deadlines: one entry (`timer`) in the executor's Deadlines (ringkit/deadlines.h: one kernel
// timer for all of them), scheduled for `timer.due()`. A waiter whose deadline is at or after
// that lets it stand; one with an earlier deadline moves it. An entry that fires before the
// waiter's deadline (the deadline moved on meanwhile) is scheduled again for the rest.
//
// Invariants (ReceiverState):
//  - `armed` is true exactly while `op` is submitted and its final completion has not arrived.
//  - `timer` is scheduled only while a waiter with a deadline waits, or did (it is taken out
//    when it fires, and by begin_stop()).
//  - Every slot is in exactly one place: with the kernel (the buffer ring, or the armed
//    recvmsg), in `queue`, `current` (handed out by the last next()), or `free_slots`
//    (one-at-a-time mode only). `held` counts the multishot slots not in the ring.
//  - `rest` is non-empty only while `current` is a slot (the datagrams of it not handed out).
//  - `waiter` is the one next() suspended for data; it is cleared before it is woken.
//  - After `stopped`, the buffer ring is unregistered and nothing of ours is in the kernel.
#include <liburing.h>
#include <netinet/udp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstring>
#include <deque>
#include <vector>

#include "ringkit/deadlines.h"
#include "ringkit/executor.h"
#include "ringkit/log.h"
#include "ringkit/net.h"
#include "ringkit/probe.h"

namespace ringkit::net {

using ringkit::detail::OpCode;
using ringkit::detail::Operation;
using Clock = std::chrono::steady_clock;

namespace {

// Room for the one control message we ask for: UDP_GRO's segment size (an int).
constexpr size_t kControlSpace = CMSG_SPACE(sizeof(int));
// Room for the source address in a multishot buffer. The kernel writes the control messages
// right after it, so it is rounded up to keep them aligned for cmsghdr.
constexpr size_t kNameSpace = (sizeof(sockaddr_in6) + alignof(cmsghdr) - 1) / alignof(cmsghdr) *
                              alignof(cmsghdr);
static_assert((sizeof(io_uring_recvmsg_out) + kNameSpace) % alignof(cmsghdr) == 0);

// The segment size in a UDP_GRO control message, or 0.
uint32_t gro_segment(const cmsghdr* cm) {
  if (cm == nullptr || cm->cmsg_level != SOL_UDP || cm->cmsg_type != UDP_GRO) return 0;
  int size = 0;
  std::memcpy(&size, CMSG_DATA(cm), sizeof size);
  return size > 0 ? static_cast<uint32_t>(size) : 0;
}

}  // namespace

struct ReceiverState {
  struct StateOp : Operation {
    ReceiverState* owner = nullptr;
  };
  struct TimerEntry : Deadlines::Entry {
    TimerEntry() : Entry(&on_timer) {}
    ReceiverState* owner = nullptr;
  };
  // A completion waiting for next(): a datagram in `slot`, or an error (res < 0, slot -1).
  struct Entry {
    int32_t res;
    int32_t slot;
    uint32_t msg_flags;  // one-at-a-time: MSG_TRUNC etc. (multishot: in the buffer's header)
    socklen_t name_len;  // one-at-a-time: length of names[slot]
    uint32_t segment;    // one-at-a-time: UDP_GRO segment size, 0 when not coalesced
  };

  ReceiverState(int socket_fd, const ReceiverOptions& options);
  ~ReceiverState() {
    ex->deadlines().cancel(timer);
    release_ring();
  }

  std::byte* slot_ptr(uint32_t slot) { return memory.get() + size_t{slot} * slot_size; }
  std::byte* control_ptr(uint32_t slot) { return controls.data() + size_t{slot} * kControlSpace; }
  void allocate_slots();
  void layout_one_at_a_time();
  bool setup_ring();
  void release_ring();
  void maybe_arm();
  bool take_single_result();
  void give_back(uint32_t slot);
  void release_current();
  Result<Datagram> take();
  Datagram next_segment();
  void wake_waiter();
  bool busy() const { return armed; }
  void maybe_finish_stop();
  void finish_stop();
  void begin_stop();
  void arm_timer(Clock::time_point deadline);
  static void on_complete(Operation* op);
  static void on_timer(Deadlines::Entry* entry);
  void on_multishot();
  void on_single();

  Executor* ex;
  int fd;
  uint32_t count;         // slots, a power of two
  uint32_t payload_size;  // room for one datagram's payload
  bool gro = false;       // UDP_GRO is on: a slot may hold a run of datagrams
  uint32_t slot_size = 0;          // stride between slots
  uint32_t buffer_len = 0;         // bytes the kernel may fill in a slot
  std::unique_ptr<std::byte[]> memory;  // count * slot_size; pages are touched as used

  bool use_multishot = false;
  io_uring_buf_ring* ring = nullptr;
  size_t ring_bytes = 0;
  uint16_t group = 0;
  uint32_t held = 0;

  std::vector<uint32_t> free_slots;  // one-at-a-time mode
  std::vector<sockaddr_in6> names;   // one-at-a-time mode: sender of each slot
  std::vector<std::byte> controls;   // one-at-a-time mode with gro: control messages per slot
  int32_t armed_slot = -1;

  StateOp op;
  msghdr msg{};
  iovec iov{};
  bool armed = false;
  bool stopping = false;
  bool stopped = false;
  bool error_hold = false;  // an error is queued: do not re-arm until next() has returned it
  bool orphaned = false;    // the receiver was destroyed while armed: free ourselves at the end
  std::deque<Entry> queue;
  int32_t current = -1;
  // The datagrams of `current` not handed out yet (gro), their size, sender and truncation.
  std::span<const std::byte> rest;
  uint32_t rest_segment = 0;
  Address rest_from;
  bool rest_truncated = false;

  TimerEntry timer;

  MultishotReceiver::NextAwaiter* waiter = nullptr;
  std::coroutine_handle<> stop_waiter;
  ReceiverStats stats;
};

ReceiverState::ReceiverState(int socket_fd, const ReceiverOptions& options)
    : ex(Executor::current()),
      fd(socket_fd),
      count(std::bit_ceil(std::clamp<uint32_t>(options.buffers, 1, 32768))),
      payload_size(std::max<uint32_t>(options.payload_size, 1)) {
  assert(ex != nullptr && "a MultishotReceiver is created on an executor thread");
  op.owner = this;
  timer.owner = this;
  if (options.coalesce_bytes > payload_size) {
    int on = 1;
    // Refused on kernels before 5.0: datagrams then come one per receive, as without it.
    if (::setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof on) == 0) {
      gro = true;
      payload_size = options.coalesce_bytes;
    }
  }
  if (options.allow_multishot && ex->backend() == BackendKind::kUring &&
      probe_io_uring().recv_multishot && setup_ring()) {
    use_multishot = true;
  } else {
    layout_one_at_a_time();
  }
}

void ReceiverState::allocate_slots() {
  // Not zeroed: a large coalescing buffer costs only the pages the kernel writes into.
  memory = std::make_unique_for_overwrite<std::byte[]>(size_t{count} * slot_size);
}

void ReceiverState::layout_one_at_a_time() {
  use_multishot = false;
  slot_size = payload_size;
  buffer_len = payload_size;
  allocate_slots();
  names.assign(count, sockaddr_in6{});
  if (gro) controls.assign(size_t{count} * kControlSpace, std::byte{0});
  free_slots.clear();
  for (uint32_t i = count; i-- > 0;) free_slots.push_back(i);
  held = 0;
}

// Registers a buffer ring with every slot in it. False (and nothing registered) when the
// kernel or the memory says no; the caller then receives one datagram at a time.
bool ReceiverState::setup_ring() {
  // Each buffer holds the kernel's header, the source address, the control messages, then the
  // payload; 64-byte slots keep each header aligned (and kNameSpace the control messages). The
  // kernel gets exactly payload_size bytes of payload room, so truncation happens where the
  // caller asked for it.
  size_t control = gro ? kControlSpace : 0;
  buffer_len = static_cast<uint32_t>(sizeof(io_uring_recvmsg_out) + kNameSpace + control) +
               payload_size;
  slot_size = (buffer_len + 63) / 64 * 64;
  size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  ring_bytes = (count * sizeof(io_uring_buf) + page - 1) / page * page;
  // The kernel wants the ring page-aligned: mmap gives that.
  void* mem = mmap(nullptr, ring_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return false;
  ring = static_cast<io_uring_buf_ring*>(mem);
  io_uring_buf_ring_init(ring);
  auto registered = ex->register_buf_ring(ring, count);
  if (!registered) {
    munmap(ring, ring_bytes);
    ring = nullptr;
    return false;
  }
  group = *registered;
  allocate_slots();
  int mask = io_uring_buf_ring_mask(count);
  for (uint32_t i = 0; i < count; ++i) {
    io_uring_buf_ring_add(ring, slot_ptr(i), buffer_len, static_cast<unsigned short>(i), mask,
                          static_cast<int>(i));
  }
  io_uring_buf_ring_advance(ring, static_cast<int>(count));
  msg = {};
  msg.msg_namelen = kNameSpace;
  msg.msg_controllen = control;
  return true;
}

void ReceiverState::release_ring() {
  if (ring == nullptr) return;
  ex->unregister_buf_ring(group);
  munmap(ring, ring_bytes);
  ring = nullptr;
}

void ReceiverState::maybe_arm() {
  if (armed || stopping || stopped || error_hold) return;
  if (use_multishot) {
    if (held >= count) return;  // every buffer is ours: re-armed when one goes back
    static_cast<Operation&>(op) = Operation{};
    op.code = OpCode::kRecvmsgMultishot;
    op.fd = fd;
    op.addr = &msg;
    op.aux = group;
    op.multishot = true;
    op.on_complete = &on_complete;
    armed = true;
    ++stats.arms;
    if (ex->submit(op)) return;
    // Refused at once (the ring has no multishot after all): receive one at a time instead.
    armed = false;
    release_ring();
    layout_one_at_a_time();
  }
  while (!free_slots.empty()) {
    uint32_t slot = free_slots.back();
    free_slots.pop_back();
    iov.iov_base = slot_ptr(slot);
    iov.iov_len = buffer_len;
    msg = {};
    msg.msg_name = &names[slot];
    msg.msg_namelen = sizeof(sockaddr_in6);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (gro) {
      msg.msg_control = control_ptr(slot);
      msg.msg_controllen = kControlSpace;
    }
    static_cast<Operation&>(op) = Operation{};
    op.code = OpCode::kRecvmsg;
    op.fd = fd;
    op.addr = &msg;
    op.on_complete = &on_complete;
    armed = true;
    armed_slot = static_cast<int32_t>(slot);
    ++stats.arms;
    if (ex->submit(op)) return;
    armed = false;  // a datagram was waiting: take it and try for the next
    if (!take_single_result()) return;
  }
}

// Queues the result of the one-at-a-time recvmsg. False when it was an error.
bool ReceiverState::take_single_result() {
  auto slot = static_cast<uint32_t>(armed_slot);
  armed_slot = -1;
  ++stats.datagrams;
  if (op.res >= 0) {
    uint32_t segment = 0;
    if (gro && msg.msg_controllen > 0) segment = gro_segment(CMSG_FIRSTHDR(&msg));
    queue.push_back({static_cast<int32_t>(op.res), static_cast<int32_t>(slot),
                     static_cast<uint32_t>(msg.msg_flags), msg.msg_namelen, segment});
    return true;
  }
  free_slots.push_back(slot);
  queue.push_back({static_cast<int32_t>(op.res), -1, 0, 0, 0});
  error_hold = true;
  return false;
}

void ReceiverState::give_back(uint32_t slot) {
  if (use_multishot) {
    if (ring != nullptr) {
      io_uring_buf_ring_add(ring, slot_ptr(slot), buffer_len, static_cast<unsigned short>(slot),
                            io_uring_buf_ring_mask(count), 0);
      io_uring_buf_ring_advance(ring, 1);
    }
    --held;
  } else {
    free_slots.push_back(slot);
  }
}

void ReceiverState::release_current() {
  rest = {};
  if (current < 0) return;
  if (!stopped) give_back(static_cast<uint32_t>(current));
  current = -1;
}

// The next datagram of a coalesced run. REQUIRES: !rest.empty().
Datagram ReceiverState::next_segment() {
  Datagram d;
  size_t n = std::min<size_t>(rest_segment, rest.size());
  d.data = rest.first(n);
  rest = rest.subspan(n);
  d.from = rest_from;
  // A run cut short by the buffer ends in a partial datagram: that one is the truncated one.
  d.truncated = rest.empty() && rest_truncated;
  if (!rest.empty()) ++stats.coalesced;
  return d;
}

Result<Datagram> ReceiverState::take() {
  Entry e = queue.front();
  queue.pop_front();
  if (e.res < 0) {
    error_hold = false;
    return error_from_res(e.res);
  }
  current = e.slot;
  auto slot = static_cast<uint32_t>(e.slot);
  std::span<const std::byte> payload;
  Address from;
  bool truncated = false;
  uint32_t segment = 0;
  std::byte* base = slot_ptr(slot);
  if (use_multishot) {
    io_uring_recvmsg_out* out = io_uring_recvmsg_validate(base, e.res, &msg);
    if (out == nullptr) {
      release_current();
      return errno_error(EBADMSG);  // shorter than the header the kernel promised
    }
    socklen_t name_len = std::min<socklen_t>(out->namelen, msg.msg_namelen);
    from = Address::from_sockaddr(static_cast<const sockaddr*>(io_uring_recvmsg_name(out)),
                                  name_len)
               .value_or(Address{});
    payload = {static_cast<const std::byte*>(io_uring_recvmsg_payload(out, &msg)),
               io_uring_recvmsg_payload_length(out, e.res, &msg)};
    truncated = (out->flags & MSG_TRUNC) != 0;
    if (gro) segment = gro_segment(io_uring_recvmsg_cmsg_firsthdr(out, &msg));
  } else {
    payload = {base, static_cast<size_t>(e.res)};
    from = Address::from_sockaddr(reinterpret_cast<const sockaddr*>(&names[slot]), e.name_len)
               .value_or(Address{});
    truncated = (e.msg_flags & MSG_TRUNC) != 0;
    segment = e.segment;
  }
  if (segment == 0 || payload.size() <= segment) {
    return Datagram{payload, from, truncated};
  }
  rest = payload;
  rest_segment = segment;
  rest_from = from;
  rest_truncated = truncated;
  return next_segment();
}

void ReceiverState::wake_waiter() {
  if (waiter == nullptr || queue.empty()) return;
  MultishotReceiver::NextAwaiter* w = waiter;
  waiter = nullptr;
  w->wake(false);  // last: the woken task may call next() or stop() at once
}

void ReceiverState::arm_timer(Clock::time_point deadline) {
  // Due in time: it wakes us (or is scheduled again for the rest).
  if (timer.scheduled() && timer.due() <= deadline) return;
  ++stats.timer_arms;
  ex->deadlines().schedule(timer, deadline);
}

void ReceiverState::on_timer(Deadlines::Entry* entry) {
  ReceiverState* s = static_cast<TimerEntry*>(entry)->owner;
  if (s->stopping) return;
  MultishotReceiver::NextAwaiter* w = s->waiter;
  if (w == nullptr || !w->deadline()) return;  // nobody waits for a deadline: stay unarmed
  if (Clock::now() >= *w->deadline()) {
    // Woken after the rest of this batch of completions: a datagram that came with the timer
    // (a process that was not running when both happened) is then taken instead.
    s->waiter = nullptr;
    w->wake(true, /*expired=*/true);
    return;
  }
  s->arm_timer(*w->deadline());
}

void ReceiverState::maybe_finish_stop() {
  if (stopping && !stopped && !busy()) finish_stop();
}

void ReceiverState::finish_stop() {
  stopped = true;
  armed = false;
  release_ring();
  queue.clear();
  current = -1;
  rest = {};
  if (orphaned) {
    delete this;
    return;
  }
  if (stop_waiter) std::exchange(stop_waiter, {}).resume();  // last: it may destroy us
}

// Marks the receiver stopping, ends a pending next() and asks the kernel to end what runs.
void ReceiverState::begin_stop() {
  if (stopping) return;
  stopping = true;
  if (MultishotReceiver::NextAwaiter* w = std::exchange(waiter, nullptr)) w->wake(true);
  if (armed) ex->cancel(op);
  ex->deadlines().cancel(timer);
}

void ReceiverState::on_complete(Operation* completed) {
  ReceiverState* s = static_cast<StateOp*>(completed)->owner;
  if (s->use_multishot) {
    s->on_multishot();
  } else {
    s->on_single();
  }
}

void ReceiverState::on_multishot() {
  int32_t res = static_cast<int32_t>(op.res);
  uint32_t flags = op.cqe_flags;
  bool more = (flags & IORING_CQE_F_MORE) != 0;
  bool fall_back = false;
  if (flags & IORING_CQE_F_BUFFER) {
    auto bid = static_cast<uint32_t>(flags >> IORING_CQE_BUFFER_SHIFT);
    ++held;
    if (stopping || res < 0) {
      give_back(bid);
    } else {
      ++stats.datagrams;
      queue.push_back({res, static_cast<int32_t>(bid), 0, 0, 0});
    }
  } else if (res < 0 && !more && !stopping && res != -ENOBUFS) {
    if (stats.datagrams == 0 && (res == -EINVAL || res == -EOPNOTSUPP)) {
      fall_back = true;  // this kernel takes no multishot recvmsg after all
    } else {
      ++stats.datagrams;
      queue.push_back({res, -1, 0, 0, 0});
      error_hold = true;
    }
  }
  if (!more) {
    // The multishot ended: we stopped it, the buffers ran out (-ENOBUFS), an error, or the
    // kernel's own reasons (e.g. a full completion queue). Re-arm unless we are stopping.
    armed = false;
    if (stopping) {
      maybe_finish_stop();
      return;
    }
    if (fall_back) {
      release_ring();
      layout_one_at_a_time();
    }
    maybe_arm();
  }
  wake_waiter();
}

void ReceiverState::on_single() {
  armed = false;
  if (stopping) {
    free_slots.push_back(static_cast<uint32_t>(armed_slot));
    armed_slot = -1;
    maybe_finish_stop();
    return;
  }
  if (take_single_result()) maybe_arm();
  wake_waiter();
}

// ---- MultishotReceiver ----

MultishotReceiver::MultishotReceiver(SocketFd sock, const ReceiverOptions& options)
    : s_(std::make_unique<ReceiverState>(sock.fd, options)) {}

MultishotReceiver::~MultishotReceiver() {
  if (!s_ || !s_->busy() || s_->stopped) return;
  if (s_->armed) {
    log(LogLevel::kError,
        "MultishotReceiver destroyed while receiving (co_await stop() first); cancelling it");
  }
  s_->orphaned = true;
  s_->waiter = nullptr;  // whoever waited is gone with us
  s_->stop_waiter = {};
  s_->begin_stop();
  (void)s_.release();  // freed by finish_stop() on the final completion
}

MultishotReceiver::NextAwaiter MultishotReceiver::next(std::chrono::nanoseconds timeout,
                                                       std::stop_token stop) {
  std::optional<Clock::time_point> deadline;
  if (timeout.count() > 0) deadline = Clock::now() + timeout;
  return NextAwaiter(s_.get(), deadline, std::move(stop));
}

MultishotReceiver::NextAwaiter MultishotReceiver::next_until(Clock::time_point deadline,
                                                             std::stop_token stop) {
  return NextAwaiter(s_.get(), deadline, std::move(stop));
}

MultishotReceiver::StopAwaiter MultishotReceiver::stop() { return StopAwaiter(s_.get()); }

bool MultishotReceiver::multishot() const { return s_->use_multishot; }

bool MultishotReceiver::coalescing() const { return s_->gro; }

const ReceiverStats& MultishotReceiver::stats() const { return s_->stats; }

// ---- NextAwaiter ----

bool MultishotReceiver::NextAwaiter::await_ready() {
  ReceiverState& s = *s_;
  assert(s.waiter == nullptr && "one next() at a time");
  if (s.stopping || s.stopped) return true;
  if (!s.rest.empty()) return true;  // more datagrams of a coalesced run
  s.release_current();
  s.maybe_arm();
  if (!s.queue.empty() || stop_.stop_requested()) return true;
  if (deadline_ && Clock::now() >= *deadline_) {
    expired_ = true;
    return true;
  }
  return false;
}

bool MultishotReceiver::NextAwaiter::await_suspend(std::coroutine_handle<> waiter) {
  waiter_ = waiter;
  s_->waiter = this;
  if (deadline_) s_->arm_timer(*deadline_);
  if (stop_.stop_possible()) stop_callback_.emplace(stop_, OnStop{this});
  return true;
}

void MultishotReceiver::NextAwaiter::wake(bool deferred, bool expired) {
  expired_ = expired;
  if (deferred) {
    wake_ = ringkit::detail::Operation{};
    wake_.waiter = waiter_;
    s_->ex->finish_later(wake_);
    return;
  }
  waiter_.resume();
}

void MultishotReceiver::NextAwaiter::OnStop::operator()() const noexcept {
  if (self->s_->waiter != self) return;  // already woken
  self->s_->waiter = nullptr;
  self->wake(true);  // never resume inside request_stop()'s caller
}

Result<Datagram> MultishotReceiver::NextAwaiter::await_resume() {
  stop_callback_.reset();
  ReceiverState& s = *s_;
  if (s.waiter == this) s.waiter = nullptr;
  if (s.stopping || s.stopped) return std::make_error_code(std::errc::operation_canceled);
  if (!s.rest.empty()) return s.next_segment();
  if (!s.queue.empty()) return s.take();
  if (stop_.stop_requested()) return std::make_error_code(std::errc::operation_canceled);
  if (expired_) return std::make_error_code(std::errc::timed_out);
  return std::make_error_code(std::errc::operation_canceled);
}

// ---- StopAwaiter ----

bool MultishotReceiver::StopAwaiter::await_ready() {
  ReceiverState& s = *s_;
  if (s.stopped) return true;
  s.begin_stop();
  if (s.busy()) return false;
  s.finish_stop();  // nothing in the kernel: stop at once
  return true;
}

void MultishotReceiver::StopAwaiter::await_suspend(std::coroutine_handle<> waiter) {
  // The final completion (ECANCELED, or a datagram that won the race) calls finish_stop().
  s_->stop_waiter = waiter;
}

}  // namespace ringkit::net
