// Where the engine's few messages go (a fallback to the threads backend, an unregistered buffer
// pool). By default: one line on stderr, prefixed "ringkit: ". Programs may route them into
// their own logger. The handler may be called from any executor thread; set it before starting
// executors.
#pragma once

#include <functional>
#include <string_view>

namespace ringkit {

enum class LogLevel { kInfo, kWarning, kError };

void set_log_handler(std::function<void(LogLevel, std::string_view)> handler);
void log(LogLevel level, std::string_view message);

}  // namespace ringkit
