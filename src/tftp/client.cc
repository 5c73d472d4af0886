#include "tftp/client.h"

#include <algorithm>
#include <array>
#include <vector>

#include "tftp/errors.h"
#include "tftp/packet.h"

namespace ringkit::tftp {

using std::chrono::nanoseconds;
using Clock = std::chrono::steady_clock;

namespace {

void add_stats(TransferStats& into, const TransferStats& more) {
  into.bytes += more.bytes;
  into.blocks += more.blocks;
  into.retransmits += more.retransmits;
  into.timeouts += more.timeouts;
  into.duplicates += more.duplicates;
  into.spurious_timeouts += more.spurious_timeouts;
}

// A UDP socket of the server's family on an ephemeral port: this end's TID. Large windows get
// a receive buffer that holds one (a burst beyond the buffer is dropped by the kernel).
Result<net::Socket> client_socket(const ClientRequest& request) {
  net::UdpOptions options;
  uint64_t window_bytes = uint64_t{request.options.blksize.value_or(kDefaultBlockSize)} *
                          request.options.windowsize.value_or(1);
  if (window_bytes > 64 * 1024) {
    options.recv_buffer = static_cast<int>(std::min<uint64_t>(2 * window_bytes, 8u << 20));
  }
  auto local = request.server.is_v6() ? net::Address::ipv6_any() : net::Address::ipv4_any();
  return net::bind_udp(local, options);
}

// How the client's channel receives: a get sizes it for the DATA it asked for (the server may
// grant less, never more); a put receives only ACKs, OACKs and ERRORs.
ChannelOptions channel_options(const ClientRequest& req, Opcode opcode) {
  ChannelOptions o;
  if (opcode == Opcode::kRrq) {
    size_t largest = std::max<size_t>(req.options.blksize.value_or(0), kDefaultBlockSize);
    o = ChannelOptions::receiving_data(largest, req.options.windowsize.value_or(1));
  }
  o.learn_peer_port = true;
  o.impairment = req.impairment;
  return o;
}

// Whether `packet` may be the server's answer to a request of `opcode`.
bool is_answer(const Packet& packet, Opcode opcode) {
  if (std::holds_alternative<Error>(packet) || std::holds_alternative<Oack>(packet)) return true;
  if (opcode == Opcode::kRrq) {
    const auto* data = std::get_if<Data>(&packet);
    return data != nullptr && data->block == 1;
  }
  const auto* ack = std::get_if<Ack>(&packet);
  return ack != nullptr && ack->block == 0;
}

// Sends the request until the server answers it (see is_answer). The Packet borrows the
// channel's receive buffer.
Task<Result<Packet>> exchange_request(Channel& channel, std::span<const std::byte> request,
                                      Opcode opcode, const RetransmitPolicy& policy,
                                      TransferStats& stats, std::stop_token stop) {
  RetransmitTimer rto(policy);
  auto sent = co_await channel.send(request);
  if (!sent) co_return sent.error();
  auto deadline = Clock::now() + rto.timeout();
  for (;;) {
    auto packet = co_await channel.receive_until(deadline, stop);
    if (!packet) {
      if (!packet.timed_out()) co_return packet.error();
      ++stats.timeouts;
      rto.on_timeout();
      if (rto.exhausted()) co_return packet.error();
      sent = co_await channel.send(request);
      if (!sent) co_return sent.error();
      ++stats.retransmits;
      deadline = Clock::now() + rto.timeout();
      continue;
    }
    if (is_answer(*packet, opcode)) co_return std::move(*packet);
    ++stats.duplicates;
  }
}

// Classifies a failed transfer and fills `out`.
void record_failure(ClientResult& out, std::error_code error, const PeerError& peer,
                    bool local_failed) {
  out.error = error;
  if (error == make_error_code(Errc::kPeerError)) {
    out.failure = FailureKind::kServer;
    out.server_error = peer;
  } else if (local_failed) {
    out.failure = FailureKind::kLocal;
  } else if (error == std::errc::operation_canceled) {
    out.failure = FailureKind::kCancelled;
  } else {
    out.failure = FailureKind::kNetwork;
  }
}

struct Handshake {
  Negotiated negotiated;
  bool oack = false;
  std::optional<Data> first_block;  // get, answered with DATA 1
};

// Sends the request and reads the server's answer into `hs`. On failure fills `out` and
// returns false (an unacceptable OACK is answered with ERROR 8 first).
Task<bool> handshake(Channel& channel, const ClientRequest& req, Opcode opcode, ClientResult& out,
                     Handshake& hs, std::stop_token stop) {
  std::vector<std::byte> request(req.filename.size() + 256);
  auto n = build_request(request, opcode, req.filename, req.mode, req.options);
  if (!n) {
    out.error = n.error();
    out.failure = FailureKind::kLocal;  // a request we cannot build: the caller's arguments
    co_return false;
  }
  auto answer = co_await exchange_request(channel, std::span(request).first(*n), opcode,
                                          req.policy, out.stats, stop);
  if (!answer) {
    record_failure(out, answer.error(), {}, false);
    co_return false;
  }
  if (const auto* e = std::get_if<Error>(&*answer)) {
    record_failure(out, make_error_code(Errc::kPeerError),
                   PeerError{e->code, std::string(e->message)}, false);
    co_return false;
  }
  if (const auto* oack = std::get_if<Oack>(&*answer)) {
    auto accepted = accept_oack(*oack, req.options, opcode);
    if (!accepted) {
      co_await channel.send_error(wire_error(accepted.error()));
      record_failure(out, accepted.error(), {}, false);
      co_return false;
    }
    hs.negotiated = *accepted;
    hs.oack = true;
  } else if (const auto* data = std::get_if<Data>(&*answer)) {
    hs.first_block = *data;  // borrows the channel's buffer until its next receive
  }
  co_return true;
}

// The client's end of one transfer: its socket (its TID) and channel, and the server's answer
// to its request. REQUIRES before destruction: close_session().
struct Session {
  net::Socket sock;
  std::optional<Channel> channel;
  Handshake hs;
  Clock::time_point start = Clock::now();
};

// Opens the session's socket and channel and runs the handshake. False when the transfer
// cannot start; `out` then says why.
Task<bool> open_session(Session& s, const ClientRequest& req, Opcode opcode, ClientResult& out,
                        std::stop_token stop) {
  out.server_tid = req.server;
  auto sock = client_socket(req);
  if (!sock) {
    record_failure(out, sock.error(), {}, false);
    co_return false;
  }
  s.sock = std::move(*sock);
  s.channel.emplace(s.sock, req.server, channel_options(req, opcode));
  bool started = co_await handshake(*s.channel, req, opcode, out, s.hs, stop);
  out.channel = s.channel->stats();
  if (!started) {
    out.duration = Clock::now() - s.start;
    co_return false;
  }
  out.negotiated = s.hs.negotiated;
  out.oack = s.hs.oack;
  out.started = true;
  out.server_tid = s.channel->peer();
  if (req.on_start) req.on_start(out.negotiated, out.oack);
  co_return true;
}

Task<void> close_session(Session& s) {
  if (s.channel) co_await s.channel->close();
}

// Fills `out` from a transfer that ran, ending at `end`.
void finish_session(ClientResult& out, const Session& s, const TransferStats& transfer,
                    Clock::time_point end, const Result<void>& result, const PeerError& peer) {
  out.duration = end - s.start;
  out.bytes = transfer.bytes;
  add_stats(out.stats, transfer);
  out.channel = s.channel->stats();
  if (!result) record_failure(out, result.error(), peer, transfer.local_failure);
}

TransferParams params_for(const ClientRequest& req, const Negotiated& negotiated) {
  return TransferParams{.blksize = negotiated.blksize,
                        .windowsize = negotiated.windowsize,
                        .policy = req.policy.with_timeout_option(negotiated.timeout),
                        .on_progress = {}};
}

}  // namespace

std::string ClientResult::describe() const {
  if (!error) return "ok";
  if (server_error) {
    std::string text = server_error->message.empty()
                           ? std::string(standard_message(server_error->code))
                           : server_error->message;
    return text + " (server error " + std::to_string(static_cast<unsigned>(server_error->code)) +
           ")";
  }
  if (error == std::errc::timed_out) {
    return started ? "timed out: the server stopped answering during the transfer"
                   : "timed out: no answer to the request";
  }
  return error.message();
}

Task<ClientResult> get(const ClientRequest& req, BlockSink& sink, std::stop_token stop) {
  ClientResult out;
  Session session;
  bool started = co_await open_session(session, req, Opcode::kRrq, out, stop);
  if (!started) {
    co_await close_session(session);
    co_return out;
  }
  TransferParams params = params_for(req, session.hs.negotiated);
  const uint64_t blksize = params.blksize;
  std::optional<Clock::time_point> finished_at;
  params.on_progress = [&](const TransferStats& s) {
    // Every block but the last is full: a short one means the download is complete (the
    // dally after it is not part of its duration).
    if (!finished_at && s.bytes < s.blocks * blksize) finished_at = Clock::now();
    if (req.on_progress) req.on_progress(s);
  };
  std::array<std::byte, 4> ack0{};
  (void)build_ack(ack0, 0);
  std::span<const std::byte> opening;
  if (session.hs.oack) opening = ack0;

  TransferStats transfer;
  PeerError peer;
  auto received = co_await receive_blocks(*session.channel, sink, params, opening,
                                          session.hs.first_block, req.dally, transfer, &peer, stop);
  auto end = finished_at.value_or(Clock::now());
  co_await close_session(session);
  finish_session(out, session, transfer, end, received, peer);
  co_return out;
}

Task<ClientResult> put(const ClientRequest& req, const SourceFactory& make_source,
                       BufferPool& pool, std::stop_token stop) {
  ClientResult out;
  Session session;
  bool started = co_await open_session(session, req, Opcode::kWrq, out, stop);
  if (!started) {
    co_await close_session(session);
    co_return out;
  }
  std::unique_ptr<BlockSource> source = make_source(session.hs.negotiated.blksize);
  TransferParams params = params_for(req, session.hs.negotiated);
  params.on_progress = req.on_progress;
  TransferStats transfer;
  PeerError peer;
  auto sent = co_await send_blocks(*session.channel, *source, pool, params, {}, transfer, &peer,
                                   stop);
  auto end = Clock::now();
  co_await close_session(session);
  finish_session(out, session, transfer, end, sent, peer);
  co_return out;
}

}  // namespace ringkit::tftp
