// ringsync against the real rsync: the same hostile tree, the same options, two destinations.
// The trees are compared attribute by attribute and the -i output line by line; then the same
// after a no-op run and after a round of changes. ringsync's copy is also checked against the
// source to the nanosecond (rsync itself only keeps times to the second where it judges them
// equal, so that comparison is made against the source, not against rsync).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "support/rsync_diff.h"
#include "support/tree.h"

namespace ringkit::testing {
namespace {

const std::string& kRingsync = ringsync_program();

// Output is compared as four sequences (items, hard links, deletions, notes): see SyncOutput.
using Output = SyncOutput;

class RingsyncVsRsync : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    base_ = make_temp_dir("ringsync-diff");
    src_ = base_ + "/src";
    build_diff_source(src_);
  }
  void TearDown() override { remove_tree(base_); }

  std::vector<std::string> options() const { return words(GetParam()); }  // "-_/small" is the rule "- /small"
  // Whether the options hold a short flag (in any bundle, "-aiX") or a long option.
  bool has(const std::string& flag) const {
    for (const auto& o : options()) {
      if (flag.size() == 1 && o.size() > 1 && o[0] == '-' && o[1] != '-' && o.find(flag) != std::string::npos) {
        return true;
      }
      if (flag.size() > 1 && o == flag) return true;
    }
    return false;
  }

  bool deletes_apart() const {
    return has("--delete-before") || has("--delete-after") || has("--delete-delay");
  }
  // The output without the deletions that make room for a new item (the contents of a
  // directory that became a file): those happen during the transfer, where rsync's deletion
  // lines race with its other lines. Extraneous items' deletions stay, in their order.
  std::string normalized(const std::string& out) const {
    std::string text;
    for (std::string line : split_lines(out)) {
      if (line.starts_with("created directory ")) line = "created directory DEST";
      if (line.starts_with("*deleting   ") && makes_room(line.substr(12))) continue;
      if (line.starts_with("hf")) continue;  // compared as a set (see Output)
      const std::string note = "cannot delete non-empty directory: ";
      if (line.starts_with(note) && makes_room(line.substr(note.size()) + "/x")) continue;  // the dir itself
      text += line + "\n";
    }
    return text;
  }
  bool makes_room(const std::string& path) const {
    for (size_t slash = path.find('/'); slash != std::string::npos && slash + 1 < path.size();
         slash = path.find('/', slash + 1)) {
      struct stat st {};
      if (::lstat((src_ + "/" + path.substr(0, slash)).c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) return true;
    }
    return false;
  }

  // Runs both tools with the options and compares everything; `what` names the step.
  void run_both(const std::string& what) {
    SCOPED_TRACE(what + " with " + GetParam());
    std::vector<std::string> r = {"rsync"}, g = {kRingsync};
    for (const auto& o : options()) {
      r.push_back(o);
      g.push_back(o);
    }
    r.insert(r.end(), {src_ + "/", base_ + "/r/"});
    g.insert(g.end(), {src_ + "/", base_ + "/g/"});
    RunResult rr = run_program(r), gr = run_program(g);
    EXPECT_EQ(gr.exit_code, rr.exit_code) << "rsync stderr:\n" << rr.err << "ringsync stderr:\n" << gr.err;
    Output ro = split_output(rr.out), go = split_output(gr.out);
    EXPECT_EQ(go.items, ro.items) << "rsync said:\n" << rr.out << "ringsync said:\n" << gr.out;
    EXPECT_EQ(go.links, ro.links) << "rsync said:\n" << rr.out << "ringsync said:\n" << gr.out;
    EXPECT_EQ(go.deletions, ro.deletions);
    EXPECT_EQ(go.notes, ro.notes);
    if (deletes_apart()) {
      // Deleting before or after the transfer, rsync's order is fixed: compare all of it.
      EXPECT_EQ(normalized(gr.out), normalized(rr.out));
    }
    if (has("-n")) return;
    SnapshotOptions cmp;
    cmp.times = has("a") || has("t");
    cmp.owners = has("a") || has("o");
    cmp.xattrs = has("X");
    cmp.acls = has("A");
    cmp.dir_times = cmp.times && !has("O") && !has("b") && !has("--backup");  // -b implies -O in rsync
    for (const auto& d : compare_trees(snapshot(base_ + "/r"), snapshot(base_ + "/g"), cmp)) {
      ADD_FAILURE() << "ringsync vs rsync: " << d;
    }
    // Options that leave some files alone on purpose are checked against rsync only.
    bool copies_everything = !has("--ignore-existing") && !has("--existing") && !has("u") &&
                             GetParam().find("-size") == std::string::npos;
    if (cmp.times && copies_everything) {
      // ringsync keeps nanoseconds: its copy matches the source exactly (for what both hold:
      // without --delete the destination keeps extra items; without -H links are separate).
      cmp.nanoseconds = true;
      cmp.common_only = true;
      // (Link counts match the source's only when no member of a group is filtered out.)
      // (Nor when backups keep links to replaced files.)
      cmp.nlink = has("H") && GetParam().find("--exclude") == std::string::npos && !has("--backup");
      cmp.modes = (has("a") || has("p")) && GetParam().find("--chmod") == std::string::npos;
      cmp.owners = cmp.owners && GetParam().find("--chown") == std::string::npos;
      TreeState source = snapshot(src_);
      source.erase(".");
      TreeState copy = snapshot(base_ + "/g");
      copy.erase(".");
      for (const auto& d : compare_trees(source, copy, cmp)) ADD_FAILURE() << "source vs ringsync: " << d;
    }
  }

  // Content, size, mode, owner and time changes, deletions, a directory replaced by a file
  // and a file replaced by a directory.
  void change_source() {
    write_file(src_ + "/small", "changed contents\n");
    write_file(src_ + "/empty", "now with data");
    ::chmod((src_ + "/setgid").c_str(), 0700);
    ::chown((src_ + "/sub/file").c_str(), 42, 43);
    timespec t[2] = {{1234567890, 5}, {1234567890, 5}};
    ::utimensat(AT_FDCWD, (src_ + "/-leading-dash").c_str(), t, 0);
    std::filesystem::remove(src_ + "/space name");
    std::filesystem::remove_all(src_ + "/sub/deeper");
    write_file(src_ + "/sub/deeper", "a file where a directory was");
    // A file replaced by a directory. (Not with --ignore-existing: there rsync skips the
    // directory but still prints lines for the contents it then cannot create, which ringsync
    // does not imitate; ringsync leaves the whole subtree alone.)
    if (!has("--ignore-existing")) {
      std::filesystem::remove(src_ + "/odd-mode");
      std::filesystem::create_directories(src_ + "/odd-mode/inside");
      write_file(src_ + "/odd-mode/inside/f", "a directory where a file was");
    }
    ::symlink("elsewhere", (src_ + "/new-link").c_str());
    // Hard links: a member leaves its group, a new one joins another.
    std::filesystem::remove(src_ + "/hl/z");
    write_file(src_ + "/hl/z", "on its own now\n");
    ::link((src_ + "/hl/two/pair-1").c_str(), (src_ + "/hl/one/pair-3").c_str());
    pin_recent_times(src_, 1700000000, 1100000000);
  }

  std::string base_, src_;
};

TEST_P(RingsyncVsRsync, FirstCopyNoOpAndResync) {
  run_both("first copy");
  run_both("no-op re-run");
  change_source();
  run_both("re-sync after changes");
}

TEST_P(RingsyncVsRsync, DryRunPrintsWhatTheRealRunDoes) {
  if (has("b") || has("--backup")) {
    GTEST_SKIP() << "with -b rsync's own dry run differs from its real run where a directory must make "
                    "way for a file (the real run keeps NAME~ inside it); the families compare with rsync";
  }
  // On a fresh destination and after changes, -n prints the same lines as the run itself.
  for (int round = 0; round < 2; ++round) {
    if (round == 1) change_source();
    std::vector<std::string> args = {kRingsync};
    for (const auto& o : options()) args.push_back(o);
    std::vector<std::string> dry = args;
    dry.insert(dry.begin() + 1, "-n");
    dry.insert(dry.end(), {src_ + "/", base_ + "/g/"});
    args.insert(args.end(), {src_ + "/", base_ + "/g/"});
    TreeState before = snapshot(base_ + "/g");
    RunResult d = run_program(dry);
    EXPECT_TRUE(compare_trees(before, snapshot(base_ + "/g"), {}).empty()) << "a dry run changed the tree";
    RunResult real = run_program(args);
    EXPECT_EQ(d.exit_code, real.exit_code);
    EXPECT_EQ(split_output(d.out).items, split_output(real.out).items);
    EXPECT_EQ(split_output(d.out).links, split_output(real.out).links);
    EXPECT_EQ(split_output(d.out).deletions, split_output(real.out).deletions);
    EXPECT_EQ(split_output(d.out).notes, split_output(real.out).notes);
  }
}

INSTANTIATE_TEST_SUITE_P(OptionFamilies, RingsyncVsRsync,
                         ::testing::Values("-ai", "-ai --delete", "-aiX", "-aiA", "-rlpti", "-rlti",
                                           "-ri --delete", "-aii", "-ai --size-only", "-aic",
                                           "-aiI", "-ai --existing", "-ai --ignore-existing",
                                           "-ai --max-size=1K", "-ai --min-size=2", "-rlptgoDi -O",
                                           "-ai --exclude=sub/", "-ai --exclude=*link* --exclude=s*",
                                           "-ai --include=*/ --include=small --exclude=*",
                                           "-ai --delete --exclude=big --exclude=empty-dir/",
                                           "-ai --delete --delete-excluded --exclude=big",
                                           "-ai -f -_/small -f +_*", "-aiC", "-aiH", "-aiH --delete",
                                           "-aiiH", "-rlptiH", "-aiH --exclude=sub/",
                                           "-aiH --exclude=hl/two/pair-2", "-aiS", "-aiHS --delete",
                                           "-ai --delete-before", "-ai --delete-after", "-ai --delete-delay",
                                           "-ai --delete --max-delete=1", "-ai --delete-after --max-delete=0",
                                           "-ai --delete-before --max-delete=2 --exclude=big",
                                           "-ai --chmod=Dg+s,Fo-w", "-ai --chmod=u=rwX,go=rX --chmod=o-r",
                                           "-rlti --chmod=a-x,D700", "-rlpti --chmod=+w",
                                           "-ai --chown=nobody:nogroup", "-ai --chown=:daemon", "-ai --chown=4321",
                                           "-ai --inplace", "-aiS --inplace --delete",
                                           "-ai -b", "-ai -b --delete", "-aiH --backup --suffix=.old --delete-after"),
                         [](const auto& param_info) {
                           std::string name = param_info.param;
                           for (char& c : name) {
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

// New files are created with their final mode where nothing else decides it (no fchmod after
// the data). A destination directory with a default ACL decides it: what is created there takes
// its ACL, masked by the mode asked for. With or without -A, both copies must end with rsync's
// modes and ACLs, and a plain destination with exactly the source's modes.
TEST(RingsyncVsRsyncModes, NewFilesGetRsyncsModesWithAndWithoutADefaultAclInTheWay) {
  for (const char* acl_opt : {"-a", "-aA"}) {
    for (bool default_acl : {false, true}) {
      SCOPED_TRACE(std::string(acl_opt) + (default_acl ? " into directories with a default ACL" : ""));
      DiffRuns runs("ringsync-modes");
      std::string src = runs.base() + "/src";
      std::filesystem::create_directories(src + "/sub");
      const std::pair<const char*, mode_t> files[] = {{"rw", 0644}, {"exec", 0755}, {"private", 0600},
                                                      {"read-only", 0444}, {"none", 0000}, {"odd", 0401},
                                                      {"setuid", 04755}, {"sub/group", 0670}};
      for (const auto& [name, mode] : files) {
        write_file(src + "/" + name, name);
        ASSERT_EQ(::chmod((src + "/" + name).c_str(), mode), 0);
      }
      pin_recent_times(src, 1700000000, 1000000000);
      for (const char* dest : {"/r", "/g"}) {
        std::string d = runs.base() + dest;
        std::filesystem::create_directories(d + "/sub");
        if (!default_acl) continue;
        for (const std::string& dir : {d, d + "/sub"}) {
          RunResult set = run_program({"setfacl", "-d", "-m", "u::rwx,g::r-x,g:1234:rwx,o::r--", dir});
          ASSERT_EQ(set.exit_code, 0) << set.err;
        }
      }
      runs.run_both({acl_opt, "src/"}, "first copy");
      SnapshotOptions cmp;
      cmp.dir_times = false;  // the destination directories were made before the runs
      runs.expect_same_trees(cmp);
      if (default_acl) continue;
      TreeState source = snapshot(src), copy = snapshot(runs.base() + "/g");
      source.erase(".");
      copy.erase(".");
      cmp.xattrs = cmp.acls = false;
      cmp.nanoseconds = true;
      for (const auto& d : compare_trees(source, copy, cmp)) ADD_FAILURE() << "source vs ringsync: " << d;
    }
  }
}

// --existing creates nothing where nothing is, but a file in the way of a directory is
// something: rsync replaces it with the directory (and creates nothing inside). (Regression
// test: ringsync removed the file and made nothing in its place.)
TEST(RingsyncVsRsyncExisting, AFileInTheWayOfADirectoryIsReplaced) {
  DiffRuns runs("ringsync-existing");
  std::string src = runs.base() + "/src";
  std::filesystem::create_directories(src + "/d/sub");
  std::filesystem::create_directories(src + "/missing");
  for (const char* name : {"d/f", "d/sub/g", "missing/h", "top"}) write_file(src + "/" + name, name);
  pin_recent_times(src, 1700000000, 1000000000);
  for (const char* dest : {"/r", "/g"}) {
    std::string d = runs.base() + dest;
    std::filesystem::create_directories(d);
    write_file(d + "/d", "a file where the source has a directory\n");
    write_file(d + "/top", "older\n");
  }
  runs.run_both({"-ai", "--existing", "-n", "src/"}, "--existing, a dry run");
  runs.run_both({"-ai", "--existing", "src/"}, "--existing");
  SnapshotOptions cmp;
  cmp.dir_times = false;  // the destinations were made before the runs
  runs.expect_same_trees(cmp);
  EXPECT_TRUE(std::filesystem::is_directory(runs.base() + "/r/d")) << "rsync, the reference, kept the file";
}

// --ignore-existing keeps a file where the source has a directory. rsync then fails to look up
// the files below it (ENOTDIR), itemizes a subdirectory that it cannot make, and exits 23, so
// that a script learns they are missing; its dry run itemizes that subdirectory's contents too.
TEST(RingsyncVsRsyncExisting, WhatIsBelowAFileKeptByIgnoreExistingFails) {
  DiffRuns runs("ringsync-ignore-existing");
  std::string src = runs.base() + "/src";
  std::filesystem::create_directories(src + "/d/sub");
  for (const char* name : {"d/f", "d/sub/g", "top"}) write_file(src + "/" + name, name);
  pin_recent_times(src, 1700000000, 1000000000);
  for (const char* dest : {"/r", "/g"}) {
    std::string d = runs.base() + dest;
    std::filesystem::create_directories(d);
    write_file(d + "/d", "a file where the source has a directory\n");
  }
  runs.run_both({"-ai", "--ignore-existing", "-n", "src/"}, "--ignore-existing, a dry run");
  runs.run_both({"-ai", "--ignore-existing", "src/"}, "--ignore-existing");
  SnapshotOptions cmp;
  cmp.dir_times = false;  // the destinations were made before the runs
  // rsync then gives the kept file the source directory's time, as if it were that directory;
  // ringsync leaves a file it keeps alone.
  cmp.times = false;
  runs.expect_same_trees(cmp);
  EXPECT_TRUE(std::filesystem::is_regular_file(runs.base() + "/r/d")) << "rsync, the reference, replaced the file";
}

// "-R base/./" names the base directory itself: without -r or -d rsync skips it ("skipping
// directory .") and sends only the other names; with -d it sends the base's own entries.
TEST(RingsyncVsRsyncRelative, TheBaseNamedWithoutRecursionIsSkipped) {
  DiffRuns runs("ringsync-relative-base");
  std::string src = runs.base() + "/src";
  std::filesystem::create_directories(src + "/sub");
  for (const char* name : {"top", "sub/inner"}) write_file(src + "/" + name, name);
  pin_recent_times(src, 1700000000, 1000000000);
  runs.run_both({"-li", "-R", "src/./"}, "the base alone");
  runs.run_both({"-li", "-R", "src/./", "src/./top"}, "the base and a file in it");
  SnapshotOptions cmp;
  cmp.times = false;  // no -t: the copies' times are those of the writes, a second apart or not
  runs.expect_same_trees(cmp);
  EXPECT_FALSE(std::filesystem::exists(runs.base() + "/g/sub")) << "the skipped base's directory was sent";
  runs.run_both({"-lid", "-R", "src/./"}, "-d: the base's entries");
  runs.expect_same_trees(cmp);
}

}  // namespace
}  // namespace ringkit::testing
