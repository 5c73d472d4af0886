// Removing the temporary files of uploads that a server killed mid-transfer left behind.
//
// An upload is written to ".NAME.~rkXXXXXX" beside its target (files.h) and renamed into place
// when complete; a failed or cancelled upload removes it. A server that is killed (SIGKILL, a
// crash, power) removes nothing, and those hidden files would stay forever. At start, a server
// that accepts uploads sweeps its root for them: it removes a file only when
//   - its name is one files.h makes (is_upload_temp_name),
//   - it is a regular file, reached without following any symlink (directories are opened
//     with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS from the root's descriptor, so nothing
//     outside the root is looked at),
//   - and it was last modified more than kClockSlack before `started` (an upload of this
//     server, running while the sweep does, keeps writing its file and is never older than
//     the server; but file times come from the kernel's coarse clock, which lags the system
//     clock by up to a scheduler tick, so a temporary made just after `started` can carry a
//     time just before it: measured, a first upload's file swept under it in the tests).
// Directories deeper than kMaxDepth are not entered. Errors (a directory it may not read, a
// file it may not remove) are counted and skipped: the sweep is housekeeping, never a reason
// not to serve.
//
// Thread affinity: the calling executor's thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <stop_token>
#include <string_view>

#include "ringkit/task.h"

namespace ringkit::tftp {

struct SweepStats {
  uint64_t directories = 0;  // directories read
  uint64_t removed = 0;      // temporaries removed
  uint64_t kept = 0;         // temporaries left: modified since `started`, or not regular files
  uint64_t errors = 0;       // directories or files that could not be read or removed
};

inline constexpr int kMaxDepth = 64;
// How much older than `started` a temporary must be to go. A killed server's leftovers stay
// until the next start when it is restarted within this time: harmless.
inline constexpr std::chrono::seconds kClockSlack{2};

// Removes stale upload temporaries below the directory `root_fd` (any descriptor of it,
// O_PATH included). Ends early, with what it did so far, when `stop` is requested.
Task<SweepStats> remove_stale_uploads(int root_fd, std::chrono::system_clock::time_point started,
                                      std::stop_token stop = {});

}  // namespace ringkit::tftp
