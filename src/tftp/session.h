// One request served: an RRQ or WRQ that the listener admitted, from the first reply to the
// log line. Runs as a task on the worker that received the request, on a socket of its own
// (the server's TID for this transfer).
//
//   RRQ: open the file (files.h rules) -> negotiate options (tsize = the file's size in octet
//        mode) -> OACK or DATA 1 -> send_blocks.
//   WRQ: check uploads are allowed -> negotiate (a tsize above max_upload_size is refused
//        with ERROR 3) -> OACK or ACK 0 -> receive_blocks into a temporary file -> rename it
//        into place once the last block is in; on any failure the temporary file is removed.
//   mode "mail" is refused with ERROR 4, as RFC 1350 lets a server do.
// Refusals are answered with an ERROR from the transfer's socket, counted and logged.
//
// Thread affinity: the worker's executor thread; everything in SessionContext outlives the
// session (the worker waits for its sessions through a Gate before tearing down).
#pragma once

#include <functional>
#include <memory>
#include <stop_token>
#include <vector>

#include "ringkit/buffer_pool.h"
#include "ringkit/gate.h"
#include "ringkit/net.h"
#include "ringkit/task.h"
#include "tftp/files.h"
#include "tftp/metrics.h"
#include "tftp/server_config.h"
#include "tftp/server_log.h"

namespace ringkit::tftp {

struct SessionContext {
  int root_fd = -1;
  BufferPool* pool = nullptr;      // packet buffers for sending windows
  OpenFiles* files = nullptr;      // descriptors of served files, shared
  ServerMetrics* metrics = nullptr;
  const ServerLog* log = nullptr;
  std::stop_token stop;            // cancels running transfers (shutdown past its grace)
};

// Runs on admission and calls `release` when done (the worker's per-client bookkeeping).
class AdmissionTicket {
 public:
  AdmissionTicket() = default;
  explicit AdmissionTicket(std::function<void()> release) : release_(std::move(release)) {}
  AdmissionTicket(AdmissionTicket&& o) noexcept : release_(std::exchange(o.release_, {})) {}
  AdmissionTicket& operator=(AdmissionTicket&&) = delete;
  AdmissionTicket(const AdmissionTicket&) = delete;
  ~AdmissionTicket() {
    if (release_) release_();
  }

 private:
  std::function<void()> release_;
};

// Serves the request in `datagram` (a parsed-OK RRQ or WRQ, copied out of the listener's
// buffer) from `client`, with a new socket bound to `local`'s host.
Task<void> serve_request(SessionContext& ctx, std::shared_ptr<const ServerConfig> config,
                         std::vector<std::byte> datagram, net::Address client,
                         net::Address local, Gate::Holder holder, AdmissionTicket ticket);

}  // namespace ringkit::tftp
