// Differential runs of ringsync against the real rsync: the same command line into two
// destinations, then the exit codes, the -i output and the two trees compared. For the e2e
// tests under tests/e2e/ringsync_*_test.cc. Test-only code; single-threaded.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "support/tree.h"

namespace ringkit::testing {

// build/bin/ringsync.
const std::string& ringsync_program();

std::vector<std::string> split_lines(const std::string& text);

// rsync prints deletions and notes ("cannot delete non-empty directory: x", "skipping ...")
// on another channel than the itemize lines, and where they land among them varies from run
// to run of rsync itself; each sequence on its own is stable. So the four are compared apart.
// With -H, rsync prints the links it makes to a group's leader ("hf... a => b") when its
// receiver reports the leader done, which races with the generator's other lines; ringsync
// prints them right after the leader, as rsync -n does. Their order is compared apart too.
struct SyncOutput {
  std::vector<std::string> items;      // itemized lines and "created directory DEST"
  std::vector<std::string> links;      // "hf" lines, sorted
  std::vector<std::string> deletions;  // "*deleting" lines
  std::vector<std::string> notes;      // everything else on stdout
};
bool is_item_line(const std::string& line);
SyncOutput split_output(const std::string& text);

// Runs argv with the working directory `cwd` (empty: this process's) and standard input read
// from the file `stdin_path` (empty: inherited).
RunResult run_in(const std::vector<std::string>& argv, const std::string& cwd, const std::string& stdin_path = {});

// The two runs printed the same and ended the same; failures name `what`.
void expect_same_run(const RunResult& rsync, const RunResult& ours, const std::string& what);

// A test-parameter name: `text` with every byte that is not a letter or digit made '_', then
// "_<index>" (so that two cases that differ only in punctuation stay apart).
std::string param_test_name(const std::string& text, size_t index);

// A command line split into words: "_" inside a word stands for a space ("-f_-_x" is "-f" "- x").
std::vector<std::string> words(const std::string& spec);

}  // namespace ringkit::testing

namespace ringkit::testing {

// Whether the options hold a short flag (in any bundle: "a" is in "-aiX") or a long option.
bool has_option(const std::vector<std::string>& options, const std::string& flag);

// What two copies made with `options` must agree on: times with -t (-a), owners with -o,
// xattrs with -X, ACLs with -A, directory times unless -O (or `dir_times` is false).
SnapshotOptions compare_options_for(const std::vector<std::string>& options, bool dir_times = true);

// One base directory for a differential test: the caller fills base()/src (or more), then
// runs both tools from base() (so relative source paths work) into base()/r/ and base()/g/.
class DiffRuns {
 public:
  explicit DiffRuns(const char* prefix) : base_(make_temp_dir(prefix)) {}
  ~DiffRuns() { remove_tree(base_); }
  DiffRuns(const DiffRuns&) = delete;
  DiffRuns& operator=(const DiffRuns&) = delete;

  const std::string& base() const { return base_; }
  // Lines about items that change while the tools run (e.g. an implied /tmp) are left out of
  // every comparison.
  void ignore_lines(std::function<bool(const std::string&)> unstable) { unstable_ = std::move(unstable); }
  // `args` are everything but DEST. Compares what both printed and how they ended.
  void run_both(const std::vector<std::string>& args, const std::string& what, const std::string& stdin_path = {});
  // The two destinations, attribute by attribute (their roots themselves left out: unless an
  // item, DEST's own times are whatever the run left).
  void expect_same_trees(const SnapshotOptions& cmp) const;
  // The usual round: a first copy, a no-op run, `change_source`, a re-sync; output compared
  // each time, trees after the first and the last.
  void first_noop_resync(const std::vector<std::string>& args, const SnapshotOptions& cmp,
                         const std::function<void()>& change_source, const std::string& stdin_path = {});
  // ringsync -n ARGS prints what ringsync ARGS then does, and changes nothing (into base()/g/).
  void expect_dry_run_matches(const std::vector<std::string>& args, const std::string& stdin_path = {});
  // The same on a fresh destination, then again after `change_source`.
  void expect_dry_runs_match(const std::vector<std::string>& args, const std::function<void()>& change_source,
                             const std::string& stdin_path = {});
  RunResult run_ringsync(const std::vector<std::string>& args, const std::string& dest,
                         const std::string& stdin_path = {}) const;
  RunResult run_rsync(const std::vector<std::string>& args, const std::string& dest,
                      const std::string& stdin_path = {}) const;

 private:
  void drop_unstable(RunResult& run) const;

  std::string base_;
  std::function<bool(const std::string&)> unstable_;
};

}  // namespace ringkit::testing
