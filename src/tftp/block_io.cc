#include "tftp/block_io.h"

#include <sys/uio.h>
#include <xxhash.h>

#include <algorithm>
#include <cassert>

#include "ringkit/fs.h"
#include "tftp/errors.h"

namespace ringkit::tftp {

namespace {

// Splits `total` bytes read contiguously over blocks of `blksize`: the first blocks full, then
// one partial (possibly empty) block, then zeros.
void distribute(size_t total, size_t blksize, std::span<size_t> sizes) {
  for (size_t& s : sizes) {
    s = std::min(total, blksize);
    total -= s;
  }
}

// After `sizes` were filled, zeroes every size past the first short block.
void cut_after_last(std::span<size_t> sizes, size_t blksize) {
  bool ended = false;
  for (size_t& s : sizes) {
    if (ended) s = 0;
    if (s < blksize) ended = true;
  }
}

}  // namespace

// ---- OctetFileSource ----

Task<Result<void>> OctetFileSource::read(uint64_t first,
                                         std::span<const std::span<std::byte>> payloads,
                                         std::span<size_t> sizes) {
  assert(first >= 1 && sizes.size() == payloads.size());
  // The source's own iovec array, kept from call to call: a vector per read was four
  // allocations per read (the push_backs), at every few blocks of every transfer.
  iov_.resize(payloads.size());
  for (size_t i = 0; i < payloads.size(); ++i) {
    iov_[i] = {payloads[i].data(), blksize_};
  }
  uint64_t offset = (first - 1) * blksize_;
  size_t want = payloads.size() * blksize_;
  size_t got = 0;
  size_t unfilled = 0;  // iov_[unfilled] is the first payload not yet read in full
  // A regular file returns short reads only at its end; loop anyway (a signal, a file system
  // that splits large reads) until the window is full or a read returns 0.
  while (got < want) {
    auto n = co_await fs::readv(fd_, std::span(iov_).subspan(unfilled), offset + got);
    if (!n) co_return n.error();
    if (*n == 0) break;
    got += *n;
    // Skip what was read.
    for (size_t skip = *n; skip > 0 && unfilled < iov_.size();) {
      iovec& v = iov_[unfilled];
      if (skip < v.iov_len) {
        v.iov_base = static_cast<std::byte*>(v.iov_base) + skip;
        v.iov_len -= skip;
        break;
      }
      skip -= v.iov_len;
      ++unfilled;
    }
  }
  distribute(got, blksize_, sizes);
  cut_after_last(sizes, blksize_);
  co_return Result<void>{};
}

// ---- NetasciiFileSource ----

NetasciiFileSource::NetasciiFileSource(int fd, size_t blksize)
    : fd_(fd), blksize_(blksize), raw_(blksize) {
  checkpoints_.push_back(Checkpoint{});
}

void NetasciiFileSource::forget_before(uint64_t index) {
  while (first_kept_ < index && checkpoints_.size() > 1) {
    checkpoints_.pop_front();
    ++first_kept_;
  }
}

Task<Result<size_t>> NetasciiFileSource::fill(std::span<std::byte> out, Checkpoint& at) {
  size_t produced = 0;
  for (;;) {
    // Write what the encoder holds back first, with no input.
    auto step = at.encoder.encode({}, out.subspan(produced));
    produced += step.produced;
    if (produced == out.size()) break;
    // Every raw byte becomes at most two wire bytes: read no more than can be encoded.
    size_t room = out.size() - produced;
    size_t want = std::min(raw_.size(), (room + 1) / 2);
    auto n = co_await fs::read(fd_, std::span(raw_).first(want), at.offset);
    if (!n) co_return n.error();
    if (*n == 0) break;  // end of file
    step = at.encoder.encode(std::span(raw_).first(*n), out.subspan(produced));
    produced += step.produced;
    at.offset += step.consumed;
  }
  co_return produced;
}

Task<Result<void>> NetasciiFileSource::read(uint64_t first,
                                            std::span<const std::span<std::byte>> payloads,
                                            std::span<size_t> sizes) {
  assert(first >= first_kept_ && sizes.size() == payloads.size());
  for (size_t i = 0; i < payloads.size(); ++i) {
    uint64_t index = first + i;
    if (last_ && index > *last_) {
      sizes[i] = 0;
      continue;
    }
    size_t slot = index - first_kept_;
    assert(slot < checkpoints_.size());  // blocks are asked for at most one past the last read
    Checkpoint at = checkpoints_[slot];
    auto n = co_await fill(payloads[i].first(blksize_), at);
    if (!n) co_return n.error();
    sizes[i] = *n;
    if (slot + 1 == checkpoints_.size()) checkpoints_.push_back(at);
    if (*n < blksize_) last_ = index;
  }
  cut_after_last(sizes, blksize_);
  co_return Result<void>{};
}

// ---- MemorySource ----

Task<Result<void>> MemorySource::read(uint64_t first, std::span<const std::span<std::byte>> payloads,
                                      std::span<size_t> sizes) {
  uint64_t offset = (first - 1) * blksize_;
  size_t available = offset < data_.size() ? data_.size() - offset : 0;
  distribute(available, blksize_, sizes);
  cut_after_last(sizes, blksize_);
  for (size_t i = 0; i < payloads.size(); ++i) {
    std::copy_n(data_.begin() + offset + i * blksize_, sizes[i], payloads[i].begin());
  }
  co_return Result<void>{};
}

// ---- FileSink ----

Task<Result<void>> FileSink::flush() {
  std::span<const std::byte> bytes = pending_;
  while (!bytes.empty()) {
    auto n = co_await fs::write(fd_, bytes, offset_);
    if (!n) co_return n.error();
    offset_ += *n;
    bytes = bytes.subspan(*n);
  }
  pending_.clear();
  co_return Result<void>{};
}

Task<Result<void>> FileSink::append(std::span<const std::byte> bytes) {
  if (max_size_ && accepted_ + bytes.size() > *max_size_) {
    co_return make_error_code(Errc::kUploadTooLarge);
  }
  accepted_ += bytes.size();
  if (pending_.capacity() < buffer_size_) pending_.reserve(buffer_size_);
  pending_.insert(pending_.end(), bytes.begin(), bytes.end());
  if (pending_.size() >= buffer_size_) co_return co_await flush();
  co_return Result<void>{};
}

Task<Result<void>> FileSink::write(uint64_t index, std::span<const std::byte> payload) {
  (void)index;
  if (!netascii_) co_return co_await append(payload);
  decoded_.resize(payload.size() + 1);
  size_t n = decoder_.decode(payload, decoded_);
  co_return co_await append(std::span(decoded_).first(n));
}

Task<Result<uint64_t>> FileSink::finish() {
  if (netascii_ && decoder_.pending_cr()) {
    std::byte tail[1];
    size_t n = decoder_.finish(tail);
    auto r = co_await append(std::span(tail, n));
    if (!r) co_return r.error();
  }
  auto r = co_await flush();
  if (!r) co_return r.error();
  co_return offset_;
}

// ---- MemorySink ----

struct MemorySink::Hasher {
  XXH3_state_t* state = XXH3_createState();
  Hasher() { XXH3_64bits_reset(state); }
  ~Hasher() { XXH3_freeState(state); }
};

MemorySink::MemorySink(bool keep) : keep_(keep), hasher_(std::make_unique<Hasher>()) {}
MemorySink::~MemorySink() = default;

Task<Result<void>> MemorySink::write(uint64_t index, std::span<const std::byte> payload) {
  (void)index;
  if (keep_) data_.insert(data_.end(), payload.begin(), payload.end());
  XXH3_64bits_update(hasher_->state, payload.data(), payload.size());
  size_ += payload.size();
  co_return Result<void>{};
}

Task<Result<uint64_t>> MemorySink::finish() { co_return size_; }

uint64_t MemorySink::hash() const { return XXH3_64bits_digest(hasher_->state); }

}  // namespace ringkit::tftp
