// The HTTP API's parameter parsing (server/api/params.h). The input is split at its first two
// NUL bytes into query string, Content-Type and body; the whole input is also read as a time
// and as a duration parameter, as ?time=, ?step= and ?lookback_delta= values are.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "server/api/params.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  (void)ember::server::ParseTimeParam(input);
  (void)ember::server::ParseDurationParam(input);

  std::string_view rest = input;
  auto next = [&rest]() {
    const size_t nul = rest.find('\0');
    std::string_view part = rest.substr(0, nul);
    rest = nul == std::string_view::npos ? std::string_view() : rest.substr(nul + 1);
    return part;
  };
  const std::string_view query = next();
  const std::string_view content_type = next();
  const std::string_view body = rest;
  absl::StatusOr<ember::server::Params> params =
      ember::server::Params::Parse(query, content_type, body);
  if (params.ok()) {
    // What the API handlers then do with them.
    for (std::string_view name : {"query", "time", "start", "end", "step", "match[]"}) {
      for (const std::string& value : params->GetAll(name)) {
        (void)ember::server::ParseTimeParam(value);
        (void)ember::server::ParseDurationParam(value);
      }
    }
  }
  return 0;
}
