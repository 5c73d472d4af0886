// --link-dest, --compare-dest and --copy-dest against the real rsync. The source is the hostile
// tree (with hard-link groups); the basis is a copy of it that differs in every way that
// decides rsync's match levels: content and size, mtime, permissions, owner, an xattr, a
// symlink's target, a device's numbers, a FIFO's mode, a directory's mode, items missing or of
// another kind, a hard-link group split. Both tools run with the same options into two
// destinations: a first copy, a no-op, a re-sync after changes; the -i output is compared line
// for line, the trees attribute by attribute, and which files are hard links into the basis.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>

#include "support/rsync_diff.h"
#include "support/tree.h"

namespace ringkit::testing {
namespace {

void set_mtime(const std::string& path, long long sec) {
  timespec t[2] = {{sec, 0}, {sec, 0}};
  ::utimensat(AT_FDCWD, path.c_str(), t, AT_SYMLINK_NOFOLLOW);
}

// The basis: an exact copy of the source, then one difference of each kind.
void vary_basis(const std::string& b) {
  write_file(b + "/small", "other content, other size\n");  // level 1: content
  set_mtime(b + "/empty", 1500000000);                         // level 1: the quick check fails
  ::chmod((b + "/odd-mode").c_str(), 0640);                    // level 2: permissions
  ::chown((b + "/sub/file").c_str(), 42, 43);                  // level 2: owner (-o as root)
  ::lsetxattr((b + "/sub/deeper/leaf").c_str(), "user.basis", "only here", 9, 0);  // level 2 with -X
  std::filesystem::remove(b + "/space name");                  // level 0: missing
  std::filesystem::remove(b + "/-leading-dash");               // another kind
  std::filesystem::create_directory(b + "/-leading-dash");
  std::filesystem::remove(b + "/dangling");                    // a symlink elsewhere
  ::symlink("somewhere-else", (b + "/dangling").c_str());
  std::filesystem::remove(b + "/char-dev");                    // a device of other numbers
  ::mknod((b + "/char-dev").c_str(), S_IFCHR | 0600, makedev(1, 5));
  ::chmod((b + "/fifo").c_str(), 0600);                        // a FIFO's mode
  ::chmod((b + "/sub").c_str(), 0700);                         // a directory's mode
  std::filesystem::remove(b + "/hl/z");                        // a group member on its own inode
  std::filesystem::copy_file(b + "/hl/one/x", b + "/hl/z");
  // Times as the source's, where the changes above moved them (directories aside: they vary).
  for (const char* p : {"/small", "/odd-mode", "/sub/file", "/hl/z", "/char-dev", "/fifo"}) {
    struct stat st {};
    if (::lstat((b + "/../src" + p).c_str(), &st) == 0) {
      timespec t[2] = {st.st_atim, st.st_mtim};
      ::utimensat(AT_FDCWD, (b + p).c_str(), t, AT_SYMLINK_NOFOLLOW);
    }
  }
}

class RingsyncBasisDirs : public RsyncDiffTest {
 protected:
  void SetUp() override {
    make_source("ringsync-basis");
    // Each tool has its own basis (links into it let attribute changes reach it): "BASIS" in
    // the options names basis-r for rsync and basis-g for ringsync; "OLDER" a pristine second
    // basis, searched after the first when the options name it.
    ASSERT_EQ(run_program({"rsync", "-aHAX", src_ + "/", base_ + "/basis-r/"}).exit_code, 0);
    vary_basis(base_ + "/basis-r");
    for (const char* copy : {"/basis-g", "/older-r", "/older-g"}) {
      std::string from = std::string(copy).starts_with("/basis") ? base_ + "/basis-r" : src_;
      ASSERT_EQ(run_program({"rsync", "-aHAX", from + "/", base_ + copy + "/"}).exit_code, 0);
    }
    parse_options([this](const std::string& tag) -> std::vector<std::pair<std::string, std::string>> {
      return {{"RELBASIS", "../basis-" + tag},
              {"BASIS", base_ + "/basis-" + tag},
              {"OLDER", base_ + "/older-" + tag},
              {"MISSING", base_ + "/missing"}};
    });
    if (has("--seed")) {
      // Destinations that hold an old copy already: exact matches replace (link) or remove
      // (compare) files that exist.
      for (auto& o : options_) std::erase(o, "--seed");
      for (const char* d : {"r", "g"}) {
        ASSERT_EQ(run_program({"cp", "-a", base_ + "/basis-r", base_ + "/" + d}).exit_code, 0);
      }
    }
  }

  void run_both(const std::string& what) {
    SCOPED_TRACE(what + " with " + GetParam());
    run_tools_and_compare_output();
    if (has("-n")) return;
    SnapshotOptions cmp = compare_options_for(options_[0]);
    cmp.nlink = true;  // (links into the basis count too)
    expect_same_destinations(cmp);
    for (const char* b : {"/basis-", "/older-"}) {
      EXPECT_EQ(files_linked_to(base_ + "/g", base_ + b + "g"), files_linked_to(base_ + "/r", base_ + b + "r"))
          << "files hard-linked into " << b;
    }
  }

  void change_source() {
    write_file(src_ + "/big", "now small\n");
    write_file(src_ + "/hl/two/pair-1", "pair, changed\n");
    ::chmod((src_ + "/setgid").c_str(), 0700);
    std::filesystem::remove(src_ + "/sub/up-link");
    ::symlink("elsewhere", (src_ + "/sub/up-link").c_str());
    write_file(src_ + "/sub/new-file", "new\n");
    std::filesystem::remove_all(src_ + "/sub/deeper");
    pin_recent_times(src_, 1700000000, 1100000000);
  }
};

TEST_P(RingsyncBasisDirs, FirstCopyNoOpAndResync) {
  run_both("first copy");
  run_both("no-op re-run");
  change_source();
  run_both("re-sync after changes");
}

// A dry run prints what rsync's dry run prints and changes nothing. (Not always what the real
// run then prints: with -H, a group whose leader is replaced is listed as already linked, by
// rsync -n as by ringsync -n.)
TEST_P(RingsyncBasisDirs, DryRunPrintsWhatRsyncsDryRunPrints) {
  if (has("X")) {
    GTEST_SKIP() << "rsync 3.5.0's own dry run fails here (exit 23: it copies a basis directory's xattrs "
                    "to destination directories the dry run did not make)";
  }
  // (The destinations exist: a relative basis dir is relative to them, also in a dry run.)
  std::filesystem::create_directories(base_ + "/r");
  std::filesystem::create_directories(base_ + "/g");
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(round == 0 ? "first copy" : "after changes");
    if (round == 1) change_source();
    std::vector<std::string> r_dry = options_[0], g_dry = options_[1];
    r_dry.insert(r_dry.begin(), "-n");
    g_dry.insert(g_dry.begin(), "-n");
    TreeState before = snapshot(base_ + "/g");
    RunResult rd = run_sync("rsync", r_dry, src_ + "/", base_ + "/r/");
    // rsync -n names some members' leader by its path in the --link-dest ("=> BASIS/hl/z"),
    // depending on where its incremental file lists split; ringsync names the leader itself.
    for (size_t at = rd.out.find("=> " + base_ + "/basis-r/"); at != std::string::npos;
         at = rd.out.find("=> " + base_ + "/basis-r/", at)) {
      rd.out.erase(at + 3, base_.size() + 9);
    }
    RunResult gd = run_sync(ringsync_program(), g_dry, src_ + "/", base_ + "/g/");
    drop_transfer_summary(rd);
    drop_transfer_summary(gd);
    expect_same_run(rd, gd, "");
    EXPECT_TRUE(compare_trees(before, snapshot(base_ + "/g"), {}).empty()) << "a dry run changed the tree";
    // The real runs, for the next round.
    run_sync("rsync", options_[0], src_ + "/", base_ + "/r/");
    run_sync(ringsync_program(), options_[1], src_ + "/", base_ + "/g/");
  }
}

INSTANTIATE_TEST_SUITE_P(
    Kinds, RingsyncBasisDirs,
    ::testing::Values("-ai --link-dest=BASIS", "-aii --link-dest=BASIS", "-ai --compare-dest=BASIS",
                      "-aii --compare-dest=BASIS", "-ai --copy-dest=BASIS", "-aii --copy-dest=BASIS",
                      "-aiH --link-dest=BASIS", "-aiiH --link-dest=BASIS", "-aiH --compare-dest=BASIS",
                      "-aiiH --copy-dest=BASIS", "-ai --delete --link-dest=BASIS",
                      "-ai --delete --compare-dest=BASIS", "-aiH --delete --copy-dest=BASIS",
                      "-ai --link-dest=MISSING --link-dest=BASIS --link-dest=OLDER",
                      "-aii --copy-dest=BASIS --copy-dest=OLDER", "-rlpti --link-dest=BASIS",
                      "-aiX --link-dest=BASIS", "-aic --link-dest=BASIS", "-ai --size-only --compare-dest=BASIS",
                      "-aiI --link-dest=BASIS", "-ai --link-dest=RELBASIS", "-av --link-dest=BASIS",
                      "-ai --seed --link-dest=BASIS", "-aii --seed --compare-dest=BASIS",
                      "-ai --seed --delete --copy-dest=BASIS"), ParamTestName());

}  // namespace
}  // namespace ringkit::testing
