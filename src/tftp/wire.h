// Internal to src/tftp: a bounds-checked writer for building packets into a caller's span.
//
// Writer never writes past the span; once something does not fit it remembers that, stops
// writing, and finish() reports kBufferTooSmall (or kInvalidField, if a field was rejected
// first). A plain value on the caller's stack; no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

#include "ringkit/result.h"
#include "tftp/errors.h"

namespace ringkit::tftp::detail {

class Writer {
 public:
  explicit Writer(std::span<std::byte> out) : out_(out) {}

  void u16(uint16_t v) {
    if (!room(2)) return;
    out_[pos_] = static_cast<std::byte>(v >> 8);
    out_[pos_ + 1] = static_cast<std::byte>(v & 0xff);
    pos_ += 2;
  }
  void bytes(std::span<const std::byte> b) {
    if (!room(b.size())) return;
    // memmove: build_data allows the payload to be already in place (or overlap).
    if (!b.empty() && b.data() != out_.data() + pos_) {
      std::memmove(out_.data() + pos_, b.data(), b.size());
    }
    pos_ += b.size();
  }
  // `s` then a NUL. A NUL inside `s` (or an empty `s` when !allow_empty) is kInvalidField:
  // the receiver would split the string there.
  void cstring(std::string_view s, bool allow_empty) {
    if ((!allow_empty && s.empty()) || s.find('\0') != std::string_view::npos) {
      invalid_ = true;
      return;
    }
    bytes(std::as_bytes(std::span(s.data(), s.size())));
    bytes(std::as_bytes(std::span("\0", 1)));
  }
  // Decimal digits then a NUL (option values).
  void number(uint64_t v) {
    char digits[20];
    size_t n = 0;
    do {
      digits[sizeof digits - 1 - n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    cstring(std::string_view(digits + sizeof digits - n, n), false);
  }
  void invalid() { invalid_ = true; }

  Result<size_t> finish() const {
    if (invalid_) return std::error_code(Errc::kInvalidField);
    if (overflow_) return std::error_code(Errc::kBufferTooSmall);
    return pos_;
  }

 private:
  bool room(size_t n) {
    if (invalid_ || overflow_) return false;
    if (out_.size() - pos_ < n) {
      overflow_ = true;
      return false;
    }
    return true;
  }

  std::span<std::byte> out_;
  size_t pos_ = 0;
  bool overflow_ = false;
  bool invalid_ = false;
};

}  // namespace ringkit::tftp::detail
