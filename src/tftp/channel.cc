#include "tftp/channel.h"

#include <algorithm>
#include <array>
#include <string>

namespace ringkit::tftp {

using std::chrono::nanoseconds;

namespace {

// The end of the run that starts at d[first]: datagrams back to back in memory, each of the
// first one's size except the last (which may be shorter), within one segmented send's limits.
size_t run_end(std::span<const std::span<const std::byte>> d, size_t first) {
  const size_t segment = d[first].size();
  size_t bytes = segment;
  size_t i = first + 1;
  while (i < d.size() && i - first < net::kMaxSegments) {
    const auto& prev = d[i - 1];
    if (prev.size() != segment) break;  // only a run's last datagram may be shorter
    if (d[i].data() != prev.data() + prev.size() || d[i].size() > segment) break;
    if (bytes + d[i].size() > net::kMaxSegmentedBytes) break;
    bytes += d[i].size();
    ++i;
  }
  return i;
}

// Errors that say this route (or kernel) cannot take segmented sends, as opposed to errors
// that one-by-one sends would meet too.
bool segmentation_refused(const std::error_code& e) {
  return e == std::errc::io_error || e == std::errc::invalid_argument ||
         e == std::errc::no_protocol_option || e == std::errc::operation_not_supported ||
         e == std::errc::message_size;
}

}  // namespace

ChannelOptions ChannelOptions::receiving_data(size_t blksize, size_t windowsize) {
  ChannelOptions o;
  const size_t packet = blksize + kDataHeaderSize;
  o.max_datagram = packet;
  o.receive_buffers = static_cast<uint32_t>(std::clamp<size_t>(windowsize, 1, 16));
  o.multishot = windowsize > 1;
  if (windowsize > 1) {
    o.coalesce_bytes = static_cast<uint32_t>(std::min<size_t>(2 * windowsize * packet, 65535));
    // A window comes in one or two coalesced runs from a sender that segments; one that does
    // not fills a buffer a datagram, and the receive pauses (datagrams wait in the socket)
    // whenever all four are taken, until the transfer frees one.
    o.receive_buffers = std::min<uint32_t>(o.receive_buffers, 4);
  }
  return o;
}

Channel::Channel(net::SocketFd sock, const net::Address& peer, const ChannelOptions& options)
    : fd_(sock.fd), peer_(peer), options_(options), learn_port_(options.learn_peer_port) {
  if (options.impairment.active()) {
    rng_ = std::make_unique<std::mt19937_64>(options.impairment.seed);
  }
}

bool Channel::roll(double probability) {
  if (probability <= 0 || !rng_) return false;
  return std::uniform_real_distribution<double>(0.0, 1.0)(*rng_) < probability;
}

ChannelStats Channel::stats() const {
  ChannelStats s = stats_;
  if (rx_) {
    s.receives = rx_->stats().datagrams;
    s.timer_arms = rx_->stats().timer_arms;
  }
  return s;
}

Task<Result<void>> Channel::send_raw(std::span<const std::byte> datagram) {
  auto sent = co_await net::send_to(fd_, datagram, peer_);
  if (!sent) co_return sent.error();
  ++stats_.send_calls;
  ++stats_.packets_sent;
  stats_.bytes_sent += datagram.size();
  co_return Result<void>{};
}

// Not a coroutine itself: a lockstep transfer sends a packet per block, and each coroutine
// frame on the way is a malloc and a free (the send_* functions below do the same).
Task<Result<void>> Channel::send(std::span<const std::byte> datagram) {
  if (!options_.impairment.active()) return send_raw(datagram);
  return send_impaired(datagram);
}

Task<Result<void>> Channel::send_impaired(std::span<const std::byte> datagram) {
  const Impairment& impairment = options_.impairment;
  if (roll(impairment.loss)) {
    ++stats_.impaired;
    co_return Result<void>{};
  }
  if (held_.empty() && roll(impairment.reorder)) {
    ++stats_.impaired;
    held_.assign(datagram.begin(), datagram.end());
    co_return Result<void>{};
  }
  auto r = co_await send_raw(datagram);
  if (!r) co_return r;
  if (roll(impairment.duplicate)) {
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

Task<Result<void>> Channel::send_run(std::span<const std::span<const std::byte>> run) {
  size_t bytes = 0;
  for (auto d : run) bytes += d.size();
  std::span<const std::byte> all(run.front().data(), bytes);
  auto sent = co_await net::send_segments(fd_, all, static_cast<uint16_t>(run.front().size()),
                                          peer_);
  if (sent) {
    ++stats_.send_calls;
    stats_.packets_sent += run.size();
    stats_.bytes_sent += bytes;
    co_return Result<void>{};
  }
  if (!segmentation_refused(sent.error())) co_return sent.error();
  segments_ok_ = false;  // this route cannot: one by one from now on
  for (auto d : run) {
    auto r = co_await send_raw(d);
    if (!r) co_return r;
  }
  co_return Result<void>{};
}

Task<Result<void>> Channel::send_all(std::span<const std::span<const std::byte>> datagrams) {
  if (datagrams.size() == 1) return send(datagrams.front());
  return send_several(datagrams);
}

// One run after the other: sends in flight together may leave in any order (the threads
// backend's pool threads race), and a windowed receiver takes a block that came early for a
// lost one before it.
Task<Result<void>> Channel::send_several(std::span<const std::span<const std::byte>> datagrams) {
  for (size_t i = 0; i < datagrams.size();) {
    size_t end = segments_ok_ && !options_.impairment.active() ? run_end(datagrams, i) : i + 1;
    Result<void> sent;
    if (end - i >= 2) {
      sent = co_await send_run(datagrams.subspan(i, end - i));
    } else {
      sent = co_await send(datagrams[i]);
    }
    if (!sent) co_return sent;
    i = end;
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
  co_return co_await receive_until(Clock::now() + timeout, std::move(stop));
}

Task<Result<Packet>> Channel::receive_until(Clock::time_point deadline, std::stop_token stop) {
  if (!held_.empty()) {  // a held-back datagram is not lost: it goes out before we wait
    std::vector<std::byte> late = std::move(held_);
    held_.clear();
    (void)co_await send_raw(late);
  }
  if (!rx_) {
    net::ReceiverOptions o;
    o.buffers = options_.receive_buffers;
    o.payload_size = static_cast<uint32_t>(options_.max_datagram);
    o.coalesce_bytes = options_.coalesce_bytes;
    o.allow_multishot = options_.multishot;
    rx_ = std::make_unique<net::MultishotReceiver>(fd_, o);
  }
  for (;;) {
    auto d = co_await rx_->next_until(deadline, stop);
    if (!d) {
      // ICMP errors (e.g. port unreachable after the peer went away) surface here; a
      // connection-refused from a peer that is gone ends the transfer like a timeout would.
      co_return d.error();
    }
    bool from_peer = d->from == peer_;
    bool learns_port = false;
    if (!from_peer && learn_port_) {
      net::Address same_host = d->from;
      same_host.set_port(peer_.port());
      learns_port = same_host == peer_;
    }
    if (!from_peer && !learns_port) {
      co_await answer_wrong_tid(d->from);
      continue;
    }
    // Before the port is learned: a datagram impairment drops must be as lost as one the
    // network dropped, or a client would send its retried request to the port of an answer
    // it never saw.
    if (options_.impairment.loss > 0 && roll(options_.impairment.loss)) {
      ++stats_.impaired;
      continue;
    }
    if (learns_port) {
      peer_ = d->from;
      learn_port_ = false;
    }
    if (d->truncated) {
      ++stats_.malformed;
      continue;
    }
    auto packet = parse_packet(d->data);
    if (!packet) {
      ++stats_.malformed;
      continue;
    }
    ++stats_.packets_received;
    co_return std::move(*packet);
  }
}

Task<void> Channel::close() {
  if (rx_) co_await rx_->stop();
}

}  // namespace ringkit::tftp
