// ServerConfig: everything ringtftpd can be told, with its default and what it trades.
//
// Sources, later ones winning: the defaults below, the TOML file (--config, default
// /etc/ringtftpd.toml when it exists), then command-line flags that mirror in.tftpd's. The TOML
// layout (docs/ringtftpd.toml.example has every key):
//
//   [server]       listen, root, workers, port_range, user, chroot
//   [security]     follow_symlinks, permissive, uploads, upload_umask, upload_patterns,
//                  max_upload_size, refuse_options
//   [limits]       max_blksize, max_windowsize, max_sessions, max_sessions_per_client,
//                  requests_per_second_per_client, retransmit_ms, min_retransmit_ms,
//                  max_retransmit_ms, max_retries, shutdown_grace_s
//   [logging]      level, transfers, format
//   [metrics]      listen (loopback HTTP endpoint, Prometheus text)
//   [performance.platform.io_uring]  enabled, queue_depth, use_sqpoll, sq_thread_cpu,
//                  fallback_on_error, use_registered_buffers
//
// Parsing is strict: an unknown key, a value of the wrong type or out of range is an error
// that names the key (a typo in a security setting must not be silently ignored).
// A plain value: copy it freely; parse functions are thread-safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "ringkit/net.h"
#include "ringkit/settings.h"
#include "tftp/options.h"
#include "tftp/retransmit.h"

namespace ringkit::tftp {

// A configuration that cannot be used; what() names the key or flag and the reason.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class Uploads : uint8_t {
  kOff,        // every WRQ is refused (ERROR 2): the default
  kCreate,     // new files only; an existing name is refused with ERROR 6
  kOverwrite,  // new files, and existing files (world-writable ones unless permissive)
};
std::string_view to_string(Uploads uploads);

enum class LogLevel : uint8_t { kError, kWarning, kInfo, kDebug };

struct ServerConfig {
  // ---- [server] ----
  // Addresses to listen on (in.tftpd -a). Default: every IPv4 address, port 69. "[::]:69"
  // listens on IPv6 (and IPv4-mapped, unless the system sets bindv6only).
  std::vector<net::Address> listen = {net::Address::ipv4_any(69)};
  // The directory served (in.tftpd's directory argument). Requests cannot leave it.
  std::string root = "/srv/tftp";
  // Worker threads, one executor each, sharing the listening port (SO_REUSEPORT). 0: one per
  // CPU. Each worker serves its transfers entirely; more than the CPUs only adds contention.
  unsigned workers = 0;
  // Local ports for transfers (in.tftpd -R). Default: any free port the kernel picks.
  std::optional<std::pair<uint16_t, uint16_t>> port_range;
  // Drop to this user (and its groups) after binding (in.tftpd -u). Empty: stay as started.
  // Default "nobody" when started as root, as in.tftpd does.
  std::string user;
  bool user_set = false;  // false: apply the root-only default above
  // chroot(2) into root after opening it (in.tftpd -s). Not needed for confinement (every open
  // is resolved inside root by openat2); it adds a second wall. Needs root.
  bool chroot = false;

  // ---- [security] ----
  // Follow symlinks inside root. They are resolved as if root were "/", so none can lead out
  // either way; off refuses any path that crosses a symlink.
  bool follow_symlinks = true;
  // in.tftpd -p: skip the permission checks on top of the file system's (files served must
  // otherwise be world-readable; files overwritten, world-writable).
  bool permissive = false;
  // Uploads (WRQ). in.tftpd -c turns on kOverwrite (create and replace).
  Uploads uploads = Uploads::kOff;
  // Bits cleared from 0666 for uploaded files (in.tftpd -U). Default 022: rw-r--r--.
  mode_t upload_umask = 022;
  // Glob patterns (fnmatch, '/' matched only by '/') an upload's path must match, relative to
  // root without a leading '/'. Empty: any name.
  std::vector<std::string> upload_patterns;
  // Largest upload in bytes; a transfer that grows past it is stopped with ERROR 3. None by
  // default.
  std::optional<uint64_t> max_upload_size;
  // Options never acknowledged (in.tftpd -r).
  OptionSet refused_options;

  // ---- [limits] ----
  // Largest blksize granted (in.tftpd -B). 65464 by default; 1468 keeps blocks within one
  // Ethernet frame.
  uint16_t max_blksize = 65464;
  // Largest windowsize granted. 64 blocks: enough to fill a LAN; bigger bursts cost socket
  // buffer and resend more after a loss.
  uint16_t max_windowsize = 64;
  // Transfers at once, all clients together. Requests beyond it are dropped (not refused):
  // the client repeats its request after its timeout, which spreads a boot storm out instead
  // of failing machines. 0: unlimited.
  uint32_t max_sessions = 10000;
  // Transfers at once from one address; excess requests are dropped like above. 0: unlimited
  // (the default, as in.tftpd: NAT and load generators put many clients behind one address).
  uint32_t max_sessions_per_client = 0;
  // New requests per second accepted from one address (token bucket, burst twice the rate).
  // Excess requests are dropped. 0: unlimited (default).
  double requests_per_second_per_client = 0;
  // Retransmission (see retransmit.h): first wait, bounds, retries. in.tftpd -t sets the first
  // and longest wait in seconds; -T the first in microseconds.
  // The longest wait is 6 s, one more than tftp-hpa's and atftp's clients wait: atftp restarts
  // its timer on every repeated block and re-ACKs only when it runs out, so a server that
  // resends at least every 5 s would never hear from it again after a lost ACK.
  RetransmitPolicy retransmit = RetransmitPolicy{.max = std::chrono::seconds(6)};
  // On SIGTERM: stop taking requests, let running transfers finish for up to this long, then
  // cancel them.
  std::chrono::seconds shutdown_grace{30};

  // ---- [logging] ----
  LogLevel log_level = LogLevel::kInfo;  // -v raises it
  bool log_transfers = true;             // one line per finished transfer
  bool log_json = false;                 // lines as JSON objects instead of key=value

  // ---- [metrics] ----
  // Loopback HTTP endpoint serving the counters in Prometheus text format. None by default.
  std::optional<net::Address> metrics_listen;

  // ---- [performance.platform.io_uring] ----
  // The engine's settings for each worker. Defaults differ from the engine's in one place:
  // queue_depth 8192 (a completion queue of 16384): every transfer keeps a receive and its
  // timeout in flight, so a worker holds about 8000 waiting transfers without queueing any.
  EngineSettings engine = default_engine_settings();

  static EngineSettings default_engine_settings();
  // The server's limits for option negotiation.
  ServerOptionLimits option_limits() const;
};

// Reads a TOML file into `config` (keys not in the file keep their values).
// Throws ConfigError (file unreadable, syntax error with line, unknown key, bad value).
void load_config_file(const std::string& path, ServerConfig& config);
// Same, from TOML text (tests); `origin` names it in errors.
void load_config_text(std::string_view text, std::string_view origin, ServerConfig& config);

// Helpers shared with the command line. Each throws ConfigError naming `what`.
std::pair<uint16_t, uint16_t> parse_port_range(std::string_view text, std::string_view what);
mode_t parse_umask(std::string_view text, std::string_view what);
Uploads parse_uploads(std::string_view text, std::string_view what);
net::Address parse_listen_address(std::string_view text, uint16_t default_port,
                                  std::string_view what);
OptionId parse_option_name(std::string_view text, std::string_view what);

// Final checks and derived values (e.g. the root exists and is a directory). Throws ConfigError.
void validate(const ServerConfig& config);

}  // namespace ringkit::tftp
