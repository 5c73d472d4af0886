// Datagram receives and sends: each fills an Operation (kRecvmsg, kSendto or kSendmsg) for the
// engine, which runs it on the ring or through epoll (see syscall_ops.cc for the fields).
#include <netinet/udp.h>

#include <cstring>

#include "ringkit/executor.h"
#include "ringkit/net.h"
#include "ringkit/probe.h"

namespace ringkit::net {
namespace {

using ringkit::detail::OpCode;
using ringkit::detail::Operation;

Operation make_socket_op(OpCode code, int fd, int flags, std::chrono::nanoseconds timeout) {
  Operation op;
  op.code = code;
  op.fd = fd;
  op.flags = static_cast<uint32_t>(flags);
  op.timeout = timeout.count() > 0 ? timeout : std::chrono::nanoseconds(0);
  return op;
}

// Points `msg` at `data` (through `iov`) and, unless `to` is empty, at the destination.
void point_send_msg(msghdr& msg, iovec& iov, std::span<const std::byte> data, const Address& to) {
  iov.iov_base = const_cast<std::byte*>(data.data());
  iov.iov_len = data.size();
  msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (!to.empty()) {
    msg.msg_name = const_cast<struct sockaddr*>(to.sockaddr());
    msg.msg_namelen = to.length();
  }
}

// Whether sends on this thread go out as kSendto (no msghdr for the kernel to copy in, which
// was ~2% of a TFTP server's CPU) rather than kSendmsg: everywhere but rings that cannot take
// a destination address with IORING_OP_SEND.
bool sendto_here() {
  Executor* ex = Executor::current();
  return ex == nullptr || ex->backend() != BackendKind::kUring || probe_io_uring().send_to_address;
}

}  // namespace

RecvFromAwaiter::RecvFromAwaiter(int fd, std::span<std::byte> buf, Address* from,
                                 std::chrono::nanoseconds timeout, std::stop_token stop)
    : buf_(buf), from_(from) {
  op_ = make_socket_op(OpCode::kRecvmsg, fd, 0, timeout);
  set_stop(std::move(stop));
}

bool RecvFromAwaiter::await_suspend(std::coroutine_handle<> waiter) {
  // Pointers into this object are taken only now: from here on it does not move.
  iov_.iov_base = buf_.data();
  iov_.iov_len = buf_.size();
  msg_ = {};
  msg_.msg_iov = &iov_;
  msg_.msg_iovlen = 1;
  if (from_ != nullptr) {
    msg_.msg_name = &name_;
    msg_.msg_namelen = sizeof name_;
  }
  op_.addr = &msg_;
  return OpAwaiterBase::await_suspend(waiter);
}

Result<size_t> RecvFromAwaiter::await_resume() {
  if (op_.res < 0) return error();
  if (from_ != nullptr) {
    auto addr = Address::from_sockaddr(reinterpret_cast<const sockaddr*>(&name_),
                                       msg_.msg_namelen);
    *from_ = addr.value_or(Address{});
  }
  return static_cast<size_t>(op_.res);
}

SendToAwaiter::SendToAwaiter(int fd, std::span<const std::byte> data, const Address& to,
                             std::chrono::nanoseconds timeout, std::stop_token stop)
    : data_(data), to_(to) {
  op_ = make_socket_op(sendto_here() ? OpCode::kSendto : OpCode::kSendmsg, fd, 0, timeout);
  set_stop(std::move(stop));
}

bool SendToAwaiter::await_suspend(std::coroutine_handle<> waiter) {
  // Pointers into this object are taken only now: from here on it does not move.
  if (op_.code == OpCode::kSendto) {
    op_.addr = const_cast<std::byte*>(data_.data());
    op_.len = data_.size();
    if (!to_.empty()) {
      op_.addr2 = to_.sockaddr();
      op_.aux = to_.length();
    }
  } else {
    point_send_msg(msg_, iov_, data_, to_);
    op_.addr = &msg_;
  }
  return OpAwaiterBase::await_suspend(waiter);
}

Result<size_t> SendToAwaiter::await_resume() {
  if (op_.res < 0) return error();
  return static_cast<size_t>(op_.res);
}

SendSegmentsAwaiter::SendSegmentsAwaiter(int fd, std::span<const std::byte> data,
                                         uint16_t segment_size, const Address& to,
                                         std::chrono::nanoseconds timeout, std::stop_token stop)
    : data_(data), segment_size_(segment_size), to_(to) {
  op_ = make_socket_op(OpCode::kSendmsg, fd, 0, timeout);
  set_stop(std::move(stop));
}

bool SendSegmentsAwaiter::await_suspend(std::coroutine_handle<> waiter) {
  // Checked here so that the kernel's EINVAL keeps meaning "this path cannot segment".
  bool fits = segment_size_ > 0 && !data_.empty() && data_.size() <= kMaxSegmentedBytes &&
              (data_.size() + segment_size_ - 1) / segment_size_ <= kMaxSegments;
  if (!fits) {
    op_.res = -EMSGSIZE;
    return false;
  }
  point_send_msg(msg_, iov_, data_, to_);
  msg_.msg_control = control_;
  msg_.msg_controllen = sizeof control_;
  cmsghdr* cm = CMSG_FIRSTHDR(&msg_);
  cm->cmsg_level = SOL_UDP;
  cm->cmsg_type = UDP_SEGMENT;
  cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
  std::memcpy(CMSG_DATA(cm), &segment_size_, sizeof segment_size_);
  op_.addr = &msg_;
  return OpAwaiterBase::await_suspend(waiter);
}

Result<size_t> SendSegmentsAwaiter::await_resume() {
  if (op_.res < 0) return error();
  return static_cast<size_t>(op_.res);
}

SendSegmentsAwaiter send_segments(SocketFd sock, std::span<const std::byte> data,
                                  uint16_t segment_size, const Address& to,
                                  std::chrono::nanoseconds timeout, std::stop_token stop) {
  return SendSegmentsAwaiter(sock.fd, data, segment_size, to, timeout, std::move(stop));
}

RecvFromAwaiter recv_from(SocketFd sock, std::span<std::byte> buf, Address* from,
                          std::chrono::nanoseconds timeout, std::stop_token stop) {
  return RecvFromAwaiter(sock.fd, buf, from, timeout, std::move(stop));
}

SendToAwaiter send_to(SocketFd sock, std::span<const std::byte> data, const Address& to,
                      std::chrono::nanoseconds timeout, std::stop_token stop) {
  return SendToAwaiter(sock.fd, data, to, timeout, std::move(stop));
}

ringkit::detail::CountAwaiter<size_t> recvmsg(SocketFd sock, msghdr& msg, int flags,
                                              std::chrono::nanoseconds timeout,
                                              std::stop_token stop) {
  Operation op = make_socket_op(OpCode::kRecvmsg, sock.fd, flags, timeout);
  op.addr = &msg;
  return ringkit::detail::CountAwaiter<size_t>(op, std::move(stop));
}

ringkit::detail::CountAwaiter<size_t> sendmsg(SocketFd sock, const msghdr& msg, int flags,
                                              std::chrono::nanoseconds timeout,
                                              std::stop_token stop) {
  Operation op = make_socket_op(OpCode::kSendmsg, sock.fd, flags, timeout);
  op.addr = const_cast<msghdr*>(&msg);
  return ringkit::detail::CountAwaiter<size_t>(op, std::move(stop));
}

}  // namespace ringkit::net
