// Options ringsync does not implement yet are refused before anything is touched: exit 1, a
// message naming the option, no destination made. (An option that rsync would honour must
// never be silently ignored.) Each option here is also marked [not yet] in --help.
#include <gtest/gtest.h>

#include <filesystem>

#include "support/tree.h"

namespace ringkit::testing {
namespace {

const std::string kRingsync = std::string(RINGKIT_BIN_DIR) + "/ringsync";

class Refused : public ::testing::TestWithParam<std::vector<std::string>> {};

TEST_P(Refused, ExitsOneAndTouchesNothing) {
  std::string base = make_temp_dir("ringsync-refused");
  write_file(base + "/f", "x");
  std::vector<std::string> args = {kRingsync, "-a"};
  for (const auto& a : GetParam()) args.push_back(a);
  args.push_back(base + "/f");
  args.push_back(base + "/dest/");
  RunResult r = run_program(args);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is not supported by this version of ringsync yet"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(base + "/dest"));
  remove_tree(base);
}

TEST(RefusedHelp, EveryRefusedOptionIsMarkedInHelp) {
  RunResult r = run_program({kRingsync, "--help"});
  ASSERT_EQ(r.exit_code, 0);
  for (const char* name : {"--temp-dir", "--partial-dir", "--delay-updates", "--backup-dir", "--link-dest",
                           "--compare-dest", "--copy-dest"}) {
    size_t at = r.out.find(name);
    ASSERT_NE(at, std::string::npos) << name;
    size_t end = r.out.find('\n', r.out.find('\n', at) + 1);  // its line, or the next if wrapped
    EXPECT_NE(r.out.substr(at, end - at).find("[not yet]"), std::string::npos) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(
    NotYet, Refused,
    ::testing::Values(std::vector<std::string>{"--list-only", "-R"},
                      std::vector<std::string>{"--files-from=/dev/null", "--no-R"},
                      std::vector<std::string>{"--temp-dir=/tmp"}, std::vector<std::string>{"--partial-dir=.p"},
                      std::vector<std::string>{"--delay-updates"}, std::vector<std::string>{"--backup-dir=b"},
                      std::vector<std::string>{"--link-dest=/tmp"}, std::vector<std::string>{"--compare-dest=/tmp"},
                      std::vector<std::string>{"--copy-dest=/tmp"},
                      // --info levels whose output ringsync does not produce yet.
                      std::vector<std::string>{"--info=skip2"}, std::vector<std::string>{"--info=name2"},
                      std::vector<std::string>{"--info=backup"}, std::vector<std::string>{"--info=all"}));

}  // namespace
}  // namespace ringkit::testing
