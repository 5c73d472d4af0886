#include "sync/sparse.h"

#include <algorithm>
#include <cstring>

namespace ringkit::sync {
namespace {

bool all_zero(std::span<const std::byte> piece) {
  static const std::byte kZeros[kSparseBlock] = {};
  while (!piece.empty()) {
    size_t n = std::min(piece.size(), sizeof kZeros);
    if (std::memcmp(piece.data(), kZeros, n) != 0) return false;
    piece = piece.subspan(n);
  }
  return true;
}

}  // namespace

std::vector<std::pair<size_t, size_t>> nonzero_runs(std::span<const std::byte> data, size_t block) {
  std::vector<std::pair<size_t, size_t>> runs;
  if (block == 0) block = kSparseBlock;
  for (size_t at = 0; at < data.size(); at += block) {
    size_t end = std::min(data.size(), at + block);
    if (all_zero(data.subspan(at, end - at))) continue;
    if (!runs.empty() && runs.back().second == at) {
      runs.back().second = end;
    } else {
      runs.emplace_back(at, end);
    }
  }
  return runs;
}

}  // namespace ringkit::sync
