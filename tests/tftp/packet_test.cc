// TFTP packets: golden bytes from the RFCs' figures, round trips of every packet type, every
// malformed-packet class, the leniencies copied from tftpd-hpa, and builder failures.
#include "tftp/packet.h"

#include <gtest/gtest.h>

#include <cstring>
#include <deque>
#include <string>
#include <vector>

#include "tftp_test_util.h"

namespace ringkit::tftp {
namespace {

using namespace std::string_literals;
using testing::as_span;
using testing::as_string;
using testing::built;

// Parsed packets borrow from their datagram, so the datagrams these tests parse are kept alive
// for the whole run (callers pass temporaries).
const std::string& keep(const std::string& wire) {
  static std::deque<std::string> kept;
  return kept.emplace_back(wire);
}

Packet parse_ok(const std::string& wire_in) {
  const std::string& wire = keep(wire_in);
  auto p = parse_packet(as_span(wire));
  EXPECT_TRUE(p.ok()) << p.error().message();
  return p.ok() ? *p : Packet{};
}

std::error_code parse_error(const std::string& wire) {
  auto p = parse_packet(as_span(wire));
  EXPECT_FALSE(p.ok());
  return p.ok() ? std::error_code() : p.error();
}

// ---- golden vectors (RFC 1350 §5 figures 5-1..5-4, RFC 2347's example exchange) ----

TEST(TftpPacket, GoldenReadRequest) {
  const std::string wire = "\x00\x01" "foobar\0" "octet\0"s;
  Request want{Opcode::kRrq, "foobar", Mode::kOctet, "octet", {}};
  EXPECT_EQ(parse_ok(wire), Packet(want));
  EXPECT_EQ(built([&](auto out) { return build_request(out, want); }), wire);
}

TEST(TftpPacket, GoldenWriteRequestNetascii) {
  const std::string wire = "\x00\x02" "a/b.txt\0" "netascii\0"s;
  Request want{Opcode::kWrq, "a/b.txt", Mode::kNetascii, "netascii", {}};
  EXPECT_EQ(parse_ok(wire), Packet(want));
  EXPECT_EQ(built([&](auto out) { return build_request(out, want); }), wire);
}

TEST(TftpPacket, GoldenRequestWithOptionsFromRfc2347) {
  // RFC 2347 §"Example": |1|foofile|0|octet|0|blksize|0|1432|0|
  const std::string wire = "\x00\x01" "foofile\0" "octet\0" "blksize\0" "1432\0"s;
  Request want{Opcode::kRrq, "foofile", Mode::kOctet, "octet", {{"blksize", "1432"}}};
  EXPECT_EQ(parse_ok(wire), Packet(want));
  EXPECT_EQ(built([&](auto out) { return build_request(out, want); }), wire);
}

TEST(TftpPacket, GoldenOack) {
  // RFC 2347: |6|blksize|0|1432|0|
  const std::string wire = "\x00\x06" "blksize\0" "1432\0"s;
  Oack want{{{"blksize", "1432"}}};
  EXPECT_EQ(parse_ok(wire), Packet(want));
  EXPECT_EQ(built([&](auto out) { return build_oack(out, want.options); }), wire);
}

TEST(TftpPacket, GoldenData) {
  const std::string wire = "\x00\x03\x00\x01" "hello"s;
  auto p = parse_ok(wire);
  ASSERT_TRUE(std::holds_alternative<Data>(p));
  EXPECT_EQ(std::get<Data>(p).block, 1);
  EXPECT_EQ(as_string(std::get<Data>(p).payload), "hello");
  EXPECT_EQ(built([&](auto out) { return build_data(out, 1, as_span("hello"s)); }), wire);
}

TEST(TftpPacket, GoldenAckBigEndian) {
  const std::string wire = "\x00\x04\x12\x34"s;
  EXPECT_EQ(parse_ok(wire), Packet(Ack{0x1234}));
  EXPECT_EQ(built([](auto out) { return build_ack(out, 0x1234); }), wire);
}

TEST(TftpPacket, GoldenError) {
  const std::string wire = "\x00\x05\x00\x01" "File not found\0"s;
  EXPECT_EQ(parse_ok(wire), Packet(Error{ErrorCode::kFileNotFound, "File not found"}));
  EXPECT_EQ(built([](auto out) { return build_error(out, ErrorCode::kFileNotFound); }), wire);
  EXPECT_EQ(built([](auto out) { return build_error(out, ErrorCode::kFileNotFound, "File not found"); }),
            wire);
}

TEST(TftpPacket, EmptyDataAndEmptyOackAreValid) {
  // An empty DATA block ends a transfer whose size is a multiple of blksize.
  EXPECT_EQ(parse_ok("\x00\x03\x00\x07"s), Packet(Data{7, {}}));
  EXPECT_EQ(parse_ok("\x00\x06"s), Packet(Oack{}));
  EXPECT_EQ(parse_ok("\x00\x05\x00\x00"s), Packet(Error{ErrorCode::kNotDefined, ""}));
}

// ---- round trips ----

std::vector<Packet> sample_packets(const std::string& storage) {
  auto payload = as_span(storage);
  return {
      Request{Opcode::kRrq, "pxelinux.0", Mode::kOctet, "octet", {}},
      Request{Opcode::kWrq, "up/load.bin", Mode::kOctet, "OcTeT",
              {{"tsize", "1048576"}, {"blksize", "1468"}, {"x-vendor", "yes"}}},
      Request{Opcode::kRrq, "mailbox", Mode::kMail, "MAIL", {}},
      Request{Opcode::kRrq, "f", Mode::kNetascii, "", {{"windowsize", "16"}}},
      Data{0, {}},
      Data{65535, payload},
      Data{1, payload.first(1)},
      Ack{0},
      Ack{65535},
      Error{ErrorCode::kOptionNegotiation, "bad blksize"},
      Error{static_cast<ErrorCode>(4711), ""},
      Oack{{{"tsize", "0"}, {"timeout", "3"}}},
      Oack{},
  };
}

TEST(TftpPacket, EveryTypeRoundTrips) {
  std::string storage(kMaxBlockSize, 'x');
  for (const Packet& packet : sample_packets(storage)) {
    SCOPED_TRACE(static_cast<int>(opcode_of(packet)));
    std::string wire = built([&](auto out) { return build_packet(out, packet); });
    ASSERT_EQ(wire.find("<error"), std::string::npos) << wire;
    Packet back = parse_ok(wire);
    Packet want = packet;
    // A request built with an empty mode_text carries the canonical name on the wire.
    if (auto* r = std::get_if<Request>(&want); r && r->mode_text.empty()) r->mode_text = mode_name(r->mode);
    EXPECT_EQ(back, want);
    // And bytes -> packet -> bytes is the identity for packets we built.
    EXPECT_EQ(built([&](auto out) { return build_packet(out, back); }), wire);
  }
}

TEST(TftpPacket, ModesAreCaseInsensitiveAndKeepTheirText) {
  for (const char* text : {"octet", "OCTET", "Octet", "oCtEt"}) {
    auto p = parse_ok("\x00\x01" "f\0"s + text + "\0"s);
    ASSERT_TRUE(std::holds_alternative<Request>(p));
    EXPECT_EQ(std::get<Request>(p).mode, Mode::kOctet);
    EXPECT_EQ(std::get<Request>(p).mode_text, text);
  }
  EXPECT_EQ(std::get<Request>(parse_ok("\x00\x01" "f\0" "NetAscii\0"s)).mode, Mode::kNetascii);
  EXPECT_EQ(std::get<Request>(parse_ok("\x00\x02" "root\0" "mail\0"s)).mode, Mode::kMail);
  EXPECT_EQ(parse_mode("binary"), std::nullopt);
  EXPECT_EQ(parse_mode("octet "), std::nullopt);
  EXPECT_EQ(parse_mode("octe"), std::nullopt);
}

TEST(TftpPacket, OptionsKeepCaseOrderAndDuplicates) {
  auto p = parse_ok("\x00\x01" "f\0" "octet\0" "BlkSize\0" "1024\0" "tsize\0" "0\0" "blksize\0" "512\0"s);
  const auto& r = std::get<Request>(p);
  ASSERT_EQ(r.options.size(), 3u);
  EXPECT_EQ(r.options[0], (Option{"BlkSize", "1024"}));
  EXPECT_EQ(r.options[2], (Option{"blksize", "512"}));
  const Option* first = find_option(r.options, "BLKSIZE");
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->value, "1024") << "lookups find the first occurrence";
  EXPECT_EQ(find_option(r.options, "windowsize"), nullptr);
}

TEST(TftpPacket, DataParseBorrowsWithoutCopy) {
  const std::string wire = "\x00\x03\x00\x02" "abc"s;
  auto p = parse_packet(as_span(wire));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(reinterpret_cast<const char*>(std::get<Data>(*p).payload.data()), wire.data() + 4);
}

TEST(TftpPacket, DataBuiltInPlaceIsNotMoved) {
  std::vector<std::byte> buf(kDataHeaderSize + 3);
  std::string body = "xyz";
  std::memcpy(buf.data() + kDataHeaderSize, body.data(), body.size());
  auto n = build_data(buf, 0xabcd, std::span<const std::byte>(buf).subspan(kDataHeaderSize));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(as_string(std::span<const std::byte>(buf).first(*n)), "\x00\x03\xab\xcd" "xyz"s);

  std::vector<std::byte> header(kDataHeaderSize);
  write_data_header(header, 0x0102);
  EXPECT_EQ(as_string(header), "\x00\x03\x01\x02"s);
}

TEST(TftpPacket, LargestDataIsAcceptedOneMoreByteIsNot) {
  std::string max = "\x00\x03\x00\x01"s + std::string(kMaxBlockSize, 'z');
  auto p = parse_ok(max);
  EXPECT_EQ(std::get<Data>(p).payload.size(), kMaxBlockSize);
  EXPECT_EQ(parse_error(max + "z"), Errc::kTooLong);
  std::string big(kMaxBlockSize + 1, 'z');
  EXPECT_EQ(built([&](auto out) { return build_data(out, 1, as_span(big)); }),
            "<error: invalid packet field>");
}

// ---- every malformed-packet class ----

struct Malformed {
  const char* what;
  std::string wire;
  Errc error;
};

TEST(TftpPacket, EveryMalformedClassIsATypedError) {
  const Malformed cases[] = {
      {"empty datagram", ""s, Errc::kTruncated},
      {"one byte", "\x00"s, Errc::kTruncated},
      {"opcode 0", "\x00\x00" "f\0" "octet\0"s, Errc::kUnknownOpcode},
      {"opcode 7", "\x00\x07\x00\x01"s, Errc::kUnknownOpcode},
      {"opcode 0x0101", "\x01\x01\x00\x01"s, Errc::kUnknownOpcode},
      {"opcode 0xffff", "\xff\xff"s, Errc::kUnknownOpcode},
      {"RRQ with nothing after the opcode", "\x00\x01"s, Errc::kTruncated},
      {"DATA without block", "\x00\x03\x00"s, Errc::kTruncated},
      {"ACK without block", "\x00\x04"s, Errc::kTruncated},
      {"ACK with half a block", "\x00\x04\x01"s, Errc::kTruncated},
      {"ERROR without code", "\x00\x05\x00"s, Errc::kTruncated},
      {"filename without NUL", "\x00\x01" "foo"s, Errc::kUnterminatedString},
      {"mode without NUL", "\x00\x01" "foo\0" "octet"s, Errc::kUnterminatedString},
      {"option name without NUL", "\x00\x01" "f\0" "octet\0" "blksize"s, Errc::kUnterminatedString},
      {"option value without NUL", "\x00\x01" "f\0" "octet\0" "blksize\0" "512"s,
       Errc::kUnterminatedString},
      {"OACK name without NUL", "\x00\x06" "tsize"s, Errc::kUnterminatedString},
      {"OACK value without NUL", "\x00\x06" "tsize\0" "12"s, Errc::kUnterminatedString},
      {"empty filename", "\x00\x01\x00" "octet\0"s, Errc::kEmptyFilename},
      {"WRQ empty filename", "\x00\x02\x00\x00"s, Errc::kEmptyFilename},
      {"no mode", "\x00\x01" "foo\0"s, Errc::kMissingMode},
      {"empty mode", "\x00\x01" "foo\0\0"s, Errc::kMissingMode},
      {"unknown mode", "\x00\x01" "foo\0" "binary\0"s, Errc::kUnknownMode},
      {"mode with trailing space", "\x00\x01" "foo\0" "octet \0"s, Errc::kUnknownMode},
      {"DATA one byte too long", "\x00\x03\x00\x01"s + std::string(kMaxBlockSize + 1, 'a'),
       Errc::kTooLong},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    auto p = parse_packet(as_span(c.wire));
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.error(), c.error) << p.error().message();
    EXPECT_EQ(wire_error(p.error()), ErrorCode::kIllegalOperation);
  }
}

TEST(TftpPacket, EveryPrefixOfAValidPacketParsesOrFailsCleanly) {
  // A receive cut short anywhere must give a typed error (or a shorter valid packet), never a
  // read past the end: the bytes live in a vector of exactly the prefix length, so ASan would
  // catch an overread in the sanitizer build.
  const std::string wire = "\x00\x02" "dir/file\0" "octet\0" "blksize\0" "1468\0" "tsize\0" "99\0"s;
  int errors = 0;
  for (size_t len = 0; len <= wire.size(); ++len) {
    std::vector<std::byte> prefix(len);
    if (len) std::memcpy(prefix.data(), wire.data(), len);
    auto p = parse_packet(prefix);
    if (!p.ok()) {
      ++errors;
      continue;
    }
    const auto& r = std::get<Request>(*p);
    EXPECT_EQ(r.filename, "dir/file");
    EXPECT_LE(r.options.size(), 2u);
  }
  // Valid prefixes: after the mode's NUL, after "blksize\0" (name without value is dropped),
  // after "1468\0", after "tsize\0", and the whole packet.
  EXPECT_EQ(errors, static_cast<int>(wire.size() + 1) - 5);
}

// ---- leniencies (tftpd-hpa's behaviour; see packet.h) ----

TEST(TftpPacket, PaddingAfterOptionsIsIgnored) {
  auto p = parse_ok("\x00\x01" "f\0" "octet\0" "tsize\0" "0\0" "\0\0\0"s);
  EXPECT_EQ(std::get<Request>(p).options, (std::vector<Option>{{"tsize", "0"}}));
  // Everything after the first empty string is ignored, even an unterminated string.
  auto q = parse_ok("\x00\x01" "f\0" "octet\0" "\0" "garbage"s);
  EXPECT_TRUE(std::get<Request>(q).options.empty());
  auto oack = parse_ok("\x00\x06" "blksize\0" "512\0" "\0" "junk"s);
  EXPECT_EQ(std::get<Oack>(oack).options.size(), 1u);
}

TEST(TftpPacket, OptionWithoutValueOrWithEmptyValueIsDropped) {
  auto p = parse_ok("\x00\x01" "f\0" "octet\0" "tsize\0" "0\0" "blksize\0"s);
  EXPECT_EQ(std::get<Request>(p).options, (std::vector<Option>{{"tsize", "0"}}));
  auto q = parse_ok("\x00\x01" "f\0" "octet\0" "blksize\0\0" "tsize\0" "0\0"s);
  EXPECT_TRUE(std::get<Request>(q).options.empty()) << "the empty value ends the list";
}

TEST(TftpPacket, AckIgnoresTrailingBytes) {
  EXPECT_EQ(parse_ok("\x00\x04\x00\x09" "pad"s), Packet(Ack{9}));
}

TEST(TftpPacket, ErrorMessageWithoutNulOrWithTrailingBytes) {
  EXPECT_EQ(parse_ok("\x00\x05\x00\x02" "denied"s), Packet(Error{ErrorCode::kAccessViolation, "denied"}));
  EXPECT_EQ(parse_ok("\x00\x05\x00\x02" "denied\0" "xx"s),
            Packet(Error{ErrorCode::kAccessViolation, "denied"}));
  auto odd = parse_ok("\x00\x05\x12\x34" "?\0"s);
  EXPECT_EQ(static_cast<uint16_t>(std::get<Error>(odd).code), 0x1234);
}

TEST(TftpPacket, LongRequestsAreAccepted) {
  // RFC 2347 limits requests to 512 bytes, but tftpd-hpa reads them into a 65468-byte buffer and
  // clients with deep paths rely on that.
  std::string name(3000, 'n');
  auto p = parse_ok("\x00\x01"s + name + "\0" "octet\0"s);
  EXPECT_EQ(std::get<Request>(p).filename.size(), 3000u);
}

// ---- builders ----

TEST(TftpPacket, BuildersReportTooSmallBuffersAtEverySize) {
  std::string storage = "payload";
  for (const Packet& packet : sample_packets(storage)) {
    std::vector<std::byte> big(70000);
    auto full = build_packet(big, packet);
    ASSERT_TRUE(full.ok());
    for (size_t cap = 0; cap < *full; ++cap) {
      std::vector<std::byte> small(cap);
      auto n = build_packet(small, packet);
      ASSERT_FALSE(n.ok()) << "capacity " << cap;
      EXPECT_EQ(n.error(), Errc::kBufferTooSmall);
    }
    std::vector<std::byte> exact(*full);
    EXPECT_TRUE(build_packet(exact, packet).ok());
  }
}

TEST(TftpPacket, BuildersRejectFieldsTheWireCannotCarry) {
  auto bad = [](const Packet& p) {
    return built([&](auto out) { return build_packet(out, p); });
  };
  const std::string invalid = "<error: invalid packet field>";
  EXPECT_EQ(bad(Request{Opcode::kRrq, "", Mode::kOctet, "", {}}), invalid);
  EXPECT_EQ(bad(Request{Opcode::kRrq, "a\0b"s, Mode::kOctet, "", {}}), invalid);
  EXPECT_EQ(bad(Request{Opcode::kAck, "f", Mode::kOctet, "", {}}), invalid);
  EXPECT_EQ(bad(Request{Opcode::kRrq, "f", Mode::kOctet, "netascii", {}}), invalid);
  EXPECT_EQ(bad(Request{Opcode::kRrq, "f", Mode::kOctet, "", {{"", "1"}}}), invalid);
  EXPECT_EQ(bad(Request{Opcode::kRrq, "f", Mode::kOctet, "", {{"tsize", ""}}}), invalid);
  EXPECT_EQ(bad(Request{Opcode::kRrq, "f", Mode::kOctet, "", {{"ts\0ze"s, "0"}}}), invalid);
  EXPECT_EQ(bad(Oack{{{"blksize", ""}}}), invalid);
  EXPECT_EQ(bad(Error{ErrorCode::kNotDefined, "a\0b"s}), invalid);
  // A too-small buffer does not hide an invalid field.
  std::vector<std::byte> tiny(1);
  auto n = build_request(tiny, Request{Opcode::kRrq, "", Mode::kOctet, "", {}});
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error(), Errc::kInvalidField);
}

}  // namespace
}  // namespace ringkit::tftp
