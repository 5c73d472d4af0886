// server_log.h and metrics.h: the transfer line's format (text and JSON) and the counters in
// Prometheus text format over the loopback HTTP endpoint.
#include "tftp/server_log.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "tftp/metrics.h"

namespace ringkit::tftp {
namespace {

using namespace std::chrono_literals;

TransferRecord sample() {
  TransferRecord r;
  r.client = "192.0.2.7:2070";
  r.op = "RRQ";
  r.file = "pxe linux\n\"0\"";
  r.mode = "octet";
  r.options = "blksize=1468 tsize=46468";
  r.result = "ok";
  r.bytes = 46468;
  r.duration = 3112us;
  r.retransmits = 2;
  r.timeouts = 1;
  r.spurious_timeouts = 1;
  return r;
}

TEST(ServerLog, TextLineIsKeyValueWithQuotedStrings) {
  EXPECT_EQ(ServerLog::format(sample(), false),
            "transfer client=192.0.2.7:2070 op=RRQ file=\"pxe linux\\x0a\\\"0\\\"\" mode=octet "
            "options=\"blksize=1468 tsize=46468\" result=ok bytes=46468 duration_ms=3.112 "
            "retransmits=2 timeouts=1 spurious_timeouts=1");
}

TEST(ServerLog, JsonLineParsesBackEvenWithInvalidUtf8) {
  TransferRecord r = sample();
  r.file = std::string("bad\xff name");
  auto j = nlohmann::json::parse(ServerLog::format(r, true));
  EXPECT_EQ(j["event"], "transfer");
  EXPECT_EQ(j["client"], "192.0.2.7:2070");
  EXPECT_EQ(j["bytes"], 46468);
  EXPECT_EQ(j["retransmits"], 2);
  EXPECT_EQ(j["spurious_timeouts"], 1);
  EXPECT_NEAR(j["duration_ms"].get<double>(), 3.112, 1e-9);
  EXPECT_EQ(j["file"].get<std::string>().substr(0, 3), "bad");
}

std::string http_get(const net::Address& to, const std::string& request) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (::connect(fd, to.sockaddr(), to.length()) != 0) {
    ::close(fd);
    return "<connect failed>";
  }
  (void)!::write(fd, request.data(), request.size());
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

TEST(Metrics, EndpointServesPrometheusText) {
  ServerMetrics m;
  ServerMetrics::add(m.completed, 3);
  ServerMetrics::add(m.dropped_rate);
  ServerMetrics::add(m.spurious_timeouts, 4);
  m.active.store(2);
  MetricsEndpoint endpoint(net::Address::ipv4_loopback(0), m);
  std::string reply = http_get(endpoint.address(), "GET /metrics HTTP/1.0\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << reply;
  EXPECT_NE(reply.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
  EXPECT_NE(reply.find("\nringtftpd_transfers_completed_total 3\n"), std::string::npos) << reply;
  EXPECT_NE(reply.find("\nringtftpd_active_transfers 2\n"), std::string::npos);
  EXPECT_NE(reply.find("\nringtftpd_spurious_timeouts_total 4\n"), std::string::npos);
  EXPECT_NE(reply.find("ringtftpd_requests_dropped_total{reason=\"rate\"} 1\n"), std::string::npos);
  EXPECT_NE(reply.find("# TYPE ringtftpd_active_transfers gauge"), std::string::npos);
  std::string refused = http_get(endpoint.address(), "POST / HTTP/1.0\r\n\r\n");
  EXPECT_EQ(refused.rfind("HTTP/1.0 405", 0), 0u) << refused;
}

}  // namespace
}  // namespace ringkit::tftp
