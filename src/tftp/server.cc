#include "tftp/server.h"

#include <fcntl.h>
#include <unistd.h>

#include <cmath>
#include <mutex>
#include <system_error>
#include <unordered_map>
#include <unordered_set>

#include "ringkit/buffer_pool.h"
#include "ringkit/cpus.h"
#include "ringkit/executor.h"
#include "ringkit/gate.h"
#include "ringkit/time.h"
#include "ringkit/when_all.h"
#include "tftp/channel.h"
#include "tftp/packet.h"
#include "tftp/session.h"
#include "tftp/stale_uploads.h"

namespace ringkit::tftp {

using Clock = std::chrono::steady_clock;

// ---- ClientTable: per-client admission, shared by the workers ----

// Which clients have transfers running, and their request budgets. Guarded by one mutex: it
// is touched once per request and once per finished transfer, never per packet.
class ClientTable {
 public:
  enum class Verdict { kAdmit, kDuplicate, kLimit, kRate };

  Verdict admit(const net::Address& client, const ServerConfig& config, uint64_t active_now) {
    std::lock_guard lock(mu_);
    std::string key = client.to_string();
    if (transfers_.count(key)) return Verdict::kDuplicate;
    if (config.max_sessions != 0 && active_now >= config.max_sessions) return Verdict::kLimit;
    Host& host = hosts_[client.host()];
    if (config.max_sessions_per_client != 0 && host.sessions >= config.max_sessions_per_client) {
      return Verdict::kLimit;
    }
    if (config.requests_per_second_per_client > 0) {
      double rate = config.requests_per_second_per_client;
      double burst = std::max(1.0, 2 * rate);
      auto now = Clock::now();
      if (!host.primed) {
        host.tokens = burst;
        host.primed = true;
      } else {
        double elapsed = std::chrono::duration<double>(now - host.refilled).count();
        host.tokens = std::min(burst, host.tokens + elapsed * rate);
      }
      host.refilled = now;
      if (host.tokens < 1) return Verdict::kRate;
      host.tokens -= 1;
    }
    ++host.sessions;
    transfers_.insert(std::move(key));
    prune_if_large();
    return Verdict::kAdmit;
  }

  void release(const net::Address& client) {
    std::lock_guard lock(mu_);
    transfers_.erase(client.to_string());
    auto it = hosts_.find(client.host());
    if (it != hosts_.end() && it->second.sessions > 0) --it->second.sessions;
  }

 private:
  struct Host {
    uint32_t sessions = 0;
    double tokens = 0;
    Clock::time_point refilled;
    bool primed = false;
  };

  // Hosts with nothing running are forgotten once the table grows large (a rate budget that is
  // forgotten starts full again, which is harmless).
  void prune_if_large() {
    if (hosts_.size() < 65536) return;
    for (auto it = hosts_.begin(); it != hosts_.end();) {
      it = it->second.sessions == 0 ? hosts_.erase(it) : std::next(it);
    }
  }

  std::mutex mu_;
  std::unordered_set<std::string> transfers_;    // "host:port" of running transfers
  std::unordered_map<std::string, Host> hosts_;  // by host
};

// ---- Worker ----

// The longest request the listener reads. RFC 2347 limits requests to 512 bytes; clients that
// ignore it send a few hundred more at most. Longer ones are answered with ERROR 4. (Each
// worker keeps 64 receive buffers of this size.)
constexpr size_t kMaxRequestSize = 4096;

class Worker {
 public:
  Worker(Server& server, size_t index, std::vector<net::Socket> listeners,
         std::vector<net::Address> locals)
      : server_(server), index_(index), listeners_(std::move(listeners)), locals_(std::move(locals)) {}

  void start() { thread_ = std::thread([this] { main(); }); }
  void join() {
    if (thread_.joinable()) thread_.join();
  }

  // Thread-safe.
  void stop() {
    stop_requested_.store(true);
    std::lock_guard lock(executor_mu_);
    if (executor_ != nullptr) executor_->post([this] { begin_shutdown(); });
  }

 private:
  void main() {
    auto config = server_.config();
    try {
      Executor executor(config->engine);
      // Unpublished before the executor is destroyed (declared after it, so destroyed
      // first), however serve() ends: stop() may be posting to it from another thread.
      struct Unpublish {
        Worker* worker;
        ~Unpublish() { worker->set_executor(nullptr); }
      } unpublish{this};
      set_executor(&executor);
      executor.run(serve());
    } catch (const std::exception& e) {
      server_.log_.message(LogLevel::kError,
                           "worker " + std::to_string(index_) + " stopped: " + e.what());
    }
  }

  void set_executor(Executor* executor) {
    std::lock_guard lock(executor_mu_);
    executor_ = executor;
  }

  Task<void> serve() {
    BufferPool pool(*Executor::current(), 32, 64 * 1024);
    OpenFiles files;
    ctx_ = SessionContext{.root_fd = server_.root_fd_,
                          .pool = &pool,
                          .files = &files,
                          .metrics = &server_.metrics_,
                          .log = &server_.log_,
                          .stop = session_stop_.get_token()};
    if (stop_requested_.load()) begin_shutdown();
    std::vector<Task<void>> loops;
    for (size_t i = 0; i < listeners_.size(); ++i) loops.push_back(listen(i));
    server_.ready_workers_.fetch_add(1);
    if (index_ == 0 && server_.config()->uploads != Uploads::kOff) {
      if (auto holder = gate_.try_enter()) {
        Executor::current()->spawn(sweep_stale_uploads(std::move(*holder)));
      }
    }
    co_await when_all(std::move(loops));
    // Listeners are closed: wait for the transfers, cancelling them after the grace period.
    auto grace = spawn_joinable(grace_timer(server_.config()->shutdown_grace));
    co_await gate_.close();
    timer_stop_.request_stop();
    co_await grace.join();
  }

  void begin_shutdown() { listen_stop_.request_stop(); }

  // Uploads of a server that was killed mid-transfer left their temporary files behind.
  Task<void> sweep_stale_uploads(Gate::Holder holder) {
    (void)holder;
    SweepStats swept = co_await remove_stale_uploads(server_.root_fd_, server_.started_,
                                                     listen_stop_.get_token());
    if (swept.removed > 0 || swept.errors > 0) {
      server_.log_.message(
          swept.errors > 0 ? LogLevel::kWarning : LogLevel::kInfo,
          "removed " + std::to_string(swept.removed) +
              " temporary files of uploads interrupted by an earlier stop (" +
              std::to_string(swept.directories) + " directories searched, " +
              std::to_string(swept.errors) + " could not be read or removed)");
    }
  }

  Task<void> grace_timer(std::chrono::seconds grace) {
    auto slept = co_await sleep_for(grace, timer_stop_.get_token());
    if (slept) {
      if (server_.metrics_.active.load() > 0) {
        server_.log_.message(LogLevel::kWarning, "shutdown grace period over: cancelling transfers");
      }
      session_stop_.request_stop();
    }
  }

  Task<void> listen(size_t i) {
    net::MultishotReceiver rx(listeners_[i],
                              {.buffers = 64, .payload_size = uint32_t{kMaxRequestSize}});
    for (;;) {
      auto d = co_await rx.next({}, listen_stop_.get_token());
      if (!d) {
        if (d.cancelled()) break;
        server_.log_.message(LogLevel::kDebug, "listener: " + d.error().message());
        continue;
      }
      admit(*d, i);
    }
    co_await rx.stop();
  }

  void admit(const net::Datagram& d, size_t listener) {
    ServerMetrics& m = server_.metrics_;
    // A request we cannot read (too long, bad mode, no filename) gets told; other junk is
    // dropped unanswered.
    uint16_t opcode = d.data.size() >= 2 ? (std::to_integer<uint16_t>(d.data[0]) << 8 |
                                            std::to_integer<uint16_t>(d.data[1]))
                                         : 0;
    bool is_request = opcode == 1 || opcode == 2;
    if (d.truncated) {
      ServerMetrics::add(m.malformed);
      if (is_request) {
        spawn_reply(listener, d.from, ErrorCode::kIllegalOperation,
                    "Request longer than " + std::to_string(kMaxRequestSize) + " bytes");
      }
      return;
    }
    auto packet = parse_packet(d.data);
    if (!packet) {
      ServerMetrics::add(m.malformed);
      if (is_request) {
        spawn_reply(listener, d.from, ErrorCode::kIllegalOperation, packet.error().message());
      }
      return;
    }
    if (!std::holds_alternative<Request>(*packet)) {
      ServerMetrics::add(m.malformed);  // DATA/ACK/... to the request port: not ours
      return;
    }
    ServerMetrics::add(m.requests);
    auto holder = gate_.try_enter();
    if (!holder) return;  // shutting down
    auto config = server_.config();
    switch (server_.clients_->admit(d.from, *config, m.active.load(std::memory_order_relaxed))) {
      case ClientTable::Verdict::kDuplicate: ServerMetrics::add(m.dropped_duplicate); return;
      case ClientTable::Verdict::kLimit: ServerMetrics::add(m.dropped_limit); return;
      case ClientTable::Verdict::kRate: ServerMetrics::add(m.dropped_rate); return;
      case ClientTable::Verdict::kAdmit: break;
    }
    ClientTable* table = server_.clients_.get();
    AdmissionTicket ticket([table, client = d.from] { table->release(client); });
    std::vector<std::byte> datagram(d.data.begin(), d.data.end());
    Executor::current()->spawn(serve_request(ctx_, std::move(config), std::move(datagram),
                                             d.from, locals_[listener], std::move(*holder),
                                             std::move(ticket)));
  }

  void spawn_reply(size_t listener, const net::Address& to, ErrorCode code, std::string message) {
    auto holder = gate_.try_enter();
    if (!holder) return;
    Executor::current()->spawn(reply(listeners_[listener].fd(), to, code, std::move(message),
                                     std::move(*holder)));
  }

  static Task<void> reply(int fd, net::Address to, ErrorCode code, std::string message,
                          Gate::Holder holder) {
    (void)holder;
    Channel channel(fd, to);  // sends only: nothing to close
    co_await channel.send_error(code, message);
  }

  Server& server_;
  size_t index_;
  std::vector<net::Socket> listeners_;
  std::vector<net::Address> locals_;
  std::thread thread_;
  std::mutex executor_mu_;  // guards executor_: stop() posts to it from other threads
  Executor* executor_ = nullptr;
  std::atomic<bool> stop_requested_{false};
  // Executor thread only:
  SessionContext ctx_;
  Gate gate_;
  std::stop_source listen_stop_;
  std::stop_source session_stop_;
  std::stop_source timer_stop_;
};

// ---- Server ----

namespace {

net::UdpOptions listener_options(bool shared) {
  // A boot storm arrives as a burst of requests: give the kernel room to queue them.
  return net::UdpOptions{.recv_buffer = 4 << 20, .reuse_port = shared};
}

}  // namespace

Server::Server(ServerConfig config, std::vector<net::Socket> inherited)
    : log_(config.log_level, config.log_transfers, config.log_json),
      started_(std::chrono::system_clock::now()) {
  validate(config);
  if (config.workers == 0) config.workers = usable_cpu_count();
  root_fd_ = ::open(config.root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd_ < 0) throw std::system_error(errno, std::system_category(), "root " + config.root);
  clients_ = std::make_unique<ClientTable>();

  // listeners[w][a]: worker w's socket for address a.
  std::vector<std::vector<net::Socket>> listeners(config.workers);
  std::vector<net::Address> locals;
  if (!inherited.empty()) {
    for (auto& sock : inherited) {
      auto local = net::local_address(sock);
      if (!local) throw std::system_error(local.error(), "inherited socket");
      (void)net::set_recv_buffer(sock, 4 << 20);
      locals.push_back(*local);
      for (unsigned w = 0; w < config.workers; ++w) {
        int fd = ::fcntl(sock.fd(), F_DUPFD_CLOEXEC, 0);
        if (fd < 0) throw std::system_error(errno, std::system_category(), "dup");
        listeners[w].emplace_back(fd);
      }
    }
  } else {
    for (const auto& address : config.listen) {
      net::Address bound = address;
      for (unsigned w = 0; w < config.workers; ++w) {
        auto sock = net::bind_udp(bound, listener_options(config.workers > 1));
        if (!sock) {
          throw std::system_error(sock.error(), "cannot listen on " + bound.to_string());
        }
        if (w == 0) bound = net::local_address(*sock).value_or(bound);  // port 0 -> the real one
        listeners[w].push_back(std::move(*sock));
      }
      locals.push_back(bound);
    }
  }
  addresses_ = locals;
  config_.store(std::make_shared<const ServerConfig>(std::move(config)));
  for (size_t w = 0; w < listeners.size(); ++w) {
    workers_.push_back(std::make_unique<Worker>(*this, w, std::move(listeners[w]), locals));
  }
}

Server::~Server() {
  stop();
  for (auto& w : workers_) w->join();
  workers_.clear();
  if (root_fd_ >= 0) ::close(root_fd_);
}

void Server::run() {
  for (auto& w : workers_) w->start();
  if (stopping_.load()) {
    for (auto& w : workers_) w->stop();
  }
  for (auto& w : workers_) w->join();
}

void Server::stop() {
  stopping_.store(true);
  for (auto& w : workers_) w->stop();
}

std::vector<std::string> Server::reload(ServerConfig next) {
  auto current = config();
  std::vector<std::string> ignored;
  auto keep = [&](bool same, const char* name) {
    if (!same) ignored.push_back(name);
  };
  keep(next.listen == current->listen, "server.listen");
  keep(next.root == current->root, "server.root");
  keep(next.workers == 0 || next.workers == current->workers, "server.workers");
  keep(next.user == current->user, "server.user");
  keep(next.chroot == current->chroot, "server.chroot");
  // Keep what cannot change on a running server.
  next.listen = current->listen;
  next.root = current->root;
  next.workers = current->workers;
  next.user = current->user;
  next.user_set = current->user_set;
  next.chroot = current->chroot;
  next.engine = current->engine;
  log_.set(next.log_level, next.log_transfers, next.log_json);
  config_.store(std::make_shared<const ServerConfig>(std::move(next)));
  return ignored;
}

}  // namespace ringkit::tftp
