// Where a transfer's blocks come from and go to: files in octet or netascii mode, or memory.
//
// A BlockSource serves DATA payloads by block index (1 = the first block). A sender asks for
// a window of consecutive blocks at once and asks again for blocks it must retransmit, so a
// source must be able to go back — but never before the block the peer has acknowledged
// (forget_before()). The octet source reads straight from the file at index * blksize (one
// preadv for a whole window, into the packet buffers: no copy); the netascii source encodes
// sequentially and keeps, for each block not yet acknowledged, where its encoding started, so a
// retransmission re-reads and re-encodes from there rather than keeping the window in memory.
//
// A BlockSink takes DATA payloads in order (index 1, 2, ...) and writes them; it enforces a
// maximum size (ERROR 3 to the peer when exceeded). The netascii sink decodes CR LF and CR NUL.
// Making the written file visible under its final name is the caller's business (a transfer
// that fails must leave no partial file behind; see tftp/files.h).
//
// Sources and sinks belong to one transfer, on one executor thread. The file descriptors they
// are given stay open (and owned by the caller) for their lifetime.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "ringkit/result.h"
#include "ringkit/task.h"
#include "tftp/netascii.h"

namespace ringkit::tftp {

class BlockSource {
 public:
  virtual ~BlockSource() = default;
  // Fills the payloads of blocks first, first+1, ... (payloads[i] has room for blksize bytes)
  // and stores their sizes. A block shorter than blksize is the transfer's last: blocks after
  // it get size 0 and are not part of the transfer.
  // REQUIRES: first >= 1, not before the index given to forget_before(); sizes.size() ==
  // payloads.size().
  virtual Task<Result<void>> read(uint64_t first, std::span<const std::span<std::byte>> payloads,
                                  std::span<size_t> sizes) = 0;
  // Blocks before `index` will not be asked for again.
  virtual void forget_before(uint64_t index) { (void)index; }
};

class BlockSink {
 public:
  virtual ~BlockSink() = default;
  // Appends block `index`'s payload. REQUIRES: called for 1, 2, 3, ... in order.
  // Errors: kUploadTooLarge beyond the size limit, or the write's error.
  virtual Task<Result<void>> write(uint64_t index, std::span<const std::byte> payload) = 0;
  // After the last block: writes what the decoder still holds. The bytes written in all.
  virtual Task<Result<uint64_t>> finish() = 0;
};

// Octet: the file's bytes as they are.
class OctetFileSource : public BlockSource {
 public:
  OctetFileSource(int fd, size_t blksize) : fd_(fd), blksize_(blksize) {}
  Task<Result<void>> read(uint64_t first, std::span<const std::span<std::byte>> payloads,
                          std::span<size_t> sizes) override;

 private:
  int fd_;
  size_t blksize_;
  std::vector<iovec> iov_;  // the read's, kept for the next
};

// Netascii: LF -> CR LF and CR -> CR NUL, encoded as it is read.
class NetasciiFileSource : public BlockSource {
 public:
  NetasciiFileSource(int fd, size_t blksize);
  Task<Result<void>> read(uint64_t first, std::span<const std::span<std::byte>> payloads,
                          std::span<size_t> sizes) override;
  void forget_before(uint64_t index) override;

 private:
  // Where block `index`'s encoding starts: the file offset and the encoder's state there.
  struct Checkpoint {
    uint64_t offset = 0;
    NetasciiEncoder encoder;
  };
  Task<Result<size_t>> fill(std::span<std::byte> out, Checkpoint& at);

  int fd_;
  size_t blksize_;
  uint64_t first_kept_ = 1;           // checkpoints_[0] is block first_kept_'s
  std::deque<Checkpoint> checkpoints_;  // one per block from first_kept_ up to the next unread
  std::optional<uint64_t> last_;      // the last block's index, once read
  std::vector<std::byte> raw_;        // staging for file bytes
};

// A source over bytes in memory (tests, and a client's put of generated data).
class MemorySource : public BlockSource {
 public:
  MemorySource(std::span<const std::byte> data, size_t blksize) : data_(data), blksize_(blksize) {}
  Task<Result<void>> read(uint64_t first, std::span<const std::span<std::byte>> payloads,
                          std::span<size_t> sizes) override;

 private:
  std::span<const std::byte> data_;
  size_t blksize_;
};

// Writes payloads to `fd` from offset 0, decoding netascii when asked, refusing to grow past
// `max_size` bytes (written size, after decoding).
//
// Payloads are gathered into a buffer of `buffer_size` bytes and written when it is full (and
// at finish()): one write per 1428-byte block made every block a write that io_uring handed to
// a worker thread on ext4 (an appending buffered write cannot complete inline), and those
// hand-offs, not the network, bounded a download at ~27 MiB/s. The copy into the buffer is the
// price of batching (the receive buffer is reused for the next datagram); memcpy is two orders
// of magnitude cheaper than the write it saves.
class FileSink : public BlockSink {
 public:
  static constexpr size_t kDefaultBuffer = 256 * 1024;
  FileSink(int fd, bool netascii, std::optional<uint64_t> max_size = std::nullopt,
           size_t buffer_size = kDefaultBuffer)
      : fd_(fd), netascii_(netascii), max_size_(max_size), buffer_size_(buffer_size) {}
  Task<Result<void>> write(uint64_t index, std::span<const std::byte> payload) override;
  Task<Result<uint64_t>> finish() override;

 private:
  Task<Result<void>> append(std::span<const std::byte> bytes);
  Task<Result<void>> flush();

  int fd_;
  bool netascii_;
  std::optional<uint64_t> max_size_;
  size_t buffer_size_;
  uint64_t offset_ = 0;     // bytes written to the file
  uint64_t accepted_ = 0;   // bytes taken (written or buffered)
  std::vector<std::byte> pending_;  // taken, not yet written
  NetasciiDecoder decoder_;
  std::vector<std::byte> decoded_;
};

// Collects payloads in memory, or only counts and hashes them (a load generator verifying
// downloads without keeping them).
class MemorySink : public BlockSink {
 public:
  explicit MemorySink(bool keep = true);
  ~MemorySink() override;
  MemorySink(const MemorySink&) = delete;
  MemorySink& operator=(const MemorySink&) = delete;

  Task<Result<void>> write(uint64_t index, std::span<const std::byte> payload) override;
  Task<Result<uint64_t>> finish() override;
  const std::vector<std::byte>& data() const { return data_; }
  uint64_t size() const { return size_; }
  // XXH3-64 of everything written.
  uint64_t hash() const;

 private:
  struct Hasher;
  bool keep_;
  std::vector<std::byte> data_;
  uint64_t size_ = 0;
  std::unique_ptr<Hasher> hasher_;
};

}  // namespace ringkit::tftp
