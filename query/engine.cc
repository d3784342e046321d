// Engine: parses a query, runs the Evaluator over its steps and shapes the result, removing the
// metric names marked for removal (Prometheus's delayed name removal) at the very end.
#include "query/engine.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "query/ast.h"
#include "query/eval.h"
#include "query/parser/parser.h"
#include "util/status_macros.h"

namespace ember::query {
namespace {

// Prometheus's limit on points per series of a range query.
constexpr int64_t kMaxPointsPerSeries = 11000;

void DropMarkedNames(SeriesList* list) {
  for (EvalSeries& s : *list) {
    if (!s.drop_name) continue;
    // Prometheus drops the type-and-unit metadata labels together with the name.
    std::erase_if(s.labels, [](const Label& l) {
      return l.name == kMetricNameLabel || l.name == "__type__" || l.name == "__unit__";
    });
  }
}

Matrix ToMatrix(SeriesList list) {
  std::sort(list.begin(), list.end(), [](const EvalSeries& a, const EvalSeries& b) {
    return LabelsLess(a.labels, b.labels);
  });
  Matrix m;
  m.reserve(list.size());
  for (EvalSeries& s : list) m.push_back(MatrixSeries{std::move(s.labels), std::move(s.points)});
  return m;
}

QueryContext MakeContext(storage::Querier* querier, const EngineOptions& options,
                         std::string_view text, const std::atomic<bool>* cancel, int64_t start,
                         int64_t end) {
  QueryContext ctx;
  ctx.querier = querier;
  ctx.options = &options;
  ctx.text = text;
  ctx.cancel = cancel;
  ctx.deadline = absl::Now() + absl::Milliseconds(options.timeout_ms);
  ctx.query_start = start;
  ctx.query_end = end;
  return ctx;
}

absl::Status CheckEvalTime(const char* what, int64_t t_ms) {
  if (t_ms < -kMaxEvalTimeMs || t_ms > kMaxEvalTimeMs) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " ", t_ms, " ms is out of range: evaluation times lie within +-",
                     kMaxEvalTimeMs, " ms"));
  }
  return absl::OkStatus();
}

// Gives back what the query still accounts for in EngineOptions::memory_in_use, however the
// evaluation ends.
class ReleaseOnExit {
 public:
  explicit ReleaseOnExit(QueryContext* ctx) : ctx_(ctx) {}
  ~ReleaseOnExit() { ctx_->ReleaseAll(); }
  ReleaseOnExit(const ReleaseOnExit&) = delete;
  ReleaseOnExit& operator=(const ReleaseOnExit&) = delete;

 private:
  QueryContext* ctx_;
};

}  // namespace

Engine::Engine(storage::Querier* querier, EngineOptions options)
    : querier_(querier), options_(std::move(options)) {}

Engine::Engine(Db* db, EngineOptions options)
    : Engine(storage::QuerierOf(db), std::move(options)) {}

absl::StatusOr<QueryResult> Engine::InstantQuery(std::string_view query, int64_t t_ms,
                                                 const std::atomic<bool>* cancel) {
  EMBER_RETURN_IF_ERROR(CheckEvalTime("time", t_ms));
  EMBER_ASSIGN_OR_RETURN(ExprPtr expr, ParseExpr(query));
  QueryContext ctx = MakeContext(querier_, options_, query, cancel, t_ms, t_ms);
  ReleaseOnExit release(&ctx);
  Evaluator ev(&ctx, t_ms, t_ms, 1);
  QueryResult out;
  const ValueType type = expr->type();
  out.value.type = type;
  out.value.t = t_ms;
  if (type == ValueType::kMatrix) {
    EMBER_ASSIGN_OR_RETURN(SeriesList list, ev.EvalRangeVectorAt(*expr));
    DropMarkedNames(&list);
    EMBER_RETURN_IF_ERROR(MergeSameLabelsets(&list));
    out.value.matrix = ToMatrix(std::move(list));
  } else {
    EMBER_ASSIGN_OR_RETURN(EvalResult r, ev.Eval(*expr));
    switch (r.type) {
      case ValueType::kString:
        out.value.str = std::move(r.str);
        break;
      case ValueType::kScalar:
        out.value.scalar =
            r.series.empty() || r.series[0].points.empty() ? 0 : r.series[0].points[0].v;
        break;
      default: {
        DropMarkedNames(&r.series);
        Vector& vec = out.value.vector;
        vec.reserve(r.series.size());
        for (EvalSeries& s : r.series) {
          if (s.points.empty()) continue;
          vec.push_back(VectorSample{std::move(s.labels), t_ms, s.points[0].v});
        }
        absl::flat_hash_set<std::string> seen;
        for (const VectorSample& s : vec) {
          if (!seen.insert(LabelsKey(s.labels)).second) {
            return absl::InvalidArgumentError(
                "vector cannot contain metrics with the same labelset");
          }
        }
        break;
      }
    }
  }
  out.annotations = std::move(ctx.annotations);
  out.peak_memory_bytes = ctx.peak_memory_bytes;
  return out;
}

absl::StatusOr<QueryResult> Engine::RangeQuery(std::string_view query, int64_t start_ms,
                                               int64_t end_ms, int64_t step_ms,
                                               const std::atomic<bool>* cancel) {
  if (step_ms <= 0) {
    return absl::InvalidArgumentError(
        "zero or negative query resolution step widths are not accepted. Try a positive "
        "integer");
  }
  if (end_ms < start_ms) {
    return absl::InvalidArgumentError("end timestamp must not be before start time");
  }
  EMBER_RETURN_IF_ERROR(CheckEvalTime("start", start_ms));
  EMBER_RETURN_IF_ERROR(CheckEvalTime("end", end_ms));
  if ((end_ms - start_ms) / step_ms > kMaxPointsPerSeries) {  // As Prometheus's API checks.
    return absl::InvalidArgumentError(
        "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the "
        "query resolution (?step=XX)");
  }
  EMBER_ASSIGN_OR_RETURN(ExprPtr expr, ParseExpr(query));
  const ValueType type = expr->type();
  if (type != ValueType::kVector && type != ValueType::kScalar) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid expression type \"", std::string(ValueTypeName(type)),
                     "\" for range query, must be Scalar or instant Vector"));
  }
  QueryContext ctx = MakeContext(querier_, options_, query, cancel, start_ms, end_ms);
  ReleaseOnExit release(&ctx);
  Evaluator ev(&ctx, start_ms, end_ms, step_ms);
  EMBER_ASSIGN_OR_RETURN(EvalResult r, ev.Eval(*expr));
  DropMarkedNames(&r.series);
  EMBER_RETURN_IF_ERROR(MergeSameLabelsets(&r.series));
  QueryResult out;
  out.value.type = ValueType::kMatrix;
  out.value.t = end_ms;
  out.value.matrix = ToMatrix(std::move(r.series));
  out.annotations = std::move(ctx.annotations);
  out.peak_memory_bytes = ctx.peak_memory_bytes;
  return out;
}

}  // namespace ember::query
