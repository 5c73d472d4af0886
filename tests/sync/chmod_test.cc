#include "sync/chmod.h"

#include <gtest/gtest.h>

namespace ringkit::sync {
namespace {

mode_t apply(const char* rules, mode_t mode, bool is_dir, mode_t umask_bits = 022) {
  auto parsed = ChmodRules::parse(rules);
  EXPECT_TRUE(parsed) << rules;
  return parsed ? parsed->apply(mode, is_dir, umask_bits) : 0;
}

// The expectations are what rsync 3.5.0 did to files 640, 750 and a directory 705 (umask 022).
TEST(ChmodRules, SymbolicAsRsync) {
  EXPECT_EQ(apply("g+s", 0640, false), 02640u);
  EXPECT_EQ(apply("Dg+s,Fo-w", 0705, true), 02705u);
  EXPECT_EQ(apply("Dg+s,Fo-w", 0646, false), 0644u);
  EXPECT_EQ(apply("u=rwX,go=rX", 0640, false), 0644u);
  EXPECT_EQ(apply("u=rwX,go=rX", 0750, false), 0755u);
  EXPECT_EQ(apply("u=rwX,go=rX", 0705, true), 0755u);
  EXPECT_EQ(apply("a-x", 0705, true), 0604u);
  EXPECT_EQ(apply("o+t", 0750, false), 01750u);
  EXPECT_EQ(apply("ug+X", 0705, true), 0775u & 0715u);
  EXPECT_EQ(apply("ug+X", 0640, false), 0640u);
  // '=' sets the permission bits of who it names; set-id and sticky bits stay (rsync, unlike chmod(1)).
  EXPECT_EQ(apply("u=rw", 04755, false), 04655u);
  EXPECT_EQ(apply("a=r", 02711, false), 02444u);
  EXPECT_EQ(apply("u=rwx,g-s", 02711, false), 0711u);
}

TEST(ChmodRules, NoWhoLeavesWhatTheUmaskMasks) {
  EXPECT_EQ(apply("+w", 0440, false), 0640u);
  EXPECT_EQ(apply("+w", 0440, false, 0), 0662u);
}

TEST(ChmodRules, OctalAndScopes) {
  EXPECT_EQ(apply("644", 04755, false), 0644u);
  EXPECT_EQ(apply("D700,F600", 0755, true), 0700u);
  EXPECT_EQ(apply("D700,F600", 0755, false), 0600u);
  EXPECT_EQ(apply("u+x,u-w", 0644, false), 0544u);
  EXPECT_EQ(apply("u+x-w", 0644, false), 0544u);
}

TEST(ChmodRules, RulesFromSeveralOptionsApplyInOrder) {
  auto a = ChmodRules::parse("600");
  auto b = ChmodRules::parse("g+r");
  ASSERT_TRUE(a && b);
  a->append(*b);
  EXPECT_EQ(a->apply(0777, false, 022), 0640u);
}

TEST(ChmodRules, MalformedIsRefused) {
  for (const char* bad : {"q+z", "", "u", "u+q", "D", "8", "12345", "a+r,,g-w", "+rw:"}) {
    EXPECT_FALSE(ChmodRules::parse(bad)) << bad;
  }
}

}  // namespace
}  // namespace ringkit::sync
