#include <netdb.h>
#include <sys/socket.h>

#include "cli.h"

namespace ringtftp {

using namespace ringkit;

Result<net::Address> resolve_server(const std::string& text, std::string* message) {
  // Address::parse reads "69" and ":69" as the wildcard address: no server to talk to.
  if (text.empty() || text.front() == ':' ||
      text.find_first_not_of("0123456789") == std::string::npos) {
    *message = "missing host in '" + text + "' (HOST[:PORT])";
    return errno_error(EINVAL);
  }
  if (auto numeric = net::Address::parse(text, 69); numeric && !numeric->empty()) {
    if (numeric->port() == 0) {
      *message = "port 0 in '" + text + "'";
      return errno_error(EINVAL);
    }
    return *numeric;
  }
  // A name: "host", "host:port", "[host]:port".
  std::string host = text;
  std::string port = "69";
  if (!host.empty() && host.front() == '[') {
    auto close = host.find(']');
    if (close == std::string::npos) {
      *message = "missing ']' in '" + text + "'";
      return errno_error(EINVAL);
    }
    std::string rest = host.substr(close + 1);
    host = host.substr(1, close - 1);
    if (!rest.empty()) {
      if (rest.front() != ':' || rest.size() == 1) {
        *message = "expected ':PORT' after ']' in '" + text + "'";
        return errno_error(EINVAL);
      }
      port = rest.substr(1);
    }
  } else if (auto colon = host.find(':'); colon != std::string::npos) {
    if (host.find(':', colon + 1) != std::string::npos) {
      *message = "'" + text + "' is not an address (write an IPv6 address with a port as [ADDR]:PORT)";
      return errno_error(EINVAL);
    }
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
  }
  if (host.empty() || port.empty() || port.find_first_not_of("0123456789") != std::string::npos ||
      port.size() > 5 || std::stoul(port) == 0 || std::stoul(port) > 65535) {
    *message = "bad HOST[:PORT] '" + text + "'";
    return errno_error(EINVAL);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0) {
    *message = "cannot resolve '" + host + "': " + ::gai_strerror(rc);
    return errno_error(EHOSTUNREACH);
  }
  std::optional<net::Address> address;
  for (addrinfo* a = found; a != nullptr && !address; a = a->ai_next) {
    address = net::Address::from_sockaddr(a->ai_addr, a->ai_addrlen);
  }
  ::freeaddrinfo(found);
  if (!address) {
    *message = "no IPv4 or IPv6 address for '" + host + "'";
    return errno_error(EHOSTUNREACH);
  }
  return *address;
}

bool make_request(const CommonOptions& o, const net::Address& server,
                  tftp::ClientRequest& request, std::string* message) {
  request.server = server;
  auto mode = tftp::parse_mode(o.mode);
  if (!mode || *mode == tftp::Mode::kMail) {
    *message = "--mode must be octet or netascii, not '" + o.mode + "'";
    return false;
  }
  request.mode = *mode;
  if (o.blksize && (*o.blksize < tftp::kMinBlockSize || *o.blksize > tftp::kMaxBlockSize)) {
    *message = "--blksize must be 8..65464";
    return false;
  }
  if (o.windowsize && *o.windowsize < 1) {
    *message = "--windowsize must be 1..65535";
    return false;
  }
  if (o.timeout && *o.timeout < 1) {
    *message = "--timeout must be 1..255 seconds";
    return false;
  }
  for (double p : {o.loss, o.duplicate, o.reorder}) {
    if (p < 0 || p >= 1) {
      *message = "--loss, --duplicate and --reorder are probabilities in [0, 1)";
      return false;
    }
  }
  request.options.blksize = o.blksize;
  request.options.windowsize = o.windowsize;
  request.options.timeout = o.timeout;
  request.policy.max_retries = o.retries;
  // An asked-for timeout is also this end's own wait, whether or not the server takes it.
  request.policy = request.policy.with_timeout_option(o.timeout);
  request.impairment = {.loss = o.loss, .duplicate = o.duplicate, .reorder = o.reorder,
                        .seed = o.seed};
  uint32_t dally = o.dally_ms.value_or(request.impairment.active() ? 1000 : 0);
  request.dally = std::chrono::milliseconds(dally);
  return true;
}

int exit_code_for(const tftp::ClientResult& result) {
  switch (result.failure) {
    case tftp::FailureKind::kNone: return kExitOk;
    case tftp::FailureKind::kServer: return kExitServer;
    case tftp::FailureKind::kLocal: return kExitLocal;
    case tftp::FailureKind::kNetwork:
    case tftp::FailureKind::kCancelled: return kExitNetwork;
  }
  return kExitNetwork;
}

}  // namespace ringtftp
