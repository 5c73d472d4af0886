// UDP sockets: creation, options, bind/connect, names. Direct system calls: each is a cheap,
// non-blocking call, so an io_uring round trip would only add latency.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "ringkit/net.h"

namespace ringkit::net {
namespace {

std::error_code last_error() { return errno_error(errno); }

Result<void> set_int_option(int fd, int level, int name, int value) {
  if (::setsockopt(fd, level, name, &value, sizeof value) < 0) return last_error();
  return {};
}

Result<int> get_int_option(int fd, int level, int name) {
  int value = 0;
  socklen_t len = sizeof value;
  if (::getsockopt(fd, level, name, &value, &len) < 0) return last_error();
  return value;
}

// Asks for `bytes` with the FORCE variant first, which passes the sysctl cap when we hold
// CAP_NET_ADMIN, then with the plain one, which the kernel silently caps.
Result<void> set_buffer(int fd, int force_name, int name, int bytes) {
  if (::setsockopt(fd, SOL_SOCKET, force_name, &bytes, sizeof bytes) == 0) return {};
  return set_int_option(fd, SOL_SOCKET, name, bytes);
}

using NameCall = int (*)(int, sockaddr*, socklen_t*);

Result<Address> name_of(int fd, NameCall call) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (call(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) return last_error();
  auto addr = Address::from_sockaddr(reinterpret_cast<const sockaddr*>(&ss), len);
  if (!addr) return std::make_error_code(std::errc::address_family_not_supported);
  return *addr;
}

}  // namespace

Result<void> apply_options(SocketFd sock, const UdpOptions& options) {
  if (options.reuse_address) {
    if (auto r = set_int_option(sock.fd, SOL_SOCKET, SO_REUSEADDR, 1); !r) return r;
  }
  if (options.reuse_port) {
    if (auto r = set_int_option(sock.fd, SOL_SOCKET, SO_REUSEPORT, 1); !r) return r;
  }
  if (options.recv_buffer > 0) {
    if (auto r = set_recv_buffer(sock, options.recv_buffer); !r) return r;
  }
  if (options.send_buffer > 0) {
    if (auto r = set_send_buffer(sock, options.send_buffer); !r) return r;
  }
  if (options.v6_only.has_value()) {
    auto domain = get_int_option(sock.fd, SOL_SOCKET, SO_DOMAIN);
    if (!domain) return domain.error();
    if (*domain == AF_INET6) {
      if (auto r = set_int_option(sock.fd, IPPROTO_IPV6, IPV6_V6ONLY, *options.v6_only ? 1 : 0);
          !r) {
        return r;
      }
    }
  }
  return {};
}

Result<Socket> udp_socket(int family, const UdpOptions& options) {
  if (family != AF_INET && family != AF_INET6) {
    return std::make_error_code(std::errc::address_family_not_supported);
  }
  Socket sock(::socket(family, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP));
  if (!sock) return last_error();
  if (auto r = apply_options(sock, options); !r) return r.error();
  return sock;
}

Result<Socket> bind_udp(const Address& local, const UdpOptions& options) {
  if (local.empty()) return std::make_error_code(std::errc::invalid_argument);
  auto sock = udp_socket(local.family(), options);
  if (!sock) return sock;
  if (auto r = bind(*sock, local); !r) return r.error();
  return sock;
}

Result<void> bind(SocketFd sock, const Address& local) {
  if (local.empty()) return std::make_error_code(std::errc::invalid_argument);
  if (::bind(sock.fd, local.sockaddr(), local.length()) < 0) return last_error();
  return {};
}

Result<void> connect(SocketFd sock, const Address& peer) {
  if (peer.empty()) return std::make_error_code(std::errc::invalid_argument);
  if (::connect(sock.fd, peer.sockaddr(), peer.length()) < 0) return last_error();
  return {};
}

Result<Address> local_address(SocketFd sock) { return name_of(sock.fd, &::getsockname); }
Result<Address> peer_address(SocketFd sock) { return name_of(sock.fd, &::getpeername); }

Result<void> set_recv_buffer(SocketFd sock, int bytes) {
  return set_buffer(sock.fd, SO_RCVBUFFORCE, SO_RCVBUF, bytes);
}
Result<void> set_send_buffer(SocketFd sock, int bytes) {
  return set_buffer(sock.fd, SO_SNDBUFFORCE, SO_SNDBUF, bytes);
}
Result<int> recv_buffer_size(SocketFd sock) { return get_int_option(sock.fd, SOL_SOCKET, SO_RCVBUF); }
Result<int> send_buffer_size(SocketFd sock) { return get_int_option(sock.fd, SOL_SOCKET, SO_SNDBUF); }

}  // namespace ringkit::net
