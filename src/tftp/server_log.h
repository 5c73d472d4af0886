// ServerLog: ringtftpd's log lines on stderr (the journal under systemd), one write(2) per line
// so that lines from different workers never interleave.
//
// Transfer lines are structured: key=value pairs (values with spaces or quotes are quoted) or,
// with format = "json", one JSON object per line. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "tftp/server_config.h"

namespace ringkit::tftp {

// What one finished (or refused) transfer did: one log line.
struct TransferRecord {
  std::string client;        // "192.0.2.7:2070"
  std::string op;            // "RRQ" / "WRQ"
  std::string file;          // as requested
  std::string mode;          // "octet" / "netascii"
  std::string options;       // negotiated: "blksize=1428 windowsize=16", or ""
  std::string result;        // "ok", or the error
  uint64_t bytes = 0;
  std::chrono::nanoseconds duration{0};
  uint64_t retransmits = 0;
  uint64_t timeouts = 0;
  uint64_t spurious_timeouts = 0;  // of those, ones the client proved needless (lockstep sends)
};

class ServerLog {
 public:
  ServerLog(LogLevel level, bool transfers, bool json)
      : level_(static_cast<int>(level)), transfers_(transfers), json_(json) {}

  void set(LogLevel level, bool transfers, bool json) {
    level_ = static_cast<int>(level);
    transfers_ = transfers;
    json_ = json;
  }
  bool enabled(LogLevel level) const { return static_cast<int>(level) <= level_.load(); }
  // "ringtftpd: <level>: <message>".
  void message(LogLevel level, std::string_view text) const;
  void transfer(const TransferRecord& record) const;

  // The line transfer() writes (tests check its format).
  static std::string format(const TransferRecord& record, bool json);

 private:
  std::atomic<int> level_;
  std::atomic<bool> transfers_;
  std::atomic<bool> json_;
};

}  // namespace ringkit::tftp
