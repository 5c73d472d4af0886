#include "tftp/server_config.h"

#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>
#include <toml++/toml.h>

namespace ringkit::tftp {

namespace {

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

template <class T>
std::optional<T> parse_number(std::string_view text) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// ---- TOML walking ----

// One table being read: every key read is marked, the rest are reported as unknown.
class TableReader {
 public:
  TableReader(const toml::table& table, std::string path) : table_(table), path_(std::move(path)) {}
  ~TableReader() = default;

  std::string key_name(std::string_view key) const { return path_ + "." + std::string(key); }

  const toml::node* get(std::string_view key) {
    seen_.insert(std::string(key));
    return table_.get(key);
  }

  template <class T>
  std::optional<T> value(std::string_view key, std::string_view type_name) {
    const toml::node* node = get(key);
    if (node == nullptr) return std::nullopt;
    auto v = node->value<T>();
    if (!v || !node->is<T>()) {
      // Integers are accepted where floats are expected.
      if constexpr (std::is_same_v<T, double>) {
        if (auto i = node->value<int64_t>()) return static_cast<double>(*i);
      }
      throw ConfigError(key_name(key) + ": expected " + std::string(type_name));
    }
    return v;
  }

  std::optional<bool> boolean(std::string_view key) { return value<bool>(key, "true or false"); }
  std::optional<std::string> string(std::string_view key) { return value<std::string>(key, "a string"); }

  std::optional<int64_t> integer(std::string_view key, int64_t min, int64_t max) {
    auto v = value<int64_t>(key, "an integer");
    if (v && (*v < min || *v > max)) {
      throw ConfigError(key_name(key) + ": " + std::to_string(*v) + " is outside " +
                        std::to_string(min) + ".." + std::to_string(max));
    }
    return v;
  }

  std::vector<std::string> strings(std::string_view key) {
    const toml::node* node = get(key);
    std::vector<std::string> out;
    if (node == nullptr) return out;
    const toml::array* array = node->as_array();
    if (array == nullptr) throw ConfigError(key_name(key) + ": expected an array of strings");
    for (const toml::node& item : *array) {
      auto s = item.value<std::string>();
      if (!s || item.type() != toml::node_type::string) {
        throw ConfigError(key_name(key) + ": expected an array of strings");
      }
      out.push_back(*s);
    }
    return out;
  }

  const toml::table* table(std::string_view key) {
    const toml::node* node = get(key);
    if (node == nullptr) return nullptr;
    const toml::table* t = node->as_table();
    if (t == nullptr) throw ConfigError(key_name(key) + ": expected a table");
    return t;
  }

  // Throws for the first key that was never asked for.
  void reject_unknown() const {
    for (const auto& [key, node] : table_) {
      (void)node;
      if (!seen_.count(std::string(key.str()))) {
        throw ConfigError("unknown setting " + key_name(key.str()));
      }
    }
  }

 private:
  const toml::table& table_;
  std::string path_;
  std::set<std::string> seen_;
};

void read_server(TableReader& t, ServerConfig& c) {
  if (const toml::node* node = t.get("listen")) {
    std::vector<std::string> items;
    if (auto s = node->value<std::string>(); s && node->is_string()) {
      items.push_back(*s);
    } else {
      items = t.strings("listen");
    }
    if (items.empty()) throw ConfigError(t.key_name("listen") + ": no address");
    c.listen.clear();
    for (const auto& item : items) c.listen.push_back(parse_listen_address(item, 69, t.key_name("listen")));
  }
  if (auto v = t.string("root")) c.root = *v;
  if (auto v = t.integer("workers", 0, 1024)) c.workers = static_cast<unsigned>(*v);
  if (auto v = t.string("port_range")) c.port_range = parse_port_range(*v, t.key_name("port_range"));
  if (auto v = t.string("user")) {
    c.user = *v;
    c.user_set = true;
  }
  if (auto v = t.boolean("chroot")) c.chroot = *v;
}

void read_security(TableReader& t, ServerConfig& c) {
  if (auto v = t.boolean("follow_symlinks")) c.follow_symlinks = *v;
  if (auto v = t.boolean("permissive")) c.permissive = *v;
  if (auto v = t.string("uploads")) c.uploads = parse_uploads(*v, t.key_name("uploads"));
  if (auto v = t.string("upload_umask")) c.upload_umask = parse_umask(*v, t.key_name("upload_umask"));
  if (t.get("upload_patterns") != nullptr) c.upload_patterns = t.strings("upload_patterns");
  if (auto v = t.integer("max_upload_size", 0, INT64_MAX)) c.max_upload_size = static_cast<uint64_t>(*v);
  if (t.get("refuse_options") != nullptr) {
    c.refused_options = {};
    for (const auto& name : t.strings("refuse_options")) {
      c.refused_options.insert(parse_option_name(name, t.key_name("refuse_options")));
    }
  }
}

void read_limits(TableReader& t, ServerConfig& c) {
  if (auto v = t.integer("max_blksize", 8, 65464)) c.max_blksize = static_cast<uint16_t>(*v);
  if (auto v = t.integer("max_windowsize", 1, 65535)) c.max_windowsize = static_cast<uint16_t>(*v);
  if (auto v = t.integer("max_sessions", 0, 1'000'000)) c.max_sessions = static_cast<uint32_t>(*v);
  if (auto v = t.integer("max_sessions_per_client", 0, 1'000'000)) {
    c.max_sessions_per_client = static_cast<uint32_t>(*v);
  }
  if (auto v = t.value<double>("requests_per_second_per_client", "a number")) {
    if (*v < 0) throw ConfigError(t.key_name("requests_per_second_per_client") + ": negative");
    c.requests_per_second_per_client = *v;
  }
  using std::chrono::milliseconds;
  if (auto v = t.integer("retransmit_ms", 1, 255'000)) c.retransmit.initial = milliseconds(*v);
  if (auto v = t.integer("min_retransmit_ms", 1, 255'000)) c.retransmit.min = milliseconds(*v);
  if (auto v = t.integer("max_retransmit_ms", 1, 255'000)) c.retransmit.max = milliseconds(*v);
  if (auto v = t.integer("max_retries", 0, 1000)) c.retransmit.max_retries = static_cast<uint32_t>(*v);
  if (auto v = t.integer("shutdown_grace_s", 0, 86400)) c.shutdown_grace = std::chrono::seconds(*v);
}

void read_logging(TableReader& t, ServerConfig& c) {
  if (auto v = t.string("level")) {
    if (*v == "error") c.log_level = LogLevel::kError;
    else if (*v == "warning") c.log_level = LogLevel::kWarning;
    else if (*v == "info") c.log_level = LogLevel::kInfo;
    else if (*v == "debug") c.log_level = LogLevel::kDebug;
    else throw ConfigError(t.key_name("level") + ": " + quoted(*v) + " is not error, warning, info or debug");
  }
  if (auto v = t.boolean("transfers")) c.log_transfers = *v;
  if (auto v = t.string("format")) {
    if (*v == "text") c.log_json = false;
    else if (*v == "json") c.log_json = true;
    else throw ConfigError(t.key_name("format") + ": " + quoted(*v) + " is not text or json");
  }
}

void read_metrics(TableReader& t, ServerConfig& c) {
  if (auto v = t.string("listen")) {
    c.metrics_listen = v->empty() ? std::nullopt
                                  : std::optional(parse_listen_address(*v, 9169, t.key_name("listen")));
  }
}

void read_io_uring(TableReader& t, ServerConfig& c) {
  EngineSettings& e = c.engine;
  if (auto v = t.boolean("enabled")) e.backend = *v ? BackendKind::kAuto : BackendKind::kThreads;
  if (auto v = t.integer("queue_depth", 1, 32768)) e.queue_depth = static_cast<uint32_t>(*v);
  if (auto v = t.boolean("use_sqpoll")) e.use_sqpoll = *v;
  if (auto v = t.integer("sq_thread_cpu", -1, 4095)) e.sq_thread_cpu = static_cast<int>(*v);
  if (auto v = t.boolean("fallback_on_error")) e.fallback_on_error = *v;
  if (auto v = t.boolean("use_registered_buffers")) e.use_registered_buffers = *v;
  // enabled = true with fallback_on_error = false means "io_uring or nothing".
  if (e.backend == BackendKind::kAuto && !e.fallback_on_error) e.backend = BackendKind::kUring;
}

void read_document(const toml::table& doc, ServerConfig& c) {
  TableReader root(doc, "");
  auto section = [&](std::string_view name, auto&& read) {
    if (const toml::table* t = root.table(name)) {
      TableReader reader(*t, std::string(name));
      read(reader, c);
      reader.reject_unknown();
    }
  };
  section("server", read_server);
  section("security", read_security);
  section("limits", read_limits);
  section("logging", read_logging);
  section("metrics", read_metrics);
  if (const toml::table* perf = root.table("performance")) {
    TableReader perf_reader(*perf, "performance");
    if (const toml::table* platform = perf_reader.table("platform")) {
      TableReader platform_reader(*platform, "performance.platform");
      if (const toml::table* uring = platform_reader.table("io_uring")) {
        TableReader uring_reader(*uring, "performance.platform.io_uring");
        read_io_uring(uring_reader, c);
        uring_reader.reject_unknown();
      }
      platform_reader.reject_unknown();
    }
    perf_reader.reject_unknown();
  }
  root.reject_unknown();
}

}  // namespace

std::string_view to_string(Uploads uploads) {
  switch (uploads) {
    case Uploads::kOff: return "off";
    case Uploads::kCreate: return "create";
    case Uploads::kOverwrite: return "overwrite";
  }
  return "?";
}

EngineSettings ServerConfig::default_engine_settings() {
  EngineSettings e = EngineSettings::from_env();
  if (std::getenv("RINGKIT_QUEUE_DEPTH") == nullptr) e.queue_depth = 8192;
  return e;
}

ServerOptionLimits ServerConfig::option_limits() const {
  ServerOptionLimits l;
  l.max_blksize = max_blksize;
  l.max_windowsize = max_windowsize;
  l.max_upload_size = max_upload_size;
  l.refused = refused_options;
  return l;
}

void load_config_text(std::string_view text, std::string_view origin, ServerConfig& config) {
  toml::table doc;
  try {
    doc = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << origin << ":" << e.source().begin.line << ":" << e.source().begin.column << ": "
        << e.description();
    throw ConfigError(msg.str());
  }
  try {
    read_document(doc, config);
  } catch (const ConfigError& e) {
    throw ConfigError(std::string(origin) + ": " + e.what());
  }
}

void load_config_file(const std::string& path, ServerConfig& config) {
  std::ifstream in(path);
  if (!in) throw ConfigError(path + ": cannot read: " + std::strerror(errno));
  std::stringstream text;
  text << in.rdbuf();
  load_config_text(text.str(), path, config);
}

std::pair<uint16_t, uint16_t> parse_port_range(std::string_view text, std::string_view what) {
  auto colon = text.find(':');
  std::optional<uint16_t> low, high;
  if (colon != std::string_view::npos) {
    low = parse_number<uint16_t>(text.substr(0, colon));
    high = parse_number<uint16_t>(text.substr(colon + 1));
  }
  if (!low || !high || *low == 0 || *low > *high) {
    throw ConfigError(std::string(what) + ": " + quoted(text) +
                      " is not a port range like 4096:32767");
  }
  return {*low, *high};
}

mode_t parse_umask(std::string_view text, std::string_view what) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 8);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value > 0777) {
    throw ConfigError(std::string(what) + ": " + quoted(text) + " is not an octal umask like 022");
  }
  return static_cast<mode_t>(value);
}

Uploads parse_uploads(std::string_view text, std::string_view what) {
  if (text == "off") return Uploads::kOff;
  if (text == "create") return Uploads::kCreate;
  if (text == "overwrite") return Uploads::kOverwrite;
  throw ConfigError(std::string(what) + ": " + quoted(text) + " is not off, create or overwrite");
}

net::Address parse_listen_address(std::string_view text, uint16_t default_port,
                                  std::string_view what) {
  auto a = net::Address::parse(text, default_port);
  if (!a) {
    throw ConfigError(std::string(what) + ": " + quoted(text) +
                      " is not an address like 0.0.0.0:69, [::]:69 or :6969 (numeric only)");
  }
  return *a;
}

OptionId parse_option_name(std::string_view text, std::string_view what) {
  auto id = option_id(text);
  if (!id) {
    throw ConfigError(std::string(what) + ": " + quoted(text) +
                      " is not blksize, timeout, tsize or windowsize");
  }
  return *id;
}

void validate(const ServerConfig& c) {
  struct stat st;
  if (::stat(c.root.c_str(), &st) != 0) {
    throw ConfigError("root " + c.root + ": " + std::strerror(errno));
  }
  if (!S_ISDIR(st.st_mode)) throw ConfigError("root " + c.root + ": not a directory");
  if (c.listen.empty()) throw ConfigError("no address to listen on");
  if (c.retransmit.min > c.retransmit.max) {
    throw ConfigError("limits.min_retransmit_ms is above limits.max_retransmit_ms");
  }
  if (c.metrics_listen) {
    // Counters reveal file names' traffic: loopback only.
    std::string host = c.metrics_listen->host();
    if (host != "127.0.0.1" && host != "::1") {
      throw ConfigError("metrics.listen: " + c.metrics_listen->to_string() +
                        " is not a loopback address (127.0.0.1 or ::1)");
    }
  }
}

}  // namespace ringkit::tftp
