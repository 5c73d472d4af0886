// ringtftp's progress line: name, bytes so far (of the total when tsize told it), percentage
// and rate, redrawn in place on stderr at most ten times a second, and only when stderr is a
// terminal (a log file or a pipe gets nothing). Cleared when the transfer ends.
//
// Used from the executor thread that runs the transfer.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace ringtftp {

// "1.5 MiB", "512 B".
std::string human_bytes(double bytes);

class Progress {
 public:
  // enabled: the caller wants progress (-q not given); it shows only on a terminal anyway.
  Progress(std::string name, bool enabled);
  ~Progress() { clear(); }
  void set_total(std::optional<uint64_t> total) { total_ = total; }
  void update(uint64_t bytes);
  void clear();

 private:
  using Clock = std::chrono::steady_clock;
  std::string name_;
  bool active_;
  bool drawn_ = false;
  std::optional<uint64_t> total_;
  Clock::time_point start_ = Clock::now();
  Clock::time_point last_draw_{};
};

}  // namespace ringtftp
