// build/bin/ringtftp against real servers: tftpd-hpa (in.tftpd) and atftpd, started here on a
// free loopback port and probed until they answer. Every file size the RFCs make interesting,
// every option each peer supports, uploads, netascii round trips, errors, client-side loss,
// and `bench` with 200 verified clients.
//
// What the peers on this machine support (checked by these tests):
//   tftpd-hpa 5.2: blksize, tsize, timeout; no windowsize (RFC 7440 is newer), which it leaves
//                  out of its OACK, so the transfer runs stop-and-wait;
//   atftpd 0.8:    blksize, tsize, timeout and windowsize.
// A peer that is not installed skips its tests, saying so.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "support/tree.h"

namespace ringkit::testing {
namespace {

const std::string kRingtftp = std::string(RINGKIT_BIN_DIR) + "/ringtftp";
const std::string kTftpdHpa = "/usr/sbin/in.tftpd";
const std::string kAtftpd = "/opt/ringkit-peers/atftpd/usr/sbin/atftpd";

std::string random_content(size_t size, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(size, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Equal byte strings, or a short account of how they differ (not a dump of megabytes).
::testing::AssertionResult same_bytes(const std::string& actual, const std::string& expected) {
  if (actual == expected) return ::testing::AssertionSuccess();
  size_t at = 0;
  while (at < actual.size() && at < expected.size() && actual[at] == expected[at]) ++at;
  return ::testing::AssertionFailure() << actual.size() << " bytes instead of " << expected.size()
                                       << ", first difference at offset " << at;
}

// What a peer server stored from an upload, once it holds `expected`'s size: atftpd sends the
// final ACK before it has written the last block, so the file may still be growing when the
// client exits. Waits up to 10 s, then compares whatever is there.
::testing::AssertionResult stored_bytes(const std::string& path, const std::string& expected) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::string got = read_file(path);
  while (got.size() != expected.size() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    got = read_file(path);
  }
  return same_bytes(got, expected);
}

bool exists(const std::string& path) {
  struct stat st{};
  return ::lstat(path.c_str(), &st) == 0;
}

// A UDP socket bound to an ephemeral port of 127.0.0.1; its port in *port.
int bound_loopback_socket(uint16_t* port) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

// A UDP port nobody is bound to right now.
uint16_t free_udp_port() {
  uint16_t port = 0;
  ::close(bound_loopback_socket(&port));
  return port;
}

// Whether a TFTP server answers on 127.0.0.1:port (or [::1]:port): an RRQ for a file that does not exist must
// bring back some packet (ERROR 1). Polls with short receive timeouts for up to `patience`, and
// stops early (false) when the server process `pid` has exited, e.g. unable to bind.
bool wait_until_answering(uint16_t port, bool v6, pid_t pid, std::chrono::seconds patience) {
  int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  timeval tv{0, 50000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_storage to{};
  socklen_t to_len = 0;
  if (v6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&to);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    a->sin6_addr = in6addr_loopback;
    to_len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&to);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to_len = sizeof *a;
  }
  static const char kProbe[] = "\0\1ringtftp-readiness-probe\0octet";
  auto deadline = std::chrono::steady_clock::now() + patience;
  bool answered = false;
  while (!answered && std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) break;  // it is gone (and now reaped)
    ::sendto(fd, kProbe, sizeof kProbe, 0, reinterpret_cast<sockaddr*>(&to), to_len);
    char buf[600];
    answered = ::recv(fd, buf, sizeof buf, 0) >= 4;
  }
  ::close(fd);
  return answered;
}

struct PeerKind {
  const char* name;
  bool windowsize;  // supports RFC 7440
};

// A real TFTP server over a fresh directory, killed (its whole process group) at the end.
class Peer {
 public:
  Peer(const PeerKind& kind, const std::string& root, bool v6 = false)
      : kind_(kind), root_(root), v6_(v6) {}
  ~Peer() { stop(); }

  // Empty when started; else why not (the test skips or fails with it). Tries `attempts`
  // free ports (one may be taken between choosing and binding it).
  std::string start(int attempts = 5, std::chrono::seconds patience = std::chrono::seconds(10)) {
    const std::string& binary = is_hpa() ? kTftpdHpa : kAtftpd;
    if (::access(binary.c_str(), X_OK) != 0) return binary + " is not installed";
    for (int attempt = 0; attempt < attempts; ++attempt) {
      port_ = free_udp_port();
      std::vector<std::string> argv;
      if (is_hpa()) {
        argv = {binary, "-L", "-a", address() + ":" + std::to_string(port_), "-u", "root", "-c",
                "-p", "-s", root_};
      } else {
        argv = {binary, "--daemon", "--no-fork", "--port", std::to_string(port_),
                "--bind-address", v6_ ? "::1" : "127.0.0.1", "--user", "root.root", "--logfile", "/dev/null",
                root_};
      }
      process_ = spawn_program(argv, /*capture=*/false, [] { return ::setpgid(0, 0) == 0; });
      if (wait_until_answering(port_, v6_, process_.pid, patience)) return {};
      stop();  // the port was taken meanwhile, or the server failed: try another port
    }
    return std::string(kind_.name) + " did not answer on any port tried";
  }

  void stop() {
    if (process_.pid > 0) {
      ::kill(-process_.pid, SIGTERM);
      kill_program(process_);
      process_.pid = -1;
    }
  }

  bool is_hpa() const { return std::string(kind_.name) == "tftpd_hpa"; }
  std::string address() const { return v6_ ? "[::1]" : "127.0.0.1"; }
  std::string host() const { return address() + ":" + std::to_string(port_); }

 private:
  PeerKind kind_;
  std::string root_;
  bool v6_;
  uint16_t port_ = 0;
  Spawned process_;
};

class RingtftpInterop : public ::testing::TestWithParam<PeerKind> {
 protected:
  void SetUp() override {
    ASSERT_EQ(::access(kRingtftp.c_str(), X_OK), 0)
        << kRingtftp << " is missing: build the ringtftp target";
    if (::geteuid() != 0) GTEST_SKIP() << "the peers are started as root here; not root";
    tmp_ = std::make_unique<ScopedTempTree>(make_temp_dir("ringtftp-interop"));
    root_ = tmp_->path + "/srv";
    local_ = tmp_->path + "/local";
    std::filesystem::create_directories(root_);
    std::filesystem::create_directories(local_);
    ::chmod(root_.c_str(), 0777);  // atftpd writes uploads as the user it runs as
    peer_ = std::make_unique<Peer>(GetParam(), root_);
    std::string why = peer_->start();
    if (why.find("not installed") != std::string::npos) GTEST_SKIP() << why;
    ASSERT_TRUE(why.empty()) << why;
  }
  void TearDown() override {
    peer_.reset();
    tmp_.reset();
  }

  RunResult ringtftp(std::vector<std::string> args) {
    args.insert(args.begin(), kRingtftp);
    return run_program(args);
  }

  // Serves `content` as NAME and fetches it with `options`; returns the downloaded bytes.
  std::string round_trip_get(const std::string& name, const std::string& content,
                             const std::vector<std::string>& options, RunResult* result = nullptr) {
    write_file(root_ + "/" + name, content);
    std::string out = local_ + "/" + name;
    std::vector<std::string> args = {"get", "-v", peer_->host(), name, out};
    args.insert(args.end(), options.begin(), options.end());
    RunResult r = ringtftp(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    if (result != nullptr) *result = r;
    return read_file(out);
  }

  bool windowsize() const { return GetParam().windowsize; }

  std::unique_ptr<ScopedTempTree> tmp_;
  std::string root_, local_;
  std::unique_ptr<Peer> peer_;
};

TEST_P(RingtftpInterop, GetsFilesOfEverySize) {
  const size_t bs = 1428, win = 4;
  const std::vector<size_t> sizes = {0, 1, 511, 512, 513, 1024, 3 * bs, 3 * bs + 1, 3 * bs * win,
                                     3 * bs * win + 5};
  const std::vector<std::vector<std::string>> option_sets = {
      {},
      {"--blksize", "1428", "--tsize"},
      {"--blksize", "1428", "--windowsize", "4", "--tsize", "--timeout", "2"},
  };
  for (const auto& options : option_sets) {
    for (size_t size : sizes) {
      std::string name = "f" + std::to_string(size);
      SCOPED_TRACE(name + " with " + std::to_string(options.size()) + " option words");
      std::string content = random_content(size, size * 31 + options.size());
      EXPECT_TRUE(same_bytes(round_trip_get(name, content, options), content));
    }
  }
}

TEST_P(RingtftpInterop, GetsTenMebibytes) {
  std::string content = random_content(10u << 20, 10);
  std::vector<std::string> options = {"--blksize", "8192", "--tsize"};
  if (windowsize()) options.insert(options.end(), {"--windowsize", "16"});
  EXPECT_TRUE(same_bytes(round_trip_get("ten", content, options), content));
}

TEST_P(RingtftpInterop, BlockNumbersRollOverPast65535) {
  // Without options: 512-byte blocks, 65 538 of them.
  std::string content = random_content(65537u * 512 + 100, 65536);
  RunResult r;
  EXPECT_TRUE(same_bytes(round_trip_get("rollover", content, {}, &r), content));
  EXPECT_NE(r.err.find("blksize 512"), std::string::npos) << r.err;
}

TEST_P(RingtftpInterop, NegotiatesEveryOptionThePeerSupports) {
  std::string content = random_content(100000, 5);
  RunResult r;
  EXPECT_TRUE(same_bytes(round_trip_get("opts", content,
                           {"--blksize", "1000", "--tsize", "--timeout", "3", "--windowsize", "8"},
                           &r), content));
  EXPECT_NE(r.err.find("blksize=1000"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("tsize=100000"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("timeout=3"), std::string::npos) << r.err;
  if (windowsize()) {
    EXPECT_NE(r.err.find("windowsize=8"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("windowsize 8"), std::string::npos) << r.err;
  } else {
    EXPECT_EQ(r.err.find("windowsize="), std::string::npos) << "not supported, yet: " << r.err;
    EXPECT_NE(r.err.find("windowsize 1"), std::string::npos) << r.err;
  }
}

TEST_P(RingtftpInterop, PutsFilesOfEverySize) {
  for (size_t size : {size_t{0}, size_t{1}, size_t{512}, size_t{513}, size_t{1428 * 4 * 3},
                      size_t{1u << 20}}) {
    for (bool with_options : {false, true}) {
      std::string name = "up" + std::to_string(size) + (with_options ? "o" : "");
      SCOPED_TRACE(name);
      std::string content = random_content(size, size + 77);
      write_file(local_ + "/" + name, content);
      std::vector<std::string> args = {"put", "-v", peer_->host(), local_ + "/" + name, name};
      if (with_options) {
        args.insert(args.end(), {"--blksize", "1428", "--tsize", "--timeout", "2"});
        if (windowsize()) args.insert(args.end(), {"--windowsize", "4"});
      }
      RunResult r = ringtftp(args);
      ASSERT_EQ(r.exit_code, 0) << r.err;
      EXPECT_TRUE(stored_bytes(root_ + "/" + name, content));
      if (with_options) {
        EXPECT_NE(r.err.find("blksize=1428"), std::string::npos) << r.err;
      }
    }
  }
}

TEST_P(RingtftpInterop, NetasciiRoundTrips) {
  // CR, LF, CR LF, NUL, bytes >= 0x80, and CRs and LFs on both sides of every 512-byte
  // boundary of the wire form.
  using namespace std::string_literals;
  std::string text = "line one\nline two\r\nbare CR\rNUL\0here\n\xff\x80 high\na\0b"s;
  std::mt19937 rng(3);
  const char alphabet[] = {'x', '\r', '\n', '\0', 'y'};
  for (int i = 0; i < 3000; ++i) text.push_back(alphabet[rng() % 5]);
  text += "\r";  // a CR at the very end
  write_file(local_ + "/text", text);
  RunResult up = ringtftp({"put", peer_->host(), local_ + "/text", "text", "--mode", "netascii", "--tsize"});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  EXPECT_TRUE(stored_bytes(root_ + "/text", text)) << "the server stores local (LF) form";
  RunResult down = ringtftp({"get", peer_->host(), "text", local_ + "/back", "--mode", "netascii"});
  ASSERT_EQ(down.exit_code, 0) << down.err;
  EXPECT_TRUE(same_bytes(read_file(local_ + "/back"), text));
  // And with larger blocks, so that pairs straddle other boundaries.
  RunResult big = ringtftp({"get", peer_->host(), "text", local_ + "/back2", "--mode", "netascii",
                            "--blksize", "100"});
  ASSERT_EQ(big.exit_code, 0) << big.err;
  EXPECT_TRUE(same_bytes(read_file(local_ + "/back2"), text));
}

TEST_P(RingtftpInterop, MissingFileExitsTwoWithTheServersMessageAndNoLocalFile) {
  std::string out = local_ + "/nothing";
  RunResult r = ringtftp({"get", peer_->host(), "does-not-exist", out});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("server error 1"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("File not found"), std::string::npos) << r.err;
  EXPECT_FALSE(exists(out));
  // An existing LOCAL is left as it was.
  write_file(out, "keep me");
  r = ringtftp({"get", peer_->host(), "does-not-exist", out});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(read_file(out), "keep me");
  std::vector<std::string> leftovers;
  for (const auto& e : std::filesystem::directory_iterator(local_)) {
    leftovers.push_back(e.path().filename().string());
  }
  EXPECT_EQ(leftovers, std::vector<std::string>{"nothing"}) << "no temp file left behind";
}

TEST_P(RingtftpInterop, GetReplacesAnExistingFileAndWritesStdout) {
  std::string content = random_content(7000, 70);
  write_file(root_ + "/seven", content);
  std::string out = local_ + "/seven";
  write_file(out, "old content");
  ::chmod(out.c_str(), 0640);
  RunResult r = ringtftp({"get", "-q", peer_->host(), "seven", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(same_bytes(read_file(out), content));
  struct stat st{};
  ::stat(out.c_str(), &st);
  EXPECT_EQ(st.st_mode & 07777, 0640u) << "the replaced file keeps its permissions";
  r = ringtftp({"get", "-q", peer_->host(), "seven", "-"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(same_bytes(r.out, content));
}

TEST_P(RingtftpInterop, GetUnderClientSideLossCompletes) {
  std::string content = random_content(100000, 42);
  for (const char* seed : {"1", "2"}) {
    SCOPED_TRACE(std::string("seed ") + seed);
    std::vector<std::string> options = {"--loss", "0.05", "--duplicate", "0.02", "--reorder",
                                        "0.02", "--seed", seed, "--blksize", "1024", "--dally", "0"};
    if (windowsize()) options.insert(options.end(), {"--windowsize", "8"});
    RunResult r;
    EXPECT_TRUE(same_bytes(round_trip_get(std::string("lossy") + seed, content, options, &r), content));
    // 5% of ~200 datagrams lost: something had to be repeated.
    EXPECT_EQ(r.err.find(" 0 retransmits, 0 timeouts"), std::string::npos) << r.err;
  }
}

TEST_P(RingtftpInterop, GetsAndPutsOverIpv6) {
  Peer v6(GetParam(), root_, /*v6=*/true);
  // tftpd-hpa answers at once; atftpd 0.8 binds IPv4 only, so do not wait long for it.
  std::string why = v6.start(peer_->is_hpa() ? 5 : 1, std::chrono::seconds(peer_->is_hpa() ? 10 : 2));
  if (!why.empty() && !peer_->is_hpa()) {
    GTEST_SKIP() << "atftpd (0.8 here) does not answer on [::1]: " << why;
  }
  ASSERT_TRUE(why.empty()) << why;
  std::string content = random_content(5000, 6);
  write_file(root_ + "/six", content);
  RunResult r = ringtftp({"get", "-v", v6.host(), "six", local_ + "/six", "--blksize", "1000"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(same_bytes(read_file(local_ + "/six"), content));
  EXPECT_NE(r.err.find("from [::1]:"), std::string::npos) << r.err;
  r = ringtftp({"put", v6.host(), local_ + "/six", "six-back", "--tsize"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(stored_bytes(root_ + "/six-back", content));
}

TEST_P(RingtftpInterop, ProgressOnlyOnATerminal) {
  std::string content = random_content(3u << 20, 3);
  write_file(root_ + "/three", content);
  RunResult plain = ringtftp({"get", peer_->host(), "three", local_ + "/a", "--tsize"});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(plain.err, "") << "stderr is no terminal: no progress line";
  if (::access("/usr/bin/script", X_OK) != 0) GTEST_SKIP() << "no script(1) to fake a terminal";
  std::string typescript = tmp_->path + "/typescript";
  RunResult tty = run_program({"/usr/bin/script", "-qec",
                               kRingtftp + " get " + peer_->host() + " three " + local_ +
                                   "/b --tsize",
                               typescript});
  ASSERT_EQ(tty.exit_code, 0) << tty.err;
  std::string shown = read_file(typescript);
  EXPECT_NE(shown.find("three  "), std::string::npos) << shown;
  EXPECT_NE(shown.find(" / 3.0 MiB"), std::string::npos) << "the size from tsize: " << shown;
  EXPECT_NE(shown.find("\r\033[K"), std::string::npos) << "redrawn in place and cleared";
  EXPECT_TRUE(same_bytes(read_file(local_ + "/b"), content));
}

TEST_P(RingtftpInterop, BenchVerifiesEveryDownload) {
  std::string content = random_content(64 * 1024 + 3, 200);
  write_file(root_ + "/bench", content);
  std::vector<std::string> args = {"bench", peer_->host(), "bench", "--clients", "200",
                                   "--blksize", "1428", "--json", "-q"};
  if (windowsize()) args.insert(args.end(), {"--windowsize", "8"});
  RunResult r = ringtftp(args);
  EXPECT_EQ(r.exit_code, 0) << r.err << r.out;
  auto report = nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(report.is_discarded()) << "not JSON: " << r.out;
  EXPECT_EQ(report["ok"], true);
  EXPECT_EQ(report["clients"], 200);
  EXPECT_EQ(report["completed"], 200);
  EXPECT_EQ(report["failed"], 0);
  EXPECT_EQ(report["expect_size"], content.size());
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx",
                static_cast<unsigned long long>(XXH3_64bits(content.data(), content.size())));
  EXPECT_EQ(report["expect_xxh3"], std::string(hex)) << "learned by the first download";
  EXPECT_EQ(report["bytes"], 200 * content.size());
  EXPECT_GT(report["completion_ms"]["max"].get<double>(), 0);

  // Given expectations are checked, not trusted: a wrong hash fails every download.
  RunResult wrong = ringtftp({"bench", peer_->host(), "bench", "--clients", "20", "--expect-size",
                              std::to_string(content.size()), "--expect-xxh3", "0123456789abcdef",
                              "--json", "-q"});
  EXPECT_EQ(wrong.exit_code, 5) << wrong.err;
  auto bad = nlohmann::json::parse(wrong.out, nullptr, false);
  ASSERT_FALSE(bad.is_discarded()) << wrong.out;
  EXPECT_EQ(bad["failed"], 20);
  EXPECT_EQ(bad["failures"]["XXH3 mismatch"], 20);

  // --repeat: each client downloads again as soon as it is done; text report by default.
  RunResult again = ringtftp({"bench", peer_->host(), "bench", "--clients", "5", "--repeat", "3",
                              "--threads", "1"});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("transfers     15: 15 verified, 0 failed"), std::string::npos) << again.out;
  EXPECT_NE(again.out.find("MB/s aggregate"), std::string::npos) << again.out;
}

std::string peer_name(const ::testing::TestParamInfo<PeerKind>& param) { return param.param.name; }

INSTANTIATE_TEST_SUITE_P(Peers, RingtftpInterop,
                         ::testing::Values(PeerKind{"tftpd_hpa", false}, PeerKind{"atftpd", true}),
                         peer_name);

// ---- Without a server ----

TEST(RingtftpCli, HelpListsOptionsExamplesAndExitCodes) {
  ASSERT_EQ(::access(kRingtftp.c_str(), X_OK), 0) << kRingtftp << " is missing: build ringtftp";
  RunResult r = run_program({kRingtftp, "get", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* word : {"--blksize", "--windowsize", "--tsize", "--timeout", "--mode",
                           "--retries", "--quiet", "Examples", "Exit status"}) {
    EXPECT_NE(r.out.find(word), std::string::npos) << word;
  }
  r = run_program({kRingtftp, "bench", "--help"});
  EXPECT_NE(r.out.find("--clients"), std::string::npos);
  EXPECT_NE(r.out.find("--json"), std::string::npos);
}

TEST(RingtftpCli, UsageErrorsExitOne) {
  ASSERT_EQ(::access(kRingtftp.c_str(), X_OK), 0) << kRingtftp << " is missing: build ringtftp";
  EXPECT_EQ(run_program({kRingtftp}).exit_code, 1);
  EXPECT_EQ(run_program({kRingtftp, "get", "127.0.0.1"}).exit_code, 1) << "REMOTE missing";
  EXPECT_EQ(run_program({kRingtftp, "get", "127.0.0.1", "f", "--blksize", "7"}).exit_code, 1);
  EXPECT_EQ(run_program({kRingtftp, "get", "127.0.0.1", "f", "--mode", "mail"}).exit_code, 1);
  EXPECT_EQ(run_program({kRingtftp, "get", "[::1", "f"}).exit_code, 1);
  EXPECT_EQ(run_program({kRingtftp, "get", ":69", "f"}).exit_code, 1);
  EXPECT_EQ(run_program({kRingtftp, "put", "127.0.0.1", "-"}).exit_code, 1) << "stdin needs REMOTE";
  EXPECT_EQ(run_program({kRingtftp, "bench", "127.0.0.1", "f", "--clients", "10001"}).exit_code, 1);
}

TEST(RingtftpCli, NoServerTimesOutWithExitThreeAndNoLocalFile) {
  ASSERT_EQ(::access(kRingtftp.c_str(), X_OK), 0) << kRingtftp << " is missing: build ringtftp";
  // A bound socket that never answers.
  uint16_t port = 0;
  int fd = bound_loopback_socket(&port);
  ScopedTempTree tmp(make_temp_dir("ringtftp-noserver"));
  std::string out = tmp.path + "/x";
  RunResult r = run_program({kRingtftp, "get", "127.0.0.1:" + std::to_string(port),
                             "x", out, "--timeout", "1", "--retries", "1"});
  ::close(fd);
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("timed out"), std::string::npos) << r.err;
  EXPECT_FALSE(exists(out));
}

TEST(RingtftpCli, UnreadableLocalFileExitsFour) {
  ASSERT_EQ(::access(kRingtftp.c_str(), X_OK), 0) << kRingtftp << " is missing: build ringtftp";
  RunResult r = run_program({kRingtftp, "put", "127.0.0.1:9", "/nonexistent/ringtftp/file"});
  EXPECT_EQ(r.exit_code, 4) << r.err;
  r = run_program({kRingtftp, "get", "127.0.0.1:9", "f", "/nonexistent/ringtftp/dir/f"});
  EXPECT_EQ(r.exit_code, 4) << r.err;
}

}  // namespace
}  // namespace ringkit::testing
