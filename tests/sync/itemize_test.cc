// Golden strings for rsync's %i format (taken from rsync's documented meaning and from lines
// rsync 3.x prints for the same situations).
#include "sync/itemize.h"

#include <gtest/gtest.h>

namespace ringkit::sync {
namespace {

using U = ItemChange::Update;
using T = ItemChange::Type;

TEST(Itemize, NewItemsFillWithPlus) {
  EXPECT_EQ(itemize({.update = U::kTransfer, .type = T::kFile, .is_new = true}), ">f+++++++++");
  EXPECT_EQ(itemize({.update = U::kLocalChange, .type = T::kDir, .is_new = true}), "cd+++++++++");
  EXPECT_EQ(itemize({.update = U::kLocalChange, .type = T::kSymlink, .is_new = true}), "cL+++++++++");
}

TEST(Itemize, ChangedAttributesShowLetters) {
  EXPECT_EQ(itemize({.update = U::kTransfer, .type = T::kFile, .size = true, .time = true}), ">f.st......");
  EXPECT_EQ(itemize({.update = U::kNoUpdate, .type = T::kDir, .time = true}), ".d..t......");
  EXPECT_EQ(itemize({.update = U::kNoUpdate, .type = T::kFile, .perms = true, .owner = true, .group = true}),
            ".f...pog...");
  EXPECT_EQ(itemize({.update = U::kTransfer, .type = T::kFile, .time = true, .time_is_now = true}), ">f..T......");
  EXPECT_EQ(itemize({.update = U::kNoUpdate, .type = T::kFile, .acl = true, .xattr = true}), ".f.......ax");
  EXPECT_EQ(itemize({.update = U::kLocalChange, .type = T::kSymlink, .changed = true, .time = true}),
            "cLc.t......");
}

TEST(Itemize, UnchangedItemsShowSpacesUnlessTransferred) {
  EXPECT_EQ(itemize({.update = U::kNoUpdate, .type = T::kFile}), ".f         ");
  EXPECT_EQ(itemize({.update = U::kHardLink, .type = T::kFile}), "hf         ");
  EXPECT_EQ(itemize({.update = U::kTransfer, .type = T::kFile}), ">f.........");
}

TEST(Itemize, LinesCarryPathAndTargets) {
  EXPECT_EQ(itemize_line({.update = U::kLocalChange, .type = T::kDir, .is_new = true}, "sub"), "cd+++++++++ sub/");
  EXPECT_EQ(itemize_line({.update = U::kLocalChange, .type = T::kSymlink, .is_new = true}, "l", "../t"),
            "cL+++++++++ l -> ../t");
  EXPECT_EQ(itemize_line({.update = U::kHardLink, .type = T::kFile, .is_new = true}, "b", "a"),
            "hf+++++++++ b => a");
  EXPECT_EQ(deleting_line("old", false), "*deleting   old");
  EXPECT_EQ(deleting_line("olddir", true), "*deleting   olddir/");
}

}  // namespace
}  // namespace ringkit::sync
