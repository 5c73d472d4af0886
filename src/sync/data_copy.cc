// Copying a regular file's data: clone, kernel copy or ring (data_copy.h says which when).
#include "sync/data_copy.h"

#include <fcntl.h>
#include <linux/falloc.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "ringkit/executor.h"
#include "sync/parallel.h"
#include "sync/sparse.h"
#include "sync/syncer.h"

namespace ringkit::sync {
namespace {

// The ring: chunks of 256 KiB, 4 of a file in flight. Larger writes measured slower on ext4
// here: the page cache takes folios as large as the write, and 4 files written in 1 MiB pieces
// took 2-4x as long as in 256 KiB ones (tmpfs: no difference; bench/sync/analysis.md says why,
// under target 4).
constexpr uint64_t kChunk = 256 << 10;
constexpr size_t kChunksInFlight = 4;
// Leased buffers for all files of a lane together (chunks above kHeapBuffer): half the entries
// the walk keeps in flight (kEntriesInFlight, syncer.cc), as each of two lanes takes about half
// of them; where one lane writes everything, a file may wait for a buffer, bounding memory at
// 16 MiB a lane. Pages are touched only when a buffer is first used.
constexpr size_t kBuffers = 64;
constexpr uint64_t kHeapBuffer = 64 << 10;  // smaller chunks: a heap buffer, cheaper than a lease
// Kernel copy (and clone) from this size on. Smaller files stay on the ring: a copy_file_range
// on the executor thread waits for a cold disk one file at a time (10 000 files of 1 KiB from a
// cold ext4: 2.3 s against the ring's 0.8 s), and on the pool each would pay a hand-off of
// 15-45 us (docs/benchmarks.md) for a copy of a few microseconds.
constexpr uint64_t kKernelMin = kLargeCopy;
// Bytes per copy_file_range call: an interruption or a progress update waits for one piece at
// most. 4 MiB measured as fast as 16 or 64 MiB, and one piece of a file in flight as fast as
// several (their writes take turns on the inode lock).
constexpr uint64_t kKernelPiece = 4 << 20;

// copy_file_range refused for these two files (not an I/O error): the ring copies instead.
bool refused(const std::error_code& ec) {
  return ec == std::errc::cross_device_link || ec == std::errc::operation_not_supported ||
         ec == std::errc::invalid_argument || ec == std::errc::function_not_supported;
}

bool stop_requested() { return Syncer::interrupt_signal.load(std::memory_order_relaxed) != 0; }

// copy_file_range from offset 0 in pieces of kKernelPiece on the blocking pool, each counted by
// `out` (progress). `done` says how far it got, also after an error: `size` when complete; less
// when the kernel refused (EXDEV, EOPNOTSUPP, EINVAL) or copied nothing (the source shrank, or a
// file system whose files claim a size that copy_file_range does not give, as some in /proc and
// /sys do): the ring then copies (or finds the end of) the rest.
Task<Result<void>> kernel_copy(int src_fd, int dst_fd, uint64_t size, fs::Placement where, ItemOutput* out,
                               uint64_t& done) {
  done = 0;
  while (done < size) {
    if (stop_requested()) co_return std::make_error_code(std::errc::operation_canceled);
    auto n = co_await fs::copy_file_range(src_fd, done, dst_fd, done, std::min(kKernelPiece, size - done), where);
    if (!n) {
      if (refused(n.error())) break;
      co_return n.error();
    }
    if (*n == 0) break;
    done += *n;
    if (out != nullptr) out->data_written(*n);
  }
  co_return Result<void>{};
}

}  // namespace

std::optional<CopyMethod> parse_copy_method(std::string_view text) {
  if (text == "auto") return CopyMethod::kAuto;
  if (text == "ring") return CopyMethod::kRing;
  if (text == "copy_file_range") return CopyMethod::kKernel;
  if (text == "clone") return CopyMethod::kClone;
  return std::nullopt;
}

std::string_view to_string(CopyMethod method) {
  switch (method) {
    case CopyMethod::kAuto: return "auto";
    case CopyMethod::kRing: return "ring";
    case CopyMethod::kKernel: return "copy_file_range";
    case CopyMethod::kClone: return "clone";
  }
  return "?";
}

CopyMethod copy_method_from_env() {
  const char* value = std::getenv("RINGKIT_SYNC_COPY");
  if (value == nullptr) return CopyMethod::kAuto;
  if (auto method = parse_copy_method(value)) return *method;
  static bool said = false;
  if (!said) {
    said = true;
    std::fprintf(stderr, "ringsync: ignoring RINGKIT_SYNC_COPY=%s (auto, ring, copy_file_range or clone)\n",
                 value);
  }
  return CopyMethod::kAuto;
}

Task<Result<void>> Syncer::copy_data(int src_fd, int dst_fd, uint64_t size, bool punch_holes, uint64_t* prefix_done,
                                     uint64_t src_dev) {
  co_return co_await copy_data_on(copy_.home, src_fd, dst_fd, size, punch_holes, prefix_done, src_dev);
}

bool CopyLane::reads_from_memory(int fd, uint64_t dev) {
  if (dev == kUnknownDevice) return false;
  for (auto [known, memory] : in_memory) {
    if (known == dev) return memory;
  }
  bool memory = fs::memory_backed(fd);
  in_memory.emplace_back(dev, memory);
  return memory;
}

Task<Result<void>> Syncer::copy_data_on(CopyLane& lane, int src_fd, int dst_fd, uint64_t size, bool punch_holes,
                                        uint64_t* prefix_done, uint64_t src_dev) {
  ItemOutput* progress = lane.counts_progress ? &out_ : nullptr;
  uint64_t unused = 0;
  uint64_t& prefix = prefix_done != nullptr ? *prefix_done : unused;
  prefix = 0;
  if (size == 0) co_return Result<void>{};
  CopyMethod method = copy_.method;
  // -S must see every block to leave the zero ones out: only the ring can.
  bool whole_file = !opt_.sparse && method != CopyMethod::kRing;
  bool large = size >= kKernelMin;
  fs::Placement where = large ? fs::Placement::kBlockingPool : fs::Placement::kPolicy;
  if (whole_file && ((large && method == CopyMethod::kAuto) || method == CopyMethod::kClone)) {
    // Any failure falls through, as cp's does: a real fault (a full disk, an I/O error) shows
    // again in the copy that follows, which reports it.
    auto cloned = co_await fs::ficlone(dst_fd, src_fd, where);
    if (cloned) {
      prefix = size;
      if (progress != nullptr) progress->data_written(size);
      co_return cloned;
    }
  }
  // A small file from memory: one copy_file_range on this thread (its read cannot wait for a
  // device). 100 000 x 1 KiB, tmpfs to tmpfs, one thread: 1.9 CPU s like direct read + write,
  // one system call fewer, against 2.15 s through the ring, whose reads io-wq runs.
  bool from_memory = !large && lane.reads_from_memory(src_fd, src_dev);
  bool small_kernel = from_memory && method == CopyMethod::kAuto && !lane.small_kernel_copy_refused;
  uint64_t from = 0;
  if (whole_file && (large || method == CopyMethod::kKernel || small_kernel)) {
    auto copied = co_await kernel_copy(src_fd, dst_fd, size, where, progress, from);
    prefix = from;
    if (!copied || from == size) co_return copied;
    if (small_kernel && from == 0) lane.small_kernel_copy_refused = true;
  }
  // The ring: up to kChunksInFlight chunks of the file in flight, each read into a buffer and
  // written from that same buffer.
  uint64_t left = size - from;
  uint64_t chunk = std::min(left, kChunk);
  size_t chunks = static_cast<size_t>((left + chunk - 1) / chunk);
  if (chunk > kHeapBuffer && !lane.buffers) {
    lane.buffers = std::make_unique<BufferPool>(*Executor::current(), kBuffers, kChunk, BufferPool::Registration::kNever);
  }
  Result<void> outcome;
  std::vector<char> finished(chunks, 0);
  co_await parallel_for(chunks, kChunksInFlight, [&](size_t i) {
    return copy_chunk(lane, src_fd, dst_fd, from + i * chunk, std::min(chunk, left - i * chunk), punch_holes,
                      from_memory, outcome, finished[i]);
  });
  size_t whole = static_cast<size_t>(std::find(finished.begin(), finished.end(), 0) - finished.begin());
  prefix = std::min(size, from + whole * chunk);
  // -S: zero blocks were not written; the length is set once, as rsync does (no block is
  // allocated for a hole at the end).
  if (outcome && opt_.sparse) outcome = co_await fs::ftruncate(dst_fd, size);
  co_return outcome;
}

Task<void> Syncer::copy_chunk(CopyLane& lane, int src_fd, int dst_fd, uint64_t offset, uint64_t length,
                              bool punch_holes, bool from_memory, Result<void>& outcome, char& finished) {
  if (!outcome) co_return;  // another chunk failed: stop early
  if (stop_requested()) {
    outcome = std::make_error_code(std::errc::operation_canceled);  // the file is abandoned
    co_return;
  }
  // A small buffer from the heap; a large one leased (no allocation, no page faults per chunk).
  std::unique_ptr<std::byte[]> small;
  BufferPool::Lease lease;
  std::span<std::byte> buf;
  if (length <= kHeapBuffer) {
    small.reset(new std::byte[length]);
    buf = std::span(small.get(), length);
  } else {
    lease = co_await lane.buffers->acquire();
    buf = lease.span().first(length);
  }
  uint64_t filled = 0;
  while (filled < length) {
    // (Not a ?: inside the co_await: GCC 12.)
    auto read = from_memory ? fs::read_buffered(src_fd, buf.subspan(filled), offset + filled)
                            : fs::read(src_fd, buf.subspan(filled), offset + filled);
    auto n = co_await read;
    if (!n) {
      outcome = n.error();
      co_return;
    }
    if (*n == 0) break;  // the file shrank while we copied it
    filled += *n;
    if (lane.counts_progress) out_.data_written(*n);  // progress counters
  }
  std::span<const std::byte> data = buf.first(filled);
  // `outcome` is shared by the file's chunks: only a failure is written to it, never a success
  // that would hide another chunk's failure.
  if (!opt_.sparse) {
    auto written = co_await write_all(dst_fd, data, offset);
    if (!written) outcome = written.error();
    finished = written.ok() ? 1 : 0;
    co_return;
  }
  // -S: only the blocks that hold data (chunks start on block boundaries). Writing in place
  // over old data, the blocks between are punched out instead, as rsync does.
  auto runs = nonzero_runs(data);
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
    auto written = co_await write_all(dst_fd, data.subspan(begin, end - begin), offset + begin);
    if (!written) {
      outcome = written.error();
      co_return;
    }
    done = end;
  }
  finished = 1;
}

Task<Result<void>> Syncer::write_all(int fd, std::span<const std::byte> data, uint64_t offset) {
  uint64_t written = 0;
  while (written < data.size()) {
    // A small file's data (one heap buffer) as a direct call: on tmpfs and ext4 a ring write
    // would wait for an io-wq worker (fs::write_buffered).
    auto part = data.subspan(written);
    auto write = data.size() <= kHeapBuffer ? fs::write_buffered(fd, part, offset + written)
                                            : fs::write(fd, part, offset + written);
    auto n = co_await write;
    if (!n) co_return n.error();
    written += *n;
  }
  co_return Result<void>{};
}

}  // namespace ringkit::sync
