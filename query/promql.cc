// ember::promql, the public PromQL entry point (include/ember/promql.h): checks the options,
// runs query::Engine and converts its values to the public types. The one file that knows
// both sides, so the engine's own types never reach an embedder.
#include "ember/promql.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "query/engine.h"
#include "query/value.h"
#include "util/status_macros.h"

namespace ember::promql {
namespace {

absl::Status CheckPositive(const char* name, int64_t value) {
  if (value > 0) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("promql::EngineOptions: ", name, " must be > 0, got ", value));
}

absl::Status CheckOptions(const EngineOptions& options) {
  EMBER_RETURN_IF_ERROR(CheckPositive("lookback_delta_ms", options.lookback_delta_ms));
  EMBER_RETURN_IF_ERROR(CheckPositive("timeout_ms", options.timeout_ms));
  EMBER_RETURN_IF_ERROR(CheckPositive("max_samples", options.max_samples));
  EMBER_RETURN_IF_ERROR(
      CheckPositive("default_subquery_step_ms", options.default_subquery_step_ms));
  if (options.max_memory_bytes < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("promql::EngineOptions: max_memory_bytes must be >= 0 (0: no limit), got ",
                     options.max_memory_bytes));
  }
  return absl::OkStatus();
}

query::EngineOptions ToEngineOptions(const EngineOptions& options) {
  query::EngineOptions out;
  out.lookback_delta_ms = options.lookback_delta_ms;
  out.timeout_ms = options.timeout_ms;
  out.max_samples = options.max_samples;
  out.max_memory_bytes = options.max_memory_bytes;
  out.default_subquery_step_ms = options.default_subquery_step_ms;
  return out;
}

Matrix ToMatrix(query::Matrix in) {
  Matrix out;
  out.reserve(in.size());
  for (query::MatrixSeries& s : in) {
    RangeSeries series;
    series.labels = std::move(s.labels);
    series.samples.reserve(s.points.size());
    for (const query::Point& p : s.points) series.samples.push_back(Sample{p.t, p.v});
    out.push_back(std::move(series));
  }
  return out;
}

Result ToResult(query::QueryResult in) {
  Result out;
  query::Value& v = in.value;
  switch (v.type) {
    case query::ValueType::kScalar:
      out.value = Scalar{v.t, v.scalar};
      break;
    case query::ValueType::kString:
      out.value = String{v.t, std::move(v.str)};
      break;
    case query::ValueType::kVector: {
      Vector vec;
      vec.reserve(v.vector.size());
      for (query::VectorSample& s : v.vector) {
        vec.push_back(InstantSample{std::move(s.labels), s.t, s.v});
      }
      out.value = std::move(vec);
      break;
    }
    case query::ValueType::kMatrix:
    case query::ValueType::kNone:  // Never returned by the engine; an empty matrix is harmless.
      out.value = ToMatrix(std::move(v.matrix));
      break;
  }
  out.warnings = std::move(in.annotations.warnings);
  out.infos = std::move(in.annotations.infos);
  out.peak_memory_bytes = in.peak_memory_bytes;
  return out;
}

// Thread-safe because query::Engine is and this adds no state.
class EngineImpl final : public Engine {
 public:
  EngineImpl(Db* db, const EngineOptions& options) : engine_(db, ToEngineOptions(options)) {}

  absl::StatusOr<Result> InstantQuery(std::string_view query, int64_t t_ms,
                                      const std::atomic<bool>* cancel) override {
    EMBER_ASSIGN_OR_RETURN(query::QueryResult r, engine_.InstantQuery(query, t_ms, cancel));
    return ToResult(std::move(r));
  }

  absl::StatusOr<Result> RangeQuery(std::string_view query, int64_t start_ms, int64_t end_ms,
                                    int64_t step_ms, const std::atomic<bool>* cancel) override {
    EMBER_ASSIGN_OR_RETURN(query::QueryResult r,
                           engine_.RangeQuery(query, start_ms, end_ms, step_ms, cancel));
    return ToResult(std::move(r));
  }

 private:
  query::Engine engine_;
};

}  // namespace

std::string_view ValueTypeName(const Value& value) {
  struct Name {
    std::string_view operator()(const Scalar&) const { return "scalar"; }
    std::string_view operator()(const Vector&) const { return "vector"; }
    std::string_view operator()(const Matrix&) const { return "matrix"; }
    std::string_view operator()(const String&) const { return "string"; }
  };
  return std::visit(Name{}, value);
}

absl::StatusOr<std::unique_ptr<Engine>> NewEngine(Db* db, const EngineOptions& options) {
  if (db == nullptr) return absl::InvalidArgumentError("promql::NewEngine: db is null");
  EMBER_RETURN_IF_ERROR(CheckOptions(options));
  return std::make_unique<EngineImpl>(db, options);
}

}  // namespace ember::promql
