#include "sync/log_file.h"

#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "sync/out_format.h"

namespace ringkit::sync {
namespace {

long long coarse_seconds() {
  struct timespec ts {};
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);  // vDSO: no system call
  return ts.tv_sec;
}

}  // namespace

LogFile::LogFile(const std::string& path) {
  // rsync creates its log with the umask and at least 022.
  mode_t old = ::umask(0);
  ::umask(old | 022);
  file_ = std::fopen(path.c_str(), "a");
  int err = errno;
  ::umask(old);
  if (file_ == nullptr) {
    error_ = "failed to open log-file " + path + ": " + std::strerror(err) + " (" + std::to_string(err) + ")";
    return;
  }
  std::setvbuf(file_, nullptr, _IOFBF, 64 << 10);
  last_flush_ = coarse_seconds();
}

LogFile::~LogFile() {
  if (file_ != nullptr) std::fclose(file_);
}

void LogFile::write(const std::string& text) {
  if (file_ == nullptr) return;
  std::fprintf(file_, "%s [%d] %s\n", rsync_time(::time(nullptr)).c_str(), static_cast<int>(::getpid()), text.c_str());
  if (long long now = coarse_seconds(); now != last_flush_) {
    last_flush_ = now;
    std::fflush(file_);
  }
}

void LogFile::flush() {
  if (file_ != nullptr) std::fflush(file_);
}

}  // namespace ringkit::sync
