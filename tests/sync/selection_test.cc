// The -R / --files-from list: name cleaning, -R arguments, the component order and the views
// the walk takes of the list, checked case by case (the e2e tests compare the whole behaviour
// with rsync).
#include "sync/selection.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace ringkit::sync {
namespace {

TEST(SyncSelectionPathOrder, ComponentsBeforeLongerNames) {
  EXPECT_TRUE(path_less("a", "a/x"));
  EXPECT_TRUE(path_less("a/x", "a.b"));  // byte order would say "a.b" < "a/x"
  EXPECT_TRUE(path_less("a/z", "a0"));
  EXPECT_FALSE(path_less("b", "a/x"));
  EXPECT_FALSE(path_less("a", "a"));
  EXPECT_TRUE(path_less("a/\xff", "a\x01"));
}

TEST(SyncSelectionListedName, AsRsyncReadsAFilesFromLine) {
  auto clean = [](const char* raw) { return clean_listed_name(raw); };
  EXPECT_EQ(clean("/a/b")->path, "a/b");
  EXPECT_EQ(clean("../c")->path, "c");
  EXPECT_EQ(clean("a/../../x")->path, "x");
  EXPECT_EQ(clean("c/../a/b/s//f")->path, "a/b/s/f");
  EXPECT_EQ(clean("./x/.")->path, "x");
  EXPECT_TRUE(clean("./x/.")->contents);
  EXPECT_TRUE(clean("dir/")->contents);
  EXPECT_FALSE(clean("dir")->contents);
  EXPECT_EQ(clean(".")->path, "");
  EXPECT_TRUE(clean(".")->contents);
  EXPECT_EQ(clean("  spaced  ")->path, "  spaced  ");
  // A last ".." names the directory it resolves to as "dir/." does.
  EXPECT_EQ(clean("a/b/..")->path, "a");
  EXPECT_TRUE(clean("a/b/..")->contents);
  EXPECT_FALSE(clean("a/..b")->contents);
  // Read as -R reads its sources: "/./" starts the kept part, "./x" sends the root too.
  EXPECT_TRUE(clean("./g")->root_implied);
  EXPECT_TRUE(clean("/./g")->root_implied);
  EXPECT_FALSE(clean("././g")->root_implied);
  EXPECT_EQ(clean("a/./b/f")->base, "a");
  EXPECT_EQ(clean("a/./b/f")->path, "b/f");
  EXPECT_EQ(clean("a/b/./f")->base, "a/b");
  EXPECT_EQ(clean("../x/./y/f")->base, "x");  // the base stays inside SRC too (rsync reads SRC/x)
  EXPECT_FALSE(clean("").has_value());
}

TEST(SyncSelectionRelativeSource, BasesAndKeptPaths) {
  struct Case {
    const char* arg;
    const char* base;
    const char* path;
    bool contents, root_implied, absolute;
  };
  for (const Case& c : {
           Case{"src/./a/./b", "src", "a/b", false, false, false},
           Case{"/x/./y/", "/x", "y", true, false, false},
           Case{"/etc/ssh", "/", "etc/ssh", false, false, true},
           Case{"./src/a", ".", "src/a", false, true, false},
           Case{"src//a///b", ".", "src/a/b", false, false, false},
           Case{"src/./", "src", "", true, false, false},
       }) {
    SCOPED_TRACE(c.arg);
    auto parsed = parse_relative_source(c.arg);
    ASSERT_TRUE(std::holds_alternative<RelativeSource>(parsed)) << std::get<std::string>(parsed);
    const RelativeSource& r = std::get<RelativeSource>(parsed);
    EXPECT_EQ(r.base, c.base);
    EXPECT_EQ(r.path, c.path);
    EXPECT_EQ(r.contents, c.contents);
    EXPECT_EQ(r.root_implied, c.root_implied);
    EXPECT_EQ(r.absolute, c.absolute);
  }
  auto err = parse_relative_source("src/a/../c");
  ASSERT_TRUE(std::holds_alternative<std::string>(err));
  EXPECT_NE(std::get<std::string>(err).find("\"..\""), std::string::npos);
  EXPECT_TRUE(std::holds_alternative<std::string>(parse_relative_source("../x")));
}

std::vector<std::string> child_names(const SelView& v) {
  std::vector<std::string> out;
  for (const SelChild& c : Selection::children(v)) out.push_back(std::string(c.name) + (c.named ? "" : "*"));
  return out;
}

TEST(SyncSelectionViews, ChildrenImpliedDirectoriesAndDuplicates) {
  Selection sel;
  uint32_t b = sel.add_base(".");
  for (const char* p : {"c/g", "a/b", "a/z", "a.x", "a/b/s/f", "c/g"}) sel.add(p, b, false);
  sel.finish();
  EXPECT_EQ(sel.size(), 5u);  // the duplicate merged
  EXPECT_FALSE(sel.root_listed());
  SelView root = sel.root_view(false);
  EXPECT_FALSE(root.full);
  EXPECT_EQ(child_names(root), (std::vector<std::string>{"a*", "a.x", "c*"}));
  auto a = Selection::child_view(root, "a", false, b);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(child_names(*a), (std::vector<std::string>{"b", "z"}));
  auto ab = Selection::child_view(*a, "b", false, b);
  ASSERT_TRUE(ab.has_value());  // named, and "s/f" below it
  EXPECT_FALSE(ab->full);
  EXPECT_EQ(child_names(*ab), (std::vector<std::string>{"s*"}));
  // With -r a named directory is walked whole; what the list names below it stays in its view.
  auto a_r = Selection::child_view(sel.root_view(true), "a", true, b);
  ASSERT_TRUE(a_r.has_value());
  auto ab_r = Selection::child_view(*a_r, "b", true, b);
  ASSERT_TRUE(ab_r.has_value());
  EXPECT_TRUE(ab_r->full);
  EXPECT_EQ(child_names(*ab_r), (std::vector<std::string>{"s*"}));
  auto abs_r = Selection::child_view(*ab_r, "s", true, b);  // not named, but inside a whole walk
  ASSERT_TRUE(abs_r.has_value());
  EXPECT_TRUE(abs_r->full);
  EXPECT_EQ(child_names(*abs_r), (std::vector<std::string>{"f"}));
  // ... and a directory walked whole with nothing named below it has no view.
  EXPECT_FALSE(Selection::child_view(*a_r, "z", true, b).has_value());
  EXPECT_FALSE(Selection::child_view(*ab_r, "t", true, b).has_value());
  // A named directory with nothing below it and no -r: just the directory.
  EXPECT_FALSE(Selection::child_view(root, "a.x", false, b).has_value());
}

TEST(SyncSelectionViews, RootNamedOrImplied) {
  Selection named;
  named.add("", named.add_base("src"), true);
  named.add("x/y", 0, false);
  named.finish();
  EXPECT_TRUE(named.root_named());
  SelView v = named.root_view(false);
  EXPECT_TRUE(v.full);  // "." in a list: the directory's entries too
  EXPECT_EQ(child_names(v), (std::vector<std::string>{"x*"}));

  Selection implied;
  uint32_t other = implied.add_base("other");
  uint32_t dot = implied.add_base(".");
  implied.add("a", other, false);
  implied.add("src/b", dot, false);
  implied.imply_root(dot);
  implied.finish();
  EXPECT_TRUE(implied.root_listed());
  EXPECT_FALSE(implied.root_named());
  EXPECT_EQ(implied.root_view(true).base, dot);
  std::vector<SelChild> kids = Selection::children(implied.root_view(true));
  ASSERT_EQ(kids.size(), 2u);
  EXPECT_EQ(kids[0].base, other);
  EXPECT_EQ(kids[1].base, dot);
}

TEST(SyncSelectionViews, ContentsWinOverPlainDuplicate) {
  Selection sel;
  uint32_t b = sel.add_base(".");
  sel.add("d", b, false);
  sel.add("d", b, true);
  sel.finish();
  auto d = Selection::child_view(sel.root_view(false), "d", false, b);
  ASSERT_TRUE(d.has_value());
  EXPECT_TRUE(d->full);
}

}  // namespace
}  // namespace ringkit::sync
