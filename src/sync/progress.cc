#include "sync/progress.h"

#include <algorithm>
#include <cstdio>

#include "sync/out_format.h"

namespace ringkit::sync {
namespace {

double seconds_between(ProgressMeter::Clock::time_point a, ProgressMeter::Clock::time_point b) {
  double s = std::chrono::duration<double>(b - a).count();
  return s < 0.001 ? 0.001 : s;  // rsync counts at least one millisecond
}

}  // namespace

ProgressMeter::ProgressMeter(Reporter& rep, int human) : rep_(rep), human_(human) {}

std::string ProgressMeter::line(uint64_t ofs, uint64_t size, double rate, double seconds, const std::string& eol,
                                int human) {
  double kb = rate / 1024.0;
  const char* units = "kB/s";
  if (kb > 1024.0 * 1024.0) {
    kb /= 1024.0 * 1024.0;
    units = "GB/s";
  } else if (kb > 1024.0) {
    kb /= 1024.0;
    units = "MB/s";
  }
  char remain[32];
  if (seconds < 0 || seconds > 9999.0 * 3600.0) {
    std::snprintf(remain, sizeof remain, "  ??:??:??");
  } else {
    auto s = static_cast<unsigned>(seconds);
    std::snprintf(remain, sizeof remain, "%4u:%02u:%02u", s / 3600, s / 60 % 60, s % 60);
  }
  int pct = ofs == size ? 100 : static_cast<int>(100.0 * static_cast<double>(ofs) / static_cast<double>(size));
  char buf[128];
  std::snprintf(buf, sizeof buf, "\r%15s %3d%% %7.2f%s %s", human_number(ofs, human).c_str(), pct, kb, units, remain);
  return buf + eol;
}

std::string ProgressMeter::check_eol(uint64_t xfr, uint64_t to_check, uint64_t files) const {
  return " (xfr#" + std::to_string(xfr) + ", to-chk=" + std::to_string(to_check) + "/" + std::to_string(files) + ")";
}

void ProgressMeter::file_started(uint64_t size) {
  file_size_ = size;
  file_done_ = 0;
  file_shown_ = false;
  file_start_ = Clock::now();
}

void ProgressMeter::file_written(uint64_t bytes) {
  file_done_ += bytes;
  Clock::time_point now = Clock::now();
  if (file_shown_ && !due(now)) return;
  // The rate so far and the time the rest would take at it.
  double rate = static_cast<double>(file_done_) / seconds_between(file_start_, now);
  double left = rate > 0 ? static_cast<double>(file_size_ - std::min(file_done_, file_size_)) / rate : 0;
  rep_.progress(line(std::min(file_done_, file_size_), file_size_, file_shown_ ? rate : 0, left, "  ", human_), true);
  file_shown_ = true;
  last_print_ = now;
}

void ProgressMeter::file_finished(uint64_t size, uint64_t xfr, uint64_t to_check, uint64_t files) {
  Clock::time_point now = Clock::now();
  if (!file_shown_ && size > 0) {
    // Every non-empty file shows once under way before its final line, as rsync's first
    // update after its first block does.
    rep_.progress(line(size, size, 0, 0, "  ", human_), true);
  }
  double taken = seconds_between(file_start_, now);
  rep_.progress(line(size, size, static_cast<double>(size) / taken, taken, check_eol(xfr, to_check, files) + "\n",
                     human_),
                false);
  file_shown_ = false;
  last_print_ = now;
}

void ProgressMeter::transfer_written(uint64_t bytes, uint64_t total_size) {
  Clock::time_point now = Clock::now();
  if (!started_) {
    started_ = true;
    start_ = now;
  }
  written_ += bytes;
  if (!due(now)) return;
  double taken = seconds_between(start_, now);
  double rate = static_cast<double>(written_) / taken;
  uint64_t ofs = std::min(written_, total_size);
  double left = rate > 0 ? static_cast<double>(total_size - ofs) / rate : 0;
  rep_.progress(line(ofs, total_size, rate, left, "  ", human_), true);
  last_print_ = now;
}

void ProgressMeter::transfer_line(uint64_t done_bytes, uint64_t total_size, uint64_t xfr, uint64_t to_check,
                                  uint64_t files, bool after_file) {
  Clock::time_point now = Clock::now();
  if (!started_) {
    started_ = true;
    start_ = now;
    // The first file shows under way first, as rsync's first update does.
    if (after_file) rep_.progress(line(done_bytes, total_size, 0, 0, "  ", human_), true);
  }
  std::string eol = check_eol(xfr, to_check, files);
  // A line shorter than the longest so far is padded, so that it overwrites all of it.
  if (eol.size() < last_eol_) eol.resize(last_eol_, ' ');
  last_eol_ = eol.size();
  double taken = seconds_between(start_, now);
  rep_.progress(line(std::min(done_bytes, total_size), total_size, static_cast<double>(done_bytes) / taken, taken, eol,
                     human_),
                true);
  last_print_ = now;
}

}  // namespace ringkit::sync
