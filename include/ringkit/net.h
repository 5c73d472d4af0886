// UDP for the engine: addresses, sockets, and datagram receives and sends as awaitables.
//
// Address is a plain value (an IPv4 or IPv6 socket address), usable from any thread.
// Socket owns a UDP descriptor and closes it synchronously when destroyed. Creating, binding,
// connecting a socket, setting its options and getsockname are direct system calls: cheap and
// never blocking, so they need no executor.
//
// recv_from / send_to / recvmsg / sendmsg return awaitables like those of fs.h: co_await them on
// an executor thread. Each takes an optional timeout (zero: none; when it fires the Result reads
// timed_out()) and an optional std::stop_token (requesting stop makes it cancelled()).
// On io_uring the timeout is a linked timeout; on the threads backend, a timer.
// Lifetimes: buffers, msghdrs and `from` must stay valid until the co_await returns; the
// destination Address of send_to is copied, so a temporary is fine.
//
// MultishotReceiver: one long-lived receive on a socket that yields datagrams as they come.
// On io_uring (kernel >= 6.0) it is one multishot recvmsg with a provided-buffer ring; elsewhere
// it falls back to one recvmsg at a time into its own buffers, with the same API and results.
// It belongs to the executor thread that created it and must be stopped with
// `co_await receiver.stop()` before it is destroyed. Deadlines of next_until() share one timer
// per receiver, so waiting with a deadline costs no operation per datagram.
//
// send_segments sends a run of equal-sized datagrams in one call (UDP GSO), and a receiver
// with ReceiverOptions::coalesce_bytes takes such a run in one receive (UDP GRO): a window of
// TFTP DATA then costs a handful of system calls instead of one per block.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>

#include "ringkit/awaitable.h"
#include "ringkit/fs.h"

namespace ringkit::net {

// ---- Addresses ----

// An IPv4 or IPv6 socket address (host, port and, for IPv6, scope), or empty.
class Address {
 public:
  Address() = default;  // empty: no family; as a send_to destination it means "the connected peer"

  static Address ipv4_any(uint16_t port = 0);        // 0.0.0.0
  static Address ipv6_any(uint16_t port = 0);        // ::
  static Address ipv4_loopback(uint16_t port = 0);   // 127.0.0.1
  static Address ipv6_loopback(uint16_t port = 0);   // ::1

  // Numeric forms only, never DNS (a lookup can block for seconds):
  //   "127.0.0.1:69"  "[::1]:6969"  "[fe80::1%eth0]:69"   host and port
  //   "127.0.0.1"  "::1"  "[::1]"                          host; port `default_port`
  //   ":69"  "69"                                          host-less: the IPv4 wildcard 0.0.0.0
  //   "[::]:69"                                            the IPv6 wildcard
  // nullopt for anything else (names, ports out of range or with signs, stray characters).
  static std::optional<Address> parse(std::string_view text, uint16_t default_port = 0);
  // nullopt unless `sa` is AF_INET or AF_INET6 and `len` covers it.
  static std::optional<Address> from_sockaddr(const sockaddr* sa, socklen_t len);

  bool empty() const { return len_ == 0; }
  int family() const { return empty() ? AF_UNSPEC : u_.sa.sa_family; }
  bool is_v4() const { return family() == AF_INET; }
  bool is_v6() const { return family() == AF_INET6; }
  uint16_t port() const;
  void set_port(uint16_t port);

  // For system calls. sockaddr() is null when empty().
  const struct sockaddr* sockaddr() const { return empty() ? nullptr : &u_.sa; }
  socklen_t length() const { return len_; }

  // "127.0.0.1:69", "[::1]:6969", "[fe80::1%2]:69"; "" when empty. parse() reads it back.
  std::string to_string() const;
  // The host part alone: "127.0.0.1", "::1".
  std::string host() const;

  // Same family, host, port and scope (IPv6 flow info is ignored).
  friend bool operator==(const Address& a, const Address& b);

 private:
  union Storage {
    struct sockaddr sa;
    sockaddr_in in4;
    sockaddr_in6 in6;
  } u_{};
  socklen_t len_ = 0;
};

// ---- Sockets ----

// An owned socket descriptor; closes it (synchronously) when destroyed. Move-only. The same
// ownership as fs::Fd, named for what it holds.
class Socket : public fs::Fd {
 public:
  using fs::Fd::Fd;
  int fd() const { return get(); }
};

// A socket argument: a Socket (not owned by the call) or a raw descriptor.
struct SocketFd {
  SocketFd(int f) : fd(f) {}                  // NOLINT: implicit by design
  SocketFd(const Socket& s) : fd(s.fd()) {}   // NOLINT
  int fd;
};

// Options applied when a UDP socket is made. Each says its default and what it trades.
struct UdpOptions {
  // SO_RCVBUF in bytes; 0 keeps the system default (net.core.rmem_default, often 208 KiB).
  // A burst larger than the buffer is dropped by the kernel, so servers want more. Requests
  // above net.core.rmem_max use SO_RCVBUFFORCE when the process may (CAP_NET_ADMIN).
  int recv_buffer = 0;
  // SO_SNDBUF in bytes; 0 keeps the default. Same rules as recv_buffer.
  int send_buffer = 0;
  // SO_REUSEADDR: lets a port be bound again while an old socket on it lingers. Off.
  bool reuse_address = false;
  // SO_REUSEPORT: several sockets (one per executor) share a port; the kernel spreads datagrams
  // by source. Off.
  bool reuse_port = false;
  // IPV6_V6ONLY for IPv6 sockets. nullopt keeps the system default (net.ipv6.bindv6only, usually
  // 0: "::" then also receives IPv4, as v4-mapped addresses).
  std::optional<bool> v6_only;
};

// A UDP socket of `family` (AF_INET or AF_INET6), close-on-exec, with `options` applied.
Result<Socket> udp_socket(int family, const UdpOptions& options = {});
// A UDP socket bound to `local`. Port 0: the kernel picks one (read it with local_address()).
Result<Socket> bind_udp(const Address& local, const UdpOptions& options = {});

Result<void> apply_options(SocketFd sock, const UdpOptions& options);
Result<void> bind(SocketFd sock, const Address& local);
// Fixes the peer of a UDP socket: send_to(Address{}) then goes there, only its datagrams are
// received, and ICMP errors (e.g. port unreachable) show up as receive errors.
Result<void> connect(SocketFd sock, const Address& peer);
Result<Address> local_address(SocketFd sock);  // getsockname
Result<Address> peer_address(SocketFd sock);   // getpeername

// SO_RCVBUF / SO_SNDBUF. The sizes read back are the kernel's: twice what was set (it counts
// its bookkeeping), capped by net.core.rmem_max/wmem_max unless forced.
Result<void> set_recv_buffer(SocketFd sock, int bytes);
Result<void> set_send_buffer(SocketFd sock, int bytes);
Result<int> recv_buffer_size(SocketFd sock);
Result<int> send_buffer_size(SocketFd sock);

// ---- Datagram operations (awaitables) ----

// REQUIRES (all): co_await on an executor thread; the socket stays open until it returns.

// Awaitable of recv_from. It points its msghdr at itself only when awaited.
class RecvFromAwaiter : public detail::OpAwaiterBase {
 public:
  RecvFromAwaiter(int fd, std::span<std::byte> buf, Address* from,
                  std::chrono::nanoseconds timeout, std::stop_token stop);
  bool await_suspend(std::coroutine_handle<> waiter);
  Result<size_t> await_resume();

 private:
  std::span<std::byte> buf_;
  Address* from_;
  iovec iov_{};
  msghdr msg_{};
  sockaddr_storage name_{};
};

// Awaitable of send_to; holds its own copy of the destination.
class SendToAwaiter : public detail::OpAwaiterBase {
 public:
  SendToAwaiter(int fd, std::span<const std::byte> data, const Address& to,
                std::chrono::nanoseconds timeout, std::stop_token stop);
  bool await_suspend(std::coroutine_handle<> waiter);
  Result<size_t> await_resume();

 private:
  std::span<const std::byte> data_;
  Address to_;
  iovec iov_{};
  msghdr msg_{};
};

// Receives one datagram into `buf`: its byte count (at most buf.size(); a longer datagram is
// truncated, so pass one byte more than the largest valid datagram to detect that). Stores the
// sender in `*from` unless `from` is null.
RecvFromAwaiter recv_from(SocketFd sock, std::span<std::byte> buf, Address* from = nullptr,
                          std::chrono::nanoseconds timeout = {}, std::stop_token stop = {});
// Sends `data` as one datagram to `to` (an empty Address: the connected peer). Its byte count.
SendToAwaiter send_to(SocketFd sock, std::span<const std::byte> data, const Address& to,
                      std::chrono::nanoseconds timeout = {}, std::stop_token stop = {});

// The general forms, for scatter/gather or control messages. `msg` and everything it points to
// must stay valid until the co_await returns.
detail::CountAwaiter<size_t> recvmsg(SocketFd sock, msghdr& msg, int flags = 0,
                                     std::chrono::nanoseconds timeout = {},
                                     std::stop_token stop = {});
detail::CountAwaiter<size_t> sendmsg(SocketFd sock, const msghdr& msg, int flags = 0,
                                     std::chrono::nanoseconds timeout = {},
                                     std::stop_token stop = {});

// ---- Segmented sends (UDP generic segmentation offload) ----

// Limits of one send_segments() call: at most kMaxSegments datagrams (the kernel's limit was 64
// before Linux 6.9) and kMaxSegmentedBytes in all (the largest UDP payload over IPv4).
inline constexpr size_t kMaxSegments = 64;
inline constexpr size_t kMaxSegmentedBytes = 65507;

// Awaitable of send_segments; holds its own copy of the destination and the control message.
class SendSegmentsAwaiter : public detail::OpAwaiterBase {
 public:
  SendSegmentsAwaiter(int fd, std::span<const std::byte> data, uint16_t segment_size,
                      const Address& to, std::chrono::nanoseconds timeout, std::stop_token stop);
  bool await_suspend(std::coroutine_handle<> waiter);
  Result<size_t> await_resume();

 private:
  std::span<const std::byte> data_;
  uint16_t segment_size_;
  Address to_;
  iovec iov_{};
  msghdr msg_{};
  alignas(cmsghdr) std::byte control_[CMSG_SPACE(sizeof(uint16_t))]{};
};

// Sends `data` as consecutive datagrams of `segment_size` bytes (the last may be shorter) to
// `to` in one system call: UDP_SEGMENT, which the kernel splits late (or the NIC does). The
// receiver sees ordinary datagrams. Its byte count. Errors: message_size when `data` is empty
// or breaks the limits above (nothing is submitted); invalid_argument when a segment does not
// fit the path's MTU; io_error when the route cannot segment (no checksum offload);
// no_protocol_option on kernels before 4.18. A caller that gets one of those sends the
// datagrams one by one instead.
SendSegmentsAwaiter send_segments(SocketFd sock, std::span<const std::byte> data,
                                  uint16_t segment_size, const Address& to,
                                  std::chrono::nanoseconds timeout = {},
                                  std::stop_token stop = {});

// ---- MultishotReceiver ----

// One received datagram.
struct Datagram {
  std::span<const std::byte> data;  // valid until the receiver's next next() or stop()
  Address from;
  bool truncated = false;           // it was longer than ReceiverOptions::payload_size
};

struct ReceiverOptions {
  // Buffers the kernel may fill ahead of the consumer; rounded up to a power of two. When all
  // are full the kernel leaves further datagrams in the socket buffer (nothing is lost that the
  // socket buffer holds) and the receiver re-arms once one is free. On io_uring each filled
  // buffer is a completion-queue entry: keep this well below Executor::capacity().
  uint32_t buffers = 64;
  // Payload bytes per buffer; longer datagrams arrive truncated (Datagram::truncated). TFTP
  // requests and acks fit the default; a data receiver wants blksize + 4.
  uint32_t payload_size = 2048;
  // Above payload_size: let the kernel hand over back-to-back datagrams of one length from one
  // sender in a single receive of up to this many bytes (UDP_GRO; a sender using
  // send_segments() on loopback, or a NIC that coalesces). next() still returns them one at a
  // time. Each buffer then has this much room, so it costs memory: worth it for a receiver of
  // bursts (a window of TFTP DATA), not for one of requests. A coalesced run longer than this
  // loses its tail, so size it to the longest burst (65535 holds anything). 0: off.
  uint32_t coalesce_bytes = 0;
  // Use multishot recvmsg where the ring has it. False forces one recvmsg at a time (the same
  // path the threads backend takes), for tests and comparisons.
  bool allow_multishot = true;
};

struct ReceiverStats {
  uint64_t datagrams = 0;   // receives (and errors) the kernel delivered
  uint64_t coalesced = 0;   // further datagrams that came inside one of those (coalesce_bytes)
  uint64_t arms = 0;        // receives submitted: 1 per (re-)arm with multishot, 1 per datagram without
  uint64_t timer_arms = 0;  // deadlines scheduled (not one per next(): see next_until)
};

struct ReceiverState;  // the receiver's buffers and receive; defined in src/net/receiver.cc

// Receives datagrams on one socket as they come.
//
//   MultishotReceiver rx(sock);
//   for (;;) {
//     auto d = co_await rx.next();
//     if (!d) break;               // error, cancelled, timed_out
//     handle(d->data, d->from);    // d->data is valid until the next next()
//   }
//   co_await rx.stop();
//
// The receive is armed by the first next(); until stop() it stays armed, re-armed when the
// kernel ends a multishot (no buffer free, or its own reasons). Errors from the socket come out
// of next() one at a time; the receive is armed again by the next next().
//
// Deadlines cost no operation per datagram: the receiver keeps one entry in its executor's
// Deadlines (ringkit/deadlines.h), where the deadlines of every receiver share one kernel
// timer. A datagram that comes first leaves the entry standing; when it fires before the
// deadline of whoever waits then, it is scheduled again for the rest. So a transfer that waits
// for each packet with a deadline moved forward every few packets schedules about once per
// wait length, not once per packet (ReceiverStats::timer_arms counts them), and thousands of
// transfers cost one timer interrupt per Deadlines::kBatch at most.
// Thread affinity: the executor thread it was created on, which must also drive it.
// Invariants: at most one next() and one stop() awaited at a time; after stop(), next() returns
// cancelled().
class MultishotReceiver {
 public:
  using Clock = std::chrono::steady_clock;

  // REQUIRES: on an executor thread. `sock` is a bound UDP socket that outlives the receiver.
  explicit MultishotReceiver(SocketFd sock, const ReceiverOptions& options = {});
  // REQUIRES: on its executor's thread, before that executor is destroyed; stop() was awaited,
  // or next() never called. (If not, the receive is cancelled and
  // its memory left to the kernel's final completion, with a warning: a bug, but never a crash.)
  ~MultishotReceiver();
  MultishotReceiver(const MultishotReceiver&) = delete;
  MultishotReceiver& operator=(const MultishotReceiver&) = delete;

  class NextAwaiter;
  class StopAwaiter;

  // The next datagram. Recycles the buffer of the previous one. With a timeout: timed_out()
  // when none came in time (the receive stays armed). With a stop token: cancelled() when stop
  // is requested (the receive stays armed). cancelled() after stop().
  NextAwaiter next(std::chrono::nanoseconds timeout = {}, std::stop_token stop = {});
  // The same with an absolute deadline: timed_out() once `deadline` has passed with nothing
  // received (at once, if it already has and nothing is queued).
  NextAwaiter next_until(Clock::time_point deadline, std::stop_token stop = {});
  // Ends the receive and waits until the kernel is done with every buffer and the timer.
  // Datagrams received and not yet taken are dropped. A pending next() ends with cancelled().
  StopAwaiter stop();

  // True when datagrams come through a multishot recvmsg and a provided-buffer ring.
  bool multishot() const;
  // True when the socket accepted UDP_GRO (coalesce_bytes was asked for).
  bool coalescing() const;
  const ReceiverStats& stats() const;

 private:
  std::unique_ptr<ReceiverState> s_;  // heap: it may outlive a receiver destroyed while armed
};

class MultishotReceiver::NextAwaiter {
 public:
  NextAwaiter(ReceiverState* s, std::optional<Clock::time_point> deadline, std::stop_token stop)
      : s_(s), deadline_(deadline), stop_(std::move(stop)) {}
  NextAwaiter(const NextAwaiter&) = delete;
  NextAwaiter& operator=(const NextAwaiter&) = delete;

  bool await_ready();
  bool await_suspend(std::coroutine_handle<> waiter);
  Result<Datagram> await_resume();

  // Called by the receiver when a datagram, an error or stop arrives for this waiter, or its
  // deadline passed (`expired`). `deferred`: resume on the next turn of the loop rather than
  // inside the caller.
  void wake(bool deferred, bool expired = false);
  const std::optional<Clock::time_point>& deadline() const { return deadline_; }

 private:
  struct OnStop {
    NextAwaiter* self;
    void operator()() const noexcept;
  };
  ReceiverState* s_;
  std::optional<Clock::time_point> deadline_;
  std::stop_token stop_;
  std::coroutine_handle<> waiter_;
  ringkit::detail::Operation wake_;   // deferred resumption (stop)
  bool expired_ = false;
  std::optional<std::stop_callback<OnStop>> stop_callback_;
};

class MultishotReceiver::StopAwaiter {
 public:
  explicit StopAwaiter(ReceiverState* s) : s_(s) {}
  bool await_ready();
  void await_suspend(std::coroutine_handle<> waiter);
  void await_resume() {}

 private:
  ReceiverState* s_;
};

}  // namespace ringkit::net
