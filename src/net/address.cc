// Address: parsing and formatting of numeric IPv4/IPv6 socket addresses.
#include <arpa/inet.h>
#include <net/if.h>

#include <cstring>

#include "ringkit/net.h"

namespace ringkit::net {
namespace {

// A decimal port: 1-5 digits, no sign or spaces, at most 65535.
std::optional<uint16_t> parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  uint32_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  if (value > 65535) return std::nullopt;
  return static_cast<uint16_t>(value);
}

std::optional<Address> parse_v4(std::string_view host, uint16_t port) {
  // inet_pton wants a C string; it takes only four decimal parts (no "1.2", hex or octal).
  if (host.empty() || host.size() >= INET_ADDRSTRLEN) return std::nullopt;
  char buf[INET_ADDRSTRLEN] = {};
  std::memcpy(buf, host.data(), host.size());
  in_addr addr{};
  if (inet_pton(AF_INET, buf, &addr) != 1) return std::nullopt;
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr = addr;
  sin.sin_port = htons(port);
  return Address::from_sockaddr(reinterpret_cast<const sockaddr*>(&sin), sizeof sin);
}

// "::1" or "fe80::1%eth0" / "fe80::1%2".
std::optional<Address> parse_v6(std::string_view host, uint16_t port) {
  uint32_t scope = 0;
  if (size_t pct = host.find('%'); pct != std::string_view::npos) {
    std::string_view zone = host.substr(pct + 1);
    host = host.substr(0, pct);
    if (zone.empty() || zone.size() >= IF_NAMESIZE) return std::nullopt;
    bool numeric = zone.find_first_not_of("0123456789") == std::string_view::npos;
    if (numeric) {
      if (zone.size() > 9) return std::nullopt;
      for (char c : zone) scope = scope * 10 + static_cast<uint32_t>(c - '0');
    } else {
      // A name lookup in the kernel's interface table: local and quick, unlike DNS.
      std::string name(zone);
      scope = if_nametoindex(name.c_str());
      if (scope == 0) return std::nullopt;
    }
  }
  if (host.empty() || host.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char buf[INET6_ADDRSTRLEN] = {};
  std::memcpy(buf, host.data(), host.size());
  in6_addr addr{};
  if (inet_pton(AF_INET6, buf, &addr) != 1) return std::nullopt;
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_addr = addr;
  sin6.sin6_port = htons(port);
  sin6.sin6_scope_id = scope;
  return Address::from_sockaddr(reinterpret_cast<const sockaddr*>(&sin6), sizeof sin6);
}

}  // namespace

Address Address::ipv4_any(uint16_t port) { return *parse_v4("0.0.0.0", port); }
Address Address::ipv6_any(uint16_t port) { return *parse_v6("::", port); }
Address Address::ipv4_loopback(uint16_t port) { return *parse_v4("127.0.0.1", port); }
Address Address::ipv6_loopback(uint16_t port) { return *parse_v6("::1", port); }

std::optional<Address> Address::parse(std::string_view text, uint16_t default_port) {
  if (text.empty()) return std::nullopt;
  if (text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    std::string_view host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    uint16_t port = default_port;
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      auto p = parse_port(rest.substr(1));
      if (!p) return std::nullopt;
      port = *p;
    }
    return parse_v6(host, port);
  }
  size_t colons = 0;
  for (char c : text) colons += c == ':';
  if (colons >= 2) return parse_v6(text, default_port);  // bare IPv6, no port
  if (colons == 0) {
    if (auto port = parse_port(text)) return ipv4_any(*port);  // "69": host-less
    return parse_v4(text, default_port);
  }
  size_t colon = text.find(':');
  auto port = parse_port(text.substr(colon + 1));
  if (!port) return std::nullopt;
  if (colon == 0) return ipv4_any(*port);  // ":69": host-less
  return parse_v4(text.substr(0, colon), *port);
}

std::optional<Address> Address::from_sockaddr(const struct sockaddr* sa, socklen_t len) {
  if (sa == nullptr) return std::nullopt;
  Address out;
  if (sa->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    std::memcpy(&out.u_.in4, sa, sizeof(sockaddr_in));
    out.len_ = sizeof(sockaddr_in);
    return out;
  }
  if (sa->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    std::memcpy(&out.u_.in6, sa, sizeof(sockaddr_in6));
    out.len_ = sizeof(sockaddr_in6);
    return out;
  }
  return std::nullopt;
}

uint16_t Address::port() const {
  if (is_v4()) return ntohs(u_.in4.sin_port);
  if (is_v6()) return ntohs(u_.in6.sin6_port);
  return 0;
}

void Address::set_port(uint16_t port) {
  if (is_v4()) u_.in4.sin_port = htons(port);
  if (is_v6()) u_.in6.sin6_port = htons(port);
}

std::string Address::host() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (is_v4()) {
    inet_ntop(AF_INET, &u_.in4.sin_addr, buf, sizeof buf);
  } else if (is_v6()) {
    inet_ntop(AF_INET6, &u_.in6.sin6_addr, buf, sizeof buf);
  }
  return buf;
}

std::string Address::to_string() const {
  // Built by appending: GCC 12 at -O3 reports `"[" + std::string` as an overlapping memcpy
  // (-Wrestrict, a false positive), which broke -Werror release builds.
  std::string out;
  if (is_v4()) {
    out += host();
  } else if (is_v6()) {
    out += '[';
    out += host();
    // Numeric scope: it parses back without depending on interface names.
    if (u_.in6.sin6_scope_id != 0) {
      out += '%';
      out += std::to_string(u_.in6.sin6_scope_id);
    }
    out += ']';
  } else {
    return out;
  }
  out += ':';
  out += std::to_string(port());
  return out;
}

bool operator==(const Address& a, const Address& b) {
  if (a.family() != b.family()) return false;
  if (a.is_v4()) {
    return a.u_.in4.sin_port == b.u_.in4.sin_port &&
           a.u_.in4.sin_addr.s_addr == b.u_.in4.sin_addr.s_addr;
  }
  if (a.is_v6()) {
    return a.u_.in6.sin6_port == b.u_.in6.sin6_port &&
           a.u_.in6.sin6_scope_id == b.u_.in6.sin6_scope_id &&
           std::memcmp(&a.u_.in6.sin6_addr, &b.u_.in6.sin6_addr, sizeof(in6_addr)) == 0;
  }
  return true;  // both empty
}

}  // namespace ringkit::net
