// Small helpers shared by the ringtftpd end-to-end tests (tests/e2e/ringtftpd_*_test.cc): test
// file contents, byte-for-byte comparison with a short message, netascii's expected wire form,
// the server's Prometheus counters, and the reasons a test instance cannot run here.
//
// Header-only (tests/CMakeLists.txt compiles only the support files it names). Test-only code.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <thread>
#include <tuple>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <string>

#include "ringkit/probe.h"
#include "support/tftp_clients.h"
#include "support/tree.h"

namespace ringkit::testing {

// `n` bytes that differ from file to file (by `seed`) and from block to block.
inline std::string test_content(size_t n, uint64_t seed) {
  std::string s(n, '\0');
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 0x1234567;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    s[i] = static_cast<char>(x >> 24);
  }
  return s;
}

inline std::optional<std::string> read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// "" when equal, else where they first differ (never the whole content: files are up to 34 MiB).
inline std::string difference(const std::string& expected, const std::optional<std::string>& actual) {
  if (!actual) return "file missing";
  if (expected == *actual) return "";
  size_t i = 0;
  while (i < expected.size() && i < actual->size() && expected[i] == (*actual)[i]) ++i;
  return "expected " + std::to_string(expected.size()) + " bytes, got " + std::to_string(actual->size()) +
         ", first difference at offset " + std::to_string(i);
}

// A file the server will serve: world-readable (ringtftpd serves only those unless -p).
inline void write_served_file(const std::string& path, const std::string& content) {
  write_file(path, content);
  ::chmod(path.c_str(), 0644);
}

// netascii as it goes over the wire (docs/tftp-protocol.md): LF -> CR LF, CR -> CR NUL.
inline std::string netascii_encode(const std::string& local) {
  std::string out;
  for (char c : local) {
    if (c == '\n') {
      out += "\r\n";
    } else if (c == '\r') {
      out += '\r';
      out += '\0';
    } else {
      out += c;
    }
  }
  return out;
}

// The value of an unlabelled counter in Prometheus text, if present.
inline std::optional<uint64_t> prometheus_value(const std::string& text, const std::string& name) {
  std::regex re("(^|\n)" + name + " ([0-9]+)");
  std::smatch m;
  if (!std::regex_search(text, m, re)) return std::nullopt;
  return std::stoull(m[2].str());
}

// GET /metrics from the server's --metrics endpoint, with curl.
inline RunResult fetch_metrics(int port) {
  return run_program({"curl", "-sS", "--max-time", "10", "http://127.0.0.1:" + std::to_string(port) + "/metrics"});
}

// Waits (polling, up to `limit`) until the server's --metrics endpoint reports no active
// transfer: by then every upload the server accepted has been committed or abandoned.
inline bool wait_until_idle(int metrics_port, std::chrono::seconds limit = std::chrono::seconds(60)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    RunResult m = fetch_metrics(metrics_port);
    if (m.exit_code == 0 && prometheus_value(m.out, "ringtftpd_active_transfers") == 0u) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // a poll interval, not a wait for readiness
  }
  return false;
}

// Why a server on `backend` cannot run here ("" when it can).
inline std::string backend_unavailable(const std::string& backend) {
  if (backend == "uring" && !probe_io_uring().usable) return "io_uring unusable here: " + probe_io_uring().reason;
  const char* forced = std::getenv("RINGKIT_BACKEND");
  if (forced != nullptr && std::string(forced) != "auto" && std::string(forced) != backend) {
    return std::string("RINGKIT_BACKEND=") + forced + " asks for the other backend only";
  }
  return "";
}

// A directory the server (running as root, but keeping to world-readable files) may serve.
inline std::string make_served_root(const std::string& base) {
  std::string root = base + "/root";
  ::mkdir(root.c_str(), 0755);
  ::chmod(base.c_str(), 0755);
  return root;
}

// Names the instances of a suite parameterized by backend ("uring", "threads").
inline std::string backend_param_name(const ::testing::TestParamInfo<std::string>& param) { return param.param; }

// Names the instances of a suite parameterized by (a case with a `name`, backend).
template <class Case>
std::string case_and_backend_name(const ::testing::TestParamInfo<std::tuple<Case, std::string>>& param) {
  return std::string(std::get<0>(param.param).name) + "_" + std::get<1>(param.param);
}

// The backends every server test runs on.
inline auto both_backends() { return ::testing::Values(std::string("uring"), std::string("threads")); }

}  // namespace ringkit::testing
