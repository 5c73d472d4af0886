// The client's side of a TFTP transfer: the request (RRQ or WRQ), the server's first answer,
// and then the windowed transfer of transfer.h. Used by `ringtftp get/put` and by the load
// generator (bench.h).
//
// get(): sends an RRQ with the options asked for, from a fresh socket of the server's family,
// and resends it when nothing comes back in time (RetransmitPolicy, backing off). The first
// datagram from the server's host fixes the server's transfer ID (Channel::learn_peer_port);
// datagrams from any other port then get ERROR 5. The answer decides how the transfer runs:
//   OACK    checked by accept_oack(); a bad one is answered with ERROR 8 and fails with its
//           Errc; a good one is acknowledged with ACK 0 and receive_blocks() runs with the
//           negotiated blksize/windowsize/timeout;
//   DATA 1  the server ignored the options: RFC 1350 defaults, DATA 1 is the first block;
//   ERROR   fails with Errc::kPeerError and the server's code and message.
// put(): the same with a WRQ; ACK 0 or an OACK starts send_blocks().
//
// Anything else before the transfer starts (an ACK to an RRQ, DATA to a WRQ, DATA with a
// block other than 1) is counted and ignored: the request goes on being retried until a
// proper answer or the retries run out. tftpd-hpa and atftpd never send such packets; a
// stray one must not end a transfer a retry could still save.
//
// Thread affinity: the coroutines run on the calling executor's thread; the sink, source and
// pool belong to that thread. Lifetimes: `request`, the sink/source factory and the pool
// outlive the awaited call.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <system_error>

#include "ringkit/buffer_pool.h"
#include "ringkit/net.h"
#include "ringkit/task.h"
#include "tftp/block_io.h"
#include "tftp/channel.h"
#include "tftp/options.h"
#include "tftp/retransmit.h"
#include "tftp/transfer.h"

namespace ringkit::tftp {

struct ClientRequest {
  net::Address server;      // host and port of the server's request socket (usually 69)
  std::string filename;     // the remote name, sent as it is
  Mode mode = Mode::kOctet;
  ClientOptions options;    // what to ask for; all unset: a plain RFC 1350 request
  // Waits and retries for the request and, unless a timeout option is negotiated, the
  // transfer. The request is resent on the same schedule as a lost ACK.
  RetransmitPolicy policy;
  // Seeded loss/duplication/reordering on this client's side (tests and bench). Off.
  Impairment impairment;
  // get: how long to linger after the final ACK in case the server resends the last block
  // because that ACK was lost (RFC 1350 recommends it). 0: exit at once, like tftp-hpa's
  // client; the server then times out on a lost final ACK, but the download is complete.
  std::chrono::nanoseconds dally{0};
  // Called on the executor thread after each block (get) or window (put).
  std::function<void(const TransferStats&)> on_progress;
  // Called once the transfer's parameters are known (after the OACK, or the RFC 1350 answer).
  std::function<void(const Negotiated&, bool oack)> on_start;
};

// What the client could not do, by whose fault (the ringtftp exit codes follow it).
enum class FailureKind : uint8_t {
  kNone,
  kServer,    // the server sent ERROR (server_error says what)
  kNetwork,   // no answer (timed out), a socket error, or a server that broke the protocol
  kLocal,     // the local file: reading, writing, a full disk, a size limit
  kCancelled, // the stop token
};

struct ClientResult {
  std::error_code error;                 // empty on success
  FailureKind failure = FailureKind::kNone;
  std::optional<PeerError> server_error; // the server's ERROR, if it sent one
  // Transfer counters, including the request's: retransmits counts resent requests too,
  // timeouts every wait that ran out.
  TransferStats stats;
  ChannelStats channel;
  Negotiated negotiated;                 // what the transfer ran with
  bool oack = false;                     // the server answered with an OACK
  bool started = false;                  // the server answered the request (the transfer ran)
  uint64_t bytes = 0;                    // payload bytes moved (wire bytes: netascii encoded)
  std::chrono::nanoseconds duration{0};  // request sent .. last block acknowledged/written
  net::Address server_tid;               // the address the transfer ran with, once known

  bool ok() const { return !error; }
  // "File not found (server error 1)" / "timed out" ... for people.
  std::string describe() const;
};

// Downloads request.filename into `sink` (which decodes netascii itself when it should).
// The result's error is the first failure; when it is the sink's, failure is kLocal and the
// server was sent the matching ERROR.
Task<ClientResult> get(const ClientRequest& request, BlockSink& sink, std::stop_token stop = {});

// Uploads to request.filename what `make_source(blksize)` serves; blksize is the negotiated
// one. `pool` lends the packet buffers of each window. REQUIRES: pool buffers hold at least
// one packet of the largest blksize asked for plus 4 bytes.
using SourceFactory = std::function<std::unique_ptr<BlockSource>(size_t blksize)>;
Task<ClientResult> put(const ClientRequest& request, const SourceFactory& make_source,
                       BufferPool& pool, std::stop_token stop = {});

}  // namespace ringkit::tftp
