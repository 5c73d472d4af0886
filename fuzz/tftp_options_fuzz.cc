// Fuzz target for option negotiation (src/tftp/options.h).
//
// Input: one datagram. If it parses as an RRQ or WRQ, the server negotiates it under several
// limit sets, and every result must respect its limits: blksize in 8..max, windowsize in 1..max,
// timeout inside the allowed range, each option acknowledged at most once, a WRQ's tsize under
// the upload limit. The OACK built from the result must parse back to exactly the accepted
// options, and a client that asked for what the request asked must accept it.
// If it parses as an OACK, the client checks it against a few sets of asked options; whatever
// it accepts must respect what was asked.
#include <algorithm>
#include <cstring>
#include <span>
#include <vector>

#include "fuzz_target.h"
#include "tftp/options.h"

namespace {

using namespace ringkit::tftp;

// What a client sending `request` asked for, when every option it named (first occurrence) is
// one a well-behaved client could ask for; nullopt otherwise.
std::optional<ClientOptions> asked_by(const Request& request) {
  ClientOptions asked;
  OptionSet seen;
  for (const Option& o : request.options) {
    auto id = option_id(o.name);
    if (!id || seen.contains(*id)) continue;
    seen.insert(*id);
    auto v = parse_decimal(o.value);
    if (!v) return std::nullopt;
    switch (*id) {
      case OptionId::kBlksize:
        if (*v < kMinBlockSize || *v > kMaxBlockSize) return std::nullopt;
        asked.blksize = static_cast<uint16_t>(*v);
        break;
      case OptionId::kWindowsize:
        if (*v < 1 || *v > 65535) return std::nullopt;
        asked.windowsize = static_cast<uint16_t>(*v);
        break;
      case OptionId::kTimeout:
        if (*v < 1 || *v > 255) return std::nullopt;
        asked.timeout = static_cast<uint8_t>(*v);
        break;
      case OptionId::kTsize:
        asked.tsize = *v;
        break;
    }
  }
  return asked;
}

void check_server(const Request& request, const ServerOptionLimits& limits,
                  std::optional<uint64_t> transfer_size) {
  auto n = negotiate(request, limits, transfer_size);
  const bool is_read = request.opcode == Opcode::kRrq;
  if (!n.ok()) {
    RINGKIT_FUZZ_CHECK(n.error() == Errc::kUploadTooLarge);
    RINGKIT_FUZZ_CHECK(!is_read && limits.max_upload_size.has_value());
    return;
  }
  const uint64_t max_blksize = std::clamp<uint64_t>(limits.max_blksize, kMinBlockSize, kMaxBlockSize);
  // Without the option the transfer runs at RFC 1350's 512 / 1, whatever the limits: a server
  // cannot lower what the client did not ask to change.
  bool acked_blksize = false, acked_windowsize = false;
  for (const AcceptedOption& a : n->oack()) {
    acked_blksize |= a.id == OptionId::kBlksize;
    acked_windowsize |= a.id == OptionId::kWindowsize;
  }
  if (acked_blksize) {
    RINGKIT_FUZZ_CHECK(n->blksize >= kMinBlockSize && n->blksize <= max_blksize);
  } else {
    RINGKIT_FUZZ_CHECK(n->blksize == kDefaultBlockSize);
  }
  if (acked_windowsize) {
    RINGKIT_FUZZ_CHECK(n->windowsize >= 1 && n->windowsize <= std::max<uint16_t>(limits.max_windowsize, 1));
  } else {
    RINGKIT_FUZZ_CHECK(n->windowsize == 1);
  }
  if (n->timeout) {
    RINGKIT_FUZZ_CHECK(*n->timeout >= limits.min_timeout && *n->timeout <= limits.max_timeout);
    RINGKIT_FUZZ_CHECK(*n->timeout >= 1);
  }
  OptionSet seen;
  for (const AcceptedOption& a : n->oack()) {
    RINGKIT_FUZZ_CHECK(!seen.contains(a.id));
    seen.insert(a.id);
    RINGKIT_FUZZ_CHECK(!limits.refused.contains(a.id));
    RINGKIT_FUZZ_CHECK(find_option(request.options, option_name(a.id)) != nullptr);
  }
  if (n->tsize && !is_read && limits.max_upload_size) RINGKIT_FUZZ_CHECK(*n->tsize <= *limits.max_upload_size);
  if (n->tsize && is_read) RINGKIT_FUZZ_CHECK(n->tsize == transfer_size);

  std::vector<std::byte> buf(kMaxPacketSize);
  auto len = build_oack(buf, *n);
  RINGKIT_FUZZ_CHECK(len.ok());
  auto oack = parse_packet(std::span<const std::byte>(buf).first(*len));
  RINGKIT_FUZZ_CHECK(oack.ok());
  const auto* o = std::get_if<Oack>(&*oack);
  RINGKIT_FUZZ_CHECK(o && o->options.size() == n->accepted_count);
  for (size_t i = 0; i < o->options.size(); ++i) {
    RINGKIT_FUZZ_CHECK(option_id(o->options[i].name) == n->accepted[i].id);
    RINGKIT_FUZZ_CHECK(parse_decimal(o->options[i].value) == n->accepted[i].value);
  }
  if (auto asked = asked_by(request)) {
    auto client = accept_oack(*o, *asked, request.opcode);
    RINGKIT_FUZZ_CHECK(client.ok());
    RINGKIT_FUZZ_CHECK(client->blksize == n->blksize && client->windowsize == n->windowsize);
    RINGKIT_FUZZ_CHECK(client->timeout == n->timeout && client->tsize == n->tsize);
  }
}

void check_client(const Oack& oack, const ClientOptions& asked, Opcode opcode) {
  auto n = accept_oack(oack, asked, opcode);
  if (!n.ok()) {
    RINGKIT_FUZZ_CHECK(wire_error(n.error()) == ErrorCode::kOptionNegotiation);
    return;
  }
  RINGKIT_FUZZ_CHECK(n->blksize >= kMinBlockSize);
  RINGKIT_FUZZ_CHECK(n->blksize <= asked.blksize.value_or(kDefaultBlockSize));
  RINGKIT_FUZZ_CHECK(n->windowsize >= 1 && n->windowsize <= asked.windowsize.value_or(1));
  RINGKIT_FUZZ_CHECK(!n->timeout || n->timeout == asked.timeout);
  RINGKIT_FUZZ_CHECK(!n->tsize || asked.tsize);
  if (opcode == Opcode::kWrq) {
    RINGKIT_FUZZ_CHECK(!n->tsize || n->tsize == asked.tsize);
  }
}

}  // namespace

RINGKIT_FUZZ_TARGET(tftp_options) {
  std::vector<std::byte> datagram(size);
  if (size) std::memcpy(datagram.data(), data, size);
  auto parsed = parse_packet(datagram);
  if (!parsed.ok()) return;

  if (const auto* request = std::get_if<Request>(&*parsed)) {
    ServerOptionLimits defaults;
    ServerOptionLimits pxe;  // a typical boot farm: one frame per block, modest windows
    pxe.max_blksize = 1468;
    pxe.max_windowsize = 16;
    pxe.min_timeout = 2;
    pxe.max_timeout = 10;
    pxe.max_upload_size = 1 << 20;
    ServerOptionLimits strict;  // in.tftpd -r for everything but blksize, odd limits
    strict.max_blksize = 3;
    strict.max_windowsize = 0;
    strict.refused = {OptionId::kTimeout, OptionId::kTsize, OptionId::kWindowsize};
    strict.max_upload_size = 0;
    check_server(*request, defaults, std::nullopt);
    check_server(*request, defaults, 0);
    check_server(*request, pxe, 123456789);
    check_server(*request, strict, UINT64_MAX);
  } else if (const auto* oack = std::get_if<Oack>(&*parsed)) {
    ClientOptions all;
    all.blksize = 1468;
    all.timeout = 5;
    all.tsize = 1000;
    all.windowsize = 8;
    ClientOptions big;
    big.blksize = 65464;
    big.windowsize = 65535;
    for (Opcode opcode : {Opcode::kRrq, Opcode::kWrq}) {
      check_client(*oack, ClientOptions{}, opcode);
      check_client(*oack, all, opcode);
      check_client(*oack, big, opcode);
    }
  }
}
