// Evaluator: aggregation operators (sum avg min max count group stddev stdvar topk bottomk
// quantile count_values limitk limit_ratio), grouped `by`/`without`, as Prometheus's
// rangeEvalAgg.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "query/eval.h"
#include "query/functions/functions.h"
#include "storage/label_codec.h"
#include "util/status_macros.h"

namespace ember::query {
namespace {

bool Listed(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

Labels GroupLabels(const Labels& labels, const AggregateExpr& e) {
  Labels out;
  for (const Label& l : labels) {
    const bool listed = Listed(e.grouping, l.name);
    if (e.without ? (!listed && l.name != kMetricNameLabel) : listed) out.push_back(l);
  }
  return out;
}

// Go's strconv.FormatFloat(v, 'f', -1, 64).
std::string FormatFloatF(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[400];
  auto res = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::fixed);
  return std::string(buf, res.ptr);
}

struct Group {
  Labels labels;
  double value = 0;
  double c = 0;  // Kahan compensation.
  double mean = 0;
  double count = 0;
  bool incremental_mean = false;
  std::vector<double> values;      // quantile
  std::vector<EvalSample> samples;  // topk, bottomk, limitk
  // Some input's metric name is to be removed at the end; with `by (__name__)` the group's is
  // too (Prometheus's delayed name removal).
  bool drop_name = false;
};

// topk: `a` ranks before `b`. NaN ranks last either way.
bool Better(double a, double b, bool top) {
  if (std::isnan(a)) return false;
  if (std::isnan(b)) return true;
  return top ? a > b : a < b;
}

std::string FormatG(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return absl::StrFormat("%g", v);
}

}  // namespace

uint64_t PrometheusLabelsHash(const Labels& labels) {
  std::string buf;
  for (const Label& l : labels) {
    buf.append(l.name);
    buf.push_back('\xff');
    buf.append(l.value);
    buf.push_back('\xff');
  }
  return storage::HashLabelBytes(buf);
}

bool LimitRatioKeeps(double ratio, const Labels& labels) {
  constexpr double kMaxUint64 = static_cast<double>(std::numeric_limits<uint64_t>::max());
  const double offset = static_cast<double>(PrometheusLabelsHash(labels)) / kMaxUint64;
  return (ratio >= 0 && offset < ratio) || (ratio < 0 && offset >= 1.0 + ratio);
}

absl::StatusOr<EvalResult> Evaluator::EvalAggregate(const AggregateExpr& e) {
  const AggregateOp op = e.op;
  EvalResult param;
  std::string label_name;
  if (e.param != nullptr) {
    EMBER_ASSIGN_OR_RETURN(param, Eval(*e.param));
    label_name = param.str;
  }
  if (op == AggregateOp::kCountValues && !IsValidLabelName(label_name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid label name ", QuoteString(label_name)));
  }
  EMBER_ASSIGN_OR_RETURN(EvalResult input, Eval(*e.expr));
  std::vector<const EvalResult*> args = {&input};
  const bool has_scalar_param = param.type == ValueType::kScalar;
  if (has_scalar_param) args.push_back(&param);
  bool warned = false;

  auto step = [&](std::span<EvalVector> v, int64_t ts, EvalVector* out) -> absl::Status {
    const double p = has_scalar_param ? v[1][0].v : 0;
    int64_t k = 0;
    if (op == AggregateOp::kTopk || op == AggregateOp::kBottomk || op == AggregateOp::kLimitk) {
      if (std::isnan(p)) return absl::InvalidArgumentError("Parameter value is NaN");
      if (p >= 9.2e18 || p <= -9.2e18) {
        return absl::InvalidArgumentError(
            absl::StrCat("Scalar value ", FormatG(p), " overflows int64"));
      }
      k = static_cast<int64_t>(p);
      if (k < 1) return absl::OkStatus();
    }
    double ratio = 0;
    if (op == AggregateOp::kLimitRatio) {
      if (std::isnan(p)) return absl::InvalidArgumentError("Ratio value is NaN");
      if (p == 0) return absl::OkStatus();
      ratio = std::clamp(p, -1.0, 1.0);
      if (ratio != p) {
        ctx_->Warn(absl::StrCat("ratio value should be between -1 and 1, got ", FormatG(p),
                                ", capping to ", FormatG(ratio)),
                   e.param->pos);
      }
    }
    if (op == AggregateOp::kQuantile && !(p >= 0 && p <= 1) && !warned) {
      warned = true;
      ctx_->Warn(absl::StrCat("quantile value should be between 0 and 1, got ", FormatG(p)),
                 e.param->pos);
    }
    std::vector<Group> groups;
    absl::flat_hash_map<std::string, size_t> index;
    for (EvalSample& s : v[0]) {
      Labels gl = GroupLabels(s.labels, e);
      if (op == AggregateOp::kCountValues) SetLabel(&gl, label_name, FormatFloatF(s.v));
      auto [it, inserted] = index.try_emplace(LabelsKey(gl), groups.size());
      const double f = s.v;
      if (inserted) {
        Group g;
        g.labels = std::move(gl);
        g.value = f;
        g.mean = f;
        g.count = 1;
        g.drop_name = s.drop_name;
        if (op == AggregateOp::kStddev || op == AggregateOp::kStdvar) {
          // Welford's update from an empty state, so a lone NaN or Inf gives NaN.
          g.mean = f;
          g.value = (f - 0) * (f - g.mean);
        }
        if (op == AggregateOp::kQuantile) g.values.push_back(f);
        if (op == AggregateOp::kTopk || op == AggregateOp::kBottomk ||
            op == AggregateOp::kLimitk ||
            (op == AggregateOp::kLimitRatio && LimitRatioKeeps(ratio, s.labels))) {
          g.samples.push_back(std::move(s));
        }
        groups.push_back(std::move(g));
        continue;
      }
      Group& g = groups[it->second];
      g.drop_name = g.drop_name || s.drop_name;
      switch (op) {
        case AggregateOp::kSum:
          KahanAdd(f, &g.value, &g.c);
          break;
        case AggregateOp::kAvg: {
          g.count++;
          if (!g.incremental_mean) {
            double nv = g.value;
            double nc = g.c;
            KahanAdd(f, &nv, &nc);
            if (!std::isinf(nv)) {
              g.value = nv;
              g.c = nc;
              break;
            }
            g.incremental_mean = true;
            g.mean = g.value / (g.count - 1);
            g.c /= g.count - 1;
          }
          const double q = (g.count - 1) / g.count;
          double m = q * g.mean;
          double c = q * g.c;
          KahanAdd(f / g.count, &m, &c);
          g.mean = m;
          g.c = c;
          break;
        }
        case AggregateOp::kMin:
          if (g.value > f || std::isnan(g.value)) g.value = f;
          break;
        case AggregateOp::kMax:
          if (g.value < f || std::isnan(g.value)) g.value = f;
          break;
        case AggregateOp::kCount:
        case AggregateOp::kCountValues:
          g.count++;
          break;
        case AggregateOp::kGroup:
          break;
        case AggregateOp::kStddev:
        case AggregateOp::kStdvar: {
          g.count++;
          const double delta = f - g.mean;
          g.mean += delta / g.count;
          g.value += delta * (f - g.mean);
          break;
        }
        case AggregateOp::kQuantile:
          g.values.push_back(f);
          break;
        case AggregateOp::kTopk:
        case AggregateOp::kBottomk:
        case AggregateOp::kLimitk:
          g.samples.push_back(std::move(s));
          break;
        case AggregateOp::kLimitRatio:
          if (LimitRatioKeeps(ratio, s.labels)) g.samples.push_back(std::move(s));
          break;
        default:
          break;
      }
    }
    for (Group& g : groups) {
      double x = 0;
      switch (op) {
        case AggregateOp::kSum:
          x = g.value + g.c;
          break;
        case AggregateOp::kAvg:
          x = g.incremental_mean ? g.mean + g.c : g.value / g.count + g.c / g.count;
          break;
        case AggregateOp::kMin:
        case AggregateOp::kMax:
          x = g.value;
          break;
        case AggregateOp::kCount:
        case AggregateOp::kCountValues:
          x = g.count;
          break;
        case AggregateOp::kGroup:
          x = 1;
          break;
        case AggregateOp::kStdvar:
          x = g.value / g.count;
          break;
        case AggregateOp::kStddev:
          x = std::sqrt(g.value / g.count);
          break;
        case AggregateOp::kQuantile:
          x = Quantile(p, std::move(g.values));
          break;
        case AggregateOp::kTopk:
        case AggregateOp::kBottomk: {
          const bool top = op == AggregateOp::kTopk;
          std::stable_sort(g.samples.begin(), g.samples.end(),
                           [top](const EvalSample& a, const EvalSample& b) {
                             return Better(a.v, b.v, top);
                           });
          if (static_cast<int64_t>(g.samples.size()) > k) g.samples.resize(k);
          for (EvalSample& s : g.samples) out->push_back(std::move(s));
          continue;
        }
        case AggregateOp::kLimitk:
          if (static_cast<int64_t>(g.samples.size()) > k) g.samples.resize(k);
          for (EvalSample& s : g.samples) out->push_back(std::move(s));
          continue;
        case AggregateOp::kLimitRatio:
          for (EvalSample& s : g.samples) out->push_back(std::move(s));
          continue;
        default:
          break;
      }
      const bool drop_name = op != AggregateOp::kCountValues && g.drop_name;
      out->push_back(EvalSample{std::move(g.labels), x, ts, drop_name});
    }
    return absl::OkStatus();
  };
  EvalResult r;
  r.type = ValueType::kVector;
  EMBER_ASSIGN_OR_RETURN(r.series, RangeEval(args, step));
  return r;
}

}  // namespace ember::query
