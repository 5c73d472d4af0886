// libFuzzer entry: runs the one target this binary was built for (RINGKIT_FUZZ_NAME).
#include "fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto fn = ringkit::fuzz::registry().at(RINGKIT_FUZZ_NAME);
  fn(data, size);
  return 0;
}
