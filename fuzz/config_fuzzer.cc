// The configuration file loader (server/config/config.h, the prometheus.yml subset): YAML, strict
// keys, durations, relabel regexes, targets and label names.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "server/config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)ember::server::ParseConfig(std::string_view(reinterpret_cast<const char*>(data), size),
                                   "/etc/ember/prometheus.yml");
  return 0;
}
