// Channel: one TFTP transfer's datagrams — the socket that is this end's transfer ID (TID),
// the peer's address, and the rules that RFC 1350 puts on who may talk to a transfer.
//
// receive() returns the next well-formed packet from the peer. A datagram from any other
// address is answered with ERROR 5 ("Unknown transfer ID") and otherwise ignored, so a stray or
// hostile sender cannot disturb the transfer; a malformed datagram from the peer is counted and
// ignored (the transfer goes on; if the peer is really broken, its retries run out). The wait
// is a deadline: skipped datagrams do not extend it.
//
// A client does not know the server's TID when it sends its request: it creates the channel
// with learn_peer_port and the first datagram from the server's host fixes the peer's port
// (RFC 1350 §4).
//
// Impairment injects seeded loss, duplication and reordering into this end's traffic, for
// tests and `ringtftp bench`: sends may be dropped, sent twice, or held back and sent after the
// next one; receives may be dropped. It never applies to ERROR packets, so a refused transfer
// still ends promptly.
//
// Thread affinity: the executor thread it is used on. Lifetimes: the socket and `rx_buffer`
// outlive the channel; a Packet from receive() borrows `rx_buffer` until the next receive().
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <stop_token>
#include <vector>

#include "ringkit/net.h"
#include "ringkit/result.h"
#include "ringkit/task.h"
#include "tftp/errors.h"
#include "tftp/packet.h"

namespace ringkit::tftp {

struct Impairment {
  double loss = 0;       // probability that a datagram (sent or received) is dropped
  double duplicate = 0;  // probability that a sent datagram goes out twice
  double reorder = 0;    // probability that a sent datagram is held back behind the next one
  uint64_t seed = 1;

  bool active() const { return loss > 0 || duplicate > 0 || reorder > 0; }
};

struct ChannelStats {
  uint64_t packets_sent = 0;
  uint64_t packets_received = 0;  // well-formed, from the peer
  uint64_t bytes_sent = 0;
  uint64_t wrong_tid = 0;         // datagrams from other addresses (each answered with ERROR 5)
  uint64_t malformed = 0;         // unparsable datagrams from the peer
  uint64_t impaired = 0;          // datagrams dropped, duplicated or reordered on purpose
};

class Channel {
 public:
  // REQUIRES: `peer` is not empty; rx_buffer holds the largest packet expected plus one byte.
  Channel(net::SocketFd sock, const net::Address& peer, std::span<std::byte> rx_buffer,
          bool learn_peer_port = false, const Impairment& impairment = {});

  // Sends one datagram to the peer.
  Task<Result<void>> send(std::span<const std::byte> datagram);
  // Sends several datagrams, all submitted at once (one ring submission on io_uring).
  Task<Result<void>> send_all(std::span<const std::span<const std::byte>> datagrams);
  // Sends ERROR `code` with `message` (standard_message(code) when empty). Best effort.
  Task<void> send_error(ErrorCode code, std::string_view message = {});

  // The next packet from the peer, waiting at most `timeout`: timed_out() when none came,
  // cancelled() when `stop` was requested, a socket error otherwise.
  Task<Result<Packet>> receive(std::chrono::nanoseconds timeout, std::stop_token stop = {});

  const net::Address& peer() const { return peer_; }
  bool peer_known() const { return !learn_port_; }
  const ChannelStats& stats() const { return stats_; }

 private:
  bool roll(double probability);
  Task<Result<void>> send_raw(std::span<const std::byte> datagram);
  Task<void> answer_wrong_tid(net::Address from);

  int fd_;
  net::Address peer_;
  std::span<std::byte> rx_;
  bool learn_port_;
  Impairment impairment_;
  std::unique_ptr<std::mt19937_64> rng_;  // only with an active impairment (2.5 KB of state)
  std::vector<std::byte> held_;  // a datagram held back by reordering
  ChannelStats stats_;
};

}  // namespace ringkit::tftp
