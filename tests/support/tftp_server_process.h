// TftpServerProcess: build/bin/ringtftpd running in the background for an end-to-end test,
// with its stderr collected line by line so that a test can wait for the startup line (which
// names the port it bound) and for the per-transfer log lines instead of sleeping.
//
// Header-only (inline): tests/CMakeLists.txt compiles only the support files it names.
// Test-only code. One object per server; its methods are called from the test's thread, the
// reader thread only appends to the collected output under the mutex.
#pragma once

#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "support/tree.h"

namespace ringkit::testing {

inline const std::string kRingtftpd = std::string(RINGKIT_BIN_DIR) + "/ringtftpd";

// A UDP or TCP port on 127.0.0.1 that was free a moment ago (for --metrics, which does not say
// which port it bound when given port 0).
inline int free_tcp_port() {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = -1;
  if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  ::close(s);
  return port;
}

struct TftpServerOptions {
  std::string root;                     // the served directory
  std::string backend = "auto";         // RINGKIT_BACKEND in the server's environment
  std::string address = "127.0.0.1:0";  // -a; port 0 binds a free one
  std::vector<std::string> extra;       // more flags (-c, -p, --config FILE, ...)
  std::vector<std::string> prefix;      // runs the server under this (e.g. ip netns exec NS)
};

class TftpServerProcess {
 public:
  explicit TftpServerProcess(TftpServerOptions o) : options_(std::move(o)) {
    std::vector<std::string> argv = options_.prefix;
    for (const char* a : {"env"}) argv.push_back(a);
    argv.push_back("RINGKIT_BACKEND=" + options_.backend);
    for (const std::string& a : {kRingtftpd, std::string("-L"), std::string("-a"), options_.address,
                                 std::string("-u"), std::string("root"), std::string("-v")}) {
      argv.push_back(a);
    }
    for (const auto& a : options_.extra) argv.push_back(a);
    argv.push_back(options_.root);
    process_ = spawn_program(argv);
    if (process_.pid < 0) return;
    reader_ = std::thread([this] { read_output(); });
  }
  TftpServerProcess(const TftpServerProcess&) = delete;
  TftpServerProcess& operator=(const TftpServerProcess&) = delete;
  ~TftpServerProcess() {
    if (process_.pid > 0) ::kill(process_.pid, SIGKILL);
    finish();
  }

  // Waits (up to `limit`) for the startup line and returns the port it names, or -1 when the
  // server exited or never said it was serving (the reason is then in output()).
  int wait_until_serving(std::chrono::seconds limit = std::chrono::seconds(20)) {
    static const std::regex serving(R"(ringtftpd: info: serving .* on [0-9.]+:([0-9]+))");
    std::smatch m;
    std::string text;
    bool found = wait_for([&](const std::string& out) {
      text = out;
      return std::regex_search(text, m, serving);
    }, limit);
    if (!found) return -1;
    port_ = std::stoi(m[1].str());
    return port_;
  }

  int port() const { return port_; }

  // Waits until `done(output)` is true or the limit passes or the server's stderr closes.
  bool wait_for(const std::function<bool(const std::string&)>& done,
                std::chrono::seconds limit = std::chrono::seconds(30)) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, limit, [&] { return done(output_) || closed_; }) && done(output_);
  }

  // The transfer log lines ("ringtftpd: transfer ...") written so far.
  std::vector<std::string> transfer_lines() const {
    std::vector<std::string> out;
    std::lock_guard lock(mutex_);
    size_t start = 0;
    while (start < output_.size()) {
      size_t end = output_.find('\n', start);
      if (end == std::string::npos) break;  // a line still being written
      std::string line = output_.substr(start, end - start);
      if (line.starts_with("ringtftpd: transfer ")) out.push_back(line);
      start = end + 1;
    }
    return out;
  }

  // Waits until at least `n` transfer lines have been written.
  bool wait_for_transfers(size_t n, std::chrono::seconds limit = std::chrono::seconds(30)) {
    return wait_for([&](const std::string& out) {
      size_t count = 0;
      for (size_t at = out.find("ringtftpd: transfer "); at != std::string::npos;
           at = out.find("ringtftpd: transfer ", at + 1)) {
        if (out.find('\n', at) != std::string::npos) ++count;
      }
      return count >= n;
    }, limit);
  }

  // Whether the server process is still running.
  bool alive() {
    if (process_.pid <= 0) return false;
    int status = 0;
    pid_t r = ::waitpid(process_.pid, &status, WNOHANG);
    if (r == 0) return true;
    if (r == process_.pid) {
      exit_status_ = status;
      process_.pid = -1;
    }
    return false;
  }

  // SIGTERM, then waits for the exit (the server lets running transfers finish). Returns the
  // wait status (or the one already collected by alive()).
  int stop() {
    if (process_.pid > 0) ::kill(process_.pid, SIGTERM);
    return finish();
  }

  // SIGKILL, then waits: the server gets no chance to clean up (as after a crash or the OOM
  // killer). Returns the wait status.
  int kill_now() {
    if (process_.pid > 0) ::kill(process_.pid, SIGKILL);
    return finish();
  }

  std::string output() const {
    std::lock_guard lock(mutex_);
    return output_;
  }

  const std::string& root() const { return options_.root; }

 private:
  void read_output() {
    pollfd fds[2] = {{process_.out_fd, POLLIN, 0}, {process_.err_fd, POLLIN, 0}};
    int open = 2;
    while (open > 0) {
      if (::poll(fds, 2, -1) < 0 && errno != EINTR) break;
      for (auto& f : fds) {
        if (f.fd < 0 || !(f.revents & (POLLIN | POLLHUP | POLLERR))) continue;
        char buf[8192];
        ssize_t n = ::read(f.fd, buf, sizeof buf);
        if (n > 0) {
          std::lock_guard lock(mutex_);
          output_.append(buf, static_cast<size_t>(n));
        } else {
          ::close(f.fd);
          f.fd = -1;
          --open;
        }
      }
      changed_.notify_all();
    }
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    changed_.notify_all();
  }

  int finish() {
    if (reader_.joinable()) reader_.join();
    process_.out_fd = process_.err_fd = -1;
    if (process_.pid > 0) {
      ::waitpid(process_.pid, &exit_status_, 0);
      process_.pid = -1;
    }
    return exit_status_;
  }

  TftpServerOptions options_;
  Spawned process_;
  std::thread reader_;
  int port_ = -1;
  int exit_status_ = -1;
  mutable std::mutex mutex_;  // guards output_ and closed_
  std::condition_variable changed_;
  std::string output_;
  bool closed_ = false;
};

}  // namespace ringkit::testing
