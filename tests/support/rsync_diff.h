// Comparing ringsync's output with the real rsync's, for the differential end-to-end tests
// (tests/e2e/ringsync_*_test.cc). Test-only code; single-threaded.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "support/tree.h"

namespace ringkit::testing {

std::vector<std::string> split_lines(const std::string& text);

// Whether `line` is an itemize line ("%i %n": 11 change characters, a space, the name).
bool is_item_line(const std::string& line);

// rsync prints deletions and notes ("cannot delete non-empty directory: x") on another
// channel than the itemize lines, and where they land among them varies from run to run of
// rsync itself; each sequence on its own is stable. So the two are compared separately.
// With -H, rsync prints the links it makes to a group's leader ("hf... a => b") when its
// receiver reports the leader done, which races with the generator's other lines; ringsync
// prints them right after the leader, as rsync -n does. Their order is compared apart.
// "created directory NAME" becomes "created directory DEST" (the two destinations differ).
struct ItemizedOutput {
  std::vector<std::string> items;
  std::vector<std::string> links;      // "hf" lines, sorted
  std::vector<std::string> deletions;  // "*deleting" lines
  std::vector<std::string> notes;      // "skipping ...", "cannot delete ..."
};
ItemizedOutput split_output(const std::string& text);

// EXPECTs that ringsync exited and printed what rsync did, section by section.
void expect_same_output(const RunResult& rsync, const RunResult& ringsync);

// The ringsync binary under test.
std::string ringsync_binary();

// Options written as one string, split at spaces ("_" stands for a space inside one word, so
// "-f -_/small" is the rule "- /small"), with `replacements` applied to each word
// (e.g. {"BASIS", "/tmp/x/basis"}).
std::vector<std::string> option_words(const std::string& text,
                                      const std::vector<std::pair<std::string, std::string>>& replacements = {});

// Whether the options hold a short flag (in any bundle, "-aiX") or a long option (exactly,
// or as "--name=...").
bool has_option(const std::vector<std::string>& options, const std::string& flag);

// Runs `program` with `options`, then `src` and `dest`.
RunResult run_sync(const std::string& program, const std::vector<std::string>& options, const std::string& src,
                   const std::string& dest);

// A test's name for a string parameter: "-ai --delete" becomes "_ai___delete".
std::string param_test_name(const std::string& param);
struct ParamTestName {
  std::string operator()(const ::testing::TestParamInfo<std::string>& info) const { return param_test_name(info.param); }
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
  // Runs both tools from base_/src/ and expects the same exit code and output.
  void run_tools_and_compare_output();
  // The same with -n added: the same output as rsync's dry run, and ringsync's destination
  // unchanged.
  void compare_dry_runs();

  std::string base_, src_;
  std::vector<std::string> options_[2];  // for rsync, for ringsync
};

// The paths of everything below `root` (not `root` itself); empty if it does not exist.
std::vector<std::string> items_below(const std::string& root);

// The paths (relative to `root`) of the regular files below `root` that are the same inode as
// the file of the same path below `other` (e.g. linked from a --link-dest).
std::vector<std::string> files_linked_to(const std::string& root, const std::string& other);

}  // namespace ringkit::testing

namespace ringkit::testing {

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
