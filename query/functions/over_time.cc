// The *_over_time family: aggregations of one series over a range window, Kahan-compensated
// where Prometheus compensates.
#include <algorithm>
#include <cmath>
#include <vector>

#include "query/functions/functions.h"

namespace ember::query {

double Quantile(double q, std::vector<double> values) {
  if (values.empty() || std::isnan(q)) return NAN;
  if (q < 0) return -INFINITY;
  if (q > 1) return INFINITY;
  // Go's sort.Float64s order: NaN first.
  std::sort(values.begin(), values.end(),
            [](double a, double b) { return a < b || (std::isnan(a) && !std::isnan(b)); });
  const double n = static_cast<double>(values.size());
  const double rank = q * (n - 1);
  const double lower = std::max(0.0, std::floor(rank));
  const double upper = std::min(n - 1, lower + 1);
  const double weight = rank - std::floor(rank);
  return values[static_cast<size_t>(lower)] * (1 - weight) +
         values[static_cast<size_t>(upper)] * weight;
}

namespace {

bool AvgOverTime(const WindowInput& in, double* out) {
  double sum = 0, mean = 0, count = 0, c = 0;
  bool incremental = false;
  for (const Point& p : in.points) {
    count++;
    if (!incremental) {
      double ns = sum, nc = c;
      KahanAdd(p.v, &ns, &nc);
      if (count == 1 || !std::isinf(ns)) {
        sum = ns;
        c = nc;
        continue;
      }
      incremental = true;
      mean = sum / (count - 1);
      c /= count - 1;
    }
    const double q = (count - 1) / count;
    double m = q * mean;
    double cc = q * c;
    KahanAdd(p.v / count, &m, &cc);
    mean = m;
    c = cc;
  }
  *out = incremental ? mean + c : sum / count + c / count;
  return true;
}

bool SumOverTime(const WindowInput& in, double* out) {
  double sum = 0, c = 0;
  for (const Point& p : in.points) KahanAdd(p.v, &sum, &c);
  *out = sum + c;
  return true;
}

bool CountOverTime(const WindowInput& in, double* out) {
  *out = static_cast<double>(in.points.size());
  return true;
}

bool MinOverTime(const WindowInput& in, double* out) {
  double m = in.points[0].v;
  for (const Point& p : in.points) {
    if (p.v < m || std::isnan(m)) m = p.v;
  }
  *out = m;
  return true;
}

bool MaxOverTime(const WindowInput& in, double* out) {
  double m = in.points[0].v;
  for (const Point& p : in.points) {
    if (p.v > m || std::isnan(m)) m = p.v;
  }
  *out = m;
  return true;
}

bool LastOverTime(const WindowInput& in, double* out) {
  *out = in.points.back().v;
  return true;
}

bool FirstOverTime(const WindowInput& in, double* out) {
  *out = in.points.front().v;
  return true;
}

bool PresentOverTime(const WindowInput&, double* out) {
  *out = 1;
  return true;
}

bool QuantileOverTime(const WindowInput& in, double* out) {
  std::vector<double> v;
  v.reserve(in.points.size());
  for (const Point& p : in.points) v.push_back(p.v);
  *out = Quantile(in.p0, std::move(v));
  return true;
}

double Variance(const WindowInput& in) {
  double count = 0, mean = 0, cmean = 0, aux = 0, caux = 0;
  for (const Point& p : in.points) {
    count++;
    const double delta = p.v - (mean + cmean);
    KahanAdd(delta / count, &mean, &cmean);
    KahanAdd(delta * (p.v - (mean + cmean)), &aux, &caux);
  }
  return (aux + caux) / count;
}

bool StdvarOverTime(const WindowInput& in, double* out) {
  *out = Variance(in);
  return true;
}

bool StddevOverTime(const WindowInput& in, double* out) {
  *out = std::sqrt(Variance(in));
  return true;
}

bool MadOverTime(const WindowInput& in, double* out) {
  std::vector<double> v;
  for (const Point& p : in.points) {
    if (std::isnan(p.v)) {  // As in Prometheus, a NaN sample makes the deviation NaN.
      *out = NAN;
      return true;
    }
    v.push_back(p.v);
  }
  const double median = Quantile(0.5, v);
  for (double& x : v) x = std::fabs(x - median);
  *out = Quantile(0.5, std::move(v));
  return true;
}

bool TsOfLastOverTime(const WindowInput& in, double* out) {
  *out = static_cast<double>(in.points.back().t) / 1000;
  return true;
}

bool TsOfFirstOverTime(const WindowInput& in, double* out) {
  *out = static_cast<double>(in.points.front().t) / 1000;
  return true;
}

bool TsOfExtreme(const WindowInput& in, bool max, double* out) {
  double m = in.points[0].v;
  int64_t t = in.points[0].t;
  for (const Point& p : in.points) {
    if ((max ? p.v >= m : p.v <= m) || std::isnan(m)) {
      m = p.v;
      t = p.t;
    }
  }
  *out = static_cast<double>(t) / 1000;
  return true;
}

bool TsOfMaxOverTime(const WindowInput& in, double* out) { return TsOfExtreme(in, true, out); }
bool TsOfMinOverTime(const WindowInput& in, double* out) { return TsOfExtreme(in, false, out); }

}  // namespace

WindowFn OverTimeWindowFn(FunctionId id) {
  switch (id) {
    case FunctionId::kAvgOverTime:
      return AvgOverTime;
    case FunctionId::kSumOverTime:
      return SumOverTime;
    case FunctionId::kCountOverTime:
      return CountOverTime;
    case FunctionId::kMinOverTime:
      return MinOverTime;
    case FunctionId::kMaxOverTime:
      return MaxOverTime;
    case FunctionId::kLastOverTime:
      return LastOverTime;
    case FunctionId::kFirstOverTime:
      return FirstOverTime;
    case FunctionId::kPresentOverTime:
      return PresentOverTime;
    case FunctionId::kQuantileOverTime:
      return QuantileOverTime;
    case FunctionId::kStdvarOverTime:
      return StdvarOverTime;
    case FunctionId::kStddevOverTime:
      return StddevOverTime;
    case FunctionId::kMadOverTime:
      return MadOverTime;
    case FunctionId::kTsOfLastOverTime:
      return TsOfLastOverTime;
    case FunctionId::kTsOfFirstOverTime:
      return TsOfFirstOverTime;
    case FunctionId::kTsOfMaxOverTime:
      return TsOfMaxOverTime;
    case FunctionId::kTsOfMinOverTime:
      return TsOfMinOverTime;
    default:
      return nullptr;
  }
}

}  // namespace ember::query
