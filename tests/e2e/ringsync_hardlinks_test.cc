// -H against the real rsync, scenario by scenario: a group spread over directories, with the
// destination prepared in the ways that make rsync choose differently (members missing, a link
// broken, the leader's content changed, --ignore-existing skipping the last member). Both
// programs get the same prepared destination; their output and which files end up as one
// inode must agree. rsync prints a link line ("hf... a => b") when its receiver reports the
// leader done, which races with its other lines, so those lines are compared as a set.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "support/rsync_diff.h"
#include "support/tree.h"

namespace ringkit::testing {
namespace {

const std::string kRingsync = std::string(RINGKIT_BIN_DIR) + "/ringsync";

struct Lines {
  std::vector<std::string> ordered;  // everything but link lines and deletions, in order
  std::vector<std::string> links;    // "hf" lines, sorted
};

Lines split(const std::string& out) {
  Lines l;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("created directory ")) line = "created directory DEST";
    if (line.starts_with("*deleting")) continue;
    // rsync -v's own framing (ringsync -v prints none of it; the --stats family checks that).
    if (line.empty() || line == "sending incremental file list" || line.starts_with("sent ") ||
        line.starts_with("total size is ")) {
      continue;
    }
    bool link = line.starts_with("hf") || line.find(" => ") != std::string::npos;
    (link ? l.links : l.ordered).push_back(line);
  }
  std::sort(l.links.begin(), l.links.end());
  return l;
}

// For each regular file, the sorted names of all files on the same inode.
std::map<std::string, std::set<std::string>> link_groups(const std::string& root) {
  std::map<unsigned long, std::set<std::string>> by_inode;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
    struct stat st {};
    if (::lstat(e.path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    by_inode[st.st_ino].insert(std::filesystem::relative(e.path(), root).string());
  }
  std::map<std::string, std::set<std::string>> out;
  for (const auto& [ino, names] : by_inode) {
    for (const auto& n : names) out[n] = names;
  }
  return out;
}

struct Scenario {
  const char* name;
  std::vector<std::string> options;
  std::function<void(const std::string& dst)> prepare;  // after a first rsync -aH copy, if set
  bool start_empty = false;
};

class HardLinks : public ::testing::TestWithParam<Scenario> {
 protected:
  void SetUp() override {
    base_ = make_temp_dir("ringsync-hl");
    src_ = base_ + "/s";
    std::filesystem::create_directories(src_ + "/d");
    std::filesystem::create_directories(src_ + "/e");
    write_file(src_ + "/a", "shared\n");
    for (const char* m : {"/b", "/d/c", "/e/f"}) ASSERT_EQ(::link((src_ + "/a").c_str(), (src_ + m).c_str()), 0);
    write_file(src_ + "/z", "pair\n");
    ASSERT_EQ(::link((src_ + "/z").c_str(), (src_ + "/d/z2").c_str()), 0);
    write_file(src_ + "/solo", "alone\n");
    // Symlinks and FIFOs can be hard-linked too; rsync does not make them wait for the last.
    ASSERT_EQ(::symlink("target", (src_ + "/sl").c_str()), 0);
    ASSERT_EQ(::link((src_ + "/sl").c_str(), (src_ + "/d/sl2").c_str()), 0);
    ASSERT_EQ(::mkfifo((src_ + "/fifo").c_str(), 0644), 0);
    ASSERT_EQ(::link((src_ + "/fifo").c_str(), (src_ + "/e/fifo2").c_str()), 0);
    pin_recent_times(src_, 0, 1600000000);
  }
  void TearDown() override { remove_tree(base_); }

  void prepare(const std::string& dst) {
    const Scenario& s = GetParam();
    if (s.start_empty) return;
    RunResult r = run_program({"rsync", "-aH", src_ + "/", dst + "/"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    if (s.prepare) s.prepare(dst);
    // What the preparation made carries the second it ran in; the two destinations must not
    // differ by that.
    pin_recent_times(dst, 1700000000, 1650000000);
  }

  std::string base_, src_;
};

TEST_P(HardLinks, SameOutputAndSameLinksAsRsync) {
  const Scenario& s = GetParam();
  for (bool dry : {true, false}) {
    SCOPED_TRACE(dry ? "dry run" : "real run");
    std::string r = base_ + (dry ? "/rn" : "/r"), g = base_ + (dry ? "/gn" : "/g");
    prepare(r);
    prepare(g);
    std::vector<std::string> ra = {"rsync"}, ga = {kRingsync};
    for (const auto& o : s.options) {
      ra.push_back(o);
      ga.push_back(o);
    }
    if (dry) {
      ra.push_back("-n");
      ga.push_back("-n");
    }
    ra.insert(ra.end(), {src_ + "/", r + "/"});
    ga.insert(ga.end(), {src_ + "/", g + "/"});
    RunResult rr = run_program(ra), gr = run_program(ga);
    EXPECT_EQ(gr.exit_code, rr.exit_code) << gr.err;
    Lines rl = split(rr.out), gl = split(gr.out);
    EXPECT_EQ(gl.ordered, rl.ordered) << "rsync:\n" << rr.out << "ringsync:\n" << gr.out;
    EXPECT_EQ(gl.links, rl.links) << "rsync:\n" << rr.out << "ringsync:\n" << gr.out;
    if (std::filesystem::exists(r)) {
      EXPECT_EQ(link_groups(g), link_groups(r));
      SnapshotOptions cmp;
      for (const auto& d : compare_trees(snapshot(r), snapshot(g), cmp)) ADD_FAILURE() << d;
    }
  }
}

void replace_file(const std::string& path, const std::string& content, mode_t mode) {
  std::filesystem::remove(path);
  write_file(path, content);
  ::chmod(path.c_str(), mode);
}

void set_mtime(const std::string& path, time_t t) {
  timespec ts[2] = {{t, 0}, {t, 0}};
  ::utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW);
}

INSTANTIATE_TEST_SUITE_P(
    Scenarios, HardLinks,
    ::testing::Values(
        Scenario{"FirstCopy", {"-aHi"}, nullptr, true},
        Scenario{"NoOp", {"-aHi"}, [](const std::string&) {}},
        Scenario{"NoOpListsEverything", {"-aHii"}, [](const std::string&) {}},
        Scenario{"FirstMemberMissing", {"-aHi"}, [](const std::string& d) { std::filesystem::remove(d + "/a"); }},
        Scenario{"LinkBrokenWithOtherAttributes", {"-aHi"},
                 [](const std::string& d) {
                   replace_file(d + "/b", "different size\n", 0600);
                   set_mtime(d, 1600000000);
                 }},
        Scenario{"LeaderChangedAndMemberMissing", {"-aHi"},
                 [](const std::string& d) {
                   std::filesystem::remove(d + "/a");
                   write_file(d + "/e/f", "changed\n");
                   set_mtime(d + "/e/f", 1000000000);
                   set_mtime(d, 1600000000);
                 }},
        Scenario{"IgnoreExistingSkipsTheLast", {"-aHi", "--ignore-existing"},
                 [](const std::string& d) {
                   std::filesystem::remove(d + "/a");
                   std::filesystem::remove(d + "/d/c");
                   set_mtime(d, 1600000000);
                   set_mtime(d + "/d", 1600000000);
                 }},
        Scenario{"ExistingOnly", {"-aHi", "--existing"},
                 [](const std::string& d) {
                   std::filesystem::remove(d + "/a");
                   std::filesystem::remove(d + "/b");
                   replace_file(d + "/d/c", "x\n", 0644);
                   set_mtime(d, 1600000000);
                   set_mtime(d + "/d", 1600000000);
                 }},
        Scenario{"LastMemberExcluded", {"-aHi", "--exclude=e/f"}, nullptr, true},
        Scenario{"DeleteAndADirectoryInTheWay", {"-aHi", "--delete"},
                 [](const std::string& d) {
                   std::filesystem::remove_all(d + "/d");
                   std::filesystem::create_directories(d + "/d/c/inside");
                   write_file(d + "/extra", "x");
                 }},
        Scenario{"VerboseNotItemized", {"-aHv"}, nullptr, true}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

// rsync's run and ringsync's agree: exit code, lines (link lines as a set) and, after a real
// run, the two trees and their hard links. `dest_is_item`: DEST's own attributes are compared
// (not under a "d/" list, where its time is whatever the run left).
void expect_same_linked_copy(const RunResult& rr, const RunResult& gr, const std::string& r, const std::string& g,
                             bool dry, bool dest_is_item) {
  EXPECT_EQ(gr.exit_code, rr.exit_code) << gr.err;
  Lines rl = split(rr.out), gl = split(gr.out);
  EXPECT_EQ(gl.ordered, rl.ordered) << "rsync:\n" << rr.out << "ringsync:\n" << gr.out;
  EXPECT_EQ(gl.links, rl.links) << "rsync:\n" << rr.out << "ringsync:\n" << gr.out;
  if (dry) return;
  EXPECT_EQ(link_groups(g), link_groups(r));
  TreeState rs = snapshot(r), gs = snapshot(g);
  if (!dest_is_item) {
    rs.erase(".");
    gs.erase(".");
  }
  for (const auto& d : compare_trees(rs, gs, SnapshotOptions{})) ADD_FAILURE() << d;
}

// --files-from without -r: a "dir/" entry sends that directory one level deep, and the list
// may name items deeper below it ("d/" and "d/sub/f2"), or below the root sent the same way
// ("./"). rsync's file list holds them all, so their hard links are made as for any group.
// (Regression test: ringsync's pre-pass did not count the deeper names, so a group split that
// way was copied as separate files; nor, under "./", the entries of a "d/" sent one level.)
TEST(HardLinksFilesFrom, NamesBelowADirectorySentOneLevelAreLinked) {
  std::string base = make_temp_dir("ringsync-hl-list");
  ScopedTempTree cleanup{base};
  std::string src = base + "/s";
  std::filesystem::create_directories(src + "/d/sub");
  std::filesystem::create_directories(src + "/e");
  write_file(src + "/d/f1", "shared\n");
  for (const char* m : {"/d/sub/f2", "/e/f3", "/top"}) ASSERT_EQ(::link((src + "/d/f1").c_str(), (src + m).c_str()), 0);
  write_file(src + "/d/sub/other", "other\n");
  pin_recent_times(src, 0, 1600000000);
  for (const char* list : {"d/\nd/sub/f2\n", "d/\nd/sub/f2\ne/f3\n", "./\nd/sub/f2\n", "./\nd/sub/f2\ne/f3\n",
                           "./\nd/\n", "./\nd/\nd/sub/\n"}) {
    for (const char* dry : {"", "-n"}) {
      SCOPED_TRACE(std::string("list \"") + list + "\" " + dry);
      write_file(base + "/list", list);
      std::string r = base + "/r", g = base + "/g";
      remove_tree(r);
      remove_tree(g);
      std::vector<std::string> args = {"-aHi", "--files-from=" + base + "/list"};
      if (*dry) args.push_back(dry);
      RunResult rr = run_sync("rsync", args, src + "/", r + "/");
      RunResult gr = run_sync(kRingsync, args, src + "/", g + "/");
      expect_same_linked_copy(rr, gr, r, g, *dry, false);  // (DEST is no item of a "d/" list)
    }
  }
}

// -r -R: the list may name items below a directory walked whole, through a symlink met there
// (rsync sends the directory the link leads to), or from a second base. Their hard links are
// made as for any group.
// (Regression test: ringsync's pre-pass walked such a directory without the list, so a group
// split that way was copied as separate files.)
TEST(HardLinksRelative, NamesBelowADirectoryWalkedWholeAreLinked) {
  std::string base = make_temp_dir("ringsync-hl-relative");
  ScopedTempTree cleanup{base};
  std::filesystem::create_directories(base + "/a/real");
  std::filesystem::create_directories(base + "/other");
  std::filesystem::create_directories(base + "/b/real");
  write_file(base + "/other/f", "shared\n");
  for (const char* m : {"/a/g", "/b/real/h"}) {
    ASSERT_EQ(::link((base + "/other/f").c_str(), (base + m).c_str()), 0);
  }
  std::filesystem::create_directory_symlink("../other", base + "/a/lx");
  pin_recent_times(base, 0, 1600000000);
  for (const char* spec : {"a/./ a/./lx/f", "a/./ b/./real/h", "a/./ a/./lx/f b/./real/h", "b/./real/h a/./"}) {
    for (const char* dry : {"", "-n"}) {
      SCOPED_TRACE(std::string(spec) + " " + dry);
      std::string r = base + "/r", g = base + "/g";
      remove_tree(r);
      remove_tree(g);
      std::vector<std::string> args = {"-aHiR"};
      if (*dry) args.push_back(dry);
      for (const std::string& w : words(spec)) args.push_back(base + "/" + w);
      auto run = [&](const std::string& program, const std::string& dst) {
        std::vector<std::string> argv = {program};
        argv.insert(argv.end(), args.begin(), args.end());
        argv.push_back(dst + "/");
        return run_program(argv);
      };
      RunResult rr = run("rsync", r), gr = run(kRingsync, g);
      expect_same_linked_copy(rr, gr, r, g, *dry, true);
    }
  }
}

}  // namespace
}  // namespace ringkit::testing
