// Prometheus's template functions (template/template.go): humanize and friends, and Go's
// shortest float printing they build on. Declared in template.h; stateless and thread-safe.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "rules/template.h"

namespace ember::rules {
namespace {

// Go prints infinities with their sign always and NaN bare: "+Inf", "-Inf", "NaN".
std::string NonFinite(double v) {
  if (std::isnan(v)) return "NaN";
  return v > 0 ? "+Inf" : "-Inf";
}

// %.<prec>g of a finite value. C's %g and Go's agree for finite values: both round exactly,
// switch to an exponent when it is < -4 or >= the precision, drop trailing zeros and print
// at least two exponent digits.
std::string FormatG(double v, int prec) {
  if (!std::isfinite(v)) return NonFinite(v);
  return absl::StrFormat("%.*g", prec, v);
}

}  // namespace

std::string FormatGoFloat(double v) {
  if (!std::isfinite(v)) return NonFinite(v);
  // The shortest digits that read back as `v`: Go's strconv picks the nearest such string,
  // as %.*e does for each digit count.
  char buf[40];
  for (int prec = 0; prec < 17; ++prec) {
    std::snprintf(buf, sizeof(buf), "%.*e", prec, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  // buf is "-d.ddde+XX": split it into sign, digits and decimal exponent.
  std::string_view s(buf);
  const bool neg = s.front() == '-';
  if (neg) s.remove_prefix(1);
  const size_t e = s.find('e');
  std::string digits;
  for (char c : s.substr(0, e)) {
    if (c != '.') digits.push_back(c);
  }
  const int exp = std::atoi(std::string(s.substr(e + 1)).c_str());
  std::string out = neg ? "-" : "";
  // strconv.FormatFloat(v, 'g', -1, 64): an exponent when it is < -4 or >= 6 (Go's fixed
  // threshold for the shortest form), so 123456 but 1.234567e+06.
  if (exp < -4 || exp >= 6) {
    out.push_back(digits[0]);
    if (digits.size() > 1) absl::StrAppend(&out, ".", digits.substr(1));
    absl::StrAppendFormat(&out, "e%c%02d", exp < 0 ? '-' : '+', std::abs(exp));
  } else if (exp < 0) {
    absl::StrAppend(&out, "0.", std::string(-exp - 1, '0'), digits);
  } else if (static_cast<int>(digits.size()) <= exp + 1) {
    absl::StrAppend(&out, digits, std::string(exp + 1 - digits.size(), '0'));
  } else {
    absl::StrAppend(&out, digits.substr(0, exp + 1), ".", digits.substr(exp + 1));
  }
  return out;
}

std::string Humanize(double v) {
  if (v == 0 || !std::isfinite(v)) return FormatG(v, 4);
  static constexpr const char* kBig[] = {"k", "M", "G", "T", "P", "E", "Z", "Y"};
  static constexpr const char* kSmall[] = {"m", "u", "n", "p", "f", "a", "z", "y"};
  const char* prefix = "";
  if (std::fabs(v) >= 1) {
    for (const char* p : kBig) {
      if (std::fabs(v) < 1000) break;
      prefix = p;
      v /= 1000;
    }
  } else {
    for (const char* p : kSmall) {
      if (std::fabs(v) >= 1) break;
      prefix = p;
      v *= 1000;
    }
  }
  return FormatG(v, 4) + prefix;
}

std::string Humanize1024(double v) {
  if (std::fabs(v) <= 1 || !std::isfinite(v)) return FormatG(v, 4);
  static constexpr const char* kPrefixes[] = {"ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"};
  const char* prefix = "";
  for (const char* p : kPrefixes) {
    if (std::fabs(v) < 1024) break;
    prefix = p;
    v /= 1024;
  }
  return FormatG(v, 4) + prefix;
}

std::string HumanizeDuration(double v) {
  if (!std::isfinite(v)) return FormatG(v, 4);
  if (v == 0) return FormatG(v, 4) + "s";
  if (std::fabs(v) >= 1) {
    const char* sign = "";
    if (v < 0) {
      sign = "-";
      v = -v;
    }
    // Go's int64(v) truncates; beyond int64 it is undefined in C++, so saturate.
    const int64_t total =
        v >= 9.2e18 ? std::numeric_limits<int64_t>::max() : static_cast<int64_t>(v);
    const int64_t seconds = total % 60;
    const int64_t minutes = total / 60 % 60;
    const int64_t hours = total / 3600 % 24;
    const int64_t days = total / 86400;
    // From minutes up the seconds are whole; below a minute they keep 4 significant digits.
    if (days != 0) return absl::StrFormat("%s%dd %dh %dm %ds", sign, days, hours, minutes, seconds);
    if (hours != 0) return absl::StrFormat("%s%dh %dm %ds", sign, hours, minutes, seconds);
    if (minutes != 0) return absl::StrFormat("%s%dm %ds", sign, minutes, seconds);
    return absl::StrCat(sign, FormatG(v, 4), "s");
  }
  static constexpr const char* kSmall[] = {"m", "u", "n", "p", "f", "a", "z", "y"};
  const char* prefix = "";
  for (const char* p : kSmall) {
    if (std::fabs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return absl::StrCat(FormatG(v, 4), prefix, "s");
}

std::string HumanizePercentage(double v) { return FormatG(v * 100, 4) + "%"; }

absl::StatusOr<std::string> HumanizeTimestamp(double v) {
  if (!std::isfinite(v)) return FormatG(v, 4);
  const double ns = v * 1e9;
  // 2^63 as a double: Go compares against float64(math.MaxInt64), which rounds to it.
  if (ns >= 9223372036854775808.0 || ns < -9223372036854775808.0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s cannot be represented as a nanoseconds timestamp since it overflows int64",
        FormatGoFloat(v)));
  }
  // Prometheus goes through model.Time, so the time keeps whole milliseconds (truncated).
  const int64_t ms = static_cast<int64_t>(ns) / 1000000;
  return absl::FormatTime("%Y-%m-%d %H:%M:%E*S +0000 UTC", absl::FromUnixMillis(ms),
                          absl::UTCTimeZone());
}

}  // namespace ember::rules
