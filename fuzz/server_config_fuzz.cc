// Fuzz target for ringtftpd's configuration reader (src/tftp/server_config.h).
//
// Input: TOML text. Reading it must either succeed or throw ConfigError — never crash, hang or
// throw anything else — and a configuration that reads must hold values inside the ranges the
// reader promises (the server relies on them without checking again).
#include <string_view>

#include "fuzz_target.h"
#include "tftp/server_config.h"

RINGKIT_FUZZ_TARGET(server_config) {
  using namespace ringkit::tftp;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  ServerConfig c;
  try {
    load_config_text(text, "fuzz.toml", c);
  } catch (const ConfigError&) {
    return;
  }
  RINGKIT_FUZZ_CHECK(c.max_blksize >= 8 && c.max_blksize <= 65464);
  RINGKIT_FUZZ_CHECK(c.max_windowsize >= 1);
  RINGKIT_FUZZ_CHECK(c.upload_umask <= 0777);
  RINGKIT_FUZZ_CHECK(!c.listen.empty());
  RINGKIT_FUZZ_CHECK(c.requests_per_second_per_client >= 0);
  RINGKIT_FUZZ_CHECK(c.engine.queue_depth >= 1 && c.engine.queue_depth <= 32768);
  if (c.port_range) RINGKIT_FUZZ_CHECK(c.port_range->first >= 1 && c.port_range->first <= c.port_range->second);
  for (const auto& a : c.listen) RINGKIT_FUZZ_CHECK(!a.empty());
}
