// TFTP packets: parsing any datagram into a typed packet, and building each packet into a
// caller's buffer. Wire formats (RFC 1350 §5, RFC 2347 for OACK; docs/tftp-protocol.md):
//
//   RRQ/WRQ  | 01/02 | filename | 0 | mode | 0 | [ name | 0 | value | 0 ]...
//   DATA     | 03    | block (2) | 0..65464 bytes of data
//   ACK      | 04    | block (2)
//   ERROR    | 05    | code (2)  | message | 0
//   OACK     | 06    | [ name | 0 | value | 0 ]...
// Opcodes, blocks and codes are big-endian 16-bit numbers.
//
// parse_packet() is total: every byte string yields a Packet or an Errc parse error; it never
// reads outside the span, never throws (except std::bad_alloc for a request's option list) and
// keeps no state. Its leniencies, each one what tftpd-hpa does, are listed at parse_packet.
//
// Ownership: a parsed Packet BORROWS from the datagram it was parsed from (filenames, options,
// messages and DATA payloads are views into it), so the datagram buffer must outlive the
// Packet. Parsing DATA, ACK and ERROR allocates nothing; RRQ/WRQ/OACK allocate their option
// vector. Builders write into the caller's span and allocate nothing; they return the number
// of bytes written, or kBufferTooSmall / kInvalidField.
//
// Plain functions and values: safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <variant>
#include <vector>

#include "ringkit/result.h"
#include "tftp/errors.h"

namespace ringkit::tftp {

inline constexpr size_t kDefaultBlockSize = 512;   // RFC 1350
inline constexpr size_t kMinBlockSize = 8;         // RFC 2348
inline constexpr size_t kMaxBlockSize = 65464;     // RFC 2348's upper bound
inline constexpr size_t kDataHeaderSize = 4;       // opcode + block
// The largest DATA packet. A receive buffer of kMaxPacketSize + 1 bytes tells a maximal packet
// from a truncated one.
inline constexpr size_t kMaxPacketSize = kDataHeaderSize + kMaxBlockSize;

enum class Opcode : uint16_t {
  kRrq = 1,
  kWrq = 2,
  kData = 3,
  kAck = 4,
  kError = 5,
  kOack = 6,  // RFC 2347
};

enum class Mode : uint8_t { kNetascii, kOctet, kMail };

// "netascii", "octet", "mail".
std::string_view mode_name(Mode mode);
// The mode named by `text`, compared ASCII-case-insensitively ("OCTET" is octet).
std::optional<Mode> parse_mode(std::string_view text);
// ASCII case-insensitive equality (option and mode names; never locale-dependent).
bool iequals(std::string_view a, std::string_view b);

// One option as it appeared on the wire: name and value, case preserved, no NULs inside.
struct Option {
  std::string_view name;
  std::string_view value;
  friend bool operator==(const Option&, const Option&) = default;
};

// The first option named `name` (case-insensitively), or null.
const Option* find_option(std::span<const Option> options, std::string_view name);

struct Request {
  Opcode opcode = Opcode::kRrq;   // kRrq or kWrq
  std::string_view filename;      // never empty, no NUL
  Mode mode = Mode::kOctet;
  std::string_view mode_text;     // as sent ("OCTET"); builders use mode_name(mode) when empty
  std::vector<Option> options;    // in wire order; duplicates kept (negotiation uses the first)
  friend bool operator==(const Request&, const Request&) = default;
};

struct Data {
  uint16_t block = 0;
  std::span<const std::byte> payload;  // 0..kMaxBlockSize bytes
  friend bool operator==(const Data& a, const Data& b);
};

struct Ack {
  uint16_t block = 0;
  friend bool operator==(const Ack&, const Ack&) = default;
};

struct Error {
  ErrorCode code = ErrorCode::kNotDefined;  // may be any 16-bit value from the wire
  std::string_view message;                 // no NUL
  friend bool operator==(const Error&, const Error&) = default;
};

struct Oack {
  std::vector<Option> options;  // in wire order
  friend bool operator==(const Oack&, const Oack&) = default;
};

using Packet = std::variant<Request, Data, Ack, Error, Oack>;

Opcode opcode_of(const Packet& packet);

// Parses one datagram. Errors (all Errc, all answered with ERROR 4 by a server):
//   kTruncated          < 2 bytes; DATA/ACK/ERROR < 4 bytes; RRQ/WRQ with nothing after the
//                       opcode
//   kUnknownOpcode      opcode 0 or > 6
//   kTooLong            DATA with more than kMaxBlockSize bytes of data
//   kUnterminatedString a filename, mode, option name or value without its NUL
//   kEmptyFilename      RRQ/WRQ whose filename is ""
//   kMissingMode        RRQ/WRQ with no mode, or an empty one
//   kUnknownMode        a mode other than netascii/octet/mail, in any case
// Leniencies (RFCs silent; each is what tftpd-hpa does, so clients that work with it work here):
//   - option lists end at the first empty string: NUL padding after the last option, and
//     anything after it, is ignored; an option whose value is empty is dropped;
//   - a final option name with no value at all is dropped;
//   - an ACK longer than 4 bytes is an ACK (the extra bytes are ignored);
//   - an ERROR message without its NUL runs to the end of the datagram; bytes after the NUL are
//     ignored (the transfer ends either way; keeping the message helps the log);
//   - requests, OACKs and ERRORs have no length limit here beyond the datagram's: RFC 2347's
//     512-byte request limit binds clients, and tftpd-hpa accepts longer ones.
//   - duplicate options are kept as they came; negotiation considers the first (options.h).
Result<Packet> parse_packet(std::span<const std::byte> datagram);

// ---- Builders ----
// Each returns the bytes written to the front of `out`, kBufferTooSmall when `out` is too short
// (nothing useful is left in it then) or kInvalidField for a value the wire cannot carry.

// The DATA header alone, for the hot path: read the file straight into
// out.subspan(kDataHeaderSize) and send out.first(kDataHeaderSize + n); no copy.
// REQUIRES: out.size() >= kDataHeaderSize.
void write_data_header(std::span<std::byte> out, uint16_t block);

// DATA. `payload` may already sit at out.subspan(kDataHeaderSize) (then it is not copied) or
// anywhere else. kInvalidField when longer than kMaxBlockSize.
Result<size_t> build_data(std::span<std::byte> out, uint16_t block,
                          std::span<const std::byte> payload);
Result<size_t> build_ack(std::span<std::byte> out, uint16_t block);
// ERROR with `message` verbatim (kInvalidField if it holds a NUL).
Result<size_t> build_error(std::span<std::byte> out, ErrorCode code, std::string_view message);
// ERROR with standard_message(code).
Result<size_t> build_error(std::span<std::byte> out, ErrorCode code);
// RRQ/WRQ. kInvalidField: opcode not RRQ/WRQ, empty filename, mode_text that does not name
// `mode`, an option name or value that is empty (it would end the list) or any NUL inside.
Result<size_t> build_request(std::span<std::byte> out, const Request& request);
// OACK from options (same rules for names and values).
Result<size_t> build_oack(std::span<std::byte> out, std::span<const Option> options);
// Any packet; parse_packet(out.first(n)) gives back an equal Packet.
Result<size_t> build_packet(std::span<std::byte> out, const Packet& packet);

}  // namespace ringkit::tftp
