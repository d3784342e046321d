// Prometheus durations in the config file (config.h): ParseConfigDuration as Go's
// model.ParseDuration, FormatConfigDuration as model.Duration's String.
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "server/config/config.h"
#include "server/config_yaml.h"

namespace ember::server {
namespace {

using config_internal::Quote;

absl::string_view AbslView(std::string_view s) { return absl::string_view(s.data(), s.size()); }

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

absl::StatusOr<int64_t> ParseConfigDuration(std::string_view s) {
  if (s == "0") return 0;
  if (s.empty()) return absl::InvalidArgumentError("empty duration string");
  struct Unit {
    std::string_view name;
    uint64_t ns;
  };
  // Largest first: each unit may follow only a larger one.
  constexpr uint64_t kMs = 1'000'000;  // Nanoseconds, as Go's time.Duration.
  constexpr uint64_t kHour = 3'600'000 * kMs;
  static constexpr Unit kUnits[] = {
      {"y", kHour * 24 * 365}, {"w", kHour * 24 * 7}, {"d", kHour * 24}, {"h", kHour},
      {"m", 60'000 * kMs},     {"s", 1000 * kMs},     {"ms", kMs}};
  const std::string invalid = absl::StrCat("not a valid duration string: ", Quote(s));
  constexpr uint64_t kMaxNs = static_cast<uint64_t>(INT64_MAX);  // Go's time.Duration.
  uint64_t total_ns = 0;
  size_t next_unit = 0;  // Index into kUnits of the largest unit still allowed.
  std::string_view rest = s;
  while (!rest.empty()) {
    size_t digits = 0;
    while (digits < rest.size() && IsDigit(rest[digits])) ++digits;
    if (digits == 0) return absl::InvalidArgumentError(invalid);
    uint64_t v = 0;
    for (size_t i = 0; i < digits; ++i) {
      if (v > (UINT64_MAX - 9) / 10) return absl::InvalidArgumentError(invalid);  // As ParseUint.
      v = v * 10 + static_cast<uint64_t>(rest[i] - '0');
    }
    rest.remove_prefix(digits);
    size_t letters = 0;
    while (letters < rest.size() && !IsDigit(rest[letters])) ++letters;
    if (letters == 0) return absl::InvalidArgumentError(invalid);
    const std::string_view unit = rest.substr(0, letters);
    rest.remove_prefix(letters);
    size_t u = 0;
    while (u < std::size(kUnits) && kUnits[u].name != unit) ++u;
    if (u == std::size(kUnits)) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown unit ", Quote(unit), " in duration ", Quote(s)));
    }
    if (u < next_unit) return absl::InvalidArgumentError(invalid);  // Repeated or out of order.
    next_unit = u + 1;
    if (v > (kMaxNs + 1) / kUnits[u].ns) return absl::InvalidArgumentError("duration out of range");
    total_ns += v * kUnits[u].ns;
    if (total_ns > kMaxNs) return absl::InvalidArgumentError("duration out of range");
  }
  return static_cast<int64_t>(total_ns / kMs);
}

std::string FormatConfigDuration(int64_t ms) {
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  const auto unit = [&](std::string_view name, int64_t mult, bool exact) {
    if (exact && ms % mult != 0) return;
    if (const int64_t v = ms / mult; v > 0) {
      absl::StrAppend(&out, v, AbslView(name));
      ms -= v * mult;
    }
  };
  // Years and weeks only when exact: 90d reads better than 12w6d.
  unit("y", 365LL * 24 * 3600'000, true);
  unit("w", 7LL * 24 * 3600'000, true);
  unit("d", 24LL * 3600'000, false);
  unit("h", 3600'000, false);
  unit("m", 60'000, false);
  unit("s", 1000, false);
  unit("ms", 1, false);
  return out;
}

}  // namespace ember::server
