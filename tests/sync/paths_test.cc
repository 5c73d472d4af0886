// parse_source() and path_components() (src/sync/paths.cc); the latter is shared by the
// selection, the filter roots and the unsafe-symlink check.
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

TEST(ParseSource, ATrailingSlashOrDotNamesTheContents) {
  for (const char* arg : {"d/", "d/.", "d//", "./", "."}) {
    EXPECT_TRUE(parse_source(arg).contents) << arg;
  }
  SourceArg s = parse_source("a/b");
  EXPECT_FALSE(s.contents);
  EXPECT_EQ(s.name, "b");
  EXPECT_EQ(s.path, "a/b");
  EXPECT_TRUE(parse_source("/").contents);
}

// ".." as the last component would make an item named "..": DEST/.. is above DEST.
TEST(ParseSource, DotDotIsTheContentsOfTheDirectoryItNames) {
  for (const char* arg : {"..", "a/..", "a/b/..", "../..", "/..", "a/../"}) {
    EXPECT_TRUE(parse_source(arg).contents) << arg;
  }
  EXPECT_FALSE(parse_source("a/..b").contents);
  EXPECT_FALSE(parse_source("a/b..").contents);
}

}  // namespace
}  // namespace ringkit::sync
