// The native-histogram and start-timestamp notation of a test script: the inside of a
// `{{...}}` histogram literal and the value sequence of an `@st` line. Durations, series
// descriptors and value sequences are in notation.cc.
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
#include "tests/promqltest/notation.h"
#include "tests/promqltest/notation_internal.h"

namespace ember::promqltest {
namespace {

absl::StatusOr<std::vector<double>> ParseFloatList(std::string_view key, std::string_view text) {
  std::vector<double> out;
  Scanner s(text);
  for (;;) {
    s.SkipSpace();
    if (s.done()) break;
    const size_t start = s.pos();
    while (!s.done() && !IsSpace(s.peek())) s.advance();
    absl::StatusOr<double> v = ParseGoNumber(s.Take(start));
    if (!v.ok()) return Invalid(absl::StrFormat("%s: %s", key, v.status().message()));
    out.push_back(*v);
  }
  return out;
}

absl::StatusOr<int> ParseSmallInt(std::string_view key, std::string_view text) {
  int v = 0;
  std::string_view digits = text;
  const bool negative = !digits.empty() && digits[0] == '-';
  if (negative || (!digits.empty() && digits[0] == '+')) digits.remove_prefix(1);
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size()) {
    return Invalid(absl::StrFormat("%s: invalid integer \"%s\"", key, text));
  }
  return negative ? -v : v;
}

// Like ParseDurationPrefix in promqltest: [+-] digits unit-letters (no 'x'); one unit group.
absl::StatusOr<int64_t> ScanSignedDuration(Scanner* s) {
  const size_t start = s->pos();
  bool negative = false;
  if (s->peek() == '-' || s->peek() == '+') {
    negative = s->peek() == '-';
    s->advance();
  }
  const size_t digits = s->pos();
  if (s->ScanDigits().empty()) {
    return Invalid(absl::StrFormat("expected digits in duration %s", Quote(s->rest())));
  }
  while ((IsAlpha(s->peek()) && s->peek() != '_') && s->peek() != 'x') s->advance();
  absl::StatusOr<int64_t> ms = ParseDuration(s->Take(digits));
  if (!ms.ok()) {
    return Invalid(
        absl::StrFormat("invalid duration %s: %s", Quote(s->Take(start)), ms.status().message()));
  }
  return negative ? -*ms : *ms;
}

}  // namespace

absl::StatusOr<HistogramLiteral> ParseHistogramLiteral(std::string_view inner) {
  HistogramLiteral h;
  h.text = std::string(TrimSpace(inner));
  Scanner s(inner);
  std::vector<std::string> seen;
  for (;;) {
    s.SkipSpace();
    if (s.done()) break;
    const size_t key_start = s.pos();
    while (IsAlnum(s.peek())) s.advance();
    const std::string key(s.Take(key_start));
    if (key.empty() || !s.Consume(":")) {
      return Invalid(absl::StrFormat("histogram {{%s}}: expected key:value at %s", h.text,
                                     Quote(s.rest().substr(0, 20))));
    }
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
      return Invalid(absl::StrFormat("histogram {{%s}}: key %s given twice", h.text, key));
    }
    seen.push_back(key);
    s.SkipSpace();
    std::string_view value;
    const bool is_list = s.peek() == '[';
    if (is_list) {
      s.advance();
      const size_t start = s.pos();
      while (!s.done() && s.peek() != ']') s.advance();
      if (!s.Consume("]"))
        return Invalid(absl::StrFormat("histogram {{%s}}: '[' without ']'", h.text));
      value = s.Take(start);
      value.remove_suffix(1);
    } else {
      const size_t start = s.pos();
      while (!s.done() && !IsSpace(s.peek())) s.advance();
      value = s.Take(start);
    }
    const bool wants_list = key == "buckets" || key == "n_buckets" || key == "custom_values";
    if (wants_list != is_list) {
      return Invalid(absl::StrFormat("histogram {{%s}}: %s %s", h.text, key,
                                     wants_list ? "needs a [...] list" : "takes a single value"));
    }
    absl::Status st;
    auto set_float = [&](double* field) {
      absl::StatusOr<double> v = ParseGoNumber(value);
      if (!v.ok()) {
        st = v.status();
      } else {
        *field = *v;
      }
    };
    auto set_int = [&](int* field) {
      absl::StatusOr<int> v = ParseSmallInt(key, value);
      if (!v.ok()) {
        st = v.status();
      } else {
        *field = *v;
      }
    };
    auto set_list = [&](std::vector<double>* field) {
      absl::StatusOr<std::vector<double>> v = ParseFloatList(key, value);
      if (!v.ok()) {
        st = v.status();
      } else {
        *field = *std::move(v);
      }
    };
    if (key == "schema") {
      set_int(&h.schema);
    } else if (key == "count") {
      set_float(&h.count);
    } else if (key == "sum") {
      set_float(&h.sum);
    } else if (key == "z_bucket") {
      set_float(&h.zero_count);
    } else if (key == "z_bucket_w") {
      set_float(&h.zero_threshold);
    } else if (key == "buckets") {
      set_list(&h.buckets);
    } else if (key == "offset") {
      set_int(&h.offset);
    } else if (key == "n_buckets") {
      set_list(&h.negative_buckets);
    } else if (key == "n_offset") {
      set_int(&h.negative_offset);
    } else if (key == "custom_values") {
      set_list(&h.custom_values);
    } else if (key == "counter_reset_hint") {
      if (value != "unknown" && value != "reset" && value != "not_reset" && value != "gauge") {
        st =
            Invalid(absl::StrFormat("counter_reset_hint \"%s\": want unknown, reset, not_reset or "
                                    "gauge",
                                    value));
      }
      h.counter_reset_hint = std::string(value);
    } else {
      st = Invalid(absl::StrFormat("unknown key \"%s\"", key));
    }
    if (!st.ok()) return Invalid(absl::StrFormat("histogram {{%s}}: %s", h.text, st.message()));
  }
  if (h.schema != -53 && (h.schema < -4 || h.schema > 8)) {
    return Invalid(
        absl::StrFormat("histogram {{%s}}: schema %d is outside -4..8 (or -53)", h.text, h.schema));
  }
  return h;
}

absl::StatusOr<std::vector<std::optional<int64_t>>> ParseStartTimestampSequence(
    std::string_view text) {
  std::vector<std::optional<int64_t>> out;
  Scanner s(text);
  for (;;) {
    s.SkipSpace();
    if (s.done()) break;
    const size_t start = s.pos();
    while (!s.done() && !IsSpace(s.peek())) s.advance();
    const std::string_view item = s.Take(start);
    Scanner it(item);
    absl::Status st;
    // "*" repeats the previous position that has a start time (promqltest's extension).
    auto previous = [&]() -> int64_t {
      for (auto i = out.rbegin(); i != out.rend(); ++i) {
        if (i->has_value()) return **i;
      }
      return 0;
    };
    if (item == "_") {
      out.push_back(std::nullopt);
    } else if (it.Consume("_x")) {
      absl::StatusOr<uint64_t> n = ParseRepeatCount(it.rest());
      if (!n.ok() || *n == 0) {
        st = Invalid("invalid repeat count");
      } else {
        out.insert(out.end(), *n, std::nullopt);
      }
    } else if (item == "*") {
      out.push_back(previous());
    } else if (it.Consume("*x")) {
      absl::StatusOr<uint64_t> n = ParseRepeatCount(it.rest());
      if (!n.ok()) {
        st = n.status();
      } else {
        out.insert(out.end(), *n + 1, previous());
      }
    } else {
      absl::StatusOr<int64_t> base = ScanSignedDuration(&it);
      if (!base.ok()) {
        st = base.status();
      } else if (it.done()) {
        out.push_back(*base);
      } else if (it.peek() == 'x') {
        it.advance();
        absl::StatusOr<uint64_t> n = ParseRepeatCount(it.rest());
        if (!n.ok()) {
          st = n.status();
        } else {
          out.insert(out.end(), *n + 1, *base);
        }
      } else if (it.peek() == '+' || it.peek() == '-') {
        absl::StatusOr<int64_t> delta = ScanSignedDuration(&it);
        if (!delta.ok()) {
          st = delta.status();
        } else if (!it.Consume("x")) {
          st = Invalid("expected 'x<count>' after the step duration");
        } else {
          absl::StatusOr<uint64_t> n = ParseRepeatCount(it.rest());
          if (!n.ok()) {
            st = n.status();
          } else {
            int64_t offset = *base;
            for (uint64_t i = 0; i <= *n; ++i, offset += *delta) out.push_back(offset);
          }
        }
      } else {
        st = Invalid(absl::StrFormat("unexpected %s after the duration", Quote(it.rest())));
      }
    }
    if (!st.ok()) return Invalid(absl::StrFormat("@st item \"%s\": %s", item, st.message()));
  }
  return out;
}

}  // namespace ember::promqltest
