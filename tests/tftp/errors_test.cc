// TFTP error codes and the library's error values: standard messages, and which wire code each
// library error is answered with.
#include "tftp/errors.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace ringkit::tftp {
namespace {

TEST(TftpErrors, StandardMessages) {
  EXPECT_EQ(standard_message(ErrorCode::kNotDefined), "Undefined error code");
  EXPECT_EQ(standard_message(ErrorCode::kFileNotFound), "File not found");
  EXPECT_EQ(standard_message(ErrorCode::kAccessViolation), "Access violation");
  EXPECT_EQ(standard_message(ErrorCode::kDiskFull), "Disk full or allocation exceeded");
  EXPECT_EQ(standard_message(ErrorCode::kIllegalOperation), "Illegal TFTP operation");
  EXPECT_EQ(standard_message(ErrorCode::kUnknownTransferId), "Unknown transfer ID");
  EXPECT_EQ(standard_message(ErrorCode::kFileExists), "File already exists");
  EXPECT_EQ(standard_message(ErrorCode::kNoSuchUser), "No such user");
  EXPECT_EQ(standard_message(ErrorCode::kOptionNegotiation), "Failure to negotiate RFC2347 options");
  EXPECT_EQ(standard_message(static_cast<ErrorCode>(9)), "Undefined error code");
  EXPECT_EQ(static_cast<uint16_t>(ErrorCode::kOptionNegotiation), 8);
}

TEST(TftpErrors, EveryLibraryErrorHasItsOwnMessageAndWireCode) {
  std::set<std::string> messages;
  for (int v = static_cast<int>(Errc::kTruncated); v <= static_cast<int>(Errc::kOptionValueChanged); ++v) {
    std::error_code e = make_error_code(static_cast<Errc>(v));
    EXPECT_STREQ(e.category().name(), "tftp");
    EXPECT_TRUE(messages.insert(e.message()).second) << "duplicate message " << e.message();
    EXPECT_EQ(e.message().find("unknown tftp error"), std::string::npos) << v;
  }
  EXPECT_EQ(wire_error(Errc::kUnknownMode), ErrorCode::kIllegalOperation);
  EXPECT_EQ(wire_error(Errc::kTruncated), ErrorCode::kIllegalOperation);
  EXPECT_EQ(wire_error(Errc::kUploadTooLarge), ErrorCode::kDiskFull);
  EXPECT_EQ(wire_error(Errc::kOptionValueRaised), ErrorCode::kOptionNegotiation);
  EXPECT_EQ(wire_error(Errc::kBufferTooSmall), ErrorCode::kNotDefined);
  EXPECT_EQ(wire_error(std::make_error_code(std::errc::no_such_file_or_directory)), ErrorCode::kNotDefined);
  EXPECT_NE(std::error_code(Errc::kTruncated), std::make_error_code(std::errc::io_error));
}

}  // namespace
}  // namespace ringkit::tftp
