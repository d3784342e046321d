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
#include "util/quote.h"
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

// The running state of sum avg min max count group stddev stdvar (and count_values) over one
// group's samples at one step.
struct Acc {
  double value = 0;
  double c = 0;  // Kahan compensation.
  double mean = 0;
  double count = 0;
  bool incremental_mean = false;
};

// Whether AccAdd() and AccResult() handle `op`.
bool IsAccOp(AggregateOp op) {
  switch (op) {
    case AggregateOp::kSum:
    case AggregateOp::kAvg:
    case AggregateOp::kMin:
    case AggregateOp::kMax:
    case AggregateOp::kCount:
    case AggregateOp::kGroup:
    case AggregateOp::kStddev:
    case AggregateOp::kStdvar:
      return true;
    default:
      return false;
  }
}

// Starts `a` with the group's first sample at a step.
void AccInit(AggregateOp op, double f, Acc* a) {
  a->value = f;
  a->c = 0;
  a->mean = f;
  a->count = 1;
  a->incremental_mean = false;
  if (op == AggregateOp::kStddev || op == AggregateOp::kStdvar) {
    // Welford's update from an empty state, so a lone NaN or Inf gives NaN.
    a->mean = f;
    a->value = (f - 0) * (f - a->mean);
  }
}

// Adds a later sample. REQUIRES: IsAccOp(op) or op == kCountValues.
void AccAdd(AggregateOp op, double f, Acc* g) {
  switch (op) {
    case AggregateOp::kSum:
      KahanAdd(f, &g->value, &g->c);
      break;
    case AggregateOp::kAvg: {
      g->count++;
      if (!g->incremental_mean) {
        double nv = g->value;
        double nc = g->c;
        KahanAdd(f, &nv, &nc);
        if (!std::isinf(nv)) {
          g->value = nv;
          g->c = nc;
          break;
        }
        g->incremental_mean = true;
        g->mean = g->value / (g->count - 1);
        g->c /= g->count - 1;
      }
      const double q = (g->count - 1) / g->count;
      double m = q * g->mean;
      double c = q * g->c;
      KahanAdd(f / g->count, &m, &c);
      g->mean = m;
      g->c = c;
      break;
    }
    case AggregateOp::kMin:
      if (g->value > f || std::isnan(g->value)) g->value = f;
      break;
    case AggregateOp::kMax:
      if (g->value < f || std::isnan(g->value)) g->value = f;
      break;
    case AggregateOp::kCount:
    case AggregateOp::kCountValues:
      g->count++;
      break;
    case AggregateOp::kStddev:
    case AggregateOp::kStdvar: {
      g->count++;
      const double delta = f - g->mean;
      g->mean += delta / g->count;
      g->value += delta * (f - g->mean);
      break;
    }
    default:
      break;
  }
}

// The group's value at the step. REQUIRES: IsAccOp(op) or op == kCountValues.
double AccResult(AggregateOp op, const Acc& g) {
  switch (op) {
    case AggregateOp::kSum:
      return g.value + g.c;
    case AggregateOp::kAvg:
      return g.incremental_mean ? g.mean + g.c : g.value / g.count + g.c / g.count;
    case AggregateOp::kMin:
    case AggregateOp::kMax:
      return g.value;
    case AggregateOp::kCount:
    case AggregateOp::kCountValues:
      return g.count;
    case AggregateOp::kGroup:
      return 1;
    case AggregateOp::kStdvar:
      return g.value / g.count;
    case AggregateOp::kStddev:
      return std::sqrt(g.value / g.count);
    default:
      return 0;
  }
}

struct Group : Acc {
  const Labels* labels = nullptr;   // Interned.
  std::vector<double> values;       // quantile
  std::vector<EvalSample> samples;  // topk, bottomk, limitk
  // Some input's metric name is to be removed at the end; with `by (__name__)` the group's is
  // too (Prometheus's delayed name removal).
  bool drop_name = false;
};

// Evaluates an IsAccOp() aggregation series-major, a block of steps at a time: each input series
// is walked once per block, adding its points into its group's state at their steps. Every
// (group, step) state gets its samples in input order, as step-by-step evaluation gives them,
// so the values are the same bit for bit; the output series come in the same order too (by the
// step at which they first have a value, then by their first input series there).
// Returns false, with `*out` untouched, when the groups are too many for blocks worth having.
absl::StatusOr<bool> AggregateInBlocks(const AggregateExpr& e, const SeriesList& in, int64_t start,
                                       int64_t end, int64_t interval, QueryContext* ctx,
                                       SeriesList* out) {
  const AggregateOp op = e.op;
  const int64_t steps = (end - start) / interval + 1;
  std::vector<uint32_t> group_of(in.size());
  std::vector<const Labels*> labels;  // By group id, interned.
  absl::flat_hash_map<const Labels*, uint32_t> id_of;
  for (size_t j = 0; j < in.size(); ++j) {
    const Labels* gl = ctx->labels.Intern(GroupLabels(in[j].labels, e));
    auto [it, inserted] = id_of.try_emplace(gl, static_cast<uint32_t>(labels.size()));
    if (inserted) labels.push_back(gl);
    group_of[j] = it->second;
  }
  const int64_t n_groups = static_cast<int64_t>(labels.size());
  // About 4 MB of state per block.
  const int64_t block = std::min<int64_t>(256, 100'000 / std::max<int64_t>(n_groups, 1));
  if (block < 16 && steps > 1) return false;
  const int64_t nb_max = std::max<int64_t>(1, std::min(block, steps));

  SeriesList groups(n_groups);
  std::vector<int64_t> first_step(n_groups, steps);
  std::vector<size_t> first_series(n_groups, 0);
  std::vector<size_t> cursor(in.size(), 0);
  std::vector<Acc> acc;
  std::vector<uint8_t> present;
  for (int64_t b0 = 0; b0 < steps; b0 += nb_max) {
    EMBER_RETURN_IF_ERROR(ctx->Check());
    const int64_t nb = std::min(nb_max, steps - b0);
    const int64_t block_last = start + (b0 + nb - 1) * interval;
    acc.assign(n_groups * nb, Acc{});
    present.assign(n_groups * nb, 0);
    for (size_t j = 0; j < in.size(); ++j) {
      EMBER_RETURN_IF_ERROR(ctx->CheckSometimes());
      const std::vector<Point>& pts = in[j].points;
      const uint32_t g = group_of[j];
      Acc* const ga = &acc[g * nb];
      uint8_t* const gp = &present[g * nb];
      size_t c = cursor[j];
      for (; c < pts.size() && pts[c].t <= block_last; ++c) {
        const int64_t off = pts[c].t - start;
        // Only points at a step count, and of equal times the first (as in RangeEval).
        if (off < 0 || off % interval != 0) continue;
        if (c > 0 && pts[c - 1].t == pts[c].t) continue;
        const int64_t st = off / interval - b0;
        if (gp[st] == 0) {
          gp[st] = 1;
          AccInit(op, pts[c].v, &ga[st]);
          if (b0 + st < first_step[g]) {
            first_step[g] = b0 + st;
            first_series[g] = j;
          }
        } else {
          AccAdd(op, pts[c].v, &ga[st]);
        }
        if (in[j].drop_name) groups[g].drop_name = true;
      }
      cursor[j] = c;
    }
    for (int64_t g = 0; g < n_groups; ++g) {
      for (int64_t st = 0; st < nb; ++st) {
        if (present[g * nb + st] == 0) continue;
        EMBER_RETURN_IF_ERROR(ctx->Push(
            &groups[g].points, {start + (b0 + st) * interval, AccResult(op, acc[g * nb + st])}));
      }
    }
  }
  std::vector<uint32_t> order;
  for (int64_t g = 0; g < n_groups; ++g) {
    if (first_step[g] < steps) order.push_back(static_cast<uint32_t>(g));
  }
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return first_step[a] != first_step[b] ? first_step[a] < first_step[b]
                                          : first_series[a] < first_series[b];
  });
  out->clear();
  out->reserve(order.size());
  for (const uint32_t g : order) {
    groups[g].labels = *labels[g];
    out->push_back(std::move(groups[g]));
  }
  return true;
}

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

uint64_t PrometheusLabelsHash(const Labels& labels) { return HashLabels(labels); }

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
        absl::StrCat("invalid label name ", util::GoQuote(label_name)));
  }
  EMBER_ASSIGN_OR_RETURN(EvalResult input, Eval(*e.expr));
  if (IsAccOp(op) && input.type == ValueType::kVector) {
    EvalResult r;
    r.type = ValueType::kVector;
    EMBER_ASSIGN_OR_RETURN(const bool done, AggregateInBlocks(e, input.series, start_, end_,
                                                              interval_, ctx_, &r.series));
    if (done) return r;
  }
  std::vector<const EvalResult*> args = {&input};
  const bool has_scalar_param = param.type == ValueType::kScalar;
  if (has_scalar_param) args.push_back(&param);
  bool warned = false;

  // Groups persist across steps, indexed by small ids; an input series' group is worked out the
  // first time it is seen (its labels never change), count_values' per sample.
  std::vector<Group> groups;
  std::vector<int64_t> group_step;  // The step at which each group was last (re)started.
  std::vector<uint32_t> touched;    // This step's groups, in order of first input.
  absl::flat_hash_map<const Labels*, uint32_t> id_of_group;   // Interned group labels -> id.
  absl::flat_hash_map<const Labels*, uint32_t> group_of;      // Input labels -> group id.
  absl::flat_hash_map<const Labels*, const Labels*> base_of;  // count_values: input -> labels.
  // Per position in the input vector: the labels seen there last and their group. Series keep
  // their positions from step to step unless some are missing, so this mostly saves the lookup.
  std::vector<std::pair<const Labels*, uint32_t>> memo;
  int64_t step_no = 0;
  LabelPool& pool = ctx_->labels;
  auto group_id = [&](const Labels* gl) -> uint32_t {
    auto [it, inserted] = id_of_group.try_emplace(gl, static_cast<uint32_t>(groups.size()));
    if (inserted) {
      groups.emplace_back();
      groups.back().labels = gl;
      group_step.push_back(-1);
    }
    return it->second;
  };

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
    ++step_no;
    touched.clear();
    if (memo.size() < v[0].size()) memo.resize(v[0].size(), {nullptr, 0});
    for (size_t i = 0; i < v[0].size(); ++i) {
      const EvalSample& s = v[0][i];
      uint32_t gid = 0;
      if (op == AggregateOp::kCountValues) {
        auto [bit, fresh] = base_of.try_emplace(s.labels, nullptr);
        if (fresh) bit->second = pool.Intern(GroupLabels(*s.labels, e));
        Labels gl = *bit->second;
        SetLabel(&gl, label_name, FormatFloatF(s.v));
        gid = group_id(pool.Intern(std::move(gl)));
      } else if (memo[i].first == s.labels) {
        gid = memo[i].second;
      } else {
        auto [git, fresh] = group_of.try_emplace(s.labels, 0);
        if (fresh) git->second = group_id(pool.Intern(GroupLabels(*s.labels, e)));
        gid = git->second;
        memo[i] = {s.labels, gid};
      }
      const double f = s.v;
      if (group_step[gid] != step_no) {
        group_step[gid] = step_no;
        touched.push_back(gid);
        Group& g = groups[gid];
        AccInit(op, f, &g);
        g.values.clear();
        g.samples.clear();
        g.drop_name = s.drop_name;
        if (op == AggregateOp::kQuantile) g.values.push_back(f);
        if (op == AggregateOp::kTopk || op == AggregateOp::kBottomk || op == AggregateOp::kLimitk ||
            (op == AggregateOp::kLimitRatio && LimitRatioKeeps(ratio, *s.labels))) {
          g.samples.push_back(s);
        }
        continue;
      }
      Group& g = groups[gid];
      g.drop_name = g.drop_name || s.drop_name;
      switch (op) {
        case AggregateOp::kQuantile:
          g.values.push_back(f);
          break;
        case AggregateOp::kTopk:
        case AggregateOp::kBottomk:
        case AggregateOp::kLimitk:
          g.samples.push_back(s);
          break;
        case AggregateOp::kLimitRatio:
          if (LimitRatioKeeps(ratio, *s.labels)) g.samples.push_back(s);
          break;
        default:
          AccAdd(op, f, &g);
          break;
      }
    }
    for (const uint32_t gid : touched) {
      Group& g = groups[gid];
      double x = 0;
      switch (op) {
        case AggregateOp::kQuantile:
          x = Quantile(p, std::move(g.values));
          break;
        case AggregateOp::kTopk:
        case AggregateOp::kBottomk: {
          const bool top = op == AggregateOp::kTopk;
          std::stable_sort(
              g.samples.begin(), g.samples.end(),
              [top](const EvalSample& a, const EvalSample& b) { return Better(a.v, b.v, top); });
          if (static_cast<int64_t>(g.samples.size()) > k) g.samples.resize(k);
          out->insert(out->end(), g.samples.begin(), g.samples.end());
          continue;
        }
        case AggregateOp::kLimitk:
          if (static_cast<int64_t>(g.samples.size()) > k) g.samples.resize(k);
          out->insert(out->end(), g.samples.begin(), g.samples.end());
          continue;
        case AggregateOp::kLimitRatio:
          out->insert(out->end(), g.samples.begin(), g.samples.end());
          continue;
        default:
          x = AccResult(op, g);
          break;
      }
      const bool drop_name = op != AggregateOp::kCountValues && g.drop_name;
      out->push_back(EvalSample{g.labels, x, ts, drop_name});
    }
    return absl::OkStatus();
  };
  EvalResult r;
  r.type = ValueType::kVector;
  EMBER_ASSIGN_OR_RETURN(r.series, RangeEval(args, step));
  return r;
}

}  // namespace ember::query
