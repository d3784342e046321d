// Counter and gauge rate functions: rate increase delta (Prometheus's extrapolatedRate), irate
// idelta, deriv predict_linear (least squares), resets changes.
#include <cmath>

#include "query/functions/functions.h"

namespace ember::query {
namespace {

// Prometheus's extrapolatedRate: the change over the window, extrapolated to the window's
// edges when the first/last samples are close to them (within 1.1 average sample intervals),
// else by half an interval; a counter is never extrapolated below zero.
bool ExtrapolatedRate(const WindowInput& in, bool is_counter, bool is_rate, double* out) {
  const auto& s = in.points;
  if (s.size() < 2) return false;
  double result = s.back().v - s.front().v;
  if (is_counter) {
    double last = 0;
    for (const Point& p : s) {
      if (p.v < last) result += last;
      last = p.v;
    }
  }
  double to_start = static_cast<double>(s.front().t - in.range_start_ms) / 1000;
  double to_end = static_cast<double>(in.range_end_ms - s.back().t) / 1000;
  const double sampled = static_cast<double>(s.back().t - s.front().t) / 1000;
  const double avg = sampled / static_cast<double>(s.size() - 1);
  const double threshold = avg * 1.1;
  double interval = sampled;
  if (to_start >= threshold) to_start = avg / 2;
  if (is_counter && result > 0 && s.front().v >= 0) {
    const double to_zero = sampled * (s.front().v / result);
    if (to_zero < to_start) to_start = to_zero;
  }
  interval += to_start;
  if (to_end >= threshold) to_end = avg / 2;
  interval += to_end;
  double factor = interval / sampled;
  if (is_rate) factor /= static_cast<double>(in.range_end_ms - in.range_start_ms) / 1000;
  *out = result * factor;
  return true;
}

bool Rate(const WindowInput& in, double* out) { return ExtrapolatedRate(in, true, true, out); }
bool Increase(const WindowInput& in, double* out) { return ExtrapolatedRate(in, true, false, out); }
bool Delta(const WindowInput& in, double* out) { return ExtrapolatedRate(in, false, false, out); }

bool InstantValue(const WindowInput& in, bool is_rate, double* out) {
  const auto& s = in.points;
  if (s.size() < 2) return false;
  const Point& last = s[s.size() - 1];
  const Point& prev = s[s.size() - 2];
  double v = (is_rate && last.v < prev.v) ? last.v : last.v - prev.v;
  const int64_t dt = last.t - prev.t;
  if (dt == 0) return false;
  if (is_rate) v /= static_cast<double>(dt) / 1000;
  *out = v;
  return true;
}

bool Irate(const WindowInput& in, double* out) { return InstantValue(in, true, out); }
bool Idelta(const WindowInput& in, double* out) { return InstantValue(in, false, out); }

// Least-squares fit with x in seconds relative to `intercept_ms`, Kahan-summed like
// Prometheus's linearRegression.
void LinearRegression(std::span<const Point> s, int64_t intercept_ms, double* slope,
                      double* intercept) {
  double n = 0, sx = 0, cx = 0, sy = 0, cy = 0, sxy = 0, cxy = 0, sx2 = 0, cx2 = 0;
  const double init_y = s[0].v;
  bool const_y = true;
  for (size_t i = 0; i < s.size(); ++i) {
    if (const_y && i > 0 && s[i].v != init_y) const_y = false;
    n += 1;
    const double x = static_cast<double>(s[i].t - intercept_ms) / 1e3;
    KahanAdd(x, &sx, &cx);
    KahanAdd(s[i].v, &sy, &cy);
    KahanAdd(x * s[i].v, &sxy, &cxy);
    KahanAdd(x * x, &sx2, &cx2);
  }
  if (const_y) {
    if (std::isinf(init_y)) {
      *slope = NAN;
      *intercept = NAN;
    } else {
      *slope = 0;
      *intercept = init_y;
    }
    return;
  }
  sx += cx;
  sy += cy;
  sxy += cxy;
  sx2 += cx2;
  const double cov = sxy - sx * sy / n;
  const double var = sx2 - sx * sx / n;
  *slope = cov / var;
  *intercept = sy / n - *slope * sx / n;
}

bool Deriv(const WindowInput& in, double* out) {
  if (in.points.size() < 2) return false;
  double slope = 0, intercept = 0;
  LinearRegression(in.points, in.points[0].t, &slope, &intercept);
  *out = slope;
  return true;
}

bool PredictLinear(const WindowInput& in, double* out) {
  if (in.points.size() < 2) return false;
  double slope = 0, intercept = 0;
  LinearRegression(in.points, in.eval_ms, &slope, &intercept);
  *out = slope * in.p0 + intercept;
  return true;
}

bool Resets(const WindowInput& in, double* out) {
  int n = 0;
  for (size_t i = 1; i < in.points.size(); ++i) {
    if (in.points[i].v < in.points[i - 1].v) ++n;
  }
  *out = n;
  return true;
}

bool Changes(const WindowInput& in, double* out) {
  int n = 0;
  for (size_t i = 1; i < in.points.size(); ++i) {
    const double a = in.points[i - 1].v;
    const double b = in.points[i].v;
    if (!(a == b || (std::isnan(a) && std::isnan(b)))) ++n;
  }
  *out = n;
  return true;
}

}  // namespace

WindowFn RateWindowFn(FunctionId id) {
  switch (id) {
    case FunctionId::kRate:
      return Rate;
    case FunctionId::kIncrease:
      return Increase;
    case FunctionId::kDelta:
      return Delta;
    case FunctionId::kIrate:
      return Irate;
    case FunctionId::kIdelta:
      return Idelta;
    case FunctionId::kDeriv:
      return Deriv;
    case FunctionId::kPredictLinear:
      return PredictLinear;
    case FunctionId::kResets:
      return Resets;
    case FunctionId::kChanges:
      return Changes;
    default:
      return nullptr;
  }
}

}  // namespace ember::query
