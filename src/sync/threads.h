// How many executor threads a ringsync run uses (RINGKIT_SYNC_THREADS; the worker that uses a
// second one is transfer_worker.cc).
//
// The setting is read when the Syncer is made, so that a value it cannot use is reported on
// every run, a no-op included; the CPUs are counted, and the worker thread started, only when
// it is first needed: the first file written, or the first large directory compared with the
// destination (Syncer::dest_look_ahead). A no-op of small directories starts no thread.
// Thread affinity: any thread.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace ringkit::sync {

// RINGKIT_SYNC_THREADS's value as a thread count: 1, or 2 for any larger whole number (one
// worker is all that is measured); nullopt for anything else ("abc", "", "0", "-2", "2x").
std::optional<unsigned> parse_sync_threads(std::string_view text);

// RINGKIT_SYNC_THREADS as parse_sync_threads() reads it; nullopt when it is unset, or unusable,
// which is then said in one line on stderr ("ringsync: ignoring RINGKIT_SYNC_THREADS=abc ...").
std::optional<unsigned> sync_threads_from_env();

// The threads a run uses and why, for the -v line that says so.
struct SyncThreads {
  unsigned count = 1;
  std::string why;  // "set by RINGKIT_SYNC_THREADS", "1 CPU usable by this process", ...
};
// `setting` if there is one, else 2 when this process may run on two or more CPUs (its affinity
// mask: taskset, cpusets; usable_cpu_count()), else 1.
SyncThreads sync_threads(std::optional<unsigned> setting);

// RINGKIT_SYNC_LOOKAHEAD: the fewest entries a directory has for the worker to read its
// destination while home stats the source (Syncer::dest_look_ahead); 0: never.
inline constexpr size_t kDefaultLookAhead = 32;
// A whole number, 0 or more (huge ones: SIZE_MAX); nullopt for anything else.
std::optional<size_t> parse_look_ahead(std::string_view text);
// RINGKIT_SYNC_LOOKAHEAD as parse_look_ahead() reads it, or kDefaultLookAhead when it is unset
// or unusable (said in one line on stderr, as for RINGKIT_SYNC_THREADS).
size_t look_ahead_from_env();

}  // namespace ringkit::sync
