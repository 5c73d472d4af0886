// --list-only and the one-argument form against the real rsync, on the hostile tree (every
// file type, odd modes, names that need escaping): the listings must be the same, line for
// line, and nothing may be written. Also with a list (-R, --files-from, several sources),
// which rsync lists in its file-list order with the implied directories.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "support/rsync_diff.h"
#include "support/tree.h"

namespace ringkit::testing {
namespace {

const std::string kRingsync = std::string(RINGKIT_BIN_DIR) + "/ringsync";

class ListOnly : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    base_ = make_temp_dir("ringsync-list");
    build_diff_source(base_ + "/src");
    // A second tree sharing "sub" and "hl/two" with the first, and a --files-from list with
    // a missing name, an implied root ("./fifo"), a directory with its entries ("hl/two/").
    std::filesystem::create_directories(base_ + "/other/sub/deeper");
    std::filesystem::create_directories(base_ + "/other/hl/two");
    write_file(base_ + "/other/sub/file", "other's\n");
    write_file(base_ + "/other/sub/only-other", "o\n");
    write_file(base_ + "/other/sub/deeper/leaf", "l\n");
    write_file(base_ + "/other/hl/two/y", "y\n");
    write_file(base_ + "/other/top", "t\n");
    pin_recent_times(base_ + "/other", 1700000000, 1000000000);
    write_file(base_ + "/list", "sub\nhl/two/\nsmall\n./fifo\nnope\nhl/one/x\n");
  }
  void TearDown() override { remove_tree(base_); }
  std::string base_;
};

TEST_P(ListOnly, SameListingAsRsync) {
  std::vector<std::string> r = {"rsync"}, g = {kRingsync};
  std::istringstream in(GetParam());
  for (std::string w; in >> w;) {
    if (w.starts_with("SRC")) w = base_ + "/src" + w.substr(3);
    if (w.starts_with("OTHER")) w = base_ + "/other" + w.substr(5);
    if (w == "DEST") w = base_ + "/dest";
    if (w.ends_with("=LIST")) w = w.substr(0, w.size() - 4) + base_ + "/list";
    r.push_back(w);
    g.push_back(w);
  }
  RunResult rr = run_program(r), gr = run_program(g);
  EXPECT_EQ(gr.exit_code, rr.exit_code) << gr.err;
  EXPECT_EQ(gr.out, rr.out);
  EXPECT_FALSE(rr.out.empty());
  EXPECT_TRUE(snapshot(base_).count("dest") == 0) << "a listing wrote the destination";
}

INSTANTIATE_TEST_SUITE_P(Forms, ListOnly,
                         ::testing::Values("--list-only SRC/", "SRC/", "-r SRC/", "-a SRC/", "-a SRC", "SRC",
                                           "-a --list-only SRC/ DEST", "-rh SRC/", "-a --exclude=sub/ SRC/",
                                           "-a --list-only SRC/sub/file",
                                           // -R: implied directories, the root implied by "./",
                                           // --no-implied-dirs, filters, merged bases.
                                           "-R SRC/./sub SRC/./hl/two", "--list-only -aR SRC/./sub SRC/./hl DEST",
                                           "--list-only -aR SRC/./ OTHER/./ DEST",
                                           "--list-only -R SRC/./sub/ OTHER/./sub/ DEST",
                                           "--list-only -aR --no-implied-dirs SRC/./sub/deeper SRC/./hl/one/x DEST",
                                           "--list-only -aR --exclude=deeper --exclude=file SRC/./sub OTHER/./sub DEST",
                                           "--list-only -aR SRC/./hl OTHER/./hl/two DEST",
                                           "--list-only -aR OTHER/./hl/two SRC/./hl DEST",
                                           "--list-only -aRm SRC/./ DEST", "--list-only -aRL SRC/./ DEST",
                                           "--list-only -aR SRC/./sub OTHER/./nope SRC/./small DEST",
                                           // --files-from: -d implied, -r only when given.
                                           "--list-only --files-from=LIST SRC/ DEST",
                                           "--list-only -a --files-from=LIST SRC/ DEST",
                                           "--list-only -r --files-from=LIST SRC/ DEST",
                                           "--list-only --no-R --files-from=LIST SRC/ DEST",
                                           "--list-only -ar --no-R --files-from=LIST SRC/ DEST",
                                           // Several sources: one file list, in rsync's order.
                                           "--list-only -a SRC/sub OTHER/top SRC/small OTHER/sub DEST",
                                           "--list-only -a SRC/ OTHER/ DEST", "--list-only SRC/sub/ OTHER/sub/ DEST",
                                           "--list-only -a OTHER/nope SRC/hl OTHER/hl DEST",
                                           // --no-d: named directories are skipped.
                                           "--list-only --no-d SRC/", "--list-only --no-d SRC/sub OTHER/top DEST",
                                           "--list-only --no-d -R SRC/./ OTHER/./top DEST"),
                         [](const auto& param_info) {
                           std::string name = param_info.param;
                           for (char& c : name) {
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace ringkit::testing
