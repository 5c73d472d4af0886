#include "tftp/transfer.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <vector>

#include "ringkit/yield.h"
#include "tftp/block.h"
#include "tftp/errors.h"

namespace ringkit::tftp {

using std::chrono::nanoseconds;
using Clock = std::chrono::steady_clock;

namespace {

// Packets handled between two yields to the executor (see ringkit/yield.h): a transfer whose
// packets are always ready must not keep the worker from its other transfers.
constexpr uint32_t kPacketsPerTurn = 64;

// Leases one read of large blocks (one per lease) may take from the pool, if free.
constexpr size_t kLeasesPerRead = 8;

// The ERROR code and text a local failure is reported to the peer with.
ErrorCode error_for_peer(const std::error_code& error) {
  if (error.category() == tftp_category()) return wire_error(error);
  if (error == std::errc::no_space_on_device || error == std::errc::file_too_large ||
      error.value() == EDQUOT) {
    return ErrorCode::kDiskFull;
  }
  return ErrorCode::kNotDefined;
}

Result<void> fail_with_peer_error(const Error& e, PeerError* peer) {
  if (peer != nullptr) {
    peer->code = e.code;
    peer->message.assign(e.message);
  }
  return make_error_code(Errc::kPeerError);
}

// Ends a transfer on a local error: tells the peer (unless it is a timeout: the peer is gone
// or deaf, and tftpd-hpa also gives up silently) and returns the error.
Task<Result<void>> abandon(Channel& channel, std::error_code error) {
  if (error == std::errc::operation_canceled) {
    co_await channel.send_error(ErrorCode::kNotDefined, "transfer cancelled");
  } else if (error != std::errc::timed_out && error != std::errc::connection_refused) {
    ErrorCode code = error_for_peer(error);
    std::string text;
    if (code == ErrorCode::kNotDefined) text = error.message();
    co_await channel.send_error(code, text);
  }
  co_return error;
}

// The source's read or the sink failed: a local error, as the stats then say.
Task<Result<void>> abandon_locally(Channel& channel, std::error_code error, TransferStats& stats) {
  stats.local_failure = true;
  return abandon(channel, error);
}

// Not coroutines (no frame of their own per block): they return the Channel's send.
Task<Result<void>> send_ack(Channel& channel, std::array<std::byte, 4>& buf, uint64_t index) {
  (void)build_ack(buf, wire_block(index));
  return channel.send(buf);
}

// A wait that ended without a packet. A timeout is counted and backs the timer off, and the
// caller should send again and wait (true) unless the retries are spent; any other error (or
// spent retries) ends the transfer (false).
bool retry_after(const std::error_code& error, RetransmitTimer& rto, TransferStats& stats) {
  if (error != std::errc::timed_out) return false;
  ++stats.timeouts;
  rto.on_timeout();
  return !rto.exhausted();
}

// What asks the sender for block `expected`: the opening until block 1 came, then the ACK of
// the block before.
Task<Result<void>> ask_again(Channel& channel, std::span<const std::byte> opening,
                             std::array<std::byte, 4>& ack_buf, uint64_t expected) {
  if (expected == 1 && !opening.empty()) return channel.send(opening);
  return send_ack(channel, ack_buf, expected - 1);
}

}  // namespace

// ---- Sender ----

namespace {

// The OACK of an RRQ: sent until ACK 0 comes back.
Task<Result<void>> send_oack(Channel& channel, std::span<const std::byte> oack,
                             RetransmitTimer& rto, TransferStats& stats, PeerError* peer,
                             std::stop_token stop) {
  auto r = co_await channel.send(oack);
  if (!r) co_return r;
  auto sent_at = Clock::now();
  bool resent = false;
  auto deadline = sent_at + rto.timeout();
  for (;;) {
    auto packet = co_await channel.receive_until(deadline, stop);
    if (!packet) {
      if (!retry_after(packet.error(), rto, stats)) {
        co_return co_await abandon(channel, packet.error());
      }
      r = co_await channel.send(oack);
      if (!r) co_return r;
      ++stats.retransmits;
      resent = true;
      deadline = Clock::now() + rto.timeout();
      continue;
    }
    if (const auto* ack = std::get_if<Ack>(&*packet); ack != nullptr && ack->block == 0) {
      if (!resent) rto.on_sample(Clock::now() - sent_at);
      rto.on_progress();
      co_return Result<void>{};
    }
    if (const auto* e = std::get_if<Error>(&*packet)) co_return fail_with_peer_error(*e, peer);
    ++stats.duplicates;  // anything else before ACK 0 is ignored
  }
}

// In lockstep (windowsize 1) blocks are read kBytes at a time into packets of a staging
// buffer of the transfer's own, and each DATA is sent from there: one read per several blocks
// rather than one per block, so most ACKs are answered by a send alone, without a read (an
// engine round) between the ACK and the DATA it asks for, and without a copy. Windows read a
// whole window into leased packets at once and need none of this. Kept for blocks up to
// kBytes / 2.
class Staging {
 public:
  static constexpr size_t kBytes = 8 * 1024;

  Staging(size_t blksize, uint64_t window)
      : blksize_(blksize),
        packet_size_(blksize + kDataHeaderSize),
        capacity_(window == 1 ? kBytes / blksize : 0) {
    if (capacity_ < 2) capacity_ = 0;
    buf_.resize(capacity_ * packet_size_);
  }
  bool enabled() const { return capacity_ > 0; }

  struct Packet {
    std::byte* data;  // room for the DATA header, then the payload
    size_t payload;   // the block's size (shorter than blksize: the last block)
  };
  bool holds(uint64_t index) const {
    return count_ > 0 && index >= first_ && index - first_ < count_;
  }
  // Block `index`'s packet. REQUIRES: holds(index).
  Packet packet(uint64_t index) {
    size_t i = static_cast<size_t>(index - first_);
    return Packet{buf_.data() + i * packet_size_, sizes_[i]};
  }
  // Stages block `index` and the blocks after it (a coroutine only for the read, once per
  // staged run, not per block).
  Task<Result<void>> fill(BlockSource& source, uint64_t index) {
    count_ = 0;
    spans_.resize(capacity_);
    sizes_.assign(capacity_, 0);
    for (size_t i = 0; i < capacity_; ++i) {
      spans_[i] = {buf_.data() + i * packet_size_ + kDataHeaderSize, blksize_};
    }
    auto read = co_await source.read(index, spans_, sizes_);
    if (!read) co_return read;
    first_ = index;
    count_ = capacity_;
    for (size_t i = 0; i < capacity_; ++i) {
      if (sizes_[i] < blksize_) {  // the last block: nothing after it belongs to the transfer
        count_ = i + 1;
        break;
      }
    }
    co_return Result<void>{};
  }

  size_t blksize_;
  size_t packet_size_;
  size_t capacity_;  // packets the buffer holds (0: not staging)
  std::vector<std::byte> buf_;
  std::vector<std::span<std::byte>> spans_;
  std::vector<size_t> sizes_;
  uint64_t first_ = 0;  // the first staged block
  size_t count_ = 0;    // staged blocks from first_
};

}  // namespace

Task<Result<void>> send_blocks(Channel& channel, BlockSource& source, BufferPool& pool,
                               const TransferParams& params, std::span<const std::byte> oack,
                               TransferStats& stats, PeerError* peer, std::stop_token stop) {
  RetransmitTimer rto(params.policy);
  const size_t blksize = params.blksize;
  const size_t packet_size = blksize + kDataHeaderSize;
  const uint64_t window = std::max<uint64_t>(1, params.windowsize);

  if (!oack.empty()) {
    auto r = co_await send_oack(channel, oack, rto, stats, peer, stop);
    if (!r) co_return r;
  }

  uint64_t acked = 0;      // every block up to this one is acknowledged
  uint64_t next = 1;       // the next block to send (again, after a go-back)
  uint64_t sent_high = 0;  // the highest block sent so far
  uint64_t resent_high = 0;  // the highest block sent more than once
  std::optional<uint64_t> last;  // the last block, once read
  size_t last_size = 0;
  std::optional<uint64_t> went_back_at;  // `acked` when a duplicate ACK last caused a go-back
  std::optional<uint64_t> answered_at;   // `acked` when a duplicate ACK was taken as an answer
  std::optional<uint64_t> probed_at;     // `acked` when a timeout last resent only the tail
  std::optional<uint64_t> send_up_to;    // a probe: the fill below stops at this block
  std::optional<uint64_t> timed_block;   // first sent at timed_at; no retransmission since
  Clock::time_point timed_at;
  // Lockstep: the block the timer last resent, while two ACKs of it may still prove the
  // resend needless (see the duplicate-ACK case below).
  struct Suspect {
    uint64_t block = 0;
    Clock::time_point sent_at;                  // its first send
    std::optional<std::chrono::nanoseconds> rtt;  // first send to first ACK, once that came
  };
  std::optional<Suspect> suspect;
  Clock::time_point deadline = Clock::now();

  std::vector<BufferPool::Lease> leases;
  std::vector<std::byte*> packets;
  std::vector<std::span<std::byte>> payloads;
  std::vector<size_t> sizes;
  std::vector<std::span<const std::byte>> datagrams;
  Staging staging(blksize, window);

  uint32_t turn = 0;
  for (;;) {
    if (++turn % kPacketsPerTurn == 0) co_await yield_now();
    // Fill the window.
    for (;;) {
      uint64_t limit = acked + window;
      if (last) limit = std::min(limit, *last);
      if (send_up_to) limit = std::min(limit, *send_up_to);
      if (next > limit) break;
      // The packets: staged (lockstep), or read into leases of the pool.
      leases.clear();
      packets.clear();
      if (staging.enabled()) {
        if (!staging.holds(next)) {
          auto staged = co_await staging.fill(source, next);
          if (!staged) co_return co_await abandon_locally(channel, staged.error(), stats);
        }
        Staging::Packet staged = staging.packet(next);
        packets.push_back(staged.data);
        sizes.assign(1, staged.payload);
      } else {
        leases.push_back(co_await pool.acquire());
        const size_t per_lease = std::max<size_t>(1, leases.front().size() / packet_size);
        const uint64_t wanted = limit - next + 1;
        // Blocks of more than half a lease (8192 < blksize) take a lease each: read several
        // at once, from the leases the pool has free now, rather than one per read.
        if (per_lease == 1) {
          while (leases.size() < std::min<uint64_t>(wanted, kLeasesPerRead)) {
            auto more = pool.try_acquire();
            if (!more) break;
            leases.push_back(std::move(*more));
          }
        }
        size_t count = static_cast<size_t>(std::min<uint64_t>(wanted, per_lease * leases.size()));
        payloads.resize(count);
        sizes.resize(count);
        for (size_t i = 0; i < count; ++i) {
          packets.push_back(leases[i / per_lease].data() + (i % per_lease) * packet_size);
          payloads[i] = {packets[i] + kDataHeaderSize, blksize};
        }
        auto read = co_await source.read(next, payloads, sizes);
        if (!read) co_return co_await abandon_locally(channel, read.error(), stats);
      }
      datagrams.clear();
      for (size_t i = 0; i < packets.size(); ++i) {
        uint64_t index = next + i;
        std::byte* packet = packets[i];
        write_data_header({packet, kDataHeaderSize}, wire_block(index));
        datagrams.emplace_back(packet, kDataHeaderSize + sizes[i]);
        if (index <= sent_high) {
          ++stats.retransmits;
          resent_high = std::max(resent_high, index);
        }
        if (sizes[i] < blksize) {
          last = index;
          last_size = sizes[i];
          break;
        }
      }
      if (!timed_block && next + datagrams.size() - 1 > sent_high) {
        timed_block = std::max(next, sent_high + 1);
        timed_at = Clock::now();
      }
      auto sent = co_await channel.send_all(datagrams);
      leases.clear();  // back to the pool before any wait: other transfers share it
      if (!sent) co_return co_await abandon(channel, sent.error());
      sent_high = std::max(sent_high, next + datagrams.size() - 1);
      next += datagrams.size();
      deadline = Clock::now() + rto.timeout();
    }
    send_up_to.reset();

    auto packet = co_await channel.receive_until(deadline, stop);
    if (!packet) {
      if (!retry_after(packet.error(), rto, stats)) {
        co_return co_await abandon(channel, packet.error());
      }
      // Only a block resent once can be proven to have been resent needlessly: two ACKs of a
      // twice-resent block may answer its two repeats.
      if (window == 1 && timed_block && *timed_block == acked + 1) {
        suspect = Suspect{.block = *timed_block, .sent_at = timed_at};
      } else {
        suspect.reset();
      }
      timed_block.reset();
      went_back_at.reset();
      if (window > 1 && sent_high > acked + 1 && probed_at != acked) {
        // The first silence after a window: resend only its last block. That answers a lost
        // tail (the receiver completes the window or reports the gap) and a lost ACK (the
        // receiver acknowledges the repeat of its last block again) in one packet, where a
        // timer that fired early (a busy machine) would otherwise repeat the whole window.
        probed_at = acked;
        next = sent_high;
        send_up_to = sent_high;
        continue;
      }
      next = acked + 1;  // resend the window
      continue;
    }
    if (const auto* e = std::get_if<Error>(&*packet)) co_return fail_with_peer_error(*e, peer);
    const auto* ack = std::get_if<Ack>(&*packet);
    if (ack == nullptr) {
      ++stats.duplicates;
      continue;
    }
    auto index = unwrap_block(ack->block, acked, sent_high);
    if (!index) {  // older than the last acknowledged block: stale
      ++stats.duplicates;
      continue;
    }
    if (*index == acked) {
      ++stats.duplicates;
      if (suspect && suspect->block == acked && suspect->rtt) {
        // The block the timer resent is acknowledged twice: the receiver had it, and its ACK
        // came, before the repeat; the timer fired early. The round trip Karn's rule held
        // back becomes a sample: the backoff is undone, and the wait is computed again from an
        // estimate that holds the delay seen (duplicate-based detection of a spurious
        // timeout, RFC 3708; the response as in RFC 4015). At 1 000 lockstep clients on two
        // cores the queueing delay jumps past the wait now and then; without this the wait
        // stays low and it happens again.
        rto.on_sample(*suspect->rtt);
        ++stats.spurious_timeouts;
        suspect.reset();
        deadline = Clock::now() + rto.timeout();  // for the block sent after the first ACK
      }
      // RFC 1350's Sorcerer's Apprentice: with one block in flight a repeated ACK is only a
      // late copy. With a window, it is the receiver saying the block after it was lost —
      // unless block `acked` went out twice: a receiver answers the repeat of the block it
      // acknowledged last with that ACK once more (receive_blocks), and taking that answer for
      // a gap report would resend the next window, whose repeat would be answered in turn.
      if (window > 1 && sent_high > acked + 1 && went_back_at != acked) {
        if (acked <= resent_high && answered_at != acked) {
          answered_at = acked;
          continue;
        }
        went_back_at = acked;
        next = acked + 1;
        timed_block.reset();
      }
      continue;
    }
    if (timed_block && *index >= *timed_block) {
      rto.on_sample(Clock::now() - timed_at);
      timed_block.reset();
    }
    if (suspect) {
      if (*index == suspect->block && !suspect->rtt) {
        suspect->rtt = Clock::now() - suspect->sent_at;
      } else {
        suspect.reset();  // moved on: a later ACK of it would be stale
      }
    }
    acked = *index;
    rto.on_progress();
    went_back_at.reset();
    source.forget_before(acked + 1);
    stats.blocks = acked;
    stats.bytes = (last && acked == *last) ? (acked - 1) * blksize + last_size : acked * blksize;
    if (params.on_progress) params.on_progress(stats);
    if (last && acked == *last) co_return Result<void>{};
    if (acked + 1 < next) {
      next = acked + 1;  // the receiver reported a gap after `acked`
      timed_block.reset();
    }
    deadline = Clock::now() + rto.timeout();
  }
}

// ---- Receiver ----

Task<Result<void>> receive_blocks(Channel& channel, BlockSink& sink, const TransferParams& params,
                                  std::span<const std::byte> opening,
                                  std::optional<Data> first_block, nanoseconds dally,
                                  TransferStats& stats, PeerError* peer, std::stop_token stop) {
  RetransmitTimer rto(params.policy);
  const size_t blksize = params.blksize;
  const uint64_t window = std::max<uint64_t>(1, params.windowsize);
  std::array<std::byte, 4> ack_buf{};

  uint64_t expected = 1;    // the next block in order
  uint64_t unacked = 0;     // blocks received in order since our last ACK
  bool nudged = false;      // answered an out-of-order block since the last progress
  std::optional<Clock::time_point> acked_at;  // our last ACK, if not a retransmission (Karn)

  if (!first_block && !opening.empty()) {
    auto r = co_await channel.send(opening);
    if (!r) co_return r;
    acked_at = Clock::now();
  }
  // The receiver's timer is the backstop (RetransmitTimer::receiver_timeout) and measures
  // silence: every block received in order moves it on, so a window that takes long to arrive
  // is not mistaken for a lost one.
  auto deadline = Clock::now() + rto.receiver_timeout(window);
  std::optional<Data> pending = first_block;

  uint32_t turn = 0;
  for (;;) {
    if (++turn % kPacketsPerTurn == 0) co_await yield_now();
    Data data;
    if (pending) {
      data = *pending;
      pending.reset();
    } else {
      auto packet = co_await channel.receive_until(deadline, stop);
      if (!packet) {
        if (!retry_after(packet.error(), rto, stats)) {
          co_return co_await abandon(channel, packet.error());
        }
        auto r = co_await ask_again(channel, opening, ack_buf, expected);
        if (!r) co_return r;
        ++stats.retransmits;
        nudged = false;
        acked_at.reset();
        deadline = Clock::now() + rto.receiver_timeout(window);
        continue;
      }
      if (const auto* e = std::get_if<Error>(&*packet)) co_return fail_with_peer_error(*e, peer);
      const auto* d = std::get_if<Data>(&*packet);
      if (d == nullptr) {
        // A repeated OACK means our ACK 0 was lost: answer it once.
        ++stats.duplicates;
        if (std::holds_alternative<Oack>(*packet) && expected == 1 && !nudged) {
          nudged = true;
          auto r = co_await ask_again(channel, opening, ack_buf, expected);
          if (!r) co_return r;
          ++stats.retransmits;
        }
        continue;
      }
      data = *d;
    }
    if (data.payload.size() > blksize) {  // longer than negotiated: not a block of ours
      ++stats.duplicates;
      continue;
    }
    uint64_t low = expected > kBlockNumberSpace / 2 ? expected - kBlockNumberSpace / 2 : 0;
    auto index = unwrap_block(data.block, low, low + kBlockNumberSpace - 1);
    if (index != expected) {
      ++stats.duplicates;
      // A block ahead of the expected one is a gap: say where we are, once, so that the
      // sender resends from there (RFC 7440). A block already received is the sender
      // repeating itself: with windowsize 1 that means our ACK was lost and RFC 1350 answers
      // it. With a window it is the sender's go-back or timeout; only the repeat of the block
      // we acknowledged last, right after that ACK, says the ACK was lost (or late): answer
      // it once, so that the sender does not wait for our timer too. Answering every
      // repeated block would make a sender go back again on each of those ACKs; our sender
      // also takes the one answer for what it is (send_blocks).
      bool gap = index && *index > expected;
      bool repeated_acked = index && *index + 1 == expected && unacked == 0;
      if (!nudged && (gap || window == 1 || repeated_acked)) {
        nudged = true;
        unacked = 0;
        acked_at.reset();
        auto r = co_await ask_again(channel, opening, ack_buf, expected);
        if (!r) co_return r;
        ++stats.retransmits;
      }
      continue;
    }
    if (acked_at) {
      rto.on_sample(Clock::now() - *acked_at);
      acked_at.reset();
    }
    auto written = co_await sink.write(expected, data.payload);
    if (!written) co_return co_await abandon_locally(channel, written.error(), stats);
    ++stats.blocks;
    stats.bytes += data.payload.size();
    ++expected;
    ++unacked;
    nudged = false;
    rto.on_progress();
    deadline = Clock::now() + rto.receiver_timeout(window);
    bool final = data.payload.size() < blksize;
    if (final) {
      auto finished = co_await sink.finish();
      if (!finished) co_return co_await abandon_locally(channel, finished.error(), stats);
    }
    if (params.on_progress) params.on_progress(stats);
    if (!final && unacked < window) continue;
    auto r = co_await send_ack(channel, ack_buf, expected - 1);
    if (!r) co_return r;
    unacked = 0;
    acked_at = Clock::now();
    deadline = *acked_at + rto.receiver_timeout(window);
    if (!final) continue;

    // Dally: the sender repeats the last block if our final ACK was lost.
    auto dally_until = Clock::now() + dally;
    for (;;) {
      auto packet = co_await channel.receive_until(dally_until, stop);
      if (!packet) break;  // quiet (or gone): done
      // Any block of this transfer coming again means the sender has not heard our last ACK
      // (it resends from its first unacknowledged block, which need not be the last one).
      const auto* d = std::get_if<Data>(&*packet);
      uint64_t oldest = expected > kBlockNumberSpace ? expected - kBlockNumberSpace : 0;
      if (d != nullptr && unwrap_block(d->block, oldest, expected - 1)) {
        r = co_await send_ack(channel, ack_buf, expected - 1);
        if (!r) break;
        ++stats.retransmits;
      }
    }
    co_return Result<void>{};
  }
}

}  // namespace ringkit::tftp
