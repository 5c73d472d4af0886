// A flood of malformed datagrams at ringtftpd's listening port while real clients download and
// upload: random bytes, truncated requests, DATA/ACK/ERROR/OACK sent to the listening port,
// unknown opcodes, bad and missing modes, broken options, oversized datagrams. Every good
// transfer must complete with the right bytes and the server must still be serving afterwards.
//
// The flood comes from 127.0.0.2 so that the per-address request limits, which are meant to
// throttle exactly such a sender, do not also throttle the good clients on 127.0.0.1.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <thread>
#include <vector>

#include "support/raw_tftp.h"
#include "support/tftp_clients.h"
#include "support/tftp_e2e.h"
#include "support/tftp_server_process.h"
#include "support/tree.h"

namespace ringkit::testing {
namespace {

// Malformed (or hostile but well-formed) datagrams, a fixed set plus random ones.
std::vector<std::string> malformed_corpus(std::mt19937_64& random) {
  auto u16 = [](uint16_t v) { return std::string{static_cast<char>(v >> 8), static_cast<char>(v & 0xff)}; };
  std::vector<std::string> c = {
      "", std::string(1, '\0'), u16(1), u16(2), u16(1) + "file", u16(1) + "file" + std::string(1, '\0'),
      u16(1) + std::string(1, '\0') + "octet" + std::string(1, '\0'),          // empty file name
      raw_request(1, "f", "mail"), raw_request(1, "f", "binary"), raw_request(1, "f", ""),
      raw_request(2, "f", "OCTET\x01"), raw_request(1, "f", std::string(1000, 'o')),
      u16(3) + u16(1) + "data to the listening port", u16(3), u16(3) + u16(0),
      u16(4) + u16(0), u16(4) + u16(1), u16(4), u16(5) + u16(1) + "error to the listening port",
      u16(5), u16(6) + "blksize" + std::string(1, '\0') + "512" + std::string(1, '\0'), u16(6),
      u16(0) + "opcode zero", u16(7) + "opcode seven", u16(0xffff) + std::string(100, 'x'),
      raw_request(1, "f", "octet") + "blksize" + std::string(1, '\0') + "abc" + std::string(1, '\0'),
      raw_request(1, "f", "octet") + "blksize" + std::string(1, '\0') + "0" + std::string(1, '\0'),
      raw_request(1, "f", "octet") + "windowsize" + std::string(1, '\0') + "0" + std::string(1, '\0'),
      raw_request(1, "f", "octet") + "tsize" + std::string(1, '\0') + "-1" + std::string(1, '\0'),
      raw_request(1, "f", "octet") + "timeout" + std::string(1, '\0') + "99999999999999999999999" +
          std::string(1, '\0'),
      raw_request(1, "f", "octet") + "blksize",  // option name without its NUL
      raw_request(2, "upload", "octet") + "tsize" + std::string(1, '\0') + "18446744073709551615" +
          std::string(1, '\0'),
      u16(3) + u16(1) + std::string(65464 + 100, 'D'),  // DATA longer than any block
      std::string(65000, '\xff'),
  };
  {
    std::string many = raw_request(1, "f", "octet");
    for (int i = 0; i < 2000; ++i) many += "opt" + std::to_string(i) + std::string(1, '\0') + "1" + std::string(1, '\0');
    c.push_back(many);
  }
  std::uniform_int_distribution<int> length(0, 600), byte(0, 255);
  for (int i = 0; i < 200; ++i) {
    std::string r(static_cast<size_t>(length(random)), '\0');
    for (char& b : r) b = static_cast<char>(byte(random));
    if (i % 2 == 0 && r.size() >= 2) r[0] = 0, r[1] = static_cast<char>(1 + i % 6);  // valid opcodes, junk after
    c.push_back(r);
  }
  return c;
}

class RingtftpdFlood : public ::testing::TestWithParam<std::string> {};

TEST_P(RingtftpdFlood, MalformedFloodDuringGoodTransfers) {
  if (std::string why = backend_unavailable(GetParam()); !why.empty()) GTEST_SKIP() << why;
  std::vector<TftpClient> clients = installed_clients();
  if (clients.empty()) GTEST_SKIP() << "no TFTP client installed";
  std::string base = make_temp_dir("ringtftpd-flood");
  ScopedTempTree cleanup{base};
  std::string root = make_served_root(base);
  const size_t size = (512u << 10) + 11;
  write_served_file(root + "/good", test_content(size, 1));
  int metrics_port = free_tcp_port();
  TftpServerProcess server({.root = root, .backend = GetParam(),
                            .extra = {"-c", "--metrics", "127.0.0.1:" + std::to_string(metrics_port)}});
  ASSERT_GT(server.wait_until_serving(), 0) << server.output();

  std::atomic<bool> done{false};
  std::atomic<uint64_t> sent{0};
  std::thread flood([&] {
    std::mt19937_64 random(20261121);
    std::vector<std::string> corpus = malformed_corpus(random);
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in from{}, to{};
    from.sin_family = to.sin_family = AF_INET;
    from.sin_addr.s_addr = inet_addr("127.0.0.2");
    ::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(static_cast<uint16_t>(server.port()));
    while (!done.load()) {
      for (const auto& d : corpus) {
        ::sendto(fd, d.data(), d.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&to), sizeof to);
        ++sent;
      }
      // Paced, not a busy loop: the good transfers need CPU too on a 2-core machine.
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ::close(fd);
  });

  // Each client downloads the file and uploads it back, all at once.
  std::vector<std::thread> workers;
  std::vector<RunResult> gets(clients.size()), puts(clients.size());
  for (size_t i = 0; i < clients.size(); ++i) {
    workers.emplace_back([&, i] {
      TftpClient c = clients[i];
      ClientRequest r;
      if (abilities(c).blksize) r.blksize = 1428;
      if (abilities(c).windowsize) r.windowsize = 8;
      std::string local = base + "/got-" + client_name(c);
      gets[i] = run_client(c, false, "127.0.0.1", server.port(), "good", local, r);
      puts[i] = run_client(c, true, "127.0.0.1", server.port(), std::string("back-") + client_name(c), local, r);
    });
  }
  for (auto& w : workers) w.join();
  done.store(true);
  flood.join();

  for (size_t i = 0; i < clients.size(); ++i) {
    TftpClient c = clients[i];
    EXPECT_TRUE(client_succeeded(c, gets[i])) << client_name(c) << " get: " << gets[i].out << gets[i].err;
    EXPECT_EQ(difference(test_content(size, 1), read_whole_file(base + "/got-" + client_name(c))), "")
        << client_name(c);
    EXPECT_TRUE(client_succeeded(c, puts[i])) << client_name(c) << " put: " << puts[i].out << puts[i].err;
  }
  ASSERT_TRUE(wait_until_idle(metrics_port)) << server.output();
  for (TftpClient c : clients) {
    EXPECT_EQ(difference(test_content(size, 1), read_whole_file(root + "/back-" + client_name(c))), "")
        << client_name(c) << " upload";
  }
  EXPECT_TRUE(server.alive()) << "the server died under the flood\n" << server.output().substr(0, 4000);
  EXPECT_GT(sent.load(), 0u);
  // Still serving afterwards.
  RawGetResult after = raw_get(server.port(), raw_request(1, "good", "octet"));
  EXPECT_TRUE(after.complete) << "no download after the flood";
  EXPECT_EQ(difference(test_content(size, 1), after.data), "");
  RunResult m = fetch_metrics(metrics_port);
  EXPECT_GT(prometheus_value(m.out, "ringtftpd_malformed_packets_total").value_or(0), 0u) << m.out;
}

INSTANTIATE_TEST_SUITE_P(Backends, RingtftpdFlood, both_backends(),
                         backend_param_name);

}  // namespace
}  // namespace ringkit::testing
