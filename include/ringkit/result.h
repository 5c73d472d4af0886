// Result<T>: the value of an engine operation or the error that stopped it.
//
// Every system call's outcome (a cqe->res, or -errno from a direct call) becomes a Result in
// exactly one place, `from_res()`; above the engine nobody reads errno. Cancellation is its own
// outcome: `cancelled()` is true for ECANCELED, and a deadline that fired reads as `timed_out()`.
//
// A plain value type, usable from any thread. C++23's std::expected is not in our toolchain
// (g++ 12, C++20), so this is the small subset we need.
#pragma once

#include <cassert>
#include <cerrno>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

namespace ringkit {

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(std::error_code error) : error_(error) { assert(error); }

  bool ok() const { return !error_; }
  explicit operator bool() const { return ok(); }
  const std::error_code& error() const { return error_; }
  bool cancelled() const { return error_ == std::errc::operation_canceled; }
  bool timed_out() const { return error_ == std::errc::timed_out; }

  // REQUIRES: ok()
  T& value() & { assert(ok()); return value_; }
  const T& value() const& { assert(ok()); return value_; }
  T&& value() && { assert(ok()); return std::move(value_); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T value_or(T other) const { return ok() ? value_ : std::move(other); }

 private:
  T value_{};
  std::error_code error_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(std::error_code error) : error_(error) {}

  bool ok() const { return !error_; }
  explicit operator bool() const { return ok(); }
  const std::error_code& error() const { return error_; }
  bool cancelled() const { return error_ == std::errc::operation_canceled; }
  bool timed_out() const { return error_ == std::errc::timed_out; }

 private:
  std::error_code error_;
};

// The one conversion from a kernel-style result (>= 0 success, -errno failure) to an error.
inline std::error_code error_from_res(long res) {
  return res < 0 ? std::error_code(static_cast<int>(-res), std::system_category())
                 : std::error_code();
}

inline std::error_code errno_error(int err) { return {err, std::system_category()}; }

// "path: reason" for messages shown to people.
std::string describe(const std::error_code& error);

}  // namespace ringkit
