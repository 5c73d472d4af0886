// ringsync -vv against rsync -vv on the same trees: what -vv adds for a local copy ("delta-
// transmission disabled ...", "NAME is uptodate" or the bare name of an item whose attributes
// alone were set, the notes of -u, --existing, --ignore-existing and the size limits, "deleting
// in DIR", "total: matches=0 ... data=N"), with --delete (-before, -after), -n, -i, -q,
// --out-format and -H. Each case is a first copy, a no-op and a re-sync after changes.
//
// rsync's generator prints its notes (uptodate, skips) on a channel of its own, and they land
// among the other lines where its buffering puts them: they are compared as a sequence apart,
// and so are deletions and hard links, as elsewhere (support/rsync_diff.h). The summary's byte
// counts are left out (rsync's own runs do not agree on them); everything else is compared
// line by line, the "total:" line included.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "support/rsync_diff.h"
#include "support/tree.h"

namespace ringkit::testing {
namespace {

bool is_generator_note(const std::string& line) {
  for (const char* end : {" is uptodate", " exists", " is newer", " is over max-size", " is under min-size"}) {
    if (line.ends_with(end)) return true;
  }
  return line.starts_with("not creating new ") || line.starts_with("skipping non-regular file ");
}

struct VerboseLines {
  std::vector<std::string> notes;      // the generator's: in order
  std::vector<std::string> deletions;  // "deleting NAME", "*deleting ...", "deleting in DIR": in order
  std::vector<std::string> links;      // "NAME => LEADER" (with -i "hf... NAME => LEADER"): sorted
  std::vector<std::string> rest;       // in order
};

VerboseLines split_verbose(const std::string& text) {
  VerboseLines v;
  for (std::string line : split_lines(text)) {
    if (line.starts_with("sent ") || line.starts_with("total size is ")) continue;  // counts
    if (line.starts_with("created directory ")) line = "created directory DEST";
    if (is_generator_note(line)) v.notes.push_back(line);
    else if (line.starts_with("deleting ") || line.starts_with("*deleting ")) v.deletions.push_back(line);
    else if (line.find(" => ") != std::string::npos) v.links.push_back(line);
    else v.rest.push_back(line);
  }
  std::sort(v.links.begin(), v.links.end());
  return v;
}

void expect_same_verbose(const DiffRuns& runs, const std::vector<std::string>& args, const std::string& what) {
  SCOPED_TRACE(what);
  RunResult r = runs.run_rsync(args, runs.base() + "/r/");
  RunResult g = runs.run_ringsync(args, runs.base() + "/g/");
  EXPECT_EQ(g.exit_code, r.exit_code) << "rsync stderr:\n" << r.err << "ringsync stderr:\n" << g.err;
  VerboseLines rl = split_verbose(r.out), gl = split_verbose(g.out);
  std::string both = "rsync said:\n" + r.out + "ringsync said:\n" + g.out;
  EXPECT_EQ(gl.rest, rl.rest) << both;
  EXPECT_EQ(gl.notes, rl.notes) << both;
  EXPECT_EQ(gl.deletions, rl.deletions) << both;
  EXPECT_EQ(gl.links, rl.links) << both;
}

class VerboseVsRsync : public ::testing::TestWithParam<std::string> {
 protected:
  VerboseVsRsync() : runs_("ringsync-verbose"), src_(runs_.base() + "/src") {}
  void SetUp() override { build_diff_source(src_); }

  // New, changed and removed files, a file each destination has newer than the source (for
  // -u), and a bigger one (for the size limits).
  void change_source() {
    write_file(src_ + "/small", "changed contents\n");
    write_file(src_ + "/added", "a new file\n");
    write_file(src_ + "/sub/added-big", std::string(5000, 'x'));
    std::filesystem::remove(src_ + "/space name");
    pin_recent_times(src_, 1700000000, 1100000000);
    for (const char* dest : {"/r/", "/g/"}) {
      std::string file = runs_.base() + dest + "sub/file";
      if (!std::filesystem::exists(file)) continue;
      write_file(file, "newer in the destination\n");
      struct timespec times[2] = {{1200000000, 0}, {1200000000, 0}};
      ::utimensat(AT_FDCWD, file.c_str(), times, AT_SYMLINK_NOFOLLOW);
    }
  }

  DiffRuns runs_;
  std::string src_;
};

TEST_P(VerboseVsRsync, SameLinesAsRsync) {
  std::vector<std::string> args = words(GetParam());
  args.push_back("src/");
  expect_same_verbose(runs_, args, "first copy");
  expect_same_verbose(runs_, args, "no-op re-run");
  change_source();
  expect_same_verbose(runs_, args, "re-sync after changes");
}

INSTANTIATE_TEST_SUITE_P(
    Options, VerboseVsRsync,
    ::testing::Values("-avv", "-avv --delete", "-avvn --delete", "-avvi --delete", "-avvq --delete", "-rvv",
                      "-avv --out-format=%n%L", "-avv --out-format=%i_%n%L", "-avvH --delete", "-avvHi",
                      "-avv --delete-after", "-avv --delete-before", "-avvu", "-avvu -n", "-avv --existing",
                      "-avv --ignore-existing", "-avv --max-size=10", "-avv --min-size=1k", "-a --info=name2,skip",
                      "-avv --info=name1,skip0", "-avv --link-dest=../src", "-avv --compare-dest=../src"),
    ParamTestName());

// An item whose content is up to date but whose attributes are set is named alone, without
// "is uptodate" (rsync's set_file_attrs() report), in a dry run too.
TEST(VerboseVsRsyncAttrs, AttributeOnlyChangesAreNamedAlone) {
  DiffRuns runs("ringsync-verbose-attrs");
  std::string src = runs.base() + "/src";
  std::filesystem::create_directories(src + "/d");
  write_file(src + "/a", "a\n");
  write_file(src + "/d/b", "bb\n");
  ASSERT_EQ(::symlink("a", (src + "/l").c_str()), 0);
  pin_recent_times(src, 1700000000, 1000000000);
  expect_same_verbose(runs, {"-a", "src/"}, "first copy");
  ::chmod((src + "/d/b").c_str(), 0600);
  struct timespec times[2] = {{1100000000, 0}, {1100000000, 0}};
  ::utimensat(AT_FDCWD, (src + "/l").c_str(), times, AT_SYMLINK_NOFOLLOW);
  expect_same_verbose(runs, {"-avvn", "src/"}, "dry run");
  expect_same_verbose(runs, {"-avv", "src/"}, "attributes set");
  expect_same_verbose(runs, {"-avv", "src/"}, "no-op re-run");
}

}  // namespace
}  // namespace ringkit::testing
