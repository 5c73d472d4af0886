#include "tftp/server_log.h"

#include <unistd.h>

#include <nlohmann/json.hpp>

namespace ringkit::tftp {

namespace {

void write_line(std::string line) {
  line += '\n';
  size_t off = 0;
  while (off < line.size()) {
    ssize_t n = ::write(STDERR_FILENO, line.data() + off, line.size() - off);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

const char* level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kError: return "error";
    case LogLevel::kWarning: return "warning";
    case LogLevel::kInfo: return "info";
    case LogLevel::kDebug: return "debug";
  }
  return "?";
}

// A key=value value: bare when it is plain, else double-quoted with \" and \\ and control
// bytes escaped (a file name can hold anything).
std::string value_text(std::string_view v) {
  bool plain = !v.empty();
  for (unsigned char c : v) {
    if (c <= ' ' || c == '"' || c == '\\' || c == '=' || c >= 0x7f) plain = false;
  }
  if (plain) return std::string(v);
  std::string out = "\"";
  for (unsigned char c : v) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < ' ' || c >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

}  // namespace

void ServerLog::message(LogLevel level, std::string_view text) const {
  if (!enabled(level)) return;
  write_line(std::string("ringtftpd: ") + level_name(level) + ": " + std::string(text));
}

std::string ServerLog::format(const TransferRecord& r, bool json) {
  double ms = std::chrono::duration<double, std::milli>(r.duration).count();
  if (json) {
    nlohmann::json j = {{"event", "transfer"}, {"client", r.client},   {"op", r.op},
                        {"file", r.file},      {"mode", r.mode},       {"options", r.options},
                        {"result", r.result},  {"bytes", r.bytes},     {"duration_ms", ms},
                        {"retransmits", r.retransmits}, {"timeouts", r.timeouts},
                        {"spurious_timeouts", r.spurious_timeouts}};
    // File names need not be UTF-8: replace what is not, rather than throw.
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  char dur[32];
  std::snprintf(dur, sizeof dur, "%.3f", ms);
  return "transfer client=" + r.client + " op=" + r.op + " file=" + value_text(r.file) +
         " mode=" + r.mode + " options=" + value_text(r.options) + " result=" +
         value_text(r.result) + " bytes=" + std::to_string(r.bytes) + " duration_ms=" + dur +
         " retransmits=" + std::to_string(r.retransmits) + " timeouts=" +
         std::to_string(r.timeouts) + " spurious_timeouts=" + std::to_string(r.spurious_timeouts);
}

void ServerLog::transfer(const TransferRecord& record) const {
  if (!transfers_.load()) return;
  bool json = json_.load();
  write_line(json ? format(record, true) : "ringtftpd: " + format(record, false));
}

}  // namespace ringkit::tftp
