// ringtftpd as a process: exit codes for bad configurations, systemd socket activation,
// SIGUSR1 counters, SIGHUP reload and graceful SIGTERM.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "ringkit/net.h"
#include "support/tree.h"

namespace ringkit::testing {
namespace {

using namespace std::chrono_literals;
const std::string kServer = std::string(RINGKIT_BIN_DIR) + "/ringtftpd";

uint16_t free_udp_port() {
  auto s = net::bind_udp(net::Address::ipv4_loopback(0));
  return s ? net::local_address(*s)->port() : 0;
}

// tftp-hpa's client, retried until it succeeds or `deadline` passes (the server may still be
// starting). Returns the last run.
RunResult tftp_get(uint16_t port, const std::string& remote, const std::string& local,
                   std::chrono::seconds deadline = 20s) {
  auto until = std::chrono::steady_clock::now() + deadline;
  RunResult r;
  do {
    r = run_program({"tftp", "-m", "binary", "127.0.0.1", std::to_string(port), "-c", "get",
                     remote, local});
    if (r.exit_code == 0 && r.err.empty() && r.out.find("rror") == std::string::npos) break;
    std::this_thread::sleep_for(50ms);
  } while (std::chrono::steady_clock::now() < until);
  return r;
}

// Reads `fd` into `text` until it contains `needle` or `timeout` passes.
bool read_until(int fd, std::string& text, const std::string& needle,
                std::chrono::seconds timeout = 20s) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (text.find(needle) == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[4096];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return false;
    text.append(buf, static_cast<size_t>(n));
  }
  return true;
}

class TftpdProcess : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access("/usr/bin/tftp", X_OK) != 0) GTEST_SKIP() << "tftp-hpa client not installed";
    dir_ = make_temp_dir("tftpd-process");
    root_ = dir_ + "/root";
    std::filesystem::create_directory(root_);
    write_file(root_ + "/hello", "hello, boot\n");
  }
  void TearDown() override {
    if (!dir_.empty()) remove_tree(dir_);
  }
  std::string dir_, root_;
};

TEST_F(TftpdProcess, BadConfigurationsExitWithOneAndNameTheProblem) {
  write_file(dir_ + "/bad.toml", "[security]\nupload = \"create\"\n");
  auto r = run_program({kServer, "--config", dir_ + "/bad.toml", root_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("unknown setting security.upload"), std::string::npos) << r.err;
  r = run_program({kServer, "-a", "localhost:69", root_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("numeric only"), std::string::npos) << r.err;
  r = run_program({kServer, "/nonexistent/root"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("/nonexistent/root"), std::string::npos) << r.err;
  r = run_program({kServer, "--config", dir_ + "/missing.toml", root_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("missing.toml"), std::string::npos) << r.err;
  r = run_program({kServer, "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("--port-range"), std::string::npos);
  EXPECT_NE(r.out.find("Exit status"), std::string::npos);
}

TEST_F(TftpdProcess, AnAddressInUseExitsWithTwo) {
  auto taken = net::bind_udp(net::Address::ipv4_loopback(0));
  ASSERT_TRUE(taken);
  uint16_t port = net::local_address(*taken)->port();
  auto r = run_program({kServer, "-L", "-u", "root", "-a", "127.0.0.1:" + std::to_string(port), root_});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("cannot listen"), std::string::npos) << r.err;
}

TEST_F(TftpdProcess, ChrootsAndDropsToNobody) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to chroot and switch users";
  // LeakSanitizer cannot inspect a process that dropped its privileges (it is no longer
  // dumpable); in sanitizer builds the leak check is off for this one child.
  Spawned server = spawn_program({"env", "ASAN_OPTIONS=detect_leaks=0", kServer, "-L", "-s", "-a",
                                  "127.0.0.1:0", root_});
  ASSERT_GT(server.pid, 0);
  std::string log;
  ASSERT_TRUE(read_until(server.err_fd, log, "serving")) << log;
  auto at = log.find("127.0.0.1:", log.find("serving"));
  ASSERT_NE(at, std::string::npos) << log;
  uint16_t port = static_cast<uint16_t>(std::stoi(log.substr(at + 10)));
  // The server runs as nobody, inside the root.
  std::ifstream status("/proc/" + std::to_string(server.pid) + "/status");
  std::string line;
  while (std::getline(status, line) && line.rfind("Uid:", 0) != 0) {
  }
  EXPECT_NE(line.find("65534"), std::string::npos) << line;
  EXPECT_EQ(std::filesystem::read_symlink("/proc/" + std::to_string(server.pid) + "/root"),
            std::filesystem::path(root_));
  RunResult got = tftp_get(port, "/hello", dir_ + "/out");
  EXPECT_EQ(got.exit_code, 0) << got.out << got.err;
  std::ifstream in(dir_ + "/out");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "hello, boot\n");
  ::kill(server.pid, SIGTERM);
  RunResult end = wait_program(server);
  EXPECT_EQ(end.exit_code, 0) << log << end.err;
}

TEST_F(TftpdProcess, SocketActivationSignalsAndGracefulStop) {
  if (::access("/usr/bin/systemd-socket-activate", X_OK) != 0) {
    GTEST_SKIP() << "systemd-socket-activate not installed";
  }
  uint16_t port = free_udp_port();
  ASSERT_NE(port, 0);
  write_file(dir_ + "/c.toml", "[logging]\nlevel = \"info\"\n");
  Spawned server = spawn_program({"systemd-socket-activate", "--datagram", "-l",
                                  "127.0.0.1:" + std::to_string(port), kServer, "-L", "-u",
                                  "root", "--config", dir_ + "/c.toml", root_});
  ASSERT_GT(server.pid, 0);
  std::string log;
  ASSERT_TRUE(read_until(server.err_fd, log, "Listening on")) << log;
  RunResult got = tftp_get(port, "hello", dir_ + "/out");
  EXPECT_EQ(got.exit_code, 0) << got.out << got.err;
  std::ifstream in(dir_ + "/out");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "hello, boot\n");

  // SIGHUP with a broken file keeps the old configuration and says so; the server keeps serving.
  write_file(dir_ + "/c.toml", "[logging]\nlevel = \"loud\"\n");
  ASSERT_EQ(::kill(server.pid, SIGHUP), 0);
  // SIGUSR1 dumps the counters; SIGTERM stops.
  RunResult again = tftp_get(port, "hello", dir_ + "/out2");
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
  // The server may not have the client's last ACK yet: dump until both transfers show.
  bool counted = false;
  for (int i = 0; i < 50 && !counted; ++i) {
    ASSERT_EQ(::kill(server.pid, SIGUSR1), 0);
    counted = read_until(server.err_fd, log, "ringtftpd_transfers_completed_total 2", 1s);
  }
  EXPECT_TRUE(counted) << log;
  EXPECT_TRUE(read_until(server.err_fd, log, "reload failed, keeping the old configuration")) << log;
  EXPECT_NE(log.find("op=RRQ file=hello"), std::string::npos) << log;
  ASSERT_EQ(::kill(server.pid, SIGTERM), 0);
  RunResult end = wait_program(server);
  EXPECT_EQ(end.exit_code, 0) << end.err;
  EXPECT_NE(end.err.find("stopped"), std::string::npos) << end.err;
}

}  // namespace
}  // namespace ringkit::testing
