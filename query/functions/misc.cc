// Miscellaneous functions: sort / sort_desc, the labels of absent() / absent_over_time(), and
// double_exponential_smoothing.
#include <algorithm>
#include <cmath>

#include "query/functions/functions.h"

namespace ember::query {

void SortByValue(EvalVector* v, bool desc) {
  std::stable_sort(v->begin(), v->end(), [desc](const EvalSample& a, const EvalSample& b) {
    if (std::isnan(a.v)) return false;
    if (std::isnan(b.v)) return true;
    return desc ? a.v > b.v : a.v < b.v;
  });
}

Labels AbsentLabels(const Expr& arg) {
  const Expr& e = Unparen(arg);
  const VectorSelector* vs = nullptr;
  if (e.kind == ExprKind::kVectorSelector) vs = &e.As<VectorSelector>();
  if (e.kind == ExprKind::kMatrixSelector) vs = e.As<MatrixSelector>().selector.get();
  Labels out;
  if (vs == nullptr) return out;
  std::vector<std::string> seen;
  for (const Matcher& m : vs->matchers) {
    if (m.name == kMetricNameLabel) continue;
    const bool had = std::find(seen.begin(), seen.end(), m.name) != seen.end();
    if (m.op == Matcher::Op::kEqual && !had) {
      SetLabel(&out, m.name, m.value);
      seen.push_back(m.name);
    } else {
      SetLabel(&out, m.name, "");
    }
  }
  return out;
}

namespace {

// REQUIRES: the factors are not outside (0, 1) (the evaluator rejects them; NaN passes, as in
// Prometheus, and gives NaN).
bool DoubleExponentialSmoothing(const WindowInput& in, double* out) {
  const double sf = in.p0;
  const double tf = in.p1;
  const auto& s = in.points;
  if (s.size() < 2) return false;
  double s0 = 0;
  double s1 = s[0].v;
  double b = s[1].v - s[0].v;
  for (size_t i = 1; i < s.size(); ++i) {
    const double x = sf * s[i].v;
    if (i > 1) b = tf * (s1 - s0) + (1 - tf) * b;
    const double y = (1 - sf) * (s1 + b);
    s0 = s1;
    s1 = x + y;
  }
  *out = s1;
  return true;
}

}  // namespace

WindowFn MiscWindowFn(FunctionId id) {
  return id == FunctionId::kDoubleExponentialSmoothing ? DoubleExponentialSmoothing : nullptr;
}

}  // namespace ember::query
