// ringtftpd: the TFTP server. Flags mirror in.tftpd's (tftpd-hpa) so that existing command
// lines keep working; everything else is in the TOML configuration (src/tftp/server_config.h,
// docs/ringtftpd.8).
#include <CLI/CLI.hpp>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <systemd/sd-daemon.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tftp/server.h"
#include "tftp/server_config.h"

namespace {

using namespace ringkit;
using namespace ringkit::tftp;

constexpr const char* kDefaultConfig = "/etc/ringtftpd.toml";

// What the command line said, kept so that a reload (SIGHUP) re-applies it over the file.
struct CommandLine {
  std::string config_path;
  bool config_given = false;
  std::vector<std::string> addresses;
  std::vector<std::string> directories;
  bool secure = false;
  bool create = false;
  std::string user;
  std::string umask;
  bool permissive = false;
  std::optional<int> blocksize;
  std::optional<int> timeout_s;
  std::optional<long> retransmit_us;
  std::string port_range;
  std::vector<std::string> refuse;
  int verbose = 0;
  bool foreground = false;
  bool background = false;
  std::optional<unsigned> workers;
  std::string metrics;
  bool version = false;
};

// Defaults, then the file, then the flags.
ServerConfig build_config(const CommandLine& cl) {
  ServerConfig c;
  if (cl.config_given || std::filesystem::exists(cl.config_path)) {
    load_config_file(cl.config_path, c);
  }
  if (!cl.addresses.empty()) {
    c.listen.clear();
    for (const auto& a : cl.addresses) c.listen.push_back(parse_listen_address(a, 69, "-a"));
  }
  if (!cl.directories.empty()) c.root = cl.directories.front();
  if (cl.secure) c.chroot = true;
  if (cl.create) c.uploads = Uploads::kOverwrite;
  if (!cl.user.empty()) {
    c.user = cl.user;
    c.user_set = true;
  }
  if (!cl.umask.empty()) c.upload_umask = parse_umask(cl.umask, "-U");
  if (cl.permissive) c.permissive = true;
  if (cl.blocksize) c.max_blksize = static_cast<uint16_t>(*cl.blocksize);
  if (cl.timeout_s) {
    c.retransmit.initial = std::chrono::seconds(*cl.timeout_s);
    c.retransmit.max = c.retransmit.initial;
  }
  if (cl.retransmit_us) c.retransmit.initial = std::chrono::microseconds(*cl.retransmit_us);
  if (!cl.port_range.empty()) c.port_range = parse_port_range(cl.port_range, "-R");
  for (const auto& r : cl.refuse) c.refused_options.insert(parse_option_name(r, "-r"));
  for (int i = 0; i < cl.verbose && c.log_level != LogLevel::kDebug; ++i) {
    c.log_level = static_cast<LogLevel>(static_cast<int>(c.log_level) + 1);
  }
  if (cl.workers) c.workers = *cl.workers;
  if (!cl.metrics.empty()) c.metrics_listen = parse_listen_address(cl.metrics, 9169, "--metrics");
  return c;
}

// chroot (if asked) and the switch to an unprivileged user, after the sockets are bound. The
// user and its groups are looked up first: inside the chroot there is no /etc/passwd.
void drop_privileges(const ServerConfig& c) {
  std::string user = c.user;
  if (!c.user_set && ::geteuid() == 0) user = "nobody";  // in.tftpd's default
  std::optional<passwd> pw;
  std::vector<gid_t> groups;
  if (!user.empty()) {
    if (::geteuid() != 0) throw ConfigError("-u " + user + ": only root can switch users");
    passwd* found = ::getpwnam(user.c_str());
    if (found == nullptr) throw ConfigError("-u " + user + ": no such user");
    pw = *found;
    int count = 64;
    groups.resize(static_cast<size_t>(count));
    if (::getgrouplist(found->pw_name, found->pw_gid, groups.data(), &count) < 0) {
      groups.resize(static_cast<size_t>(count));
      ::getgrouplist(found->pw_name, found->pw_gid, groups.data(), &count);
    }
    groups.resize(static_cast<size_t>(count));
  }
  if (c.chroot) {
    if (::chroot(c.root.c_str()) != 0 || ::chdir("/") != 0) {
      throw std::system_error(errno, std::system_category(), "chroot " + c.root);
    }
  }
  if (!pw) return;
  if (::setgroups(groups.size(), groups.data()) != 0 || ::setgid(pw->pw_gid) != 0 ||
      ::setuid(pw->pw_uid) != 0) {
    throw std::system_error(errno, std::system_category(), "switching to user " + user);
  }
  if (pw->pw_uid != 0 && ::setuid(0) == 0) throw ConfigError("could not drop root privileges");
}

// More descriptors: every transfer holds its socket; the files it serves are shared (one
// descriptor per file per worker). Root may raise the hard limit too, up to fs.nr_open.
void raise_fd_limit(const ServerConfig& c) {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  rlim_t needed = c.max_sessions == 0 ? lim.rlim_max : rlim_t{c.max_sessions} + 1024;
  if (lim.rlim_max < needed && ::geteuid() == 0) {
    rlim_t nr_open = needed;
    if (FILE* f = std::fopen("/proc/sys/fs/nr_open", "r")) {
      unsigned long long v = 0;
      if (std::fscanf(f, "%llu", &v) == 1) nr_open = v;
      std::fclose(f);
    }
    rlimit raised{std::min(needed, nr_open), std::min(needed, nr_open)};
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) lim = raised;
  }
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
  ::getrlimit(RLIMIT_NOFILE, &lim);
  if (lim.rlim_cur < needed) {
    std::fprintf(stderr,
                 "ringtftpd: warning: the descriptor limit (%llu) leaves too little room for "
                 "limits.max_sessions (%u) transfers, a socket each; the excess will be refused "
                 "(raise LimitNOFILE or ulimit -n)\n",
                 static_cast<unsigned long long>(lim.rlim_cur), c.max_sessions);
  }
}

// Sockets handed over by systemd (socket activation), if any.
std::vector<net::Socket> inherited_sockets() {
  std::vector<net::Socket> out;
  int n = sd_listen_fds(1);
  for (int i = 0; i < n; ++i) out.emplace_back(SD_LISTEN_FDS_START + i);
  return out;
}

constexpr const char* kDescription =
    "ringtftpd: a TFTP server for many simultaneous network-boot clients (RFC 1350, 2347, 2348,\n"
    "2349, 7440), on io_uring with a thread-pool fallback. Flags follow in.tftpd (tftpd-hpa);\n"
    "everything else is set in the TOML configuration.\n";

constexpr const char* kFooter = R"(
Files are served from DIRECTORY (default /srv/tftp) and nothing outside it: paths are resolved
inside it ("/" means DIRECTORY), ".." components are refused, symlinks cannot lead out.
Only world-readable regular files are served unless -p. Uploads are refused unless -c (or
security.uploads in the configuration).

Signals: SIGHUP reloads the configuration (and re-applies these flags), SIGTERM/SIGINT stop
taking requests and let running transfers finish (limits.shutdown_grace_s, default 30 s),
SIGUSR1 writes the counters to stderr.

Examples:
  ringtftpd -L -a 127.0.0.1:6969 -s /srv/tftp     as `in.tftpd -L -a 127.0.0.1:6969 -s /srv/tftp`
  ringtftpd -L --config /etc/ringtftpd.toml        everything from the file
  ringtftpd -L -c -U 022 -u tftp /srv/tftp          allow uploads, as user tftp

Exit status: 0 after a clean stop, 1 for a bad configuration or command line, 2 when the
server could not start (address in use, root not readable).
See ringtftpd(8) and docs/ringtftpd.toml.example.)";

}  // namespace

int main(int argc, char** argv) {
  CommandLine cl;
  cl.config_path = kDefaultConfig;
  CLI::App app{kDescription, "ringtftpd"};
  app.footer(kFooter);
  app.get_formatter()->column_width(34);
  auto* config_opt = app.add_option("--config", cl.config_path,
                                    "TOML configuration (default /etc/ringtftpd.toml, if it exists)");
  app.add_option("-a,--address", cl.addresses,
                 "listen on ADDRESS[:PORT] (default 0.0.0.0:69; [::]:69 for IPv6); repeatable")
      ->type_name("ADDR")
      ->allow_extra_args(false);
  app.add_option("directory", cl.directories, "the directory to serve (default /srv/tftp)")
      ->type_name("DIRECTORY");
  app.add_flag("-s,--secure", cl.secure, "chroot into the directory after starting (in.tftpd -s)");
  app.add_flag("-c,--create", cl.create, "allow uploads: new files and replacing existing ones");
  app.add_option("-u,--user", cl.user, "run as USER after binding (default: nobody, when started as root)");
  app.add_option("-U,--umask", cl.umask, "umask for uploaded files, octal (default 022)")->type_name("MASK");
  app.add_flag("-p,--permissive", cl.permissive,
               "serve files that are not world-readable, replace ones not world-writable");
  app.add_option("-B,--blocksize", cl.blocksize, "largest blksize granted (8..65464, default 65464)")
      ->check(CLI::Range(8, 65464));
  app.add_option("-t,--timeout", cl.timeout_s,
                 "retransmission timeout in seconds, fixed (default: adaptive from 1 s)")
      ->check(CLI::Range(1, 255));
  app.add_option("-T,--retransmit", cl.retransmit_us, "first retransmission timeout in microseconds")
      ->check(CLI::Range(1000L, 255'000'000L));
  app.add_option("-R,--port-range", cl.port_range, "take transfer ports from LOW:HIGH")->type_name("LOW:HIGH");
  app.add_option("-r,--refuse", cl.refuse, "never acknowledge this option (blksize, timeout, tsize, windowsize)")
      ->type_name("OPTION")
      ->allow_extra_args(false);
  app.add_flag("-v,--verbose", cl.verbose, "more logging; repeat for debug");
  app.add_flag("-L,--foreground", cl.foreground, "stay in the foreground (the default; for in.tftpd compatibility)");
  app.add_flag("-l,--listen", cl.background, "detach into the background after starting (in.tftpd -l)");
  app.add_option("--workers", cl.workers, "worker threads (default: one per CPU)")->check(CLI::Range(1u, 1024u));
  app.add_option("--metrics", cl.metrics, "serve Prometheus counters over HTTP on this loopback address")
      ->type_name("ADDR");
  app.add_flag("-V,--version", cl.version, "print the version and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 1;
  }
  cl.config_given = config_opt->count() > 0;
  if (cl.version) {
    std::printf("ringtftpd (ringkit) 0.1.0\n");
    return 0;
  }
  if (cl.directories.size() > 1) {
    std::fprintf(stderr, "ringtftpd: warning: serving only %s (one directory per server)\n",
                 cl.directories.front().c_str());
  }

  // Signals go to one thread that waits for them; block them everywhere before threads start.
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGHUP, SIGTERM, SIGINT, SIGUSR1}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  ::umask(0);  // uploads get exactly 0666 & ~upload_umask

  std::unique_ptr<Server> server;
  std::unique_ptr<MetricsEndpoint> endpoint;
  ServerConfig config;
  try {
    config = build_config(cl);
    validate(config);
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "ringtftpd: %s\n", e.what());
    return 1;
  }
  try {
    raise_fd_limit(config);
    server = std::make_unique<Server>(config, inherited_sockets());
    if (config.metrics_listen) {
      endpoint = std::make_unique<MetricsEndpoint>(*config.metrics_listen, server->metrics());
    }
    drop_privileges(config);
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "ringtftpd: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ringtftpd: cannot start: %s\n", e.what());
    return 2;
  }
  if (cl.background && ::daemon(1, 1) != 0) {
    std::perror("ringtftpd: daemon");
    return 2;
  }

  std::string where;
  for (const auto& a : server->addresses()) where += (where.empty() ? "" : ", ") + a.to_string();
  server->log().message(LogLevel::kInfo, "serving " + config.root + " on " + where);

  std::atomic<bool> done{false};
  std::thread signal_thread([&] {
    timespec tick{0, 200'000'000};
    while (!done.load()) {
      siginfo_t info;
      int s = sigtimedwait(&signals, &info, &tick);
      if (s == SIGHUP) {
        try {
          ServerConfig next = build_config(cl);
          validate(next);
          auto ignored = server->reload(std::move(next));
          std::string note;
          for (const auto& k : ignored) note += " " + k;
          server->log().message(LogLevel::kInfo,
                                "configuration reloaded" +
                                    (note.empty() ? std::string() : "; needs a restart:" + note));
        } catch (const std::exception& e) {
          server->log().message(LogLevel::kError,
                                std::string("reload failed, keeping the old configuration: ") + e.what());
        }
      } else if (s == SIGTERM || s == SIGINT) {
        server->log().message(LogLevel::kInfo, "stopping: no new requests; finishing transfers");
        sd_notify(0, "STOPPING=1");
        server->stop();
      } else if (s == SIGUSR1) {
        std::string text = server->metrics().render_prometheus();
        (void)!::write(STDERR_FILENO, text.data(), text.size());
      }
    }
  });
  sd_notify(0, "READY=1");
  server->run();
  done.store(true);
  signal_thread.join();
  server->log().message(LogLevel::kInfo, "stopped");
  return 0;
}
