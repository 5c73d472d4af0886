#include "ringkit/result.h"

namespace ringkit {

std::string describe(const std::error_code& error) {
  if (error == std::errc::operation_canceled) return "cancelled";
  if (error == std::errc::timed_out) return "timed out";
  return error.message();
}

}  // namespace ringkit
