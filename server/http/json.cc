#include "server/http/json.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <system_error>

#include "absl/time/time.h"
#include "util/utf8.h"

namespace ember::server {
namespace {

// A finite double's shortest round-trip decimal digits (no leading or trailing zeros except for
// zero itself, "0") and where the decimal point goes: value = 0.DIGITS * 10^point.
struct ShortestDecimal {
  bool negative = false;
  std::string digits;
  int point = 0;
};

ShortestDecimal ToShortestDecimal(double v) {
  // std::to_chars without a precision yields the shortest representation that round-trips;
  // scientific form makes the digits and the exponent easy to take apart: "-1.2345e+02".
  char buf[64];
  const std::to_chars_result r =
      std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  const std::string_view s(buf, static_cast<size_t>(r.ptr - buf));
  ShortestDecimal d;
  size_t i = 0;
  if (s[i] == '-') {
    d.negative = true;
    ++i;
  }
  const size_t e = s.find('e', i);
  for (; i < e; ++i) {
    if (s[i] != '.') d.digits.push_back(s[i]);
  }
  const int exponent = std::atoi(std::string(s.substr(e + 1)).c_str());
  d.point = exponent + 1;
  return d;
}

constexpr char kHexDigits[] = "0123456789abcdef";

// Go's encoding/json (and the jsoniter configuration Prometheus uses) with HTML escaping on.
void AppendQuoted(std::string_view s, std::string* out) {
  out->push_back('"');
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const size_t n = util::Utf8SequenceLength(s, i);
      if (n == 0) {
        // Go replaces each byte that does not start a valid sequence, one at a time.
        out->append("\\ufffd");
        ++i;
        continue;
      }
      // U+2028 and U+2029 are valid JSON but end lines in JavaScript; Go escapes them.
      if (n == 3 && c == 0xE2 && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
          (static_cast<unsigned char>(s[i + 2]) & 0xFE) == 0xA8) {
        out->append(static_cast<unsigned char>(s[i + 2]) == 0xA8 ? "\\u2028" : "\\u2029");
      } else {
        out->append(s.substr(i, n));
      }
      i += n;
      continue;
    }
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x20 || c == '<' || c == '>' || c == '&') {
          out->append("\\u00");
          out->push_back(kHexDigits[c >> 4]);
          out->push_back(kHexDigits[c & 0xF]);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out->push_back('"');
}

// Go's encoding/json float64 encoding: 'f' in [1e-6, 1e21), otherwise 'e' with the exponent's
// leading zero dropped ("1e-07" -> "1e-7").
std::string FormatJsonNumber(double v) {
  const double abs = std::fabs(v);
  if (abs != 0 && (abs < 1e-6 || abs >= 1e21)) {
    char buf[64];
    const std::to_chars_result r =
        std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
    std::string s(buf, static_cast<size_t>(r.ptr - buf));
    const size_t n = s.size();
    if (n >= 4 && s[n - 4] == 'e' && s[n - 3] == '-' && s[n - 2] == '0') s.erase(n - 2, 1);
    return s;
  }
  return FormatPromValue(v);
}

}  // namespace

std::string FormatPromValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  const ShortestDecimal d = ToShortestDecimal(v);
  const int n = static_cast<int>(d.digits.size());
  std::string out;
  out.reserve(d.digits.size() + static_cast<size_t>(std::abs(d.point)) + 3);
  if (d.negative) out.push_back('-');
  if (d.point <= 0) {
    out.append("0.");
    out.append(static_cast<size_t>(-d.point), '0');
    out.append(d.digits);
  } else if (d.point >= n) {
    out.append(d.digits);
    out.append(static_cast<size_t>(d.point - n), '0');
  } else {
    out.append(d.digits, 0, static_cast<size_t>(d.point));
    out.push_back('.');
    out.append(d.digits, static_cast<size_t>(d.point));
  }
  return out;
}

std::string FormatRfc3339(int64_t t_ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", absl::FromUnixMillis(t_ms), absl::UTCTimeZone());
}

std::string FormatPromTimestamp(int64_t t_ms) {
  // Integer arithmetic instead of t / 1000.0: exact, and what Prometheus's marshaller does.
  // Unsigned so that INT64_MIN's magnitude is representable.
  std::string out;
  uint64_t magnitude = static_cast<uint64_t>(t_ms);
  if (t_ms < 0) {
    out.push_back('-');
    magnitude = ~magnitude + 1;
  }
  out.append(std::to_string(magnitude / 1000));
  unsigned fraction = static_cast<unsigned>(magnitude % 1000);
  if (fraction != 0) {
    size_t width = 3;  // Milliseconds: 5 -> ".005", 50 -> ".05", 500 -> ".5".
    for (; fraction % 10 == 0; fraction /= 10) --width;
    const std::string digits = std::to_string(fraction);
    out.push_back('.');
    out.append(width - digits.size(), '0');
    out.append(digits);
  }
  return out;
}

void JsonWriter::Separate() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (first_.empty()) return;
  if (!first_.back()) out_.push_back(',');
  first_.back() = false;
}

JsonWriter& JsonWriter::BeginObject() {
  Separate();
  out_.push_back('{');
  first_.push_back(true);
  return *this;
}

JsonWriter& JsonWriter::EndObject() {
  out_.push_back('}');
  first_.pop_back();
  return *this;
}

JsonWriter& JsonWriter::BeginArray() {
  Separate();
  out_.push_back('[');
  first_.push_back(true);
  return *this;
}

JsonWriter& JsonWriter::EndArray() {
  out_.push_back(']');
  first_.pop_back();
  return *this;
}

JsonWriter& JsonWriter::Key(std::string_view key) {
  Separate();
  AppendQuoted(key, &out_);
  out_.push_back(':');
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::String(std::string_view s) {
  Separate();
  AppendQuoted(s, &out_);
  return *this;
}

JsonWriter& JsonWriter::Int(int64_t v) {
  Separate();
  char buf[24];
  const std::to_chars_result r = std::to_chars(buf, buf + sizeof(buf), v);
  out_.append(buf, r.ptr);
  return *this;
}

JsonWriter& JsonWriter::Double(double v) {
  Separate();
  if (std::isfinite(v)) {
    out_.append(FormatJsonNumber(v));
  } else {
    out_.append("null");
  }
  return *this;
}

JsonWriter& JsonWriter::Bool(bool v) {
  Separate();
  out_.append(v ? "true" : "false");
  return *this;
}

JsonWriter& JsonWriter::Null() {
  Separate();
  out_.append("null");
  return *this;
}

JsonWriter& JsonWriter::PromValue(double v) { return String(FormatPromValue(v)); }

JsonWriter& JsonWriter::PromTimestamp(int64_t t_ms) {
  Separate();
  out_.append(FormatPromTimestamp(t_ms));
  return *this;
}

}  // namespace ember::server
