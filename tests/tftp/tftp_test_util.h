// Helpers shared by the tests in tests/tftp: byte strings with embedded NULs, and spans of them;
// a fixture with a served root directory.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <filesystem>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "support/backend_test.h"
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

// A backend test with a served root: base_ (a fresh directory), root_ = base_/root, filled by
// populate(), and root_fd_, an O_PATH descriptor of it (what the server holds).
class RootTest : public ringkit::testing::BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    if (IsSkipped()) return;
    base_ = dir();
    root_ = base_ + "/root";
    std::filesystem::create_directories(root_);
    populate();
    root_fd_ = ::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  }
  void TearDown() override {
    if (root_fd_ >= 0) ::close(root_fd_);
    BackendTest::TearDown();
  }
  virtual void populate() {}

  std::string base_, root_;
  int root_fd_ = -1;
};

}  // namespace ringkit::tftp::testing
