// The float function library the evaluator dispatches to, one family per file:
// rate.cc (rate increase delta irate idelta deriv predict_linear resets changes),
// over_time.cc (*_over_time), math.cc (abs ceil ... trigonometry), time.cc (time of day
// functions), labels.cc (label_replace label_join sort_by_label*), histogram.cc
// (histogram_quantile, histogram_fraction over classic buckets), misc.cc (absent, sort,
// double_exponential_smoothing).
// Pure functions of their inputs; thread-safe.
#ifndef EMBER_QUERY_FUNCTIONS_FUNCTIONS_H_
#define EMBER_QUERY_FUNCTIONS_FUNCTIONS_H_

#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "query/eval.h"
#include "query/functions/signatures.h"

namespace ember::query {

// The points of one series inside a range window (range_start_ms, range_end_ms], ascending,
// stale markers removed, never empty; p0/p1 are the function's scalar parameters at this step.
struct WindowInput {
  std::span<const Point> points;
  int64_t range_start_ms = 0;
  int64_t range_end_ms = 0;
  int64_t eval_ms = 0;  // The step being evaluated (predict_linear's reference time).
  double p0 = 0;
  double p1 = 0;
};
// Computes the function over one window; false when it has no value there.
using WindowFn = bool (*)(const WindowInput& in, double* out);

// The window function for `id`, or null when `id` is not one of the family's.
WindowFn RateWindowFn(FunctionId id);
WindowFn OverTimeWindowFn(FunctionId id);
WindowFn MiscWindowFn(FunctionId id);

// An element-wise function of a sample's value and the call's scalar parameters.
using ElementFn = double (*)(double v, const double* params);
ElementFn MathElementFn(FunctionId id);
ElementFn TimeElementFn(FunctionId id);

// Prometheus's quantile over unsorted values: q < 0 gives -Inf, q > 1 +Inf, NaN q NaN.
double Quantile(double q, std::vector<double> values);
// Neumaier-compensated summation step, as Prometheus's kahanSumInc. Inline: aggregations call
// it once per sample per step.
inline void KahanAdd(double inc, double* sum, double* c) {
  const double t = *sum + inc;
  if (std::isinf(t)) {
    *c = 0;
  } else if (std::fabs(*sum) >= std::fabs(inc)) {
    *c += (*sum - t) + inc;
  } else {
    *c += (inc - t) + *sum;
  }
  *sum = t;
}

// histogram_quantile(q, v) over classic `le` buckets, at one step: one output sample per
// bucket group. Reports Prometheus's annotations through ctx at `pos`.
void HistogramQuantile(double q, const EvalVector& in, EvalVector* out, QueryContext* ctx,
                       PosRange pos);

// histogram_fraction(lower, upper, v) over classic `le` buckets, at one step: the fraction of
// observations between the bounds for each bucket group (Prometheus's BucketFraction).
void HistogramFraction(double lower, double upper, const EvalVector& in, EvalVector* out,
                       QueryContext* ctx, PosRange pos);

// label_replace / label_join over whole series (they ignore values and time).
absl::Status LabelReplace(SeriesList* list, const std::string& dst, const std::string& repl,
                          const std::string& src, const std::string& regex);
absl::Status LabelJoin(SeriesList* list, const std::string& dst, const std::string& sep,
                       const std::vector<std::string>& srcs);
// Stable sort by the given labels' values (natural order), then by the whole label set.
void SortByLabel(EvalVector* v, const std::vector<std::string>& names, bool desc);
// sort / sort_desc: by value, NaN last.
void SortByValue(EvalVector* v, bool desc);
// The labels absent() and absent_over_time() give their output: the argument selector's
// equality matchers (a name matched twice is left out).
Labels AbsentLabels(const Expr& arg);
// A valid label name for label_replace / label_join / count_values: non-empty UTF-8.
bool IsValidLabelName(std::string_view name);

}  // namespace ember::query

#endif  // EMBER_QUERY_FUNCTIONS_FUNCTIONS_H_
