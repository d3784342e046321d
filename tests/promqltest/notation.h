// The small languages inside a PromQL test script line: durations (`1h30m`), series descriptors
// (`name{l="v"}`), value sequences (`0+10x5 _ stale {{schema:0 count:1}}`), native-histogram
// literals and Go-style number and string literals. Shared by script.cc (command structure) and
// its tests. The grammar is /work/shared/conformance/README.md, sections 1 and 3; where the README
// is silent, Prometheus's promqltest and series-description parser decide.
// Everything here is a pure function of its input and thread-compatible.
#ifndef EMBER_TESTS_PROMQLTEST_NOTATION_H_
#define EMBER_TESTS_PROMQLTEST_NOTATION_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "ember/labels.h"

namespace ember::promqltest {

// A native histogram written as `{{key:value ...}}`. Ember stores floats only, so these are kept
// for the runner to skip (or, later, to evaluate); the fields hold what the literal spells out.
struct HistogramLiteral {
  std::string text;  // Between `{{` and `}}`, trimmed.
  int schema = 0;
  double count = 0;
  double sum = 0;
  double zero_count = 0;        // z_bucket
  double zero_threshold = 0;    // z_bucket_w; 0 when absent (README section 3).
  std::vector<double> buckets;  // Absolute counts, starting at `offset`.
  int offset = 0;
  std::vector<double> negative_buckets;  // n_buckets, starting at `n_offset`.
  int negative_offset = 0;
  std::vector<double> custom_values;  // Upper bounds for schema -53.
  // "unknown", "reset", "not_reset" or "gauge"; empty when not written (then it is not compared).
  std::string counter_reset_hint;
};

// One position of a value sequence.
struct SequenceValue {
  enum class Kind { kOmitted, kFloat, kHistogram };
  Kind kind = Kind::kOmitted;
  // kFloat: the value; the stale marker is the NaN with bits ember::kStaleNaNBits.
  double value = 0;
  // kHistogram: `histogram` plus `delta_steps` times `histogram_delta` (histogram addition;
  // negative steps subtract). `histogram_delta` is null when delta_steps is 0. The sum is left
  // to the runner, which needs histogram arithmetic (README: `{{A}}+{{B}}xN`).
  std::shared_ptr<const HistogramLiteral> histogram;
  std::shared_ptr<const HistogramLiteral> histogram_delta;
  int64_t delta_steps = 0;

  static SequenceValue Omitted() { return {}; }
  static SequenceValue Float(double v) {
    SequenceValue s;
    s.kind = Kind::kFloat;
    s.value = v;
    return s;
  }
  bool is_float() const { return kind == Kind::kFloat; }
  bool is_histogram() const { return kind == Kind::kHistogram; }
  bool is_omitted() const { return kind == Kind::kOmitted; }
};

// A series descriptor followed by its values, as in a load block or an expected result.
struct SeriesDesc {
  Labels labels;  // Sorted by name, `__name__` included; empty values are kept as written.
  std::vector<SequenceValue> values;
};

// A Prometheus duration (`1h30m`, `10s53ms`, `0`): units ms s m h d w y, largest first, each at
// most once, non-negative integers only. Returns milliseconds. InvalidArgument otherwise.
absl::StatusOr<int64_t> ParseDuration(std::string_view text);

// Formats milliseconds the way Prometheus prints a duration (`1h30m`, `0s`), for messages.
std::string FormatDuration(int64_t ms);

// Go's strconv.ParseInt(text, 0, 64) and then strconv.ParseFloat(text, 64): what promqltest
// uses for a bare scalar line and the series parser for a value. Accepts `0x1f`, `0o17`, `017`
// (octal), `1_000`, `1e3`, `.5`, `5.`, `Inf`, `+inf`, `NaN`, `infinity`.
absl::StatusOr<double> ParseGoNumber(std::string_view text);

// Unquotes a PromQL/Go string literal: "..." or '...' with Go escapes (\n \t \\ \" \' \xHH \ooo
// \uHHHH \UHHHHHHHH ...), or `...` raw. `text` is the whole literal, quotes included.
absl::StatusOr<std::string> UnquoteString(std::string_view text);

// Parses `name`, `name{l="v",...}`, `{l="v",...}`, `{__name__="x"}` or `{"utf8.name", l="v"}` at
// the start of `text`; on success `*rest` is what follows the closing brace or the name.
absl::StatusOr<Labels> ParseSeriesSelector(std::string_view text, std::string_view* rest);

// Parses a whole value sequence (`1 2 _x3 0+10x5 stale {{count:1}}x2`), expanding repetitions.
// `a+bxN` accumulates in double precision (v += b, N times), as Prometheus's series parser does.
absl::StatusOr<std::vector<SequenceValue>> ParseValueSequence(std::string_view text);

// A series line: a selector, whitespace, a value sequence (possibly empty).
absl::StatusOr<SeriesDesc> ParseSeriesLine(std::string_view text);

// Parses the inside of `{{...}}` (without the braces).
absl::StatusOr<HistogramLiteral> ParseHistogramLiteral(std::string_view inner);

// A start-timestamp sequence of an `@st` line (README section 3): per position, the offset in
// ms from the sample's time, or nullopt for `_`. Durations here may be signed.
absl::StatusOr<std::vector<std::optional<int64_t>>> ParseStartTimestampSequence(
    std::string_view text);

}  // namespace ember::promqltest

#endif  // EMBER_TESTS_PROMQLTEST_NOTATION_H_
