// ringtftpd under packet loss, duplication and reordering injected between it and the real
// clients by a relay (support/udp_relay.h), with a fixed seed so that a failure replays. Needs
// no privileges and no kernel module; ringtftpd_netem_test.cc does the same with netem in
// network namespaces where the kernel has it.
//
// Downloads with every client (the server's retransmission drives recovery); uploads with
// busybox, whose own retransmission timer starts at 50 ms (tftp-hpa and atftp wait 5 s per
// lost packet, which would make this test slow, not better).
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>
#include <vector>

#include "support/tftp_clients.h"
#include "support/tftp_e2e.h"
#include "support/tftp_server_process.h"
#include "support/tree.h"
#include "support/udp_relay.h"

namespace ringkit::testing {
namespace {

struct LossCase {
  const char* name;
  RelayFaults faults;
};

using LossParam = std::tuple<LossCase, std::string>;

class RingtftpdLoss : public ::testing::TestWithParam<LossParam> {};

TEST_P(RingtftpdLoss, TransfersCompleteWithTheRightBytes) {
  const auto& [loss, backend] = GetParam();
  if (std::string why = backend_unavailable(backend); !why.empty()) GTEST_SKIP() << why;
  std::vector<TftpClient> clients = installed_clients();
  if (clients.empty()) GTEST_SKIP() << "no TFTP client installed";
  std::string base = make_temp_dir("ringtftpd-loss");
  ScopedTempTree cleanup{base};
  std::string root = make_served_root(base);
  const size_t size = (256u << 10) + 3;
  const std::string content = test_content(size, 3);
  write_served_file(root + "/file", content);
  TftpServerProcess server({.root = root, .backend = backend, .extra = {"-c"}});
  ASSERT_GT(server.wait_until_serving(), 0) << server.output();

  // One relay per client (each with its own seed), all transfers at once.
  struct Job {
    TftpClient client;
    bool put;
    ClientRequest request;
    std::unique_ptr<UdpRelay> relay;
    RunResult result;
  };
  std::vector<Job> jobs;
  uint64_t seed = loss.faults.seed;
  for (TftpClient c : clients) {
    ClientAbilities a = abilities(c);
    std::vector<ClientRequest> requests;
    // atftp in lockstep cannot survive loss of its ACK: it re-ACKs only the first duplicate
    // DATA and ignores the rest, and each ignored duplicate restarts its 5 s timer, so while
    // the server keeps retransmitting (its longest wait is 5 s too) atftp never re-ACKs, until
    // the server gives up (seen here as a stall: DATA n x13, then atftp's ACK n x4 to a closed
    // transfer). Its windowed mode recovers; only that is tested here.
    if (c != TftpClient::kAtftp) {
      requests.push_back({});
      if (a.blksize) requests.push_back({.blksize = 1428});
    }
    if (a.windowsize) requests.push_back({.blksize = 1024, .windowsize = 8});
    for (const auto& r : requests) jobs.push_back({c, false, r, nullptr, {}});
    if (c == TftpClient::kBusybox) jobs.push_back({c, true, {.blksize = 1024}, nullptr, {}});
  }
  std::vector<std::thread> threads;
  for (size_t i = 0; i < jobs.size(); ++i) {
    RelayFaults f = loss.faults;
    f.seed = seed + i;
    f.spare_requests = true;  // a lost request only costs the client's own (slow) timeout
    jobs[i].relay = std::make_unique<UdpRelay>(static_cast<uint16_t>(server.port()), f);
    threads.emplace_back([&, i] {
      Job& j = jobs[i];
      std::string local = base + "/local-" + std::to_string(i);
      if (j.put) write_file(local, content);
      j.result = run_client(j.client, j.put, "127.0.0.1", j.relay->port(),
                            j.put ? "up-" + std::to_string(i) : "file", local, j.request, 300);
    });
  }
  for (auto& t : threads) t.join();
  // An upload is in place once the server has logged it. (Not "until idle": a download whose
  // final ACK was lost keeps the server retrying for a while, as the protocol has it.)
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (!jobs[i].put) continue;
    std::string line = "op=WRQ file=up-" + std::to_string(i) + " ";
    EXPECT_TRUE(server.wait_for([&](const std::string& out) { return out.find(line) != std::string::npos; }))
        << "no log line for upload " << i << "\n" << server.output();
  }
  uint64_t dropped = 0, duplicated = 0, reordered = 0;
  for (size_t i = 0; i < jobs.size(); ++i) {
    const Job& j = jobs[i];
    std::string what = std::string(client_name(j.client)) + (j.put ? " put" : " get") + j.request.describe() +
                       " (relay seed " + std::to_string(seed + i) + ")";
    EXPECT_TRUE(client_succeeded(j.client, j.result))
        << what << ": exit " << j.result.exit_code << "\n"
        << j.result.out << j.result.err.substr(0, 3000) << "\nserver:\n" << server.output();
    if (!client_succeeded(j.client, j.result)) {  // what went over the wire at the end
      std::vector<RelayedDatagram> captured = j.relay->captured();
      std::string tail;
      for (size_t k = captured.size() > 60 ? captured.size() - 60 : 0; k < captured.size(); ++k) {
        tail += describe(captured[k]) + "\n";
      }
      ADD_FAILURE() << what << ": the last forwarded datagrams:\n" << tail;
    }
    std::string path = j.put ? root + "/up-" + std::to_string(i) : base + "/local-" + std::to_string(i);
    EXPECT_EQ(difference(content, read_whole_file(path)), "") << what;
    auto counts = j.relay->counts();
    dropped += counts.dropped;
    duplicated += counts.duplicated;
    reordered += counts.reordered;
  }
  // The faults really happened (else this test would prove nothing).
  if (loss.faults.loss > 0) {
    EXPECT_GT(dropped, 0u);
  }
  if (loss.faults.duplicate > 0) {
    EXPECT_GT(duplicated, 0u);
  }
  if (loss.faults.reorder > 0) {
    EXPECT_GT(reordered, 0u);
  }
  EXPECT_TRUE(server.alive()) << server.output();
}

const LossCase kCases[] = {
    {"loss1", {.loss = 0.01, .seed = 100}},
    {"loss5_dup2_reorder10", {.loss = 0.05, .duplicate = 0.02, .reorder = 0.10, .seed = 200}},
};

INSTANTIATE_TEST_SUITE_P(Faults, RingtftpdLoss,
                         ::testing::Combine(::testing::ValuesIn(kCases),
                                            both_backends()),
                         case_and_backend_name<LossCase>);

}  // namespace
}  // namespace ringkit::testing
