// rsync's lexical "unsafe symlink" test, case by case (the same cases were checked against
// rsync 3.5.0 --safe-links; the e2e symlink tests compare whole trees).
#include "sync/symlinks.h"

#include <gtest/gtest.h>

namespace ringkit::sync {
namespace {

TEST(SyncUnsafeSymlink, AsRsyncJudgesThem) {
  // At the top of the transfer.
  EXPECT_TRUE(is_unsafe_symlink("", ""));
  EXPECT_TRUE(is_unsafe_symlink("/etc/hostname", ""));
  EXPECT_TRUE(is_unsafe_symlink("..", ""));
  EXPECT_TRUE(is_unsafe_symlink("../x", ""));
  EXPECT_TRUE(is_unsafe_symlink("a/../b", ""));     // embedded ".."
  EXPECT_TRUE(is_unsafe_symlink("d/..", ""));       // trailing "/.."
  EXPECT_TRUE(is_unsafe_symlink("./d/../d", ""));
  EXPECT_FALSE(is_unsafe_symlink("small", ""));
  EXPECT_FALSE(is_unsafe_symlink("./x", ""));
  EXPECT_FALSE(is_unsafe_symlink("d/./e", ""));
  // Two levels down ("d/e/").
  EXPECT_FALSE(is_unsafe_symlink("../../x", "d/e/"));
  EXPECT_FALSE(is_unsafe_symlink("..//x", "d/e/"));
  EXPECT_FALSE(is_unsafe_symlink("x//y", "d/e/"));
  EXPECT_FALSE(is_unsafe_symlink("x/.", "d/e/"));
  EXPECT_TRUE(is_unsafe_symlink("../../../x", "d/e/"));
  EXPECT_TRUE(is_unsafe_symlink("./../x", "d/e/"));  // "." before ".." ends the leading run
  EXPECT_TRUE(is_unsafe_symlink(".././../x", "d/e/"));
  EXPECT_TRUE(is_unsafe_symlink("../..", "d/e/"));   // ends in "/.."
  EXPECT_TRUE(is_unsafe_symlink("../x/..", "d/e/"));
  EXPECT_FALSE(is_unsafe_symlink("..", "d/"));
}

}  // namespace
}  // namespace ringkit::sync
