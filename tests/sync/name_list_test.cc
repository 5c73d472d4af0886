// NameList (src/sync/name_list.cc): the destination side of a directory, packed and sorted.
#include "sync/name_list.h"

#include <dirent.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ringkit::sync {
namespace {

std::vector<std::string> names_of(const NameList& l) {
  std::vector<std::string> out;
  for (size_t i = 0; i < l.size(); ++i) out.emplace_back(l.name(i));
  return out;
}

TEST(NameList, SortsByBytesAsRsyncDoes) {
  NameList l;
  // Bytes above 0x7f sort after ASCII (unsigned), "a.d" before "a" + anything longer.
  for (const char* n : {"b", "\xc3\xa9t\xc3\xa9", "a.d", "a", "A", "a-b", "aa"}) l.add(n, DT_REG);
  l.sort();
  EXPECT_EQ(names_of(l), (std::vector<std::string>{"A", "a", "a-b", "a.d", "aa", "b", "\xc3\xa9t\xc3\xa9"}));
}

TEST(NameList, FindsNamesAndTheirTypes) {
  NameList l;
  l.add("file", DT_REG);
  l.add("dir", DT_DIR);
  l.add("link", DT_LNK);
  l.add(std::string(255, 'x'), DT_UNKNOWN);
  l.sort();
  ASSERT_NE(l.find("dir"), NameList::npos);
  EXPECT_EQ(l.type(l.find("dir")), DT_DIR);
  EXPECT_EQ(l.type(l.find("link")), DT_LNK);
  EXPECT_EQ(l.type(l.find("file")), DT_REG);
  EXPECT_EQ(l.type(l.find(std::string(255, 'x'))), DT_UNKNOWN);
  EXPECT_EQ(l.find("fil"), NameList::npos);
  EXPECT_EQ(l.find("files"), NameList::npos);
  EXPECT_EQ(l.find(""), NameList::npos);
  EXPECT_STREQ(l.c_name(l.find("link")), "link");
}

TEST(NameList, EraseIfKeepsTheRestInOrder) {
  NameList l;
  for (int i = 0; i < 1000; ++i) l.add("n" + std::to_string(i), i % 2 ? DT_DIR : DT_REG);
  l.sort();
  l.erase_if([](std::string_view n) { return n.back() == '7'; });
  EXPECT_EQ(l.size(), 900u);
  EXPECT_EQ(l.find("n17"), NameList::npos);
  ASSERT_NE(l.find("n18"), NameList::npos);
  EXPECT_EQ(l.type(l.find("n18")), DT_REG);
  EXPECT_EQ(l.type(l.find("n19")), DT_DIR);
  std::vector<std::string> names = names_of(l);
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
}

TEST(NameList, EmptyList) {
  NameList l;
  l.sort();
  EXPECT_TRUE(l.empty());
  EXPECT_EQ(l.find("x"), NameList::npos);
}

}  // namespace
}  // namespace ringkit::sync
