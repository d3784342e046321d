#include "tests/promqltest/runner.h"

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

// The cross-check's window around the eval time (README section 4.3 item 2).
constexpr int64_t kCrossCheckMs = 60 * 1000;
// How many series a message lists before "...".
constexpr size_t kMaxListed = 5;

absl::string_view Av(std::string_view s) { return absl::string_view(s.data(), s.size()); }

std::string Trimmed(std::string_view s) {
  return std::string(absl::StripAsciiWhitespace(absl::string_view(s.data(), s.size())));
}

std::string EvalHeader(const EvalCommand& e) {
  if (e.is_range) {
    return absl::StrFormat("eval range from %s to %s step %s %s", FormatDuration(e.start_ms),
                           FormatDuration(e.end_ms), FormatDuration(e.step_ms), e.query);
  }
  return absl::StrFormat("eval instant at %s %s", FormatDuration(e.start_ms), e.query);
}

std::string FormatPoints(const std::vector<query::Point>& points) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < points.size() && i < 2 * kMaxListed; ++i) {
    parts.push_back(absl::StrFormat("%s@%d", FormatValue(points[i].v), points[i].t));
  }
  if (points.size() > 2 * kMaxListed) parts.push_back("...");
  return absl::StrFormat("[%s]", absl::StrJoin(parts, " "));
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

std::string CheckSorted(const Matrix& m) {
  for (size_t i = 1; i < m.size(); ++i) {
    if (LabelsLess(m[i].labels, m[i - 1].labels)) {
      return absl::StrFormat("the range result is not sorted by label set: %s comes before %s",
                             LabelsToString(m[i - 1].labels), LabelsToString(m[i].labels));
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

// README section 4.3 item 2: whether the range-mode cross-check applies to `e`.
bool CrossCheckApplies(const EvalCommand& e) {
  if (e.is_range || e.expects_failure() || e.ordered() || e.expect_range_vector ||
      e.expect_string) {
    return false;
  }
  for (std::string_view f : {"start()", "end()", "range()", "step()"}) {
    if (e.query.find(f) != std::string::npos) return false;
  }
  return true;
}

// Runs `query` as a range query around `t` and compares its points at `t` with `e`'s
// expectations.
std::string CrossCheck(const EvalCommand& e, const std::string& query, int64_t t,
                       QueryEngine& engine, ValueType instant_type) {
  absl::StatusOr<QueryResult> r =
      engine.RangeQuery(query, t - kCrossCheckMs, t + kCrossCheckMs, kCrossCheckMs);
  if (!r.ok()) return absl::StrCat("unexpected error: ", StatusText(r.status()));
  if (r->value.type != ValueType::kMatrix) {
    return absl::StrCat("a range query must return a range vector, got ", DescribeValue(r->value));
  }
  const Matrix& m = r->value.matrix;
  if (std::string sorted = CheckSorted(m); !sorted.empty()) return sorted;
  Value at_t;
  at_t.type = ValueType::kVector;
  for (const MatrixSeries& s : m) {
    for (const query::Point& p : s.points) {
      if (p.t == t) {
        at_t.vector.push_back({s.labels, p.t, p.v});
        break;
      }
    }
  }
  if (instant_type == ValueType::kScalar) {
    if (at_t.vector.size() != 1) {
      return absl::StrFormat("a scalar query gave %d series with a point at t=%d, want 1",
                             at_t.vector.size(), t);
    }
    at_t.type = ValueType::kScalar;
    at_t.scalar = at_t.vector[0].v;
    at_t.t = t;
    at_t.vector.clear();
  }
  return CompareValue(e, at_t);
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

std::string CheckAnnotations(const EvalCommand& e, const query::Annotations& a) {
  std::string warn = CheckNotes(e, ExpectKind::kWarn, ExpectKind::kNoWarn,
                                "PromQL warning: ", "warning", "warn", a.warnings);
  std::string info = CheckNotes(e, ExpectKind::kInfo, ExpectKind::kNoInfo, "PromQL info: ", "info",
                                "info", a.infos);
  if (!warn.empty() && !info.empty()) return absl::StrCat(warn, "; ", info);
  return warn.empty() ? info : warn;
}

// True if `query` holds `name` as a whole identifier (not part of a longer name).
bool NamesIdentifier(std::string_view query, std::string_view name) {
  const auto ident = [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':';
  };
  for (size_t pos = query.find(name); pos != std::string_view::npos;
       pos = query.find(name, pos + 1)) {
    const size_t end = pos + name.size();
    if ((pos == 0 || !ident(query[pos - 1])) && (end == query.size() || !ident(query[end]))) {
      return true;
    }
  }
  return false;
}

bool HasTag(const std::vector<std::string>& tags, std::string_view tag) {
  return std::find(tags.begin(), tags.end(), tag) != tags.end();
}

// A fresh Db per `clear`, each in its own subdirectory of one temporary directory.
class ScratchDb {
 public:
  ScratchDb() = default;
  ScratchDb(const ScratchDb&) = delete;
  ScratchDb& operator=(const ScratchDb&) = delete;
  ~ScratchDb() {
    CloseCurrent();
    if (!root_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(root_, ec);
    }
  }

  absl::Status Init(const std::string& temp_root) {
    std::error_code ec;
    const std::filesystem::path base = temp_root.empty() ? std::filesystem::temp_directory_path(ec)
                                                         : std::filesystem::path(temp_root);
    if (ec) return absl::InternalError(absl::StrCat("no temp directory: ", ec.message()));
    std::string tmpl = (base / "ember-promqltest-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) {
      return absl::InternalError(absl::StrCat("mkdtemp ", tmpl, " failed"));
    }
    root_ = tmpl;
    return Reset();
  }

  // Replaces the Db with an empty one.
  absl::Status Reset() {
    CloseCurrent();
    dir_ = (root_ / absl::StrCat("db-", generation_++)).string();
    absl::StatusOr<std::unique_ptr<Db>> db = Db::Open(ConformanceDbOptions(), dir_);
    if (!db.ok()) {
      return absl::Status(db.status().code(),
                          absl::StrCat("open Db in ", dir_, ": ", db.status().message()));
    }
    db_ = std::move(*db);
    return absl::OkStatus();
  }

  Db* db() const { return db_.get(); }

 private:
  void CloseCurrent() {
    if (db_ != nullptr) {
      db_->Close().IgnoreError();
      db_.reset();
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }

  std::filesystem::path root_;
  std::string dir_;
  int generation_ = 0;
  std::unique_ptr<Db> db_;
};

// Names the loads since the last `clear` gave data Ember does not store, for evals the index
// does not tag.
struct UnstoredNames {
  std::set<std::string> histograms;        // Series with {{...}} values.
  std::set<std::string> nhcb;              // Base names of load_with_nhcb classic histograms.
  std::set<std::string> start_timestamps;  // Series with @st data.

  void Add(const LoadCommand& load) {
    for (const SeriesLine& s : load.series) {
      const std::string name(GetLabelValue(s.labels, kMetricNameLabel));
      if (name.empty()) continue;
      if (s.has_histograms()) histograms.insert(name);
      if (!s.start_offsets_ms.empty()) start_timestamps.insert(name);
      if (load.with_nhcb) {
        for (absl::string_view suffix : {"_bucket", "_count", "_sum"}) {
          if (absl::EndsWith(name, suffix)) {
            nhcb.insert(name.substr(0, name.size() - suffix.size()));
          }
        }
      }
    }
  }

  // Why `query` must be skipped under `skip_tags`, or "".
  std::string Reason(std::string_view query, const std::vector<std::string>& skip_tags) const {
    const auto named = [&](const std::set<std::string>& names) -> std::string {
      for (const std::string& n : names) {
        if (NamesIdentifier(query, n)) return n;
      }
      return "";
    };
    if (HasTag(skip_tags, "nh")) {
      if (std::string n = named(histograms); !n.empty()) {
        return absl::StrCat("reads native histogram series ", n);
      }
    }
    if (HasTag(skip_tags, "nhcb")) {
      if (std::string n = named(nhcb); !n.empty()) {
        return absl::StrCat("reads custom-bucket histogram ", n, " (load_with_nhcb)");
      }
    }
    if (HasTag(skip_tags, "start_ts")) {
      if (std::string n = named(start_timestamps); !n.empty()) {
        return absl::StrCat("reads series ", n, " loaded with start timestamps (@st)");
      }
    }
    return "";
  }
};

// Why the runner skips `e`, or "".
std::string SkipReason(const EvalCommand& e, std::string_view file, const RunOptions& options,
                       const UnstoredNames& unstored) {
  if (e.has_histograms()) return "expects native histogram values";
  const IndexEntry* entry = options.index ? options.index->Find(file, e.line) : nullptr;
  if (entry == nullptr) return unstored.Reason(e.query, options.skip_tags);
  if (options.core_only && entry->tier == Tier::kLater) return "later tier";
  for (const std::string& tag : entry->tags) {
    if (HasTag(options.skip_tags, tag)) return absl::StrCat("tag ", tag);
  }
  return "";
}

// The result of an eval the runner did not check.
EvalResult NotRun(const EvalCommand& e, const std::string& file, EvalStatus status,
                  std::string message) {
  EvalResult r;
  r.file = file;
  r.line = e.line;
  r.query = e.query;
  r.is_range = e.is_range;
  r.status = status;
  r.message = std::move(message);
  return r;
}

// The value parts of one run of an eval's query (README sections 4.1, 4.3 item 2, 4.5).
struct RunParts {
  bool values_ok = true;
  bool cross_check_ok = true;
  bool error_text_ok = true;
  std::vector<std::string> problems;

  bool ok() const { return values_ok && cross_check_ok && error_text_ok; }
};

// Checks `got`, the result of `query` (the eval's own or its @-pinned form) at `t`.
void CheckRun(const EvalCommand& e, const std::string& query, int64_t t,
              const absl::StatusOr<QueryResult>& got, QueryEngine& engine,
              const RunOptions& options, RunParts* parts) {
  if (const Expectation* fail = e.fail(); fail != nullptr) {
    if (got.ok()) {
      parts->values_ok = false;
      parts->problems.push_back(absl::StrCat("expected an error, got ", DescribeValue(got->value)));
    } else if (options.check_error_text) {
      const std::string text(got.status().message());
      std::string error;
      if (!Matches(*fail, text, &error)) {
        parts->error_text_ok = false;
        parts->problems.push_back(!error.empty()
                                      ? error
                                      : absl::StrFormat("error text: expected %s, got \"%s\"",
                                                        DescribeExpectation(*fail), text));
      }
    }
    return;
  }
  if (!got.ok()) {
    parts->values_ok = false;
    parts->problems.push_back(absl::StrCat("unexpected error: ", StatusText(got.status())));
    return;
  }
  if (std::string diff = CompareValue(e, got->value); !diff.empty()) {
    parts->values_ok = false;
    parts->problems.push_back(diff);
    return;
  }
  if (options.check_cross_range && CrossCheckApplies(e) && got->value.type != ValueType::kMatrix) {
    if (std::string diff = CrossCheck(e, query, t, engine, got->value.type); !diff.empty()) {
      parts->cross_check_ok = false;
      parts->problems.push_back(absl::StrCat(
          "range-mode cross-check (range from t-1m to t+1m step 1m, points at t): ", diff));
    }
  }
}

// Functions whose result depends on the evaluation time even with step-invariant arguments:
// the @-pinning pass skips queries that call them (README section 4.3 item 1).
bool TimeDependentFunction(std::string_view name) {
  static constexpr std::string_view kNames[] = {
      "time",         "timestamp",   "predict_linear", "hour",          "minute", "month", "year",
      "day_of_month", "day_of_week", "day_of_year",    "days_in_month", "start",  "end",   "range",
      "step"};
  return std::find(std::begin(kNames), std::end(kNames), name) != std::end(kNames);
}

// Gives every selector and subquery outside a subquery, that has no `@ <time>`, `@ t_ms`, as
// promqltest does: `@ start()`/`@ end()` become `@ t` too (they are t in an instant query), and
// nothing below a subquery changes (the subquery itself is pinned, which fixes its inside).
void PinSelectors(query::Expr& e, int64_t t_ms, bool* time_dependent) {
  using query::AtModifier;
  using query::ExprKind;
  switch (e.kind) {
    case ExprKind::kNumberLiteral:
    case ExprKind::kStringLiteral:
      return;
    case ExprKind::kVectorSelector: {
      auto& vs = e.As<query::VectorSelector>();
      if (vs.at != AtModifier::kTimestamp) {
        vs.at = AtModifier::kTimestamp;
        vs.at_ms = t_ms;
      }
      return;
    }
    case ExprKind::kMatrixSelector:
      PinSelectors(*e.As<query::MatrixSelector>().selector, t_ms, time_dependent);
      return;
    case ExprKind::kSubquery: {
      auto& sq = e.As<query::SubqueryExpr>();
      if (sq.at != AtModifier::kTimestamp) {
        sq.at = AtModifier::kTimestamp;
        sq.at_ms = t_ms;
      }
      return;
    }
    case ExprKind::kParen:
      PinSelectors(*e.As<query::ParenExpr>().expr, t_ms, time_dependent);
      return;
    case ExprKind::kUnary:
      PinSelectors(*e.As<query::UnaryExpr>().expr, t_ms, time_dependent);
      return;
    case ExprKind::kBinary: {
      auto& b = e.As<query::BinaryExpr>();
      PinSelectors(*b.lhs, t_ms, time_dependent);
      PinSelectors(*b.rhs, t_ms, time_dependent);
      return;
    }
    case ExprKind::kAggregate: {
      auto& a = e.As<query::AggregateExpr>();
      if (a.param != nullptr) PinSelectors(*a.param, t_ms, time_dependent);
      PinSelectors(*a.expr, t_ms, time_dependent);
      return;
    }
    case ExprKind::kCall: {
      auto& c = e.As<query::Call>();
      if (c.func != nullptr && TimeDependentFunction(c.func->name)) *time_dependent = true;
      for (query::ExprPtr& arg : c.args) PinSelectors(*arg, t_ms, time_dependent);
      return;
    }
  }
}

}  // namespace

std::string_view EvalStatusName(EvalStatus s) {
  switch (s) {
    case EvalStatus::kPass:
      return "PASS";
    case EvalStatus::kFail:
      return "FAIL";
    case EvalStatus::kSkip:
      return "SKIP";
  }
  return "?";
}

std::string EvalResult::key() const { return absl::StrCat(file, ":", line); }

std::string EvalResult::ToString() const {
  std::string out = absl::StrCat(key(), " ", Av(EvalStatusName(status)));
  if (status == EvalStatus::kPass) return out;
  if (status == EvalStatus::kSkip) return absl::StrCat(out, " (", message, ")");
  // The message starts with "file:line: eval ..."; print that line once.
  const std::string prefix = absl::StrCat(key(), ": ");
  if (absl::StartsWith(message, prefix))
    return absl::StrCat(out, " ", message.substr(prefix.size()));
  return absl::StrCat(out, " ", message);
}

int FileReport::passed() const {
  return static_cast<int>(std::count_if(evals.begin(), evals.end(), [](const EvalResult& r) {
    return r.status == EvalStatus::kPass;
  }));
}

int FileReport::failed() const {
  return (error.empty() ? 0 : 1) +
         static_cast<int>(std::count_if(evals.begin(), evals.end(), [](const EvalResult& r) {
           return r.status == EvalStatus::kFail;
         }));
}

int FileReport::skipped() const {
  return static_cast<int>(std::count_if(evals.begin(), evals.end(), [](const EvalResult& r) {
    return r.status == EvalStatus::kSkip;
  }));
}

int FileReport::values_passed() const {
  return static_cast<int>(std::count_if(evals.begin(), evals.end(), [](const EvalResult& r) {
    return r.status != EvalStatus::kSkip && r.values_ok;
  }));
}

std::string FileReport::Summary() const {
  std::string out =
      absl::StrFormat("%s: %d passed, %d failed, %d skipped", file, passed(), failed(), skipped());
  if (values_passed() != passed()) {
    absl::StrAppend(&out, " (", values_passed(), " pass on values alone)");
  }
  if (!error.empty()) absl::StrAppend(&out, " [", error, "]");
  return out;
}

EvalResult CheckEval(const EvalCommand& eval, std::string_view file, QueryEngine& engine,
                     const RunOptions& options) {
  // An empty label value means "no such label" in Ember's storage and in PromQL, so expected
  // label sets are compared without them (`__unit__=""` in type_and_unit.test); a result that
  // carries one still fails.
  EvalCommand e = eval;
  for (SeriesLine& s : e.expect_series) CanonicalizeLabels(&s.labels);
  EvalResult r;
  r.file = std::string(file);
  r.line = e.line;
  r.query = e.query;
  r.is_range = e.is_range;
  r.values_ok = r.cross_check_ok = r.pinned_ok = r.error_text_ok = r.annotations_ok = true;
  std::vector<std::string> problems;

  const absl::StatusOr<QueryResult> got =
      e.is_range ? engine.RangeQuery(e.query, e.start_ms, e.end_ms, e.step_ms)
                 : engine.InstantQuery(e.query, e.eval_time_ms());
  RunParts main;
  CheckRun(e, e.query, e.eval_time_ms(), got, engine, options, &main);
  r.values_ok = main.values_ok;
  r.cross_check_ok = main.cross_check_ok;
  r.error_text_ok = main.error_text_ok;
  problems = std::move(main.problems);
  if (got.ok() && options.check_annotations) {
    if (std::string diff = CheckAnnotations(e, got->annotations); !diff.empty()) {
      r.annotations_ok = false;
      problems.push_back(absl::StrCat("annotations: ", diff));
    }
  }
  // README section 4.3 item 1, once the query as written holds.
  std::optional<std::string> pinned;
  if (!e.is_range && options.check_at_pinning && main.ok()) {
    pinned = PinToEvalTime(e.query, e.eval_time_ms());
  }
  if (pinned) {
    for (const int64_t t : PinnedEvalTimes(e.eval_time_ms())) {
      RunParts rerun;
      CheckRun(e, *pinned, t, engine.InstantQuery(*pinned, t), engine, options, &rerun);
      if (!rerun.ok()) {
        r.pinned_ok = false;
        problems.push_back(absl::StrFormat("@-pinned re-run `%s` at t=%d: %s", *pinned, t,
                                           absl::StrJoin(rerun.problems, "; ")));
        break;  // The first failing re-run says enough.
      }
    }
  }
  r.status = r.passed() ? EvalStatus::kPass : EvalStatus::kFail;
  if (r.status == EvalStatus::kFail) {
    r.message = absl::StrFormat("%s:%d: %s\n  %s", file, e.line, EvalHeader(e),
                                absl::StrJoin(problems, "\n  "));
  }
  return r;
}

std::vector<int64_t> PinnedEvalTimes(int64_t t_ms) {
  if (t_ms == 0) return {-1000, 0, 1000};
  return {-10 * t_ms, 0, t_ms / 5, t_ms, 10 * t_ms};
}

std::optional<std::string> PinToEvalTime(std::string_view query, int64_t t_ms) {
  absl::StatusOr<query::ExprPtr> expr = query::ParseExpr(query);
  if (!expr.ok()) return std::nullopt;
  bool time_dependent = false;
  PinSelectors(**expr, t_ms, &time_dependent);
  if (time_dependent) return std::nullopt;
  return query::ToString(**expr);
}

FileReport RunScript(const Script& script, const EngineFactory& make_engine,
                     const RunOptions& options) {
  FileReport report;
  report.file = script.file_name;
  ScratchDb scratch;
  if (absl::Status s = scratch.Init(options.temp_root); !s.ok()) {
    report.error = std::string(s.message());
    return report;
  }
  std::unique_ptr<QueryEngine> engine = make_engine(scratch.db());
  UnstoredNames unstored;
  std::string load_error;  // Set by a failed load; cleared by `clear`.
  for (const Command& c : script.commands) {
    if (std::holds_alternative<ClearCommand>(c)) {
      engine.reset();  // Before its Db goes.
      if (absl::Status s = scratch.Reset(); !s.ok()) {
        report.error =
            absl::StrFormat("line %d: clear: %s", std::get<ClearCommand>(c).line, s.message());
        report.evals.clear();
        return report;
      }
      engine = make_engine(scratch.db());
      unstored = UnstoredNames();
      load_error.clear();
    } else if (const auto* load = std::get_if<LoadCommand>(&c)) {
      unstored.Add(*load);
      if (absl::Status s = LoadInto(*load, scratch.db()); !s.ok() && load_error.empty()) {
        load_error = absl::StrFormat("load at line %d failed: %s", load->line, s.message());
      }
    } else {
      const EvalCommand& e = std::get<EvalCommand>(c);
      if (std::string why = SkipReason(e, script.file_name, options, unstored); !why.empty()) {
        report.evals.push_back(NotRun(e, script.file_name, EvalStatus::kSkip, why));
      } else if (!load_error.empty() || engine == nullptr) {
        const std::string why = engine == nullptr ? "no engine" : load_error;
        report.evals.push_back(NotRun(e, script.file_name, EvalStatus::kFail,
                                      absl::StrFormat("%s:%d: %s\n  not run: %s", script.file_name,
                                                      e.line, EvalHeader(e), why)));
      } else {
        report.evals.push_back(CheckEval(e, script.file_name, *engine, options));
      }
    }
  }
  engine.reset();
  return report;
}

FileReport RunScriptFile(const std::string& path, const EngineFactory& make_engine,
                         const RunOptions& options) {
  absl::StatusOr<Script> script = ParseScriptFile(path);
  if (!script.ok()) {
    FileReport report;
    report.file = std::filesystem::path(path).filename().string();
    report.error = std::string(script.status().message());
    return report;
  }
  return RunScript(*script, make_engine, options);
}

std::string TotalLine(const std::vector<FileReport>& reports) {
  int passed = 0, failed = 0, skipped = 0;
  for (const FileReport& r : reports) {
    passed += r.passed();
    failed += r.failed();
    skipped += r.skipped();
  }
  std::string out = absl::StrFormat("conformance: %d passed, %d failed", passed, failed);
  if (skipped > 0) absl::StrAppend(&out, ", ", skipped, " skipped");
  return out;
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
