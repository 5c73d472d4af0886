// Differential runs of ringsync against the real rsync: the same command line into two
// destinations, then the exit codes, the -i output and the two trees compared. For the e2e
// tests under tests/e2e/ringsync_*_test.cc. Test-only code; single-threaded.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <utility>
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
// xattrs with -X, ACLs with -A, directory times unless -O (or -b without --backup-dir, which
// implies it; or `dir_times` is false).
SnapshotOptions compare_options_for(const std::vector<std::string>& options, bool dir_times = true);

// The source most differential suites copy: the hostile tree at `root` with its hard-link
// groups, and times newer than the suite pinned (so that runs on either side of a second agree).
void build_diff_source(const std::string& root);

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

// The frame of a suite of DiffRuns cases (--files-from, -R, -m, source links): each case is a
// command line run as a first copy, a no-op and a re-sync after changes, and as dry runs. The
// suite says per case what both tools get (args), how their trees must agree (compare), what
// changes in the source between runs (change_source) and what names the case in a failure
// (label); it builds its source in src_ (SetUp).
template <class Case>
class DiffRunsTest : public ::testing::TestWithParam<Case> {
 protected:
  explicit DiffRunsTest(const char* prefix) : runs_(prefix), src_(runs_.base() + "/src") {}

  virtual std::string label() const = 0;
  virtual std::vector<std::string> args() const = 0;  // all but DEST
  virtual SnapshotOptions compare() const = 0;
  virtual void change_source() = 0;
  virtual std::string stdin_path() const { return {}; }

  // DiffRuns::first_noop_resync and DiffRuns::expect_dry_runs_match for this case.
  void expect_runs_as_rsync() {
    SCOPED_TRACE(label());
    runs_.first_noop_resync(args(), compare(), [this] { change_source(); }, stdin_path());
  }
  void expect_dry_runs_match() {
    SCOPED_TRACE(label());
    runs_.expect_dry_runs_match(args(), [this] { change_source(); }, stdin_path());
  }

  DiffRuns runs_;
  std::string src_;
};

// A DiffRunsTest whose parameter is the option string, run on "src/" (-m, wide directories):
// the suite gives its tree (SetUp) and its changes (change_source).
template <class Text = std::string>
class OptionsOnSrcTest : public DiffRunsTest<Text> {
 protected:
  using DiffRunsTest<Text>::DiffRunsTest;
  std::string label() const override { return this->GetParam(); }
  std::vector<std::string> args() const override {
    std::vector<std::string> a = words(this->GetParam());
    a.push_back("src/");
    return a;
  }
  SnapshotOptions compare() const override { return compare_options_for(words(this->GetParam())); }
};

}  // namespace ringkit::testing

// ---- For the write-side tests (ringsync_{basis,backup_dir,temp_dir,delay_updates,partial}_test.cc) ----

namespace ringkit::testing {

// words(), with `replacements` applied to each word (e.g. {"BASIS", "/tmp/x/basis-r"}).
std::vector<std::string> words_with(const std::string& spec,
                                    const std::vector<std::pair<std::string, std::string>>& replacements);

// Runs `program` with `options`, then `src` and `dest`.
RunResult run_sync(const std::string& program, const std::vector<std::string>& options, const std::string& src,
                   const std::string& dest);

// rsync -v's header and summary ("sending incremental file list", "sent N bytes ...", "total
// size is ..."), left out where a test compares the items.
void drop_transfer_summary(RunResult& run);

// The paths of everything below `root` (not `root` itself); empty if it does not exist.
std::vector<std::string> items_below(const std::string& root);

// The paths (relative to `root`) of the regular files below `root` that are the same inode as
// the file of the same path below `other` (e.g. linked from a --link-dest).
std::vector<std::string> files_linked_to(const std::string& root, const std::string& other);

// param_test_name() for INSTANTIATE_TEST_SUITE_P with string parameters.
struct ParamTestName {
  std::string operator()(const ::testing::TestParamInfo<std::string>& info) const {
    return param_test_name(info.param, info.index);
  }
};

// The frame of a differential test whose parameter is an option string: the hostile tree
// (with hard-link groups and recent times pinned) in base_/src, rsync writing base_/r/ and
// ringsync base_/g/, each with its own copy of the options.
class RsyncDiffTest : public ::testing::TestWithParam<std::string> {
 protected:
  // Makes base_ (named after `prefix`) and the source tree.
  void make_source(const char* prefix);
  void TearDown() override;
  // The options of the parameter for each tool; `replacements(tag)` gives the word
  // replacements for tag "r" (rsync) and "g" (ringsync), e.g. a backup dir of its own.
  void parse_options(
      const std::function<std::vector<std::pair<std::string, std::string>>(const std::string&)>& replacements);
  bool has(const std::string& flag) const { return has_option(options_[0], flag); }
  // Runs both tools from base_/src/ and expects the same exit code and items.
  void run_tools_and_compare_output();
  // base_/r and base_/g compared with `cmp`, after `adjust` (if given) has been applied to both
  // snapshots (to leave out what may differ, say a temp dir's time); each difference fails
  // as "ringsync vs rsync: ...".
  void expect_same_destinations(const SnapshotOptions& cmp, const std::function<void(TreeState&)>& adjust = {}) const;
  // The same with -n added: the same output as rsync's dry run, and ringsync's destination
  // unchanged.
  void compare_dry_runs();

  std::string base_, src_;
  std::vector<std::string> options_[2];  // for rsync, for ringsync
};

// Holds every read of one file by another process (a fanotify FAN_ACCESS_PERM mark) until this
// test lets it through: a way to stop a copy at a chosen point, e.g. to interrupt it half-way
// or to look at the destination while it waits. Needs CAP_SYS_ADMIN: error() says why not.
// Nothing in this process may read the file while the gate exists (it would wait on itself).
class ReadGate {
 public:
  explicit ReadGate(const std::string& path);
  ~ReadGate();
  ReadGate(const ReadGate&) = delete;
  ReadGate& operator=(const ReadGate&) = delete;

  const std::string& error() const { return error_; }
  int fd() const { return fd_; }  // for wait_program(p, gate.fd(), ...)
  int reads() const { return reads_; }
  // Answers the pending read events: `before_allowing(n)` runs before the n-th read (from 1)
  // goes on.
  void serve(const std::function<void(int)>& before_allowing);

 private:
  int fd_ = -1;
  int reads_ = 0;
  std::string error_;
};

}  // namespace ringkit::testing
