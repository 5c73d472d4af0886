#include "ringkit/settings.h"

#include <charconv>
#include <cstdlib>
#include <string>

#include "ringkit/log.h"

namespace ringkit {

std::string_view to_string(BackendKind kind) {
  switch (kind) {
    case BackendKind::kAuto: return "auto";
    case BackendKind::kUring: return "uring";
    case BackendKind::kThreads: return "threads";
  }
  return "?";
}

std::string_view to_string(CheapCalls mode) {
  switch (mode) {
    case CheapCalls::kInline: return "inline";
    case CheapCalls::kPool: return "pool";
    case CheapCalls::kAuto: return "auto";
  }
  return "?";
}

std::string_view to_string(MetadataOps mode) {
  return mode == MetadataOps::kRing ? "ring" : "cheap";
}

std::optional<BackendKind> parse_backend(std::string_view text) {
  if (text == "auto") return BackendKind::kAuto;
  if (text == "uring" || text == "io_uring") return BackendKind::kUring;
  if (text == "threads") return BackendKind::kThreads;
  return std::nullopt;
}

std::optional<CheapCalls> parse_cheap_calls(std::string_view text) {
  if (text == "inline") return CheapCalls::kInline;
  if (text == "pool") return CheapCalls::kPool;
  if (text == "auto") return CheapCalls::kAuto;
  return std::nullopt;
}

std::optional<MetadataOps> parse_metadata_ops(std::string_view text) {
  if (text == "ring") return MetadataOps::kRing;
  if (text == "cheap") return MetadataOps::kCheap;
  return std::nullopt;
}

namespace {

template <class T, class Parse>
void apply_env(const char* name, T& field, Parse parse) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return;
  if (auto parsed = parse(std::string_view(value))) {
    field = *parsed;
  } else {
    log(LogLevel::kWarning, std::string("ignoring ") + name + "=" + value + ": not a valid value");
  }
}

std::optional<bool> parse_switch(std::string_view text) {
  if (text == "1" || text == "on" || text == "yes" || text == "true") return true;
  if (text == "0" || text == "off" || text == "no" || text == "false") return false;
  return std::nullopt;
}

std::optional<uint32_t> parse_count(std::string_view text) {
  uint32_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || ptr != text.data() + text.size() || n == 0) return std::nullopt;
  return n;
}

}  // namespace

EngineSettings EngineSettings::from_env() {
  EngineSettings s;
  apply_env("RINGKIT_BACKEND", s.backend, parse_backend);
  apply_env("RINGKIT_CHEAP_CALLS", s.cheap_calls, parse_cheap_calls);
  apply_env("RINGKIT_METADATA_OPS", s.metadata_ops, parse_metadata_ops);
  apply_env("RINGKIT_QUEUE_DEPTH", s.queue_depth, parse_count);
  apply_env("RINGKIT_POOL_THREADS", s.pool_threads, parse_count);
  apply_env("RINGKIT_DEFER_TASKRUN", s.defer_taskrun, parse_switch);
  return s;
}

}  // namespace ringkit
