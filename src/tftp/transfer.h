// The two halves of a TFTP transfer after its request: sending DATA blocks and acknowledging
// them, with RFC 7440 windows, block-number rollover, adaptive retransmission and the
// Sorcerer's Apprentice rule. Server and client use the same code: a server's RRQ and a
// client's put send; a server's WRQ and a client's get receive.
//
// Sender (send_blocks): sends up to `windowsize` blocks past the last acknowledged one, then
// waits. An ACK for block k acknowledges every block up to k; if k is short of the last block
// sent, the receiver saw a gap and the sender goes back to k + 1 (RFC 7440 §4). A duplicate of
// the last ACK never causes a retransmission when windowsize is 1 (RFC 1350's Sorcerer's
// Apprentice bug); with larger windows it is the receiver's report of a lost first block and
// causes at most one go-back per acknowledged block. Timeouts resend the window from the
// first unacknowledged block and back off. The transfer ends when the last block (the first
// one shorter than blksize) is acknowledged.
//
// Receiver (receive_blocks): acknowledges every `windowsize` blocks in order and the last
// block; a block out of order (a gap) or a repeat is answered once with an ACK of the last
// block received in order, and the silence of the sender (the timer) with the same ACK. After
// the last ACK it dallies: if the sender repeats the last block (the ACK was lost), it ACKs
// again.
//
// Both report TransferStats. Memory: the sender borrows packet buffers from a per-executor
// BufferPool only while a window is being sent; the receiver's packet buffer is the caller's.
//
// Thread affinity: the executor thread that owns the channel.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <stop_token>

#include "ringkit/buffer_pool.h"
#include "ringkit/result.h"
#include "ringkit/task.h"
#include "tftp/block_io.h"
#include "tftp/channel.h"
#include "tftp/retransmit.h"

namespace ringkit::tftp {

struct TransferStats {
  uint64_t bytes = 0;          // payload bytes acknowledged (sender) or received in order
  uint64_t blocks = 0;         // DATA blocks acknowledged / received in order
  uint64_t retransmits = 0;    // packets sent again (DATA, ACK, OACK)
  uint64_t timeouts = 0;       // waits that ran out
  uint64_t duplicates = 0;     // DATA or ACK packets received again or out of order
  uint64_t spurious_timeouts = 0;  // sender, lockstep: timeouts whose repeat proved needless
  bool local_failure = false;  // the transfer ended because the source's read or the sink failed
};

struct TransferParams {
  uint16_t blksize = 512;
  uint16_t windowsize = 1;
  RetransmitPolicy policy;
  // Called after each acknowledged window (sender) or block written (receiver), on the
  // executor thread. May be empty.
  std::function<void(const TransferStats&)> on_progress;
};

// Why a transfer ended badly, beyond its error code: the peer's ERROR, if it sent one.
struct PeerError {
  ErrorCode code = ErrorCode::kNotDefined;
  std::string message;
};

// Sends the blocks of `source` to the channel's peer. With a non-empty `oack`, first sends
// that OACK and waits for ACK 0 (the server's side of an RRQ with options).
// Errors: the source's; timed_out() when the retries ran out; Errc::kPeerError with *peer
// filled when the peer sent ERROR; cancelled() on stop (an ERROR is sent to the peer).
// REQUIRES: pool's buffers hold at least one packet of blksize + 4 bytes.
Task<Result<void>> send_blocks(Channel& channel, BlockSource& source, BufferPool& pool,
                               const TransferParams& params, std::span<const std::byte> oack,
                               TransferStats& stats, PeerError* peer, std::stop_token stop = {});

// Receives blocks into `sink` until the last one. `opening` is the packet that asks for block
// 1 (ACK 0 or an OACK; resent when DATA 1 does not come); it is sent first unless
// `first_block` is given, which is block 1 already received (a client's RRQ answered with
// DATA). `rx` holds blksize + 5 bytes and backs the channel (first_block may point into it: it
// is consumed before the next receive). `dally` is how long to linger after the final ACK
// for a repeat of the last block. Errors as send_blocks, plus the sink's (the peer is sent the
// matching ERROR).
Task<Result<void>> receive_blocks(Channel& channel, BlockSink& sink, const TransferParams& params,
                                  std::span<const std::byte> opening,
                                  std::optional<Data> first_block,
                                  std::chrono::nanoseconds dally, TransferStats& stats,
                                  PeerError* peer, std::stop_token stop = {});

}  // namespace ringkit::tftp
