#include "tftp/metrics.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <sstream>
#include <system_error>

namespace ringkit::tftp {

std::string ServerMetrics::render_prometheus() const {
  std::ostringstream out;
  auto one = [&](const char* name, const char* type, const char* help, const std::atomic<uint64_t>& v,
                 const char* labels = "") {
    out << "# HELP ringtftpd_" << name << ' ' << help << '\n'
        << "# TYPE ringtftpd_" << name << ' ' << type << '\n'
        << "ringtftpd_" << name << labels << ' ' << v.load(std::memory_order_relaxed) << '\n';
  };
  one("active_transfers", "gauge", "Transfers running now.", active);
  one("requests_total", "counter", "Read and write requests received.", requests);
  one("transfers_completed_total", "counter", "Transfers that completed.", completed);
  one("transfers_failed_total", "counter", "Transfers that started and failed.", failed);
  one("requests_refused_total", "counter", "Requests answered with an ERROR packet.", refused);
  out << "# HELP ringtftpd_requests_dropped_total Requests dropped unanswered, by reason.\n"
      << "# TYPE ringtftpd_requests_dropped_total counter\n"
      << "ringtftpd_requests_dropped_total{reason=\"limit\"} " << dropped_limit.load() << '\n'
      << "ringtftpd_requests_dropped_total{reason=\"rate\"} " << dropped_rate.load() << '\n'
      << "ringtftpd_requests_dropped_total{reason=\"duplicate\"} " << dropped_duplicate.load()
      << '\n';
  one("malformed_packets_total", "counter", "Unparsable datagrams received by the listener.",
      malformed);
  one("bytes_sent_total", "counter", "File bytes delivered to clients.", bytes_sent);
  one("bytes_received_total", "counter", "File bytes received from clients.", bytes_received);
  one("retransmits_total", "counter", "Packets sent again.", retransmits);
  one("timeouts_total", "counter", "Waits for a client that ran out.", timeouts);
  one("spurious_timeouts_total", "counter",
      "Timeouts whose resent block was then acknowledged twice: the wait was too short.",
      spurious_timeouts);
  return out.str();
}

MetricsEndpoint::MetricsEndpoint(const net::Address& address, const ServerMetrics& metrics)
    : metrics_(metrics) {
  listen_fd_ = ::socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::system_error(errno, std::system_category(), "metrics socket");
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(listen_fd_, address.sockaddr(), address.length()) != 0 ||
      ::listen(listen_fd_, 16) != 0) {
    int err = errno;
    ::close(listen_fd_);
    throw std::system_error(err, std::system_category(), "metrics " + address.to_string());
  }
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&ss), &len);
  address_ = net::Address::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len).value_or(address);
  if (::pipe2(stop_pipe_, O_CLOEXEC) != 0) {
    ::close(listen_fd_);
    throw std::system_error(errno, std::system_category(), "metrics pipe");
  }
  thread_ = std::thread([this] { serve(); });
}

MetricsEndpoint::~MetricsEndpoint() {
  char c = 'x';
  (void)::write(stop_pipe_[1], &c, 1);
  thread_.join();
  ::close(listen_fd_);
  ::close(stop_pipe_[0]);
  ::close(stop_pipe_[1]);
}

void MetricsEndpoint::serve() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    int conn = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) continue;
    // Read the request head (bounded, with a deadline) and answer; anything but GET gets 405.
    std::string head;
    char buf[1024];
    while (head.find("\r\n\r\n") == std::string::npos && head.find("\n\n") == std::string::npos &&
           head.size() < 8192) {
      pollfd p{conn, POLLIN, 0};
      if (::poll(&p, 1, 2000) <= 0) break;
      ssize_t n = ::read(conn, buf, sizeof buf);
      if (n <= 0) break;
      head.append(buf, static_cast<size_t>(n));
    }
    std::string response;
    if (head.rfind("GET ", 0) == 0) {
      std::string body = metrics_.render_prometheus();
      response = "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: " +
                 std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    } else {
      response = "HTTP/1.0 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    }
    size_t off = 0;
    while (off < response.size()) {
      ssize_t n = ::send(conn, response.data() + off, response.size() - off, MSG_NOSIGNAL);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    ::close(conn);
  }
}

}  // namespace ringkit::tftp
