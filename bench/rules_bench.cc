// Rule evaluation cost: GroupEvaluator::Evaluate (rules/rule_group.h) of one group of 100
// rules on the ML-serving data set (examples/model-serving/scrape_data.h), by default 50 targets x
// 131 series = 6550 series, 1 h at a 15 s scrape interval (240 scrapes, 1.57 M samples), loaded
// once per process into a Db in a temporary directory under /tmp (kept in the head; not compacted).
//
// The group: 25 rules of each kind, each over one of 5 windows (1m 5m 10m 15m 30m) and one of 5
// groupings (model; version; instance; model, version; model, code), so outputs differ:
//   rate    record: sum by (G) (rate(model_requests_total[W]))
//   p99     record: histogram_quantile(0.99, sum by (le, G) (rate(..._bucket[W])))
//   ratio   record: sum by (G) (rate(model_requests_total{code="500"}[W]))
//                   / sum by (G) (rate(model_requests_total[W]))
//   alert   alert, for: 5m, a label and an annotation template:
//                   sum by (G) (rate(model_errors_total[W])) > 0
// Before timing, the group is evaluated every 15 s over the last 6 minutes of the data, so the
// alerts are firing and every rule has previous series (stale-marker bookkeeping included).
// Timed iterations then evaluate at end + 1 ms, + 2 ms, ...: every evaluation writes new
// samples (a repeated timestamp would be rejected as a duplicate), while the windows keep
// covering the same data, so the cost does not fall as the windows run past the data's end.
// Every Evaluate must return OK; the benchmark stops otherwise.
//
// Benchmarks: BM_EvaluateGroup/all (the 100 rules), and /rate, /p99, /ratio, /alert (a group of
// the 25 rules of one kind). Counters: rules (per group), per_rule (CPU time per rule).
//
//   rules_bench                                       # 50 targets, 1 h
//   rules_bench --targets=10 --hours=0.5              # quick
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "ember/db.h"
#include "ember/options.h"
#include "examples/model-serving/scrape_data.h"
#include "gflags/gflags.h"
#include "query/engine.h"
#include "rules/rule_group.h"
#include "rules/rules.h"
#include "tests/testutil/load_scrape_data.h"

DEFINE_int32(targets, 50, "Targets of 131 series each");
DEFINE_double(hours, 1, "Hours of data at a 15 s scrape interval");

namespace ember {
namespace {

constexpr int64_t kStartMs = 1'699'920'000'000;  // 2023-11-14T00:00:00Z.
constexpr int64_t kIntervalMs = 15'000;

[[noreturn]] void Die(const absl::Status& s, const std::string& what) {
  std::fprintf(stderr, "rules_bench: %s: %s\n", what.c_str(), s.ToString().c_str());
  std::exit(1);
}

enum Kind { kRate, kP99, kRatio, kAlert, kAll };
constexpr const char* kKindNames[] = {"rate", "p99", "ratio", "alert", "all"};

struct Fixture {
  std::string dir;
  int64_t end_ms = 0;
  std::atomic<int64_t> now_ms{0};  // The Db's clock: the latest evaluation time.
  std::unique_ptr<Db> db;
};
Fixture* fixture = nullptr;

void Load(Db* db, int targets, int scrapes) {
  model_serving::ScrapeDataOptions so;
  so.targets = targets;
  so.start_ms = kStartMs;
  so.interval_ms = kIntervalMs;
  absl::StatusOr<int64_t> stored = testutil::LoadScrapeData(db, so, scrapes);
  if (!stored.ok()) Die(stored.status(), "Load");
  std::fprintf(stderr, "%s: stored %" PRId64 " samples of %d targets\n", "rules_bench", *stored,
               targets);
}

void SetUp() {
  fixture = new Fixture;
  const int scrapes = static_cast<int>(FLAGS_hours * 3600 * 1000 / kIntervalMs);
  fixture->end_ms = kStartMs + int64_t{scrapes} * kIntervalMs;
  fixture->now_ms = fixture->end_ms;
  fixture->dir = "/tmp/ember-rules-bench-" + std::to_string(::getpid());
  std::filesystem::remove_all(fixture->dir);
  Options o;
  o.retention_ms = 0;
  o.sync_policy = SyncPolicy::kNoSync;
  o.background_interval_ms = 0;
  o.clock = [] { return fixture->now_ms.load(); };
  absl::StatusOr<std::unique_ptr<Db>> db = Db::Open(o, fixture->dir);
  if (!db.ok()) Die(db.status(), "Db::Open " + fixture->dir);
  fixture->db = std::move(*db);
  Load(fixture->db.get(), FLAGS_targets, scrapes);
}

void TearDown() {
  if (fixture == nullptr) return;
  if (fixture->db != nullptr) {
    absl::Status s = fixture->db->Close();
    if (!s.ok()) std::fprintf(stderr, "rules_bench: Close: %s\n", s.ToString().c_str());
    fixture->db.reset();
  }
  std::filesystem::remove_all(fixture->dir);
  delete fixture;
  fixture = nullptr;
}

rules::RuleGroup MakeGroup(Kind only) {
  static const char* kWindows[] = {"1m", "5m", "10m", "15m", "30m"};
  static const char* kGroupings[] = {"model", "version", "instance", "model, version",
                                     "model, code"};
  rules::RuleGroup g;
  g.name = absl::StrCat("bench_", kKindNames[only]);
  g.file = "rules_bench.yml";
  g.interval_ms = kIntervalMs;
  for (int k = kRate; k <= kAlert; ++k) {
    if (only != kAll && only != k) continue;
    for (int i = 0; i < 25; ++i) {
      const std::string w = kWindows[i % 5];
      // "code" only exists on model_requests_total; the other kinds group by model instead.
      std::string by = kGroupings[i / 5];
      if (k != kRate && k != kRatio && by == "model, code") by = "model";
      rules::Rule r;
      r.line = static_cast<int>(g.rules.size()) + 1;
      switch (k) {
        case kRate:
          r.record = absl::StrCat("bench:requests:rate_", i, "_", kKindNames[only]);
          r.expr = absl::StrCat("sum by (", by, ") (rate(model_requests_total[", w, "]))");
          break;
        case kP99:
          r.record = absl::StrCat("bench:latency:p99_", i, "_", kKindNames[only]);
          r.expr = absl::StrCat("histogram_quantile(0.99, sum by (le, ", by,
                                ") (rate(model_request_latency_seconds_bucket[", w, "])))");
          break;
        case kRatio:
          r.record = absl::StrCat("bench:requests:error_ratio_", i, "_", kKindNames[only]);
          r.expr = absl::StrCat("sum by (", by, ") (rate(model_requests_total{code=\"500\"}[", w,
                                "])) / sum by (", by, ") (rate(model_requests_total[", w, "]))");
          break;
        case kAlert:
          r.alert = absl::StrCat("BenchModelErrors", i, "_", kKindNames[only]);
          r.expr = absl::StrCat("sum by (", by, ") (rate(model_errors_total[", w, "])) > 0");
          r.for_ms = 5 * 60 * 1000;
          r.labels = {{"severity", "page"}};
          r.annotations = {{"summary", "{{ $labels.model }} errors at {{ $value }}/s"}};
          break;
      }
      g.rules.push_back(std::move(r));
    }
  }
  return g;
}

// One evaluator per group, kept across the calls Google Benchmark makes while it sizes the
// run, with its own timeline (each group's output series are its own).
struct Runner {
  rules::RuleGroup group;
  std::unique_ptr<rules::GroupEvaluator> ev;
  int64_t next_ms = 0;
  int64_t firing = 0;  // Alerts firing after the warm-up.

  absl::Status EvaluateNext(int64_t step_ms) {
    const int64_t t = next_ms;
    next_ms += step_ms;
    if (t > fixture->now_ms.load()) fixture->now_ms = t;
    return ev->Evaluate(t);
  }
};

Runner* GetRunner(Kind kind) {
  static Runner* runners[kAll + 1] = {};
  if (runners[kind] != nullptr) return runners[kind];
  auto* r = new Runner;
  r->group = MakeGroup(kind);
  r->ev = std::make_unique<rules::GroupEvaluator>(r->group, fixture->db.get(),
                                                  query::EngineOptions{}, Labels{});
  // Untimed: every 15 s over the data's last 6 minutes, so `for: 5m` alerts fire and every
  // rule has previous series; the timed evaluations then step by 1 ms.
  r->next_ms = fixture->end_ms - 6 * 60 * 1000;
  while (r->next_ms <= fixture->end_ms) {
    absl::Status s = r->EvaluateNext(kIntervalMs);
    if (!s.ok()) Die(s, "Evaluate (warm-up)");
  }
  for (const rules::RuleState& rs : r->ev->rules()) {
    for (const rules::Alert& a : rs.alerts) r->firing += a.state == rules::AlertState::kFiring;
  }
  runners[kind] = r;
  return r;
}

void BM_EvaluateGroup(benchmark::State& state) {
  const Kind kind = static_cast<Kind>(state.range(0));
  state.SetLabel(kKindNames[kind]);
  Runner* r = GetRunner(kind);
  for (auto _ : state) {
    absl::Status s = r->EvaluateNext(1);
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
  }
  const double rules = static_cast<double>(r->group.rules.size());
  state.counters["rules"] = rules;
  state.counters["firing_alerts"] = static_cast<double>(r->firing);
  state.counters["per_rule"] = benchmark::Counter(
      rules, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_EvaluateGroup)
    ->Arg(kAll)
    ->Arg(kRate)
    ->Arg(kP99)
    ->Arg(kRatio)
    ->Arg(kAlert)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace ember

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  ember::SetUp();
  benchmark::RunSpecifiedBenchmarks();
  ember::TearDown();
  benchmark::Shutdown();
  return 0;
}
