// What this kernel's io_uring can do, found out once per process.
//
// io_uring may be missing or switched off (kernel.io_uring_disabled, seccomp, containers, old
// kernels). `probe_io_uring()` tries to set up a small ring and asks which opcodes and setup
// flags exist. The first call does the work; later calls return the cached report. Thread-safe.
#pragma once

#include <bitset>
#include <cstdint>
#include <string>

namespace ringkit {

struct ProbeReport {
  bool usable = false;   // a ring could be set up and the probe answered
  std::string reason;    // why not, when !usable ("io_uring_setup: Operation not permitted ...")
  std::string kernel;    // uname release
  std::bitset<256> opcodes;  // supported IORING_OP_* values

  bool single_issuer = false;    // IORING_SETUP_SINGLE_ISSUER
  bool coop_taskrun = false;     // IORING_SETUP_COOP_TASKRUN
  bool defer_taskrun = false;    // IORING_SETUP_DEFER_TASKRUN (with SINGLE_ISSUER, TASKRUN_FLAG)
  bool buf_ring = false;         // provided-buffer rings (io_uring_register_buf_ring)
  bool recv_multishot = false;   // multishot recvmsg (kernel >= 6.0)
  bool send_to_address = false;  // IORING_OP_SEND takes a destination address (kernel >= 6.0)

  bool has(int opcode) const { return opcode >= 0 && opcode < 256 && opcodes.test(opcode); }
  // A human-readable summary, several lines.
  std::string summary() const;
};

const ProbeReport& probe_io_uring();

// Whether an IORING_SETUP_SQPOLL ring can be set up (for reports; asked on first call, not by
// probe_io_uring(), because it starts and stops a kernel thread). Thread-safe.
bool sqpoll_works();

// For tests: probe again, ignoring the cache (e.g. after installing a seccomp filter).
ProbeReport probe_io_uring_uncached();

}  // namespace ringkit
