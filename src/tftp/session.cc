#include "tftp/session.h"

#include <chrono>
#include <random>
#include <string>

#include "tftp/block_io.h"
#include "tftp/channel.h"
#include "tftp/files.h"
#include "tftp/options.h"
#include "tftp/packet.h"
#include "tftp/transfer.h"

namespace ringkit::tftp {

namespace {

using Clock = std::chrono::steady_clock;

// A socket for the transfer on `local`'s host: any port, or one from the configured range.
Result<net::Socket> transfer_socket(const net::Address& local, const ServerConfig& config) {
  net::Address addr = local;
  if (!config.port_range) {
    addr.set_port(0);
    // Linux picks a free port for bind(port 0) by probing from a random start within one hash
    // chain and gives up with EADDRINUSE once about half the ephemeral range is taken (14 870
    // of 28 232 ports here): each new attempt starts elsewhere, so a few more find one.
    Result<net::Socket> sock = std::make_error_code(std::errc::address_in_use);
    for (int attempt = 0; attempt < 64; ++attempt) {
      sock = net::bind_udp(addr);
      if (sock || sock.error() != std::errc::address_in_use) break;
    }
    return sock;
  }
  auto [low, high] = *config.port_range;
  static thread_local std::mt19937 rng(std::random_device{}());
  uint32_t span = uint32_t{high} - low + 1;
  uint32_t start = rng() % span;
  auto sock = net::udp_socket(addr.family());
  if (!sock) return sock.error();
  // Probe from a random point so that concurrent transfers rarely collide.
  for (uint32_t i = 0; i < span; ++i) {
    addr.set_port(static_cast<uint16_t>(low + (start + i) % span));
    auto bound = net::bind(*sock, addr);
    if (bound) return std::move(*sock);
    if (bound.error() != std::errc::address_in_use) return bound.error();
  }
  return std::make_error_code(std::errc::address_in_use);
}

std::string describe_options(const Negotiated& n) {
  std::string out;
  for (const auto& o : n.oack()) {
    if (!out.empty()) out += ' ';
    out += std::string(option_name(o.id)) + "=" + std::to_string(o.value);
  }
  return out;
}

// Socket buffers that hold a whole window (the kernel drops what does not fit).
void size_buffers(const net::Socket& sock, const Negotiated& n) {
  int window_bytes = static_cast<int>(
      std::min<uint64_t>(uint64_t{n.blksize + kDataHeaderSize} * n.windowsize * 2, 16 << 20));
  if (window_bytes > 212992) {  // above Linux's usual default, grow both directions
    (void)net::set_send_buffer(sock, window_bytes);
    (void)net::set_recv_buffer(sock, window_bytes);
  }
}

// Writes an upload and puts it in place when the last block is in, before that block is
// acknowledged: a client that has its final ACK can rely on the file being there, whole.
class UploadSink : public BlockSink {
 public:
  // Smaller than a client's: it is per upload, and a server may run many.
  static constexpr size_t kUploadBuffer = 64 * 1024;
  UploadSink(Upload& upload, bool netascii, std::optional<uint64_t> max_size)
      : upload_(upload), file_(upload.fd(), netascii, max_size, kUploadBuffer) {}
  Task<Result<void>> write(uint64_t index, std::span<const std::byte> payload) override {
    co_return co_await file_.write(index, payload);
  }
  Task<Result<uint64_t>> finish() override {
    auto size = co_await file_.finish();
    if (!size) co_return size.error();
    auto committed = co_await upload_.commit();
    if (!committed) co_return committed.error();
    co_return *size;
  }

 private:
  Upload& upload_;
  FileSink file_;
};

// The parameters a transfer runs with once its options are settled.
TransferParams transfer_params(const ServerConfig& config, const Negotiated& n) {
  return TransferParams{.blksize = n.blksize,
                        .windowsize = n.windowsize,
                        .policy = config.retransmit.with_timeout_option(n.timeout)};
}

// Tells the client why its request is refused.
Task<void> refuse(Channel& channel, std::error_code failure) {
  ClientError e = client_error(failure);
  co_await channel.send_error(e.code, e.message);
}

}  // namespace

Task<void> serve_request(SessionContext& ctx, std::shared_ptr<const ServerConfig> config,
                         std::vector<std::byte> datagram, net::Address client,
                         net::Address local, Gate::Holder holder, AdmissionTicket ticket) {
  (void)holder;
  (void)ticket;
  const auto started = Clock::now();
  ServerMetrics& metrics = *ctx.metrics;
  ServerMetrics::add(metrics.active);

  auto parsed = parse_packet(datagram);
  const Request& request = std::get<Request>(*parsed);  // the listener admitted only requests
  TransferRecord record;
  record.client = client.to_string();
  record.op = request.opcode == Opcode::kRrq ? "RRQ" : "WRQ";
  record.file.assign(request.filename);
  record.mode = std::string(mode_name(request.mode));

  TransferStats stats;
  PeerError peer;
  std::error_code failure;
  bool refused = false;  // ended before any transfer began

  auto sock = transfer_socket(local, *config);
  if (!sock) {
    failure = sock.error();
    refused = true;
    ctx.log->message(LogLevel::kWarning,
                     "no socket for a transfer to " + record.client + ": " + failure.message());
  }
  std::optional<Channel> channel;
  if (sock) channel.emplace(*sock, client);

  if (channel && request.mode == Mode::kMail) {
    co_await channel->send_error(ErrorCode::kIllegalOperation, "Mail mode not supported");
    failure = make_error_code(Errc::kUnknownMode);
    refused = true;
  } else if (channel && request.opcode == Opcode::kRrq) {
    FileRules rules = FileRules::from(*config);
    auto file = co_await open_for_reading(ctx.root_fd, request.filename, rules);
    std::optional<Negotiated> negotiated;
    if (!file) {
      failure = file.error();
    } else {
      std::optional<uint64_t> tsize;
      if (request.mode == Mode::kOctet) tsize = file->size;
      auto n = negotiate(request, config->option_limits(), tsize);
      if (n) negotiated = *n;
      else failure = n.error();
    }
    if (failure) {
      co_await refuse(*channel, failure);
      refused = true;
    } else {
      record.options = describe_options(*negotiated);
      std::array<std::byte, 256> oack_buf{};
      std::span<const std::byte> oack;
      if (negotiated->needs_oack()) {
        auto len = build_oack(oack_buf, *negotiated);
        if (len) oack = std::span(oack_buf).first(*len);
      }
      size_buffers(*sock, *negotiated);
      TransferParams params = transfer_params(*config, *negotiated);
      std::shared_ptr<const fs::Fd> fd = ctx.files->share(std::move(*file));
      std::unique_ptr<BlockSource> source;
      if (request.mode == Mode::kNetascii) {
        source = std::make_unique<NetasciiFileSource>(fd->get(), negotiated->blksize);
      } else {
        source = std::make_unique<OctetFileSource>(fd->get(), negotiated->blksize);
      }
      auto sent = co_await send_blocks(*channel, *source, *ctx.pool, params, oack, stats, &peer,
                                       ctx.stop);
      if (!sent) failure = sent.error();
      ServerMetrics::add(metrics.bytes_sent, stats.bytes);
    }
  } else if (channel) {  // WRQ
    FileRules rules = FileRules::from(*config);
    std::optional<Negotiated> negotiated;
    auto n = negotiate(request, config->option_limits(), std::nullopt);
    if (n) negotiated = *n;
    else failure = n.error();
    std::optional<Upload> upload;
    if (!failure) {
      auto opened = co_await open_for_writing(ctx.root_fd, request.filename, rules);
      if (opened) upload.emplace(std::move(*opened));
      else failure = opened.error();
    }
    if (failure) {
      co_await refuse(*channel, failure);
      refused = true;
    } else {
      record.options = describe_options(*negotiated);
      std::array<std::byte, 256> opening_buf{};
      Result<size_t> opening_len = negotiated->needs_oack() ? build_oack(opening_buf, *negotiated)
                                                             : build_ack(opening_buf, 0);
      size_buffers(*sock, *negotiated);
      // Nothing was received yet: the channel is replaced by one that receives DATA. Without
      // coalesced receives: their buffers hold up to 64 KiB each, and memory per transfer must
      // stay small on a server (up to 16 buffers of one packet here).
      ChannelOptions receiving =
          ChannelOptions::receiving_data(negotiated->blksize, negotiated->windowsize);
      receiving.coalesce_bytes = 0;
      channel.emplace(*sock, client, receiving);
      TransferParams params = transfer_params(*config, *negotiated);
      UploadSink sink(*upload, request.mode == Mode::kNetascii, config->max_upload_size);
      // Linger after the last ACK long enough for a client's retransmission of the last block
      // to find us (its timeout is unknown; the configured first wait is our best guess).
      auto received = co_await receive_blocks(
          *channel, sink, params, std::span(opening_buf).first(opening_len.value_or(0)),
          std::nullopt, params.policy.initial, stats, &peer, ctx.stop);
      if (!received) {
        failure = received.error();
        co_await upload->abort();  // nothing when it was already committed
      }
      ServerMetrics::add(metrics.bytes_received, stats.bytes);
    }
  }

  if (channel) {
    co_await channel->close();
    ServerMetrics::add(metrics.retransmits, stats.retransmits);
    ServerMetrics::add(metrics.timeouts, stats.timeouts);
    ServerMetrics::add(metrics.spurious_timeouts, stats.spurious_timeouts);
  }
  if (!failure) {
    ServerMetrics::add(metrics.completed);
    record.result = "ok";
  } else {
    ServerMetrics::add(refused ? metrics.refused : metrics.failed);
    record.result = failure == make_error_code(Errc::kPeerError)
                        ? "client error " + std::to_string(static_cast<int>(peer.code)) + ": " +
                              peer.message
                        : failure.message();
  }
  record.bytes = stats.bytes;
  record.duration = Clock::now() - started;
  record.retransmits = stats.retransmits;
  record.timeouts = stats.timeouts;
  record.spurious_timeouts = stats.spurious_timeouts;
  ctx.log->transfer(record);
  metrics.active.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace ringkit::tftp
