// Test trees: build a directory tree with every kind of item and attribute ringsync must
// handle, snapshot a tree attribute by attribute, and run programs. For the end-to-end tests
// that compare ringsync with the real rsync. Test-only code; single-threaded.
#pragma once

#include <sys/types.h>

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
