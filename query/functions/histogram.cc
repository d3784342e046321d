// histogram_quantile and histogram_fraction over classic histograms: `le` buckets grouped by
// their other labels, sorted, coalesced, then linearly interpolated (Prometheus's BucketQuantile
// and BucketFraction; quantiles also force the counts monotonic).
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "query/functions/functions.h"

namespace ember::query {
namespace {

struct Bucket {
  double upper;
  double count;
};

bool AlmostEqual(double a, double b, double eps) {
  if (a == b) return true;
  constexpr double kMinNormal = std::numeric_limits<double>::min();
  const double abs_sum = std::fabs(a) + std::fabs(b);
  const double diff = std::fabs(a - b);
  if (a == 0 || b == 0 || abs_sum < kMinNormal) return diff < eps * kMinNormal;
  return diff / std::min(abs_sum, std::numeric_limits<double>::max()) < eps;
}

bool ParseBound(std::string_view s, double* out) {
  if (s.empty()) return false;
  std::string str(s);
  char* end = nullptr;
  *out = std::strtod(str.c_str(), &end);
  return end == str.c_str() + str.size();
}

// Coalesces buckets with the same bound. REQUIRES: `b` sorted by bound, non-empty.
std::vector<Bucket> Coalesce(const std::vector<Bucket>& b) {
  std::vector<Bucket> c;
  for (const Bucket& x : b) {
    if (!c.empty() && c.back().upper == x.upper) {
      c.back().count += x.count;
    } else {
      c.push_back(x);
    }
  }
  return c;
}

// Returns the quantile; `*forced` is set when bucket counts had to be made monotonic.
double BucketQuantile(double q, std::vector<Bucket> b, bool* forced) {
  *forced = false;
  if (std::isnan(q)) return NAN;
  if (q < 0) return -INFINITY;
  if (q > 1) return INFINITY;
  std::sort(b.begin(), b.end(), [](const Bucket& x, const Bucket& y) { return x.upper < y.upper; });
  if (!std::isinf(b.back().upper) || b.back().upper < 0) return NAN;
  std::vector<Bucket> c = Coalesce(b);
  double prev = c[0].count;
  for (size_t i = 1; i < c.size(); ++i) {
    const double cur = c[i].count;
    if (cur == prev) continue;
    if (AlmostEqual(prev, cur, 1e-12)) {
      c[i].count = prev;
      continue;
    }
    if (cur < prev) {
      c[i].count = prev;
      *forced = true;
      continue;
    }
    prev = cur;
  }
  if (c.size() < 2) return NAN;
  const double observations = c.back().count;
  if (observations == 0) return NAN;
  double rank = q * observations;
  size_t i = 0;
  while (i < c.size() - 1 && !(c[i].count >= rank)) ++i;
  if (i == c.size() - 1) return c[c.size() - 2].upper;
  if (i == 0 && c[0].upper <= 0) return c[0].upper;
  double start = 0;
  const double end = c[i].upper;
  double count = c[i].count;
  if (i > 0) {
    start = c[i - 1].upper;
    count -= c[i - 1].count;
    rank -= c[i - 1].count;
  }
  return start + (end - start) * (rank / count);
}

// The fraction of observations in [lower, upper], as Prometheus's BucketFraction: linear
// interpolation inside a bucket, a natural lower bound of 0 for a first bucket with a positive
// bound, and no interpolation inside a bucket of infinite width (a value there counts at the
// bucket's finite end).
double BucketFraction(double lower, double upper, std::vector<Bucket> b) {
  std::sort(b.begin(), b.end(), [](const Bucket& x, const Bucket& y) { return x.upper < y.upper; });
  if (b.empty() || !std::isinf(b.back().upper) || b.back().upper < 0) return NAN;
  const std::vector<Bucket> c = Coalesce(b);
  const double count = c.back().count;
  if (count == 0 || std::isnan(lower) || std::isnan(upper)) return NAN;
  if (lower >= upper) return 0;
  double rank = 0;
  double lower_rank = 0;
  double upper_rank = 0;
  bool lower_set = false;
  bool upper_set = false;
  for (size_t i = 0; i < c.size(); ++i) {
    const double ub = c[i].upper;
    double lb = -INFINITY;
    if (i > 0) {
      lb = c[i - 1].upper;
    } else if (ub > 0) {
      lb = 0;
    }
    auto interpolate = [&](double v) {
      if (std::isinf(lb)) return c[i].count;
      if (std::isinf(ub)) return rank;
      return rank + (c[i].count - rank) * (v - lb) / (ub - lb);
    };
    if (!lower_set && lb >= lower) {
      lower_rank = rank;
      lower_set = true;
    }
    if (!upper_set && lb >= upper) {
      upper_rank = rank;
      upper_set = true;
    }
    if (lower_set && upper_set) break;
    if (!lower_set && lb < lower && ub > lower) {
      lower_rank = interpolate(lower);
      lower_set = true;
    }
    if (!upper_set && lb < upper && ub > upper) {
      upper_rank = interpolate(upper);
      upper_set = true;
    }
    if (lower_set && upper_set) break;
    rank = c[i].count;
  }
  if (!lower_set || lower_rank > count) lower_rank = count;
  if (!upper_set || upper_rank > count) upper_rank = count;
  return (upper_rank - lower_rank) / count;
}

struct BucketGroup {
  const Labels* labels = nullptr;  // Interned in the query's LabelPool.
  std::vector<Bucket> buckets;
};

// Groups the `le` buckets of `in` by their other labels; warns about a missing or malformed `le`.
std::vector<BucketGroup> GroupBuckets(const EvalVector& in, QueryContext* ctx, PosRange pos) {
  std::vector<BucketGroup> groups;
  absl::flat_hash_map<const Labels*, size_t> index;
  for (const EvalSample& s : in) {
    const std::string_view le = GetLabelValue(*s.labels, "le");
    double upper = 0;
    if (!ParseBound(le, &upper)) {
      ctx->Warn(absl::StrFormat("bucket label \"le\" is missing or has a malformed value of "
                                "\"%s\" for metric name \"%s\"",
                                le, GetLabelValue(*s.labels, kMetricNameLabel)),
                pos);
      continue;
    }
    Labels key;
    for (const Label& l : *s.labels) {
      if (l.name != "le") key.push_back(l);
    }
    const Labels* interned = ctx->labels.Intern(std::move(key));
    auto [it, inserted] = index.try_emplace(interned, groups.size());
    if (inserted) groups.push_back(BucketGroup{interned, {}});
    groups[it->second].buckets.push_back(Bucket{upper, s.v});
  }
  return groups;
}

}  // namespace

void HistogramFraction(double lower, double upper, const EvalVector& in, EvalVector* out,
                       QueryContext* ctx, PosRange pos) {
  std::vector<BucketGroup> groups = GroupBuckets(in, ctx, pos);
  const int64_t t = in.empty() ? 0 : in[0].t;
  for (BucketGroup& g : groups) {
    const double v = BucketFraction(lower, upper, std::move(g.buckets));
    out->push_back(EvalSample{g.labels, v, t, true});
  }
}

void HistogramQuantile(double q, const EvalVector& in, EvalVector* out, QueryContext* ctx,
                       PosRange pos) {
  std::vector<BucketGroup> groups = GroupBuckets(in, ctx, pos);
  for (BucketGroup& g : groups) {
    bool forced = false;
    const double v = BucketQuantile(q, std::move(g.buckets), &forced);
    if (forced) {
      ctx->Info(absl::StrFormat("input to histogram_quantile needed to be fixed for "
                                "monotonicity (see https://prometheus.io/docs/prometheus/latest/"
                                "querying/functions/#histogram_quantile) for metric name \"%s\"",
                                GetLabelValue(*g.labels, kMetricNameLabel)),
                pos);
    }
    const int64_t t = in.empty() ? 0 : in[0].t;
    out->push_back(EvalSample{g.labels, v, t, true});
  }
}

}  // namespace ember::query
