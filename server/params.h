// Request parameters as Prometheus's HTTP API reads them: from the URL query string and from a
// form-encoded POST body, names and values percent-decoded ("match%5B%5D" is "match[]"), plus
// the parsers of times ("1435781451.781", RFC 3339) and durations ("1m30s", "15", "0.5").
#ifndef EMBER_SERVER_PARAMS_H_
#define EMBER_SERVER_PARAMS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace ember::server {

class Params {
 public:
  // Reads `query` (raw query string) and, when `content_type` is
  // application/x-www-form-urlencoded, `body` too (URL parameters first, as Go's FormValue).
  // InvalidArgument on malformed percent-encoding.
  static absl::StatusOr<Params> Parse(std::string_view query, std::string_view content_type,
                                      std::string_view body);

  // The first value of `name`, if present (even empty).
  std::optional<std::string> Get(std::string_view name) const;
  std::vector<std::string> GetAll(std::string_view name) const;
  bool Has(std::string_view name) const { return Get(name).has_value(); }

 private:
  std::vector<std::pair<std::string, std::string>> values_;
};

// Percent-decoding with '+' as space (form encoding). InvalidArgument on bad escapes.
absl::StatusOr<std::string> FormDecode(std::string_view s);

// A time parameter as Prometheus accepts it: Unix seconds as a float ("1435781451.781"), or
// RFC 3339 ("2015-07-01T20:10:51.781Z", with offset or nanoseconds). Also Prometheus's
// min/max time strings ("-292273086-05-16T16:47:06Z", "292277025-08-18T07:12:54.999999999Z")
// which clamp to int64 range. Returns milliseconds. InvalidArgument:
//   cannot parse "x" to a valid timestamp
absl::StatusOr<int64_t> ParseTimeParam(std::string_view s);

// A duration parameter: a float of seconds ("15", "0.5") or a Prometheus duration ("1m30s",
// "5m", "1h", "100ms"). Returns milliseconds. InvalidArgument:
//   cannot parse "x" to a valid duration
absl::StatusOr<int64_t> ParseDurationParam(std::string_view s);

}  // namespace ember::server

#endif  // EMBER_SERVER_PARAMS_H_
