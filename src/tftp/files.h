// The file-system side of TFTP requests: which file a request names, whether it may be read or
// written, and writing uploads so that no partial file ever appears under its final name.
//
// Confinement: every path is resolved by openat2(2) relative to the served root's descriptor
// with RESOLVE_IN_ROOT (the root acts as "/": absolute paths and absolute symlinks land inside
// it, ".." cannot climb above it) and RESOLVE_NO_MAGICLINKS (no /proc/self/fd tricks); with
// follow_symlinks off, RESOLVE_NO_SYMLINKS refuses any path crossing a symlink. Requests whose
// path contains a ".." component are refused outright (ERROR 2) rather than clamped: a client
// asking for one is confused or hostile, and tftpd-hpa refuses them too. A leading "/" is
// accepted and means the root (PXE firmware often sends one).
//
// Reads serve regular files only (a FIFO or device could block or never end), opened
// non-blocking; unless `permissive`, only world-readable ones (in.tftpd's rule).
// Uploads are written to ".NAME.~rkXXXXXX" beside the target, then renamed into place when the
// transfer completed (RENAME_NOREPLACE for create-only); a failed or cancelled upload removes
// its temporary file. Created files get 0666 & ~umask.
//
// Errors are errno values in std::error_code (EACCES for every refusal of ours, ENOENT,
// EEXIST, ENOSPC, ...); client_error() turns one into the ERROR packet to send.
// Coroutines run on the calling executor; FileAccess is a plain value (thread-safe to copy).
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <unordered_map>
#include <string>
#include <string_view>
#include <vector>

#include "ringkit/fs.h"
#include "ringkit/result.h"
#include "ringkit/task.h"
#include "tftp/errors.h"
#include "tftp/server_config.h"

namespace ringkit::tftp {

struct FileRules {
  bool follow_symlinks = true;
  bool permissive = false;
  Uploads uploads = Uploads::kOff;
  mode_t umask = 022;
  std::vector<std::string> upload_patterns;

  static FileRules from(const ServerConfig& config);
};

// The request's filename as a path relative to the root, or EACCES (a ".." component, an empty
// name, a name longer than PATH_MAX).
Result<std::string> relative_path(std::string_view filename);

struct ReadableFile {
  fs::Fd fd;
  uint64_t size = 0;
  uint64_t dev = 0;  // identity of the file (st_dev, st_ino), for OpenFiles
  uint64_t ino = 0;
};

// Descriptors of files being served, shared by the transfers of one worker: a thousand clients
// fetching pxelinux.0 hold one descriptor, not a thousand (each transfer also holds a socket,
// and a process may have only so many). Sharing is by file identity (device and inode), after
// the path was resolved and checked for each request, so it changes nothing a client can see:
// a descriptor reads the file's current content whichever request opened it, and a file
// replaced by rename is a new inode. Thread affinity: one worker.
class OpenFiles {
 public:
  // The shared descriptor for `file`'s inode (`file`'s own is closed when one is already open).
  std::shared_ptr<const fs::Fd> share(ReadableFile file);
  size_t open_count() const;

 private:
  struct Key {
    uint64_t dev, ino;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const { return std::hash<uint64_t>()(k.dev * 0x9e3779b97f4a7c15ULL ^ k.ino); }
  };
  std::unordered_map<Key, std::weak_ptr<const fs::Fd>, KeyHash> open_;
};

// Opens `filename` below `root_fd` for an RRQ.
Task<Result<ReadableFile>> open_for_reading(int root_fd, std::string_view filename,
                                            const FileRules& rules);

// An upload in progress: the temporary file being written, and where it will go.
class Upload {
 public:
  Upload() = default;
  Upload(Upload&&) = default;
  Upload& operator=(Upload&&) = default;
  // An upload neither committed nor aborted is removed (synchronously) here.
  ~Upload();

  int fd() const { return file_.get(); }
  bool replaces() const { return replaces_; }
  // Renames the temporary file into place. EEXIST when create-only and the name appeared
  // meanwhile (the temporary file is then removed).
  Task<Result<void>> commit();
  // Removes the temporary file.
  Task<void> abort();

 private:
  friend Task<Result<Upload>> open_for_writing(int, std::string_view, const FileRules&);
  fs::Fd dir_;
  fs::Fd file_;
  std::string base_;
  std::string temp_;
  bool replaces_ = false;
  bool create_only_ = true;
  bool done_ = true;
};

// Whether `name` (one path component) has the form of an upload's temporary file:
// "." + up to 200 bytes of the target's name + ".~rk" + 6 letters or digits.
bool is_upload_temp_name(std::string_view name);

// Starts an upload of `filename` below `root_fd` for a WRQ.
Task<Result<Upload>> open_for_writing(int root_fd, std::string_view filename,
                                      const FileRules& rules);

// The ERROR packet for a failure of the functions above (or a transfer's own error).
struct ClientError {
  ErrorCode code;
  std::string message;
};
ClientError client_error(const std::error_code& error);

}  // namespace ringkit::tftp
