// Request parameters as Prometheus's HTTP API reads them: from the URL query string and from a
// form-encoded POST body, names and values percent-decoded ("match%5B%5D" is "match[]"), plus
// the parsers of times ("1435781451.781", RFC 3339) and durations ("1m30s", "15", "0.5").
#ifndef EMBER_SERVER_API_PARAMS_H_
#define EMBER_SERVER_API_PARAMS_H_

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
  // application/x-www-form-urlencoded (any parameters after ';' ignored, case-insensitive),
  // `body` too. Body parameters come first, then the URL's, as in Go's Request.Form: Get()
  // returns what Go's FormValue() does. Pairs split on '&' only; an empty pair is skipped, a
  // pair without '=' has an empty value. InvalidArgument on malformed percent-encoding
  // (`invalid URL escape "%zz"`) and, as Go's url.ParseQuery, on a raw ';' in a pair
  // (`invalid semicolon separator in query`).
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

// Prometheus's MinTime and MaxTime (web/api/v1) in milliseconds: the defaults of optional
// time ranges, and what their RFC 3339 strings (above each) parse to. Not INT64_MIN/MAX:
// Prometheus keeps these historical values, 62135596801 s inside int64 seconds, for stability.
// -292273086-05-16T16:47:06Z
inline constexpr int64_t kMinTimeMs = -9223309901257974000;
// 292277025-08-18T07:12:54.999999999Z
inline constexpr int64_t kMaxTimeMs = 9223309901257974999;

// A time parameter as Prometheus accepts it: Unix seconds as a float ("1435781451.781"), or
// RFC 3339 ("2015-07-01T20:10:51.781Z", with offset or nanoseconds). Also Prometheus's
// min/max time strings ("-292273086-05-16T16:47:06Z", "292277025-08-18T07:12:54.999999999Z")
// which give kMinTimeMs and kMaxTimeMs. Returns milliseconds: a float's fraction rounded to
// the nearest millisecond (as Prometheus does), an RFC 3339 time's truncated. Accepts what Go's
// strconv.ParseFloat does ("1.5e9", "+1", "0x1p4"); infinities and floats beyond the int64
// range of milliseconds are InvalidArgument ("... out of the range of int64 milliseconds"). RFC
// 3339 as Go's time.Parse(RFC3339Nano) reads it: four-digit year, 'T', 'Z' or ±hh:mm, an optional
// fraction (digits past the 9th ignored), and the corners Go's fallback parser allows (one-digit
// hour, ',' before the fraction, offsets up to 24:00 and minute 60). InvalidArgument (also for
// "NaN"):
//   cannot parse "x" to a valid timestamp
absl::StatusOr<int64_t> ParseTimeParam(std::string_view s);

// A duration parameter: a float of seconds ("15", "0.5") or a Prometheus duration ("1m30s",
// "5m", "1h", "100ms"; units y w d h m s ms, each at most once, in that order; y is 365d).
// Returns milliseconds, a float's truncated toward zero as Prometheus's engine does. A float
// may be negative (callers check their ranges). InvalidArgument, also for NaN and values that
// overflow int64 nanoseconds (Go's time.Duration):
//   cannot parse "x" to a valid duration
// or, for a float that overflows, as Prometheus words it:
//   cannot parse "x" to a valid duration. It overflows int64
absl::StatusOr<int64_t> ParseDurationParam(std::string_view s);

}  // namespace ember::server

#endif  // EMBER_SERVER_API_PARAMS_H_
