// Copying a regular file's data: Syncer::copy_data and its helpers.
#include <fcntl.h>
#include <linux/falloc.h>

#include <algorithm>
#include <vector>

#include "sync/parallel.h"
#include "sync/sparse.h"
#include "sync/syncer.h"

namespace ringkit::sync {
namespace {

constexpr uint64_t kChunk = 1 << 20;       // bytes per read/write of a large file
constexpr size_t kChunksInFlight = 4;      // per large file
constexpr uint64_t kSmallFile = 256 << 10; // one buffer, one read, one write

}  // namespace

// Pipelined copy: up to kChunksInFlight chunks of one file in flight, each read into a buffer
// and written from that same buffer.
Task<Result<void>> Syncer::copy_data(int src_fd, int dst_fd, uint64_t size, bool punch_holes) {
  if (size == 0) co_return Result<void>{};
  uint64_t chunk = std::min(size, size <= kSmallFile ? kSmallFile : kChunk);
  size_t chunks = static_cast<size_t>((size + chunk - 1) / chunk);
  Result<void> outcome;
  co_await parallel_for(chunks, kChunksInFlight, [&](size_t i) {
    return copy_chunk(src_fd, dst_fd, i * chunk, std::min(chunk, size - i * chunk), punch_holes, outcome);
  });
  // -S: zero blocks were not written; the length is set once, as rsync does (no block is
  // allocated for a hole at the end).
  if (outcome && opt_.sparse) outcome = co_await fs::ftruncate(dst_fd, size);
  co_return outcome;
}

Task<void> Syncer::copy_chunk(int src_fd, int dst_fd, uint64_t offset, uint64_t length, bool punch_holes,
                              Result<void>& outcome) {
  if (!outcome) co_return;  // another chunk failed: stop early
  if (interrupt_signal.load(std::memory_order_relaxed) != 0) {
    outcome = std::make_error_code(std::errc::operation_canceled);  // the file is abandoned
    co_return;
  }
  std::vector<std::byte> buf(length);
  uint64_t filled = 0;
  while (filled < length) {
    auto n = co_await fs::read(src_fd, std::span(buf).subspan(filled), offset + filled);
    if (!n) {
      outcome = n.error();
      co_return;
    }
    if (*n == 0) break;  // the file shrank while we copied it
    filled += *n;
  }
  out_.data_written(filled);  // progress counters
  // `outcome` is shared by the file's chunks: only a failure is written to it, never a success
  // that would hide another chunk's failure.
  if (!opt_.sparse) {
    auto written = co_await write_all(dst_fd, std::span<const std::byte>(buf).first(filled), offset);
    if (!written) outcome = written.error();
    co_return;
  }
  // -S: only the blocks that hold data (chunks start on block boundaries). Writing in place
  // over old data, the blocks between are punched out instead, as rsync does.
  auto runs = nonzero_runs(std::span<const std::byte>(buf).first(filled));
  runs.emplace_back(filled, filled);  // so that the gap at the end is punched too
  size_t done = 0;
  for (auto [begin, end] : runs) {
    if (punch_holes && begin > done) {
      auto punched = co_await fs::fallocate(dst_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset + done, begin - done);
      if (!punched) {
        outcome = punched.error();
        co_return;
      }
    }
    auto written = co_await write_all(dst_fd, std::span<const std::byte>(buf).subspan(begin, end - begin), offset + begin);
    if (!written) {
      outcome = written.error();
      co_return;
    }
    done = end;
  }
}

Task<Result<void>> Syncer::write_all(int fd, std::span<const std::byte> data, uint64_t offset) {
  uint64_t written = 0;
  while (written < data.size()) {
    auto n = co_await fs::write(fd, data.subspan(written), offset + written);
    if (!n) co_return n.error();
    written += *n;
  }
  co_return Result<void>{};
}

}  // namespace ringkit::sync
