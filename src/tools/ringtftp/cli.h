// ringtftp's commands (get, put, bench) and what they share: the options common to all,
// exit codes, and turning HOST[:PORT] into an address.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "ringkit/net.h"
#include "ringkit/result.h"
#include "tftp/client.h"

namespace ringtftp {

// Exit codes (documented in --help and ringtftp(1)).
inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 1;     // bad command line (also: bench RLIMIT too low to run)
inline constexpr int kExitServer = 2;    // the server answered with ERROR (code and text printed)
inline constexpr int kExitNetwork = 3;   // no answer, a socket error, or the server broke the protocol
inline constexpr int kExitLocal = 4;     // the local file could not be read or written
inline constexpr int kExitBench = 5;     // bench: some transfers failed or did not verify

struct CommonOptions {
  std::string host;                       // HOST[:PORT]
  std::optional<uint16_t> blksize;        // asked of the server; unset: RFC 1350's 512
  std::optional<uint16_t> windowsize;     // asked of the server; unset: 1 (stop-and-wait)
  bool tsize = false;                     // ask for / announce the transfer size
  std::optional<uint8_t> timeout;         // RFC 2349 seconds; also our own longest wait
  std::string mode = "octet";
  uint32_t retries = 6;
  int verbose = 0;
  bool quiet = false;
  // Client-side impairment (tests, bench).
  double loss = 0;
  double duplicate = 0;
  double reorder = 0;
  uint64_t seed = 1;
  // Linger after the final ACK of a get (ms); unset: 0, or 1 s with impairment.
  std::optional<uint32_t> dally_ms;
};

// "host", "host:port", "[v6]:port", "v6": numeric or resolved with getaddrinfo (the first
// address). Port defaults to 69. The error message says what was wrong.
ringkit::Result<ringkit::net::Address> resolve_server(const std::string& text, std::string* message);

// The request every command starts from: server, mode, options, policy, impairment.
// Returns false (with `message`) when an option is out of range.
bool make_request(const CommonOptions& o, const ringkit::net::Address& server,
                  ringkit::tftp::ClientRequest& request, std::string* message);

// The exit code for a failed transfer.
int exit_code_for(const ringkit::tftp::ClientResult& result);

int run_get(const CommonOptions& o, const std::string& remote, std::string local);
int run_put(const CommonOptions& o, const std::string& local, std::string remote);

struct BenchCommand {
  std::string remote;
  uint32_t clients = 1;
  uint32_t threads = 0;                 // 0: one per core
  std::optional<uint64_t> expect_size;
  std::optional<std::string> expect_xxh3;  // 16 hex digits
  uint32_t repeat = 1;
  std::optional<double> duration_s;
  bool json = false;
};
int run_bench(const CommonOptions& o, const BenchCommand& b);

}  // namespace ringtftp
