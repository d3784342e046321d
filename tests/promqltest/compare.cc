// Result comparison for the promqltest runner (README sections 4.1, 4.2, 4.4, 4.6): value
// tolerance, label order, instant vectors as sets or sequences, matrices laid out in steps,
// scalars and strings, and error texts, warnings and infos against an eval's expectations.
// Running scripts and reports are in runner.cc.
#include "tests/promqltest/compare.h"

#include <stdlib.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "ember/db.h"
#include "ember/labels.h"
#include "ember/sample.h"
#include "query/ast.h"
#include "query/functions/signatures.h"
#include "query/parser/parser.h"
#include "re2/re2.h"
#include "tests/promqltest/loader.h"
#include "tests/promqltest/notation.h"

namespace ember::promqltest {
namespace {

using query::Matrix;
using query::MatrixSeries;
using query::QueryResult;
using query::Value;
using query::ValueType;
using query::Vector;
using query::VectorSample;

// How many series a message lists before "...".
constexpr size_t kMaxListed = 5;

std::string Trimmed(std::string_view s) {
  return std::string(absl::StripAsciiWhitespace(absl::string_view(s.data(), s.size())));
}

std::string FormatPoints(const std::vector<query::Point>& points) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < points.size() && i < 2 * kMaxListed; ++i) {
    parts.push_back(absl::StrFormat("%s@%d", FormatValue(points[i].v), points[i].t));
  }
  if (points.size() > 2 * kMaxListed) parts.push_back("...");
  return absl::StrFormat("[%s]", absl::StrJoin(parts, " "));
}

// The expected float of a series line's position; "" when it is one (else why not).
std::string ExpectedFloat(const SeriesLine& s, size_t i, double* v) {
  const SequenceValue& sv = s.values[i];
  if (sv.is_histogram()) return "a native histogram is expected (not supported)";
  if (sv.is_omitted()) return "`_` is not a value";
  *v = sv.value;
  return "";
}

const SeriesLine* FindExpected(const std::vector<SeriesLine>& expected, const Labels& labels) {
  for (const SeriesLine& s : expected) {
    if (s.labels == labels) return &s;
  }
  return nullptr;
}

// Returns "" when the labels are distinct, else names a duplicate.
template <typename T>
std::string FindDuplicate(const std::vector<T>& items) {
  std::vector<const Labels*> sorted;
  for (const T& item : items) sorted.push_back(&item.labels);
  std::sort(sorted.begin(), sorted.end(),
            [](const Labels* a, const Labels* b) { return LabelsLess(*a, *b); });
  for (size_t i = 1; i < sorted.size(); ++i) {
    if (*sorted[i - 1] == *sorted[i]) {
      return absl::StrCat("the result holds series ", LabelsToString(*sorted[i]), " twice");
    }
  }
  return "";
}

std::string CompareVector(const EvalCommand& e, const Vector& got) {
  if (std::string dup = FindDuplicate(got); !dup.empty()) return dup;
  const std::vector<SeriesLine>& want = e.expect_series;
  for (const SeriesLine& s : want) {
    if (s.values.size() != 1) {
      return absl::StrFormat(
          "script: line %d gives %d values for an instant eval (one expected; a range vector "
          "needs `expect range vector`)",
          s.line, s.values.size());
    }
  }
  if (e.ordered()) {
    for (size_t i = 0; i < got.size() && i < want.size(); ++i) {
      if (got[i].labels != want[i].labels) {
        return absl::StrFormat("ordered: position %d: expected %s (line %d), got %s", i + 1,
                               LabelsToString(want[i].labels), want[i].line,
                               LabelsToString(got[i].labels));
      }
    }
  }
  for (const VectorSample& g : got) {
    const SeriesLine* s = FindExpected(want, g.labels);
    if (s == nullptr) {
      return absl::StrFormat("unexpected series %s %s in the result (expected %d series, got %d)",
                             LabelsToString(g.labels), FormatValue(g.v), want.size(), got.size());
    }
    double v = 0;
    if (std::string why = ExpectedFloat(*s, 0, &v); !why.empty()) {
      return absl::StrFormat("series %s (line %d): %s", LabelsToString(s->labels), s->line, why);
    }
    if (!AlmostEqual(v, g.v)) {
      return absl::StrFormat("series %s (line %d): expected %s, got %s", LabelsToString(s->labels),
                             s->line, FormatValue(v), FormatValue(g.v));
    }
  }
  for (const SeriesLine& s : want) {
    const bool found = std::any_of(got.begin(), got.end(),
                                   [&](const VectorSample& g) { return g.labels == s.labels; });
    if (!found) {
      return absl::StrFormat("missing series %s (line %d) (expected %d series, got %d)",
                             LabelsToString(s.labels), s.line, want.size(), got.size());
    }
  }
  return "";
}

// Expected series laid out from `start_ms` in steps of `step_ms` (`steps` of them).
std::string CompareMatrix(const std::vector<SeriesLine>& want, const Matrix& got, int64_t start_ms,
                          int64_t end_ms, int64_t step_ms) {
  if (step_ms <= 0 || end_ms < start_ms) {
    return absl::StrFormat("script: bad range from %d to %d step %d", start_ms, end_ms, step_ms);
  }
  const int64_t steps = (end_ms - start_ms) / step_ms + 1;
  for (const SeriesLine& s : want) {
    if (static_cast<int64_t>(s.values.size()) > steps) {
      return absl::StrFormat("script: line %d lists %d values, the range has %d steps", s.line,
                             s.values.size(), steps);
    }
  }
  if (std::string sorted = CheckSorted(got); !sorted.empty()) return sorted;
  if (std::string dup = FindDuplicate(got); !dup.empty()) return dup;
  for (const MatrixSeries& g : got) {
    const SeriesLine* s = FindExpected(want, g.labels);
    if (s == nullptr) {
      return absl::StrFormat("unexpected series %s %s in the result (expected %d series, got %d)",
                             LabelsToString(g.labels), FormatPoints(g.points), want.size(),
                             got.size());
    }
    std::vector<query::Point> expected;
    for (size_t i = 0; i < s->values.size(); ++i) {
      if (s->values[i].is_omitted()) continue;
      double v = 0;
      if (std::string why = ExpectedFloat(*s, i, &v); !why.empty()) {
        return absl::StrFormat("series %s (line %d): %s", LabelsToString(s->labels), s->line, why);
      }
      expected.push_back({start_ms + static_cast<int64_t>(i) * step_ms, v});
    }
    for (size_t i = 0; i < expected.size() || i < g.points.size(); ++i) {
      const std::string where =
          absl::StrFormat("series %s (line %d), point %d", LabelsToString(s->labels), s->line, i);
      if (i >= expected.size()) {
        return absl::StrFormat("%s: unexpected extra point %s@%d (expected %d points, got %d)",
                               where, FormatValue(g.points[i].v), g.points[i].t, expected.size(),
                               g.points.size());
      }
      if (i >= g.points.size()) {
        return absl::StrFormat("%s: missing point %s@%d (expected %d points, got %d)", where,
                               FormatValue(expected[i].v), expected[i].t, expected.size(),
                               g.points.size());
      }
      if (expected[i].t != g.points[i].t || !AlmostEqual(expected[i].v, g.points[i].v)) {
        return absl::StrFormat("%s: expected %s@%d, got %s@%d", where, FormatValue(expected[i].v),
                               expected[i].t, FormatValue(g.points[i].v), g.points[i].t);
      }
    }
  }
  for (const SeriesLine& s : want) {
    const bool any_point = std::any_of(s.values.begin(), s.values.end(),
                                       [](const SequenceValue& v) { return !v.is_omitted(); });
    const bool found = std::any_of(got.begin(), got.end(),
                                   [&](const MatrixSeries& g) { return g.labels == s.labels; });
    if (any_point && !found) {
      return absl::StrFormat("missing series %s (line %d) (expected %d series, got %d)",
                             LabelsToString(s.labels), s.line, want.size(), got.size());
    }
  }
  return "";
}

std::string WantedType(const EvalCommand& e) {
  if (e.expect_string) return "a string";
  if (e.expect_scalar) return "a scalar";
  if (e.is_range || e.expect_range_vector) return "a range vector";
  return "an instant vector";
}

// Returns "" when `re` (RE2 syntax) matches somewhere in `text`; else why not.
std::string RegexSearch(const std::string& re, const std::string& text, bool* matched) {
  RE2 compiled(re, RE2::Quiet);
  if (!compiled.ok()) {
    *matched = false;
    return absl::StrFormat("script: bad regex %s: %s", re, compiled.error());
  }
  *matched = RE2::PartialMatch(text, compiled);
  return "";
}

// README section 4.6 for one kind of note (`want`: kWarn or kInfo).
std::string CheckNotes(const EvalCommand& e, ExpectKind want, ExpectKind none,
                       absl::string_view prefix, absl::string_view noun, absl::string_view keyword,
                       const std::vector<std::string>& raw_notes) {
  // Prometheus renders notes as "PromQL warning: <text> (<line>:<col>)", which is what the
  // scripts match; an engine that returns the bare text gets the prefix added here.
  std::vector<std::string> notes;
  for (const std::string& n : raw_notes) {
    notes.push_back(absl::StartsWith(n, prefix) ? n : absl::StrCat(prefix, n));
  }
  std::vector<const Expectation*> lines;
  for (const Expectation& x : e.expectations) {
    if (x.kind == want) lines.push_back(&x);
  }
  if (e.Has(none) && !notes.empty()) {
    return absl::StrFormat("expected no %ss, got %d: %s", noun, notes.size(),
                           absl::StrJoin(notes, " | "));
  }
  if (lines.empty()) return "";
  if (notes.empty()) return absl::StrFormat("expected a %s, got none", noun);
  std::string error;
  for (const Expectation* x : lines) {
    const bool hit = std::any_of(notes.begin(), notes.end(),
                                 [&](const std::string& n) { return Matches(*x, n, &error); });
    if (!error.empty()) return error;
    if (!hit) {
      return absl::StrFormat("no %s matches `expect %s %s` (line %d); got: %s", noun, keyword,
                             DescribeExpectation(*x), x->line, absl::StrJoin(notes, " | "));
    }
  }
  for (const std::string& n : notes) {
    const bool hit = std::any_of(lines.begin(), lines.end(),
                                 [&](const Expectation* x) { return Matches(*x, n, &error); });
    if (!hit) return absl::StrFormat("unexpected %s: %s", noun, n);
  }
  return "";
}

}  // namespace

std::string EvalHeader(const EvalCommand& e) {
  if (e.is_range) {
    return absl::StrFormat("eval range from %s to %s step %s %s", FormatDuration(e.start_ms),
                           FormatDuration(e.end_ms), FormatDuration(e.step_ms), e.query);
  }
  return absl::StrFormat("eval instant at %s %s", FormatDuration(e.start_ms), e.query);
}

std::string DescribeValue(const Value& v) {
  switch (v.type) {
    case ValueType::kScalar:
      return absl::StrCat("scalar ", FormatValue(v.scalar));
    case ValueType::kString:
      return absl::StrFormat("string \"%s\"", absl::CEscape(v.str));
    case ValueType::kVector: {
      std::vector<std::string> parts;
      for (size_t i = 0; i < v.vector.size() && i < kMaxListed; ++i) {
        parts.push_back(
            absl::StrCat(LabelsToString(v.vector[i].labels), " ", FormatValue(v.vector[i].v)));
      }
      if (v.vector.size() > kMaxListed) parts.push_back("...");
      return absl::StrFormat("instant vector of %d series {%s}", v.vector.size(),
                             absl::StrJoin(parts, ", "));
    }
    case ValueType::kMatrix: {
      std::vector<std::string> parts;
      for (size_t i = 0; i < v.matrix.size() && i < kMaxListed; ++i) {
        parts.push_back(absl::StrCat(LabelsToString(v.matrix[i].labels), " ",
                                     FormatPoints(v.matrix[i].points)));
      }
      if (v.matrix.size() > kMaxListed) parts.push_back("...");
      return absl::StrFormat("range vector of %d series {%s}", v.matrix.size(),
                             absl::StrJoin(parts, ", "));
    }
    case ValueType::kNone:
      break;
  }
  return "a value of no type";
}

std::string StatusText(const absl::Status& s) {
  return absl::StrCat(absl::StatusCodeToString(s.code()), ": ", s.message());
}

std::string CheckSorted(const Matrix& m) {
  for (size_t i = 1; i < m.size(); ++i) {
    if (LabelsLess(m[i].labels, m[i - 1].labels)) {
      return absl::StrFormat("the range result is not sorted by label set: %s comes before %s",
                             LabelsToString(m[i - 1].labels), LabelsToString(m[i].labels));
    }
  }
  return "";
}

// README section 4.1: "" when `got` (the result of `e` as written) is what `e` expects.
std::string CompareValue(const EvalCommand& e, const Value& got) {
  const auto wrong_type = [&] {
    return absl::StrFormat("expected %s, got %s", WantedType(e), DescribeValue(got));
  };
  if (e.expect_string) {
    if (got.type != ValueType::kString) return wrong_type();
    if (got.str != *e.expect_string) {
      return absl::StrFormat("expected string \"%s\", got \"%s\"", absl::CEscape(*e.expect_string),
                             absl::CEscape(got.str));
    }
    return "";
  }
  if (e.expect_scalar && !e.is_range) {
    if (got.type != ValueType::kScalar) return wrong_type();
    if (!AlmostEqual(*e.expect_scalar, got.scalar)) {
      return absl::StrFormat("expected scalar %s, got %s", FormatValue(*e.expect_scalar),
                             FormatValue(got.scalar));
    }
    return "";
  }
  if (e.is_range) {
    if (got.type != ValueType::kMatrix) return wrong_type();
    return CompareMatrix(e.expect_series, got.matrix, e.start_ms, e.end_ms, e.step_ms);
  }
  if (e.expect_range_vector) {
    if (got.type != ValueType::kMatrix) return wrong_type();
    const RangeLayout& r = *e.expect_range_vector;
    return CompareMatrix(e.expect_series, got.matrix, r.start_ms, r.end_ms, r.step_ms);
  }
  switch (got.type) {
    case ValueType::kVector:
      return CompareVector(e, got.vector);
    case ValueType::kMatrix:
      if (e.ordered()) return "an ordered eval got a range vector";
      if (got.matrix.empty() && e.expect_series.empty()) return "";
      return absl::StrCat(wrong_type(), " (an instant eval of a range vector needs `expect range ",
                          "vector from A to B step S`)");
    default:
      return wrong_type();
  }
}

// `text` against `x` (msg: exact after trimming, regex: unanchored search, else anything).
bool Matches(const Expectation& x, const std::string& text, std::string* error) {
  switch (x.match) {
    case Expectation::Match::kAny:
      return true;
    case Expectation::Match::kMessage:
      return Trimmed(text) == Trimmed(x.text);
    case Expectation::Match::kRegex: {
      bool matched = false;
      if (std::string why = RegexSearch(x.text, text, &matched); !why.empty()) *error = why;
      return matched;
    }
  }
  return false;
}

std::string DescribeExpectation(const Expectation& x) {
  switch (x.match) {
    case Expectation::Match::kAny:
      return "any";
    case Expectation::Match::kMessage:
      return absl::StrFormat("msg: %s", x.text);
    case Expectation::Match::kRegex:
      return absl::StrFormat("regex: %s", x.text);
  }
  return "";
}

std::string CheckAnnotations(const EvalCommand& e, const query::Annotations& a) {
  std::string warn = CheckNotes(e, ExpectKind::kWarn, ExpectKind::kNoWarn,
                                "PromQL warning: ", "warning", "warn", a.warnings);
  std::string info = CheckNotes(e, ExpectKind::kInfo, ExpectKind::kNoInfo, "PromQL info: ", "info",
                                "info", a.infos);
  if (!warn.empty() && !info.empty()) return absl::StrCat(warn, "; ", info);
  return warn.empty() ? info : warn;
}

bool AlmostEqual(double expected, double got) {
  // Prometheus's util/almost.Equal with epsilon 1e-6, behind promqltest's stale-marker rule.
  constexpr double kEpsilon = 1e-6;
  constexpr double kMinNormal = std::numeric_limits<double>::min();  // 2.2250738585072014e-308
  if (IsStaleNaN(expected) || IsStaleNaN(got)) return IsStaleNaN(expected) && IsStaleNaN(got);
  if (std::isnan(expected) && std::isnan(got)) return true;
  if (expected == got) return true;  // Also ±Inf, and 0 == -0.
  const double diff = std::fabs(expected - got);
  const double sum = std::fabs(expected) + std::fabs(got);
  if (expected == 0 || got == 0 || sum < kMinNormal) return diff < kEpsilon * kMinNormal;
  return diff / std::min(sum, std::numeric_limits<double>::max()) < kEpsilon;
}

std::string FormatValue(double v) {
  if (IsStaleNaN(v)) return "stale";
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  const std::to_chars_result r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, r.ptr);
}

bool LabelsLess(const Labels& a, const Labels& b) {
  // Label's <=> compares name, then value, as std::string: byte order (char_traits<char>
  // compares as unsigned char). Vector comparison puts a prefix first.
  return a < b;
}

}  // namespace ember::promqltest
