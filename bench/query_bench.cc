// PromQL evaluation throughput (issue 3, "Benchmarks") on the ML-serving data set
// (examples/model-serving/scrape_data.h): 76 targets x 131 series = 9956 series, 6 h at a 15 s
// scrape interval (1440 scrapes, 14.3 M samples), loaded once per process into a Db in a temporary
// directory under /tmp and fully compacted (Db::CompactAll), so every read decodes sealed chunks.
//
// Queries, each instant (at the end of the data) and range (the 6 h, step 15 s and 60 s):
//   sum by (model) (rate(model_requests_total[5m]))
//   histogram_quantile(0.99, sum by (le, model) (rate(model_request_latency_seconds_bucket[5m])))
//
// Counters (per benchmark):
//   scanned        samples the query has to load: samples of the series its selector matches
//                  within [start - 5m, end], counted through Db::Select before timing (not from
//                  engine internals)
//   samples/s      scanned x queries / CPU time. The engine evaluates on the calling thread and
//                  CPU time is the whole process's (MeasureProcessCPUTime), so this is per core
//                  and not distorted by other load on a shared machine
//   queries/s      queries per CPU second (wall-clock rates: scanned / real_time)
//   peak_rss_MiB   measured peak memory of one query: malloc_trim(0), reset VmHWM
//                  (/proc/self/clear_refs "5"), read VmRSS, run the query once, read VmHWM;
//                  the figure is VmHWM - VmRSS before. It is the process's growth during the
//                  query: the engine's buffers, the result and any RocksDB block-cache growth
//   est_MiB        scanned x 16 B (one Point per loaded sample): the floor of what the engine
//                  holds at once, since it loads a selector's whole range before evaluating
//
//   query_bench --benchmark_repetitions=3 --benchmark_display_aggregates_only=true
//   query_bench --targets=8 --hours=1            # a small, quick version
//   query_bench --db_dir=/tmp/qb --keep          # build once, keep; later runs reopen it
#include <malloc.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "benchmark/benchmark.h"
#include "ember/db.h"
#include "ember/options.h"
#include "ember/query.h"
#include "examples/model-serving/scrape_data.h"
#include "gflags/gflags.h"
#include "query/engine.h"
#include "tests/testutil/load_scrape_data.h"

DEFINE_int32(targets, 76, "Targets of 131 series each (76: 9956 series)");
DEFINE_double(hours, 6, "Hours of data at a 15 s scrape interval");
DEFINE_string(db_dir, "",
              "Database directory. Empty: a fresh /tmp/ember-query-bench-<pid>, removed at "
              "exit. Given and holding a database: reopened as is (no ingest)");
DEFINE_bool(keep, false, "Keep the database directory at exit");

namespace ember {
namespace {

constexpr int64_t kStartMs = 1'699'920'000'000;  // 2023-11-14T00:00:00Z, a partition boundary.
constexpr int64_t kIntervalMs = 15'000;
constexpr int64_t kRangeMs = 5 * 60 * 1000;  // The queries' [5m].

constexpr char kRateQuery[] = "sum by (model) (rate(model_requests_total[5m]))";
constexpr char kQuantileQuery[] =
    "histogram_quantile(0.99, sum by (le, model) "
    "(rate(model_request_latency_seconds_bucket[5m])))";

[[noreturn]] void Die(const absl::Status& s, const std::string& what) {
  std::fprintf(stderr, "query_bench: %s: %s\n", what.c_str(), s.ToString().c_str());
  std::exit(1);
}

struct Fixture {
  std::string dir;
  bool remove_dir = false;
  int64_t end_ms = 0;  // Just after the last scrape slot: the instant queries' time.
  std::unique_ptr<Db> db;
  std::unique_ptr<query::Engine> engine;
};
Fixture* fixture = nullptr;

Options MakeOptions(int64_t now_ms) {
  Options o;
  o.retention_ms = 0;
  o.sync_policy = SyncPolicy::kNoSync;
  o.background_interval_ms = 0;
  o.clock = [now_ms] { return now_ms; };
  return o;
}

void Load(Db* db, int targets, int scrapes) {
  model_serving::ScrapeDataOptions so;
  so.targets = targets;
  so.start_ms = kStartMs;
  so.interval_ms = kIntervalMs;
  absl::StatusOr<int64_t> stored = testutil::LoadScrapeData(db, so, scrapes);
  if (!stored.ok()) Die(stored.status(), "Load");
  std::fprintf(stderr, "%s: stored %" PRId64 " samples of %d targets\n", "query_bench", *stored,
               targets);
}

void SetUp() {
  fixture = new Fixture;
  const int scrapes = static_cast<int>(FLAGS_hours * 3600 * 1000 / kIntervalMs);
  fixture->end_ms = kStartMs + int64_t{scrapes} * kIntervalMs;
  bool build = true;
  if (FLAGS_db_dir.empty()) {
    fixture->dir = "/tmp/ember-query-bench-" + std::to_string(::getpid());
    std::filesystem::remove_all(fixture->dir);
  } else {
    fixture->dir = FLAGS_db_dir;
    build = !std::filesystem::exists(fixture->dir);
  }
  fixture->remove_dir = !FLAGS_keep;
  // The clock sits just after the data's end, where a server answering these queries would be.
  absl::StatusOr<std::unique_ptr<Db>> db =
      Db::Open(MakeOptions(fixture->end_ms + kIntervalMs), fixture->dir);
  if (!db.ok()) Die(db.status(), "Db::Open " + fixture->dir);
  fixture->db = std::move(*db);
  if (build) {
    Load(fixture->db.get(), FLAGS_targets, scrapes);
    absl::Status s = fixture->db->CompactAll();
    if (!s.ok()) Die(s, "CompactAll");
  }
  absl::StatusOr<DbStats> st = fixture->db->Stats();
  if (!st.ok()) Die(st.status(), "Stats");
  std::fprintf(stderr,
               "query_bench: %s: %" PRId64 " series, %" PRId64 " samples, %" PRId64
               " bytes on disk, %" PRId64 " head series, data [%" PRId64 ", %" PRId64 "]\n",
               fixture->dir.c_str(), st->series, st->samples, st->bytes_on_disk, st->head_series,
               st->min_time_ms, st->max_time_ms);
  query::EngineOptions eo;  // Defaults: lookback 5m, timeout 2 min, max_samples 50 M.
  fixture->engine = std::make_unique<query::Engine>(fixture->db.get(), eo);
}

void TearDown() {
  if (fixture == nullptr) return;
  fixture->engine.reset();
  if (fixture->db != nullptr) {
    absl::Status s = fixture->db->Close();
    if (!s.ok()) std::fprintf(stderr, "query_bench: Close: %s\n", s.ToString().c_str());
    fixture->db.reset();
  }
  if (fixture->remove_dir) std::filesystem::remove_all(fixture->dir);
  delete fixture;
  fixture = nullptr;
}

// ---- Measurements outside the timed loop. ---------------------------------------------------

struct Scanned {
  int64_t series = 0;
  int64_t samples = 0;
};

// Samples of `metric`'s series within [start - 5m, end], read through the public API. (PromQL's
// window is left-open, (t - 5m, t]; with jittered scrapes no sample sits on the boundary.)
Scanned CountScanned(const std::string& metric, int64_t start_ms, int64_t end_ms) {
  std::vector<Matcher> m = {{Matcher::Op::kEqual, "__name__", metric}};
  absl::StatusOr<std::vector<Series>> series = fixture->db->Select(m, start_ms - kRangeMs, end_ms);
  if (!series.ok()) Die(series.status(), "Select " + metric);
  Scanned out;
  for (Series& s : *series) {
    ++out.series;
    while (s.samples->Next()) ++out.samples;
    if (!s.samples->status().ok()) Die(s.samples->status(), "SampleIterator");
  }
  return out;
}

int64_t ProcStatusBytes(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::string prefix = std::string(field) + ":";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) {
      return std::strtoll(line.c_str() + prefix.size(), nullptr, 10) << 10;
    }
  }
  return -1;
}

bool ResetPeakRss() {
  std::ofstream f("/proc/self/clear_refs");
  f << "5";
  f.flush();
  return f.good();
}

// ---- The benchmarks. ------------------------------------------------------------------------

absl::StatusOr<query::QueryResult> Run(const char* q, bool range, int64_t step_ms) {
  if (range) {
    return fixture->engine->RangeQuery(q, fixture->end_ms - int64_t(FLAGS_hours * 3600 * 1000),
                                       fixture->end_ms, step_ms);
  }
  return fixture->engine->InstantQuery(q, fixture->end_ms);
}

size_t ResultPoints(const query::QueryResult& r) {
  if (r.value.type == query::ValueType::kVector) return r.value.vector.size();
  size_t n = 0;
  for (const query::MatrixSeries& s : r.value.matrix) n += s.points.size();
  return n;
}

// step_ms == 0: an instant query at the end of the data.
void QueryLoop(benchmark::State& state, const char* q, const std::string& metric, int64_t step_ms) {
  const bool range = step_ms > 0;
  const int64_t start =
      range ? fixture->end_ms - int64_t(FLAGS_hours * 3600 * 1000) : fixture->end_ms;
  const Scanned scanned = CountScanned(metric, start, fixture->end_ms);

  // Peak memory of one run (the first run of this query in the process).
  malloc_trim(0);
  const bool reset = ResetPeakRss();
  const int64_t rss0 = ProcStatusBytes("VmRSS");
  size_t points = 0;
  size_t result_series = 0;
  {
    absl::StatusOr<query::QueryResult> r = Run(q, range, step_ms);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      return;
    }
    points = ResultPoints(*r);
    result_series = range ? r->value.matrix.size() : r->value.vector.size();
  }
  const int64_t peak = ProcStatusBytes("VmHWM") - rss0;

  for (auto _ : state) {
    absl::StatusOr<query::QueryResult> r = Run(q, range, step_ms);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(r);
  }
  using benchmark::Counter;
  state.counters["samples/s"] =
      Counter(double(scanned.samples), Counter::kIsIterationInvariantRate);
  state.counters["queries/s"] = Counter(1, Counter::kIsIterationInvariantRate);
  state.counters["scanned"] = double(scanned.samples);
  state.counters["series"] = double(scanned.series);
  state.counters["result_series"] = double(result_series);
  state.counters["result_points"] = double(points);
  state.counters["est_MiB"] = double(scanned.samples) * 16 / (1 << 20);
  state.counters["peak_rss_MiB"] = reset ? double(peak) / (1 << 20) : -1;
}

void BM_RateInstant(benchmark::State& state) {
  QueryLoop(state, kRateQuery, "model_requests_total", 0);
}
void BM_RateRange(benchmark::State& state) {
  QueryLoop(state, kRateQuery, "model_requests_total", state.range(0) * 1000);
}
void BM_QuantileInstant(benchmark::State& state) {
  QueryLoop(state, kQuantileQuery, "model_request_latency_seconds_bucket", 0);
}
void BM_QuantileRange(benchmark::State& state) {
  QueryLoop(state, kQuantileQuery, "model_request_latency_seconds_bucket", state.range(0) * 1000);
}

BENCHMARK(BM_RateInstant)->MeasureProcessCPUTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RateRange)
    ->ArgName("step_s")
    ->Arg(15)
    ->Arg(60)
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_QuantileInstant)->MeasureProcessCPUTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_QuantileRange)
    ->ArgName("step_s")
    ->Arg(15)
    ->Arg(60)
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace ember

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  gflags::ParseCommandLineFlags(&argc, &argv, /*remove_flags=*/true);
  std::atexit(ember::TearDown);  // Also when Die() exits: the directory goes either way.
  ember::SetUp();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  ember::TearDown();
  return 0;
}
