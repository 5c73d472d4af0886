// ProgressMeter: rsync's --progress and --info=progress2 lines.
//
// Per file (--progress, -P): while a file's data is written, "\r      SIZE  PCT%  RATE  TIME  "
// lines (the first after its first chunk, then at most one a second), and when it is done
// "\r      SIZE 100%  RATE  TIME (xfr#N, to-chk=M/T)\n". Whole transfer (--info=progress2): the
// same line for all bytes so far, with " (xfr#N, to-chk=M/T)" after each file and no newline,
// so that it keeps overwriting itself. The lines go to stdout whether or not it is a terminal,
// as rsync's do. Updates come from byte counters the copy bumps; the clock is read with the
// vDSO (no system call) and a line is written at most once a second, so a big copy is not
// slowed. Thread affinity: the executor thread of the run.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "sync/report.h"

namespace ringkit::sync {

class ProgressMeter {
 public:
  using Clock = std::chrono::steady_clock;

  // `human`: rsync's human_readable level for the byte counts (1 commas, 2/3 units, 0 digits).
  ProgressMeter(Reporter& rep, int human);

  // --progress: a file's data starts, `written` bytes of `size` are done; its final line.
  void file_started(uint64_t size);
  void file_written(uint64_t bytes);
  void file_finished(uint64_t size, uint64_t xfr, uint64_t to_check, uint64_t files);

  // --info=progress2: bytes written by any file; the line after a file (`after_file`) or at the
  // end of a directory's list, `done_bytes` being the sizes of all files done so far.
  void transfer_written(uint64_t bytes, uint64_t total_size);
  void transfer_line(uint64_t done_bytes, uint64_t total_size, uint64_t xfr, uint64_t to_check, uint64_t files,
                     bool after_file);

  // The line for `ofs` of `size` bytes: rate in bytes/s, `seconds` left (or taken), `eol`.
  static std::string line(uint64_t ofs, uint64_t size, double rate, double seconds, const std::string& eol, int human);

 private:
  bool due(Clock::time_point now) const { return now - last_print_ >= std::chrono::seconds(1); }
  std::string check_eol(uint64_t xfr, uint64_t to_check, uint64_t files) const;

  Reporter& rep_;
  int human_;
  // The file under way (--progress).
  uint64_t file_size_ = 0;
  uint64_t file_done_ = 0;
  bool file_shown_ = false;   // an interim line was printed for it
  Clock::time_point file_start_{};
  // The whole transfer (--info=progress2).
  uint64_t written_ = 0;
  bool started_ = false;
  Clock::time_point start_{};
  size_t last_eol_ = 0;       // progress2 pads a shorter " (xfr#..)" to the longest one
  Clock::time_point last_print_{};
};

}  // namespace ringkit::sync
