#include "progress.h"

#include <unistd.h>

#include <cstdio>

namespace ringtftp {

std::string human_bytes(double bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 4) {
    bytes /= 1024;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, unit == 0 ? "%.0f %s" : "%.1f %s", bytes, kUnits[unit]);
  return buf;
}

Progress::Progress(std::string name, bool enabled)
    : name_(std::move(name)), active_(enabled && ::isatty(STDERR_FILENO) == 1) {}

void Progress::update(uint64_t bytes) {
  if (!active_) return;
  auto now = Clock::now();
  if (drawn_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  double seconds = std::chrono::duration<double>(now - start_).count();
  std::string line = name_ + "  " + human_bytes(static_cast<double>(bytes));
  if (total_ && *total_ > 0) {
    line += " / " + human_bytes(static_cast<double>(*total_));
    line += "  " + std::to_string(bytes * 100 / *total_) + "%";
  }
  if (seconds > 0.05) line += "  " + human_bytes(static_cast<double>(bytes) / seconds) + "/s";
  std::fprintf(stderr, "\r\033[K%s", line.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void Progress::clear() {
  if (!drawn_) return;
  std::fputs("\r\033[K", stderr);
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace ringtftp
