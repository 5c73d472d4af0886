// rsync's wildmatch semantics, case by case (many from rsync's own wildtest.txt table).
#include <gtest/gtest.h>

#include <string>

#include "sync/wildmatch.h"

namespace ringkit::sync {
namespace {

struct Case {
  const char* pattern;
  std::string text;
  bool expected;
};

TEST(WildmatchTest, MatchesLikeRsync) {
  const Case cases[] = {
      {"foo", "foo", true},
      {"foo", "bar", false},
      {"", "", true},
      {"???", "foo", true},
      {"??", "foo", false},
      {"*", "foo", true},
      {"f*", "foo", true},
      {"*f", "foo", false},
      {"*foo*", "foo", true},
      {"*ob*a*r*", "foobar", true},
      {"*ab", "aaaaaaabababab", true},
      {"foo\\*", "foo*", true},
      {"foo\\*bar", "foobar", false},
      {"f\\\\oo", "f\\oo", true},
      {"*[al]?", "ball", true},
      {"[ten]", "ten", false},
      {"**[!te]", "ten", true},
      {"**[!ten]", "ten", false},
      {"t[a-g]n", "ten", true},
      {"t[!a-g]n", "ten", false},
      {"t[!a-g]n", "ton", true},
      {"t[^a-g]n", "ton", true},
      {"a[]]b", "a]b", true},
      {"a[]-]b", "a-b", true},
      {"a[]-]b", "a]b", true},
      {"a[]-]b", "aab", false},
      {"a[]a-]b", "aab", true},
      {"]", "]", true},
      {"foo*bar", "foo/baz/bar", false},
      {"foo**bar", "foo/baz/bar", true},
      {"foo?bar", "foo/bar", false},
      {"foo[/]bar", "foo/bar", false},
      {"**/foo", "XXX/foo", true},
      {"*/foo", "bar/baz/foo", false},
      {"**/bar*", "foo/bar/baz", false},
      {"**/bar/*", "deep/foo/bar/baz", true},
      {"**/bar/**", "deep/foo/bar/baz/x", true},
      {"*/bar/**", "deep/foo/bar/baz/x", false},
      {"[[:alpha:]][[:digit:]][[:upper:]]", "a1B", true},
      {"[[:digit:][:upper:][:space:]]", "A", true},
      {"[[:digit:][:upper:][:space:]]", "1", true},
      {"[[:digit:][:upper:][:space:]]", " ", true},
      {"[[:digit:][:upper:][:space:]]", ".", false},
      {"[[:xdigit:]]", "D", true},
      {"[[:xdigit:]]", "g", false},
      {"[a-c[:digit:]x-z]", "5", true},
      {"[a-c[:digit:]x-z]", "y", true},
      {"[a-c[:digit:]x-z]", "q", false},
      {"[\\]]", "]", true},
      {"[\\]]", "\\", false},
      {"[!]-]", "]", false},
      {"[!]-]", "a", true},
      {"[[:bogus:]]", "a", false},  // unknown class: the whole match aborts
      {"a[", "a[", false},          // unterminated class aborts
      {"a\\", "a\\", false},        // a trailing backslash matches nothing
      {"[[:]", "[", true},          // "[:" without ":]" is an ordinary '[' member
      {"-*-*-*-*-*-*-12-*-*-*-m-*-*-*",
       "-adobe-courier-bold-o-normal--12-120-75-75-m-70-iso8859-1", true},
      {"-*-*-*-*-*-*-12-*-*-*-m-*-*-*",
       "-adobe-courier-bold-o-normal--12-120-75-75-/-70-iso8859-1", false},
      {"*", "foo/bar", false},
      {"**", "foo/bar", true},
      {"new?line", "new\nline", true},
      {"[[:cntrl:]]", "\n", true},
      {"[[:alpha:]]", "\xe9", false},  // classes are ASCII-only
      {"\xe9*", "\xe9t\xe9", true},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(wildmatch(c.pattern, c.text), c.expected)
        << "pattern '" << c.pattern << "' text '" << c.text << "'";
  }
}

TEST(WildmatchTest, PathPositioning) {
  // where > 0: the last N components.
  EXPECT_TRUE(wildmatch_path("b/*", "a/b/c", 2));
  EXPECT_FALSE(wildmatch_path("a/*", "a/b/c", 2));
  EXPECT_FALSE(wildmatch_path("x/y/*", "y/z", 3));  // fewer components than the pattern
  // where < 0: at the start or after any '/'.
  EXPECT_TRUE(wildmatch_path("bar/**", "x/bar/baz", -1));
  EXPECT_TRUE(wildmatch_path("x/**/baz", "q/x/bar/baz", -1));
  EXPECT_FALSE(wildmatch_path("ar/**", "x/bar/baz", -1));
  // where == 0: the whole text.
  EXPECT_FALSE(wildmatch_path("bar/**", "x/bar/baz", 0));
  EXPECT_TRUE(litmatch_path("b/c", "a/b/c", 2));
  EXPECT_FALSE(litmatch_path("b/c", "ab/c", 2));
  EXPECT_TRUE(litmatch_path("a/b/c", "a/b/c", 0));
}

TEST(WildmatchTest, ManyStarsStayFast) {
  // The abort states keep this polynomial; a naive backtracker would take ages.
  std::string text(200, 'a');
  EXPECT_FALSE(wildmatch("*a*a*a*a*a*a*a*a*a*a*a*a*b", text));
  EXPECT_FALSE(wildmatch("**a**a**a**a**a**a**a**a**a**b", text));
}

}  // namespace
}  // namespace ringkit::sync
