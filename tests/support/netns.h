// NetnsPair: two network namespaces joined by a veth pair, for tests that shape traffic with
// tc (netem) or nftables between a server in one and clients in the other. Made with the `ip` tool;
// removed (namespaces and with them the veth pair and any qdisc) when the object goes, however
// the test ends.
//
// Header-only (tests/CMakeLists.txt compiles only the support files it names). Test-only code;
// needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN).
#pragma once

#include <unistd.h>

#include <atomic>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "support/tree.h"

namespace ringkit::testing {

class NetnsPair {
 public:
  // Creates the namespaces "rk<pid>s<n>" and "rk<pid>c<n>" with addresses 10.231.N.1 (server
  // side) and 10.231.N.2 (client side) on a /24. On failure, error() says why and nothing is left.
  NetnsPair() {
    static std::atomic<int> counter{0};
    int n = counter++ % 250;
    std::string id = std::to_string(::getpid() % 100000) + "n" + std::to_string(n);
    server_ns_ = "rk" + id + "s";
    client_ns_ = "rk" + id + "c";
    std::string va = "rkv" + id + "a", vb = "rkv" + id + "b";  // at most 15 bytes (IFNAMSIZ)
    server_address_ = "10.231." + std::to_string(n) + ".1";
    client_address_ = "10.231." + std::to_string(n) + ".2";
    std::vector<std::vector<std::string>> steps = {
        {"ip", "netns", "add", server_ns_},
        {"ip", "netns", "add", client_ns_},
        {"ip", "link", "add", va, "type", "veth", "peer", "name", vb},
        {"ip", "link", "set", va, "netns", server_ns_},
        {"ip", "link", "set", vb, "netns", client_ns_},
        {"ip", "-n", server_ns_, "addr", "add", server_address_ + "/24", "dev", va},
        {"ip", "-n", client_ns_, "addr", "add", client_address_ + "/24", "dev", vb},
        {"ip", "-n", server_ns_, "link", "set", "lo", "up"},
        {"ip", "-n", client_ns_, "link", "set", "lo", "up"},
        {"ip", "-n", server_ns_, "link", "set", va, "up"},
        {"ip", "-n", client_ns_, "link", "set", vb, "up"},
    };
    server_dev_ = va;
    client_dev_ = vb;
    for (const auto& step : steps) {
      RunResult r = run_program(step);
      if (r.exit_code != 0) {
        error_ = join(step) + ": exit " + std::to_string(r.exit_code) + ": " + r.err;
        remove();
        // A veth made before the move into the namespace survives them: remove it by name.
        run_program({"ip", "link", "del", va});
        return;
      }
    }
  }
  NetnsPair(const NetnsPair&) = delete;
  NetnsPair& operator=(const NetnsPair&) = delete;
  ~NetnsPair() { remove(); }

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

  // Adds `qdisc` (e.g. {"netem", "loss", "5%"}) as the root qdisc of both ends, so that
  // traffic both ways is shaped. Returns "" or why not.
  std::string shape_both_ways(const std::vector<std::string>& qdisc) {
    for (const auto& [ns, dev] : {std::pair{server_ns_, server_dev_}, std::pair{client_ns_, client_dev_}}) {
      std::vector<std::string> argv = {"ip", "netns", "exec", ns, "tc", "qdisc", "replace", "dev", dev, "root"};
      argv.insert(argv.end(), qdisc.begin(), qdisc.end());
      RunResult r = run_program(argv);
      if (r.exit_code != 0) return join(argv) + ": " + r.err;
    }
    return "";
  }

  // Drops `loss_percent` of the UDP datagrams each side receives and sends `dup_percent` of
  // those it sends twice, with nftables in each namespace (for kernels without netem: the kernel
  // drops and copies, not the programs). Dropped on the way in: a drop on the way out would fail
  // the sender's send with EPERM, which a lost datagram does not. TFTP requests (RRQ, WRQ) are
  // not dropped, as udp_relay.h's spare_requests does: a lost one costs only the client's own
  // slow timeout, and the atftp client then aborts on the answer to its repeat ("unexpected
  // OACK"); nor is an OACK duplicated, which atftp aborts on as well.
  // Returns "" or why not.
  std::string drop_and_duplicate_both_ways(int loss_percent, int dup_percent) {
    for (const auto& [ns, dev, peer] : {std::tuple{server_ns_, server_dev_, client_address_},
                                        std::tuple{client_ns_, client_dev_, server_address_}}) {
      std::vector<std::string> in_ns = {"ip", "netns", "exec", ns, "nft"};
      std::vector<std::vector<std::string>> rules = {
          {"add", "table", "ip", "rk"},
          {"add", "chain", "ip", "rk", "in", "{ type filter hook input priority 0 ; }"},
          {"add", "chain", "ip", "rk", "out", "{ type filter hook output priority 0 ; }"},
          // A request (opcode 1 or 2, the first two bytes after the UDP header) is never dropped.
          {"add", "rule", "ip", "rk", "in", "meta", "l4proto", "udp", "@th,64,16", "{ 1, 2 }", "accept"},
          {"add", "rule", "ip", "rk", "in", "meta", "l4proto", "udp", "numgen", "random", "mod", "100", "lt",
           std::to_string(loss_percent), "counter", "drop"},
      };
      if (dup_percent > 0) {
        // An OACK (opcode 6) is never sent twice: the atftp client aborts on the second copy.
        rules.push_back({"add", "rule", "ip", "rk", "out", "meta", "l4proto", "udp", "@th,64,16", "6", "accept"});
        rules.push_back({"add", "rule", "ip", "rk", "out", "meta", "l4proto", "udp", "numgen", "random", "mod", "100",
                         "lt", std::to_string(dup_percent), "counter", "dup", "to", peer, "device", dev});
      }
      for (const auto& rule : rules) {
        std::vector<std::string> argv = in_ns;
        argv.insert(argv.end(), rule.begin(), rule.end());
        RunResult r = run_program(argv);
        if (r.exit_code != 0) return join(argv) + ": " + r.err;
      }
    }
    return "";
  }

  // What the rules of drop_and_duplicate_both_ways() did: datagrams dropped and duplicated,
  // both sides together (their nftables counters).
  struct Shaped {
    long dropped = 0;
    long duplicated = 0;
  };
  Shaped shaped() const {
    Shaped total;
    for (const auto* ns : {&server_ns_, &client_ns_}) {
      RunResult r = run_program({"ip", "netns", "exec", *ns, "nft", "list", "table", "ip", "rk"});
      std::istringstream in(r.out);
      for (std::string line; std::getline(in, line);) {
        size_t at = line.find("counter packets ");
        if (at == std::string::npos) continue;
        long n = std::stol(line.substr(at + 16));
        (line.find(" drop") != std::string::npos ? total.dropped : total.duplicated) += n;
      }
    }
    return total;
  }

  // Prefixes that run a program inside one side.
  std::vector<std::string> in_server() const { return {"ip", "netns", "exec", server_ns_}; }
  std::vector<std::string> in_client() const { return {"ip", "netns", "exec", client_ns_}; }
  const std::string& server_address() const { return server_address_; }
  const std::string& client_address() const { return client_address_; }

 private:
  static std::string join(const std::vector<std::string>& argv) {
    std::string s;
    for (const auto& a : argv) s += (s.empty() ? "" : " ") + a;
    return s;
  }
  void remove() {
    for (auto* ns : {&server_ns_, &client_ns_}) {
      if (!ns->empty()) run_program({"ip", "netns", "del", *ns});
    }
    server_ns_.clear();
    client_ns_.clear();
  }

  std::string server_ns_, client_ns_, server_dev_, client_dev_;
  std::string server_address_, client_address_;
  std::string error_;
};

}  // namespace ringkit::testing
