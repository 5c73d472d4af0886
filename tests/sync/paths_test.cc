// path_components() (src/sync/paths.cc), shared by the selection, the filter roots and the
// unsafe-symlink check.
#include "sync/paths.h"

#include <gtest/gtest.h>

namespace ringkit::sync {
namespace {

using Parts = std::vector<std::string_view>;

TEST(PathComponents, DropsEmptyAndDotParts) {
  EXPECT_EQ(path_components("a/b/c"), (Parts{"a", "b", "c"}));
  EXPECT_EQ(path_components("/a//./b/"), (Parts{"a", "b"}));
  EXPECT_EQ(path_components("./a/."), (Parts{"a"}));
  EXPECT_EQ(path_components(""), Parts{});
  EXPECT_EQ(path_components("/"), Parts{});
  EXPECT_EQ(path_components("./."), Parts{});
}

TEST(PathComponents, KeepsDotDotAndNamesThatStartWithADot) {
  EXPECT_EQ(path_components("../a/../b"), (Parts{"..", "a", "..", "b"}));
  EXPECT_EQ(path_components(".hidden/..x/.../b."), (Parts{".hidden", "..x", "...", "b."}));
}

}  // namespace
}  // namespace ringkit::sync
