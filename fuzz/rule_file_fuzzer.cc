// The rule file loader (rules/rule_file.h): YAML, PromQL expressions, templates and
// durations, with the positions it maps errors back to in the file.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rules/rule_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)ember::rules::ParseRuleFile(std::string_view(reinterpret_cast<const char*>(data), size),
                                    "rules.yml");
  return 0;
}
