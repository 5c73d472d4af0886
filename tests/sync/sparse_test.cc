#include "sync/sparse.h"

#include <gtest/gtest.h>

#include <vector>

namespace ringkit::sync {
namespace {

using Runs = std::vector<std::pair<size_t, size_t>>;

std::vector<std::byte> zeros(size_t n) { return std::vector<std::byte>(n); }

TEST(SparseRuns, AllZeroIsOneHole) {
  auto data = zeros(3 * kSparseBlock + 100);
  EXPECT_EQ(nonzero_runs(data), Runs{});
}

TEST(SparseRuns, NoZeroBlockIsOneRun) {
  std::vector<std::byte> data(2 * kSparseBlock + 10, std::byte{1});
  EXPECT_EQ(nonzero_runs(data), (Runs{{0, data.size()}}));
}

TEST(SparseRuns, OneByteMakesItsWholeBlockData) {
  auto data = zeros(4 * kSparseBlock);
  data[kSparseBlock + 7] = std::byte{9};
  EXPECT_EQ(nonzero_runs(data), (Runs{{kSparseBlock, 2 * kSparseBlock}}));
}

TEST(SparseRuns, AdjacentDataBlocksMergeAndHolesSplit) {
  auto data = zeros(6 * kSparseBlock + 5);
  data[0] = std::byte{1};
  data[kSparseBlock] = std::byte{1};
  data[4 * kSparseBlock + kSparseBlock - 1] = std::byte{1};
  data[6 * kSparseBlock + 4] = std::byte{1};  // in the short last piece
  EXPECT_EQ(nonzero_runs(data),
            (Runs{{0, 2 * kSparseBlock}, {4 * kSparseBlock, 5 * kSparseBlock}, {6 * kSparseBlock, data.size()}}));
}

TEST(SparseRuns, ZeroBytesInsideADataBlockAreWritten) {
  auto data = zeros(kSparseBlock);
  data[kSparseBlock - 1] = std::byte{1};
  EXPECT_EQ(nonzero_runs(data), (Runs{{0, kSparseBlock}}));
}

TEST(SparseRuns, EmptyInputHasNoRuns) { EXPECT_EQ(nonzero_runs({}), Runs{}); }

}  // namespace
}  // namespace ringkit::sync
