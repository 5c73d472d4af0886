// block.h is header-only (constexpr); this unit keeps the one-file-per-unit layout and checks
// at compile time the rollover contract the rest of the server relies on.
#include "tftp/block.h"

namespace ringkit::tftp {

static_assert(wire_block(65535) == 65535);
static_assert(wire_block(65536) == 0, "block 65535 is followed by block 0");
static_assert(unwrap_block(0, 65530, 65540) == 65536);

}  // namespace ringkit::tftp
