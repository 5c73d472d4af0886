// --mkpath against the real rsync: the missing directories of DEST are made before the transfer
// and counted in one line ("created 2 directories for DEST"), after which DEST is a directory
// that exists (its root is itemized as changed, not as new); a dry run counts them and makes
// nothing; a single file to a new name gets the directories of its name. Output, exit code and
// the trees are compared.
#include <gtest/gtest.h>

#include <filesystem>

#include "support/rsync_diff.h"
#include "support/tree.h"

namespace ringkit::testing {
namespace {

struct MkpathCase {
  const char* options;
  const char* sources;
  const char* dest;  // below the tool's own directory (r/ or g/)
};

class RingsyncMkpath : public ::testing::TestWithParam<MkpathCase> {};

TEST_P(RingsyncMkpath, MakesDestLikeRsync) {
  const MkpathCase& c = GetParam();
  DiffRuns runs("ringsync-mkpath");
  std::string base = runs.base();
  std::filesystem::create_directories(base + "/src/dir");
  write_file(base + "/src/dir/f", "f\n");
  write_file(base + "/src/g", "g\n");
  for (const char* side : {"/r", "/g"}) {
    std::filesystem::create_directories(base + side + "/exists");
    write_file(base + std::string(side) + "/exists/file", "in the way\n");
  }
  pin_recent_times(base, 0, 1700000000);
  std::vector<std::string> args = words(c.options);
  for (const std::string& s : words(c.sources)) args.push_back(s);
  for (int round = 0; round < 2; ++round) {  // the second: DEST exists now (nothing to make)
    RunResult r = runs.run_rsync(args, base + "/r/" + c.dest);
    RunResult g = runs.run_ringsync(args, base + "/g/" + c.dest);
    drop_transfer_summary(r);  // (-v: byte counts are estimates)
    drop_transfer_summary(g);
    expect_same_run(r, g, std::string(c.options) + " " + c.sources + " " + c.dest + (round ? ", again" : ""));
    runs.expect_same_trees(compare_options_for(args, false));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RingsyncMkpath,
    ::testing::Values(MkpathCase{"-ai --mkpath", "src/dir/", "d1"}, MkpathCase{"-ai --mkpath", "src/dir/", "d1/d2/d3/"},
                      MkpathCase{"-ai --mkpath", "src/dir", "d1/d2"}, MkpathCase{"-ai --mkpath", "src/g", "d1/d2/new-name"},
                      MkpathCase{"-ai --mkpath", "src/g", "d1/d2/"}, MkpathCase{"-ai --mkpath", "src/g src/dir", "d1/d2"},
                      MkpathCase{"-aiR --mkpath", "src/./dir/f", "d1/d2"}, MkpathCase{"-ain --mkpath", "src/dir/", "d1/d2"},
                      MkpathCase{"-ain --mkpath", "src/g", "d1/d2/new-name"}, MkpathCase{"-av --mkpath", "src/dir/", "d1/d2"},
                      MkpathCase{"-ai --mkpath", "src/dir/", "exists/file/d1"},
                      MkpathCase{"-ai", "src/dir/", "d1/d2"}),
    [](const auto& param_info) {
      const MkpathCase& c = param_info.param;
      return param_test_name(std::string(c.options) + "_" + c.sources + "_" + c.dest, param_info.index);
    });

}  // namespace
}  // namespace ringkit::testing
