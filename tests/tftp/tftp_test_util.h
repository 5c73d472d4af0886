// Helpers shared by the tests in tests/tftp: byte strings with embedded NULs, and spans of them.
#pragma once

#include <cstddef>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "tftp/packet.h"

namespace ringkit::tftp {
// Readable gtest failure messages.
inline void PrintTo(const Option& o, std::ostream* os) { *os << '{' << o.name << '=' << o.value << '}'; }
}  // namespace ringkit::tftp

namespace ringkit::tftp::testing {

inline std::span<const std::byte> as_span(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

inline std::string as_string(std::span<const std::byte> b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

// Builds with `fn(out)` into a fresh buffer of `capacity` bytes and returns what was written,
// or "<error: ...>" so that a failed build shows up in an equality assertion.
template <class Fn>
std::string built(Fn fn, size_t capacity = 70000) {
  std::vector<std::byte> buf(capacity);
  auto n = fn(std::span<std::byte>(buf));
  if (!n) return "<error: " + n.error().message() + ">";
  return as_string(std::span<const std::byte>(buf).first(*n));
}

}  // namespace ringkit::tftp::testing
