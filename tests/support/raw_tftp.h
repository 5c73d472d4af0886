// A bare-bones TFTP download over a plain UDP socket, for requests no real client will send:
// file names with control bytes or embedded NULs, names longer than a client's buffer, odd
// modes. Stop-and-wait, no options, octet unless told; also raw datagram sending for floods.
//
// Header-only (tests/CMakeLists.txt compiles only the support files it names). Test-only code;
// each call owns its socket, so calls on different threads are independent.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

namespace ringkit::testing {

struct RawGetResult {
  bool complete = false;           // the last (short) DATA block arrived
  std::optional<int> error_code;   // the server answered ERROR
  std::string error_message;
  std::string data;                // everything received in DATA blocks
  bool timed_out = false;          // no answer within the wait
};

// 127.0.0.1:`port`.
inline sockaddr_in loopback_address(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  return a;
}

inline std::string raw_request(uint16_t opcode, const std::string& filename, const std::string& mode) {
  std::string p;
  p += static_cast<char>(opcode >> 8);
  p += static_cast<char>(opcode & 0xff);
  p += filename;
  p += '\0';
  p += mode;
  p += '\0';
  return p;
}

// Sends `datagram` from a fresh socket to 127.0.0.1:`port` (and closes the socket).
inline void send_datagram(int port, const std::string& datagram) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in to = loopback_address(port);
  ::sendto(fd, datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  ::close(fd);
}

// Sends `request` (an RRQ built by raw_request, or any bytes) to 127.0.0.1:`port` and follows
// a download: ACKs each DATA block until a short one; waits up to `wait` for each answer.
inline RawGetResult raw_get(int port, const std::string& request,
                            std::chrono::milliseconds wait = std::chrono::milliseconds(5000)) {
  RawGetResult result;
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in server = loopback_address(port);
  ::sendto(fd, request.data(), request.size(), 0, reinterpret_cast<sockaddr*>(&server), sizeof server);
  uint16_t expected = 1;
  std::optional<sockaddr_in> tid;
  char buf[70000];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(wait.count())) <= 0) {
      result.timed_out = true;
      break;
    }
    sockaddr_in from{};
    socklen_t len = sizeof from;
    ssize_t n = ::recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 4) continue;
    if (tid && from.sin_port != tid->sin_port) continue;  // another TID: not ours
    uint16_t opcode = static_cast<uint16_t>((static_cast<unsigned char>(buf[0]) << 8) | static_cast<unsigned char>(buf[1]));
    uint16_t number = static_cast<uint16_t>((static_cast<unsigned char>(buf[2]) << 8) | static_cast<unsigned char>(buf[3]));
    if (opcode == 5) {
      result.error_code = number;
      result.error_message.assign(buf + 4, strnlen(buf + 4, static_cast<size_t>(n - 4)));
      break;
    }
    if (opcode != 3) continue;
    tid = from;
    if (number == expected) {
      result.data.append(buf + 4, static_cast<size_t>(n - 4));
      ++expected;
    }
    char ack[4] = {0, 4, buf[2], buf[3]};
    ::sendto(fd, ack, sizeof ack, 0, reinterpret_cast<sockaddr*>(&from), sizeof from);
    if (number == static_cast<uint16_t>(expected - 1) && n - 4 < 512) {
      result.complete = true;
      break;
    }
  }
  ::close(fd);
  return result;
}

}  // namespace ringkit::testing
