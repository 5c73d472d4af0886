#include "tftp/netascii.h"

#include <algorithm>

namespace ringkit::tftp {
namespace {
constexpr std::byte kCr{'\r'};
constexpr std::byte kLf{'\n'};
constexpr std::byte kNul{0};
}  // namespace

NetasciiEncoder::Step NetasciiEncoder::encode(std::span<const std::byte> in,
                                              std::span<std::byte> out) {
  size_t i = 0;
  size_t o = 0;
  if (pending_) {
    if (out.empty()) return {0, 0};
    out[o++] = held_;
    pending_ = false;
  }
  while (i < in.size() && o < out.size()) {
    std::byte b = in[i++];
    if (b == kLf || b == kCr) {
      out[o++] = kCr;
      std::byte second = b == kLf ? kLf : kNul;
      if (o < out.size()) {
        out[o++] = second;
      } else {
        held_ = second;  // the pair straddles the end of this block
        pending_ = true;
        break;
      }
    } else {
      out[o++] = b;
    }
  }
  return {i, o};
}

size_t NetasciiDecoder::decode(std::span<const std::byte> in, std::span<std::byte> out) {
  size_t o = 0;
  for (std::byte b : in) {
    if (pending_cr_) {
      if (b == kLf) {
        out[o++] = kLf;
        pending_cr_ = false;
        continue;
      }
      // CR NUL is a CR. A CR before anything else is malformed; keep the CR and go on with b.
      out[o++] = kCr;
      pending_cr_ = false;
      if (b == kNul) continue;
    }
    if (b == kCr) {
      pending_cr_ = true;
    } else {
      out[o++] = b;
    }
  }
  return o;
}

size_t NetasciiDecoder::finish(std::span<std::byte> out) {
  if (!pending_cr_) return 0;
  out[0] = kCr;
  pending_cr_ = false;
  return 1;
}

void NetasciiSizeCounter::add(std::span<const std::byte> data) {
  size_ += data.size();
  size_ += static_cast<uint64_t>(
      std::count_if(data.begin(), data.end(), [](std::byte b) { return b == kCr || b == kLf; }));
}

uint64_t netascii_encoded_size(std::span<const std::byte> data) {
  NetasciiSizeCounter counter;
  counter.add(data);
  return counter.size();
}

}  // namespace ringkit::tftp
