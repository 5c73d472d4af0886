// send_blocks / receive_blocks over real loopback sockets, on both backends: content, the
// exact packets the RFCs predict on a lossless path, rollover, windows, loss, duplication and
// reordering, wrong TIDs, peers that fail or vanish.
#include "tftp/transfer.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "ringkit/buffer_pool.h"
#include "ringkit/net.h"
#include "ringkit/time.h"
#include "ringkit/when_all.h"
#include "support/backend_test.h"
#include "support/co_assert.h"
#include "support/random_bytes.h"
#include "tftp/block.h"
#include "tftp/options.h"

namespace ringkit::tftp {
namespace {

using namespace std::chrono_literals;

using ringkit::testing::random_bytes;

// Short waits for scenarios with loss; generous retries so that a stall of the machine is no
// failure.
constexpr RetransmitPolicy kLossyPolicy{.initial = 20ms, .min = 2ms, .max = 100ms,
                                        .max_retries = 30};
// How long a receiver under kLossyPolicy lingers after its last ACK. The sender repeats its last
// block until an ACK gets through; at 20% loss each way a repeat and its ACK both arrive with
// probability 0.64. Four repeats (4 x max) all fail 1.7% of the time, which made the lossy cases
// flaky once timing under load shifted which packets the seeded loss hit; ten fail 0.004%.
constexpr auto kLossyDally = 10 * kLossyPolicy.max;

struct Outcome {
  Result<void> sent;
  Result<void> received;
  TransferStats sender;
  TransferStats receiver;
  ChannelStats sender_channel;
  ChannelStats receiver_channel;
  std::vector<std::byte> data;
  PeerError sender_peer;
  PeerError receiver_peer;
};

struct Scenario {
  uint16_t blksize = 512;
  uint16_t windowsize = 1;
  Impairment sender_impairment;
  Impairment receiver_impairment;
  // Lossless scenarios count packets exactly, so the timer must never fire spuriously on a busy
  // machine: half a second at least. Lossy ones set a short timer to stay quick.
  RetransmitPolicy policy{.initial = 1s, .min = 500ms, .max = 1s, .max_retries = 8};
  std::optional<uint64_t> max_size;  // receiver's sink limit
  bool receiver_absent = false;      // nobody answers
  bool oack = false;                 // the sender opens with an OACK, answered with ACK 0
  // How long the receiver lingers after its last ACK: longer than the sender's longest wait
  // when ACKs can be lost, or the sender's repeat of the last block finds nobody.
  std::chrono::nanoseconds dally = 20ms;
  // The receiving socket's buffer (0: the system's default), for windows of large blocks.
  int receive_buffer = 0;
};

class TransferTest : public testing::BackendTest {
 public:
  Task<void> sender_side(net::Socket& sock, net::Address peer, BlockSource& source,
                         const Scenario& s, Outcome& out) {
    BufferPool pool(ex(), 4, 64 * 1024);
    Channel channel(sock, peer, {.impairment = s.sender_impairment});
    TransferParams params{.blksize = s.blksize, .windowsize = s.windowsize, .policy = s.policy};
    std::array<std::byte, 64> oack_buf{};
    std::span<const std::byte> oack;
    if (s.oack) {
      std::string value = std::to_string(s.blksize);  // Option borrows it
      Option blksize{"blksize", value};
      auto n = build_oack(oack_buf, std::span(&blksize, 1));
      oack = std::span(oack_buf).first(*n);
    }
    out.sent = co_await send_blocks(channel, source, pool, params, oack, out.sender,
                                    &out.sender_peer);
    co_await channel.close();
    out.sender_channel = channel.stats();
  }

  Task<void> receiver_side(net::Socket& sock, net::Address peer, const Scenario& s, Outcome& out) {
    ChannelOptions options = ChannelOptions::receiving_data(s.blksize, s.windowsize);
    options.impairment = s.receiver_impairment;
    Channel channel(sock, peer, options);
    TransferParams params{.blksize = s.blksize, .windowsize = s.windowsize, .policy = s.policy};
    MemorySink sink;
    // Without an OACK the sender starts unprompted, as a server answering an RRQ without
    // options; after one, the receiver acknowledges it with ACK 0, as a client does.
    std::array<std::byte, 4> ack0{};
    (void)build_ack(ack0, 0);
    std::span<const std::byte> opening;
    if (s.oack) {
      opening = ack0;
      // As a client: the OACK first (resent by the sender until it gets through).
      for (;;) {
        auto p = co_await channel.receive(10s);
        CO_ASSERT(p, "no OACK: " << p.error().message());
        if (std::holds_alternative<Oack>(*p)) break;
      }
    }
    std::unique_ptr<FileSink> limited;
    int fd = -1;
    BlockSink* target = &sink;
    if (s.max_size) {
      fd = ::memfd_create("sink", 0);
      limited = std::make_unique<FileSink>(fd, false, s.max_size);
      target = limited.get();
    }
    out.received = co_await receive_blocks(channel, *target, params, opening, std::nullopt, s.dally,
                                           out.receiver, &out.receiver_peer);
    co_await channel.close();
    out.receiver_channel = channel.stats();
    out.data = sink.data();
    if (fd >= 0) ::close(fd);
  }

  Task<void> transfer(BlockSource& source, const Scenario& s, Outcome& out) {
    auto a = net::bind_udp(net::Address::ipv4_loopback());
    auto b = net::bind_udp(net::Address::ipv4_loopback());
    CO_ASSERT(a && b, "bind");
    auto a_addr = *net::local_address(*a);
    auto b_addr = *net::local_address(*b);
    if (s.receive_buffer > 0) CO_ASSERT(net::set_recv_buffer(*b, s.receive_buffer), "SO_RCVBUF");
    auto sending = spawn_joinable(sender_side(*a, b_addr, source, s, out));
    if (!s.receiver_absent) {
      co_await receiver_side(*b, a_addr, s, out);
    } else {
      // Nobody reads b: the sender's DATA 1 waits unanswered. Ack 0 was never sent either, so
      // the sender's very first window is all it ever sends.
    }
    co_await sending.join();
  }

  Outcome run_transfer(std::span<const std::byte> data, const Scenario& s) {
    MemorySource source(data, s.blksize);
    Outcome out;
    run(transfer(source, s, out));
    return out;
  }
};

TEST_P(TransferTest, LosslessPathSendsExactlyThePredictedPackets) {
  for (uint16_t window : {1, 4, 16}) {
    for (size_t size : {0, 1, 511, 512, 513, 2048, 4 * 512 * 16, 100000}) {
      SCOPED_TRACE("window " + std::to_string(window) + " size " + std::to_string(size));
      auto data = random_bytes(size, size);
      Scenario s{.windowsize = window};
      auto out = run_transfer(data, s);
      ASSERT_TRUE(out.sent.ok()) << out.sent.error().message();
      ASSERT_TRUE(out.received.ok()) << out.received.error().message();
      EXPECT_EQ(out.data, data);
      uint64_t blocks = data_block_count(size, 512);
      EXPECT_EQ(out.sender_channel.packets_sent, blocks) << "one DATA per block, none repeated";
      // One ACK per full window and one for the last block.
      uint64_t acks = (blocks - 1) / window + 1;
      EXPECT_EQ(out.receiver_channel.packets_sent, acks);
      EXPECT_EQ(out.sender.retransmits, 0u);
      EXPECT_EQ(out.receiver.retransmits, 0u);
      EXPECT_EQ(out.sender.bytes, size);
      EXPECT_EQ(out.receiver.bytes, size);
    }
  }
}

TEST_P(TransferTest, OackIsAcknowledgedWithAckZeroBeforeTheFirstBlock) {
  auto data = random_bytes(1428 * 10, 12);
  Scenario s{.blksize = 1428, .windowsize = 4, .oack = true};
  auto out = run_transfer(data, s);
  ASSERT_TRUE(out.sent.ok()) << out.sent.error().message();
  ASSERT_TRUE(out.received.ok()) << out.received.error().message();
  EXPECT_EQ(out.data, data);
  EXPECT_EQ(out.sender_channel.packets_sent, 1u + 11u) << "the OACK and 11 blocks";
  EXPECT_EQ(out.receiver_channel.packets_sent, 1u + 3u) << "ACK 0, ACK 4, ACK 8, ACK 11";
  // And with loss on both sides, the OACK and ACK 0 are repeated until they get through.
  for (uint64_t seed : {1, 2, 3, 4}) {
    s.sender_impairment = {.loss = 0.2, .seed = seed};
    s.receiver_impairment = {.loss = 0.2, .seed = seed + 50};
    s.policy = kLossyPolicy;
    s.dally = kLossyDally;
    out = run_transfer(data, s);
    ASSERT_TRUE(out.sent.ok()) << out.sent.error().message() << " seed " << seed
                               << " receiver: " << out.received.error().message() << " "
                               << out.receiver.blocks << " blocks, " << out.sender.blocks
                               << " acknowledged";
    ASSERT_TRUE(out.received.ok()) << out.received.error().message();
    EXPECT_EQ(out.data, data);
  }
}

TEST_P(TransferTest, BlockNumbersRollOverPast65535) {
  // 70 000 blocks of 8 bytes: block numbers wrap once.
  auto data = random_bytes(70000 * 8 + 3, 7);
  Scenario s{.blksize = 8, .windowsize = 16};
  auto out = run_transfer(data, s);
  ASSERT_TRUE(out.sent.ok()) << out.sent.error().message();
  ASSERT_TRUE(out.received.ok()) << out.received.error().message();
  EXPECT_EQ(out.data, data);
  EXPECT_EQ(out.sender.blocks, 70001u);
  EXPECT_EQ(out.sender_channel.packets_sent, 70001u);
}

// Counts the blocks a sender reads.
class CountingSource : public BlockSource {
 public:
  CountingSource(std::span<const std::byte> data, size_t blksize) : inner_(data, blksize) {}
  Task<Result<void>> read(uint64_t first, std::span<const std::span<std::byte>> payloads,
                          std::span<size_t> sizes) override {
    ++calls;
    for (size_t i = 0; i < payloads.size(); ++i) ++reads[first + i];
    co_return co_await inner_.read(first, payloads, sizes);
  }
  std::map<uint64_t, int> reads;  // block -> times read
  int calls = 0;

 private:
  MemorySource inner_;
};

TEST_P(TransferTest, LockstepReadsBlocksSeveralAtATime) {
  // Windowsize 1: blocks are staged 8 KiB at a time (Staging in transfer.cc), so 21 blocks of
  // 512 bytes take two reads of 16, and each block is read once.
  std::vector<std::byte> data = random_bytes(20 * 512 + 7, 8);
  CountingSource source(data, 512);
  Outcome out;
  run(transfer(source, Scenario{}, out));
  ASSERT_TRUE(out.sent.ok()) << out.sent.error().message();
  EXPECT_EQ(out.data, data);
  EXPECT_EQ(source.calls, 2);
  for (uint64_t b = 1; b <= 21; ++b) EXPECT_EQ(source.reads[b], 1) << "block " << b;
  EXPECT_EQ(source.reads.count(33), 0u) << "nothing read past the second staging";
}

TEST_P(TransferTest, LockstepWithBlocksOverHalfTheStagingReadsEachBlock) {
  // Blocks larger than half the staging buffer are read one per DATA, into the packet.
  std::vector<std::byte> data = random_bytes(5 * 5000 + 1, 9);
  CountingSource source(data, 5000);
  Outcome out;
  run(transfer(source, Scenario{.blksize = 5000}, out));
  ASSERT_TRUE(out.sent.ok()) << out.sent.error().message();
  EXPECT_EQ(out.data, data);
  EXPECT_EQ(source.calls, 6);
}

TEST_P(TransferTest, WindowsOfLargeBlocksAreReadSeveralLeasesAtATimeAndSentInOrder) {
  // Blocks of 40 000 bytes: one per 64 KiB lease of the pool (4 leases). A window is read
  // several leases at a time, each block once, and its packets go out in order: exactly one
  // DATA per block and one ACK per window, on both backends. (Sent concurrently, the threads
  // backend's pool threads may reorder them; a go-back would then break the counts, though
  // not on every run: the ordering is checked by chance, the rest always.)
  constexpr uint16_t kBlksize = 40000;
  for (uint16_t window : {4, 8}) {
    for (size_t size : {size_t{0}, size_t{kBlksize}, size_t{kBlksize} * 8, size_t{kBlksize} * 8 + 1,
                        size_t{1000003}}) {
      SCOPED_TRACE("window " + std::to_string(window) + " size " + std::to_string(size));
      std::vector<std::byte> data = random_bytes(size, size + 3);
      CountingSource source(data, kBlksize);
      Scenario s{.blksize = kBlksize, .windowsize = window, .receive_buffer = 4 << 20};
      Outcome out;
      run(transfer(source, s, out));
      ASSERT_TRUE(out.sent.ok()) << out.sent.error().message();
      ASSERT_TRUE(out.received.ok()) << out.received.error().message();
      EXPECT_EQ(out.data, data);
      uint64_t blocks = data_block_count(size, kBlksize);
      EXPECT_EQ(out.sender_channel.packets_sent, blocks) << "one DATA per block, none repeated";
      EXPECT_EQ(out.receiver_channel.packets_sent, (blocks - 1) / window + 1);
      EXPECT_EQ(out.sender.retransmits, 0u);
      for (uint64_t b = 1; b <= blocks; ++b) EXPECT_EQ(source.reads[b], 1) << "block " << b;
      if (blocks >= 8) {
        EXPECT_LT(source.calls, static_cast<int>(blocks) / 2) << "several blocks per read";
      }
    }
  }
}

TEST_P(TransferTest, DuplicatedAcksNeverCauseRetransmission) {
  // The Sorcerer's Apprentice: every ACK arrives twice; with windowsize 1 the sender must not
  // answer the second copy with a second DATA.
  auto data = random_bytes(512 * 40 + 100, 3);
  Scenario s;
  s.receiver_impairment = {.duplicate = 1.0, .seed = 5};
  auto out = run_transfer(data, s);
  ASSERT_TRUE(out.sent.ok()) << out.sent.error().message();
  ASSERT_TRUE(out.received.ok()) << out.received.error().message();
  EXPECT_EQ(out.data, data);
  EXPECT_EQ(out.sender_channel.packets_sent, 41u);
  EXPECT_EQ(out.sender.retransmits, 0u);
  EXPECT_GT(out.sender.duplicates, 0u);
}

TEST_P(TransferTest, CompletesUnderLossDuplicationAndReordering) {
  for (uint16_t window : {1, 8, 32}) {
    for (uint64_t seed : {1, 2, 3}) {
      SCOPED_TRACE("window " + std::to_string(window) + " seed " + std::to_string(seed));
      auto data = random_bytes(1428 * 300 + 17, seed);
      Scenario s{.blksize = 1428, .windowsize = window};
      s.sender_impairment = {.loss = 0.05, .duplicate = 0.05, .reorder = 0.05, .seed = seed};
      s.receiver_impairment = {.loss = 0.05, .duplicate = 0.05, .reorder = 0.05,
                               .seed = seed + 100};
      s.policy = kLossyPolicy;
    s.dally = kLossyDally;
      auto out = run_transfer(data, s);
      ASSERT_TRUE(out.sent.ok()) << out.sent.error().message();
      ASSERT_TRUE(out.received.ok()) << out.received.error().message();
      EXPECT_EQ(out.data, data);
      EXPECT_GT(out.sender.retransmits + out.receiver.retransmits, 0u)
          << "5% loss over 300 blocks must have cost a retransmission";
    }
  }
}

TEST_P(TransferTest, SenderGivesUpWhenNobodyAnswers) {
  auto data = random_bytes(5000, 1);
  Scenario s;
  s.receiver_absent = true;
  s.policy = {.initial = 5ms, .min = 1ms, .max = 10ms, .max_retries = 3};
  auto out = run_transfer(data, s);
  ASSERT_FALSE(out.sent.ok());
  EXPECT_TRUE(out.sent.timed_out()) << out.sent.error().message();
  EXPECT_EQ(out.sender.timeouts, 4u);
  EXPECT_EQ(out.sender_channel.packets_sent, 4u) << "DATA 1 and three retransmissions";
}

TEST_P(TransferTest, SinkLimitStopsTheTransferWithDiskFull) {
  auto data = random_bytes(10000, 2);
  Scenario s{.windowsize = 4};
  s.max_size = 4000;
  auto out = run_transfer(data, s);
  ASSERT_FALSE(out.received.ok());
  EXPECT_EQ(out.received.error(), make_error_code(Errc::kUploadTooLarge));
  ASSERT_FALSE(out.sent.ok());
  EXPECT_EQ(out.sent.error(), make_error_code(Errc::kPeerError));
  EXPECT_EQ(out.sender_peer.code, ErrorCode::kDiskFull);
}

TEST_P(TransferTest, ARepeatedWindowIsAnsweredOnceWithTheAckOfItsLastBlock) {
  // A sender whose timer fired before our ACK of a window came (or whose ACK was lost) resends
  // the window. Its last block, repeated right after we acknowledged it, is answered with that
  // ACK once — the sender need not wait for our timer — and no other repeat is answered.
  auto body = [this]() -> Task<void> {
    auto a = net::bind_udp(net::Address::ipv4_loopback());
    auto b = net::bind_udp(net::Address::ipv4_loopback());
    CO_ASSERT(a && b, "bind");
    auto a_addr = *net::local_address(*a);
    auto b_addr = *net::local_address(*b);
    Scenario s{.windowsize = 8};
    Outcome out;
    auto receiving = spawn_joinable(receiver_side(*b, a_addr, s, out));
    std::vector<std::byte> block(512, std::byte{7});
    std::array<std::byte, 600> pkt;
    auto send_block = [&](uint16_t n, size_t size) -> Task<void> {
      auto len = build_data(pkt, n, std::span<const std::byte>(block).first(size));
      (void)co_await net::send_to(*a, std::span(pkt).first(*len), b_addr);
    };
    auto next_ack = [&]() -> Task<std::optional<uint16_t>> {
      std::array<std::byte, 64> buf;
      auto got = co_await net::recv_from(*a, buf, nullptr, 5s);
      if (!got) co_return std::nullopt;
      auto p = parse_packet(std::span(buf).first(*got));
      if (!p || !std::holds_alternative<Ack>(*p)) co_return std::nullopt;
      co_return std::get<Ack>(*p).block;
    };
    for (uint16_t n = 1; n <= 8; ++n) co_await send_block(n, 512);
    EXPECT_EQ(co_await next_ack(), std::optional<uint16_t>(8));
    for (uint16_t n = 1; n <= 8; ++n) co_await send_block(n, 512);  // the resend
    EXPECT_EQ(co_await next_ack(), std::optional<uint16_t>(8)) << "the repeat of 8 answered";
    co_await send_block(8, 512);                                      // once only
    co_await send_block(9, 100);                                      // the last block
    EXPECT_EQ(co_await next_ack(), std::optional<uint16_t>(9)) << "no second ACK 8";
    co_await receiving.join();
    EXPECT_TRUE(out.received.ok()) << out.received.error().message();
    EXPECT_EQ(out.receiver_channel.packets_sent, 3u);
    EXPECT_EQ(out.data.size(), 8 * 512 + 100u);
  };
  run(body());
}

// A receiver played by hand against send_blocks: it sees every DATA, counts copies, and ACKs
// when told.
struct HandReceiver {
  net::Socket& sock;
  net::Address sender;
  std::map<uint16_t, int> seen;  // DATA block -> copies received
  std::array<std::byte, 600> buf{};

  Task<std::optional<uint16_t>> next_block() {
    auto got = co_await net::recv_from(sock, buf, nullptr, 5s);
    if (!got) co_return std::nullopt;
    auto p = parse_packet(std::span(buf).first(*got));
    if (!p || !std::holds_alternative<Data>(*p)) co_return std::nullopt;
    uint16_t n = std::get<Data>(*p).block;
    ++seen[n];
    co_return n;
  }
  Task<void> ack(uint16_t n) {
    std::array<std::byte, 4> pkt;
    (void)build_ack(pkt, n);
    (void)co_await net::send_to(sock, pkt, sender);
  }
  // Expects blocks `first` to `last` in order and acknowledges each at once (lockstep); false,
  // with the failure recorded, on anything else.
  Task<bool> ack_each(uint16_t first, uint16_t last) {
    for (uint16_t n = first; n <= last; ++n) {
      if (co_await next_block() != std::optional<uint16_t>(n)) {
        ADD_FAILURE() << "expected block " << n;
        co_return false;
      }
      co_await ack(n);
    }
    co_return true;
  }
};

// A window of 8 and a timer fixed at 100 ms: what sender_against uses unless told.
Scenario hand_scenario() {
  Scenario s{.windowsize = 8};
  s.policy = {.initial = 100ms, .min = 100ms, .max = 1s, .max_retries = 8};
  return s;
}

// Runs send_blocks over `data` (blksize 512, `s`'s window and timer) against a receiver played
// by `script`, a coroutine taking the HandReceiver.
template <class Script>
Task<void> sender_against(std::span<const std::byte> data, Script script, Outcome& out,
                          TransferTest& t, Scenario s = hand_scenario()) {
  auto a = net::bind_udp(net::Address::ipv4_loopback());
  auto b = net::bind_udp(net::Address::ipv4_loopback());
  CO_ASSERT(a && b, "bind");
  MemorySource source(data, 512);
  auto sending =
      spawn_joinable(t.sender_side(*a, *net::local_address(*b), source, s, out));
  HandReceiver r{*b, *net::local_address(*a)};
  co_await script(r);
  co_await sending.join();
}

TEST_P(TransferTest, FirstTimeoutResendsTheLastBlockThenTheWindow) {
  // The first silence after a window costs one packet (its last block: enough for a receiver
  // that lost the tail or whose ACK was lost); a second one resends the window (RFC 7440).
  std::vector<std::byte> data = random_bytes(8 * 512 + 100, 6);
  Outcome out;
  run(sender_against(data, [](HandReceiver& r) -> Task<void> {
    for (uint16_t n = 1; n <= 8; ++n) {
      CO_ASSERT(co_await r.next_block() == std::optional<uint16_t>(n), "block " << n);
    }
    CO_ASSERT(co_await r.next_block() == std::optional<uint16_t>(8), "the probe: block 8 only");
    for (uint16_t n = 1; n <= 8; ++n) {
      CO_ASSERT(co_await r.next_block() == std::optional<uint16_t>(n), "resent block " << n);
    }
    co_await r.ack(8);
    CO_ASSERT(co_await r.next_block() == std::optional<uint16_t>(9), "the last block");
    co_await r.ack(9);
  }, out, *this));
  EXPECT_TRUE(out.sent.ok()) << out.sent.error().message();
  EXPECT_EQ(out.sender.timeouts, 2u);
  EXPECT_EQ(out.sender.retransmits, 1u + 8u);
}

TEST_P(TransferTest, AnAnsweredRepeatDoesNotMakeTheSenderRepeatTheNextWindow) {
  // The other half of ARepeatedWindowIsAnsweredOnce...: our sender resent block 8 on its timer,
  // then gets ACK 8 twice (its late original and the answer to the repeat). The second is no
  // report of a lost block 9: window 9-16 goes out once, or every later window would travel
  // twice.
  std::vector<std::byte> data = random_bytes(16 * 512 + 100, 5);
  Outcome out;
  std::map<uint16_t, int> seen;
  run(sender_against(data, [&seen](HandReceiver& r) -> Task<void> {
    for (int i = 0; i < 9; ++i) {  // the window, then block 8 again on the sender's timer
      auto n = co_await r.next_block();
      CO_ASSERT(n, "block " << i << " of the window and its probe");
    }
    co_await r.ack(8);  // late
    co_await r.ack(8);  // the answer to the repeat
    for (int i = 0; i < 8;) {
      auto n = co_await r.next_block();
      CO_ASSERT(n, "block " << 9 + i);
      if (*n <= 8) continue;  // one more resend of 1-8, if the machine was slow to ACK
      CO_ASSERT(*n == 9 + i, "block " << *n << " instead of " << 9 + i);
      ++i;
    }
    co_await r.ack(16);
    CO_ASSERT(co_await r.next_block() == std::optional<uint16_t>(17), "the last block");
    co_await r.ack(17);
    seen = r.seen;
  }, out, *this));
  EXPECT_TRUE(out.sent.ok()) << out.sent.error().message();
  EXPECT_EQ(seen[9], 1) << "window 9-16 sent once";
  EXPECT_EQ(seen[16], 1);
}

// Lockstep with a wait of at least 200 ms: long enough for the scripts below to act between
// two timeouts on a loaded machine.
Scenario spurious_scenario() {
  Scenario s{.windowsize = 1};
  s.policy = {.initial = 200ms, .min = 200ms, .max = 2s, .max_retries = 8};
  return s;
}

TEST_P(TransferTest, InLockstepABlockAcknowledgedTwiceAfterItsRepeatRaisesTheWait) {
  // Block 3's ACK is late, not lost: the timer resends block 3 at 200 ms, then ACK 3 comes
  // twice (at 500 ms, and the answer to the repeat). The timeout was spurious, and the 500 ms
  // round trip becomes a sample: the wait rises to about 560 ms. Block 4's ACK, 480 ms late,
  // then finds the sender still waiting. Without the sample the wait would be the backoff's
  // 400 ms and block 4 would be resent too.
  std::vector<std::byte> data = random_bytes(4 * 512 + 100, 13);
  Outcome out;
  run(sender_against(data, [](HandReceiver& r) -> Task<void> {
    CO_ASSERT(co_await r.ack_each(1, 2), "blocks 1 and 2");
    CO_ASSERT(co_await r.next_block() == std::optional<uint16_t>(3), "block 3");
    auto first = std::chrono::steady_clock::now();
    CO_ASSERT(co_await r.next_block() == std::optional<uint16_t>(3), "block 3 on the timer");
    co_await sleep_for(first + 500ms - std::chrono::steady_clock::now());  // next timeout: 600 ms
    co_await r.ack(3);  // late
    co_await r.ack(3);  // the answer to the repeat
    CO_ASSERT(co_await r.next_block() == std::optional<uint16_t>(4), "block 4");
    co_await sleep_for(480ms);
    co_await r.ack(4);
    CO_ASSERT(co_await r.next_block() == std::optional<uint16_t>(5),
              "block 5, not a repeat of block 4: the wait did not grow");
    co_await r.ack(5);
  }, out, *this, spurious_scenario()));
  EXPECT_TRUE(out.sent.ok()) << out.sent.error().message();
  EXPECT_EQ(out.sender.spurious_timeouts, 1u);
  EXPECT_EQ(out.sender.timeouts, 1u);
  EXPECT_EQ(out.sender.retransmits, 1u);
}

TEST_P(TransferTest, InLockstepABlockAcknowledgedOnceAfterItsRepeatIsNoSpuriousTimeout) {
  // The same, but only the repeat of block 3 is acknowledged (the first copy or its ACK was
  // lost): the timeout was real, and the round trip stays unmeasured (Karn).
  std::vector<std::byte> data = random_bytes(4 * 512 + 100, 14);
  Outcome out;
  run(sender_against(data, [](HandReceiver& r) -> Task<void> {
    CO_ASSERT(co_await r.ack_each(1, 2), "blocks 1 and 2");
    CO_ASSERT(co_await r.next_block() == std::optional<uint16_t>(3), "block 3");
    CO_ASSERT(co_await r.next_block() == std::optional<uint16_t>(3), "block 3 on the timer");
    co_await r.ack(3);
    CO_ASSERT(co_await r.ack_each(4, 5), "blocks 4 and 5");
  }, out, *this, spurious_scenario()));
  EXPECT_TRUE(out.sent.ok()) << out.sent.error().message();
  EXPECT_EQ(out.sender.spurious_timeouts, 0u);
  EXPECT_EQ(out.sender.timeouts, 1u);
  EXPECT_EQ(out.sender.retransmits, 1u);
}

TEST_P(TransferTest, StrangersGetUnknownTransferIdAndDoNotDisturb) {
  auto data = random_bytes(512 * 200, 9);
  Scenario s{.windowsize = 2};
  MemorySource source(data, s.blksize);
  Outcome out;
  std::vector<std::byte> replies;
  auto body = [&]() -> Task<void> {
    auto a = net::bind_udp(net::Address::ipv4_loopback());
    auto b = net::bind_udp(net::Address::ipv4_loopback());
    auto stranger = net::bind_udp(net::Address::ipv4_loopback());
    CO_ASSERT(a && b && stranger, "bind");
    auto a_addr = *net::local_address(*a);
    auto b_addr = *net::local_address(*b);
    auto sending = spawn_joinable(sender_side(*a, b_addr, source, s, out));
    auto receiving = spawn_joinable(receiver_side(*b, a_addr, s, out));
    // The stranger sends a DATA to the receiver and an ACK to the sender, like a late packet
    // of another transfer, and must get ERROR 5 from each.
    std::array<std::byte, 8> pkt{};
    auto n = build_data(pkt, 1, std::span<const std::byte>(pkt).first(0));
    (void)co_await net::send_to(*stranger, std::span(pkt).first(*n), b_addr);
    n = build_ack(pkt, 1);
    (void)co_await net::send_to(*stranger, std::span(pkt).first(*n), a_addr);
    for (int i = 0; i < 2; ++i) {
      std::array<std::byte, 600> buf;
      auto got = co_await net::recv_from(*stranger, buf, nullptr, 5s);
      CO_ASSERT(got, "no reply to the stranger");
      auto p = parse_packet(std::span(buf).first(*got));
      CO_ASSERT(p && std::holds_alternative<Error>(*p), "reply is not an ERROR");
      EXPECT_EQ(std::get<Error>(*p).code, ErrorCode::kUnknownTransferId);
    }
    co_await receiving.join();
    co_await sending.join();
  };
  run(body());
  ASSERT_TRUE(out.sent.ok()) << out.sent.error().message();
  ASSERT_TRUE(out.received.ok()) << out.received.error().message();
  EXPECT_EQ(out.data, data);
  EXPECT_EQ(out.sender_channel.wrong_tid + out.receiver_channel.wrong_tid, 2u);
}

TEST_P(TransferTest, NetasciiFileSourceSurvivesRetransmissions) {
  // Lines and lone CRs, re-read from checkpoints when windows are resent.
  std::string text;
  std::mt19937_64 rng(4);
  for (int i = 0; i < 20000; ++i) {
    int r = static_cast<int>(rng() % 10);
    text += r == 0 ? '\n' : r == 1 ? '\r' : static_cast<char>('a' + r);
  }
  int fd = ::memfd_create("text", 0);
  ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  Scenario s{.blksize = 100, .windowsize = 8};
  s.receiver_impairment = {.loss = 0.1, .seed = 11};
  s.policy = kLossyPolicy;
    s.dally = kLossyDally;
  NetasciiFileSource source(fd, s.blksize);
  Outcome out;
  run(transfer(source, s, out));
  ::close(fd);
  ASSERT_TRUE(out.sent.ok()) << out.sent.error().message();
  ASSERT_TRUE(out.received.ok()) << out.received.error().message();
  // Decode what was received and compare with the file.
  NetasciiDecoder decoder;
  std::vector<std::byte> decoded(out.data.size() + 1);
  size_t n = decoder.decode(out.data, decoded);
  n += decoder.finish(std::span(decoded).subspan(n));
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(decoded.data()), n), text);
  EXPECT_GT(out.sender.retransmits, 0u);
}

RINGKIT_BACKEND_TEST_SUITE(TransferTest);

}  // namespace
}  // namespace ringkit::tftp
