#include "tftp/errors.h"

#include <string>

namespace ringkit::tftp {

std::string_view standard_message(ErrorCode code) {
  // The texts tftpd-hpa and atftpd send, so that logs and scripts that match on them keep
  // working when ringtftpd replaces them.
  switch (code) {
    case ErrorCode::kNotDefined: break;
    case ErrorCode::kFileNotFound: return "File not found";
    case ErrorCode::kAccessViolation: return "Access violation";
    case ErrorCode::kDiskFull: return "Disk full or allocation exceeded";
    case ErrorCode::kIllegalOperation: return "Illegal TFTP operation";
    case ErrorCode::kUnknownTransferId: return "Unknown transfer ID";
    case ErrorCode::kFileExists: return "File already exists";
    case ErrorCode::kNoSuchUser: return "No such user";
    case ErrorCode::kOptionNegotiation: return "Failure to negotiate RFC2347 options";
  }
  return "Undefined error code";
}

namespace {

class TftpCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "tftp"; }
  std::string message(int value) const override {
    switch (static_cast<Errc>(value)) {
      case Errc::kTruncated: return "packet truncated";
      case Errc::kUnknownOpcode: return "unknown opcode";
      case Errc::kTooLong: return "packet too long";
      case Errc::kUnterminatedString: return "request not null-terminated";
      case Errc::kEmptyFilename: return "empty filename";
      case Errc::kMissingMode: return "missing mode";
      case Errc::kUnknownMode: return "unknown mode";
      case Errc::kBufferTooSmall: return "buffer too small for packet";
      case Errc::kInvalidField: return "invalid packet field";
      case Errc::kUploadTooLarge: return "upload larger than allowed";
      case Errc::kUnrequestedOption: return "server acknowledged an option that was not requested";
      case Errc::kDuplicateOption: return "option acknowledged twice";
      case Errc::kBadOptionValue: return "invalid option value";
      case Errc::kOptionValueRaised: return "server raised an option value above the request";
      case Errc::kOptionValueChanged: return "server changed an option value it must echo";
      case Errc::kPeerError: return "the peer sent an error";
      case Errc::kProtocolViolation: return "the peer broke the protocol";
    }
    return "unknown tftp error " + std::to_string(value);
  }
};

}  // namespace

const std::error_category& tftp_category() {
  static const TftpCategory category;
  return category;
}

std::error_code make_error_code(Errc e) { return {static_cast<int>(e), tftp_category()}; }

ErrorCode wire_error(const std::error_code& error) {
  if (error.category() != tftp_category()) return ErrorCode::kNotDefined;
  switch (static_cast<Errc>(error.value())) {
    case Errc::kTruncated:
    case Errc::kUnknownOpcode:
    case Errc::kTooLong:
    case Errc::kUnterminatedString:
    case Errc::kEmptyFilename:
    case Errc::kMissingMode:
    case Errc::kUnknownMode:
      return ErrorCode::kIllegalOperation;
    case Errc::kUploadTooLarge:
      return ErrorCode::kDiskFull;
    case Errc::kUnrequestedOption:
    case Errc::kDuplicateOption:
    case Errc::kBadOptionValue:
    case Errc::kOptionValueRaised:
    case Errc::kOptionValueChanged:
      return ErrorCode::kOptionNegotiation;
    case Errc::kProtocolViolation:
      return ErrorCode::kIllegalOperation;
    case Errc::kPeerError:
    case Errc::kBufferTooSmall:
    case Errc::kInvalidField:
      break;
  }
  return ErrorCode::kNotDefined;
}

}  // namespace ringkit::tftp
