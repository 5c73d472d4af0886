// OutFormat: rsync's log-format escapes, widths and apostrophes. The expected strings are
// what rsync 3.5.0 printed for the same escapes on a local copy (see the e2e test that runs
// both on real trees: tests/e2e/ringsync_output_test.cc).
#include "sync/out_format.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

namespace ringkit::sync {
namespace {

LogItem big_file() {
  LogItem it;
  it.change = ItemChange{ItemChange::Update::kTransfer, ItemChange::Type::kFile, true};
  it.name = "dir/big";
  it.sender_path = "src/dir/big";
  it.mode = S_IFREG | 0644;
  it.length = 100000;
  it.mtime = 0;
  it.uid = 1000;
  it.gid = 100;
  it.gid_known = true;
  it.bytes_written = 100055;
  it.bytes_read = 16;
  return it;
}

TEST(OutFormat, PlainEscapes) {
  LogItem it = big_file();
  EXPECT_EQ(OutFormat("%i %n%L").render(it, "send"), ">f+++++++++ dir/big");
  EXPECT_EQ(OutFormat("%n|%f|%l|%b|%c|%o|%U|%G|%B").render(it, "send"),
            "dir/big|src/dir/big|100000|100055|16|send|1000|100|rw-r--r--");
  EXPECT_EQ(OutFormat("%%|%m|").render(it, "send"), "%||");
}

TEST(OutFormat, WidthsAndJustification) {
  LogItem it = big_file();
  EXPECT_EQ(OutFormat("[%10l]").render(it, "send"), "[    100000]");
  EXPECT_EQ(OutFormat("[%-10l]").render(it, "send"), "[100000    ]");
  EXPECT_EQ(OutFormat("[%3n]").render(it, "send"), "[dir/big]");  // never cut
  EXPECT_EQ(OutFormat("[%-12n|]").render(it, "send"), "[dir/big     |]");
  EXPECT_EQ(OutFormat("[%010l]").render(it, "send"), "[    100000]");  // rsync pads with spaces
  EXPECT_EQ(OutFormat("[%5%]").render(it, "send"), "[    %]");
  EXPECT_EQ(OutFormat("[%-5%]").render(it, "send"), "[%    ]");
}

TEST(OutFormat, ApostrophesMakeNumbersHumanReadable) {
  LogItem it = big_file();
  EXPECT_EQ(OutFormat("%'l").render(it, "send"), "100,000");
  EXPECT_EQ(OutFormat("%''l").render(it, "send"), "100.00K");
  EXPECT_EQ(OutFormat("%'''l").render(it, "send"), "97.66K");
  EXPECT_EQ(OutFormat("%'''''l").render(it, "send"), "97.66K");  // three at most
  EXPECT_EQ(OutFormat("%'-10l|").render(it, "send"), "100,000   |");
  EXPECT_EQ(OutFormat("%10'l|").render(it, "send"), "   100,000|");
  EXPECT_EQ(OutFormat("%''b").render(it, "send"), "100.06K");
  EXPECT_EQ(OutFormat("%'U").render(it, "send"), "1000");  // ids are not numbers to humanize
}

TEST(OutFormat, WhatRsyncLeavesAlone) {
  LogItem it = big_file();
  // Unknown letters, daemon-only escapes, a '-' before the apostrophes, a dangling '%'.
  EXPECT_EQ(OutFormat("%x %+5l %.3n %a %h %P %u").render(it, "send"), "%x %+5l %.3n %a %h %P %u");
  EXPECT_EQ(OutFormat("%-'10l").render(it, "send"), "%-'10l");
  EXPECT_EQ(OutFormat("abc%").render(it, "send"), "abc%");
  EXPECT_EQ(OutFormat("%'10").render(it, "send"), "%'10");
  EXPECT_EQ(OutFormat("%x%n").render(it, "send"), "%xdir/big");
}

TEST(OutFormat, LinksAndDirectories) {
  LogItem link;
  link.change = ItemChange{ItemChange::Update::kLocalChange, ItemChange::Type::kSymlink, true};
  link.name = "link";
  link.mode = S_IFLNK | 0777;
  link.symlink_target = "a.txt";
  EXPECT_EQ(OutFormat("%n%L").render(link, "send"), "link -> a.txt");
  EXPECT_EQ(OutFormat("[%-8L|]").render(link, "send"), "[ -> a.txt   |]");
  EXPECT_EQ(OutFormat("[%5L]").render(big_file(), "send"), "[         ]");  // four spaces and the width
  EXPECT_EQ(OutFormat("[%L]").render(big_file(), "send"), "[]");

  LogItem hard = big_file();
  hard.change.update = ItemChange::Update::kHardLink;
  hard.hardlink_target = "dir/first";
  EXPECT_EQ(OutFormat("%i %n%L").render(hard, "send"), "hf+++++++++ dir/big => dir/first");

  LogItem dir;
  dir.change = ItemChange{ItemChange::Update::kNoUpdate, ItemChange::Type::kDir};
  dir.change.time = true;
  dir.name = "sub";
  dir.mode = S_IFDIR | 0755;
  EXPECT_EQ(OutFormat("%i %n|%B").render(dir, "send"), ".d..t...... sub/|rwxr-xr-x");
}

TEST(OutFormat, Deletions) {
  LogItem gone;
  gone.deleted = true;
  gone.name = "old";
  gone.mode = S_IFDIR;
  EXPECT_EQ(OutFormat("%i %n").render(gone, "del."), "*deleting   old/");
  EXPECT_EQ(OutFormat("%o %n %l %G").render(gone, "del."), "del. old/ 0 DEFAULT");
}

TEST(OutFormat, Checksum) {
  LogItem it = big_file();
  EXPECT_EQ(OutFormat("[%C]").render(it, "send"), "[" + std::string(32, ' ') + "]");
  it.checksum_state = LogItem::Checksum::kZero;
  EXPECT_EQ(OutFormat("%C").render(it, "send"), std::string(32, '0'));
  it.checksum_state = LogItem::Checksum::kKnown;
  for (int i = 0; i < 16; ++i) it.checksum[static_cast<size_t>(i)] = static_cast<unsigned char>(i * 17);
  EXPECT_EQ(OutFormat("%C").render(it, "send"), "00112233445566778899aabbccddeeff");
  EXPECT_TRUE(OutFormat("%C").needs_transfer_stats());
  EXPECT_FALSE(OutFormat("%i %n%L").needs_transfer_stats());
  EXPECT_TRUE(OutFormat("%-5b").has('b'));
}

TEST(HumanNumber, Levels) {
  EXPECT_EQ(human_number(999, 2), "999");
  EXPECT_EQ(human_number(1000, 2), "1.00K");
  EXPECT_EQ(human_number(1000, 3), "1,000");
  EXPECT_EQ(human_number(1234567, 0), "1234567");
  EXPECT_EQ(human_number(1234567, 1), "1,234,567");
  EXPECT_EQ(human_number(5ull << 30, 3), "5.00G");
}

TEST(PermissionString, SpecialBits) {
  EXPECT_EQ(permission_string(S_IFDIR | 01777), "drwxrwxrwt");
  EXPECT_EQ(permission_string(S_IFREG | 04644), "-rwSr--r--");
  EXPECT_EQ(permission_string(S_IFLNK | 0777), "lrwxrwxrwx");
}

}  // namespace
}  // namespace ringkit::sync
