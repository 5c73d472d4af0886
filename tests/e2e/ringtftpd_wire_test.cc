// What goes over the wire between ringtftpd and a real client on a lossless loopback: exactly
// the packets RFC 1350 / 2347 / 7440 predict, no duplicate DATA, no extra ACK. The datagrams
// are captured by a relay between the two (support/udp_relay.h; tcpdump is not installed).
//
// The server's retransmission floor is raised to seconds here so that a busy machine cannot
// cause a retransmission: on a lossless path any extra packet is a protocol bug.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "support/tftp_clients.h"
#include "support/tftp_e2e.h"
#include "support/tftp_server_process.h"
#include "support/tree.h"
#include "support/udp_relay.h"

namespace ringkit::testing {
namespace {

std::string summary(const RelayedDatagram& d) { return describe(d); }

std::vector<std::string> one_direction(const std::vector<RelayedDatagram>& all, bool to_server) {
  std::vector<std::string> out;
  for (const auto& d : all) {
    if (d.to_server == to_server) out.push_back(summary(d));
  }
  return out;
}

// The DATA packets of `size` bytes in blocks of `blksize` (an exact multiple ends with an
// empty block), from `dir` ("s>c " or "c>s ").
std::vector<std::string> data_blocks(const std::string& dir, size_t size, size_t blksize) {
  std::vector<std::string> out;
  size_t blocks = size / blksize + 1;
  for (size_t k = 1; k <= blocks; ++k) {
    size_t len = k < blocks ? blksize : size - (blocks - 1) * blksize;
    out.push_back(dir + "DATA " + std::to_string(k % 65536) + " " + std::to_string(len));
  }
  return out;
}

// The ACKs a windowed receiver sends: after every `window` blocks and after the last one.
std::vector<std::string> window_acks(const std::string& dir, size_t size, size_t blksize, size_t window) {
  std::vector<std::string> out;
  size_t blocks = size / blksize + 1;
  for (size_t k = 1; k <= blocks; ++k) {
    if (k % window == 0 || k == blocks) out.push_back(dir + "ACK " + std::to_string(k % 65536));
  }
  return out;
}

class RingtftpdWire : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (std::string why = backend_unavailable(GetParam()); !why.empty()) GTEST_SKIP() << why;
    base_ = make_temp_dir("ringtftpd-wire");
    root_ = make_served_root(base_);
    std::string config = base_ + "/ringtftpd.toml";
    // 1 s: what the default starts with, and the longest stall of a busy test machine we expect.
    write_file(config, "[limits]\nretransmit_ms = 1000\nmin_retransmit_ms = 1000\n");
    server_ = std::make_unique<TftpServerProcess>(
        TftpServerOptions{.root = root_, .backend = GetParam(), .extra = {"-c", "--config", config}});
    ASSERT_GT(server_->wait_until_serving(), 0) << server_->output();
    relay_ = std::make_unique<UdpRelay>(static_cast<uint16_t>(server_->port()));
  }
  void TearDown() override {
    relay_.reset();
    server_.reset();
    if (!base_.empty()) remove_tree(base_);
  }

  bool have(TftpClient c) { return program_available(client_program(c)); }

  RunResult run(TftpClient c, bool put, const std::string& remote, const std::string& local, const ClientRequest& r) {
    return run_client(c, put, "127.0.0.1", relay_->port(), remote, local, r);
  }

  // The relay records a datagram after the client may already have seen it; wait until the
  // server has logged `n` transfers, by when every packet of them has been through the relay.
  void wait_for_transfers(size_t n) { ASSERT_TRUE(server_->wait_for_transfers(n)) << server_->output(); }

  std::string base_, root_;
  std::unique_ptr<TftpServerProcess> server_;
  std::unique_ptr<UdpRelay> relay_;
};

// RFC 1350 stop-and-wait: RRQ, DATA 1, ACK 1, ..., the short block and its ACK; nothing else.
TEST_P(RingtftpdWire, DownloadWithoutOptionsIsExactlyLockstep) {
  if (!have(TftpClient::kTftpHpa)) GTEST_SKIP() << "tftp (tftp-hpa) is not installed";
  size_t transfers = 0;
  for (size_t size : {size_t{0}, size_t{700}, size_t{512 * 3}}) {
    std::string name = "lockstep-" + std::to_string(size);
    write_served_file(root_ + "/" + name, test_content(size, size));
    relay_ = std::make_unique<UdpRelay>(static_cast<uint16_t>(server_->port()));
    RunResult r = run(TftpClient::kTftpHpa, false, name, base_ + "/got", {});
    ASSERT_TRUE(client_succeeded(TftpClient::kTftpHpa, r)) << r.out << r.err;
    ASSERT_NO_FATAL_FAILURE(wait_for_transfers(++transfers));  // the last ACK has been through
    EXPECT_EQ(difference(test_content(size, size), read_whole_file(base_ + "/got")), "");
    std::vector<std::string> expected = {"c>s RRQ"};
    for (const auto& d : data_blocks("s>c ", size, 512)) {
      expected.push_back(d);
      expected.push_back("c>s ACK " + d.substr(std::string("s>c DATA ").size(), d.find(' ', 9) - 9));
    }
    std::vector<RelayedDatagram> captured = relay_->captured();
    std::vector<std::string> got;
    for (const auto& d : captured) got.push_back(summary(d));
    EXPECT_EQ(got, expected) << name;
  }
}

// RFC 2347 + 7440: RRQ with options, OACK, ACK 0, then windows of DATA each answered by one
// ACK; an exact multiple of blksize x windowsize ends with a window holding only the empty
// block.
TEST_P(RingtftpdWire, WindowedDownloadSendsEachBlockOnce) {
  if (!have(TftpClient::kAtftp)) GTEST_SKIP() << "atftp is not installed";
  const size_t blksize = 512, window = 4;
  size_t transfers = 0;
  for (size_t size : {blksize * window * 3, blksize * window * 2 + 100, size_t{0}}) {
    std::string name = "window-" + std::to_string(size);
    write_served_file(root_ + "/" + name, test_content(size, size));
    relay_ = std::make_unique<UdpRelay>(static_cast<uint16_t>(server_->port()));
    RunResult r = run(TftpClient::kAtftp, false, name, base_ + "/got",
                      {.blksize = static_cast<int>(blksize), .windowsize = static_cast<int>(window), .tsize = true});
    ASSERT_TRUE(client_succeeded(TftpClient::kAtftp, r)) << r.out << r.err;
    ASSERT_NO_FATAL_FAILURE(wait_for_transfers(++transfers));  // the last ACK has been through
    EXPECT_EQ(difference(test_content(size, size), read_whole_file(base_ + "/got")), "");
    std::vector<RelayedDatagram> captured = relay_->captured();
    std::vector<std::string> from_server = {"s>c OACK"};
    for (const auto& d : data_blocks("s>c ", size, blksize)) from_server.push_back(d);
    EXPECT_EQ(one_direction(captured, false), from_server) << name << ": the server's packets";
    std::vector<std::string> from_client = {"c>s RRQ", "c>s ACK 0"};
    for (const auto& a : window_acks("c>s ", size, blksize, window)) from_client.push_back(a);
    EXPECT_EQ(one_direction(captured, true), from_client) << name << ": atftp's packets";
  }
}

// An upload without options: WRQ, ACK 0, DATA 1, ACK 1, ...: one ACK per block, none again.
TEST_P(RingtftpdWire, UploadWithoutOptionsIsExactlyLockstep) {
  if (!have(TftpClient::kTftpHpa)) GTEST_SKIP() << "tftp (tftp-hpa) is not installed";
  size_t transfers = 0;
  for (size_t size : {size_t{0}, size_t{512 * 3}}) {
    std::string name = "put-" + std::to_string(size);
    write_file(base_ + "/send", test_content(size, size));
    relay_ = std::make_unique<UdpRelay>(static_cast<uint16_t>(server_->port()));
    RunResult r = run(TftpClient::kTftpHpa, true, name, base_ + "/send", {});
    ASSERT_TRUE(client_succeeded(TftpClient::kTftpHpa, r)) << r.out << r.err;
    ASSERT_NO_FATAL_FAILURE(wait_for_transfers(++transfers));
    EXPECT_EQ(difference(test_content(size, size), read_whole_file(root_ + "/" + name)), "");
    std::vector<std::string> expected = {"c>s WRQ", "s>c ACK 0"};
    for (const auto& d : data_blocks("c>s ", size, 512)) {
      expected.push_back(d);
      expected.push_back("s>c ACK " + d.substr(std::string("c>s DATA ").size(), d.find(' ', 9) - 9));
    }
    std::vector<std::string> got;
    for (const auto& d : relay_->captured()) got.push_back(summary(d));
    EXPECT_EQ(got, expected) << name;
  }
}

// A windowed upload: the server ACKs once per window (and the last block), never twice.
TEST_P(RingtftpdWire, WindowedUploadAcksOncePerWindow) {
  if (!have(TftpClient::kAtftp)) GTEST_SKIP() << "atftp is not installed";
  const size_t blksize = 512, window = 4;
  size_t transfers = 0;
  for (size_t size : {blksize * window * 3, blksize * window * 2 + 100}) {
    std::string name = "wput-" + std::to_string(size);
    write_file(base_ + "/send", test_content(size, size));
    relay_ = std::make_unique<UdpRelay>(static_cast<uint16_t>(server_->port()));
    RunResult r = run(TftpClient::kAtftp, true, name, base_ + "/send",
                      {.blksize = static_cast<int>(blksize), .windowsize = static_cast<int>(window)});
    ASSERT_TRUE(client_succeeded(TftpClient::kAtftp, r)) << r.out << r.err;
    ASSERT_NO_FATAL_FAILURE(wait_for_transfers(++transfers));
    EXPECT_EQ(difference(test_content(size, size), read_whole_file(root_ + "/" + name)), "");
    std::vector<RelayedDatagram> captured = relay_->captured();
    std::vector<std::string> from_server = {"s>c OACK"};
    for (const auto& a : window_acks("s>c ", size, blksize, window)) from_server.push_back(a);
    EXPECT_EQ(one_direction(captured, false), from_server) << name << ": the server's packets";
    std::vector<std::string> from_client = {"c>s WRQ"};
    for (const auto& d : data_blocks("c>s ", size, blksize)) from_client.push_back(d);
    EXPECT_EQ(one_direction(captured, true), from_client) << name << ": atftp's packets";
  }
}

// The final ACK tells the client the upload is done: a client that reads the file back right
// after (a `put` then a `get` in a script) must find it. So when the server sends that ACK the
// file must already be in place under its name, with its content.
TEST_P(RingtftpdWire, UploadIsInPlaceWhenTheFinalAckIsSent) {
  if (!have(TftpClient::kTftpHpa)) GTEST_SKIP() << "tftp (tftp-hpa) is not installed";
  const size_t size = 512 * 2 + 10;
  const std::string content = test_content(size, 5);
  const std::string path = root_ + "/committed";
  std::atomic<int> final_acks{0}, in_place{0};
  relay_->on_forwarded([&](const RelayedDatagram& d) {
    if (!d.to_server && summary(d) == "s>c ACK 3") {
      ++final_acks;
      if (read_whole_file(path) == content) ++in_place;
    }
  });
  write_file(base_ + "/send", content);
  RunResult r = run(TftpClient::kTftpHpa, true, "committed", base_ + "/send", {});
  ASSERT_TRUE(client_succeeded(TftpClient::kTftpHpa, r)) << r.out << r.err;
  ASSERT_NO_FATAL_FAILURE(wait_for_transfers(1));
  EXPECT_EQ(final_acks.load(), 1);
  EXPECT_EQ(in_place.load(), 1) << "the final ACK went out before the upload was renamed into place";
  EXPECT_EQ(difference(content, read_whole_file(path)), "");
}

// A request that arrives twice (duplicated by the network) starts one transfer, not two.
TEST_P(RingtftpdWire, DuplicatedRequestStartsOneTransfer) {
  if (!have(TftpClient::kTftpHpa)) GTEST_SKIP() << "tftp (tftp-hpa) is not installed";
  relay_ = std::make_unique<UdpRelay>(static_cast<uint16_t>(server_->port()),
                                      RelayFaults{.duplicate = 1.0, .only_requests = true});
  const size_t size = 512 * 20 + 1;
  write_served_file(root_ + "/twice", test_content(size, 9));
  RunResult r = run(TftpClient::kTftpHpa, false, "twice", base_ + "/got", {});
  ASSERT_TRUE(client_succeeded(TftpClient::kTftpHpa, r)) << r.out << r.err;
  EXPECT_EQ(difference(test_content(size, 9), read_whole_file(base_ + "/got")), "");
  ASSERT_NO_FATAL_FAILURE(wait_for_transfers(1));
  std::vector<RelayedDatagram> captured = relay_->captured();
  ASSERT_FALSE(captured.empty());
  EXPECT_EQ(summary(captured[0]), "c>s RRQ");
  EXPECT_EQ(summary(captured[1]), "c>s RRQ") << "the relay was to send the request twice";
  std::set<uint16_t> tids;
  for (const auto& d : captured) {
    if (!d.to_server) tids.insert(d.server_port);
  }
  EXPECT_EQ(tids.size(), 1u) << "DATA came from more than one server port: a second transfer started";
  std::vector<std::string> from_server = one_direction(captured, false);
  EXPECT_EQ(from_server, data_blocks("s>c ", size, 512));
}

INSTANTIATE_TEST_SUITE_P(Backends, RingtftpdWire, both_backends(),
                         backend_param_name);

}  // namespace
}  // namespace ringkit::testing
