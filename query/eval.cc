// Evaluator core: the query context, label helpers, the step loop (RangeEval) and the walk over
// the AST. Selectors and subqueries are in eval_select.cc, range-vector functions in
// eval_range.cc.
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
    return absl::DeadlineExceededError(
        absl::StrCat("query timed out in query execution (timeout_ms=", options->timeout_ms, ")"));
  }
  return absl::OkStatus();
}

absl::Status QueryContext::AddSamples(int64_t n) {
  current_samples += n;
  if (current_samples > options->max_samples) {
    return absl::ResourceExhaustedError(
        absl::StrCat("query processing would load too many samples into memory in query execution "
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
  EMBER_RETURN_IF_ERROR(Charge(static_cast<int64_t>((want - points->capacity()) * sizeof(Point))));
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

int64_t PointBytes(const SeriesList& list) {
  int64_t n = 0;
  for (const EvalSeries& s : list) n += static_cast<int64_t>(s.points.capacity() * sizeof(Point));
  return n;
}

int64_t LabelsBytes(const Labels& labels) {
  int64_t n = static_cast<int64_t>(sizeof(Labels));
  for (const Label& l : labels) {
    n += static_cast<int64_t>(sizeof(Label) + l.name.size() + l.value.size());
  }
  return n;
}

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

}  // namespace ember::query
