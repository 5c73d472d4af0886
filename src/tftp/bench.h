// The load generator behind `ringtftp bench`: many concurrent downloads of one file, each
// verified by size and XXH3-64, spread over one executor (and thread) per core.
//
// Each client is one coroutine running tftp::get() into a MemorySink that only counts and
// hashes, with its own socket and, when impairment is asked for, its own seed (seed + client
// index), so a run is reproducible client by client. Clients start together; with `repeat` or
// `duration` each starts its next download as soon as the previous one ends.
//
// Memory per client: the receive buffer of blksize + 4 bytes (with windows: 4 buffers of up to
// 64 KiB for coalesced runs, whose pages are touched only as runs land in them), the hash state
// and the coroutine frames (a few KiB). Descriptors: one socket per client, so the caller must allow
// clients + a few dozen open files (ringtftp raises RLIMIT_NOFILE).
//
// run_bench() blocks until all clients are done; it creates and joins its threads. The
// report is a plain value.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ringkit/settings.h"
#include "tftp/client.h"

namespace ringkit::tftp {

struct BenchConfig {
  // Server, filename, mode, options, policy, dally; impairment.seed is the base seed.
  ClientRequest request;
  uint32_t clients = 1;
  // Executors (threads); 0: one per core. Never more than clients.
  uint32_t threads = 0;
  // What every download must produce. Unset: one download first (not counted) learns them.
  std::optional<uint64_t> expect_size;
  std::optional<uint64_t> expect_xxh3;
  // Downloads per client, one after the other. Ignored when `duration` is set.
  uint32_t repeat = 1;
  // Keep each client downloading until this much time has passed since the start.
  std::optional<std::chrono::nanoseconds> duration;
  // Engine settings for the executors; queue_depth is raised to fit the clients each one runs
  // (a pending receive and its timer hold two completion entries, a send one more).
  EngineSettings engine;
};

struct BenchReport {
  uint32_t clients = 0;
  uint32_t threads = 0;
  uint32_t queue_depth = 0;          // per executor, as used
  uint64_t expect_size = 0;
  uint64_t expect_xxh3 = 0;
  bool learned_expectations = false; // fetched once first
  uint64_t transfers = 0;            // downloads attempted
  uint64_t completed = 0;            // finished and verified
  uint64_t failed = 0;               // errors, wrong size or wrong hash
  uint64_t bytes = 0;                // bytes of verified downloads
  double seconds = 0;                // wall time from the start to the last download's end (no dally)
  double mb_per_s = 0;               // bytes / 10^6 / seconds
  // Completion times of verified downloads, milliseconds (0 when none completed).
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
  uint64_t retransmits = 0;
  uint64_t timeouts = 0;
  uint64_t duplicates = 0;
  uint16_t blksize = 0;              // as negotiated by the first verified download
  uint16_t windowsize = 0;
  std::map<std::string, uint64_t> failure_counts;  // reason -> how many
  std::vector<std::string> first_failures;         // "client 17: reason", the first few
  std::string setup_error;           // non-empty: the run could not start (nothing else is valid)

  bool all_verified() const { return setup_error.empty() && failed == 0 && completed == transfers; }
};

BenchReport run_bench(const BenchConfig& config);

// The value at quantile q (0..1) of sorted `values` (nearest rank); 0 when empty.
double quantile(const std::vector<double>& sorted, double q);

}  // namespace ringkit::tftp
