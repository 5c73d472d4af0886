// stale_uploads.h: the sweep removes upload temporaries older than the server's start, in the
// root and below, and nothing else: no other names, nothing newer, no symlinks, nothing
// reached through a symlink, nothing outside the root — on both backends.
#include "tftp/stale_uploads.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tftp_test_util.h"

namespace ringkit::tftp {
namespace {

namespace fsys = std::filesystem;
using std::chrono::system_clock;

// Writes `path` and sets its modification time `age` before now (negative: in the future).
void write_aged(const std::string& path, std::chrono::milliseconds age) {
  std::ofstream(path) << "partial upload";
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>((system_clock::now() - age).time_since_epoch());
  timespec at{static_cast<time_t>(ns.count() / 1000000000), static_cast<long>(ns.count() % 1000000000)};
  timespec times[2] = {at, at};
  ::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW);
}

class StaleUploadsTest : public testing::RootTest {
 protected:
  void populate() override {
    fsys::create_directories(root_ + "/a/b/c");
    fsys::create_directories(base_ + "/outside");
  }
  SweepStats sweep(std::stop_token stop = {}) {
    return run(remove_stale_uploads(root_fd_, system_clock::now(), stop));
  }
};

TEST_P(StaleUploadsTest, RemovesOnlyOldTemporariesBelowTheRoot) {
  const auto hour = std::chrono::hours(1);
  write_aged(root_ + "/.kernel.~rkAbC123", hour);            // stale: goes
  write_aged(root_ + "/a/b/c/.initrd.img.~rkzZ9yY8", hour);  // stale, deep: goes
  write_aged(root_ + "/.busy.~rkNOWNOW", -hour);             // written since the start: stays
  // Made just after the start, but stamped by the file system's coarse clock a little before
  // it: stays (an upload's temporary was swept under it this way).
  write_aged(root_ + "/a/.fresh.~rkNOWNOW", std::chrono::milliseconds(20));
  write_aged(root_ + "/kernel", hour);                       // a served file: stays
  write_aged(root_ + "/.kernel.~rkAbC12", hour);             // not our shape: stays
  write_aged(base_ + "/outside/.far.~rkABCDEF", hour);       // outside the root: stays
  fsys::create_directory_symlink(base_ + "/outside", root_ + "/a/out");
  fsys::create_symlink(root_ + "/kernel", root_ + "/.link.~rkABCDEF");  // a symlink: stays
  fsys::create_directory(root_ + "/.dir.~rkABCDEF");                     // a directory: stays

  SweepStats s = sweep();
  EXPECT_EQ(s.removed, 2u);
  EXPECT_EQ(s.errors, 0u);
  EXPECT_EQ(s.kept, 3u) << "the busy one, the fresh one and the symlink";
  EXPECT_EQ(s.directories, 5u) << "root, a, a/b, a/b/c, .dir.~rkABCDEF; not a/out";
  EXPECT_FALSE(fsys::exists(root_ + "/.kernel.~rkAbC123"));
  EXPECT_FALSE(fsys::exists(root_ + "/a/b/c/.initrd.img.~rkzZ9yY8"));
  for (const char* stays : {"/.busy.~rkNOWNOW", "/a/.fresh.~rkNOWNOW", "/kernel", "/.kernel.~rkAbC12",
                            "/.dir.~rkABCDEF"}) {
    EXPECT_TRUE(fsys::exists(root_ + stays)) << stays;
  }
  EXPECT_TRUE(fsys::is_symlink(root_ + "/.link.~rkABCDEF"));
  EXPECT_TRUE(fsys::exists(base_ + "/outside/.far.~rkABCDEF"));
}

TEST_P(StaleUploadsTest, AStopRequestedBeforehandSweepsNothing) {
  write_aged(root_ + "/.kernel.~rkAbC123", std::chrono::hours(1));
  std::stop_source stop;
  stop.request_stop();
  SweepStats s = sweep(stop.get_token());
  EXPECT_EQ(s.removed, 0u);
  EXPECT_TRUE(fsys::exists(root_ + "/.kernel.~rkAbC123"));
}

TEST_P(StaleUploadsTest, AnUnreadableRootIsCountedNotThrown) {
  ::close(root_fd_);
  root_fd_ = -1;
  SweepStats s = run(remove_stale_uploads(-1, system_clock::now()));
  EXPECT_EQ(s.errors, 1u);
  EXPECT_EQ(s.removed, 0u);
}

RINGKIT_BACKEND_TEST_SUITE(StaleUploadsTest);

}  // namespace
}  // namespace ringkit::tftp
