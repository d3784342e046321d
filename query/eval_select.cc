// Evaluator: selectors (read through the storage::Querier once per selector for the whole query
// range), subqueries and the loading of range-vector arguments.
#include <algorithm>
#include <span>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ember/sample.h"
#include "query/eval.h"
#include "storage/matcher.h"
#include "storage/querier.h"
#include "util/status_macros.h"

namespace ember::query {

absl::Status Evaluator::StreamSeries(const VectorSelector& vs, int64_t mint, int64_t maxt,
                                     bool drop_stale, int64_t* loaded, const SeriesFn& fn) {
  if (mint > maxt) return absl::OkStatus();
  std::span<const storage::CompiledMatcher> matchers = vs.compiled_matchers;
  std::vector<storage::CompiledMatcher> compiled;  // For a selector the parser did not make.
  if (matchers.size() != vs.matchers.size()) {
    EMBER_ASSIGN_OR_RETURN(compiled, storage::CompileMatchers(vs.matchers));
    matchers = compiled;
  }
  EMBER_ASSIGN_OR_RETURN(std::unique_ptr<storage::SeriesSet> set,
                         ctx_->querier->Select(matchers, mint, maxt));
  // Series come sorted by labels; each one's chunks are decoded only here, as its samples are
  // copied into accounted memory. `es.points` is reused from series to series unless `fn`
  // takes it.
  EvalSeries es;
  std::vector<Sample> samples;  // One series' samples as read, reused.
  absl::Status status = [&]() -> absl::Status {
    while (set->Next()) {
      EMBER_RETURN_IF_ERROR(ctx_->Check());
      samples.clear();
      EMBER_RETURN_IF_ERROR(set->ReadSamples(&samples));
      if (samples.empty()) continue;  // No sample in range: its partitions hold others only.
      es.points.clear();
      es.drop_name = false;
      int64_t n = 0;
      for (const Sample& smp : samples) n += !(drop_stale && IsStaleNaN(smp.v));
      EMBER_RETURN_IF_ERROR(ctx_->AddSamples(n));
      *loaded += n;
      EMBER_RETURN_IF_ERROR(ctx_->Reserve(&es.points, static_cast<size_t>(n)));
      for (const Sample& smp : samples) {
        if (!(drop_stale && IsStaleNaN(smp.v))) es.points.push_back({smp.t, smp.v});
      }
      if (es.points.empty()) continue;
      es.labels = std::move(set->labels());
      EMBER_RETURN_IF_ERROR(ctx_->Charge(LabelsBytes(es.labels)));
      EMBER_RETURN_IF_ERROR(fn(es));
    }
    return set->status();
  }();
  ctx_->Release(static_cast<int64_t>(es.points.capacity() * sizeof(Point)));
  return status;
}

absl::StatusOr<SeriesList> Evaluator::LoadSeries(const VectorSelector& vs, int64_t mint,
                                                 int64_t maxt, bool drop_stale, int64_t* loaded) {
  SeriesList out;
  EMBER_RETURN_IF_ERROR(
      StreamSeries(vs, mint, maxt, drop_stale, loaded, [&](EvalSeries& s) -> absl::Status {
        out.push_back(std::move(s));
        s = EvalSeries();
        return absl::OkStatus();
      }));
  SortByLabels(&out);
  return out;
}

void SortByLabels(SeriesList* list) {
  const auto less = [](const EvalSeries& a, const EvalSeries& b) {
    return LabelsLess(a.labels, b.labels);
  };
  // A Querier gives its series sorted already: checking costs one comparison per series.
  if (!std::is_sorted(list->begin(), list->end(), less))
    std::sort(list->begin(), list->end(), less);
}

absl::StatusOr<EvalResult> Evaluator::EvalVectorSelector(const VectorSelector& vs,
                                                         bool sample_time) {
  const int64_t lookback = ctx_->options->lookback_delta_ms;
  const int64_t first_ref = AtTime(vs.at, vs.at_ms, start_) - vs.offset_ms;
  const int64_t last_ref = AtTime(vs.at, vs.at_ms, end_) - vs.offset_ms;
  int64_t loaded = 0;
  EMBER_ASSIGN_OR_RETURN(SeriesList series,
                         LoadSeries(vs, first_ref - lookback + 1, last_ref, false, &loaded));
  EvalResult r;
  r.type = ValueType::kVector;
  for (EvalSeries& s : series) {
    EvalSeries o;
    o.labels = std::move(s.labels);
    size_t hi = 0;
    const std::vector<Point>& pts = s.points;
    for (int64_t ts = start_; ts <= end_; ts += interval_) {
      EMBER_RETURN_IF_ERROR(ctx_->CheckSometimes());
      const int64_t ref = AtTime(vs.at, vs.at_ms, ts) - vs.offset_ms;
      while (hi < pts.size() && pts[hi].t <= ref) ++hi;
      if (hi == 0) continue;
      const Point& p = pts[hi - 1];
      if (p.t <= ref - lookback || IsStaleNaN(p.v)) continue;
      EMBER_RETURN_IF_ERROR(
          ctx_->Push(&o.points, {ts, sample_time ? static_cast<double>(p.t) / 1000.0 : p.v}));
    }
    if (!o.points.empty()) r.series.push_back(std::move(o));
  }
  ctx_->ReleaseSamples(loaded);
  ctx_->Release(PointBytes(series));
  return r;
}

int64_t Evaluator::WindowEnd(const RangeArg& a, int64_t ts) const {
  return AtTime(a.at, a.at_ms, ts) - a.offset_ms;
}

absl::StatusOr<SeriesList> Evaluator::EvalSubqueryPoints(const SubqueryExpr& sq, int64_t* loaded) {
  const int64_t step = sq.step_ms > 0 ? sq.step_ms : ctx_->options->default_subquery_step_ms;
  if (step <= 0) return absl::InvalidArgumentError("subquery step must be positive");
  const int64_t base_start = AtTime(sq.at, sq.at_ms, start_) - sq.offset_ms;
  const int64_t base_end = AtTime(sq.at, sq.at_ms, end_) - sq.offset_ms;
  const int64_t lo = base_start - sq.range_ms;
  int64_t inner_start = step * (lo / step);
  if (inner_start <= lo) inner_start += step;
  if (inner_start > base_end) return SeriesList{};
  // Every step of the inner evaluation holds at least a point per series: more steps than
  // max_samples can never fit, so fail before allocating per-step buffers.
  if ((base_end - inner_start) / step + 1 > ctx_->options->max_samples) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "query processing would load too many samples into memory in subquery evaluation: ",
        (base_end - inner_start) / step + 1, " steps (max_samples=", ctx_->options->max_samples,
        ")"));
  }
  EMBER_RETURN_IF_ERROR(ctx_->Check());
  Evaluator inner(ctx_, inner_start, base_end, step);
  EMBER_ASSIGN_OR_RETURN(EvalResult r, inner.Eval(*sq.expr));
  if (r.type != ValueType::kVector && r.type != ValueType::kScalar) {
    return absl::InvalidArgumentError("subquery expression must be a scalar or instant vector");
  }
  int64_t n = 0;
  for (const EvalSeries& s : r.series) n += static_cast<int64_t>(s.points.size());
  EMBER_RETURN_IF_ERROR(ctx_->AddSamples(n));
  *loaded += n;
  return std::move(r.series);
}

Evaluator::RangeArg Evaluator::MatrixArg(const MatrixSelector& ms) const {
  RangeArg a;
  a.range_ms = ms.range_ms;
  a.offset_ms = ms.selector->offset_ms;
  a.at = ms.selector->at;
  a.at_ms = ms.selector->at_ms;
  return a;
}

absl::Status Evaluator::StreamMatrix(const MatrixSelector& ms, int64_t* loaded,
                                     const SeriesFn& fn) {
  const RangeArg a = MatrixArg(ms);
  return StreamSeries(*ms.selector, WindowEnd(a, start_) - a.range_ms + 1, WindowEnd(a, end_), true,
                      loaded, fn);
}

absl::StatusOr<Evaluator::RangeArg> Evaluator::LoadRangeArg(const Expr& expr) {
  const Expr& e = Unparen(expr);
  RangeArg a;
  if (e.kind == ExprKind::kMatrixSelector) {
    const MatrixSelector& ms = e.As<MatrixSelector>();
    a = MatrixArg(ms);
    EMBER_ASSIGN_OR_RETURN(a.series, LoadSeries(*ms.selector, WindowEnd(a, start_) - a.range_ms + 1,
                                                WindowEnd(a, end_), true, &a.loaded));
    return a;
  }
  if (e.kind == ExprKind::kSubquery) {
    const SubqueryExpr& sq = e.As<SubqueryExpr>();
    a.range_ms = sq.range_ms;
    a.offset_ms = sq.offset_ms;
    a.at = sq.at;
    a.at_ms = sq.at_ms;
    EMBER_ASSIGN_OR_RETURN(a.series, EvalSubqueryPoints(sq, &a.loaded));
    return a;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("expected a range vector, got ", std::string(ValueTypeName(e.type()))));
}

absl::StatusOr<SeriesList> Evaluator::EvalRangeVectorAt(const Expr& e) {
  EMBER_ASSIGN_OR_RETURN(RangeArg a, LoadRangeArg(e));
  const int64_t wend = WindowEnd(a, start_);
  const int64_t wstart = wend - a.range_ms;
  SeriesList out;
  for (EvalSeries& s : a.series) {
    EvalSeries o;
    o.labels = std::move(s.labels);
    o.drop_name = s.drop_name;
    for (const Point& p : s.points) {
      if (p.t > wstart && p.t <= wend) EMBER_RETURN_IF_ERROR(ctx_->Push(&o.points, p));
    }
    if (!o.points.empty()) out.push_back(std::move(o));
  }
  SortByLabels(&out);
  return out;
}

}  // namespace ember::query
