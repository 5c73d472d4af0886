#include "sync/threads.h"

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "ringkit/cpus.h"

namespace ringkit::sync {

std::optional<unsigned> parse_sync_threads(std::string_view text) {
  unsigned long long n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec == std::errc::result_out_of_range && end == text.data() + text.size()) return 2;  // huge: still "more"
  if (ec != std::errc() || end != text.data() + text.size() || n < 1) return std::nullopt;
  return n >= 2 ? 2 : 1;
}

std::optional<unsigned> sync_threads_from_env() {
  const char* value = std::getenv("RINGKIT_SYNC_THREADS");
  if (value == nullptr) return std::nullopt;
  auto threads = parse_sync_threads(value);
  if (!threads) {
    // Straight to stderr, as RINGKIT_SYNC_COPY's: the engine's log shows only with -v.
    std::fprintf(stderr, "ringsync: ignoring RINGKIT_SYNC_THREADS=%s (a whole number, 1 or more)\n", value);
  }
  return threads;
}

SyncThreads sync_threads(std::optional<unsigned> setting) {
  if (setting) return {*setting, "set by RINGKIT_SYNC_THREADS"};
  unsigned cpus = usable_cpu_count();
  std::string why = std::to_string(cpus) + (cpus == 1 ? " CPU" : " CPUs") + " usable by this process";
  return {cpus >= 2 ? 2u : 1u, why};
}

std::optional<size_t> parse_look_ahead(std::string_view text) {
  unsigned long long n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  bool whole = !text.empty() && end == text.data() + text.size();
  if (ec == std::errc::result_out_of_range && whole) return SIZE_MAX;
  if (ec != std::errc() || !whole) return std::nullopt;
  return n > SIZE_MAX ? SIZE_MAX : static_cast<size_t>(n);
}

size_t look_ahead_from_env() {
  const char* value = std::getenv("RINGKIT_SYNC_LOOKAHEAD");
  if (value == nullptr) return kDefaultLookAhead;
  auto entries = parse_look_ahead(value);
  if (!entries) {
    std::fprintf(stderr, "ringsync: ignoring RINGKIT_SYNC_LOOKAHEAD=%s (a whole number, 0 or more)\n", value);
    return kDefaultLookAhead;
  }
  return *entries;
}

}  // namespace ringkit::sync
