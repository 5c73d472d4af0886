// Block numbers: the 64-bit index to 16-bit wire mapping, its rollover to 0, and recovering the
// index from a wire number inside a window.
#include "tftp/block.h"

#include <gtest/gtest.h>

namespace ringkit::tftp {
namespace {

TEST(TftpBlock, WireNumbersRollOverToZero) {
  EXPECT_EQ(wire_block(0), 0);
  EXPECT_EQ(wire_block(1), 1);
  EXPECT_EQ(wire_block(65535), 65535);
  EXPECT_EQ(wire_block(65536), 0);
  EXPECT_EQ(wire_block(65537), 1);
  EXPECT_EQ(wire_block(3 * 65536 + 7), 7);
}

TEST(TftpBlock, UnwrapInsideAWindow) {
  EXPECT_EQ(unwrap_block(5, 1, 10), 5u);
  EXPECT_EQ(unwrap_block(1, 1, 1), 1u);
  EXPECT_EQ(unwrap_block(0, 1, 10), std::nullopt);
  EXPECT_EQ(unwrap_block(11, 1, 10), std::nullopt);
  // A window across the rollover: 65530..65545.
  EXPECT_EQ(unwrap_block(65535, 65530, 65545), 65535u);
  EXPECT_EQ(unwrap_block(0, 65530, 65545), 65536u);
  EXPECT_EQ(unwrap_block(9, 65530, 65545), 65545u);
  EXPECT_EQ(unwrap_block(10, 65530, 65545), std::nullopt);
  EXPECT_EQ(unwrap_block(65529, 65530, 65545), std::nullopt);
  // The widest window allowed: every wire number maps to exactly one index.
  const uint64_t low = 10 * 65536 + 123;
  for (uint32_t w = 0; w < 65536; w += 97) {
    auto index = unwrap_block(static_cast<uint16_t>(w), low, low + 65535);
    ASSERT_TRUE(index.has_value());
    EXPECT_EQ(wire_block(*index), w);
    EXPECT_GE(*index, low);
    EXPECT_LE(*index, low + 65535);
  }
}

TEST(TftpBlock, UnwrapInvertsWireEverywhereNearTheRollovers) {
  for (uint64_t base : {uint64_t{0}, uint64_t{65536 - 8}, uint64_t{5 * 65536 - 8}}) {
    for (uint64_t index = base; index < base + 16; ++index) {
      for (uint64_t window = 1; window <= 8; ++window) {
        uint64_t low = index >= window ? index - window : 0;
        EXPECT_EQ(unwrap_block(wire_block(index), low, index + window), index);
      }
    }
  }
  // Near the top of the 64-bit range nothing overflows.
  EXPECT_EQ(unwrap_block(wire_block(UINT64_MAX), UINT64_MAX - 3, UINT64_MAX), UINT64_MAX);
}

TEST(TftpBlock, BlockCountsIncludeTheTerminatingBlock) {
  EXPECT_EQ(data_block_count(0, 512), 1u);
  EXPECT_EQ(data_block_count(1, 512), 1u);
  EXPECT_EQ(data_block_count(511, 512), 1u);
  EXPECT_EQ(data_block_count(512, 512), 2u) << "512 bytes need an empty second block";
  EXPECT_EQ(data_block_count(513, 512), 2u);
  // A file of 65536 full 512-byte blocks needs block index 65537 (wire 1 after rolling over).
  uint64_t n = data_block_count(65536ull * 512, 512);
  EXPECT_EQ(n, 65537u);
  EXPECT_EQ(wire_block(n), 1);
}

}  // namespace
}  // namespace ringkit::tftp
