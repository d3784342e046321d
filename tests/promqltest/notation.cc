// The notation of a test script line: durations, Go-style numbers and strings, series
// descriptors and value sequences. Histogram literals and `@st` sequences are in
// histogram_notation.cc.
#include "tests/promqltest/notation.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ember/sample.h"
#include "query/parser/grammar.h"
#include "tests/promqltest/notation_internal.h"

namespace ember::promqltest {
namespace {

// Go's strconv.ParseInt(s, 0, 64) without the sign: base prefixes 0x 0o 0b and a bare leading 0
// (octal); underscores only between digits or right after a prefix (Go's underscoreOK).
bool ParseGoUnsignedInt(std::string_view s, uint64_t* out) {
  int base = 10;
  bool digit_before = false;  // An underscore must follow a digit or a base prefix.
  if (s.size() >= 2 && s[0] == '0') {
    const char p = absl::ascii_tolower(static_cast<unsigned char>(s[1]));
    base = p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 0;
    if (base != 0) {
      s.remove_prefix(2);
      digit_before = true;
    } else {
      base = 8;  // A leading 0 means octal; the 0 itself is a digit.
    }
  }
  std::string digits;
  bool prev_underscore = false;
  for (char c : s) {
    if (c == '_') {
      if (!digit_before || prev_underscore) return false;
      prev_underscore = true;
      continue;
    }
    prev_underscore = false;
    digit_before = true;
    digits.push_back(c);
  }
  if (digits.empty() || prev_underscore) return false;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), *out, base);
  return ec == std::errc() && ptr == digits.data() + digits.size();
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return absl::EqualsIgnoreCase(absl::string_view(a.data(), a.size()),
                                absl::string_view(b.data(), b.size()));
}

// Go's strconv.ParseFloat(s, 64), less underscores in hex mantissas.
bool ParseGoFloat(std::string_view s, double* out) {
  if (s.empty()) return false;
  bool negative = false;
  std::string_view body = s;
  if (body[0] == '+' || body[0] == '-') {
    negative = body[0] == '-';
    body.remove_prefix(1);
    if (EqualsIgnoreCase(body, "inf") || EqualsIgnoreCase(body, "infinity")) {
      *out = negative ? -HUGE_VAL : HUGE_VAL;
      return true;
    }
  } else {
    if (EqualsIgnoreCase(body, "inf") || EqualsIgnoreCase(body, "infinity")) {
      *out = HUGE_VAL;
      return true;
    }
    if (EqualsIgnoreCase(body, "nan")) {
      *out = std::numeric_limits<double>::quiet_NaN();
      return true;
    }
  }
  if (body.empty()) return false;
  double v = 0;
  std::chars_format format = std::chars_format::general;
  if (body.size() > 2 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X')) {
    // Go requires the p exponent in a hex float.
    if (body.find_first_of("pP") == std::string_view::npos) return false;
    body.remove_prefix(2);
    format = std::chars_format::hex;
  } else {
    // from_chars would take "inf"/"nan" and friends; Go's decimal syntax is digits only.
    for (char c : body) {
      if (!IsDigit(c) && c != '.' && c != 'e' && c != 'E' && c != '+' && c != '-') return false;
    }
  }
  auto [ptr, ec] = std::from_chars(body.data(), body.data() + body.size(), v, format);
  if (ec != std::errc() || ptr != body.data() + body.size()) return false;
  *out = negative ? -v : v;
  return true;
}

// One float value: [+-] number | Inf | NaN | stale. The stale marker takes no sign.
absl::StatusOr<double> ScanFloatValue(Scanner* s) {
  const size_t start = s->pos();
  bool negative = false;
  if (s->peek() == '+' || s->peek() == '-') {
    negative = s->peek() == '-';
    s->advance();
  }
  if (IsDigit(s->peek()) || (s->peek() == '.' && IsDigit(s->peek(1)))) {
    std::string_view number = s->ScanNumber();
    absl::StatusOr<double> v = ParseGoNumber(number);
    if (!v.ok()) return v.status();
    return negative ? -*v : *v;
  }
  if (IsAlpha(s->peek())) {
    std::string_view word = s->ScanWord();
    if (word == "stale" && s->Take(start) == "stale") return StaleNaN();
    if (EqualsIgnoreCase(word, "inf")) return negative ? -HUGE_VAL : HUGE_VAL;
    if (EqualsIgnoreCase(word, "nan")) {
      // Prometheus reads -NaN as a negated NaN; keep the sign bit as it does.
      return negative ? -std::numeric_limits<double>::quiet_NaN()
                      : std::numeric_limits<double>::quiet_NaN();
    }
    return Invalid(absl::StrFormat("unexpected %s in series values: want a number or \"stale\"",
                                   Quote(s->Take(start))));
  }
  return Invalid(absl::StrFormat("unexpected %s in series values", Quote(s->rest().substr(0, 1))));
}

// `{{...}}` at the cursor.
absl::StatusOr<std::shared_ptr<const HistogramLiteral>> ScanHistogram(Scanner* s) {
  if (!s->Consume("{{")) return Invalid("expected '{{'");
  const std::string_view rest = s->rest();
  const size_t end = rest.find("}}");
  if (end == std::string_view::npos) return Invalid("histogram '{{' without closing '}}'");
  absl::StatusOr<HistogramLiteral> h = ParseHistogramLiteral(rest.substr(0, end));
  if (!h.ok()) return h.status();
  s->advance(end + 2);
  return std::make_shared<const HistogramLiteral>(*std::move(h));
}

absl::Status AppendHistogramItem(Scanner* s, std::vector<SequenceValue>* out) {
  absl::StatusOr<std::shared_ptr<const HistogramLiteral>> base = ScanHistogram(s);
  if (!base.ok()) return base.status();
  SequenceValue v;
  v.kind = SequenceValue::Kind::kHistogram;
  v.histogram = *base;
  if (s->peek() == 'x') {
    s->advance();
    absl::StatusOr<uint64_t> n = ParseRepeatCount(s->ScanDigits());
    if (!n.ok()) return n.status();
    out->insert(out->end(), *n + 1, v);
    return absl::OkStatus();
  }
  if ((s->peek() == '+' || s->peek() == '-') && s->peek(1) == '{') {
    const int sign = s->peek() == '-' ? -1 : 1;
    s->advance();
    absl::StatusOr<std::shared_ptr<const HistogramLiteral>> delta = ScanHistogram(s);
    if (!delta.ok()) return delta.status();
    if (s->peek() != 'x') return Invalid("expected 'xN' after '{{A}}+{{B}}'");
    s->advance();
    absl::StatusOr<uint64_t> n = ParseRepeatCount(s->ScanDigits());
    if (!n.ok()) return n.status();
    for (uint64_t i = 0; i <= *n; ++i) {
      v.histogram_delta = i == 0 ? nullptr : *delta;
      v.delta_steps = sign * static_cast<int64_t>(i);
      out->push_back(v);
    }
    return absl::OkStatus();
  }
  out->push_back(v);
  return absl::OkStatus();
}

absl::Status AppendItem(Scanner* s, std::vector<SequenceValue>* out) {
  if (s->peek() == '{' && s->peek(1) == '{') return AppendHistogramItem(s, out);
  if (s->peek() == '_' && (s->peek(1) == 'x' || !IsAlnum(s->peek(1)))) {
    s->advance();
    if (s->peek() == 'x') {
      s->advance();
      absl::StatusOr<uint64_t> n = ParseRepeatCount(s->ScanDigits());
      if (!n.ok()) return n.status();
      out->insert(out->end(), *n, SequenceValue::Omitted());
    } else {
      out->push_back(SequenceValue::Omitted());
    }
    return absl::OkStatus();
  }
  absl::StatusOr<double> a = ScanFloatValue(s);
  if (!a.ok()) return a.status();
  if (s->peek() == 'x') {
    s->advance();
    absl::StatusOr<uint64_t> n = ParseRepeatCount(s->ScanDigits());
    if (!n.ok()) return n.status();
    out->insert(out->end(), *n + 1, SequenceValue::Float(*a));
    return absl::OkStatus();
  }
  if (s->peek() == '+' || s->peek() == '-') {
    absl::StatusOr<double> b = ScanFloatValue(s);
    if (!b.ok()) return b.status();
    if (s->peek() != 'x') return Invalid("expected 'xN' after 'a+b' in series values");
    s->advance();
    absl::StatusOr<uint64_t> n = ParseRepeatCount(s->ScanDigits());
    if (!n.ok()) return n.status();
    // Accumulate, as Prometheus's grammar does (`$1 += $2`): a+N*b can differ in the last bit.
    double v = *a;
    for (uint64_t i = 0; i <= *n; ++i) {
      out->push_back(SequenceValue::Float(v));
      v += *b;
    }
    return absl::OkStatus();
  }
  out->push_back(SequenceValue::Float(*a));
  return absl::OkStatus();
}

// A label name or value token inside braces.
absl::StatusOr<std::string> ScanQuoted(Scanner* s) {
  const size_t start = s->pos();
  const char quote = s->peek();
  s->advance();
  while (!s->done() && s->peek() != quote) {
    if (s->peek() == '\\' && quote != '`') s->advance();
    s->advance();
  }
  if (s->peek() != quote) return Invalid("unterminated quoted string");
  s->advance();
  return UnquoteString(s->Take(start));
}

bool IsQuote(char c) { return c == '"' || c == '\'' || c == '`'; }

absl::Status ScanLabelSet(Scanner* s, Labels* labels) {
  s->advance();  // '{'
  bool name_set = false;
  for (;;) {
    s->SkipSpace();
    if (s->peek() == '}') {
      s->advance();
      break;
    }
    if (s->done()) return Invalid("label set without closing '}'");
    std::string name;
    if (IsQuote(s->peek())) {
      absl::StatusOr<std::string> q = ScanQuoted(s);
      if (!q.ok()) return q.status();
      name = *std::move(q);
      s->SkipSpace();
      if (s->peek() == ',' || s->peek() == '}') {  // `{"metric.name", ...}`
        if (name_set) return Invalid("the metric name is given twice");
        name_set = true;
        labels->push_back({std::string(kMetricNameLabel), std::move(name)});
        if (s->peek() == ',') s->advance();
        continue;
      }
    } else if (IsAlpha(s->peek())) {
      const size_t start = s->pos();
      while (IsAlnum(s->peek())) s->advance();
      name = std::string(s->Take(start));
    } else {
      return Invalid(absl::StrFormat("unexpected %s in label set", Quote(s->rest().substr(0, 1))));
    }
    s->SkipSpace();
    if (s->peek() == '!' || (s->peek() == '=' && s->peek(1) == '~')) {
      return Invalid(absl::StrFormat("label %s: only '=' is allowed in a series descriptor", name));
    }
    if (!s->Consume("=")) return Invalid(absl::StrFormat("label %s: expected '='", name));
    s->SkipSpace();
    if (!IsQuote(s->peek())) {
      return Invalid(absl::StrFormat("label %s: expected a quoted value", name));
    }
    absl::StatusOr<std::string> value = ScanQuoted(s);
    if (!value.ok()) return Invalid(absl::StrCat("label ", name, ": ", value.status().message()));
    if (name == kMetricNameLabel) {
      if (name_set) return Invalid("the metric name is given twice");
      name_set = true;
    }
    labels->push_back({std::move(name), *std::move(value)});
    s->SkipSpace();
    if (s->peek() == ',') {
      s->advance();
    } else if (s->peek() != '}') {
      return Invalid(absl::StrFormat("unexpected %s in label set: want ',' or '}'",
                                     Quote(s->rest().substr(0, 1))));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<int64_t> ParseDuration(std::string_view text) {
  if (text.empty()) return Invalid("empty duration");
  if (text == "0") return 0;
  struct Unit {
    std::string_view name;
    int64_t ms;
  };
  static constexpr Unit kUnits[] = {{"y", 365LL * 24 * 3600 * 1000},
                                    {"w", 7LL * 24 * 3600 * 1000},
                                    {"d", 24LL * 3600 * 1000},
                                    {"h", 3600LL * 1000},
                                    {"m", 60LL * 1000},
                                    {"s", 1000},
                                    {"ms", 1}};
  const auto bad = [&](std::string_view why) {
    return Invalid(
        absl::StrFormat("invalid duration \"%s\": %s (want e.g. 1h30m, 10s53ms or 0)", text, why));
  };
  int64_t total = 0;
  size_t next_unit = 0;  // Units must come largest first, each at most once.
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t start = pos;
    while (pos < text.size() && IsDigit(text[pos])) ++pos;
    if (pos == start) return bad("expected digits");
    const std::string_view digits = text.substr(start, pos - start);
    const size_t unit_start = pos;
    while (pos < text.size() && !IsDigit(text[pos])) ++pos;
    const std::string_view unit = text.substr(unit_start, pos - unit_start);
    size_t u = next_unit;
    while (u < std::size(kUnits) && kUnits[u].name != unit) ++u;
    if (u == std::size(kUnits)) {
      if (unit.empty()) return bad("missing unit");
      if (unit.find('.') != std::string_view::npos) return bad("fractions are not allowed");
      return bad("unknown or out-of-order unit");
    }
    next_unit = u + 1;
    int64_t n = 0;
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (ec != std::errc() || n > std::numeric_limits<int64_t>::max() / kUnits[u].ms ||
        total > std::numeric_limits<int64_t>::max() - n * kUnits[u].ms) {
      return bad("out of range");
    }
    total += n * kUnits[u].ms;
  }
  return total;
}

std::string FormatDuration(int64_t ms) {
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  struct Unit {
    const char* name;
    int64_t ms;
  };
  static constexpr Unit kUnits[] = {{"y", 365LL * 24 * 3600 * 1000},
                                    {"w", 7LL * 24 * 3600 * 1000},
                                    {"d", 24LL * 3600 * 1000},
                                    {"h", 3600LL * 1000},
                                    {"m", 60LL * 1000},
                                    {"s", 1000},
                                    {"ms", 1}};
  for (const Unit& u : kUnits) {
    if (ms >= u.ms) {
      absl::StrAppend(&out, ms / u.ms, u.name);
      ms %= u.ms;
    }
  }
  return out;
}

absl::StatusOr<double> ParseGoNumber(std::string_view text) {
  std::string_view body = text;
  bool negative = false;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
    negative = body[0] == '-';
    body.remove_prefix(1);
  }
  uint64_t n = 0;
  if (ParseGoUnsignedInt(body, &n)) {
    // ParseInt's range: [-2^63, 2^63-1]; beyond it Go falls through to ParseFloat.
    const uint64_t limit = negative ? (uint64_t{1} << 63) : (uint64_t{1} << 63) - 1;
    if (n <= limit) {
      return negative ? -static_cast<double>(n) : static_cast<double>(n);
    }
  }
  double f = 0;
  if (ParseGoFloat(text, &f)) return f;
  return Invalid(absl::StrFormat("invalid number \"%s\"", text));
}

absl::StatusOr<std::string> UnquoteString(std::string_view text) {
  // One lexer for PromQL strings: the query parser's, so scripts and queries unquote alike.
  const query::grammar::Token t = query::grammar::Lex(text, 0);
  if (t.kind == query::grammar::Tok::kString && t.begin == 0 &&
      static_cast<size_t>(t.end) == text.size()) {
    return t.value;
  }
  if (t.kind == query::grammar::Tok::kError) {
    return Invalid(absl::StrFormat("invalid string literal %s: %s", Quote(text), t.value));
  }
  return Invalid(
      absl::StrFormat("invalid string literal %s: want \"...\", '...' or `...`", Quote(text)));
}

absl::StatusOr<Labels> ParseSeriesSelector(std::string_view text, std::string_view* rest) {
  Scanner s(text);
  Labels labels;
  if (IsAlpha(s.peek()) || s.peek() == ':') {
    const size_t start = s.pos();
    while (IsAlnum(s.peek()) || s.peek() == ':') s.advance();
    labels.push_back({std::string(kMetricNameLabel), std::string(s.Take(start))});
    if (s.peek() == '{') {
      absl::Status st = ScanLabelSet(&s, &labels);
      if (!st.ok()) return st;
    }
  } else if (s.peek() == '{') {
    absl::Status st = ScanLabelSet(&s, &labels);
    if (!st.ok()) return st;
  } else {
    return Invalid(absl::StrFormat("expected a series descriptor (name or {...}), got %s",
                                   Quote(text.substr(0, 20))));
  }
  std::stable_sort(labels.begin(), labels.end(),
                   [](const Label& a, const Label& b) { return a.name < b.name; });
  for (size_t i = 1; i < labels.size(); ++i) {
    if (labels[i].name == labels[i - 1].name) {
      return Invalid(absl::StrFormat("label %s is given twice", labels[i].name));
    }
  }
  *rest = s.rest();
  return labels;
}

absl::StatusOr<std::vector<SequenceValue>> ParseValueSequence(std::string_view text) {
  std::vector<SequenceValue> out;
  Scanner s(text);
  for (;;) {
    s.SkipSpace();
    if (s.done()) break;
    const size_t start = s.pos();
    absl::Status st = AppendItem(&s, &out);
    if (st.ok() && !s.done() && !IsSpace(s.peek())) {
      st = Invalid(absl::StrFormat("unexpected %s after the item", Quote(s.rest().substr(0, 1))));
    }
    if (!st.ok()) {
      std::string_view item = text.substr(start);
      item = item.substr(0, std::min(item.find_first_of(" \t"), size_t{40}));
      return Invalid(
          absl::StrFormat("value item %d (%s): %s", out.size() + 1, Quote(item), st.message()));
    }
  }
  return out;
}

absl::StatusOr<SeriesDesc> ParseSeriesLine(std::string_view text) {
  SeriesDesc desc;
  std::string_view rest;
  absl::StatusOr<Labels> labels = ParseSeriesSelector(TrimSpace(text), &rest);
  if (!labels.ok()) return labels.status();
  desc.labels = *std::move(labels);
  if (!rest.empty() && !IsSpace(rest.front())) {
    return Invalid(absl::StrFormat("expected whitespace between the series and its values, got %s",
                                   Quote(rest.substr(0, 1))));
  }
  absl::StatusOr<std::vector<SequenceValue>> values = ParseValueSequence(rest);
  if (!values.ok()) return values.status();
  desc.values = *std::move(values);
  return desc;
}

}  // namespace ember::promqltest
