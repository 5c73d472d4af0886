// Option negotiation: tables of requests × server limits → OACK, the tsize rules for RRQ and
// WRQ, refused and unknown options, and the client's checks of an OACK.
#include "tftp/options.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tftp_test_util.h"

namespace ringkit::tftp {
namespace {

using namespace std::string_literals;
using testing::as_span;
using testing::built;

using Accepted = std::vector<AcceptedOption>;
constexpr OptionId kB = OptionId::kBlksize;
constexpr OptionId kT = OptionId::kTimeout;
constexpr OptionId kS = OptionId::kTsize;
constexpr OptionId kW = OptionId::kWindowsize;

Accepted accepted_of(const Negotiated& n) { return Accepted(n.oack().begin(), n.oack().end()); }

TEST(TftpOptions, ParseDecimal) {
  EXPECT_EQ(parse_decimal("0"), 0u);
  EXPECT_EQ(parse_decimal("512"), 512u);
  EXPECT_EQ(parse_decimal("000512"), 512u);
  EXPECT_EQ(parse_decimal("18446744073709551615"), UINT64_MAX);
  EXPECT_EQ(parse_decimal("18446744073709551616"), std::nullopt) << "overflow";
  EXPECT_EQ(parse_decimal("99999999999999999999999"), std::nullopt);
  for (const char* bad : {"", " 512", "512 ", "+512", "-1", "0x200", "5.12", "1e3", "abc"}) {
    EXPECT_EQ(parse_decimal(bad), std::nullopt) << bad;
  }
}

TEST(TftpOptions, NamesAreCaseInsensitive) {
  EXPECT_EQ(option_id("blksize"), kB);
  EXPECT_EQ(option_id("BLKSIZE"), kB);
  EXPECT_EQ(option_id("TimeOut"), kT);
  EXPECT_EQ(option_id("TSIZE"), kS);
  EXPECT_EQ(option_id("WindowSize"), kW);
  EXPECT_EQ(option_id("blksize2"), std::nullopt);
  EXPECT_EQ(option_id("utimeout"), std::nullopt);
  EXPECT_EQ(option_id(""), std::nullopt);
}

struct Row {
  const char* what;
  std::vector<Option> options;
  ServerOptionLimits limits;
  Accepted oack;
  uint16_t blksize;
  uint16_t windowsize;
};

ServerOptionLimits limits_with(uint16_t max_blksize, uint16_t max_windowsize) {
  ServerOptionLimits l;
  l.max_blksize = max_blksize;
  l.max_windowsize = max_windowsize;
  return l;
}

ServerOptionLimits refusing(OptionSet refused) {
  ServerOptionLimits l;
  l.refused = refused;
  return l;
}

ServerOptionLimits timeouts(uint8_t lo, uint8_t hi) {
  ServerOptionLimits l;
  l.min_timeout = lo;
  l.max_timeout = hi;
  return l;
}

TEST(TftpOptions, ServerNegotiationTable) {
  const ServerOptionLimits defaults;
  const Row rows[] = {
      {"no options", {}, defaults, {}, 512, 1},
      {"blksize granted", {{"blksize", "1432"}}, defaults, {{kB, 1432}}, 1432, 1},
      {"blksize min 8", {{"blksize", "8"}}, defaults, {{kB, 8}}, 8, 1},
      {"blksize 7 ignored", {{"blksize", "7"}}, defaults, {}, 512, 1},
      {"blksize 0 ignored", {{"blksize", "0"}}, defaults, {}, 512, 1},
      {"blksize max", {{"blksize", "65464"}}, defaults, {{kB, 65464}}, 65464, 1},
      {"blksize above RFC max clamped", {{"blksize", "65465"}}, defaults, {{kB, 65464}}, 65464, 1},
      {"blksize huge clamped", {{"blksize", "4000000000"}}, defaults, {{kB, 65464}}, 65464, 1},
      {"blksize clamped to config", {{"blksize", "8192"}}, limits_with(1468, 64), {{kB, 1468}}, 1468, 1},
      {"blksize under config kept", {{"blksize", "1024"}}, limits_with(1468, 64), {{kB, 1024}}, 1024, 1},
      {"config max below 8 means 8", {{"blksize", "1024"}}, limits_with(2, 64), {{kB, 8}}, 8, 1},
      {"blksize not a number", {{"blksize", "big"}}, defaults, {}, 512, 1},
      {"blksize with sign", {{"blksize", "+1024"}}, defaults, {}, 512, 1},
      {"windowsize granted", {{"windowsize", "16"}}, defaults, {{kW, 16}}, 512, 16},
      {"windowsize clamped", {{"windowsize", "1000"}}, defaults, {{kW, 64}}, 512, 64},
      {"windowsize clamped to 1", {{"windowsize", "8"}}, limits_with(65464, 1), {{kW, 1}}, 512, 1},
      {"windowsize config 0 means 1", {{"windowsize", "8"}}, limits_with(65464, 0), {{kW, 1}}, 512, 1},
      {"windowsize 0 ignored", {{"windowsize", "0"}}, defaults, {}, 512, 1},
      {"windowsize 65535", {{"windowsize", "65535"}}, limits_with(65464, 65535), {{kW, 65535}}, 512, 65535},
      {"timeout granted", {{"timeout", "5"}}, defaults, {{kT, 5}}, 512, 1},
      {"timeout 1 and 255", {{"timeout", "1"}}, defaults, {{kT, 1}}, 512, 1},
      {"timeout 255", {{"timeout", "255"}}, defaults, {{kT, 255}}, 512, 1},
      {"timeout 0 ignored", {{"timeout", "0"}}, defaults, {}, 512, 1},
      {"timeout 256 ignored", {{"timeout", "256"}}, defaults, {}, 512, 1},
      {"timeout below config ignored", {{"timeout", "1"}}, timeouts(2, 10), {}, 512, 1},
      {"timeout above config ignored", {{"timeout", "11"}}, timeouts(2, 10), {}, 512, 1},
      {"timeout inside config", {{"timeout", "10"}}, timeouts(2, 10), {{kT, 10}}, 512, 1},
      {"unknown ignored", {{"multicast", ""}, {"utimeout", "5000"}, {"x", "1"}}, defaults, {}, 512, 1},
      {"order kept", {{"windowsize", "4"}, {"timeout", "2"}, {"blksize", "1024"}}, defaults,
       {{kW, 4}, {kT, 2}, {kB, 1024}}, 1024, 4},
      {"names any case, answered lowercase", {{"BLKSIZE", "1024"}, {"WindowSize", "2"}}, defaults,
       {{kB, 1024}, {kW, 2}}, 1024, 2},
      {"duplicate: first wins", {{"blksize", "1024"}, {"BLKSIZE", "2048"}}, defaults, {{kB, 1024}}, 1024, 1},
      {"duplicate: an invalid first still counts", {{"blksize", "4"}, {"blksize", "2048"}}, defaults, {}, 512, 1},
      {"refused blksize", {{"blksize", "1024"}, {"timeout", "3"}}, refusing({kB}), {{kT, 3}}, 512, 1},
      {"refused all", {{"blksize", "1024"}, {"timeout", "3"}, {"windowsize", "8"}},
       refusing({kB, kT, kW, kS}), {}, 512, 1},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.what);
    Request request{Opcode::kRrq, "f", Mode::kOctet, "octet", row.options};
    auto n = negotiate(request, row.limits, std::nullopt);
    ASSERT_TRUE(n.ok()) << n.error().message();
    EXPECT_EQ(accepted_of(*n), row.oack);
    EXPECT_EQ(n->needs_oack(), !row.oack.empty());
    EXPECT_EQ(n->blksize, row.blksize);
    EXPECT_EQ(n->windowsize, row.windowsize);
  }
}

TEST(TftpOptions, TsizeOnReadAnswersTheTransferSize) {
  Request rrq{Opcode::kRrq, "f", Mode::kOctet, "octet", {{"tsize", "0"}}};
  auto n = negotiate(rrq, {}, 123456);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(accepted_of(*n), (Accepted{{kS, 123456}}));
  EXPECT_EQ(n->tsize, 123456u);

  // No size stated (e.g. netascii without counting): tsize is not acknowledged.
  auto unknown = negotiate(rrq, {}, std::nullopt);
  ASSERT_TRUE(unknown.ok());
  EXPECT_FALSE(unknown->needs_oack());
  EXPECT_EQ(unknown->tsize, std::nullopt);

  // A client sending a non-zero tsize in an RRQ still gets the size.
  rrq.options = {{"tsize", "77"}};
  EXPECT_EQ(accepted_of(*negotiate(rrq, {}, 5)), (Accepted{{kS, 5}}));
  // An empty file.
  rrq.options = {{"tsize", "0"}};
  EXPECT_EQ(accepted_of(*negotiate(rrq, {}, 0)), (Accepted{{kS, 0}}));
  // Not a number: ignored.
  rrq.options = {{"tsize", "?"}};
  EXPECT_FALSE(negotiate(rrq, {}, 5)->needs_oack());
}

TEST(TftpOptions, TsizeOnWriteIsEchoedOrRefused) {
  Request wrq{Opcode::kWrq, "f", Mode::kOctet, "octet", {{"tsize", "1000"}, {"blksize", "1024"}}};
  auto n = negotiate(wrq, {}, 999999);  // a size given for a WRQ is not used
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(accepted_of(*n), (Accepted{{kS, 1000}, {kB, 1024}}));
  EXPECT_EQ(n->tsize, 1000u);

  ServerOptionLimits limits;
  limits.max_upload_size = 1000;
  EXPECT_TRUE(negotiate(wrq, limits, std::nullopt).ok()) << "exactly the limit is allowed";
  limits.max_upload_size = 999;
  auto refused = negotiate(wrq, limits, std::nullopt);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error(), Errc::kUploadTooLarge);
  EXPECT_EQ(wire_error(refused.error()), ErrorCode::kDiskFull);

  // A refused tsize option is invisible: no check, no acknowledgement.
  limits.refused = {kS};
  auto invisible = negotiate(wrq, limits, std::nullopt);
  ASSERT_TRUE(invisible.ok());
  EXPECT_EQ(accepted_of(*invisible), (Accepted{{kB, 1024}}));
}

TEST(TftpOptions, OackBytes) {
  Request rrq{Opcode::kRrq, "f", Mode::kOctet, "octet",
              {{"TSIZE", "0"}, {"blksize", "1432"}, {"windowsize", "100"}}};
  auto n = negotiate(rrq, {}, 4096);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(built([&](auto out) { return build_oack(out, *n); }),
            "\x00\x06" "tsize\0" "4096\0" "blksize\0" "1432\0" "windowsize\0" "64\0"s);
  std::vector<std::byte> tiny(10);
  auto small = build_oack(tiny, *n);
  ASSERT_FALSE(small.ok());
  EXPECT_EQ(small.error(), Errc::kBufferTooSmall);
}

// ---- client side ----

TEST(TftpOptions, ClientRequestBytes) {
  ClientOptions asked;
  asked.blksize = 1468;
  asked.timeout = 3;
  asked.tsize = 5555;
  asked.windowsize = 8;
  EXPECT_EQ(built([&](auto out) { return build_request(out, Opcode::kRrq, "boot/x", Mode::kOctet, asked); }),
            "\x00\x01" "boot/x\0" "octet\0" "blksize\0" "1468\0" "timeout\0" "3\0" "tsize\0" "0\0"
            "windowsize\0" "8\0"s)
      << "an RRQ asks for tsize with 0";
  EXPECT_EQ(built([&](auto out) { return build_request(out, Opcode::kWrq, "u", Mode::kNetascii, asked); }),
            "\x00\x02" "u\0" "netascii\0" "blksize\0" "1468\0" "timeout\0" "3\0" "tsize\0" "5555\0"
            "windowsize\0" "8\0"s);
  EXPECT_EQ(built([&](auto out) { return build_request(out, Opcode::kRrq, "f", Mode::kOctet, {}); }),
            "\x00\x01" "f\0" "octet\0"s);
}

TEST(TftpOptions, ClientRequestRejectsValuesOutOfRange) {
  const std::string invalid = "<error: invalid packet field>";
  auto with = [](auto set) {
    ClientOptions o;
    set(o);
    return built([&](auto out) { return build_request(out, Opcode::kRrq, "f", Mode::kOctet, o); });
  };
  EXPECT_EQ(with([](ClientOptions& o) { o.blksize = 7; }), invalid);
  EXPECT_EQ(with([](ClientOptions& o) { o.blksize = 65465; }), invalid);
  EXPECT_EQ(with([](ClientOptions& o) { o.timeout = 0; }), invalid);
  EXPECT_EQ(with([](ClientOptions& o) { o.windowsize = 0; }), invalid);
  EXPECT_EQ(built([](auto out) { return build_request(out, Opcode::kRrq, "", Mode::kOctet, {}); }), invalid);
  EXPECT_EQ(built([](auto out) { return build_request(out, Opcode::kData, "f", Mode::kOctet, {}); }), invalid);
}

struct OackRow {
  const char* what;
  Opcode opcode;
  std::vector<Option> oack;
  std::optional<Errc> error;  // nullopt: accepted
};

TEST(TftpOptions, ClientOackValidationTable) {
  ClientOptions asked;
  asked.blksize = 1468;
  asked.timeout = 4;
  asked.tsize = 1000;
  asked.windowsize = 16;
  const OackRow rows[] = {
      {"everything as asked", Opcode::kRrq,
       {{"blksize", "1468"}, {"timeout", "4"}, {"tsize", "77"}, {"windowsize", "16"}}, std::nullopt},
      {"nothing acknowledged", Opcode::kRrq, {}, std::nullopt},
      {"lowered blksize and windowsize", Opcode::kRrq, {{"blksize", "512"}, {"windowsize", "1"}}, std::nullopt},
      {"names in any case", Opcode::kRrq, {{"BlkSize", "1024"}}, std::nullopt},
      {"blksize raised", Opcode::kRrq, {{"blksize", "1469"}}, Errc::kOptionValueRaised},
      {"windowsize raised", Opcode::kRrq, {{"windowsize", "17"}}, Errc::kOptionValueRaised},
      {"blksize below 8", Opcode::kRrq, {{"blksize", "7"}}, Errc::kBadOptionValue},
      {"windowsize 0", Opcode::kRrq, {{"windowsize", "0"}}, Errc::kBadOptionValue},
      {"blksize not a number", Opcode::kRrq, {{"blksize", "1k"}}, Errc::kBadOptionValue},
      {"tsize not a number", Opcode::kRrq, {{"tsize", "-1"}}, Errc::kBadOptionValue},
      {"timeout not a number", Opcode::kRrq, {{"timeout", "x"}}, Errc::kBadOptionValue},
      {"timeout changed", Opcode::kRrq, {{"timeout", "5"}}, Errc::kOptionValueChanged},
      {"WRQ tsize echoed", Opcode::kWrq, {{"tsize", "1000"}}, std::nullopt},
      {"WRQ tsize changed", Opcode::kWrq, {{"tsize", "999"}}, Errc::kOptionValueChanged},
      {"unknown option added", Opcode::kRrq, {{"multicast", "1"}}, Errc::kUnrequestedOption},
      {"duplicate", Opcode::kRrq, {{"blksize", "512"}, {"BLKSIZE", "512"}}, Errc::kDuplicateOption},
  };
  for (const OackRow& row : rows) {
    SCOPED_TRACE(row.what);
    auto n = accept_oack(Oack{row.oack}, asked, row.opcode);
    if (row.error) {
      ASSERT_FALSE(n.ok());
      EXPECT_EQ(n.error(), *row.error) << n.error().message();
      EXPECT_EQ(wire_error(n.error()), ErrorCode::kOptionNegotiation);
    } else {
      EXPECT_TRUE(n.ok()) << n.error().message();
    }
  }
}

TEST(TftpOptions, ClientRejectsOptionsItDidNotAskFor) {
  ClientOptions only_blksize;
  only_blksize.blksize = 1024;
  for (const char* name : {"timeout", "tsize", "windowsize"}) {
    auto n = accept_oack(Oack{{{name, "1"}}}, only_blksize, Opcode::kRrq);
    ASSERT_FALSE(n.ok()) << name;
    EXPECT_EQ(n.error(), Errc::kUnrequestedOption);
  }
  auto none = accept_oack(Oack{{{"blksize", "512"}}}, ClientOptions{}, Opcode::kRrq);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error(), Errc::kUnrequestedOption);
}

TEST(TftpOptions, ClientGetsTheParametersToRunWith) {
  ClientOptions asked;
  asked.blksize = 8192;
  asked.tsize = 0;
  asked.windowsize = 32;
  auto n = accept_oack(Oack{{{"tsize", "1048576"}, {"blksize", "1468"}}}, asked, Opcode::kRrq);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->blksize, 1468);
  EXPECT_EQ(n->windowsize, 1) << "windowsize not acknowledged: stop-and-wait";
  EXPECT_EQ(n->tsize, 1048576u);
  EXPECT_EQ(n->timeout, std::nullopt);
}

TEST(TftpOptions, ClientAndServerAgreeOverTheWire) {
  // Client request -> bytes -> server parse + negotiate -> OACK bytes -> client parse + check.
  ClientOptions asked;
  asked.blksize = 9000;
  asked.timeout = 2;
  asked.tsize = 0;
  asked.windowsize = 200;
  ServerOptionLimits limits = limits_with(1468, 32);
  for (Opcode opcode : {Opcode::kRrq, Opcode::kWrq}) {
    SCOPED_TRACE(static_cast<int>(opcode));
    std::string req = built([&](auto out) { return build_request(out, opcode, "f", Mode::kOctet, asked); });
    auto parsed = parse_packet(as_span(req));
    ASSERT_TRUE(parsed.ok());
    auto server = negotiate(std::get<Request>(*parsed), limits, 31337);
    ASSERT_TRUE(server.ok());
    std::string oack = built([&](auto out) { return build_oack(out, *server); });
    auto oack_packet = parse_packet(as_span(oack));
    ASSERT_TRUE(oack_packet.ok());
    auto client = accept_oack(std::get<Oack>(*oack_packet), asked, opcode);
    ASSERT_TRUE(client.ok()) << client.error().message();
    EXPECT_EQ(client->blksize, 1468);
    EXPECT_EQ(client->windowsize, 32);
    EXPECT_EQ(client->timeout, 2);
    EXPECT_EQ(client->tsize, opcode == Opcode::kRrq ? 31337u : 0u);
    EXPECT_EQ(client->blksize, server->blksize);
    EXPECT_EQ(client->windowsize, server->windowsize);
    EXPECT_EQ(accepted_of(*client), accepted_of(*server));
  }
}

}  // namespace
}  // namespace ringkit::tftp
