// Fault injection for ringsync: source files that vanish between listing and copying, staged
// deterministically with fanotify permission events; rsync meets the same deletions.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <sstream>
#include <tuple>

#include "support/tree.h"

namespace ringkit::testing {
namespace {

const std::string kRingsync = std::string(RINGKIT_BIN_DIR) + "/ringsync";

// Content that tells files (and versions of a file) apart: the tag, then a filler byte.
std::string content(const std::string& tag, size_t size, int version) {
  std::string s(size, static_cast<char>('a' + (version + static_cast<int>(tag.size())) % 26));
  s.replace(0, std::min(size, tag.size()), tag.substr(0, std::min(size, tag.size())));
  return s;
}

// ---------------------------------------------------------------------------------------------
// Files that vanish during the run, deterministically.
//
// A race with a deleting thread would only sometimes hit the window between listing and
// copying. Instead the test holds the window open with fanotify permission events: a process
// that lists a marked directory (getdents) is blocked in the kernel until this test answers, and
// the test deletes source items before it answers.
//  - The destination directory "v" exists, so ringsync lists it (stale temps, --delete) after
//    it has listed and stat'ed the source "v" and before it copies anything in it. On that
//    listing, the source's v/gone-file and v/gone-dir/ are deleted: they vanish between stat
//    and open.
//  - The source directory "w" is listed with two getdents calls (the second returns 0). On the
//    second, w/gone-stat is deleted: it vanishes between listing and stat.
// rsync (with --no-inc-recursive, so that its sender lists the whole tree before its generator
// lists destination directories for --delete) meets the same deletions at the same points.
// Both must exit 24 and say "vanished"; nothing half-written is left; everything else is copied.

struct VanishStage {
  int fan = -1;
  dev_t dst_v_dev = 0, src_w_dev = 0;
  ino_t dst_v_ino = 0, src_w_ino = 0;
  int dst_v_events = 0, src_w_events = 0;
  std::string src;
  bool staged_open = false, staged_stat = false;

  void serve() {
    alignas(fanotify_event_metadata) char buf[4096];
    ssize_t len = ::read(fan, buf, sizeof buf);
    if (len <= 0) return;
    auto* m = reinterpret_cast<fanotify_event_metadata*>(buf);
    for (; FAN_EVENT_OK(m, len); m = FAN_EVENT_NEXT(m, len)) {
      if (m->fd < 0) continue;
      struct stat st {};
      ::fstat(m->fd, &st);
      if (st.st_dev == dst_v_dev && st.st_ino == dst_v_ino && ++dst_v_events == 1) {
        ::unlink((src + "/v/gone-file").c_str());
        remove_tree(src + "/v/gone-dir");
        staged_open = true;
      } else if (st.st_dev == src_w_dev && st.st_ino == src_w_ino && ++src_w_events == 2) {
        ::unlink((src + "/w/gone-stat").c_str());
        staged_stat = true;
      }
      fanotify_response answer{m->fd, FAN_ALLOW};
      if (::write(fan, &answer, sizeof answer) != sizeof answer) ADD_FAILURE() << "fanotify answer failed";
      ::close(m->fd);
    }
  }
};

void build_vanish_tree(const std::string& src) {
  std::filesystem::create_directories(src + "/v/gone-dir/deeper");
  std::filesystem::create_directories(src + "/w");
  write_file(src + "/top", "top\n");
  write_file(src + "/v/keep", "keep\n");
  write_file(src + "/v/gone-file", content("gone-file", 1 << 20, 0));
  write_file(src + "/v/gone-dir/inner", "inner\n");
  write_file(src + "/v/gone-dir/deeper/leaf", "leaf\n");
  write_file(src + "/w/keep", "keep too\n");
  write_file(src + "/w/gone-stat", "soon gone\n");
}

// Runs `argv` (which syncs `src` into `dst`) with the deletions staged. Empty `why` on success.
RunResult run_with_vanishing(const std::vector<std::string>& argv, const std::string& src, const std::string& dst,
                             VanishStage& stage, std::string& why) {
  stage = VanishStage{};
  stage.src = src;
  std::filesystem::create_directories(dst + "/v");
  stage.fan = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC, O_RDONLY | O_LARGEFILE);
  if (stage.fan < 0) {
    why = std::string("fanotify_init(FAN_CLASS_CONTENT): ") + std::strerror(errno);
    return {};
  }
  for (auto [path, dev, ino] : {std::tuple{dst + "/v", &stage.dst_v_dev, &stage.dst_v_ino},
                                std::tuple{src + "/w", &stage.src_w_dev, &stage.src_w_ino}}) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 ||
        fanotify_mark(stage.fan, FAN_MARK_ADD, FAN_ACCESS_PERM | FAN_ONDIR, AT_FDCWD, path.c_str()) != 0) {
      why = "fanotify_mark(FAN_ACCESS_PERM) on " + path + ": " + std::strerror(errno);
      ::close(stage.fan);
      return {};
    }
    *dev = st.st_dev;
    *ino = st.st_ino;
  }
  Spawned p = spawn_program(argv);
  RunResult r = wait_program(p, stage.fan, [&stage] { stage.serve(); });
  ::close(stage.fan);  // before anything here lists a marked directory: it would wait on itself
  return r;
}

TEST(RingsyncFaults, FilesVanishingBetweenListingAndCopyingAreReportedWithExit24) {
  if (geteuid() != 0) GTEST_SKIP() << "fanotify permission events need CAP_SYS_ADMIN";
  std::string base = make_temp_dir("ringsync-vanish");
  ScopedTempTree cleanup{base};
  std::string src = base + "/src";
  VanishStage stage;
  std::string why;

  build_vanish_tree(src);
  TreeState original = snapshot(src);
  RunResult rr = run_with_vanishing({"rsync", "-a", "--delete", "--no-inc-recursive", src + "/", base + "/r/"}, src,
                                    base + "/r", stage, why);
  if (!why.empty()) {
    GTEST_SKIP() << "cannot stage vanishing files: " << why;
  }
  std::cout << "[ vanish   ] rsync exits " << rr.exit_code << (stage.staged_open && stage.staged_stat ? "" : " (not all staged)")
            << ":\n" << rr.err;

  remove_tree(src);
  build_vanish_tree(src);
  RunResult gr = run_with_vanishing({kRingsync, "-a", "--delete", src + "/", base + "/g/"}, src, base + "/g", stage, why);
  ASSERT_TRUE(why.empty()) << why;
  ASSERT_TRUE(stage.staged_open) << "ringsync never listed the destination directory v: the race was not staged";
  ASSERT_TRUE(stage.staged_stat) << "ringsync did not list the source directory w with two getdents calls";
  EXPECT_EQ(gr.exit_code, 24) << gr.err;
  EXPECT_EQ(gr.exit_code, rr.exit_code) << "rsync said:\n" << rr.err << "ringsync said:\n" << gr.err;
  for (const char* name : {"v/gone-file", "v/gone-dir", "w/gone-stat"}) {
    bool reported = false;
    std::istringstream err(gr.err);
    for (std::string line; std::getline(err, line);) {
      reported |= line.find("vanished") != std::string::npos && line.find(name) != std::string::npos;
    }
    EXPECT_TRUE(reported) << name << " is not reported as vanished:\n" << gr.err;
  }

  // Nothing half-written; everything still in the source copied (directory times aside: the
  // deletions changed v's and w's after ringsync had read them).
  TreeState copy = snapshot(base + "/g");
  EXPECT_TRUE(half_written_files(copy, {&original}).empty()) << indent_lines(half_written_files(copy, {&original}));
  EXPECT_TRUE(temp_files(copy).empty()) << indent_lines(temp_files(copy));
  SnapshotOptions cmp;
  cmp.dir_times = false;
  auto diffs = compare_trees(snapshot(src), copy, cmp);
  EXPECT_TRUE(diffs.empty()) << indent_lines(diffs);
}

}  // namespace
}  // namespace ringkit::testing
