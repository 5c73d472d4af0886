#include "tftp/packet.h"

#include <algorithm>
#include <cstring>

#include "tftp/wire.h"

namespace ringkit::tftp {
namespace {

uint16_t read_u16(std::span<const std::byte> d, size_t at) {
  return static_cast<uint16_t>((std::to_integer<unsigned>(d[at]) << 8) |
                               std::to_integer<unsigned>(d[at + 1]));
}

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// Reads NUL-terminated strings from a datagram without ever looking past its end.
class StringReader {
 public:
  StringReader(std::span<const std::byte> d, size_t pos) : d_(d), pos_(pos) {}

  bool at_end() const { return pos_ >= d_.size(); }

  // The next string, or nullopt when no NUL ends it before the datagram does. Moves past the NUL.
  std::optional<std::string_view> next() {
    const auto* begin = reinterpret_cast<const char*>(d_.data()) + pos_;
    size_t left = d_.size() - pos_;
    const void* nul = left ? std::memchr(begin, 0, left) : nullptr;
    if (!nul) return std::nullopt;
    size_t len = static_cast<size_t>(static_cast<const char*>(nul) - begin);
    pos_ += len + 1;
    return std::string_view(begin, len);
  }

 private:
  std::span<const std::byte> d_;
  size_t pos_;
};

// The option list of a request (after the mode) or of an OACK. Grammar and leniencies are those
// of tftpd-hpa (see parse_packet in the header): the list ends at the end of the datagram or at
// the first empty string; a name without a value, or with an empty value, is dropped.
Result<std::vector<Option>> parse_options(StringReader& reader) {
  std::vector<Option> options;
  while (!reader.at_end()) {
    auto name = reader.next();
    if (!name) return make_error_code(Errc::kUnterminatedString);
    if (name->empty()) break;      // padding: ignore the rest
    if (reader.at_end()) break;    // a name with no value at all: dropped
    auto value = reader.next();
    if (!value) return make_error_code(Errc::kUnterminatedString);
    if (value->empty()) break;     // tftpd-hpa stops at the empty string, dropping the name
    options.push_back(Option{*name, *value});
  }
  return options;
}

Result<Packet> parse_request(Opcode opcode, std::span<const std::byte> d) {
  if (d.size() <= 2) return make_error_code(Errc::kTruncated);
  StringReader reader(d, 2);
  auto filename = reader.next();
  if (!filename) return make_error_code(Errc::kUnterminatedString);
  if (filename->empty()) return make_error_code(Errc::kEmptyFilename);
  if (reader.at_end()) return make_error_code(Errc::kMissingMode);
  auto mode_text = reader.next();
  if (!mode_text) return make_error_code(Errc::kUnterminatedString);
  if (mode_text->empty()) return make_error_code(Errc::kMissingMode);
  auto mode = parse_mode(*mode_text);
  if (!mode) return make_error_code(Errc::kUnknownMode);
  auto options = parse_options(reader);
  if (!options) return options.error();
  return Packet(Request{opcode, *filename, *mode, *mode_text, std::move(options).value()});
}

}  // namespace

std::string_view mode_name(Mode mode) {
  switch (mode) {
    case Mode::kNetascii: return "netascii";
    case Mode::kOctet: return "octet";
    case Mode::kMail: return "mail";
  }
  return "octet";
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(),
                    [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

std::optional<Mode> parse_mode(std::string_view text) {
  for (Mode m : {Mode::kNetascii, Mode::kOctet, Mode::kMail}) {
    if (iequals(text, mode_name(m))) return m;
  }
  return std::nullopt;
}

const Option* find_option(std::span<const Option> options, std::string_view name) {
  for (const Option& o : options) {
    if (iequals(o.name, name)) return &o;
  }
  return nullptr;
}

bool operator==(const Data& a, const Data& b) {
  return a.block == b.block && std::ranges::equal(a.payload, b.payload);
}

Opcode opcode_of(const Packet& packet) {
  struct Visitor {
    Opcode operator()(const Request& r) const { return r.opcode; }
    Opcode operator()(const Data&) const { return Opcode::kData; }
    Opcode operator()(const Ack&) const { return Opcode::kAck; }
    Opcode operator()(const Error&) const { return Opcode::kError; }
    Opcode operator()(const Oack&) const { return Opcode::kOack; }
  };
  return std::visit(Visitor{}, packet);
}

Result<Packet> parse_packet(std::span<const std::byte> d) {
  if (d.size() < 2) return make_error_code(Errc::kTruncated);
  uint16_t opcode = read_u16(d, 0);
  switch (static_cast<Opcode>(opcode)) {
    case Opcode::kRrq:
    case Opcode::kWrq:
      return parse_request(static_cast<Opcode>(opcode), d);
    case Opcode::kData:
      if (d.size() < kDataHeaderSize) return make_error_code(Errc::kTruncated);
      if (d.size() > kMaxPacketSize) return make_error_code(Errc::kTooLong);
      return Packet(Data{read_u16(d, 2), d.subspan(kDataHeaderSize)});
    case Opcode::kAck:
      if (d.size() < 4) return make_error_code(Errc::kTruncated);
      return Packet(Ack{read_u16(d, 2)});
    case Opcode::kError: {
      if (d.size() < 4) return make_error_code(Errc::kTruncated);
      auto rest = d.subspan(4);
      const auto* text = reinterpret_cast<const char*>(rest.data());
      const void* nul = rest.empty() ? nullptr : std::memchr(text, 0, rest.size());
      size_t len = nul ? static_cast<size_t>(static_cast<const char*>(nul) - text) : rest.size();
      return Packet(Error{static_cast<ErrorCode>(read_u16(d, 2)), std::string_view(text, len)});
    }
    case Opcode::kOack: {
      StringReader reader(d, 2);
      auto options = parse_options(reader);
      if (!options) return options.error();
      return Packet(Oack{std::move(options).value()});
    }
  }
  return make_error_code(Errc::kUnknownOpcode);
}

void write_data_header(std::span<std::byte> out, uint16_t block) {
  out[0] = std::byte{0};
  out[1] = static_cast<std::byte>(Opcode::kData);
  out[2] = static_cast<std::byte>(block >> 8);
  out[3] = static_cast<std::byte>(block & 0xff);
}

Result<size_t> build_data(std::span<std::byte> out, uint16_t block,
                          std::span<const std::byte> payload) {
  detail::Writer w(out);
  if (payload.size() > kMaxBlockSize) w.invalid();
  w.u16(static_cast<uint16_t>(Opcode::kData));
  w.u16(block);
  w.bytes(payload);
  return w.finish();
}

Result<size_t> build_ack(std::span<std::byte> out, uint16_t block) {
  detail::Writer w(out);
  w.u16(static_cast<uint16_t>(Opcode::kAck));
  w.u16(block);
  return w.finish();
}

Result<size_t> build_error(std::span<std::byte> out, ErrorCode code, std::string_view message) {
  detail::Writer w(out);
  w.u16(static_cast<uint16_t>(Opcode::kError));
  w.u16(static_cast<uint16_t>(code));
  w.cstring(message, /*allow_empty=*/true);
  return w.finish();
}

Result<size_t> build_error(std::span<std::byte> out, ErrorCode code) {
  return build_error(out, code, standard_message(code));
}

namespace {
void write_options(detail::Writer& w, std::span<const Option> options) {
  for (const Option& o : options) {
    // Neither may be empty: an empty string ends the list for the receiver (parse_options).
    w.cstring(o.name, false);
    w.cstring(o.value, false);
  }
}
}  // namespace

Result<size_t> build_request(std::span<std::byte> out, const Request& request) {
  detail::Writer w(out);
  if (request.opcode != Opcode::kRrq && request.opcode != Opcode::kWrq) w.invalid();
  std::string_view mode_text =
      request.mode_text.empty() ? mode_name(request.mode) : request.mode_text;
  if (parse_mode(mode_text) != request.mode) w.invalid();
  w.u16(static_cast<uint16_t>(request.opcode));
  w.cstring(request.filename, false);
  w.cstring(mode_text, false);
  write_options(w, request.options);
  return w.finish();
}

Result<size_t> build_oack(std::span<std::byte> out, std::span<const Option> options) {
  detail::Writer w(out);
  w.u16(static_cast<uint16_t>(Opcode::kOack));
  write_options(w, options);
  return w.finish();
}

Result<size_t> build_packet(std::span<std::byte> out, const Packet& packet) {
  struct Visitor {
    std::span<std::byte> out;
    Result<size_t> operator()(const Request& r) const { return build_request(out, r); }
    Result<size_t> operator()(const Data& d) const { return build_data(out, d.block, d.payload); }
    Result<size_t> operator()(const Ack& a) const { return build_ack(out, a.block); }
    Result<size_t> operator()(const Error& e) const { return build_error(out, e.code, e.message); }
    Result<size_t> operator()(const Oack& o) const { return build_oack(out, o.options); }
  };
  return std::visit(Visitor{out}, packet);
}

}  // namespace ringkit::tftp
