// server_config.h: the TOML file and the flag helpers: every key read, strict errors that name
// the key, values range-checked.
#include "tftp/server_config.h"

#include <gtest/gtest.h>

#include <string>

namespace ringkit::tftp {
namespace {

using namespace std::chrono_literals;

ServerConfig parse(const std::string& text) {
  ServerConfig c;
  load_config_text(text, "test.toml", c);
  return c;
}

std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "<no error>";
}

TEST(ServerConfig, DefaultsAreSafe) {
  ServerConfig c;
  EXPECT_EQ(c.uploads, Uploads::kOff);
  EXPECT_FALSE(c.permissive);
  EXPECT_TRUE(c.follow_symlinks);
  EXPECT_EQ(c.listen.size(), 1u);
  EXPECT_EQ(c.listen[0].to_string(), "0.0.0.0:69");
  EXPECT_EQ(c.upload_umask, 022u);
  EXPECT_FALSE(c.metrics_listen);
  EXPECT_FALSE(c.engine.use_sqpoll);
}

TEST(ServerConfig, ReadsEverySection) {
  ServerConfig c = parse(R"(
[server]
listen = ["127.0.0.1:6969", "[::1]:6969"]
root = "/srv/boot"
workers = 3
port_range = "4096:4200"
user = "tftp"
chroot = true

[security]
follow_symlinks = false
permissive = true
uploads = "create"
upload_umask = "077"
upload_patterns = ["uploads/*", "*.log"]
max_upload_size = 1048576
refuse_options = ["windowsize", "TSIZE"]

[limits]
max_blksize = 1468
max_windowsize = 16
max_sessions = 500
max_sessions_per_client = 4
requests_per_second_per_client = 2.5
retransmit_ms = 500
min_retransmit_ms = 10
max_retransmit_ms = 3000
max_retries = 4
shutdown_grace_s = 5

[logging]
level = "debug"
transfers = false
format = "json"

[metrics]
listen = "127.0.0.1:9100"

[performance.platform.io_uring]
enabled = true
queue_depth = 1024
use_sqpoll = true
sq_thread_cpu = 1
fallback_on_error = false
use_registered_buffers = false
)");
  ASSERT_EQ(c.listen.size(), 2u);
  EXPECT_EQ(c.listen[1].to_string(), "[::1]:6969");
  EXPECT_EQ(c.root, "/srv/boot");
  EXPECT_EQ(c.workers, 3u);
  EXPECT_EQ(c.port_range, (std::pair<uint16_t, uint16_t>{4096, 4200}));
  EXPECT_EQ(c.user, "tftp");
  EXPECT_TRUE(c.user_set);
  EXPECT_TRUE(c.chroot);
  EXPECT_FALSE(c.follow_symlinks);
  EXPECT_TRUE(c.permissive);
  EXPECT_EQ(c.uploads, Uploads::kCreate);
  EXPECT_EQ(c.upload_umask, 077u);
  EXPECT_EQ(c.upload_patterns.size(), 2u);
  EXPECT_EQ(c.max_upload_size, 1048576u);
  EXPECT_TRUE(c.refused_options.contains(OptionId::kWindowsize));
  EXPECT_TRUE(c.refused_options.contains(OptionId::kTsize));
  EXPECT_FALSE(c.refused_options.contains(OptionId::kBlksize));
  EXPECT_EQ(c.max_blksize, 1468);
  EXPECT_EQ(c.max_windowsize, 16);
  EXPECT_EQ(c.max_sessions, 500u);
  EXPECT_EQ(c.max_sessions_per_client, 4u);
  EXPECT_DOUBLE_EQ(c.requests_per_second_per_client, 2.5);
  EXPECT_EQ(c.retransmit.initial, 500ms);
  EXPECT_EQ(c.retransmit.min, 10ms);
  EXPECT_EQ(c.retransmit.max, 3000ms);
  EXPECT_EQ(c.retransmit.max_retries, 4u);
  EXPECT_EQ(c.shutdown_grace, 5s);
  EXPECT_EQ(c.log_level, LogLevel::kDebug);
  EXPECT_FALSE(c.log_transfers);
  EXPECT_TRUE(c.log_json);
  ASSERT_TRUE(c.metrics_listen);
  EXPECT_EQ(c.metrics_listen->to_string(), "127.0.0.1:9100");
  EXPECT_EQ(c.engine.backend, BackendKind::kUring);
  EXPECT_EQ(c.engine.queue_depth, 1024u);
  EXPECT_TRUE(c.engine.use_sqpoll);
  EXPECT_EQ(c.engine.sq_thread_cpu, 1);
  EXPECT_FALSE(c.engine.fallback_on_error);
  EXPECT_FALSE(c.engine.use_registered_buffers);
  auto limits = c.option_limits();
  EXPECT_EQ(limits.max_blksize, 1468);
  EXPECT_EQ(limits.max_upload_size, 1048576u);
}

TEST(ServerConfig, ASingleListenStringAndIoUringOff) {
  ServerConfig c = parse("[server]\nlisten = \":6969\"\n[performance.platform.io_uring]\nenabled = false\n");
  ASSERT_EQ(c.listen.size(), 1u);
  EXPECT_EQ(c.listen[0].to_string(), "0.0.0.0:6969");
  EXPECT_EQ(c.engine.backend, BackendKind::kThreads);
}

TEST(ServerConfig, ErrorsNameTheKey) {
  EXPECT_NE(error_of("[security]\nupload = \"create\"\n").find("unknown setting security.upload"),
            std::string::npos);
  EXPECT_NE(error_of("[sever]\n").find("unknown setting .sever"), std::string::npos);
  EXPECT_NE(error_of("[limits]\nmax_blksize = 70000\n").find("limits.max_blksize: 70000 is outside 8..65464"),
            std::string::npos);
  EXPECT_NE(error_of("[limits]\nmax_blksize = \"big\"\n").find("limits.max_blksize: expected an integer"),
            std::string::npos);
  EXPECT_NE(error_of("[security]\nuploads = \"yes\"\n").find("is not off, create or overwrite"),
            std::string::npos);
  EXPECT_NE(error_of("[security]\nupload_umask = \"999\"\n").find("octal umask"), std::string::npos);
  EXPECT_NE(error_of("[security]\nrefuse_options = [\"bogus\"]\n").find("is not blksize"),
            std::string::npos);
  EXPECT_NE(error_of("[server]\nlisten = \"tftp.example.com\"\n").find("numeric only"),
            std::string::npos);
  EXPECT_NE(error_of("[server]\nport_range = \"9:1\"\n").find("port range"), std::string::npos);
  EXPECT_NE(error_of("[performance.platform.io_uring]\nsqpoll = true\n")
                .find("unknown setting performance.platform.io_uring.sqpoll"),
            std::string::npos);
  EXPECT_NE(error_of("[server\n").find("test.toml:1"), std::string::npos) << error_of("[server\n");
  EXPECT_NE(error_of("[logging]\nlevel = \"loud\"\n").find("logging.level"), std::string::npos);
}

TEST(ServerConfig, KeysNotInTheFileKeepTheirValues) {
  ServerConfig c;
  c.root = "/from/flags";
  load_config_text("[limits]\nmax_windowsize = 8\n", "t", c);
  EXPECT_EQ(c.root, "/from/flags");
  EXPECT_EQ(c.max_windowsize, 8);
}

TEST(ServerConfig, ValidateChecksRootAndMetricsAddress) {
  ServerConfig c;
  c.root = "/nonexistent/dir";
  EXPECT_THROW(validate(c), ConfigError);
  c.root = "/etc/hostname";
  EXPECT_THROW(validate(c), ConfigError);
  c.root = "/tmp";
  EXPECT_NO_THROW(validate(c));
  c.metrics_listen = net::Address::parse("0.0.0.0:9100");
  EXPECT_THROW(validate(c), ConfigError) << "counters are served on loopback only";
  c.metrics_listen = net::Address::parse("[::1]:9100");
  EXPECT_NO_THROW(validate(c));
}

TEST(ServerConfig, FlagHelpers) {
  EXPECT_EQ(parse_umask("0", "-U"), 0u);
  EXPECT_EQ(parse_umask("0022", "-U"), 022u);
  EXPECT_THROW(parse_umask("8", "-U"), ConfigError);
  EXPECT_THROW(parse_umask("", "-U"), ConfigError);
  EXPECT_EQ(parse_port_range("1:65535", "-R"), (std::pair<uint16_t, uint16_t>{1, 65535}));
  EXPECT_THROW(parse_port_range("0:10", "-R"), ConfigError);
  EXPECT_THROW(parse_port_range("10", "-R"), ConfigError);
  EXPECT_THROW(parse_port_range("10:70000", "-R"), ConfigError);
  EXPECT_EQ(parse_listen_address("127.0.0.1", 69, "-a").to_string(), "127.0.0.1:69");
  EXPECT_EQ(parse_option_name("BlkSize", "-r"), OptionId::kBlksize);
}

}  // namespace
}  // namespace ringkit::tftp

namespace ringkit::tftp {
namespace {

// docs/ringtftpd.toml.example documents every key with its default: it must parse, and give
// the defaults.
TEST(ServerConfig, TheExampleFileHoldsTheDefaults) {
  ServerConfig c;
  load_config_file(RINGKIT_SOURCE_DIR "/docs/ringtftpd.toml.example", c);
  ServerConfig d;
  EXPECT_EQ(c.listen, d.listen);
  EXPECT_EQ(c.root, d.root);
  EXPECT_EQ(c.workers, d.workers);
  EXPECT_EQ(c.port_range, d.port_range);
  EXPECT_EQ(c.user_set, d.user_set);
  EXPECT_EQ(c.chroot, d.chroot);
  EXPECT_EQ(c.follow_symlinks, d.follow_symlinks);
  EXPECT_EQ(c.permissive, d.permissive);
  EXPECT_EQ(c.uploads, d.uploads);
  EXPECT_EQ(c.upload_umask, d.upload_umask);
  EXPECT_EQ(c.upload_patterns, d.upload_patterns);
  EXPECT_EQ(c.max_upload_size, d.max_upload_size);
  EXPECT_TRUE(c.refused_options.empty());
  EXPECT_EQ(c.max_blksize, d.max_blksize);
  EXPECT_EQ(c.max_windowsize, d.max_windowsize);
  EXPECT_EQ(c.max_sessions, d.max_sessions);
  EXPECT_EQ(c.max_sessions_per_client, d.max_sessions_per_client);
  EXPECT_EQ(c.requests_per_second_per_client, d.requests_per_second_per_client);
  EXPECT_EQ(c.retransmit.initial, d.retransmit.initial);
  EXPECT_EQ(c.retransmit.min, d.retransmit.min);
  EXPECT_EQ(c.retransmit.max, d.retransmit.max);
  EXPECT_EQ(c.retransmit.max_retries, d.retransmit.max_retries);
  EXPECT_EQ(c.shutdown_grace, d.shutdown_grace);
  EXPECT_EQ(c.log_level, d.log_level);
  EXPECT_EQ(c.log_transfers, d.log_transfers);
  EXPECT_EQ(c.log_json, d.log_json);
  EXPECT_EQ(c.metrics_listen, d.metrics_listen);
  EXPECT_EQ(c.engine.queue_depth, d.engine.queue_depth);
  EXPECT_EQ(c.engine.use_sqpoll, d.engine.use_sqpoll);
  EXPECT_EQ(c.engine.sq_thread_cpu, d.engine.sq_thread_cpu);
  EXPECT_EQ(c.engine.fallback_on_error, d.engine.fallback_on_error);
  EXPECT_EQ(c.engine.use_registered_buffers, d.engine.use_registered_buffers);
}

}  // namespace
}  // namespace ringkit::tftp
