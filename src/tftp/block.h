// Block numbers: 64-bit block indexes inside a transfer, 16-bit block numbers on the wire.
//
// A transfer counts its DATA blocks with a 64-bit index: index 1 is the first block, index 0 is
// "before the first block" (the ACK of a WRQ, or of an OACK). On the wire a block number is the
// index modulo 65536, so block 65535 is followed by block 0. RFC 1350 is silent on what follows
// 65535; rolling over to 0 is what tftpd-hpa, atftpd and curl do, and what lets files above
// 65535 × blksize be sent at all. (Some old clients roll over to 1; the draft "rollover"
// option to choose that is not supported: such a request is an unknown option, ignored.)
//
// Going back from the wire needs context: unwrap_block() finds the one index in a window that
// is shorter than 65536 blocks, which is what a sender (between the oldest unacknowledged and
// the newest sent block) and a receiver (around the block it expects) both have.
//
// Pure constexpr functions: any thread.
#pragma once

#include <cstdint>
#include <optional>

namespace ringkit::tftp {

inline constexpr uint64_t kBlockNumberSpace = 65536;

// The wire number of block `index`.
constexpr uint16_t wire_block(uint64_t index) { return static_cast<uint16_t>(index); }

// The index in [low, high] whose wire number is `wire`, or nullopt when none is.
// REQUIRES: low <= high and high - low < kBlockNumberSpace (so at most one index matches).
constexpr std::optional<uint64_t> unwrap_block(uint16_t wire, uint64_t low, uint64_t high) {
  // The distance from low forward to the next index with this wire number, 0..65535.
  uint64_t delta = static_cast<uint16_t>(wire - static_cast<uint16_t>(low));
  if (delta > high - low) return std::nullopt;
  return low + delta;
}

// How many DATA blocks carry `bytes` bytes at `blksize`: a transfer ends with a block shorter
// than blksize, so an exact multiple (0 included) needs one more, empty, block.
// REQUIRES: blksize > 0.
constexpr uint64_t data_block_count(uint64_t bytes, uint64_t blksize) {
  return bytes / blksize + 1;
}

}  // namespace ringkit::tftp
