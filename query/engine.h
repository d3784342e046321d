// The PromQL engine: parses and evaluates instant and range queries with Prometheus 3.x
// semantics, reading series only through a storage::Querier (storage/querier.h). Thread-safe:
// one Engine serves concurrent queries.
#ifndef EMBER_QUERY_ENGINE_H_
#define EMBER_QUERY_ENGINE_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "ember/db.h"
#include "query/value.h"
#include "storage/querier.h"

namespace ember::query {

struct EngineOptions {
  int64_t lookback_delta_ms = 5 * 60 * 1000;
  // A query that runs longer fails with DeadlineExceeded ("query timed out in ...").
  int64_t timeout_ms = 2 * 60 * 1000;
  // Samples held in memory at once; beyond it the query fails with ResourceExhausted
  // ("query processing would load too many samples into memory in ...").
  int64_t max_samples = 50'000'000;
  // Bytes a query may hold in memory: samples loaded from storage, step vectors and subquery
  // buffers, as the evaluator accounts for them (16 bytes a point plus label bytes). Past it
  // the query fails with ResourceExhausted ("query would use more than ... bytes of memory"),
  // checked as the memory grows, so a query ends before the allocator fails. 0: no limit.
  int64_t max_memory_bytes = 0;
  // Step of a subquery written without one (`x[5m:]`). `ember serve` sets the config's
  // global.evaluation_interval, as Prometheus does.
  int64_t default_subquery_step_ms = 60 * 1000;
  // When set, every running query adds the bytes it accounts for here while it runs (for
  // /metrics). Not owned; must outlive the queries.
  std::atomic<int64_t>* memory_in_use = nullptr;
};

// Non-fatal annotations a query produced, as Prometheus returns them.
struct Annotations {
  std::vector<std::string> warnings;
  std::vector<std::string> infos;
};

struct QueryResult {
  Value value;  // Instant: its own type. Range: kMatrix, points at every step with a value.
  Annotations annotations;
  int64_t peak_memory_bytes = 0;  // The most the query held at once, as accounted.
};

class Engine {
 public:
  // `querier` must outlive the engine.
  Engine(storage::Querier* querier, EngineOptions options);
  // Reads `db` (from Db::Open) through its querier: storage::QuerierOf(db).
  Engine(Db* db, EngineOptions options);

  // Evaluation times must lie within +-kMaxEvalTimeMs (query/ast.h); others are
  // InvalidArgument.
  // Evaluates `query` at `t_ms`. InvalidArgument (with "line:col: parse error: ...") for a bad
  // query; DeadlineExceeded, ResourceExhausted, Cancelled for the limits; other evaluation
  // errors (e.g. "many-to-many matching not allowed") as InvalidArgument.
  // `cancel`, when non-null, is polled: set it to true to stop the query at once.
  absl::StatusOr<QueryResult> InstantQuery(std::string_view query, int64_t t_ms,
                                           const std::atomic<bool>* cancel = nullptr);
  // Evaluates at start, start + step, ... <= end. REQUIRES nothing: bad ranges are
  // InvalidArgument. An instant-vector or scalar query gives a matrix; a range-vector query is
  // InvalidArgument, as in Prometheus.
  absl::StatusOr<QueryResult> RangeQuery(std::string_view query, int64_t start_ms, int64_t end_ms,
                                         int64_t step_ms,
                                         const std::atomic<bool>* cancel = nullptr);

 private:
  storage::Querier* querier_;
  EngineOptions options_;
};

}  // namespace ember::query

#endif  // EMBER_QUERY_ENGINE_H_
