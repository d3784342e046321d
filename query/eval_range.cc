// Evaluator: range-vector functions (rate, *_over_time, ...) over windows that slide across the
// loaded samples, and the dispatch of calls.
#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ember/sample.h"
#include "query/eval.h"
#include "query/functions/functions.h"
#include "query/functions/signatures.h"
#include "util/status_macros.h"

namespace ember::query {

namespace {

bool KeepsName(FunctionId id) {
  return id == FunctionId::kLastOverTime || id == FunctionId::kFirstOverTime;
}

bool IsCounterName(std::string_view name) {
  for (std::string_view suffix : {"_total", "_sum", "_count", "_bucket"}) {
    if (name.size() >= suffix.size() && name.substr(name.size() - suffix.size()) == suffix) {
      return true;
    }
  }
  return false;
}

std::string FormatG(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return absl::StrFormat("%g", v);
}

// Go's fmt %f.
std::string FormatF(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return absl::StrFormat("%f", v);
}

// double_exponential_smoothing's factors, checked (as Prometheus does) only once a window has
// samples: InvalidArgument unless 0 < factor < 1 (NaN passes).
absl::Status CheckSmoothingFactors(double sf, double tf) {
  if (sf <= 0 || sf >= 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid smoothing factor. Expected: 0 < sf < 1, got: ", FormatF(sf)));
  }
  if (tf <= 0 || tf >= 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid trend factor. Expected: 0 < tf < 1, got: ", FormatF(tf)));
  }
  return absl::OkStatus();
}

}  // namespace

size_t Evaluator::OutputBound(const RangeArg& a, const std::vector<Point>& pts) const {
  if (pts.empty()) return 0;
  const int64_t steps = num_steps();
  if (a.at != AtModifier::kNone) return static_cast<size_t>(steps);
  // Steps whose window (ts - offset - range, ts - offset] can hold one of the points.
  const int64_t lo = std::max(start_, pts.front().t + a.offset_ms);
  const int64_t hi = std::min(end_, pts.back().t + a.offset_ms + a.range_ms - 1);
  if (hi < lo) return 0;
  const int64_t n = (hi - start_) / interval_ - (lo - start_ + interval_ - 1) / interval_ + 1;
  return static_cast<size_t>(std::clamp<int64_t>(n, 0, steps));
}

absl::StatusOr<EvalResult> Evaluator::EvalRangeFunction(const Call& e, int matrix_arg) {
  const FunctionId id = e.func->id;
  // Scalar parameters, evaluated over all steps first.
  std::vector<EvalResult> params;
  for (size_t i = 0; i < e.args.size(); ++i) {
    if (static_cast<int>(i) == matrix_arg) continue;
    EMBER_ASSIGN_OR_RETURN(EvalResult p, Eval(*e.args[i]));
    params.push_back(std::move(p));
  }
  auto param_at = [&](size_t k, int64_t step_index) -> double {
    if (k >= params.size() || params[k].series.empty()) return 0;
    const std::vector<Point>& pts = params[k].series[0].points;
    return step_index < static_cast<int64_t>(pts.size()) ? pts[step_index].v : 0;
  };
  const Expr& matrix = Unparen(*e.args[matrix_arg]);
  // A matrix selector's series are streamed one at a time through the window function below
  // (only one series' samples held at once); absent_over_time and subqueries load them all.
  const bool stream = matrix.kind == ExprKind::kMatrixSelector && id != FunctionId::kAbsentOverTime;
  RangeArg arg;
  if (stream) {
    arg = MatrixArg(matrix.As<MatrixSelector>());
  } else {
    EMBER_ASSIGN_OR_RETURN(arg, LoadRangeArg(*e.args[matrix_arg]));
  }
  const int64_t steps = num_steps();
  EvalResult r;
  r.type = ValueType::kVector;

  if (id == FunctionId::kQuantileOverTime) {
    for (int64_t i = 0; i < steps; ++i) {
      const double q = param_at(0, i);
      if (!(q >= 0 && q <= 1)) {
        ctx_->Warn(absl::StrCat("quantile value should be between 0 and 1, got ", FormatG(q)),
                   e.args[0]->pos);
        break;
      }
    }
  }

  if (id == FunctionId::kAbsentOverTime) {
    std::vector<bool> present(steps, false);
    for (const EvalSeries& s : arg.series) {
      size_t lo = 0;
      size_t hi = 0;
      for (int64_t i = 0; i < steps; ++i) {
        const int64_t wend = WindowEnd(arg, start_ + i * interval_);
        while (hi < s.points.size() && s.points[hi].t <= wend) ++hi;
        while (lo < hi && s.points[lo].t <= wend - arg.range_ms) ++lo;
        if (lo < hi) present[i] = true;
      }
    }
    EvalSeries o;
    o.labels = AbsentLabels(Unparen(*e.args[matrix_arg]));
    for (int64_t i = 0; i < steps; ++i) {
      if (!present[i]) EMBER_RETURN_IF_ERROR(ctx_->Push(&o.points, {start_ + i * interval_, 1}));
    }
    if (!o.points.empty()) r.series.push_back(std::move(o));
    ctx_->ReleaseSamples(arg.loaded);
    ctx_->Release(PointBytes(arg.series));
    return r;
  }

  WindowFn fn = RateWindowFn(id);
  if (fn == nullptr) fn = OverTimeWindowFn(id);
  if (fn == nullptr) fn = MiscWindowFn(id);
  if (fn == nullptr) {
    return absl::UnimplementedError(
        absl::StrCat("function ", std::string(e.func->name), " is not supported"));
  }
  const bool counter_fn = id == FunctionId::kRate || id == FunctionId::kIncrease;
  // Positions of the p0/p1 parameters among `params`.
  const auto eval_series = [&](EvalSeries& s) -> absl::Status {
    EvalSeries o;
    size_t lo = 0;
    size_t hi = 0;
    const std::vector<Point>& pts = s.points;
    EMBER_RETURN_IF_ERROR(ctx_->Reserve(&o.points, OutputBound(arg, pts)));
    for (int64_t i = 0; i < steps; ++i) {
      const int64_t ts = start_ + i * interval_;
      const int64_t wend = WindowEnd(arg, ts);
      const int64_t wstart = wend - arg.range_ms;
      while (hi < pts.size() && pts[hi].t <= wend) ++hi;
      while (lo < hi && pts[lo].t <= wstart) ++lo;
      EMBER_RETURN_IF_ERROR(ctx_->CheckWork(static_cast<int64_t>(hi - lo) + 1));
      if (lo == hi) continue;
      WindowInput in;
      in.points = std::span<const Point>(pts.data() + lo, hi - lo);
      in.range_start_ms = wstart;
      in.range_end_ms = wend;
      in.eval_ms = ts;
      in.p0 = param_at(0, i);
      in.p1 = param_at(1, i);
      if (id == FunctionId::kDoubleExponentialSmoothing) {
        EMBER_RETURN_IF_ERROR(CheckSmoothingFactors(in.p0, in.p1));
      }
      double v = 0;
      if (fn(in, &v)) EMBER_RETURN_IF_ERROR(ctx_->Push(&o.points, {ts, v}));
    }
    if (o.points.empty()) {
      ctx_->Release(static_cast<int64_t>(o.points.capacity() * sizeof(Point)));
      return absl::OkStatus();
    }
    EMBER_RETURN_IF_ERROR(ctx_->Charge(LabelsBytes(s.labels)));
    if (counter_fn) {
      const std::string_view name = GetLabelValue(s.labels, kMetricNameLabel);
      if (!name.empty() && !IsCounterName(name)) {
        ctx_->Info(absl::StrCat("metric might not be a counter, name does not end in "
                                "_total/_sum/_count/_bucket: \"",
                                std::string(name), "\""),
                   e.args[matrix_arg]->pos);
      }
    }
    o.labels = std::move(s.labels);
    o.drop_name = s.drop_name || !KeepsName(id);
    r.series.push_back(std::move(o));
    return absl::OkStatus();
  };
  if (stream) {
    EMBER_RETURN_IF_ERROR(StreamMatrix(matrix.As<MatrixSelector>(), &arg.loaded, eval_series));
    SortByLabels(&r.series);
  } else {
    for (EvalSeries& s : arg.series) EMBER_RETURN_IF_ERROR(eval_series(s));
  }
  ctx_->ReleaseSamples(arg.loaded);
  ctx_->Release(PointBytes(arg.series));
  return r;
}

absl::StatusOr<EvalResult> Evaluator::EvalCall(const Call& e) {
  const FunctionId id = e.func->id;
  for (size_t i = 0; i < e.args.size(); ++i) {
    const ExprKind k = Unparen(*e.args[i]).kind;
    if (k == ExprKind::kMatrixSelector || k == ExprKind::kSubquery) {
      return EvalRangeFunction(e, static_cast<int>(i));
    }
  }
  if (id == FunctionId::kTimestamp) {
    const Expr& a = Unparen(*e.args[0]);
    if (a.kind == ExprKind::kVectorSelector) {
      EMBER_ASSIGN_OR_RETURN(EvalResult r, EvalVectorSelector(a.As<VectorSelector>(), true));
      for (EvalSeries& s : r.series) s.drop_name = true;
      return r;
    }
  }
  if (id == FunctionId::kLabelReplace || id == FunctionId::kLabelJoin) {
    return EvalLabelFunction(e);
  }
  return EvalStepFunction(e);
}

absl::StatusOr<EvalResult> Evaluator::EvalLabelFunction(const Call& e) {
  EMBER_ASSIGN_OR_RETURN(EvalResult r, Eval(*e.args[0]));
  std::vector<std::string> strs;
  for (size_t i = 1; i < e.args.size(); ++i) {
    EMBER_ASSIGN_OR_RETURN(EvalResult s, Eval(*e.args[i]));
    strs.push_back(std::move(s.str));
  }
  if (e.func->id == FunctionId::kLabelReplace) {
    EMBER_RETURN_IF_ERROR(LabelReplace(&r.series, strs[0], strs[1], strs[2], strs[3]));
  } else {
    std::vector<std::string> srcs(strs.begin() + 2, strs.end());
    EMBER_RETURN_IF_ERROR(LabelJoin(&r.series, strs[0], strs[1], srcs));
  }
  return r;
}

}  // namespace ember::query
