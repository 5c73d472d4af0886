// UdpRelay: a TFTP-aware UDP relay for end-to-end tests, placed between a real client and the
// server. It records every datagram in both directions (a packet capture without tcpdump) and
// can drop, duplicate and reorder them with a seeded generator (loss injection for clients that
// cannot do it themselves).
//
// TFTP changes ports mid-transfer (the server answers from a new port, its TID), so the relay
// keeps the mapping a NAT would: the client sends its request to the relay's listening port;
// the relay forwards it to the server from an upstream socket of its own (one per client
// address); each server TID that answers on that upstream socket gets its own client-facing
// socket, so that the client sees a new TID exactly as it would without the relay.
//
// Header-only (tests/CMakeLists.txt compiles only the support files it names). The relay runs
// on its own thread; the captured datagrams are read under a mutex (`captured()`), best after
// the client has finished. Only IPv4 loopback.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "support/raw_tftp.h"

namespace ringkit::testing {

struct RelayFaults {
  double loss = 0;       // probability a datagram is dropped
  double duplicate = 0;  // probability a datagram is sent twice
  double reorder = 0;    // probability a datagram is held back and sent after the next one
  bool spare_requests = false;  // never touch a datagram sent to the listening port
  bool only_requests = false;   // touch only datagrams sent to the listening port
  uint64_t seed = 1;
};

struct RelayedDatagram {
  bool to_server = false;  // client -> server, else server -> client
  uint16_t server_port = 0;  // the server's port involved (its listening port or a TID)
  std::string bytes;
};

// One line per datagram: "c>s RRQ", "s>c DATA 3 512", "c>s ACK 3", "s>c OACK", "s>c ERROR 1".
inline std::string describe(const RelayedDatagram& d) {
  auto be16 = [&](size_t at) {
    return static_cast<unsigned>((static_cast<unsigned char>(d.bytes[at]) << 8) | static_cast<unsigned char>(d.bytes[at + 1]));
  };
  std::string dir = d.to_server ? "c>s " : "s>c ";
  if (d.bytes.size() < 4) return dir + "runt";
  switch (be16(0)) {
    case 1: return dir + "RRQ";
    case 2: return dir + "WRQ";
    case 3: return dir + "DATA " + std::to_string(be16(2)) + " " + std::to_string(d.bytes.size() - 4);
    case 4: return dir + "ACK " + std::to_string(be16(2));
    case 5: return dir + "ERROR " + std::to_string(be16(2));
    case 6: return dir + "OACK";
  }
  return dir + "opcode " + std::to_string(be16(0));
}

class UdpRelay {
 public:
  // Forwards to the server at 127.0.0.1:`server_port`.
  explicit UdpRelay(uint16_t server_port, RelayFaults faults = {})
      : server_port_(server_port), faults_(faults), random_(faults.seed) {
    listen_ = bound_socket(&port_);
    ::pipe(wake_);
    thread_ = std::thread([this] { run(); });
  }
  UdpRelay(const UdpRelay&) = delete;
  UdpRelay& operator=(const UdpRelay&) = delete;
  ~UdpRelay() {
    stop_.store(true);
    (void)!::write(wake_[1], "x", 1);
    thread_.join();
    for (int fd : all_fds_) ::close(fd);
    ::close(listen_);
    ::close(wake_[0]);
    ::close(wake_[1]);
  }

  // The port clients should send their requests to (on 127.0.0.1).
  uint16_t port() const { return port_; }

  // Called on the relay thread for each datagram just before it is forwarded (not for dropped
  // ones): lets a test look at the server's state at that moment.
  void on_forwarded(std::function<void(const RelayedDatagram&)> f) {
    std::lock_guard lock(mutex_);
    hook_ = std::move(f);
  }

  std::vector<RelayedDatagram> captured() const {
    std::lock_guard lock(mutex_);
    return captured_;
  }

  struct Counts {
    uint64_t dropped = 0, duplicated = 0, reordered = 0;
  };
  Counts counts() const {
    std::lock_guard lock(mutex_);
    return counts_;
  }

 private:
  // One client (by its address) and the sockets that stand for it.
  struct Peer {
    sockaddr_in client{};
    int upstream = -1;                    // relay -> server, as this client
    std::map<uint16_t, int> facing;       // server TID -> client-facing socket
  };
  // Where a datagram goes, and what is held back for reordering.
  struct Route {
    int fd = -1;
    sockaddr_in to{};
  };
  struct Held {
    Route route;
    RelayedDatagram datagram;
  };

  static int bound_socket(uint16_t* port) {
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int size = 4 << 20;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    if (port != nullptr) *port = ntohs(a.sin_port);
    return fd;
  }

  static bool same(const sockaddr_in& a, const sockaddr_in& b) {
    return a.sin_addr.s_addr == b.sin_addr.s_addr && a.sin_port == b.sin_port;
  }

  Peer& peer_for(const sockaddr_in& client) {
    for (auto& p : peers_) {
      if (same(p.client, client)) return p;
    }
    Peer p;
    p.client = client;
    p.upstream = bound_socket(nullptr);
    all_fds_.push_back(p.upstream);
    peers_.push_back(p);
    return peers_.back();
  }

  // Records (and shows the hook) before sending: once a client has seen a datagram, the
  // capture holds it.
  void send(const Route& r, const RelayedDatagram& d) {
    std::function<void(const RelayedDatagram&)> hook;
    {
      std::lock_guard lock(mutex_);
      captured_.push_back(d);
      hook = hook_;
    }
    if (hook) hook(d);
    ::sendto(r.fd, d.bytes.data(), d.bytes.size(), 0, reinterpret_cast<const sockaddr*>(&r.to), sizeof r.to);
  }

  // Applies the faults to one datagram on its way.
  void forward(const Route& r, RelayedDatagram d, bool spared) {
    std::uniform_real_distribution<double> u(0, 1);
    auto held = held_.find(r.fd);
    if (!spared && u(random_) < faults_.loss) {
      std::lock_guard lock(mutex_);
      ++counts_.dropped;
      return;
    }
    if (!spared && held == held_.end() && u(random_) < faults_.reorder) {
      held_[r.fd] = Held{r, std::move(d)};  // goes out after the next one on this path
      std::lock_guard lock(mutex_);
      ++counts_.reordered;
      return;
    }
    send(r, d);
    if (!spared && u(random_) < faults_.duplicate) {
      send(r, d);
      std::lock_guard lock(mutex_);
      ++counts_.duplicated;
    }
    if (held != held_.end()) {
      Held h = std::move(held->second);
      held_.erase(held);
      send(h.route, h.datagram);
    }
  }

  // Sends whatever was held back for reordering when nothing followed it in time.
  void flush_held() {
    for (auto& [fd, h] : held_) send(h.route, h.datagram);
    held_.clear();
  }

  void run() {
    char buf[70000];
    while (!stop_.load()) {
      std::vector<pollfd> fds = {{wake_[0], POLLIN, 0}, {listen_, POLLIN, 0}};
      // What each polled socket is: index into peers_, and the TID for facing sockets (0 for
      // an upstream socket).
      std::vector<std::pair<size_t, uint16_t>> what = {{0, 0}, {0, 0}};
      for (size_t i = 0; i < peers_.size(); ++i) {
        fds.push_back({peers_[i].upstream, POLLIN, 0});
        what.push_back({i, 0});
        for (auto& [tid, fd] : peers_[i].facing) {
          fds.push_back({fd, POLLIN, 0});
          what.push_back({i, tid});
        }
      }
      int n = ::poll(fds.data(), fds.size(), held_.empty() ? 200 : 2);
      if (n == 0) {
        flush_held();
        continue;
      }
      for (size_t k = 1; k < fds.size(); ++k) {
        if (!(fds[k].revents & POLLIN)) continue;
        sockaddr_in from{};
        socklen_t len = sizeof from;
        ssize_t got = ::recvfrom(fds[k].fd, buf, sizeof buf, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &len);
        if (got < 0) continue;
        RelayedDatagram d;
        d.bytes.assign(buf, static_cast<size_t>(got));
        if (k == 1) {  // a request (or anything else) to the listening port
          Peer& p = peer_for(from);
          d.to_server = true;
          d.server_port = server_port_;
          forward(Route{p.upstream, loopback_address(server_port_)}, std::move(d), faults_.spare_requests);
          break;  // peers_ may have grown: poll again
        }
        auto [index, tid] = what[k];
        Peer& p = peers_[index];
        if (tid == 0) {  // from the server, to this client
          uint16_t server_tid = ntohs(from.sin_port);
          auto f = p.facing.find(server_tid);
          if (f == p.facing.end()) {
            int fd = bound_socket(nullptr);
            all_fds_.push_back(fd);
            f = p.facing.emplace(server_tid, fd).first;
          }
          d.to_server = false;
          d.server_port = server_tid;
          forward(Route{f->second, p.client}, std::move(d), faults_.only_requests);
          break;  // facing sockets may have grown: poll again
        }
        d.to_server = true;  // from the client, to this server TID
        d.server_port = tid;
        forward(Route{p.upstream, loopback_address(tid)}, std::move(d), faults_.only_requests);
      }
    }
  }

  uint16_t server_port_;
  RelayFaults faults_;
  std::mt19937_64 random_;  // relay thread only
  int listen_ = -1;
  uint16_t port_ = 0;
  int wake_[2] = {-1, -1};
  std::atomic<bool> stop_{false};
  // Relay thread only:
  std::vector<Peer> peers_;
  std::vector<int> all_fds_;
  std::map<int, Held> held_;
  // Guarded by mutex_:
  mutable std::mutex mutex_;
  std::vector<RelayedDatagram> captured_;
  Counts counts_;
  std::function<void(const RelayedDatagram&)> hook_;
  std::thread thread_;
};

}  // namespace ringkit::testing
