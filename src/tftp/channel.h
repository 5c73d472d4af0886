// Channel: one TFTP transfer's datagrams — the socket that is this end's transfer ID (TID),
// the peer's address, and the rules that RFC 1350 puts on who may talk to a transfer.
//
// receive() returns the next well-formed packet from the peer. A datagram from any other
// address is answered with ERROR 5 ("Unknown transfer ID") and otherwise ignored, so a stray or
// hostile sender cannot disturb the transfer; a malformed datagram from the peer (or one longer
// than ChannelOptions::max_datagram) is counted and ignored (the transfer goes on; if the peer
// is really broken, its retries run out). The wait is a deadline: skipped datagrams do not
// extend it.
//
// Receiving goes through one net::MultishotReceiver, armed by the first receive() and kept
// until close(): the deadlines of successive receives share one timer (no timeout operation
// per datagram), and a receiver of DATA windows keeps one multishot receive armed (no receive
// submitted per datagram) and takes a run of blocks the peer sent in one call as one receive
// (ChannelOptions::coalesce_bytes, UDP GRO), and send_all()
// sends the blocks of a window laid out back to back in one call per run (UDP GSO), so a
// window costs a few system calls on each side instead of one per block. On the wire nothing
// changes: every block is its own datagram.
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
// Thread affinity: the executor thread it is used on. Lifetimes: the socket outlives the
// channel; a Packet from receive() borrows the receiver's buffer until the next receive() or
// close(). REQUIRES before destruction: close() awaited, if receive() was ever called.
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
  uint64_t malformed = 0;         // unparsable (or over-long) datagrams from the peer
  uint64_t impaired = 0;          // datagrams dropped, duplicated or reordered on purpose
  uint64_t send_calls = 0;        // sends submitted: one per datagram, or per segmented run
  uint64_t receives = 0;          // receives the kernel completed (a coalesced run counts once)
  uint64_t timer_arms = 0;        // timers submitted for receive deadlines
};

struct ChannelOptions {
  // The longest datagram expected. A longer one arrives cut and counts as malformed.
  // 1024 holds ACKs, OACKs and ERRORs; a receiver of DATA wants blksize + 4.
  size_t max_datagram = 1024;
  // Datagrams the kernel may deliver ahead of the transfer. When all are taken, further ones
  // wait in the socket buffer (nothing is lost) until one is free.
  uint32_t receive_buffers = 2;
  // Nonzero: take a run of equal datagrams sent in one call in one receive of up to this many
  // bytes (net::ReceiverOptions::coalesce_bytes). For receivers of DATA windows.
  uint32_t coalesce_bytes = 0;
  // Receive through one multishot receive and a buffer ring of its own (datagrams are handed
  // over as they come, with no operation per datagram) rather than one receive re-armed per
  // datagram. Pays off when datagrams come in bursts (a window of DATA); for one datagram per
  // wait (ACKs, lockstep DATA) the ring's upkeep costs more than the re-arm it saves. See
  // docs/tftp-protocol.md, "How a transfer uses the engine".
  bool multishot = false;
  // A client before the server answered: the first datagram from the peer's host fixes its port.
  bool learn_peer_port = false;
  Impairment impairment;

  // What an end that receives DATA of `blksize` in windows of `windowsize` wants: with windows,
  // a multishot receive with coalesced receives as long as two windows (a go-back can put the
  // tail of one and the start of the next together), at most 64 KiB, in 4 buffers; in
  // lockstep, one receive at a time. (Without coalescing, a window gets up to 16 buffers.)
  static ChannelOptions receiving_data(size_t blksize, size_t windowsize);
};

class Channel {
 public:
  using Clock = std::chrono::steady_clock;

  // REQUIRES: `peer` is not empty.
  Channel(net::SocketFd sock, const net::Address& peer, const ChannelOptions& options = {});

  // Sends one datagram to the peer.
  Task<Result<void>> send(std::span<const std::byte> datagram);
  // Sends several datagrams, in order: one call after the other, never several in flight.
  // Datagrams that lie back to back in memory with one size (the last of a run may be
  // shorter) go out as one segmented send per run (at most net::kMaxSegments datagrams,
  // net::kMaxSegmentedBytes bytes), unless the route refused one before: then, and with an
  // impairment, one by one.
  Task<Result<void>> send_all(std::span<const std::span<const std::byte>> datagrams);
  // Sends ERROR `code` with `message` (standard_message(code) when empty). Best effort.
  Task<void> send_error(ErrorCode code, std::string_view message = {});

  // The next packet from the peer, waiting until `deadline`: timed_out() when none came,
  // cancelled() when `stop` was requested, a socket error otherwise.
  Task<Result<Packet>> receive_until(Clock::time_point deadline, std::stop_token stop = {});
  // The same, waiting at most `timeout` from now.
  Task<Result<Packet>> receive(std::chrono::nanoseconds timeout, std::stop_token stop = {});
  // Ends receiving (the kernel lets go of the buffers). REQUIRES: no receive() in progress.
  Task<void> close();

  const net::Address& peer() const { return peer_; }
  bool peer_known() const { return !learn_port_; }
  // Counters, including the receiver's.
  ChannelStats stats() const;

 private:
  bool roll(double probability);
  Task<Result<void>> send_raw(std::span<const std::byte> datagram);
  Task<Result<void>> send_impaired(std::span<const std::byte> datagram);
  Task<Result<void>> send_several(std::span<const std::span<const std::byte>> datagrams);
  Task<Result<void>> send_run(std::span<const std::span<const std::byte>> run);
  Task<void> answer_wrong_tid(net::Address from);

  int fd_;
  net::Address peer_;
  ChannelOptions options_;
  bool learn_port_;
  bool segments_ok_ = true;  // the route took segmented sends (or none was tried yet)
  std::unique_ptr<net::MultishotReceiver> rx_;  // created by the first receive
  std::unique_ptr<std::mt19937_64> rng_;  // only with an active impairment (2.5 KB of state)
  std::vector<std::byte> held_;  // a datagram held back by reordering
  ChannelStats stats_;
};

}  // namespace ringkit::tftp
