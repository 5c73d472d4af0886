// The real TFTP clients the end-to-end tests drive against ringtftpd — tftp-hpa, atftp, curl
// and busybox — as command lines, with what each can ask for, and how each reports a server's
// ERROR packet (they all say it differently, and tftp-hpa exits 0 even then).
//
// What the installed versions can send (Debian 12; checked by hand, see the tests):
//   tftp-hpa 5.2  no options at all (RFC 1350 only); octet and netascii (decoded); put.
//   atftp 0.8.0   blksize, tsize, timeout, windowsize via --option; netascii via
//                 --option "mode netascii" (decoded); put.
//   curl 7.88     always sends blksize (512 unless --tftp-blksize), timeout and, for octet, tsize
//                 (and rejects the answer "tsize 0", so it cannot fetch an empty file with options);
//                 --tftp-no-options sends none; ";mode=netascii" asks for netascii but keeps
//                 the wire bytes undecoded; put with -T.
//   busybox 1.35  blksize with -b (it refuses values below 64 or so), tsize always; octet only; put.
//
// Header-only (tests/CMakeLists.txt compiles only the support files it names). Test-only code.
#pragma once

#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "support/tree.h"

namespace ringkit::testing {

enum class TftpClient { kTftpHpa, kAtftp, kCurl, kBusybox };

inline const char* client_name(TftpClient c) {
  switch (c) {
    case TftpClient::kTftpHpa: return "tftp_hpa";
    case TftpClient::kAtftp: return "atftp";
    case TftpClient::kCurl: return "curl";
    case TftpClient::kBusybox: return "busybox";
  }
  return "?";
}

inline const char* client_program(TftpClient c) {
  switch (c) {
    case TftpClient::kTftpHpa: return "tftp";
    case TftpClient::kAtftp: return "atftp";
    case TftpClient::kCurl: return "curl";
    case TftpClient::kBusybox: return "busybox";
  }
  return "?";
}

// What a client can ask for.
struct ClientAbilities {
  bool blksize = false;
  int min_blksize = 512;
  bool tsize = false;       // can choose whether to send it
  bool timeout = false;
  bool windowsize = false;
  bool no_options = true;   // can send a request without options
  bool netascii = false;
  bool decodes_netascii = false;  // writes local line ends (else the wire bytes)
};

inline ClientAbilities abilities(TftpClient c) {
  switch (c) {
    case TftpClient::kTftpHpa:
      return {.netascii = true, .decodes_netascii = true};
    case TftpClient::kAtftp:
      return {.blksize = true, .min_blksize = 8, .tsize = true, .timeout = true, .windowsize = true,
              .netascii = true, .decodes_netascii = true};
    case TftpClient::kCurl:
      return {.blksize = true, .min_blksize = 8, .netascii = true};
    case TftpClient::kBusybox:
      return {.blksize = true, .min_blksize = 64};
  }
  return {};
}

// What to ask for in one transfer. Unset options are not sent (where the client lets us).
struct ClientRequest {
  std::optional<int> blksize;
  std::optional<int> windowsize;
  std::optional<int> timeout;
  bool tsize = false;
  bool netascii = false;
  bool no_options = false;  // curl: --tftp-no-options

  std::string describe() const {
    std::string s;
    if (blksize) s += " blksize=" + std::to_string(*blksize);
    if (windowsize) s += " windowsize=" + std::to_string(*windowsize);
    if (timeout) s += " timeout=" + std::to_string(*timeout);
    if (tsize) s += " tsize";
    if (netascii) s += " netascii";
    if (no_options) s += " no-options";
    return s.empty() ? " (no options)" : s;
  }
};

// Percent-encodes every byte outside [A-Za-z0-9._~-] so that curl sends the name as it is.
inline std::string url_path_encode(const std::string& name) {
  std::string out;
  for (unsigned char c : name) {
    if (std::isalnum(c) || c == '.' || c == '_' || c == '~' || c == '-') {
      out += static_cast<char>(c);
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", c);
      out += hex;
    }
  }
  return out;
}

// The command line that downloads (`put` false) REMOTE into LOCAL or uploads LOCAL as REMOTE.
inline std::vector<std::string> client_argv(TftpClient c, bool put, const std::string& host, int port,
                                            const std::string& remote, const std::string& local,
                                            const ClientRequest& r) {
  std::string p = std::to_string(port);
  switch (c) {
    case TftpClient::kTftpHpa:
      // -l: literal names (no host:file parsing of names with a colon).
      return {"tftp", "-l", "-m", r.netascii ? "netascii" : "octet", host, p, "-c", put ? "put" : "get",
              put ? local : remote, put ? remote : local};
    case TftpClient::kAtftp: {
      std::vector<std::string> a = {"atftp", put ? "--put" : "--get", "-r", remote, "-l", local};
      auto option = [&](const std::string& o) {
        a.push_back("--option");
        a.push_back(o);
      };
      if (r.blksize) option("blksize " + std::to_string(*r.blksize));
      if (r.windowsize) option("windowsize " + std::to_string(*r.windowsize));
      if (r.timeout) option("timeout " + std::to_string(*r.timeout));
      if (r.tsize) option("tsize 0");
      if (r.netascii) option("mode netascii");
      a.push_back(host);
      a.push_back(p);
      return a;
    }
    case TftpClient::kCurl: {
      std::vector<std::string> a = {"curl", "-sS", "--path-as-is", "--max-time", "120"};
      if (r.blksize) {
        a.push_back("--tftp-blksize");
        a.push_back(std::to_string(*r.blksize));
      }
      if (r.no_options) a.push_back("--tftp-no-options");
      if (put) {
        a.push_back("-T");
        a.push_back(local);
      } else {
        a.push_back("-o");
        a.push_back(local);
      }
      a.push_back("tftp://" + host + ":" + p + "/" + url_path_encode(remote) +
                  (r.netascii ? ";mode=netascii" : ""));
      return a;
    }
    case TftpClient::kBusybox: {
      std::vector<std::string> a = {"busybox", "tftp", put ? "-p" : "-g", "-r", remote, "-l", local};
      if (r.blksize) {
        a.push_back("-b");
        a.push_back(std::to_string(*r.blksize));
      }
      a.push_back(host);
      a.push_back(p);
      return a;
    }
  }
  return {};
}

inline bool program_available(const std::string& name) {
  return run_program({"sh", "-c", "command -v " + name}).exit_code == 0;
}

// Those of `wanted` that are installed here, in that order.
inline std::vector<TftpClient> installed_clients(std::vector<TftpClient> wanted = {
                                                     TftpClient::kTftpHpa, TftpClient::kAtftp, TftpClient::kCurl,
                                                     TftpClient::kBusybox}) {
  std::vector<TftpClient> out;
  for (TftpClient c : wanted) {
    if (program_available(client_program(c))) out.push_back(c);
  }
  return out;
}

// Runs the transfer (under `timeout` seconds, so that a hung client fails the test instead of
// the suite), under `prefix` if given (ip netns exec NS).
inline RunResult run_client(TftpClient c, bool put, const std::string& host, int port,
                            const std::string& remote, const std::string& local, const ClientRequest& r,
                            int timeout_s = 120, const std::vector<std::string>& prefix = {}) {
  std::vector<std::string> argv = prefix;
  for (const std::string& a : {std::string("timeout"), std::string("-k"), std::string("5"), std::to_string(timeout_s)}) {
    argv.push_back(a);
  }
  for (auto& a : client_argv(c, put, host, port, remote, local, r)) argv.push_back(a);
  return run_program(argv);
}

// The TFTP error code the client says the server sent, if it says one. tftp-hpa prints
// "Error code N: ...", busybox "server error: (N) ...", curl encodes it in its exit status
// (68 + N - 1 for codes 1..7) and atftp prints only the message, matched here against the
// standard texts.
inline std::optional<int> reported_error(TftpClient c, const RunResult& r) {
  std::smatch m;
  const std::string all = r.out + r.err;
  switch (c) {
    case TftpClient::kTftpHpa: {
      static const std::regex re(R"(Error code ([0-9]+):)");
      if (std::regex_search(all, m, re)) return std::stoi(m[1].str());
      return std::nullopt;
    }
    case TftpClient::kBusybox: {
      static const std::regex re(R"(server error: \(([0-9]+)\))");
      if (std::regex_search(all, m, re)) return std::stoi(m[1].str());
      return std::nullopt;
    }
    case TftpClient::kCurl:
      if (r.exit_code >= 68 && r.exit_code <= 74) return r.exit_code - 67;
      return std::nullopt;
    case TftpClient::kAtftp: {
      static const std::regex re(R"(error received from server <([^>]*)>)");
      if (!std::regex_search(all, m, re)) return std::nullopt;
      static const char* texts[] = {"Undefined error code", "File not found", "Access violation",
                                    "Disk full or allocation exceeded", "Illegal TFTP operation",
                                    "Unknown transfer ID", "File already exists", "No such user",
                                    "Failure to negotiate RFC2347 options"};
      for (int i = 0; i < 9; ++i) {
        if (m[1].str() == texts[i]) return i;
      }
      return 0;  // a message of the server's own
    }
  }
  return std::nullopt;
}

// Whether the client says the transfer worked (tftp-hpa exits 0 on errors too: its output tells).
inline bool client_succeeded(TftpClient c, const RunResult& r) {
  return r.exit_code == 0 && !reported_error(c, r) &&
         (c != TftpClient::kTftpHpa ||
          (r.err.find("Transfer timed out") == std::string::npos && r.out.find("timed out") == std::string::npos));
}

}  // namespace ringkit::testing
