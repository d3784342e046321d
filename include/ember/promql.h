// PromQL for embedders: instant and range queries over an ember::Db, evaluated by the same
// engine `ember serve` answers /api/v1/query with (Prometheus 3.x semantics), returning typed
// results.
//
//   absl::StatusOr<std::unique_ptr<ember::promql::Engine>> engine =
//       ember::promql::NewEngine(db.get());  // InvalidArgument only for bad options
//   absl::StatusOr<ember::promql::Result> r =
//       (*engine)->InstantQuery("rate(http_requests_total[5m])", now_ms);
//   if (!r.ok()) return r.status();  // e.g. InvalidArgument "1:6: parse error: ..."
//   for (const ember::promql::InstantSample& s : std::get<ember::promql::Vector>(r->value)) {
//     std::printf("%s %g\n", ember::LabelsToString(s.labels).c_str(), s.v);
//   }
//
// An Engine is thread-safe: one serves concurrent queries. Results are plain data.
#ifndef EMBER_PROMQL_H_
#define EMBER_PROMQL_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ember/db.h"
#include "ember/labels.h"
#include "ember/sample.h"

namespace ember::promql {

struct EngineOptions {
  // How far back an instant selector looks for a series' latest sample (Prometheus's
  // --query.lookback-delta). Must be > 0.
  int64_t lookback_delta_ms = 5 * 60 * 1000;
  // A query that runs longer fails with DeadlineExceeded. Must be > 0.
  int64_t timeout_ms = 2 * 60 * 1000;
  // Samples a query may hold in memory at once; beyond it the query fails with
  // ResourceExhausted (Prometheus's --query.max-samples). Must be > 0.
  int64_t max_samples = 50'000'000;
  // Bytes a query may hold in memory (16 a point plus label bytes, as the evaluator accounts
  // for them); past it the query fails with ResourceExhausted. 0: no limit.
  int64_t max_memory_bytes = 0;
  // Step of a subquery written without one (`x[5m:]`). Must be > 0.
  int64_t default_subquery_step_ms = 60 * 1000;
};

// A scalar: `1 + 1`, `scalar(x)`, `time()`. `t` is the evaluation time.
struct Scalar {
  int64_t t = 0;
  double v = 0;
};

// A string literal: `"hello"`. `t` is the evaluation time.
struct String {
  int64_t t = 0;
  std::string value;
};

// One element of an instant vector: a series' labels and its value at `t`.
struct InstantSample {
  Labels labels;
  int64_t t = 0;
  double v = 0;
};
// Sorted by labels only where the query orders it (`sort()`, `topk`); otherwise in the
// engine's order, as Prometheus's API returns it.
using Vector = std::vector<InstantSample>;

// One series of a range vector (`x[5m]` at an instant) or of a range query's result: its
// labels and its samples, ascending by t.
struct RangeSeries {
  Labels labels;
  std::vector<Sample> samples;
};
// Sorted by labels.
using Matrix = std::vector<RangeSeries>;

using Value = std::variant<Scalar, Vector, Matrix, String>;

struct Result {
  // Instant query: the expression's own type. Range query: always a Matrix, one sample per
  // step at which the series has a value.
  Value value;
  // Non-fatal annotations, as Prometheus returns them ("PromQL info: metric might not be a
  // counter, name does not end in _total/_sum/_count/_bucket: \"x\"").
  std::vector<std::string> warnings;
  std::vector<std::string> infos;
  // The most memory the query held at once, as max_memory_bytes counts it.
  int64_t peak_memory_bytes = 0;
};

// "scalar", "vector", "matrix" or "string": the resultType Prometheus's HTTP API reports.
std::string_view ValueTypeName(const Value& value);

// Made by NewEngine().
class Engine {
 public:
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;
  virtual ~Engine() = default;

  // Evaluates `query` at `t_ms`. Errors:
  //   InvalidArgument   a bad query ("1:7: parse error: unexpected ..."), an evaluation error
  //                     ("many-to-many matching not allowed ..."), a time out of range;
  //   DeadlineExceeded  longer than timeout_ms;
  //   ResourceExhausted past max_samples or max_memory_bytes;
  //   Cancelled         `*cancel` became true (it is polled; null: never);
  //   DataLoss          a corrupt chunk in storage.
  virtual absl::StatusOr<Result> InstantQuery(std::string_view query, int64_t t_ms,
                                              const std::atomic<bool>* cancel = nullptr) = 0;

  // Evaluates `query` at start_ms, start_ms + step_ms, ... <= end_ms and returns a Matrix.
  // Errors as InstantQuery(); also InvalidArgument when end_ms < start_ms, step_ms <= 0, the
  // range needs more than 11,000 steps, or `query` is a range vector (`x[5m]`), as in
  // Prometheus.
  virtual absl::StatusOr<Result> RangeQuery(std::string_view query, int64_t start_ms,
                                            int64_t end_ms, int64_t step_ms,
                                            const std::atomic<bool>* cancel = nullptr) = 0;

 protected:
  Engine() = default;
};

// An engine reading `db`, which must outlive it (and stay open while queries run).
// InvalidArgument, naming the option, when an option is out of range; null `db` too.
absl::StatusOr<std::unique_ptr<Engine>> NewEngine(Db* db,
                                                  const EngineOptions& options = EngineOptions());

}  // namespace ember::promql

#endif  // EMBER_PROMQL_H_
