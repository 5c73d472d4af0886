// Reporter: everything ringsync tells the user, and the exit code it ends with.
//
// Lines go to stdout in the order rsync prints them (the syncer hands them over in that order);
// errors go to stderr at once, each naming the file and the reason, and raise the exit code the
// way rsync's do: 23 for a file that could not be transferred, 24 for a source file that
// vanished, 11 for a fatal I/O error such as a full disk, 25 when --max-delete stopped
// deletions. With --log-file every message (notes, warnings, errors) is also written to the
// log, as rsync's client does; item lines are logged by ItemOutput in the log's own format.
// A progress line ends with '\r', not a newline: the next line printed starts a new one
// first. Thread affinity: the executor thread that runs the sync.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <system_error>

#include "sync/log_file.h"

namespace ringkit::sync {

enum ExitCode : int {
  kExitOk = 0,
  kExitUsage = 1,
  kExitFileSelect = 3,
  kExitFileIo = 11,
  kExitInterrupted = 20,
  kExitPartial = 23,
  kExitVanished = 24,
  kExitDeleteLimit = 25,
};

// Items by kind, as rsync's --stats breaks its counts down.
struct KindCounts {
  uint64_t reg = 0;
  uint64_t dir = 0;
  uint64_t link = 0;
  uint64_t dev = 0;      // character and block devices
  uint64_t special = 0;  // FIFOs and sockets
  void add(mode_t mode);
  uint64_t total() const { return reg + dir + link + dev + special; }
};

struct SyncStats {
  KindCounts files;               // entries considered
  KindCounts created;             // entries that did not exist before
  KindCounts deleted;
  uint64_t transferred = 0;       // regular files whose data was written
  uint64_t total_size = 0;        // bytes of all regular files in the source
  uint64_t transferred_bytes = 0; // bytes of the files transferred (a dry run counts them too)
  uint64_t literal_bytes = 0;     // bytes of file data written from the source (rsync's literal data)
  uint64_t sender_told = 0;       // --remove-source-files: items reported in place to the sender
};

class Reporter {
 public:
  Reporter(FILE* out, FILE* err) : out_(out), err_(err) {}

  // --log-file: where messages are logged too (nullptr: nowhere). `log` must outlive this.
  void set_log(LogFile* log) { log_ = log; }
  LogFile* log() const { return log_; }

  // A note on stdout (escaped), also logged: "created directory x", "skipping ...".
  void line(const std::string& text);
  // An item line on stdout only (the log has its own format for items).
  void item_line(const std::string& text);
  // Progress text, written as is; `line_open`: it does not end its line (it ends in '\r' or
  // spaces), so the next output starts on a new line, as rsync's does.
  void progress(const std::string& text, bool line_open);
  // Ends an open progress line with its newline.
  void finish_line() { end_progress_line(); }
  // A message on stdout written as is and logged (the -v summary, --stats).
  void info_text(const std::string& text);
  // "ringsync: <what> "<path>" failed: <reason> (<errno>)", and exit code 23 at least.
  void file_error(const std::string& what, const std::string& path, const std::error_code& ec);
  void vanished(const std::string& path);
  // A fatal error: the run stops with `code`.
  void fatal(const std::string& message, int code);
  void warning(const std::string& message);
  // A message on stderr exactly as given (escaped), raising the exit code to `code`.
  void error_line(const std::string& message, int code);
  // The same, and the run stops (fatal(), in rsync's own words).
  void fatal_line(const std::string& message, int code) {
    error_line(message, code);
    stopped_ = true;
  }
  void raise(int code);

  int exit_code() const { return exit_code_; }
  bool stopped() const { return stopped_; }
  SyncStats& stats() { return stats_; }

  // rsync's --stats block (the parts that mean something for a local copy).
  // --stats' lines, as rsync prints them. `list_seconds`: from the start until the transfer
  // began (rsync's file-list generation time); `sent`/`received`: ItemOutput::traffic().
  std::string stats_text(bool human, double list_seconds, uint64_t sent, uint64_t received) const;

 private:
  void end_progress_line();
  void log_message(const std::string& text);

  FILE* out_;
  FILE* err_;
  LogFile* log_ = nullptr;
  bool line_open_ = false;  // a progress line on stdout waits for its newline
  int exit_code_ = kExitOk;
  bool stopped_ = false;
  SyncStats stats_;
};

// A line made safe for a terminal the way rsync does it: control bytes (except tab), bytes
// that do not form a printable character in the current locale (LC_CTYPE; every byte >= 0x80
// in the C locale) and a backslash that would read as an escape are written as \#ooo.
std::string escape_for_output(const std::string& text);

// A line made safe for --log-file the way rsync writes it there: control bytes as \#ooo, other
// bytes (invalid UTF-8 included) as they are.
std::string escape_for_log(const std::string& text);

// A size as rsync prints it: with thousands separators, or with -h as "1.23K"/"4.00M".
std::string format_size(uint64_t n, bool human);

}  // namespace ringkit::sync
