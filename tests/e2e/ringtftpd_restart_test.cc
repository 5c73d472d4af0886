// ringtftpd killed in the middle of an upload and started again: the upload's temporary file
// (".NAME.~rkXXXXXX", left behind because a killed process removes nothing) is swept at the
// next start, and nothing else is: not the served files, not a dot-file of the same shape
// that is no temporary of ours, not a file reached through a symlink out of the root.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "support/raw_tftp.h"
#include "support/tftp_server_process.h"
#include "support/tree.h"

namespace ringkit::testing {
namespace {

using namespace std::chrono_literals;
namespace fsys = std::filesystem;

// The names in `dir` that look like upload temporaries of `base`.
std::vector<std::string> temporaries_of(const std::string& dir, const std::string& base) {
  std::vector<std::string> out;
  for (const auto& e : fsys::directory_iterator(dir)) {
    std::string name = e.path().filename();
    if (name.rfind("." + base + ".~rk", 0) == 0) out.push_back(name);
  }
  return out;
}

// An upload that starts and then stalls: WRQ, then DATA 1 (full, so more must follow), and
// nothing more. Returns once the server acknowledged block 1, i.e. wrote it to its temporary.
class StalledUpload {
 public:
  explicit StalledUpload(int port) : fd_(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in to = loopback_address(port);
    std::string wrq = raw_request(2, "upload.bin", "octet");
    ::sendto(fd_, wrq.data(), wrq.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    sockaddr_in tid{};
    if (!ack(0, &tid)) return;
    std::string data(4, '\0');
    data[1] = 3;  // DATA
    data[3] = 1;  // block 1
    data += std::string(512, 'u');
    ::sendto(fd_, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&tid), sizeof tid);
    acked_ = ack(1, &tid);
  }
  ~StalledUpload() { ::close(fd_); }
  bool acked() const { return acked_; }

 private:
  bool ack(uint16_t block, sockaddr_in* from) {
    auto until = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < until) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 1000) <= 0) continue;
      char buf[600];
      socklen_t len = sizeof *from;
      ssize_t n = ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(from), &len);
      if (n == 4 && buf[1] == 4 && static_cast<uint8_t>(buf[3]) == block && buf[2] == 0) {
        return true;
      }
    }
    return false;
  }
  int fd_;
  bool acked_ = false;
};

class RingtftpdRestart : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = make_temp_dir("tftpd-restart");
    root_ = dir_ + "/root";
    fsys::create_directories(root_ + "/sub");
    fsys::create_directories(dir_ + "/outside");
    write_file(root_ + "/hello", "hello, boot\n");
  }
  void TearDown() override {
    if (!dir_.empty()) remove_tree(dir_);
  }
  std::string dir_, root_;
};

TEST_F(RingtftpdRestart, KilledMidUploadLeavesATemporaryTheNextStartRemoves) {
  std::string before;
  {
    TftpServerProcess server({.root = root_, .extra = {"-c"}});
    int port = server.wait_until_serving();
    ASSERT_GT(port, 0) << server.output();
    StalledUpload upload(port);
    ASSERT_TRUE(upload.acked()) << "the server did not take block 1\n" << server.output();
    auto temps = temporaries_of(root_, "upload.bin");
    ASSERT_EQ(temps.size(), 1u) << "the upload's temporary file, while it runs";
    before = temps.front();
    server.kill_now();
  }
  ASSERT_TRUE(fsys::exists(root_ + "/" + before)) << "a killed server removes nothing";

  // Look-alikes the sweep must leave: a dot-file not of our shape (5 random characters), one
  // of our shape that is a symlink, and one of our shape outside the root, reachable only
  // through a symlink inside it.
  write_file(root_ + "/.other.~rkABCDE", "not ours");
  fsys::create_symlink(root_ + "/hello", root_ + "/.link.~rkABCDEF");
  write_file(dir_ + "/outside/.far.~rkABCDEF", "outside the root");
  fsys::create_directory_symlink(dir_ + "/outside", root_ + "/sub/out");
  // A stale one in a subdirectory goes too.
  write_file(root_ + "/sub/.nested.bin.~rkQ1w2E3", "stale");
  // Left an hour ago: the sweep spares what is younger than its start less a clock slack
  // (stale_uploads.h), and this restart comes within milliseconds of the kill.
  for (const std::string& stale : {root_ + "/" + before, root_ + "/sub/.nested.bin.~rkQ1w2E3"}) {
    const timespec hour_ago[2] = {{::time(nullptr) - 3600, 0}, {::time(nullptr) - 3600, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, stale.c_str(), hour_ago, AT_SYMLINK_NOFOLLOW), 0) << stale;
  }

  TftpServerProcess again({.root = root_, .extra = {"-c"}});
  ASSERT_GT(again.wait_until_serving(), 0) << again.output();
  ASSERT_TRUE(again.wait_for([](const std::string& out) {
    return out.find("temporary files of uploads interrupted") != std::string::npos;
  })) << again.output();
  EXPECT_NE(again.output().find("removed 2 temporary files"), std::string::npos)
      << again.output();
  EXPECT_FALSE(fsys::exists(root_ + "/" + before));
  EXPECT_FALSE(fsys::exists(root_ + "/sub/.nested.bin.~rkQ1w2E3"));
  EXPECT_TRUE(fsys::exists(root_ + "/hello"));
  EXPECT_TRUE(fsys::exists(root_ + "/.other.~rkABCDE"));
  EXPECT_TRUE(fsys::is_symlink(root_ + "/.link.~rkABCDEF"));
  EXPECT_TRUE(fsys::exists(dir_ + "/outside/.far.~rkABCDEF"));
  EXPECT_EQ(again.stop(), 0) << again.output();
}

}  // namespace
}  // namespace ringkit::testing
