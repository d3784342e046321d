// The evaluator behind Engine: walks an AST over every step of a query, as Prometheus's
// promql/engine.go does. Each node evaluates to a SeriesList with one point per step at which it
// has a value; selectors load their series once for the whole query range and slide windows.
// Internal to query/; one Evaluator per (sub)query range, not thread-safe.
#ifndef EMBER_QUERY_EVAL_H_
#define EMBER_QUERY_EVAL_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "query/ast.h"
#include "query/engine.h"
#include "query/value.h"
#include "storage/querier.h"
#include "util/status_macros.h"

namespace ember::query {

// One series of an evaluated expression: points at the steps where it has a value.
// `drop_name`: the metric name is to be removed once the query finishes (Prometheus's delayed
// name removal), so label functions and `by (__name__)` still see it meanwhile.
struct EvalSeries {
  Labels labels;
  std::vector<Point> points;
  bool drop_name = false;
};
using SeriesList = std::vector<EvalSeries>;

// Hash of a label set's content (XXH64 over name 0xff value 0xff per label): equal label sets
// hash equal. Hash maps keyed by it must still compare the labels on a match.
uint64_t HashLabels(const Labels& labels);
// The empty label set, for samples of scalars.
const Labels& NoLabels();

// Label sets made during a query (aggregation groups, binary operator results, ...), interned:
// equal sets get the same pointer, which stays valid and unchanged until the pool is destroyed.
// Not thread-safe.
class LabelPool {
 public:
  LabelPool() = default;
  LabelPool(LabelPool&&) = default;
  LabelPool& operator=(LabelPool&&) = default;

  const Labels* Intern(Labels labels);

 private:
  struct ContentHash {
    size_t operator()(const Labels* l) const { return HashLabels(*l); }
  };
  struct ContentEq {
    bool operator()(const Labels* a, const Labels* b) const { return *a == *b; }
  };
  std::deque<Labels> store_;  // Stable addresses.
  absl::flat_hash_set<const Labels*, ContentHash, ContentEq> index_;
};

// One element of an instant vector at one step. `t` is the step, except for vectors built by a
// selector for timestamp(), where it is the sample's own timestamp.
// `labels` refers to labels that stay valid and unchanged for the whole RangeEval that sees the
// sample: a series of one of its arguments, QueryContext::labels, or a step function's own
// long-lived label set. Never null.
struct EvalSample {
  const Labels* labels = &NoLabels();
  double v = 0;
  int64_t t = 0;
  bool drop_name = false;
};
using EvalVector = std::vector<EvalSample>;

// A scalar is a SeriesList with one label-less series holding a point at every step.
struct EvalResult {
  ValueType type = ValueType::kNone;
  SeriesList series;
  std::string str;
};

// State shared by every evaluator of one query.
struct QueryContext {
  storage::Querier* querier = nullptr;  // Every read goes through it.
  const EngineOptions* options = nullptr;
  std::string_view text;  // The query, for annotation positions.
  const std::atomic<bool>* cancel = nullptr;
  absl::Time deadline;
  int64_t query_start = 0;  // `@ start()`.
  int64_t query_end = 0;    // `@ end()`.
  int64_t current_samples = 0;
  int64_t memory_bytes = 0;       // Accounted bytes held now (see EngineOptions).
  int64_t peak_memory_bytes = 0;  // The most memory_bytes was.
  Annotations annotations;
  int64_t polls = 0;
  int64_t work = 0;
  LabelPool labels;  // Label sets created while evaluating.

  // Cancelled / DeadlineExceeded once the client went away or the timeout passed.
  absl::Status Check();
  // Cheap enough for inner loops: does the real check every 1024th call.
  absl::Status CheckSometimes() { return (++polls & 1023) == 0 ? Check() : absl::OkStatus(); }
  // For loops whose iterations differ in cost: counts `units` of work (points visited) and
  // checks once about every 64 Ki of them, so a cancel or the timeout is seen within a
  // fraction of a millisecond of CPU whatever the windows' sizes.
  absl::Status CheckWork(int64_t units) {
    work += units;
    if (work < (int64_t{1} << 16)) return absl::OkStatus();
    work = 0;
    return Check();
  }
  // Counts `n` more samples held in memory; ResourceExhausted past max_samples.
  absl::Status AddSamples(int64_t n);
  // Forgets `n` samples counted by AddSamples, freed now.
  void ReleaseSamples(int64_t n) { current_samples -= n; }
  // Accounts `bytes` more memory held; ResourceExhausted past max_memory_bytes.
  absl::Status Charge(int64_t bytes);
  // Takes back `bytes` accounted by Charge, freed now.
  void Release(int64_t bytes);
  // Takes back what the query still holds from EngineOptions::memory_in_use; at its end.
  void ReleaseAll();
  // Appends `p` to `*points`. When the vector must grow, the growth is accounted first, so a
  // query over its memory budget fails before the allocation.
  absl::Status Push(std::vector<Point>* points, const Point& p) {
    if (points->size() == points->capacity()) EMBER_RETURN_IF_ERROR(Grow(points, 0));
    points->push_back(p);
    return absl::OkStatus();
  }
  // Reserves room for `n` points in `*points`, accounting for it first.
  absl::Status Reserve(std::vector<Point>* points, size_t n) {
    return n > points->capacity() ? Grow(points, n) : absl::OkStatus();
  }
  void Warn(std::string_view text, PosRange pos);
  // Grows `*points` to at least `n` points (0: double it), charging the growth.
  absl::Status Grow(std::vector<Point>* points, size_t n);
  void Info(std::string_view text, PosRange pos);
};

// Sorts by label set the way Prometheus does (name, then value, pair by pair).
bool LabelsLess(const Labels& a, const Labels& b);
// A byte string identifying a label set, for hash maps.
std::string LabelsKey(const Labels& labels);
Labels WithoutName(const Labels& labels);
void SetLabel(Labels* labels, std::string_view name, std::string_view value);  // "" deletes.
// Prometheus's labels.Hash(): XXH64 (seed 0) over name 0xff value 0xff for each label in order.
uint64_t PrometheusLabelsHash(const Labels& labels);
// limit_ratio's choice (Prometheus's AddRatioSample): with offset = hash / 2^64-1, keeps the
// series when offset < ratio (ratio >= 0) or offset >= 1 + ratio (ratio < 0).
// REQUIRES: -1 <= ratio <= 1.
bool LimitRatioKeeps(double ratio, const Labels& labels);
// What a SeriesList's point buffers and a label set cost, for the query's memory account.
int64_t PointBytes(const SeriesList& list);
int64_t LabelsBytes(const Labels& labels);
// Sorts by LabelsLess, unless already sorted.
void SortByLabels(SeriesList* list);
// Merges series with equal label sets; InvalidArgument when two have a point at the same step.
absl::Status MergeSameLabelsets(SeriesList* list);

class Evaluator {
 public:
  Evaluator(QueryContext* ctx, int64_t start, int64_t end, int64_t interval)
      : ctx_(ctx), start_(start), end_(end), interval_(interval) {}

  absl::StatusOr<EvalResult> Eval(const Expr& e);
  // Instant query of a range-vector expression (`m[5m]`, a subquery) at start_.
  absl::StatusOr<SeriesList> EvalRangeVectorAt(const Expr& e);

  int64_t start() const { return start_; }
  int64_t end() const { return end_; }
  int64_t interval() const { return interval_; }
  int64_t num_steps() const { return (end_ - start_) / interval_ + 1; }
  QueryContext* ctx() { return ctx_; }

  // Calls `fn` at every step with the instant vectors of `args` (a scalar argument as a
  // one-element vector) and collects what it appends into series. For a single-step query the
  // output keeps `fn`'s order. The argument samples point at the arguments' labels; what `fn`
  // appends must follow EvalSample's rule for `labels` (new label sets: intern them in
  // ctx()->labels). Output series are found by label pointer, then by content hash.
  using StepFn =
      std::function<absl::Status(std::span<EvalVector> args, int64_t ts, EvalVector* out)>;
  absl::StatusOr<SeriesList> RangeEval(std::span<const EvalResult* const> args, const StepFn& fn);

  // Series loaded into memory for a range-vector argument: every point the windows of all
  // steps can see. `window_end(ts)` gives the right end of the (end - range, end] window.
  struct RangeArg {
    SeriesList series;
    int64_t range_ms = 0;
    int64_t offset_ms = 0;
    AtModifier at = AtModifier::kNone;
    int64_t at_ms = 0;
    int64_t loaded = 0;  // Samples counted against max_samples.
  };
  absl::StatusOr<RangeArg> LoadRangeArg(const Expr& e);
  // A matrix selector's window parameters, with no series loaded.
  RangeArg MatrixArg(const MatrixSelector& ms) const;
  // Called with each selected series, its points loaded; may move them out (else the buffer is
  // reused for the next series).
  using SeriesFn = std::function<absl::Status(EvalSeries& s)>;
  // Streams the series of matrix selector `ms`, with the points LoadRangeArg would load, one
  // at a time in label order: only one series' points are held at once. Adds the samples
  // loaded to `*loaded` (still counted in current_samples; the caller releases them).
  absl::Status StreamMatrix(const MatrixSelector& ms, int64_t* loaded, const SeriesFn& fn);
  int64_t WindowEnd(const RangeArg& a, int64_t ts) const;
  // At most how many steps' windows of `a` can hold one of `pts` (sorted by time): a reserve()
  // hint for a range function's output.
  size_t OutputBound(const RangeArg& a, const std::vector<Point>& pts) const;

 private:
  absl::StatusOr<EvalResult> EvalVectorSelector(const VectorSelector& vs, bool sample_time);
  absl::StatusOr<SeriesList> LoadSeries(const VectorSelector& vs, int64_t mint, int64_t maxt,
                                        bool drop_stale, int64_t* loaded);
  // LoadSeries one series at a time: see StreamMatrix.
  absl::Status StreamSeries(const VectorSelector& vs, int64_t mint, int64_t maxt, bool drop_stale,
                            int64_t* loaded, const SeriesFn& fn);
  absl::StatusOr<SeriesList> EvalSubqueryPoints(const SubqueryExpr& sq, int64_t* loaded);
  absl::StatusOr<EvalResult> EvalUnary(const UnaryExpr& e);
  absl::StatusOr<EvalResult> EvalBinary(const BinaryExpr& e);
  absl::StatusOr<EvalResult> EvalAggregate(const AggregateExpr& e);
  absl::StatusOr<EvalResult> EvalCall(const Call& e);
  absl::StatusOr<EvalResult> EvalRangeFunction(const Call& e, int matrix_arg);
  absl::StatusOr<EvalResult> EvalLabelFunction(const Call& e);
  absl::StatusOr<EvalResult> EvalStepFunction(const Call& e);
  int64_t AtTime(AtModifier at, int64_t at_ms, int64_t ts) const;
  absl::StatusOr<EvalResult> Scalar(const std::function<double(int64_t)>& f) const;

  QueryContext* ctx_;
  int64_t start_;
  int64_t end_;
  int64_t interval_;
};

// Strips parentheses.
const Expr& Unparen(const Expr& e);

}  // namespace ember::query

#endif  // EMBER_QUERY_EVAL_H_
