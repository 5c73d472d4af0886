// --list-only and the one-argument form against the real rsync, on the hostile tree (every
// file type, odd modes, names that need escaping): the listings must be the same, line for
// line, and nothing may be written.
#include <gtest/gtest.h>

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
  }
  void TearDown() override { remove_tree(base_); }
  std::string base_;
};

TEST_P(ListOnly, SameListingAsRsync) {
  std::vector<std::string> r = {"rsync"}, g = {kRingsync};
  std::istringstream in(GetParam());
  for (std::string w; in >> w;) {
    if (w.starts_with("SRC")) w = base_ + "/src" + w.substr(3);
    if (w == "DEST") w = base_ + "/dest";
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
                                           "-a --list-only SRC/sub/file"),
                         [](const auto& param_info) {
                           std::string name = param_info.param;
                           for (char& c : name) {
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace ringkit::testing
