// RFC 2347 option negotiation: the server choosing what to acknowledge, and the client checking
// the OACK it gets back.
//
// Options understood: blksize (RFC 2348), timeout and tsize (RFC 2349), windowsize (RFC 7440).
// Server rules (negotiate()), in brief; docs/tftp-protocol.md has the full table:
//   - names are matched ASCII-case-insensitively; only the first occurrence of a name counts;
//   - unknown options, options the configuration refuses (in.tftpd -r) and options with a value
//     that is not a plain decimal number in range are ignored: not acknowledged, and the
//     transfer uses the RFC 1350 default for them;
//   - blksize < 8 ignored; above min(65464, limits.max_blksize) lowered to it;
//   - windowsize 0 ignored; above limits.max_windowsize lowered to it;
//   - timeout outside [limits.min_timeout, limits.max_timeout] (within 1..255) ignored,
//     otherwise acknowledged unchanged (RFC 2349: the server must not change it);
//   - tsize on RRQ: answered with the transfer size the caller states, or ignored when it states
//     none; on WRQ: echoed, or the request refused with kUploadTooLarge (ERROR 3) when above
//     limits.max_upload_size.
// The OACK lists the accepted options in the order the request named them, with lowercase
// names; when nothing is accepted, no OACK is sent (RFC 2347) and the transfer starts as in
// RFC 1350.
//
// Client rules (accept_oack()): every option in the OACK must have been asked for, once; blksize
// and windowsize may be lowered but not raised; timeout, and a WRQ's tsize, must come back
// unchanged; values must be numbers in range. Anything else is an error the client answers
// with ERROR 8 (wire_error()).
//
// Plain values and functions, no I/O: safe from any thread. Negotiated holds no pointers into
// the request.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string_view>

#include "ringkit/result.h"
#include "tftp/packet.h"

namespace ringkit::tftp {

enum class OptionId : uint8_t { kBlksize, kTimeout, kTsize, kWindowsize };
inline constexpr size_t kOptionCount = 4;

// "blksize", "timeout", "tsize", "windowsize".
std::string_view option_name(OptionId id);
// The option `name` denotes (any case), or nullopt for one we do not know.
std::optional<OptionId> option_id(std::string_view name);

// A plain decimal number: digits only, no sign or space, at least one digit, fits in 64 bits.
// Leading zeros are allowed. Anything else (including overflow) is nullopt.
std::optional<uint64_t> parse_decimal(std::string_view text);

// A set of OptionIds.
class OptionSet {
 public:
  OptionSet() = default;
  OptionSet(std::initializer_list<OptionId> ids) {
    for (OptionId id : ids) insert(id);
  }
  void insert(OptionId id) { bits_ |= bit(id); }
  bool contains(OptionId id) const { return (bits_ & bit(id)) != 0; }
  bool empty() const { return bits_ == 0; }

 private:
  static uint8_t bit(OptionId id) { return static_cast<uint8_t>(1u << static_cast<unsigned>(id)); }
  uint8_t bits_ = 0;
};

// What a server is willing to grant. Defaults are tftpd-hpa's where it has one.
struct ServerOptionLimits {
  // Largest blksize granted (in.tftpd -B). Default 65464, the RFC's maximum. PXE farms often set
  // 1468 so that a block fits one Ethernet frame: larger blocks fragment, and one lost fragment
  // loses the whole block. Values outside 8..65464 are brought into that range.
  uint16_t max_blksize = kMaxBlockSize;
  // Largest windowsize granted. Default 64: a window of 64 × 1468-byte blocks (~92 KiB) fills a
  // LAN pipe; larger windows cost socket buffer and a bigger burst to resend after a loss.
  // Values below 1 count as 1.
  uint16_t max_windowsize = 64;
  // Range of acceptable timeouts, seconds. Default 1..255, RFC 2349's whole range.
  uint8_t min_timeout = 1;
  uint8_t max_timeout = 255;
  // Largest upload a WRQ may announce with tsize; nullopt: no limit (the default). An upload
  // without tsize cannot be checked here; the server must also stop it while it is written.
  std::optional<uint64_t> max_upload_size;
  // Options never acknowledged (in.tftpd -r NAME), treated as if unknown. Default: none.
  OptionSet refused;
};

struct AcceptedOption {
  OptionId id;
  uint64_t value;
  friend bool operator==(const AcceptedOption&, const AcceptedOption&) = default;
};

// The parameters a transfer runs with, and (server side) the OACK that announces them.
struct Negotiated {
  uint16_t blksize = kDefaultBlockSize;
  uint16_t windowsize = 1;           // RFC 1350's stop-and-wait
  std::optional<uint8_t> timeout;    // seconds; nullopt: the endpoint's own default
  std::optional<uint64_t> tsize;     // the transfer size, when one was announced
  // Accepted options in request order. Invariant: each id at most once.
  std::array<AcceptedOption, kOptionCount> accepted{};
  uint8_t accepted_count = 0;

  std::span<const AcceptedOption> oack() const { return {accepted.data(), accepted_count}; }
  // RFC 2347: an OACK is sent only when at least one option was accepted.
  bool needs_oack() const { return accepted_count != 0; }
};

// Server side. `request` is a parsed RRQ/WRQ. `transfer_size` is what tsize on an RRQ answers:
// the number of bytes the DATA packets will carry (for netascii, the encoded size, see
// netascii.h), or nullopt to leave tsize unacknowledged (tftpd-hpa does so for netascii).
// Ignored for WRQ. Errors: kUploadTooLarge.
Result<Negotiated> negotiate(const Request& request, const ServerOptionLimits& limits,
                             std::optional<uint64_t> transfer_size);

// The OACK announcing `negotiated.oack()` (lowercase names, decimal values).
Result<size_t> build_oack(std::span<std::byte> out, const Negotiated& negotiated);

// ---- Client side ----

// What a client asks for; nullopt: not asked.
struct ClientOptions {
  std::optional<uint16_t> blksize;     // 8..65464
  std::optional<uint8_t> timeout;      // 1..255 seconds
  std::optional<uint64_t> tsize;       // RRQ: ask for the size (value sent is 0); WRQ: the size
  std::optional<uint16_t> windowsize;  // 1..65535
};

// An RRQ or WRQ asking for `options`. kInvalidField for a value out of its range, or as
// build_request() in packet.h.
Result<size_t> build_request(std::span<std::byte> out, Opcode opcode, std::string_view filename,
                             Mode mode, const ClientOptions& options);

// Checks the server's OACK against what was `asked` in a request of `opcode` and returns the
// parameters to run with. Errors (ERROR 8 to the server): kUnrequestedOption,
// kDuplicateOption, kBadOptionValue, kOptionValueRaised, kOptionValueChanged.
// When the server answers with DATA/ACK instead of an OACK, use Negotiated{} (RFC 1350 defaults).
Result<Negotiated> accept_oack(const Oack& oack, const ClientOptions& asked, Opcode opcode);

}  // namespace ringkit::tftp
