// Unit tests for FilterList: rule syntax, error messages, matching, sides, and per-directory
// merge files (read through an in-memory reader).  filter_rsync_test.cc checks the same
// behaviour against the real rsync.
#include "sync/filter.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <map>
#include <string>

namespace ringkit::sync {
namespace {

// An in-memory file system for rule files.
struct Files {
  std::map<std::string, std::string> files;
  FilterOptions options() {
    FilterOptions o;
    o.home = "/home/u";
    o.cvsignore_env = "";
    o.read_file = [this](const std::string& path) -> Result<std::string> {
      auto it = files.find(path);
      if (it == files.end()) return errno_error(ENOENT);
      return it->second;
    };
    return o;
  }
};

std::string error_of(FilterList& list, std::string_view rule,
                     RuleSyntax syntax = RuleSyntax::kFilter) {
  FilterStatus st = list.add_rule(rule, syntax);
  return st.ok() ? std::string("(ok)") : st.error().message;
}

bool excluded(const FilterList& l, std::string_view path, bool is_dir = false) {
  return l.matches(path, is_dir, Side::kSender) == Decision::kExcluded;
}
bool is_protected(const FilterList& l, std::string_view path, bool is_dir = false,
                  bool perishing = false) {
  return l.matches(path, is_dir, Side::kReceiver, perishing) == Decision::kProtected;
}

TEST(FilterTest, BadRulesGiveRsyncsMessages) {
  FilterList l;
  EXPECT_EQ(error_of(l, "-foo"), "invalid modifier 'f' at position 1 in filter rule: -foo");
  EXPECT_EQ(error_of(l, "exclude\tfoo"),
            "invalid modifier '\t' at position 7 in filter rule: exclude\tfoo");
  EXPECT_EQ(error_of(l, "!x"), "'!' rule has trailing characters: !x");
  EXPECT_EQ(error_of(l, "bogus"), "Unknown filter rule: bogus");
  EXPECT_EQ(error_of(l, "p foo"), "Unknown filter rule: p foo");
  EXPECT_EQ(error_of(l, "+"), "unexpected end of filter rule: +");
  EXPECT_EQ(error_of(l, "-s, foo"), "invalid modifier ',' at position 2 in filter rule: -s, foo");
  EXPECT_EQ(error_of(l, "H,r x"), "invalid modifier 'r' at position 2 in filter rule: H,r x");
  EXPECT_EQ(error_of(l, "-e x"), "invalid modifier 'e' at position 1 in filter rule: -e x");
  EXPECT_EQ(error_of(l, ".! x"), "invalid modifier '!' at position 1 in filter rule: .! x");
  EXPECT_EQ(error_of(l, "dir-merge,q x"),
            "invalid modifier 'q' at position 10 in filter rule: dir-merge,q x");
  EXPECT_EQ(error_of(l, ":-+ x"), "invalid modifier '+' at position 2 in filter rule: :-+ x");
  FilterStatus st = l.add_rule("bogus");
  EXPECT_EQ(st.error().kind, FilterError::Kind::kSyntax);
  EXPECT_TRUE(l.empty());  // nothing half-added
}

TEST(FilterTest, GoodRuleForms) {
  FilterList l;
  for (const char* rule : {"- a", "-_a", "exclude a", "exclude_a", "exclude,s a", "+ b", "include b",
                           "H c", "hide c", "S c", "show c", "P d", "protect d", "R d", "risk d",
                           "-!/ e", "+p f", "-x user.g", "-,sr h", "!", "clear", "-C", ":C",
                           "dir-merge,n- .x", ":e- .y", ".- /dev/null"}) {
    Files fs;
    fs.files["/dev/null"] = "";
    FilterList fl(fs.options());
    FilterStatus st = fl.add_rule(rule);
    EXPECT_TRUE(st.ok()) << rule << ": " << st.error().message;
  }
  (void)l;
}

TEST(FilterTest, MissingRuleFileIsAFileError) {
  FilterList l;
  FilterStatus st = l.add_rules_from_file("/nonexistent/rules", RuleSyntax::kExclude);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().kind, FilterError::Kind::kFileIo);
  EXPECT_EQ(st.error().message,
            "failed to open exclude file /nonexistent/rules: No such file or directory (2)");
  st = l.add_rules_from_file("/nonexistent/rules", RuleSyntax::kInclude);
  EXPECT_EQ(st.error().message,
            "failed to open include file /nonexistent/rules: No such file or directory (2)");
  st = l.add_rule(". /nonexistent/m");
  EXPECT_EQ(st.error().kind, FilterError::Kind::kFileIo);
}

TEST(FilterTest, BasenameSlashAndAnchoring) {
  FilterList l;
  ASSERT_TRUE(l.add_rule("- *.o").ok());
  ASSERT_TRUE(l.add_rule("- /top").ok());
  ASSERT_TRUE(l.add_rule("- onlydir/").ok());
  ASSERT_TRUE(l.add_rule("- x/y").ok());
  EXPECT_TRUE(excluded(l, "a.o"));
  EXPECT_TRUE(excluded(l, "d/e/a.o"));
  EXPECT_FALSE(excluded(l, "a.c"));
  EXPECT_TRUE(excluded(l, "top"));
  EXPECT_FALSE(excluded(l, "d/top"));
  EXPECT_TRUE(excluded(l, "onlydir", true));
  EXPECT_FALSE(excluded(l, "onlydir", false));
  EXPECT_TRUE(excluded(l, "q/onlydir", true));
  EXPECT_TRUE(excluded(l, "x/y"));
  EXPECT_TRUE(excluded(l, "a/x/y"));
  EXPECT_FALSE(excluded(l, "ax/y"));
  EXPECT_FALSE(excluded(l, "x/y/z"));
}

TEST(FilterTest, StarStarAndTripleStar) {
  FilterList l;
  ASSERT_TRUE(l.add_rule("- /foo/**/bar").ok());
  ASSERT_TRUE(l.add_rule("- keep/***").ok());
  ASSERT_TRUE(l.add_rule("- **/deep").ok());
  EXPECT_TRUE(excluded(l, "foo/a/bar"));
  EXPECT_TRUE(excluded(l, "foo/a/b/bar"));
  EXPECT_FALSE(excluded(l, "foo/bar"));  // "**/" needs at least one directory between
  EXPECT_TRUE(excluded(l, "keep", true));
  EXPECT_FALSE(excluded(l, "keep", false));
  EXPECT_TRUE(excluded(l, "keep/a/b"));
  EXPECT_TRUE(excluded(l, "x/keep/a"));
  EXPECT_TRUE(excluded(l, "deep"));  // a leading "**/" also matches at the top
  EXPECT_TRUE(excluded(l, "a/b/deep"));
}

TEST(FilterTest, FirstMatchWinsAndNegation) {
  FilterList l;
  ASSERT_TRUE(l.add_rule("+ keep.o").ok());
  ASSERT_TRUE(l.add_rule("- *.o").ok());
  ASSERT_TRUE(l.add_rule("-! */").ok());
  EXPECT_FALSE(excluded(l, "keep.o"));
  EXPECT_TRUE(excluded(l, "other.o"));
  EXPECT_TRUE(excluded(l, "file.c"));       // not a directory: "-! */" excludes it
  EXPECT_FALSE(excluded(l, "dir", true));
}

TEST(FilterTest, OldStyleIncludeExclude) {
  FilterList l;
  ASSERT_TRUE(l.add_rule("+ plus", RuleSyntax::kExclude).ok());
  ASSERT_TRUE(l.add_rule("- minus", RuleSyntax::kInclude).ok());
  ASSERT_TRUE(l.add_rule("-dash", RuleSyntax::kExclude).ok());
  ASSERT_TRUE(l.add_rule("!bang", RuleSyntax::kExclude).ok());
  EXPECT_FALSE(excluded(l, "plus"));
  EXPECT_TRUE(excluded(l, "minus"));
  EXPECT_TRUE(excluded(l, "-dash"));
  EXPECT_TRUE(excluded(l, "!bang"));
  ASSERT_TRUE(l.add_rule("!", RuleSyntax::kExclude).ok());  // clears the list
  EXPECT_FALSE(excluded(l, "minus"));
  EXPECT_TRUE(l.empty());
}

TEST(FilterTest, SidesAndDeleteExcluded) {
  FilterList l;
  ASSERT_TRUE(l.add_rule("H hidden").ok());
  ASSERT_TRUE(l.add_rule("P guarded").ok());
  ASSERT_TRUE(l.add_rule("- both").ok());
  ASSERT_TRUE(l.add_rule("-p perishable").ok());
  ASSERT_TRUE(l.add_rule("-rs twice").ok());
  EXPECT_FALSE(l.add_rule("-r,s twice").ok());  // a comma only after the rule name
  EXPECT_TRUE(excluded(l, "hidden"));
  EXPECT_FALSE(is_protected(l, "hidden"));
  EXPECT_FALSE(excluded(l, "guarded"));
  EXPECT_TRUE(is_protected(l, "guarded"));
  EXPECT_TRUE(excluded(l, "both"));
  EXPECT_TRUE(is_protected(l, "both"));
  EXPECT_TRUE(is_protected(l, "perishable"));
  EXPECT_FALSE(is_protected(l, "perishable", false, /*perishing=*/true));
  EXPECT_TRUE(excluded(l, "twice"));
  EXPECT_TRUE(is_protected(l, "twice"));

  FilterOptions o;
  o.delete_excluded = true;
  FilterList d(o);
  ASSERT_TRUE(d.add_rule("- both").ok());
  ASSERT_TRUE(d.add_rule("P guarded").ok());
  ASSERT_TRUE(d.add_rule("-r mine").ok());
  EXPECT_TRUE(excluded(d, "both"));
  EXPECT_FALSE(is_protected(d, "both"));  // --delete-excluded: excluded files may go
  EXPECT_TRUE(is_protected(d, "guarded"));
  EXPECT_TRUE(is_protected(d, "mine"));
}

TEST(FilterTest, XattrRulesOnlyMatchXattrNames) {
  FilterList l;
  ASSERT_TRUE(l.add_rule("-x user.secret").ok());
  EXPECT_EQ(l.matches_xattr("user.secret", Side::kSender), Decision::kExcluded);
  EXPECT_EQ(l.matches_xattr("user.other", Side::kSender), Decision::kIncluded);
  EXPECT_FALSE(excluded(l, "user.secret"));
}

TEST(FilterTest, MergeFileAndExcludeFrom) {
  Files fs;
  fs.files["/r/rules"] = "# comment\n; comment\n\n- *.tmp\n+ keep.bak\n. /r/more\n";
  fs.files["/r/more"] = "- *.bak\n";
  fs.files["/r/pats"] = "*.log\r\n+ important.log\n# x\n";
  fs.files["/r/bare"] = "one\ntwo\n";
  FilterList l(fs.options());
  ASSERT_TRUE(l.add_rules_from_file("/r/pats", RuleSyntax::kInclude).ok());
  ASSERT_TRUE(l.add_rule("merge /r/rules").ok());
  ASSERT_TRUE(l.add_rule(".- /r/bare").ok());
  EXPECT_FALSE(excluded(l, "a.log"));  // include-from: "*.log" is an include
  EXPECT_TRUE(excluded(l, "a.tmp"));
  EXPECT_FALSE(excluded(l, "keep.bak"));
  EXPECT_TRUE(excluded(l, "x.bak"));
  EXPECT_TRUE(excluded(l, "two"));
}

TEST(FilterTest, From0SplitsOnNul) {
  Files fs;
  fs.files["/r/z"] = std::string("a b\0c\nd\0", 8);
  FilterOptions o = fs.options();
  o.from0 = true;
  FilterList l(o);
  ASSERT_TRUE(l.add_rules_from_file("/r/z", RuleSyntax::kExclude).ok());
  EXPECT_TRUE(excluded(l, "a b"));
  EXPECT_TRUE(excluded(l, "c\nd"));
}

TEST(FilterTest, WordSplitMergeFile) {
  Files fs;
  fs.files["/r/w"] = "+ keep.o - *.o\n";  // "+" alone is a rule with no pattern: an error
  fs.files["/r/v"] = "one  two\tthree\n";
  FilterList l(fs.options());
  FilterStatus st = l.add_rule(".w /r/w");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message, "unexpected end of filter rule: +");
  EXPECT_EQ(st.error().source, "/r/w");
  FilterList m(fs.options());
  ASSERT_TRUE(m.add_rule(".w- /r/v").ok());
  EXPECT_TRUE(excluded(m, "two"));
  EXPECT_TRUE(excluded(m, "three"));
}

TEST(FilterTest, PerDirectoryMergeInheritsAndPops) {
  Files fs;
  fs.files["/t/.rules"] = "- *.tmp\n- /top\n";
  fs.files["/t/sub/.rules"] = "+ keep.tmp\n- /local\n";
  fs.files["/t/other/.rules"] = "!\n- *.c\n";
  FilterList l(fs.options());
  l.set_root("/t");
  ASSERT_TRUE(l.add_rule(": .rules").ok());
  ASSERT_TRUE(l.add_rule("- *.c").ok());
  ASSERT_TRUE(l.push_dir("").ok());
  EXPECT_TRUE(excluded(l, "a.tmp"));
  EXPECT_TRUE(excluded(l, "top"));
  EXPECT_FALSE(excluded(l, "local"));
  ASSERT_TRUE(l.push_dir("sub").ok());
  EXPECT_FALSE(excluded(l, "sub/keep.tmp"));
  EXPECT_TRUE(excluded(l, "sub/other.tmp"));   // inherited from the root's file
  EXPECT_TRUE(excluded(l, "sub/local"));       // anchored at sub/
  EXPECT_FALSE(excluded(l, "sub/top"));        // anchored at the root, not here
  ASSERT_TRUE(l.push_dir("sub/deeper").ok());
  EXPECT_FALSE(excluded(l, "sub/deeper/local"));
  EXPECT_FALSE(excluded(l, "sub/deeper/keep.tmp"));
  l.pop_dir();
  l.pop_dir();
  EXPECT_TRUE(excluded(l, "x/keep.tmp"));  // sub's rules are gone again
  ASSERT_TRUE(l.push_dir("other").ok());
  EXPECT_FALSE(excluded(l, "other/a.tmp"));  // '!' dropped the inherited rules
  EXPECT_TRUE(excluded(l, "other/a.c"));
  l.pop_dir();
  l.pop_dir();
  EXPECT_EQ(l.depth(), 0);
}

// -R from several bases: a directory pushed with a base of its own has its files read there,
// and so do the directories below it; its anchored rules match there. Popping it goes back.
TEST(FilterTest, PerDirectoryFilesOfAnotherBase) {
  Files fs;
  fs.files["/a/.rules"] = "- *.tmp\n";
  fs.files["/a/y/.rules"] = "- from-a\n";
  fs.files["/b/y/.rules"] = "- from-b\n- /local\n";
  fs.files["/b/y/sub/.rules"] = "- deeper\n";
  FilterList l(fs.options());
  l.set_root("/a");
  ASSERT_TRUE(l.add_rule(": .rules").ok());
  ASSERT_TRUE(l.push_dir("").ok());
  ASSERT_TRUE(l.push_dir("y", "/b").ok());
  EXPECT_TRUE(excluded(l, "y/from-b"));
  EXPECT_FALSE(excluded(l, "y/from-a"));
  EXPECT_TRUE(excluded(l, "y/local"));    // anchored at /b/y
  EXPECT_TRUE(excluded(l, "y/x.tmp"));    // the root's, inherited
  ASSERT_TRUE(l.push_dir("y/sub").ok());  // below /b too
  EXPECT_TRUE(excluded(l, "y/sub/deeper"));
  EXPECT_FALSE(excluded(l, "y/sub/local"));
  l.pop_dir();
  l.pop_dir();
  ASSERT_TRUE(l.push_dir("y").ok());  // the root's base again
  EXPECT_TRUE(excluded(l, "y/from-a"));
  EXPECT_FALSE(excluded(l, "y/from-b"));
  l.pop_dir();
  l.pop_dir();
}

TEST(FilterTest, NoInheritAndExcludeSelf) {
  Files fs;
  fs.files["/t/.excl"] = "*.o\n";
  fs.files["/t/.rules"] = "- *.c\n";
  FilterList l(fs.options());
  l.set_root("/t");
  ASSERT_TRUE(l.add_rule(":n- .excl").ok());
  ASSERT_TRUE(l.add_rule(":e .rules").ok());
  ASSERT_TRUE(l.push_dir("").ok());
  EXPECT_TRUE(excluded(l, "a.o"));
  EXPECT_TRUE(excluded(l, ".rules"));
  EXPECT_FALSE(excluded(l, ".excl"));
  ASSERT_TRUE(l.push_dir("d").ok());
  EXPECT_FALSE(excluded(l, "d/a.o"));  // 'n': not inherited
  EXPECT_TRUE(excluded(l, "d/a.c"));   // inherited
  EXPECT_TRUE(excluded(l, "d/.rules"));
}

TEST(FilterTest, NestedDirMergeAndDuplicates) {
  Files fs;
  fs.files["/t/.rules"] = ": .more\n: .rules\n";
  fs.files["/t/.more"] = "- *.m\n";
  fs.files["/t/d/.more"] = "+ keep.m\n";
  FilterList l(fs.options());
  l.set_root("/t");
  ASSERT_TRUE(l.add_rule(": .rules").ok());
  ASSERT_TRUE(l.add_rule(": .rules").ok());  // a second one is dropped, as in rsync
  ASSERT_TRUE(l.push_dir("").ok());
  EXPECT_TRUE(excluded(l, "x.m"));
  ASSERT_TRUE(l.push_dir("d").ok());
  EXPECT_FALSE(excluded(l, "d/keep.m"));
  EXPECT_TRUE(excluded(l, "d/x.m"));
  l.pop_dir();
  l.pop_dir();
  EXPECT_FALSE(excluded(l, "x.m"));  // the nested list died with the root's frame
}

TEST(FilterTest, ParentDirScanForSlashedMergeName) {
  Files fs;
  fs.files["/.rsync-filter"] = "- *.root\n";
  fs.files["/a/.rsync-filter"] = "- *.a\n- /src/anch\n";
  fs.files["/a/src/.rsync-filter"] = "+ keep.a\n";
  FilterList l(fs.options());
  l.set_root("/a/src");
  ASSERT_TRUE(l.add_F_option().ok());
  ASSERT_TRUE(l.add_F_option().ok());
  ASSERT_TRUE(l.push_dir("").ok());
  EXPECT_TRUE(excluded(l, "x.root"));
  EXPECT_TRUE(excluded(l, "x.a"));
  EXPECT_FALSE(excluded(l, "keep.a"));
  EXPECT_TRUE(excluded(l, "anch"));  // anchored at /a: matches /a/src/anch
  EXPECT_TRUE(excluded(l, ".rsync-filter"));
}

TEST(FilterTest, BadRuleInPerDirFileIsReported) {
  Files fs;
  fs.files["/t/d/.rules"] = "- ok\nnonsense\n";
  FilterList l(fs.options());
  l.set_root("/t");
  ASSERT_TRUE(l.add_rule(": .rules").ok());
  ASSERT_TRUE(l.push_dir("").ok());
  FilterStatus st = l.push_dir("d");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message, "Unknown filter rule: nonsense");
  EXPECT_EQ(st.error().source, "/t/d/.rules");
  EXPECT_EQ(l.depth(), 2);
}

TEST(FilterTest, CvsExclude) {
  Files fs;
  fs.files["/home/u/.cvsignore"] = "*.home\n";
  fs.files["/t/.cvsignore"] = "local1 local2\n";
  FilterOptions o = fs.options();
  o.cvsignore_env = "*.env";
  FilterList l(o);
  l.set_root("/t");
  ASSERT_TRUE(l.add_cvs_exclude().ok());
  ASSERT_TRUE(l.push_dir("").ok());
  for (const char* name : {"CVS", "x.o", "core", "a~", "#x", ".#y", "z.bak", "q.home", "r.env",
                           "local1", "local2"}) {
    EXPECT_TRUE(excluded(l, name)) << name;
  }
  EXPECT_TRUE(excluded(l, ".git", true));
  EXPECT_FALSE(excluded(l, ".git", false));
  EXPECT_FALSE(excluded(l, "main.c"));
  // The built-in names are perishable, the others are not.
  EXPECT_FALSE(is_protected(l, "x.o", false, /*perishing=*/true));
  EXPECT_TRUE(is_protected(l, "q.home", false, /*perishing=*/true));
  ASSERT_TRUE(l.push_dir("d").ok());
  EXPECT_FALSE(excluded(l, "d/local1"));  // .cvsignore rules are not inherited
}

TEST(FilterTest, AbsolutePathModifier) {
  FilterList l;
  l.set_root("/srv/data");
  ASSERT_TRUE(l.add_rule("-/ /srv/data/secret").ok());
  ASSERT_TRUE(l.add_rule("-/ sub/foo").ok());
  EXPECT_TRUE(excluded(l, "secret"));
  EXPECT_FALSE(excluded(l, "x/secret"));
  EXPECT_TRUE(excluded(l, "sub/foo"));
}

TEST(FilterTest, RulesCannotBeAddedWhileWalking) {
  FilterList l;
  ASSERT_TRUE(l.push_dir("").ok());
  EXPECT_FALSE(l.add_rule("- x").ok());
  l.pop_dir();
  EXPECT_TRUE(l.add_rule("- x").ok());
}

}  // namespace
}  // namespace ringkit::sync
