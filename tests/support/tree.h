// Test trees: build a directory tree with every kind of item and attribute ringsync must
// handle, snapshot a tree attribute by attribute, and run programs. For the end-to-end tests
// that compare ringsync with the real rsync. Test-only code; single-threaded.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace ringkit::testing {

// One item of a tree snapshot: everything ringsync is meant to preserve.
struct ItemState {
  char type = '?';          // f d l p s c b
  mode_t mode = 0;          // permission bits 07777
  uid_t uid = 0;
  gid_t gid = 0;
  long long size = 0;
  long long mtime_sec = 0;
  long mtime_nsec = 0;
  std::string content_hash; // regular files
  std::string link_target;  // symlinks
  unsigned long long rdev = 0;
  std::map<std::string, std::string> xattrs;  // all namespaces readable here, incl. ACLs
  unsigned long nlink = 0;
};

using TreeState = std::map<std::string, ItemState>;  // by path relative to the root

struct SnapshotOptions {
  bool times = true;        // compare mtimes
  bool nanoseconds = false; // ... to the nanosecond (else to the second)
  bool owners = true;
  bool modes = true;
  bool xattrs = true;        // user/trusted/security attributes
  bool acls = true;          // system.posix_acl_* attributes
  bool dir_times = true;
  bool nlink = true;        // compare link counts (hard links)
  bool common_only = false; // compare only items present in both, with the same type
};

TreeState snapshot(const std::string& root);

// Differences between two snapshots, one line each ("path: mode 0644 vs 0600"); empty if equal.
std::vector<std::string> compare_trees(const TreeState& expected, const TreeState& actual,
                                       const SnapshotOptions& options);

// Builds the standard hostile tree under `root` (which must not exist): empty, small and
// 1 MiB+7 files, sparse file, hard links, relative/absolute/dangling/looping symlinks,
// FIFO, socket, devices, set-id and sticky modes, odd owners, xattrs, an ACL, old/future/
// nanosecond times, names with newlines, leading dashes, invalid UTF-8 and 255 bytes.
void build_hostile_tree(const std::string& root);

// Adds hard-link groups to a tree made by build_hostile_tree (for -H): a group of four spread
// over three directories (one member under sub/, which some filters exclude), a pair in one
// directory, a link to the 1 MiB+7 file, and second names for a symlink and a FIFO.
void add_hard_link_groups(const std::string& root);

// Sets every item under `root` (and root itself) whose mtime is newer than `newer_than` to
// `to`: tests without -t must not depend on which second a copy happens to run in.
void pin_recent_times(const std::string& root, long long newer_than, long long to);

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
// Runs argv[0] (searched in PATH) with the arguments, capturing stdout and stderr.
RunResult run_program(const std::vector<std::string>& argv);

std::string make_temp_dir(const char* prefix);
void write_file(const std::string& path, const std::string& content);
void remove_tree(const std::string& path);

}  // namespace ringkit::testing

// ---- For the fault-injection tests (tests/e2e/ringsync_faults*_test.cc) ----

namespace ringkit::testing {

// A program running in the background; its stdout and stderr go to pipes (read ends here) or,
// when not captured, to /dev/null.
struct Spawned {
  pid_t pid = -1;
  int out_fd = -1;
  int err_fd = -1;
};

// Starts argv[0] (searched in PATH). `in_child`, if given, runs in the child between fork and
// exec (to drop privileges, say); when it returns false the child exits with 126.
Spawned spawn_program(const std::vector<std::string>& argv, bool capture = true,
                      const std::function<bool()>& in_child = {});

// Collects the output of `p` until both pipes close, then reaps it. While waiting it also polls
// `extra_fd` (when >= 0) and calls `on_extra` each time that is readable, so that the caller can
// serve something the child waits on (a fanotify permission event, say).
RunResult wait_program(Spawned& p, int extra_fd = -1, const std::function<void()>& on_extra = {});

// SIGKILLs `p` (which may have finished already) and reaps it. Returns the wait status.
int kill_program(Spawned& p);

// Runs argv with real, effective and saved uid/gid set to `uid`/`gid` and no supplementary groups.
RunResult run_program_as(const std::vector<std::string>& argv, uid_t uid, gid_t gid);

// Like make_temp_dir, under `parent` (e.g. /dev/shm).
std::string make_temp_dir_in(const std::string& parent, const char* prefix);

// Whether the last component of `path` is one of ringsync's temp names, ".NAME.~rkXXXXXX".
bool is_ringsync_temp(const std::string& path);

// Regular files of `dst` under their final names (temp names are left out) whose content is
// none of the given versions of the source: files visible half-written. One line each.
std::vector<std::string> half_written_files(const TreeState& dst, const std::vector<const TreeState*>& versions);

// Paths in `tree` that are ringsync temp files.
std::vector<std::string> temp_files(const TreeState& tree);

// Removes a tree of any depth (with *at calls: paths may be longer than PATH_MAX).
void remove_deep_tree(const std::string& path);

// Removes a test's directory however the test ends (declare it before anything mounted inside
// it, so that it runs after the unmounts).
struct ScopedTempTree {
  explicit ScopedTempTree(std::string p) : path(std::move(p)) {}
  std::string path;
  ScopedTempTree(const ScopedTempTree&) = delete;
  ScopedTempTree& operator=(const ScopedTempTree&) = delete;
  ~ScopedTempTree() { remove_deep_tree(path); }
};

// Lines for a failure message, indented, one a line.
std::string indent_lines(const std::vector<std::string>& lines);

}  // namespace ringkit::testing
