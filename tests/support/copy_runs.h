// For the tests of ringsync's copy methods (tests/e2e/ringsync_copy_*_test.cc): a source tree
// with files on both sides of every size threshold of data_copy.cc, runs of ringsync with a
// chosen method and backend under the copy shim (support/shim/copy_shim.cc), what the shim saw,
// and a file-by-file comparison of content and allocated blocks. Test-only; single-threaded.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "support/tree.h"

namespace ringkit::testing {

// The files of the copy tree: name -> size. Below 64 KiB (heap buffer), up to 256 KiB (one
// ring chunk), and 1 MiB and up ("large": clone and kernel copy), one of them sparse.
const std::map<std::string, long long>& copy_tree_files();
bool is_large_copy_file(const std::string& name);  // 1 MiB or more: clone, then kernel copy

// Makes the copy tree under `root` (which must not exist). `version` changes every file's
// content (same sizes), for a second round over an older copy.
void build_copy_tree(const std::string& root, int version);

// One ringsync run: its result and the shim's log of copy calls.
struct CopyRun {
  RunResult result;
  struct Call {
    bool clone = false;       // FICLONE, else copy_file_range
    long long length = 0;     // what copy_file_range was asked for
    long long result = 0;     // bytes, 0 for a clone that worked, or -errno
  };
  std::vector<Call> calls;
  long long kernel_bytes() const;  // copied by copy_file_range
  int kernel_calls() const;
  int clone_calls() const;
  int clones_done() const;
  std::string describe() const;  // the calls, for failure messages
};

// The command line that runs ringsync with `args`, RINGKIT_BACKEND=`backend`,
// RINGKIT_SYNC_COPY=`method` (unset if empty) and the shim preloaded, configured by `shim_env`
// ("RINGKIT_SHIM_CFR_FAIL=18", ...), logging to `log`.
std::vector<std::string> ringsync_copy_argv(const std::string& backend, const std::string& method,
                                            const std::vector<std::string>& args,
                                            const std::vector<std::string>& shim_env, const std::string& log);
// The calls the shim logged to `log`.
std::vector<CopyRun::Call> shim_calls(const std::string& log);

// Runs ringsync_copy_argv(...) to the end with a log of its own.
CopyRun run_ringsync_copy(const std::string& backend, const std::string& method,
                          const std::vector<std::string>& args, const std::vector<std::string>& shim_env = {});

// Differences between two copies of the tree, file by file: content, size, mode, mtime, and the
// number of allocated blocks (rsync's allocation is the reference). One line each.
std::vector<std::string> copy_differences(const std::string& expected, const std::string& actual);

// Whether `dir` can hold holes (tmpfs and ext4 can): else block counts say nothing.
bool keeps_holes(const std::string& dir);

}  // namespace ringkit::testing
