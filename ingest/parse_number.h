// Number syntax shared by the text decoders (exposition format, line protocol): strict parsers
// that accept a whole token or nothing and never read past the view.
#ifndef EMBER_INGEST_PARSE_NUMBER_H_
#define EMBER_INGEST_PARSE_NUMBER_H_

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <system_error>

namespace ember::ingest {

// A decimal float, the whole of `s`: optional sign, digits with an optional fraction and exponent
// ("1", "-2.5e3", ".5", "1."). No hex, Inf or NaN. False on bad syntax or when the magnitude
// overflows a double; an underflow gives 0 or a subnormal, as Go's strconv.ParseFloat does.
inline bool ParseDecimalDouble(std::string_view s, double* v) {
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  // from_chars would also take "inf" and "nan(...)": only digits or '.' may start the number.
  if (s.empty() || !((s[0] >= '0' && s[0] <= '9') || s[0] == '.')) return false;
  double d = 0;
  const char* const end = s.data() + s.size();
  const auto [ptr, ec] = std::from_chars(s.data(), end, d, std::chars_format::general);
  if (ptr != end) return false;
  if (ec == std::errc::result_out_of_range) {
    // libstdc++ reports underflow and overflow alike; strtod tells them apart. The syntax is
    // already checked, so strtod reads exactly this token. Rare enough for the copy.
    const std::string copy(s);
    d = std::strtod(copy.c_str(), nullptr);
    if (std::isinf(d)) return false;
  } else if (ec != std::errc()) {
    return false;
  }
  *v = negative ? -d : d;
  return true;
}

// Optional sign, then decimal digits only, the whole of `s`, within int64.
inline bool ParseDecimalInt64(std::string_view s, int64_t* v) {
  // from_chars takes a '-' itself but no '+'; "+-1" must stay an error.
  const bool plus = !s.empty() && s[0] == '+';
  if (plus) s.remove_prefix(1);
  if (s.empty() || (plus && s[0] == '-')) return false;
  const char* const end = s.data() + s.size();
  const auto [ptr, ec] = std::from_chars(s.data(), end, *v);
  return ec == std::errc() && ptr == end;
}

// Decimal digits only, the whole of `s`, within uint64.
inline bool ParseDecimalUint64(std::string_view s, uint64_t* v) {
  if (s.empty() || s[0] < '0' || s[0] > '9') return false;
  const char* const end = s.data() + s.size();
  const auto [ptr, ec] = std::from_chars(s.data(), end, *v);
  return ec == std::errc() && ptr == end;
}

}  // namespace ember::ingest

#endif  // EMBER_INGEST_PARSE_NUMBER_H_
