#include "tftp/options.h"

#include <algorithm>

#include "tftp/wire.h"

namespace ringkit::tftp {
namespace {

constexpr OptionId kAllOptions[] = {OptionId::kBlksize, OptionId::kTimeout, OptionId::kTsize,
                                    OptionId::kWindowsize};

void accept(Negotiated& n, OptionId id, uint64_t value) {
  n.accepted[n.accepted_count++] = AcceptedOption{id, value};
}

}  // namespace

std::string_view option_name(OptionId id) {
  switch (id) {
    case OptionId::kBlksize: return "blksize";
    case OptionId::kTimeout: return "timeout";
    case OptionId::kTsize: return "tsize";
    case OptionId::kWindowsize: return "windowsize";
  }
  return "";
}

std::optional<OptionId> option_id(std::string_view name) {
  for (OptionId id : kAllOptions) {
    if (iequals(name, option_name(id))) return id;
  }
  return std::nullopt;
}

std::optional<uint64_t> parse_decimal(std::string_view text) {
  // Stricter than strtoul (which tftpd-hpa uses): no whitespace, sign or base prefix. A value
  // like " 512" or "+512" is ignored rather than guessed at.
  if (text.empty()) return std::nullopt;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    unsigned digit = static_cast<unsigned>(c - '0');
    if (v > (UINT64_MAX - digit) / 10) return std::nullopt;
    v = v * 10 + digit;
  }
  return v;
}

Result<Negotiated> negotiate(const Request& request, const ServerOptionLimits& limits,
                             std::optional<uint64_t> transfer_size) {
  const bool is_read = request.opcode == Opcode::kRrq;
  const uint64_t max_blksize =
      std::clamp<uint64_t>(limits.max_blksize, kMinBlockSize, kMaxBlockSize);
  const uint64_t max_windowsize = std::max<uint64_t>(limits.max_windowsize, 1);
  const uint64_t min_timeout = std::max<uint64_t>(limits.min_timeout, 1);
  const uint64_t max_timeout = limits.max_timeout;

  Negotiated n;
  OptionSet seen;
  for (const Option& option : request.options) {
    auto id = option_id(option.name);
    if (!id || limits.refused.contains(*id)) continue;  // unknown or refused: as if absent
    // RFC 2347 says nothing about duplicates; only the first occurrence of a name counts, so the
    // OACK names each option at most once whatever the request holds.
    if (seen.contains(*id)) continue;
    seen.insert(*id);
    auto value = parse_decimal(option.value);
    if (!value) continue;  // not a number: ignored, like any option we cannot honour
    switch (*id) {
      case OptionId::kBlksize:
        // RFC 2348: valid values are 8..65464; the server may answer with a smaller one.
        // Below 8 there is no smaller valid value to offer, so the option is ignored (tftpd-hpa).
        if (*value < kMinBlockSize) break;
        n.blksize = static_cast<uint16_t>(std::min(*value, max_blksize));
        accept(n, *id, n.blksize);
        break;
      case OptionId::kWindowsize:
        // RFC 7440: 1..65535; the server may answer with a smaller one.
        if (*value < 1) break;
        n.windowsize = static_cast<uint16_t>(std::min(*value, max_windowsize));
        accept(n, *id, n.windowsize);
        break;
      case OptionId::kTimeout:
        // RFC 2349: 1..255 seconds, and the OACK must carry the value asked for, so a value we
        // do not like can only be ignored, not lowered.
        if (*value < min_timeout || *value > max_timeout || *value > 255) break;
        n.timeout = static_cast<uint8_t>(*value);
        accept(n, *id, *value);
        break;
      case OptionId::kTsize:
        if (is_read) {
          // RFC 2349: the client sends 0 and the server answers with the size. Clients that send
          // another number get the size too (tftpd-hpa does the same).
          if (!transfer_size) break;
          n.tsize = *transfer_size;
          accept(n, *id, *transfer_size);
        } else {
          if (limits.max_upload_size && *value > *limits.max_upload_size) {
            return make_error_code(Errc::kUploadTooLarge);
          }
          n.tsize = *value;
          accept(n, *id, *value);
        }
        break;
    }
  }
  return n;
}

Result<size_t> build_oack(std::span<std::byte> out, const Negotiated& negotiated) {
  detail::Writer w(out);
  w.u16(static_cast<uint16_t>(Opcode::kOack));
  for (const AcceptedOption& a : negotiated.oack()) {
    w.cstring(option_name(a.id), false);
    w.number(a.value);
  }
  return w.finish();
}

Result<size_t> build_request(std::span<std::byte> out, Opcode opcode, std::string_view filename,
                             Mode mode, const ClientOptions& options) {
  detail::Writer w(out);
  if (opcode != Opcode::kRrq && opcode != Opcode::kWrq) w.invalid();
  w.u16(static_cast<uint16_t>(opcode));
  w.cstring(filename, false);
  w.cstring(mode_name(mode), false);
  if (options.blksize) {
    if (*options.blksize < kMinBlockSize || *options.blksize > kMaxBlockSize) w.invalid();
    w.cstring(option_name(OptionId::kBlksize), false);
    w.number(*options.blksize);
  }
  if (options.timeout) {
    if (*options.timeout < 1) w.invalid();
    w.cstring(option_name(OptionId::kTimeout), false);
    w.number(*options.timeout);
  }
  if (options.tsize) {
    w.cstring(option_name(OptionId::kTsize), false);
    w.number(opcode == Opcode::kRrq ? 0 : *options.tsize);
  }
  if (options.windowsize) {
    if (*options.windowsize < 1) w.invalid();
    w.cstring(option_name(OptionId::kWindowsize), false);
    w.number(*options.windowsize);
  }
  return w.finish();
}

Result<Negotiated> accept_oack(const Oack& oack, const ClientOptions& asked, Opcode opcode) {
  Negotiated n;
  OptionSet seen;
  for (const Option& option : oack.options) {
    auto id = option_id(option.name);
    // RFC 2347: the OACK holds only options the client asked for. An unknown name can only be
    // one we did not ask for.
    if (!id) return make_error_code(Errc::kUnrequestedOption);
    if (seen.contains(*id)) return make_error_code(Errc::kDuplicateOption);
    seen.insert(*id);
    auto value = parse_decimal(option.value);
    switch (*id) {
      case OptionId::kBlksize:
        if (!asked.blksize) return make_error_code(Errc::kUnrequestedOption);
        if (!value || *value < kMinBlockSize) return make_error_code(Errc::kBadOptionValue);
        if (*value > *asked.blksize) return make_error_code(Errc::kOptionValueRaised);
        n.blksize = static_cast<uint16_t>(*value);
        break;
      case OptionId::kWindowsize:
        if (!asked.windowsize) return make_error_code(Errc::kUnrequestedOption);
        if (!value || *value < 1) return make_error_code(Errc::kBadOptionValue);
        if (*value > *asked.windowsize) return make_error_code(Errc::kOptionValueRaised);
        n.windowsize = static_cast<uint16_t>(*value);
        break;
      case OptionId::kTimeout:
        if (!asked.timeout) return make_error_code(Errc::kUnrequestedOption);
        if (!value) return make_error_code(Errc::kBadOptionValue);
        if (*value != *asked.timeout) return make_error_code(Errc::kOptionValueChanged);
        n.timeout = *asked.timeout;
        break;
      case OptionId::kTsize:
        if (!asked.tsize) return make_error_code(Errc::kUnrequestedOption);
        if (!value) return make_error_code(Errc::kBadOptionValue);
        if (opcode != Opcode::kRrq && *value != *asked.tsize) {
          return make_error_code(Errc::kOptionValueChanged);
        }
        n.tsize = *value;
        break;
    }
    accept(n, *id, *value);
  }
  return n;
}

}  // namespace ringkit::tftp
