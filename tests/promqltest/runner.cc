// Runs promqltest scripts against a query engine: evals, the range-mode cross-check, the
// @-pinning pass, and per-file reports (README section 4). Result comparison is in compare.cc.
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
#include "tests/promqltest/compare.h"
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

}  // namespace ember::promqltest
