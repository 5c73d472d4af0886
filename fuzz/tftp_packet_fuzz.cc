// Fuzz target for TFTP packet parsing (src/tftp/packet.h).
//
// Input: one datagram. Parsing must never crash or read outside it. When it yields a packet,
// building that packet again must succeed and parse back to an equal packet, and building the
// re-parsed packet must give the same bytes (parse ∘ build is the identity on parsed packets).
// A DATA packet must also round-trip through the in-place hot path (write_data_header).
#include <cstring>
#include <span>
#include <vector>

#include "fuzz_target.h"
#include "tftp/packet.h"

RINGKIT_FUZZ_TARGET(tftp_packet) {
  using namespace ringkit::tftp;
  // Copy into a buffer of exactly `size` bytes so that ASan sees any overread.
  std::vector<std::byte> datagram(size);
  if (size) std::memcpy(datagram.data(), data, size);
  auto parsed = parse_packet(datagram);
  if (!parsed.ok()) {
    RINGKIT_FUZZ_CHECK(parsed.error().category() == tftp_category());
    RINGKIT_FUZZ_CHECK(wire_error(parsed.error()) == ErrorCode::kIllegalOperation);
    return;
  }
  // An ERROR whose message lacks its NUL grows by one byte when rebuilt; nothing else grows.
  std::vector<std::byte> out(size + 1);
  auto n = build_packet(out, *parsed);
  RINGKIT_FUZZ_CHECK(n.ok());
  RINGKIT_FUZZ_CHECK(*n <= size + 1);
  auto again = parse_packet(std::span<const std::byte>(out).first(*n));
  RINGKIT_FUZZ_CHECK(again.ok());
  RINGKIT_FUZZ_CHECK(*again == *parsed);
  RINGKIT_FUZZ_CHECK(opcode_of(*again) == opcode_of(*parsed));

  std::vector<std::byte> out2(*n);
  auto n2 = build_packet(out2, *again);
  RINGKIT_FUZZ_CHECK(n2.ok() && *n2 == *n);
  RINGKIT_FUZZ_CHECK(std::memcmp(out.data(), out2.data(), *n) == 0);

  if (const auto* d = std::get_if<Data>(&*parsed)) {
    std::vector<std::byte> pkt(kDataHeaderSize + d->payload.size());
    if (!d->payload.empty()) std::memcpy(pkt.data() + kDataHeaderSize, d->payload.data(), d->payload.size());
    write_data_header(pkt, d->block);
    RINGKIT_FUZZ_CHECK(pkt.size() == *n && std::memcmp(pkt.data(), out.data(), *n) == 0);
  }
}
