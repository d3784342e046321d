// Evaluator core: selectors, subqueries, the step loop (RangeEval) and range-vector functions.
#include "query/eval.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "ember/sample.h"
#include "query/functions/functions.h"
#include "query/functions/signatures.h"
#include "storage/label_codec.h"
#include "util/status_macros.h"

namespace ember::query {

absl::Status QueryContext::Check() {
  if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) {
    return absl::CancelledError("query was canceled in query execution");
  }
  if (absl::Now() > deadline) {
    return absl::DeadlineExceededError(absl::StrCat(
        "query timed out in query execution (timeout_ms=", options->timeout_ms, ")"));
  }
  return absl::OkStatus();
}

absl::Status QueryContext::AddSamples(int64_t n) {
  current_samples += n;
  if (current_samples > options->max_samples) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "query processing would load too many samples into memory in query execution "
        "(max_samples=",
        options->max_samples, ")"));
  }
  return absl::OkStatus();
}

void QueryContext::Release(int64_t bytes) {
  bytes = std::min(memory_bytes, bytes);
  memory_bytes -= bytes;
  if (options->memory_in_use != nullptr) options->memory_in_use->fetch_sub(bytes);
}

absl::Status QueryContext::Grow(std::vector<Point>* points, size_t n) {
  const size_t want = std::max<size_t>(n, std::max<size_t>(2 * points->capacity(), 16));
  EMBER_RETURN_IF_ERROR(
      Charge(static_cast<int64_t>((want - points->capacity()) * sizeof(Point))));
  points->reserve(want);
  return absl::OkStatus();
}

absl::Status QueryContext::Charge(int64_t bytes) {
  memory_bytes += bytes;
  peak_memory_bytes = std::max(peak_memory_bytes, memory_bytes);
  if (options->memory_in_use != nullptr) options->memory_in_use->fetch_add(bytes);
  if (options->max_memory_bytes > 0 && memory_bytes > options->max_memory_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "query would use more than ", options->max_memory_bytes,
        " bytes of memory (query.max-memory-bytes); narrow the selectors, the range or the "
        "subquery resolution"));
  }
  return absl::OkStatus();
}

void QueryContext::ReleaseAll() {
  if (options->memory_in_use != nullptr) options->memory_in_use->fetch_sub(memory_bytes);
  memory_bytes = 0;
}

namespace {

// The point buffers of `list`, as accounted by QueryContext::Push and Reserve.
int64_t PointBytes(const SeriesList& list) {
  int64_t n = 0;
  for (const EvalSeries& s : list) n += static_cast<int64_t>(s.points.capacity() * sizeof(Point));
  return n;
}

// What a label set costs in memory, for the query's memory account.
int64_t LabelsBytes(const Labels& labels) {
  int64_t n = static_cast<int64_t>(sizeof(Labels));
  for (const Label& l : labels) {
    n += static_cast<int64_t>(sizeof(Label) + l.name.size() + l.value.size());
  }
  return n;
}

std::string Position(std::string_view text, PosRange pos) {
  int line = 1;
  int col = 1;
  for (int32_t i = 0; i < pos.begin && i < static_cast<int32_t>(text.size()); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return absl::StrCat(line, ":", col);
}

void AddUnique(std::vector<std::string>* v, std::string s) {
  if (std::find(v->begin(), v->end(), s) == v->end()) v->push_back(std::move(s));
}

}  // namespace

void QueryContext::Warn(std::string_view msg, PosRange pos) {
  AddUnique(&annotations.warnings,
            absl::StrCat("PromQL warning: ", std::string(msg), " (", Position(text, pos), ")"));
}

void QueryContext::Info(std::string_view msg, PosRange pos) {
  AddUnique(&annotations.infos,
            absl::StrCat("PromQL info: ", std::string(msg), " (", Position(text, pos), ")"));
}

bool LabelsLess(const Labels& a, const Labels& b) {
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    if (a[i].name != b[i].name) return a[i].name < b[i].name;
    if (a[i].value != b[i].value) return a[i].value < b[i].value;
  }
  return a.size() < b.size();
}

std::string LabelsKey(const Labels& labels) {
  std::string key;
  for (const Label& l : labels) {
    absl::StrAppend(&key, l.name.size(), ":", l.name, l.value.size(), ":", l.value);
  }
  return key;
}

uint64_t HashLabels(const Labels& labels) {
  thread_local std::string buf;
  buf.clear();
  for (const Label& l : labels) {
    buf.append(l.name);
    buf.push_back('\xff');
    buf.append(l.value);
    buf.push_back('\xff');
  }
  return storage::HashLabelBytes(buf);
}

const Labels& NoLabels() {
  static const Labels* const kEmpty = new Labels();
  return *kEmpty;
}

const Labels* LabelPool::Intern(Labels labels) {
  auto it = index_.find(&labels);
  if (it != index_.end()) return *it;
  const Labels* p = &store_.emplace_back(std::move(labels));
  index_.insert(p);
  return p;
}

Labels WithoutName(const Labels& labels) {
  Labels out;
  out.reserve(labels.size());
  for (const Label& l : labels) {
    if (l.name != kMetricNameLabel) out.push_back(l);
  }
  return out;
}

void SetLabel(Labels* labels, std::string_view name, std::string_view value) {
  auto it = std::lower_bound(labels->begin(), labels->end(), name,
                             [](const Label& l, std::string_view n) { return l.name < n; });
  if (it != labels->end() && it->name == name) {
    if (value.empty()) {
      labels->erase(it);
    } else {
      it->value = std::string(value);
    }
  } else if (!value.empty()) {
    labels->insert(it, Label{std::string(name), std::string(value)});
  }
}

absl::Status MergeSameLabelsets(SeriesList* list) {
  absl::flat_hash_map<std::string, size_t> index;
  SeriesList out;
  for (EvalSeries& s : *list) {
    auto [it, inserted] = index.try_emplace(LabelsKey(s.labels), out.size());
    if (inserted) {
      out.push_back(std::move(s));
      continue;
    }
    EvalSeries& dst = out[it->second];
    std::vector<Point> pts;
    pts.reserve(dst.points.size() + s.points.size());
    std::merge(dst.points.begin(), dst.points.end(), s.points.begin(), s.points.end(),
               std::back_inserter(pts), [](const Point& a, const Point& b) { return a.t < b.t; });
    for (size_t i = 1; i < pts.size(); ++i) {
      if (pts[i].t == pts[i - 1].t) {
        return absl::InvalidArgumentError("vector cannot contain metrics with the same labelset");
      }
    }
    dst.points = std::move(pts);
  }
  *list = std::move(out);
  return absl::OkStatus();
}

const Expr& Unparen(const Expr& e) {
  const Expr* p = &e;
  while (p->kind == ExprKind::kParen) p = p->As<ParenExpr>().expr.get();
  return *p;
}

int64_t Evaluator::AtTime(AtModifier at, int64_t at_ms, int64_t ts) const {
  switch (at) {
    case AtModifier::kNone:
      return ts;
    case AtModifier::kTimestamp:
      return at_ms;
    case AtModifier::kStart:
      return ctx_->query_start;
    case AtModifier::kEnd:
      return ctx_->query_end;
  }
  return ts;
}

absl::StatusOr<EvalResult> Evaluator::Scalar(const std::function<double(int64_t)>& f) const {
  EvalResult r;
  r.type = ValueType::kScalar;
  r.series.resize(1);
  EMBER_RETURN_IF_ERROR(ctx_->Reserve(&r.series[0].points, static_cast<size_t>(num_steps())));
  for (int64_t ts = start_; ts <= end_; ts += interval_) r.series[0].points.push_back({ts, f(ts)});
  return r;
}

absl::StatusOr<SeriesList> Evaluator::LoadSeries(const VectorSelector& vs, int64_t mint,
                                                 int64_t maxt, bool drop_stale,
                                                 int64_t* loaded) {
  SeriesList out;
  if (mint > maxt) return out;
  EMBER_ASSIGN_OR_RETURN(std::vector<Series> series, ctx_->db->Select(vs.matchers, mint, maxt));
  out.reserve(series.size());
  for (Series& s : series) {
    EMBER_RETURN_IF_ERROR(ctx_->Check());
    EvalSeries es;
    es.labels = std::move(s.labels);
    EMBER_RETURN_IF_ERROR(ctx_->Charge(LabelsBytes(es.labels)));
    SampleIterator* it = s.samples.get();
    int64_t n = 0;
    while (it->Next()) {
      const Sample smp = it->At();
      if (smp.t < mint || smp.t > maxt) continue;
      if (drop_stale && IsStaleNaN(smp.v)) continue;
      EMBER_RETURN_IF_ERROR(ctx_->Push(&es.points, {smp.t, smp.v}));
      if ((++n & 4095) == 0) EMBER_RETURN_IF_ERROR(ctx_->AddSamples(4096));
    }
    EMBER_RETURN_IF_ERROR(it->status());
    EMBER_RETURN_IF_ERROR(ctx_->AddSamples(n & 4095));
    *loaded += n;
    if (!es.points.empty()) out.push_back(std::move(es));
  }
  std::sort(out.begin(), out.end(),
            [](const EvalSeries& a, const EvalSeries& b) { return LabelsLess(a.labels, b.labels); });
  return out;
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

absl::StatusOr<SeriesList> Evaluator::EvalSubqueryPoints(const SubqueryExpr& sq,
                                                         int64_t* loaded) {
  const int64_t step =
      sq.step_ms > 0 ? sq.step_ms : ctx_->options->default_subquery_step_ms;
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
        (base_end - inner_start) / step + 1, " steps (max_samples=",
        ctx_->options->max_samples, ")"));
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

absl::StatusOr<Evaluator::RangeArg> Evaluator::LoadRangeArg(const Expr& expr) {
  const Expr& e = Unparen(expr);
  RangeArg a;
  if (e.kind == ExprKind::kMatrixSelector) {
    const MatrixSelector& ms = e.As<MatrixSelector>();
    const VectorSelector& vs = *ms.selector;
    a.range_ms = ms.range_ms;
    a.offset_ms = vs.offset_ms;
    a.at = vs.at;
    a.at_ms = vs.at_ms;
    EMBER_ASSIGN_OR_RETURN(a.series, LoadSeries(vs, WindowEnd(a, start_) - a.range_ms + 1,
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
  std::sort(out.begin(), out.end(),
            [](const EvalSeries& x, const EvalSeries& y) { return LabelsLess(x.labels, y.labels); });
  return out;
}

namespace {

// Finds the result series of RangeEval's output samples. A label pointer always holds the same
// labels during a RangeEval, so it is looked up by pointer first; only a pointer not seen before
// costs a content hash (and a comparison of the labels on a hash match).
class ResultIndex {
 public:
  // The index in `*result` of the series with `*labels`, appending one (with no points) if there
  // is none; `*inserted` says which.
  size_t FindOrAdd(const Labels* labels, SeriesList* result, bool* inserted) {
    if (labels == nullptr) labels = &NoLabels();
    auto pit = by_ptr_.find(labels);
    if (pit != by_ptr_.end()) {
      *inserted = false;
      return pit->second;
    }
    const uint64_t h = HashLabels(*labels);
    auto [hit, fresh] = by_hash_.try_emplace(h, result->size());
    size_t idx = kNone;
    if (!fresh) {
      for (idx = hit->second; idx != kNone; idx = same_hash_[idx]) {
        if ((*result)[idx].labels == *labels) break;
      }
    }
    *inserted = idx == kNone;
    if (*inserted) {
      idx = result->size();
      same_hash_.push_back(fresh ? kNone : hit->second);
      hit->second = idx;
      result->push_back(EvalSeries{*labels, {}, false});
    }
    by_ptr_.emplace(labels, idx);
    return idx;
  }

 private:
  static constexpr size_t kNone = ~size_t{0};
  absl::flat_hash_map<const Labels*, size_t> by_ptr_;
  absl::flat_hash_map<uint64_t, size_t> by_hash_;  // Content hash -> latest series with it.
  std::vector<size_t> same_hash_;  // Per series: the previous series with the same hash.
};

}  // namespace

absl::StatusOr<SeriesList> Evaluator::RangeEval(std::span<const EvalResult* const> args,
                                                const StepFn& fn) {
  std::vector<std::vector<size_t>> cursors(args.size());
  for (size_t i = 0; i < args.size(); ++i) cursors[i].assign(args[i]->series.size(), 0);
  std::vector<EvalVector> vecs(args.size());
  for (size_t i = 0; i < args.size(); ++i) vecs[i].reserve(args[i]->series.size());
  EvalVector out;
  const bool single = start_ == end_;
  SeriesList result;
  ResultIndex index;
  for (int64_t ts = start_; ts <= end_; ts += interval_) {
    EMBER_RETURN_IF_ERROR(ctx_->Check());
    for (size_t i = 0; i < args.size(); ++i) {
      EvalVector& vec = vecs[i];
      vec.clear();
      const SeriesList& sl = args[i]->series;
      size_t* cur = cursors[i].data();
      for (size_t j = 0; j < sl.size(); ++j) {
        const std::vector<Point>& pts = sl[j].points;
        size_t c = cur[j];
        while (c < pts.size() && pts[c].t < ts) ++c;
        cur[j] = c;
        if (c < pts.size() && pts[c].t == ts) {
          vec.push_back(EvalSample{&sl[j].labels, pts[c].v, ts, sl[j].drop_name});
        }
      }
    }
    out.clear();
    int64_t inputs = 1;
    for (const EvalVector& v : vecs) inputs += static_cast<int64_t>(v.size());
    EMBER_RETURN_IF_ERROR(ctx_->CheckWork(inputs));
    EMBER_RETURN_IF_ERROR(fn(std::span<EvalVector>(vecs), ts, &out));
    if (single) result.reserve(out.size());
    for (const EvalSample& s : out) {
      bool inserted = false;
      const size_t idx = index.FindOrAdd(s.labels, &result, &inserted);
      if (inserted) EMBER_RETURN_IF_ERROR(ctx_->Charge(LabelsBytes(*s.labels)));
      EvalSeries& dst = result[idx];
      // A series' name goes if any step's does (Prometheus marks whole series).
      if (s.drop_name) dst.drop_name = true;
      if (!inserted && !dst.points.empty() && dst.points.back().t == ts) {
        return absl::InvalidArgumentError("vector cannot contain metrics with the same labelset");
      }
      EMBER_RETURN_IF_ERROR(ctx_->Push(&dst.points, {ts, s.v}));
    }
    if (single) return result;
  }
  return result;
}

absl::StatusOr<EvalResult> Evaluator::EvalUnary(const UnaryExpr& e) {
  EMBER_ASSIGN_OR_RETURN(EvalResult r, Eval(*e.expr));
  if (!e.negate) return r;
  for (EvalSeries& s : r.series) {
    for (Point& p : s.points) p.v = -p.v;
    if (r.type == ValueType::kVector) s.drop_name = true;
  }
  return r;
}

absl::StatusOr<EvalResult> Evaluator::Eval(const Expr& e) {
  EMBER_RETURN_IF_ERROR(ctx_->Check());
  switch (e.kind) {
    case ExprKind::kNumberLiteral: {
      const double v = e.As<NumberLiteral>().value;
      return Scalar([v](int64_t) { return v; });
    }
    case ExprKind::kStringLiteral: {
      EvalResult r;
      r.type = ValueType::kString;
      r.str = e.As<StringLiteral>().value;
      return r;
    }
    case ExprKind::kVectorSelector:
      return EvalVectorSelector(e.As<VectorSelector>(), false);
    case ExprKind::kMatrixSelector:
    case ExprKind::kSubquery:
      return absl::InvalidArgumentError(
          absl::StrCat("range vector can only be evaluated as a function argument or at the "
                       "top level of an instant query: ",
                       ToString(e)));
    case ExprKind::kParen:
      return Eval(*e.As<ParenExpr>().expr);
    case ExprKind::kUnary:
      return EvalUnary(e.As<UnaryExpr>());
    case ExprKind::kBinary:
      return EvalBinary(e.As<BinaryExpr>());
    case ExprKind::kAggregate:
      return EvalAggregate(e.As<AggregateExpr>());
    case ExprKind::kCall:
      return EvalCall(e.As<Call>());
  }
  return absl::InternalError("unknown expression kind");
}

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
  EMBER_ASSIGN_OR_RETURN(RangeArg arg, LoadRangeArg(*e.args[matrix_arg]));
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
  for (EvalSeries& s : arg.series) {
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
      continue;
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
