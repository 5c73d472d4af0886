// LogFile: --log-file=FILE, the record rsync keeps of a run, one line per event:
// "YYYY/MM/DD HH:MM:SS [PID] TEXT". ringsync writes what rsync's client writes for a local
// copy: "building file list", one line per item in the --log-file-format (default
// "%i %n%L"), its notes, warnings and errors, and the closing "sent ... received ... total
// size ..." line (or the -v summary) -- see docs/ringsync.1 for the list.
//
// The file is opened for appending (created with mode 0644 less the umask), never truncated.
// Lines are buffered and written out at least once a second and when the run ends, so that a
// long run costs no system call per item. Thread affinity: the executor thread of the run.
#pragma once

#include <cstdio>
#include <string>

namespace ringkit::sync {

class LogFile {
 public:
  // Opens `path` for appending. On failure ok() is false and error() says why; the run goes
  // on without a log, as rsync's does.
  explicit LogFile(const std::string& path);
  ~LogFile();
  LogFile(const LogFile&) = delete;
  LogFile& operator=(const LogFile&) = delete;

  bool ok() const { return file_ != nullptr; }
  const std::string& error() const { return error_; }

  // One line (without its newline), with the time and process id in front.
  void write(const std::string& text);
  void flush();

 private:
  FILE* file_ = nullptr;
  std::string error_;
  long long last_flush_ = 0;  // seconds (CLOCK_MONOTONIC_COARSE)
};

}  // namespace ringkit::sync
