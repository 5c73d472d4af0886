#include "tftp/channel.h"

#include <array>
#include <string>

#include "ringkit/when_all.h"

namespace ringkit::tftp {

using std::chrono::nanoseconds;
using Clock = std::chrono::steady_clock;

Channel::Channel(net::SocketFd sock, const net::Address& peer, std::span<std::byte> rx_buffer,
                 bool learn_peer_port, const Impairment& impairment)
    : fd_(sock.fd),
      peer_(peer),
      rx_(rx_buffer),
      learn_port_(learn_peer_port),
      impairment_(impairment) {
  if (impairment.active()) rng_ = std::make_unique<std::mt19937_64>(impairment.seed);
}

bool Channel::roll(double probability) {
  if (probability <= 0 || !rng_) return false;
  return std::uniform_real_distribution<double>(0.0, 1.0)(*rng_) < probability;
}

Task<Result<void>> Channel::send_raw(std::span<const std::byte> datagram) {
  auto sent = co_await net::send_to(fd_, datagram, peer_);
  if (!sent) co_return sent.error();
  ++stats_.packets_sent;
  stats_.bytes_sent += datagram.size();
  co_return Result<void>{};
}

Task<Result<void>> Channel::send(std::span<const std::byte> datagram) {
  if (!impairment_.active()) co_return co_await send_raw(datagram);
  if (roll(impairment_.loss)) {
    ++stats_.impaired;
    co_return Result<void>{};
  }
  if (held_.empty() && roll(impairment_.reorder)) {
    ++stats_.impaired;
    held_.assign(datagram.begin(), datagram.end());
    co_return Result<void>{};
  }
  auto r = co_await send_raw(datagram);
  if (!r) co_return r;
  if (roll(impairment_.duplicate)) {
    ++stats_.impaired;
    r = co_await send_raw(datagram);
    if (!r) co_return r;
  }
  if (!held_.empty()) {
    std::vector<std::byte> late = std::move(held_);
    held_.clear();
    r = co_await send_raw(late);
  }
  co_return r;
}

Task<Result<void>> Channel::send_all(std::span<const std::span<const std::byte>> datagrams) {
  if (datagrams.size() == 1 || impairment_.active()) {
    for (auto d : datagrams) {
      auto r = co_await send(d);
      if (!r) co_return r;
    }
    co_return Result<void>{};
  }
  std::vector<Task<Result<void>>> sends;
  sends.reserve(datagrams.size());
  for (auto d : datagrams) sends.push_back(send_raw(d));
  auto results = co_await when_all(std::move(sends));
  for (auto& r : results) {
    if (!r) co_return r;
  }
  co_return Result<void>{};
}

Task<void> Channel::send_error(ErrorCode code, std::string_view message) {
  std::array<std::byte, 600> buf;
  std::string text(message.empty() ? standard_message(code) : message);
  if (text.size() > 500) text.resize(500);  // an ERROR fits any peer's 512-byte buffer
  auto n = build_error(buf, code, text);
  if (!n) n = build_error(buf, code);
  if (!n) co_return;
  (void)co_await send_raw(std::span(buf).first(*n));
}

Task<void> Channel::answer_wrong_tid(net::Address from) {
  ++stats_.wrong_tid;
  std::array<std::byte, 64> buf;
  auto n = build_error(buf, ErrorCode::kUnknownTransferId);
  if (n) (void)co_await net::send_to(fd_, std::span(buf).first(*n), from);
}

Task<Result<Packet>> Channel::receive(nanoseconds timeout, std::stop_token stop) {
  if (!held_.empty()) {  // a held-back datagram is not lost: it goes out before we wait
    std::vector<std::byte> late = std::move(held_);
    held_.clear();
    (void)co_await send_raw(late);
  }
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    nanoseconds left = deadline - Clock::now();
    if (left <= nanoseconds(0)) co_return std::make_error_code(std::errc::timed_out);
    net::Address from;
    auto n = co_await net::recv_from(fd_, rx_, &from, left, stop);
    if (!n) {
      // ICMP errors (e.g. port unreachable after the peer went away) surface here; a
      // connection-refused from a peer that is gone ends the transfer like a timeout would.
      co_return n.error();
    }
    bool from_peer = from == peer_;
    bool learns_port = false;
    if (!from_peer && learn_port_) {
      net::Address same_host = from;
      same_host.set_port(peer_.port());
      learns_port = same_host == peer_;
    }
    if (!from_peer && !learns_port) {
      co_await answer_wrong_tid(from);
      continue;
    }
    // Before the port is learned: a datagram impairment drops must be as lost as one the
    // network dropped, or a client would send its retried request to the port of an answer
    // it never saw.
    if (impairment_.loss > 0 && roll(impairment_.loss)) {
      ++stats_.impaired;
      continue;
    }
    if (learns_port) {
      peer_ = from;
      learn_port_ = false;
    }
    auto packet = parse_packet(std::span<const std::byte>(rx_.data(), *n));
    if (!packet) {
      ++stats_.malformed;
      continue;
    }
    ++stats_.packets_received;
    co_return std::move(*packet);
  }
}

}  // namespace ringkit::tftp
