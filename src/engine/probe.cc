#include "ringkit/probe.h"

#include <liburing.h>
#include <sys/utsname.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>

namespace ringkit {
namespace {

bool setup_flag_works(unsigned flags) {
  io_uring ring{};
  io_uring_params params{};
  params.flags = flags;
  if (flags & IORING_SETUP_SQPOLL) params.sq_thread_idle = 1;
  if (io_uring_queue_init_params(4, &ring, &params) < 0) return false;
  io_uring_queue_exit(&ring);
  return true;
}

std::string disabled_sysctl() {
  std::ifstream in("/proc/sys/kernel/io_uring_disabled");
  int value = 0;
  if (in >> value && value != 0) {
    return " (kernel.io_uring_disabled=" + std::to_string(value) + ")";
  }
  return "";
}

bool kernel_at_least(const std::string& release, int major, int minor) {
  int a = 0, b = 0;
  if (std::sscanf(release.c_str(), "%d.%d", &a, &b) != 2) return false;
  return a > major || (a == major && b >= minor);
}

}  // namespace

ProbeReport probe_io_uring_uncached() {
  ProbeReport report;
  utsname uts{};
  if (uname(&uts) == 0) report.kernel = uts.release;

  io_uring ring{};
  int rc = io_uring_queue_init(4, &ring, 0);
  if (rc < 0) {
    report.reason = std::string("io_uring_setup: ") + std::strerror(-rc) + disabled_sysctl();
    return report;
  }
  io_uring_probe* probe = io_uring_get_probe_ring(&ring);
  if (probe == nullptr) {
    io_uring_queue_exit(&ring);
    report.reason = "io_uring_register(PROBE) failed: kernel older than 5.6";
    return report;
  }
  for (int op = 0; op <= probe->last_op && op < 256; ++op) {
    if (io_uring_opcode_supported(probe, op)) report.opcodes.set(op);
  }
  io_uring_free_probe(probe);

  // A provided-buffer ring registration tells whether the kernel has them (5.19+).
  io_uring_buf_reg reg{};
  void* mem = nullptr;
  if (posix_memalign(&mem, 4096, 4096) == 0) {
    reg.ring_addr = reinterpret_cast<uint64_t>(mem);
    reg.ring_entries = 1;
    reg.bgid = 0;
    if (io_uring_register_buf_ring(&ring, &reg, 0) == 0) {
      report.buf_ring = true;
      io_uring_unregister_buf_ring(&ring, 0);
    }
    free(mem);
  }
  io_uring_queue_exit(&ring);

  report.coop_taskrun = setup_flag_works(IORING_SETUP_COOP_TASKRUN);
  report.single_issuer = setup_flag_works(IORING_SETUP_SINGLE_ISSUER);
  report.defer_taskrun = setup_flag_works(IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_TASKRUN_FLAG);
  report.recv_multishot = report.buf_ring && kernel_at_least(report.kernel, 6, 0);
  report.send_to_address = report.has(IORING_OP_SEND) && kernel_at_least(report.kernel, 6, 0);
  report.usable = true;
  return report;
}

bool sqpoll_works() {
  // Not part of the probe every program start runs: setting up an SQPOLL ring starts a kernel
  // thread, and tearing it down waits for that thread (its samples showed in every ringsync
  // profile). Nothing uses SQPOLL unless it is asked for, and then the ring's own setup says
  // whether it works.
  static std::once_flag once;
  static bool works = false;
  std::call_once(once, [] { works = setup_flag_works(IORING_SETUP_SQPOLL); });
  return works;
}

const ProbeReport& probe_io_uring() {
  static std::once_flag once;
  static ProbeReport report;
  std::call_once(once, [] { report = probe_io_uring_uncached(); });
  return report;
}

std::string ProbeReport::summary() const {
  std::ostringstream out;
  out << "kernel " << kernel << "\n";
  if (!usable) {
    out << "io_uring: unusable: " << reason << "\n";
    return out.str();
  }
  out << "io_uring: usable, " << opcodes.count() << " opcodes\n";
  out << "  setup flags: coop_taskrun=" << coop_taskrun << " single_issuer=" << single_issuer
      << " defer_taskrun=" << defer_taskrun << " sqpoll=" << sqpoll_works() << "\n";
  out << "  provided-buffer rings=" << buf_ring << " multishot recvmsg=" << recv_multishot
      << " send to an address=" << send_to_address << "\n";
  return out.str();
}

}  // namespace ringkit
