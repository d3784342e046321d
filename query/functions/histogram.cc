// histogram_quantile over classic histograms: `le` buckets grouped by their other labels,
// sorted, coalesced, forced monotonic, then linearly interpolated (Prometheus's BucketQuantile).
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

// Returns the quantile; `*forced` is set when bucket counts had to be made monotonic.
double BucketQuantile(double q, std::vector<Bucket> b, bool* forced) {
  *forced = false;
  if (std::isnan(q)) return NAN;
  if (q < 0) return -INFINITY;
  if (q > 1) return INFINITY;
  std::sort(b.begin(), b.end(), [](const Bucket& x, const Bucket& y) { return x.upper < y.upper; });
  if (!std::isinf(b.back().upper) || b.back().upper < 0) return NAN;
  // Coalesce buckets with the same bound.
  std::vector<Bucket> c;
  for (const Bucket& x : b) {
    if (!c.empty() && c.back().upper == x.upper) {
      c.back().count += x.count;
    } else {
      c.push_back(x);
    }
  }
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

}  // namespace

void HistogramQuantile(double q, const EvalVector& in, EvalVector* out, QueryContext* ctx,
                       PosRange pos) {
  struct Group {
    Labels labels;
    std::vector<Bucket> buckets;
  };
  std::vector<Group> groups;
  absl::flat_hash_map<std::string, size_t> index;
  for (const EvalSample& s : in) {
    const std::string_view le = GetLabelValue(s.labels, "le");
    double upper = 0;
    if (!ParseBound(le, &upper)) {
      ctx->Warn(absl::StrFormat("bucket label \"le\" is missing or has a malformed value of "
                                "\"%s\" for metric name \"%s\"",
                                le, GetLabelValue(s.labels, kMetricNameLabel)),
                pos);
      continue;
    }
    Labels key;
    for (const Label& l : s.labels) {
      if (l.name != "le") key.push_back(l);
    }
    auto [it, inserted] = index.try_emplace(LabelsKey(key), groups.size());
    if (inserted) groups.push_back(Group{std::move(key), {}});
    groups[it->second].buckets.push_back(Bucket{upper, s.v});
  }
  for (Group& g : groups) {
    bool forced = false;
    const double v = BucketQuantile(q, std::move(g.buckets), &forced);
    if (forced) {
      ctx->Info(absl::StrFormat("input to histogram_quantile needed to be fixed for "
                                "monotonicity (see https://prometheus.io/docs/prometheus/latest/"
                                "querying/functions/#histogram_quantile) for metric name \"%s\"",
                                GetLabelValue(g.labels, kMetricNameLabel)),
                pos);
    }
    const int64_t t = in.empty() ? 0 : in[0].t;
    out->push_back(EvalSample{std::move(g.labels), v, t, true});
  }
}

}  // namespace ember::query
