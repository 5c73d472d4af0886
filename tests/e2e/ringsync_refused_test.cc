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

// Every option of the table is implemented now: --help marks none as [not yet] (what is still
// refused is a combination, or an --info level, said by the refusal itself).
TEST(RefusedHelp, NoOptionIsMarkedNotYet) {
  RunResult r = run_program({kRingsync, "--help"});
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.find("[not yet]"), std::string::npos) << r.out;
}

INSTANTIATE_TEST_SUITE_P(
    NotYet, Refused,
    // --info levels whose output ringsync does not produce yet.
    ::testing::Values(std::vector<std::string>{"--info=skip2"},
                      std::vector<std::string>{"--info=backup2"}, std::vector<std::string>{"--info=all"}));

}  // namespace
}  // namespace ringkit::testing
