#include "ringkit/log.h"

#include <cstdio>
#include <mutex>
#include <string>

namespace ringkit {
namespace {
std::mutex& handler_mutex() {
  static std::mutex m;
  return m;
}
std::function<void(LogLevel, std::string_view)>& handler() {
  static std::function<void(LogLevel, std::string_view)> h;
  return h;
}
}  // namespace

void set_log_handler(std::function<void(LogLevel, std::string_view)> h) {
  std::lock_guard lock(handler_mutex());
  handler() = std::move(h);
}

void log(LogLevel level, std::string_view message) {
  std::lock_guard lock(handler_mutex());
  if (handler()) {
    handler()(level, message);
    return;
  }
  std::string line = "ringkit: " + std::string(message) + "\n";
  std::fputs(line.c_str(), stderr);
}

}  // namespace ringkit
