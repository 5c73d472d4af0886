// ringsync -vv against rsync -vv on the same trees: what -vv adds for a local copy ("delta-
// transmission disabled ...", "NAME is uptodate" or the bare name of an item whose attributes
// alone were set, the notes of -u, --existing, --ignore-existing and the size limits, "deleting
// in DIR", "total: matches=0 ... data=N"), with --delete (-before, -after), -n, -i, -q,
// --out-format and -H; the filter notes ("[sender] hiding file X because of pattern P",
// "[generator] protecting ...") with the filter options, and the backup notes ("backed up X to
// Y", "(new) backup_dir is DIR") with -b and --backup-dir. Each case is a first copy, a no-op
// and a re-sync after changes.
//
// rsync's generator prints its notes (uptodate, skips) on a channel of its own, and they land
// among the other lines where its buffering puts them: they are compared as a sequence apart,
// and so are deletions and hard links, as elsewhere (support/rsync_diff.h), and the backup
// notes (from rsync's receiver and generator both: sorted). Filter notes come from the sender's
// and the generator's reading of directories, in the order readdir gives: each side's are
// compared sorted. The summary's byte counts are left out (rsync's own runs do not agree on
// them); everything else is compared line by line, the "total:" line included.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
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
  std::vector<std::string> hiding;     // "[sender] hiding/showing ...": sorted
  std::vector<std::string> protecting; // "[generator] protecting/risking ...": sorted
  std::vector<std::string> backups;    // "backed up X to Y": sorted
  std::vector<std::string> deletions;  // "deleting NAME", "*deleting ...", "deleting in DIR", "cannot delete ...": in order
  std::vector<std::string> links;      // "NAME => LEADER" (with -i "hf... NAME => LEADER"): sorted
  std::vector<std::string> rest;       // in order
};

VerboseLines split_verbose(const std::string& text) {
  VerboseLines v;
  for (std::string line : split_lines(text)) {
    if (line.starts_with("sent ") || line.starts_with("total size is ")) continue;  // counts
    if (line.starts_with("created directory ")) line = "created directory DEST";
    // Without incremental recursion rsync's sender notes come while it builds its list, inside
    // "building file list ... done"; ringsync prints that line whole, the notes after it.
    if (line == "done") continue;
    if (line == "building file list ... ") line += "done";
    if (line.starts_with("[sender] ")) v.hiding.push_back(line);
    else if (line.starts_with("[generator] ")) v.protecting.push_back(line);
    else if (line.starts_with("backed up ")) v.backups.push_back(line);
    else if (is_generator_note(line)) v.notes.push_back(line);
    else if (line.starts_with("deleting ") || line.starts_with("*deleting ") || line.starts_with("cannot delete "))
      v.deletions.push_back(line);
    else if (line.find(" => ") != std::string::npos) v.links.push_back(line);
    else v.rest.push_back(line);
  }
  for (auto* sorted : {&v.links, &v.hiding, &v.protecting, &v.backups}) std::sort(sorted->begin(), sorted->end());
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
  EXPECT_EQ(gl.hiding, rl.hiding) << both;
  EXPECT_EQ(gl.protecting, rl.protecting) << both;
  EXPECT_EQ(gl.backups, rl.backups) << both;
}

// A case: the options (GetParam()) and a source at base()/src, copied to base()/r and g.
class VerboseCase : public ::testing::TestWithParam<std::string> {
 protected:
  explicit VerboseCase(const char* prefix) : runs_(prefix), src_(runs_.base() + "/src") {}
  std::vector<std::string> args() const {
    std::vector<std::string> a = words(GetParam());
    a.push_back("src/");
    return a;
  }

  DiffRuns runs_;
  std::string src_;
};

class VerboseVsRsync : public VerboseCase {
 protected:
  VerboseVsRsync() : VerboseCase("ringsync-verbose") {}
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
};

TEST_P(VerboseVsRsync, SameLinesAsRsync) {
  std::vector<std::string> args = this->args();
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
                      "-avv --info=name1,skip0", "-avv --link-dest=../src", "-avv --compare-dest=../src",
                      // Backups of what the re-sync replaces and deletes ("backed up X to Y").
                      "-avvb", "-avvb --delete", "-avvb --inplace", "-avvb --delay-updates",
                      "-avv --backup-dir=bk --suffix=.old --delete", "-avvn --backup-dir=bk/ --delete",
                      "-a --info=backup -b --delete",
                      "-avv --info=backup0 -b --delete",
                      // No -r or -d: the directory is skipped, DEST/ made all the same, and no
                      // "building file list" said.
                      "-lvv", "-lvv -d"),
    ParamTestName());

// The filter notes of -vv: what the sender hides and shows, and, with --delete, what the
// generator protects and risks in the destination, down into directories that go.
class VerboseFilters : public VerboseCase {
 protected:
  VerboseFilters() : VerboseCase("ringsync-verbose-filters") {}
  void SetUp() override {
    std::filesystem::create_directories(src_ + "/d/e");
    for (const char* name : {"a.o", "b.c", "core", "d/c.o", "d/x", "d/e/x", "d/e/y.c"}) {
      write_file(src_ + "/" + name, std::string(name) + "\n");
    }
    write_file(src_ + "/d/.cvsignore", "x\n");
    write_file(src_ + "/.rsync-filter", "- b.c\n");
    write_file(src_ + "/d/e/.rsync-filter", "+ d/\n- x\n");
    write_file(runs_.base() + "/rules", "*.o\n\ncore\n");
    write_file(runs_.base() + "/merged", "- *.o\n+ d/\n- core\n");  // a merge file
    pin_recent_times(src_, 1700000000, 1000000000);
  }
  // What each destination has that the source has not: excluded names, protected ones, and a
  // directory that goes but holds excluded files (and, for -F, a rule of its own).
  void add_dest_extras() {
    for (const char* dest : {"/r/", "/g/"}) {
      std::string d = runs_.base() + dest;
      std::filesystem::create_directories(d + "zz/y");
      std::filesystem::create_directories(d + "d/e");
      for (const char* name : {"junk.o", "keep.p", "zz/y/q.o", "zz/y/q.c", "zz/q.p", "d/e/z.o"}) {
        write_file(d + name, "extra\n");
      }
      write_file(d + "zz/.rsync-filter", "P q.c\n");  // read by -F in a directory that goes
      pin_recent_times(d, 1700000000, 1000000000);  // the same in both (the trees are compared)
    }
  }
};

TEST_P(VerboseFilters, SameNotesAsRsync) {
  std::vector<std::string> args = this->args();
  expect_same_verbose(runs_, args, "first copy");
  add_dest_extras();
  expect_same_verbose(runs_, args, "re-run with extras in the destination");
  expect_same_verbose(runs_, args, "no-op re-run");
  // What --delete spared inside a directory it removed (a protected file keeps it) is there.
  runs_.expect_same_trees(compare_options_for(args, false));  // (deletions touch directory times)
}

INSTANTIATE_TEST_SUITE_P(
    Options, VerboseFilters,
    ::testing::Values("-avv --exclude=*.o", "-avv --include=b.c --exclude=*", "-avv --exclude=d/ --delete",
                      "-avv --exclude=*.o --delete", "-avv --exclude=*.o --delete --delete-excluded",
                      "-avv --exclude=*.o --delete-before", "-avv --exclude=*.o --delete-after",
                      "-avvn --exclude=*.o --delete", "-avvi --exclude=*.o --delete",
                      "-avv --delete --filter=P_*.p --filter=R_*.o --filter=-_*.o --filter=H_core --filter=S_d/",
                      "-avv --delete --filter=-p_*.o", "-avvC --delete", "-avvF --delete", "-avvFF --delete",
                      "-avv --exclude-from=rules --delete", "-avv --filter=._merged --delete",
                      "-avv --exclude=/core --exclude=/d/e/ --exclude=d/**/x --include=*/ --delete",
                      "-avvm --exclude=*.o", "-avvq --exclude=*.o --delete", "-av --exclude=*.o --delete",
                      // Backups of deleted extras, in a dry run too ("backed up X to X~").
                      "-avvb --exclude=*.o --delete", "-avvbn --exclude=*.o --delete",
                      "-avvb --delete --filter=R_*~"),
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

// rsync's totals are of its whole file list: with --existing or --ignore-existing, what its
// receiver then skips counts too (-v's "total size is N", --stats' "Number of files" and "Total
// file size"), down into a directory that --existing does not create. The lines that carry a
// count (with --stats' breakdown by kind), without the byte counts and speedup that rsync's own
// runs do not agree on.
// --stats' Literal and Matched data, and the file list's size and transfer time (nothing,
// in a local copy), are exact too.
std::vector<std::string> total_lines(const std::string& out) {
  std::vector<std::string> totals;
  for (const std::string& line : split_lines(out)) {
    if (line.starts_with("total size is ")) totals.push_back(line.substr(0, line.find("  speedup")));
    for (const char* counted : {"Number of ", "Total file size: ", "Total transferred file size: ", "Literal data: ",
                                "Matched data: ", "File list size: ", "File list transfer time: "}) {
      if (line.starts_with(counted)) totals.push_back(line);
    }
  }
  return totals;
}

// The labels of --stats' lines, in order ("Number of files", ..., "Total bytes received"):
// the times and byte counts that rsync's runs do not agree on are left out, not the lines.
std::vector<std::string> stats_labels(const std::string& out) {
  std::vector<std::string> labels;
  bool in_stats = false;
  for (const std::string& line : split_lines(out)) {
    if (line.starts_with("Number of files: ")) in_stats = true;
    if (!in_stats) continue;
    if (line.empty()) break;
    labels.push_back(line.substr(0, line.find(':')));
  }
  return labels;
}

// rsync and ringsync with `args` into base/r/ and base/g/: the same exit, totals and --stats lines.
void expect_same_totals(const DiffRuns& runs, const std::vector<std::string>& args) {
  RunResult r = runs.run_rsync(args, runs.base() + "/r/");
  RunResult g = runs.run_ringsync(args, runs.base() + "/g/");
  EXPECT_EQ(g.exit_code, r.exit_code) << "rsync stderr:\n" << r.err << "ringsync stderr:\n" << g.err;
  EXPECT_EQ(total_lines(g.out), total_lines(r.out)) << "rsync said:\n" << r.out << "ringsync said:\n" << g.out;
  EXPECT_EQ(total_lines(r.out).size(), 11u) << r.out;
  EXPECT_EQ(stats_labels(g.out), stats_labels(r.out)) << "rsync said:\n" << r.out << "ringsync said:\n" << g.out;
  EXPECT_EQ(stats_labels(r.out).size(), 13u) << r.out;
}

TEST(VerboseVsRsyncTotals, ItemsSkippedByExistenceAreCounted) {
  DiffRuns runs("ringsync-verbose-totals");
  std::string src = runs.base() + "/src";
  std::filesystem::create_directories(src + "/old/deeper");
  std::filesystem::create_directories(src + "/new/deeper");
  write_file(src + "/a", std::string(1000, 'a'));
  write_file(src + "/b", std::string(200, 'b'));
  write_file(src + "/old/c", std::string(30, 'c'));
  write_file(src + "/old/deeper/d", std::string(4, 'd'));
  write_file(src + "/new/e", std::string(50000, 'e'));
  write_file(src + "/new/deeper/f", std::string(6, 'f'));
  ASSERT_EQ(::symlink("a", (src + "/l").c_str()), 0);
  pin_recent_times(src, 1700000000, 1000000000);
  for (const char* option : {"--existing", "--ignore-existing"}) {
    for (const char* dry_run : {"", "-n"}) {
      // Each destination holds a, old/ and old/c before the run; new/ is missing.
      for (const char* dest : {"/r", "/g"}) {
        std::string d = runs.base() + dest;
        remove_tree(d);
        std::filesystem::create_directories(d + "/old");
        write_file(d + "/a", "older a\n");
        write_file(d + "/old/c", "older c\n");
      }
      std::vector<std::string> args = words(std::string("-av --stats ") + option + " " + dry_run);
      args.push_back("src/");
      SCOPED_TRACE(std::string(option) + " " + dry_run);
      expect_same_totals(runs, args);
    }
  }
}

// --stats counts by kind as rsync does, kinds with none left out ("Number of files: 7 (reg: 2,
// dir: 2, link: 1, dev: 1, special: 1)"), for what is listed, created and deleted; and a symlink
// that is not copied (no -l) still counts in the total size, as it is in rsync's file list.
TEST(VerboseVsRsyncTotals, StatsCountEachKind) {
  DiffRuns runs("ringsync-verbose-kinds");
  std::string src = runs.base() + "/src";
  std::filesystem::create_directories(src + "/dir");
  write_file(src + "/a", std::string(100, 'a'));
  write_file(src + "/dir/b", std::string(20, 'b'));
  ASSERT_EQ(::symlink("dir/b", (src + "/link").c_str()), 0);
  ASSERT_EQ(::mkfifo((src + "/fifo").c_str(), 0644), 0);
  if (::geteuid() == 0) {  // (not root: no device, the other kinds are still counted)
    ASSERT_EQ(::mknod((src + "/null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
  }
  pin_recent_times(src, 1700000000, 1000000000);
  for (const char* options : {"-a --stats --delete", "-rt --stats --delete", "-av --stats", "-an --stats --delete"}) {
    // Each destination holds one item of each kind that the source does not have.
    for (const char* dest : {"/r", "/g"}) {
      std::string d = runs.base() + dest;
      remove_tree(d);
      std::filesystem::create_directories(d + "/old-dir/inner");
      write_file(d + "/old-file", "x\n");
      write_file(d + "/old-dir/inner/f", "y\n");
      ASSERT_EQ(::symlink("nowhere", (d + "/old-link").c_str()), 0);
      ASSERT_EQ(::mkfifo((d + "/old-fifo").c_str(), 0644), 0);
    }
    std::vector<std::string> args = words(options);
    args.push_back("src/");
    SCOPED_TRACE(options);
    expect_same_totals(runs, args);
  }
}

}  // namespace
}  // namespace ringkit::testing
