// Fuzz targets for every parser (TFTP packets, option negotiation, filter rules, ...).
//
// Define one with RINGKIT_FUZZ_TARGET(name) { ...use data, size... } in fuzz/<name>_fuzz.cc.
// Each target runs two ways:
//  - as a plain test: tests/fuzz/fuzz_replay_test.cc feeds it every file in fuzz/corpus/<name>/
//    and a fixed-seed batch of mutations of them (built into ringkit_tests, runs in CI);
//  - under libFuzzer: configure with CXX=clang++ -DRINGKIT_FUZZ=ON to get build/bin/fuzz-<name>,
//    then `build/bin/fuzz-<name> fuzz/corpus/<name>` (new interesting inputs are added there).
// A target must never crash, hang or leak on any input; it may assert its own invariants
// (e.g. parse(format(x)) == x) with RINGKIT_FUZZ_CHECK, which aborts on failure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

namespace ringkit::fuzz {

using TargetFn = void (*)(const uint8_t* data, size_t size);

inline std::map<std::string, TargetFn>& registry() {
  static std::map<std::string, TargetFn> targets;
  return targets;
}

struct Registration {
  Registration(const char* name, TargetFn fn) { registry()[name] = fn; }
};

}  // namespace ringkit::fuzz

#define RINGKIT_FUZZ_CHECK(cond)                                                       \
  do {                                                                                 \
    if (!(cond)) {                                                                     \
      std::fprintf(stderr, "fuzz check failed: %s at %s:%d\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                    \
    }                                                                                  \
  } while (0)

#define RINGKIT_FUZZ_TARGET(name)                                                  \
  static void ringkit_fuzz_##name(const uint8_t* data, size_t size);               \
  static ::ringkit::fuzz::Registration ringkit_fuzz_reg_##name(#name, &ringkit_fuzz_##name); \
  static void ringkit_fuzz_##name(const uint8_t* data, size_t size)
