// Where ringtftp puts a download: a file that gets its name only when the download is
// complete, so that a failed or interrupted get never leaves a partial file under LOCAL.
//
// A new file is written unnamed (O_TMPFILE in LOCAL's directory) and linked under LOCAL at the
// end. A file that replaces an existing one is linked under ".NAME.XXXXXX" in the same
// directory and renamed over LOCAL (rename is atomic: readers see the old or the new file); it
// keeps the old file's permission bits. Where O_TMPFILE is not supported, the named temp file
// is used from the start and removed on failure.
//
// Runs on an executor thread (the file operations are the engine's). One per download.
#pragma once

#include <string>

#include "ringkit/fs.h"
#include "ringkit/result.h"
#include "ringkit/task.h"

namespace ringtftp {

class DownloadTarget {
 public:
  // Opens the temp file for `path` (never "-"). Errors: the directory's (missing, read-only,
  // full), or EISDIR when `path` is a directory.
  ringkit::Task<ringkit::Result<void>> open(std::string path);
  int fd() const { return file_.get(); }
  // Gives the written file its name. After an error, call abandon() to leave nothing behind.
  ringkit::Task<ringkit::Result<void>> commit();
  // Forgets the download: the temp file is closed and, if it has a name, removed.
  ringkit::Task<void> abandon();

 private:
  ringkit::Task<ringkit::Result<void>> link_to_temp_name();

  std::string path_;
  std::string dir_;
  std::string base_;
  std::string temp_path_;    // named temp file, when there is one
  ringkit::fs::Fd file_;
  bool unnamed_ = false;     // O_TMPFILE
  bool replacing_ = false;   // `path_` existed when we started
  mode_t old_mode_ = 0;
};

}  // namespace ringtftp
