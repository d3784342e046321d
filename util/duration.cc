#include "util/duration.h"

#include <cstdint>
#include <iterator>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "util/quote.h"

namespace ember::util {

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

absl::StatusOr<int64_t> ParseDuration(std::string_view text) {
  if (text == "0") return 0;
  if (text.empty()) return absl::InvalidArgumentError("empty duration string");
  struct Unit {
    std::string_view name;
    uint64_t ns;
  };
  // Nanoseconds, as Go's time.Duration. Largest first: each unit may follow only a larger one.
  constexpr uint64_t kMs = 1'000'000;
  constexpr uint64_t kHour = 3'600'000 * kMs;
  static constexpr Unit kUnits[] = {
      {"y", kHour * 24 * 365}, {"w", kHour * 24 * 7}, {"d", kHour * 24}, {"h", kHour},
      {"m", 60'000 * kMs},     {"s", 1000 * kMs},     {"ms", kMs}};
  constexpr uint64_t kMaxNs = static_cast<uint64_t>(INT64_MAX);
  const auto invalid = [&] {
    return absl::InvalidArgumentError(absl::StrCat("not a valid duration string: ", GoQuote(text)));
  };
  uint64_t total_ns = 0;
  size_t next_unit = 0;  // Index into kUnits of the largest unit still allowed.
  std::string_view rest = text;
  while (!rest.empty()) {
    size_t digits = 0;
    while (digits < rest.size() && IsDigit(rest[digits])) ++digits;
    if (digits == 0) return invalid();
    uint64_t v = 0;
    for (size_t i = 0; i < digits; ++i) {
      if (v > (UINT64_MAX - 9) / 10) return invalid();  // As Go's ParseUint.
      v = v * 10 + static_cast<uint64_t>(rest[i] - '0');
    }
    rest.remove_prefix(digits);
    size_t letters = 0;
    while (letters < rest.size() && !IsDigit(rest[letters])) ++letters;
    if (letters == 0) return invalid();
    const std::string_view unit = rest.substr(0, letters);
    rest.remove_prefix(letters);
    size_t u = 0;
    while (u < std::size(kUnits) && kUnits[u].name != unit) ++u;
    if (u == std::size(kUnits)) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown unit ", GoQuote(unit), " in duration ", GoQuote(text)));
    }
    if (u < next_unit) return invalid();  // Repeated or out of order.
    next_unit = u + 1;
    if (v > (kMaxNs + 1) / kUnits[u].ns) return absl::InvalidArgumentError("duration out of range");
    total_ns += v * kUnits[u].ns;
    if (total_ns > kMaxNs) return absl::InvalidArgumentError("duration out of range");
  }
  return static_cast<int64_t>(total_ns / kMs);
}

std::string FormatDuration(int64_t ms) {
  if (ms == 0) return "0s";
  std::string out;
  uint64_t left = static_cast<uint64_t>(ms);
  if (ms < 0) {
    out = "-";
    left = 0 - left;  // Also right for INT64_MIN.
  }
  struct Unit {
    const char* name;
    uint64_t ms;
    bool exact;
  };
  static constexpr Unit kUnits[] = {{"y", 365ULL * 24 * 3600 * 1000, true},
                                    {"w", 7ULL * 24 * 3600 * 1000, true},
                                    {"d", 24ULL * 3600 * 1000, false},
                                    {"h", 3600ULL * 1000, false},
                                    {"m", 60ULL * 1000, false},
                                    {"s", 1000, false},
                                    {"ms", 1, false}};
  for (const Unit& u : kUnits) {
    if (u.exact && left % u.ms != 0) continue;
    if (const uint64_t v = left / u.ms; v > 0) {
      absl::StrAppend(&out, v, u.name);
      left -= v * u.ms;
    }
  }
  return out;
}

}  // namespace ember::util
