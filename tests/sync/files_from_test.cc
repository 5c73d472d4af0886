// Splitting a --files-from list into names: newline, CR and CR+LF, or NUL with -0; blank lines
// and comments dropped; names split across the blocks they are read in.
#include "sync/files_from.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ringkit::sync {
namespace {

std::vector<std::string> names_of(const std::vector<std::string>& chunks, bool nul) {
  std::vector<std::string> out;
  FilesFromParser parser(nul);
  auto emit = [&](std::string_view n) { out.emplace_back(n); };
  for (const std::string& c : chunks) parser.feed(c, emit);
  parser.finish(emit);
  return out;
}

TEST(SyncFilesFromParser, LinesAsRsyncReadsThem) {
  EXPECT_EQ(names_of({"a\nb\r\nc\rd"}, false), (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(names_of({"\n\n# comment\n;another\n  spaced \n"}, false), (std::vector<std::string>{"  spaced "}));
  EXPECT_EQ(names_of({"x#y\n"}, false), (std::vector<std::string>{"x#y"}));
}

TEST(SyncFilesFromParser, NamesSplitAcrossBlocks) {
  EXPECT_EQ(names_of({"lo", "ng/na", "me\nnext"}, false), (std::vector<std::string>{"long/name", "next"}));
  EXPECT_EQ(names_of({"a\r", "\nb"}, false), (std::vector<std::string>{"a", "b"}));
}

TEST(SyncFilesFromParser, NulSeparatedKeepsNewlines) {
  std::string list = std::string("new\nline") + '\0' + "cr\rname" + '\0' + '\0' + "last";
  EXPECT_EQ(names_of({list}, true), (std::vector<std::string>{"new\nline", "cr\rname", "last"}));
}

}  // namespace
}  // namespace ringkit::sync
