#include "sync/checksum.h"

#define XXH_INLINE_ALL  // header-only: ringkit_sync needs no library for one hash
#include <xxhash.h>

#include <cstring>
#include <memory>
#include <vector>

#include "ringkit/fs.h"
#include "ringkit/yield.h"

namespace ringkit::sync {

Task<std::optional<std::array<unsigned char, 16>>> file_checksum(int fd) {
  constexpr size_t kBlock = 1 << 20;
  std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> state(XXH3_createState(), &XXH3_freeState);
  if (!state || XXH3_128bits_reset(state.get()) != XXH_OK) co_return std::nullopt;
  std::vector<std::byte> buf(kBlock);
  uint64_t offset = 0;
  for (int reads = 1;; ++reads) {
    auto n = co_await fs::read(fd, buf, offset);
    if (!n) co_return std::nullopt;
    if (*n == 0) break;
    XXH3_128bits_update(state.get(), buf.data(), *n);
    offset += *n;
    if (reads % 32 == 0) co_await yield_now();
  }
  XXH128_canonical_t canonical;
  XXH128_canonicalFromHash(&canonical, XXH3_128bits_digest(state.get()));
  std::array<unsigned char, 16> out{};
  std::memcpy(out.data(), canonical.digest, out.size());
  co_return out;
}

}  // namespace ringkit::sync
