#include "server/api/params.h"

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "util/duration.h"
#include "util/quote.h"

namespace ember::server {
namespace {

// Prometheus's minTimeFormatted and maxTimeFormatted: MinTime and MaxTime in RFC3339Nano, which
// Go's time.Parse cannot read back (years beyond four digits), so they are matched verbatim.
constexpr std::string_view kMinTimeFormatted = "-292273086-05-16T16:47:06Z";
constexpr std::string_view kMaxTimeFormatted = "292277025-08-18T07:12:54.999999999Z";

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

char AsciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

// Go's strconv.ParseFloat(s, 64): an optional sign, then a decimal float, a hexadecimal one
// with a 'p' exponent, "inf" / "infinity" or (unsigned) "nan" in any case. Underflow gives 0 or
// a subnormal, as in Go. nullopt where Go returns an error, including overflow to infinity.
std::optional<double> ParseGoFloat(std::string_view s) {
  bool negative = false;
  std::string_view rest = s;
  if (!rest.empty() && (rest[0] == '+' || rest[0] == '-')) {
    negative = rest[0] == '-';
    rest.remove_prefix(1);
  }
  const double sign = negative ? -1.0 : 1.0;
  if (EqualsIgnoreCase(rest, "inf") || EqualsIgnoreCase(rest, "infinity")) {
    return sign * std::numeric_limits<double>::infinity();
  }
  if (rest.size() == s.size() && EqualsIgnoreCase(rest, "nan")) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  std::chars_format format = std::chars_format::general;
  if (rest.size() > 2 && rest[0] == '0' && (rest[1] == 'x' || rest[1] == 'X')) {
    rest.remove_prefix(2);
    if (rest.find_first_of("pP") == std::string_view::npos) return std::nullopt;
    format = std::chars_format::hex;
    if (HexValue(rest[0]) < 0 && rest[0] != '.') return std::nullopt;
  } else if (rest.empty() || !(IsDigit(rest[0]) || rest[0] == '.')) {
    // from_chars would take "nan(...)" and "infinity" variants Go rejects.
    return std::nullopt;
  }
  double v = 0;
  const char* const end = rest.data() + rest.size();
  const std::from_chars_result r = std::from_chars(rest.data(), end, v, format);
  if (r.ptr != end) return std::nullopt;
  if (r.ec == std::errc::result_out_of_range) {
    // from_chars reports underflow and overflow alike; Go errs only on overflow.
    const std::string copy =
        format == std::chars_format::hex ? "0x" + std::string(rest) : std::string(rest);
    v = std::strtod(copy.c_str(), nullptr);
    if (std::isinf(v)) return std::nullopt;
  } else if (r.ec != std::errc()) {
    return std::nullopt;
  }
  return sign * v;
}

// Prometheus's float-seconds time: the fraction rounded to the millisecond.
int64_t SecondsToMs(double seconds) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  double whole = 0;
  const double fraction = std::modf(seconds, &whole);
  // Beyond the int64 range of milliseconds anyway; keeps the cast below defined.
  if (whole >= 1e16) return kMax;
  if (whole <= -1e16) return kMin;
  int64_t ms = 0;
  if (__builtin_mul_overflow(static_cast<int64_t>(whole), int64_t{1000}, &ms) ||
      __builtin_add_overflow(ms, static_cast<int64_t>(std::round(fraction * 1000)), &ms)) {
    return seconds > 0 ? kMax : kMin;
  }
  return ms;
}

// Reads exactly `n` digits at the front of `*s` into `*v`, advancing `*s`.
bool ConsumeDigits(std::string_view* s, size_t n, int* v) {
  if (s->size() < n) return false;
  int x = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!IsDigit((*s)[i])) return false;
    x = x * 10 + ((*s)[i] - '0');
  }
  s->remove_prefix(n);
  *v = x;
  return true;
}

bool ConsumeChar(std::string_view* s, char c) {
  if (s->empty() || s->front() != c) return false;
  s->remove_prefix(1);
  return true;
}

// Go's time.Parse(time.RFC3339Nano, s) in Unix milliseconds, truncated toward the past as
// Prometheus's timestamp.FromTime does. Go tries a strict RFC 3339 parser first and falls back
// to its layout-driven one, so it accepts what either does:
//   strict:  two-digit hour; '.' then any number of digits; offset hour <= 23, minute <= 59.
//   layout:  one- or two-digit hour; '.' or ',' then at most 9 digits; offset hour <= 24,
//            minute <= 60 ("some people do write offsets of 24 hours", says Go).
// Both: four-digit year, two-digit month, day, minute and second, a real calendar date, hour
// <= 23, minute and second <= 59 (no leap second), an upper-case 'T' and 'Z'.
std::optional<int64_t> ParseRfc3339Ms(std::string_view s) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!ConsumeDigits(&s, 4, &year) || !ConsumeChar(&s, '-') || !ConsumeDigits(&s, 2, &month) ||
      !ConsumeChar(&s, '-') || !ConsumeDigits(&s, 2, &day) || !ConsumeChar(&s, 'T')) {
    return std::nullopt;
  }
  const bool two_digit_hour = s.size() >= 2 && IsDigit(s[0]) && IsDigit(s[1]);
  if (!ConsumeDigits(&s, two_digit_hour ? 2 : 1, &hour) || !ConsumeChar(&s, ':') ||
      !ConsumeDigits(&s, 2, &minute) || !ConsumeChar(&s, ':') || !ConsumeDigits(&s, 2, &second)) {
    return std::nullopt;
  }
  const std::chrono::year_month_day date{std::chrono::year(year),
                                         std::chrono::month(static_cast<unsigned>(month)),
                                         std::chrono::day(static_cast<unsigned>(day))};
  if (!date.ok() || hour > 23 || minute > 59 || second > 59) return std::nullopt;

  int64_t nanos = 0;
  char separator = 0;
  size_t fraction_digits = 0;
  if (s.size() >= 2 && (s[0] == '.' || s[0] == ',') && IsDigit(s[1])) {
    separator = s[0];
    s.remove_prefix(1);
    int64_t scale = 100'000'000;
    for (; fraction_digits < s.size() && IsDigit(s[fraction_digits]); ++fraction_digits) {
      // Digits past the ninth are ignored (the strict parser) or refused (the layout one).
      nanos += (s[fraction_digits] - '0') * scale;
      scale /= 10;
    }
    s.remove_prefix(fraction_digits);
  }

  int offset_hours = 0, offset_minutes = 0;
  int64_t offset_seconds = 0;
  if (!ConsumeChar(&s, 'Z')) {
    const bool negative = !s.empty() && s[0] == '-';
    if (!(ConsumeChar(&s, '+') || ConsumeChar(&s, '-')) || !ConsumeDigits(&s, 2, &offset_hours) ||
        !ConsumeChar(&s, ':') || !ConsumeDigits(&s, 2, &offset_minutes)) {
      return std::nullopt;
    }
    offset_seconds = (int64_t{offset_hours} * 60 + offset_minutes) * 60;
    if (negative) offset_seconds = -offset_seconds;
  }
  if (!s.empty()) return std::nullopt;

  const bool strict_ok =
      two_digit_hour && separator != ',' && offset_hours <= 23 && offset_minutes <= 59;
  const bool layout_ok = fraction_digits <= 9 && offset_hours <= 24 && offset_minutes <= 60;
  if (!strict_ok && !layout_ok) return std::nullopt;

  const int64_t days = std::chrono::sys_days{date}.time_since_epoch().count();
  const int64_t seconds =
      days * 86400 + int64_t{hour} * 3600 + int64_t{minute} * 60 + second - offset_seconds;
  return seconds * 1000 + nanos / 1'000'000;
}

// Splits `text` on '&' and appends its decoded pairs to `out`, as Go's url.ParseQuery.
absl::Status ParseFormInto(std::string_view text,
                           std::vector<std::pair<std::string, std::string>>* out) {
  while (!text.empty()) {
    const size_t amp = text.find('&');
    const std::string_view pair = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view() : text.substr(amp + 1);
    if (pair.find(';') != std::string_view::npos) {
      return absl::InvalidArgumentError("invalid semicolon separator in query");
    }
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    absl::StatusOr<std::string> name = FormDecode(pair.substr(0, eq));
    if (!name.ok()) return name.status();
    absl::StatusOr<std::string> value =
        FormDecode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    if (!value.ok()) return value.status();
    out->emplace_back(*std::move(name), *std::move(value));
  }
  return absl::OkStatus();
}

bool IsFormContentType(std::string_view content_type) {
  std::string_view media_type = content_type.substr(0, content_type.find(';'));
  while (!media_type.empty() && (media_type.front() == ' ' || media_type.front() == '\t')) {
    media_type.remove_prefix(1);
  }
  while (!media_type.empty() && (media_type.back() == ' ' || media_type.back() == '\t')) {
    media_type.remove_suffix(1);
  }
  return EqualsIgnoreCase(media_type, "application/x-www-form-urlencoded");
}

}  // namespace

absl::StatusOr<Params> Params::Parse(std::string_view query, std::string_view content_type,
                                     std::string_view body) {
  Params params;
  // Body first: Go's ParseForm copies PostForm into Form before the URL's values, so
  // FormValue() prefers the body.
  if (IsFormContentType(content_type)) {
    absl::Status s = ParseFormInto(body, &params.values_);
    if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat("form body: ", s.message()));
  }
  absl::Status s = ParseFormInto(query, &params.values_);
  if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat("query string: ", s.message()));
  return params;
}

std::optional<std::string> Params::Get(std::string_view name) const {
  for (const auto& [n, v] : values_) {
    if (n == name) return v;
  }
  return std::nullopt;
}

std::vector<std::string> Params::GetAll(std::string_view name) const {
  std::vector<std::string> all;
  for (const auto& [n, v] : values_) {
    if (n == name) all.push_back(v);
  }
  return all;
}

absl::StatusOr<std::string> FormDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= s.size() || HexValue(s[i + 1]) < 0 || HexValue(s[i + 2]) < 0) {
        return absl::InvalidArgumentError(
            absl::StrFormat("invalid URL escape %s", util::GoQuote(s.substr(i, 3))));
      }
      out.push_back(static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

absl::StatusOr<int64_t> ParseTimeParam(std::string_view s) {
  if (const std::optional<double> seconds = ParseGoFloat(s)) {
    // Prometheus would turn NaN, infinities and times beyond int64 milliseconds into
    // arbitrary times (Go's float-to-int conversion); refuse them instead.
    if (std::isinf(*seconds) || std::abs(*seconds) >= 9223372036854775.808) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "cannot parse %s to a valid timestamp: out of the range of int64 milliseconds",
          util::GoQuote(s)));
    }
    if (!std::isnan(*seconds)) return SecondsToMs(*seconds);
  } else if (const std::optional<int64_t> ms = ParseRfc3339Ms(s)) {
    return *ms;
  } else if (s == kMinTimeFormatted) {
    return kMinTimeMs;
  } else if (s == kMaxTimeFormatted) {
    return kMaxTimeMs;
  }
  return absl::InvalidArgumentError(
      absl::StrFormat("cannot parse %s to a valid timestamp", util::GoQuote(s)));
}

absl::StatusOr<int64_t> ParseDurationParam(std::string_view s) {
  if (const std::optional<double> seconds = ParseGoFloat(s)) {
    const double ns = *seconds * 1e9;
    if (!std::isnan(ns)) {
      // 2^63: the first double beyond int64 nanoseconds.
      if (ns >= 0x1p63 || ns < -0x1p63) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "cannot parse %s to a valid duration. It overflows int64", util::GoQuote(s)));
      }
      // Truncated, as time.Duration(ns) and then the engine's division by a millisecond.
      return static_cast<int64_t>(ns) / 1'000'000;
    }
  } else if (const absl::StatusOr<int64_t> ms = util::ParseDuration(s); ms.ok()) {
    return *ms;
  }
  return absl::InvalidArgumentError(
      absl::StrFormat("cannot parse %s to a valid duration", util::GoQuote(s)));
}

}  // namespace ember::server
