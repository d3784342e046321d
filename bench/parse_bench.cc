// PromQL parse time: ParseExpr() (X3 lexing, descent, type checks) on typical queries.
// Needs ember_query linked (CMake links benches with ember_storage and ember_testutil only).
#include <string>

#include "benchmark/benchmark.h"
#include "query/parser/parser.h"

namespace ember::query {
namespace {

void ParseLoop(benchmark::State& state, const std::string& q) {
  for (auto _ : state) {
    absl::StatusOr<ExprPtr> e = ParseExpr(q);
    if (!e.ok()) {
      state.SkipWithError(std::string(e.status().message()).c_str());
      break;
    }
    benchmark::DoNotOptimize(e);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(q.size()));
  state.counters["query_bytes"] = static_cast<double>(q.size());
}

void BM_ParseRate(benchmark::State& state) {
  ParseLoop(state, "rate(model_requests_total{job=\"serving\", model=\"resnet\"}[1m])");
}
BENCHMARK(BM_ParseRate);

void BM_ParseHistogramQuantile(benchmark::State& state) {
  ParseLoop(state,
            "histogram_quantile(0.99, sum by (le, model) "
            "(rate(model_request_latency_seconds_bucket[5m])))");
}
BENCHMARK(BM_ParseHistogramQuantile);

void BM_ParseVectorMatching(benchmark::State& state) {
  ParseLoop(state,
            "sum by (model) (rate(model_errors_total{code=~\"5..\"}[5m])) / on (model) "
            "group_left (team) sum by (model, team) (rate(model_requests_total[5m]))");
}
BENCHMARK(BM_ParseVectorMatching);

void BM_ParseLongExpression(benchmark::State& state) {
  std::string q;
  for (int i = 0; i < 50; ++i) {
    if (i > 0) q += i % 3 == 0 ? " * " : " + ";
    q += "rate(metric_" + std::to_string(i) + "_total{instance=\"host-" + std::to_string(i) +
         "\"}[5m])";
  }
  ParseLoop(state, q);
}
BENCHMARK(BM_ParseLongExpression);

void BM_ParseRegexSelector(benchmark::State& state) {
  // Regex matchers are compiled (RE2) at parse time to report bad regexes.
  ParseLoop(state, "up{job=~\"api|web|db\", instance!~\"10\\\\.0\\\\..*\"}");
}
BENCHMARK(BM_ParseRegexSelector);

void BM_RejectDeepNesting(benchmark::State& state) {
  const std::string q = std::string(100000, '(') + "1" + std::string(100000, ')');
  for (auto _ : state) {
    absl::StatusOr<ExprPtr> e = ParseExpr(q);
    benchmark::DoNotOptimize(e);
  }
}
BENCHMARK(BM_RejectDeepNesting);

}  // namespace
}  // namespace ember::query

BENCHMARK_MAIN();
