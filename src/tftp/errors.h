// TFTP error codes on the wire, and the library's own error values.
//
// ErrorCode is the 16-bit code carried by an ERROR packet (RFC 1350 §5 codes 0–7, RFC 2347
// code 8). standard_message() gives the text a server sends when it has nothing more specific.
//
// Errc is what this library's functions (packet parsing and building, option negotiation)
// return as std::error_code values inside ringkit::Result, so callers handle protocol failures
// the same way as engine failures. wire_error() says which ErrorCode a peer should be sent for
// each of them: a malformed packet is an "illegal TFTP operation" (4), a failed option
// negotiation is 8, an upload announced as too large is "disk full or allocation exceeded" (3).
//
// Everything here is a plain value or a constant: usable from any thread, no state.
#pragma once

#include <cstdint>
#include <string_view>
#include <system_error>

namespace ringkit::tftp {

// The ERROR packet's code. Values outside 0..8 can arrive on the wire; they are kept as
// numbers (static_cast<ErrorCode>(n)) and read as "not defined".
enum class ErrorCode : uint16_t {
  kNotDefined = 0,          // see the message
  kFileNotFound = 1,
  kAccessViolation = 2,
  kDiskFull = 3,            // disk full or allocation exceeded
  kIllegalOperation = 4,    // illegal TFTP operation: malformed or unexpected packet
  kUnknownTransferId = 5,   // a packet from a port that is not this transfer's peer
  kFileExists = 6,
  kNoSuchUser = 7,
  kOptionNegotiation = 8,   // RFC 2347: the transfer is refused because of its options
};

// The short standard text for `code` (what tftpd-hpa and atftpd send), e.g. "File not found".
// Codes above 8 read as kNotDefined's text.
std::string_view standard_message(ErrorCode code);

// Failures reported by this library. Parse errors come first; each names one malformed-packet
// class so that tests, logs and counters can tell them apart.
enum class Errc : int {
  // ---- parsing (peer gets ErrorCode::kIllegalOperation) ----
  kTruncated = 1,          // shorter than the fixed part its opcode requires (or < 2 bytes)
  kUnknownOpcode,          // opcode 0 or above 6
  kTooLong,                // longer than any valid TFTP datagram (kMaxPacketSize)
  kUnterminatedString,     // a filename, mode, option or value runs to the end without a NUL
  kEmptyFilename,          // RRQ/WRQ whose filename is ""
  kMissingMode,            // RRQ/WRQ with no mode string (or an empty one)
  kUnknownMode,            // a mode other than netascii, octet, mail (case-insensitive)
  // ---- building (a caller's bug or a too-small buffer; nothing is sent) ----
  kBufferTooSmall,         // the output span cannot hold the packet
  kInvalidField,           // a string with an embedded NUL, an empty name, a payload too long
  // ---- option negotiation, server side ----
  kUploadTooLarge,         // WRQ tsize above the configured maximum (peer gets kDiskFull)
  // ---- option negotiation, client side: validating an OACK (peer gets kOptionNegotiation) ----
  kUnrequestedOption,      // the OACK names an option the request did not carry
  kDuplicateOption,        // the OACK names one option twice
  kBadOptionValue,         // a value that is not a number in the option's range
  kOptionValueRaised,      // blksize/windowsize above what was asked (servers may only lower)
  kOptionValueChanged,     // timeout, or a WRQ's tsize, not echoed unchanged
  // ---- transfers ----
  kPeerError,              // the peer ended the transfer with an ERROR packet
  kProtocolViolation,      // the peer sent a packet that has no place in the transfer
};

const std::error_category& tftp_category();
std::error_code make_error_code(Errc e);

// The code to put in the ERROR packet sent to the peer when `error` (one of ours) stops a
// transfer. Errors from other categories map to kNotDefined.
ErrorCode wire_error(const std::error_code& error);

}  // namespace ringkit::tftp

template <>
struct std::is_error_code_enum<ringkit::tftp::Errc> : std::true_type {};
