// Appender throughput through the public API (Db::Open, NewAppender, Append, Commit) on the
// ML-serving data set (examples/model-serving/scrape_data.h): items/s are samples. Figures and the
// machine they were taken on: docs/performance.md.
//
// Every benchmark opens a fresh database in a temporary directory, creates all of its series
// with one warm-up round (so the loop measures the steady state, not series creation), then
// commits batches of whole scrapes in scrape-time order. The data is generated before the loop
// in blocks of rounds; when a block runs out, timing pauses while the next one is generated, so
// timestamps keep increasing and no sample is ever out of order. The database clock is injected
// and follows the data, as if the data were arriving live (so head_idle_ms, max_future_ms and the
// background checkpoints see the same time as a live server would).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "ember/db.h"
#include "ember/options.h"
#include "examples/model-serving/scrape_data.h"

namespace ember {
namespace {

// 2023-11-14T00:00:00Z: a partition (day) boundary, so a run's data starts a partition.
constexpr int64_t kStartMs = 1'699'920'000'000;
constexpr int kRoundsPerBlock = 60;  // 15 minutes of scrapes per generated block.

// The database's clock: the newest timestamp handed to an appender. Read by the appender and
// the engine's background thread.
struct SimClock {
  std::atomic<int64_t> now{kStartMs};
  void AdvanceTo(int64_t t) {
    int64_t cur = now.load(std::memory_order_relaxed);
    while (t > cur && !now.compare_exchange_weak(cur, t, std::memory_order_relaxed)) {
    }
  }
};

Options BenchOptions(SyncPolicy policy, SimClock* clock) {
  Options o;
  o.sync_policy = policy;
  o.retention_ms = 0;  // Keep everything: the data is historical relative to the wall clock.
  o.clock = [clock] { return clock->now.load(std::memory_order_relaxed); };
  // Defaults otherwise: group commit every 10 ms, background checkpoints every 10 s (by log
  // size or age), so the figures include what a server pays for them.
  return o;
}

// A fresh directory, removed with everything in it on destruction.
class BenchDir {
 public:
  BenchDir() {
    static std::atomic<int> counter{0};
    path_ = (std::filesystem::temp_directory_path() /
             absl::StrCat("ember-ingest-bench-", getpid(), "-", counter++))
                .string();
    std::filesystem::remove_all(path_);
  }
  ~BenchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct Scrape {
  int target = 0;
  int64_t t = 0;
  std::vector<double> values;
};

// Scrapes of targets `first, first + stride, ...` of one ScrapeData, round after round, each
// round in timestamp order (as a scraper emits them).
class ScrapeFeed {
 public:
  ScrapeFeed(int targets, int first, int stride)
      : data_(model_serving::ScrapeDataOptions{.targets = targets, .start_ms = kStartMs}) {
    for (int t = first; t < targets; t += stride) targets_.push_back(t);
  }

  const model_serving::ScrapeData& data() const { return data_; }
  int num_targets() const { return static_cast<int>(targets_.size()); }
  size_t series_per_round() const {
    size_t n = 0;
    for (int t : targets_) n += data_.target_series(t).second - data_.target_series(t).first;
    return n;
  }

  // The next scrape; generates the next block of rounds (untimed when `state` is given) when
  // the current one is used up.
  const Scrape& Next(benchmark::State* state) {
    if (pos_ == block_.size()) {
      if (state != nullptr) state->PauseTiming();
      Generate();
      if (state != nullptr) state->ResumeTiming();
    }
    return block_[pos_++];
  }

 private:
  void Generate() {
    block_.resize(static_cast<size_t>(kRoundsPerBlock) * targets_.size());
    size_t i = 0;
    for (int r = 0; r < kRoundsPerBlock; ++r) {
      const size_t round_begin = i;
      for (int target : targets_) {
        Scrape& s = block_[i++];
        s.target = target;
        data_.NextScrape(target, &s.t, &s.values);
      }
      std::sort(block_.begin() + round_begin, block_.begin() + i,
                [](const Scrape& a, const Scrape& b) { return a.t < b.t; });
    }
    pos_ = 0;
  }

  model_serving::ScrapeData data_;
  std::vector<int> targets_;
  std::vector<Scrape> block_;
  size_t pos_ = 0;
};

// Appends `scrapes` whole scrapes from `feed`; returns the samples appended. The labels come
// from the data set, already canonical, as a decoder that keeps its label sets would pass them.
int64_t AppendScrapes(ScrapeFeed* feed, int scrapes, SimClock* clock, Appender* app,
                      benchmark::State* state) {
  int64_t n = 0;
  const std::vector<Labels>& series = feed->data().series();
  for (int i = 0; i < scrapes; ++i) {
    const Scrape& s = feed->Next(state);
    if (clock != nullptr) clock->AdvanceTo(s.t);
    const size_t first = feed->data().target_series(s.target).first;
    for (size_t k = 0; k < s.values.size(); ++k) {
      absl::Status st = app->Append(series[first + k], s.t, s.values[k]);
      if (!st.ok()) {
        if (state != nullptr) state->SkipWithError(st.ToString().c_str());
        return n;
      }
    }
    n += static_cast<int64_t>(s.values.size());
  }
  return n;
}

bool CommitOk(Appender* app, benchmark::State& state) {
  absl::StatusOr<CommitResult> r = app->Commit();
  if (!r.ok()) {
    state.SkipWithError(r.status().ToString().c_str());
    return false;
  }
  if (!r->rejected.empty()) {
    state.SkipWithError(r->rejected[0].status.ToString().c_str());
    return false;
  }
  return true;
}

constexpr int kTargets = 100;  // ~13.1k series.

// The appender alone: Append() (window check, canonical-order check, encoding, the batch's
// series map, validation of series new to the batch) then Rollback(), no Commit: what a batch
// costs before it reaches the engine.
void BM_AppendOnly(benchmark::State& state) {
  const int scrapes_per_batch = static_cast<int>(state.range(0));
  BenchDir dir;
  SimClock clock;
  ScrapeFeed feed(kTargets, 0, 1);
  auto db = Db::Open(BenchOptions(SyncPolicy::kNoSync, &clock), dir.path());
  if (!db.ok()) {
    state.SkipWithError(db.status().ToString().c_str());
    return;
  }
  std::unique_ptr<Appender> app = (*db)->NewAppender();
  int64_t samples = 0;
  for (auto _ : state) {
    samples += AppendScrapes(&feed, scrapes_per_batch, &clock, app.get(), &state);
    app->Rollback();
  }
  state.SetItemsProcessed(samples);
  state.counters["samples_per_batch"] =
      double(samples) / double(std::max<int64_t>(1, state.iterations()));
}
BENCHMARK(BM_AppendOnly)
    ->ArgName("scrapes")
    ->Arg(1)
    ->Arg(20)
    ->Arg(80)
    ->Unit(benchmark::kMicrosecond);

// Append + Commit from one thread. Args: sync policy (0 kNoSync, 1 kGroupCommit, 2
// kSyncEachCommit) and scrapes per Commit (131 samples each: 1 = one target's scrape, 20 = 2620
// and 80 = 10480 samples, remote-write-sized batches).
void BM_AppendCommit(benchmark::State& state) {
  const auto policy = static_cast<SyncPolicy>(state.range(0));
  const int scrapes_per_batch = static_cast<int>(state.range(1));
  BenchDir dir;
  SimClock clock;
  ScrapeFeed feed(kTargets, 0, 1);
  auto db = Db::Open(BenchOptions(policy, &clock), dir.path());
  if (!db.ok()) {
    state.SkipWithError(db.status().ToString().c_str());
    return;
  }
  std::unique_ptr<Appender> app = (*db)->NewAppender();
  // Warm-up: one round creates every series.
  AppendScrapes(&feed, feed.num_targets(), &clock, app.get(), nullptr);
  if (!CommitOk(app.get(), state)) return;

  int64_t samples = 0;
  for (auto _ : state) {
    samples += AppendScrapes(&feed, scrapes_per_batch, &clock, app.get(), &state);
    if (!CommitOk(app.get(), state)) break;
  }
  state.SetItemsProcessed(samples);
  state.counters["samples_per_commit"] =
      double(samples) / double(std::max<int64_t>(1, state.iterations()));
  app.reset();
  (*db)->Close().IgnoreError();
}
BENCHMARK(BM_AppendCommit)
    ->ArgNames({"policy", "scrapes"})
    ->ArgsProduct({{0, 1, 2}, {1, 20, 80}})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// Several appenders on one database with kGroupCommit (the policy's reason to be: committers
// share an fsync). Each thread owns a disjoint subset of the targets, as remote-write shards
// own disjoint series. Arg: scrapes per Commit. A thread owns kTargets / threads targets, so
// once a batch holds more scrapes than that (80 scrapes from 2+ threads, 20 from 8), it holds
// several samples of a series and pays fewer series lookups per sample than remote write would.
std::unique_ptr<Db> shared_db;
SimClock* shared_clock = nullptr;
BenchDir* shared_dir = nullptr;

void BM_AppendCommitConcurrent(benchmark::State& state) {
  const int scrapes_per_batch = static_cast<int>(state.range(0));
  if (state.thread_index() == 0) {
    shared_dir = new BenchDir();
    shared_clock = new SimClock();
    auto db = Db::Open(BenchOptions(SyncPolicy::kGroupCommit, shared_clock), shared_dir->path());
    if (!db.ok()) {
      state.SkipWithError(db.status().ToString().c_str());
      return;
    }
    shared_db = std::move(*db);
  }
  // Other threads may only touch shared_db inside the loop: the loop's start is a barrier.
  ScrapeFeed feed(kTargets, state.thread_index(), state.threads());
  std::unique_ptr<Appender> app;
  int64_t samples = 0;
  for (auto _ : state) {
    if (app == nullptr) {
      state.PauseTiming();
      app = shared_db->NewAppender();
      AppendScrapes(&feed, feed.num_targets(), shared_clock, app.get(), nullptr);
      const bool ok = CommitOk(app.get(), state);
      state.ResumeTiming();
      if (!ok) break;
    }
    samples += AppendScrapes(&feed, scrapes_per_batch, shared_clock, app.get(), &state);
    if (!CommitOk(app.get(), state)) break;
  }
  state.SetItemsProcessed(samples);
  app.reset();
  if (state.thread_index() == 0) {
    // The end of the loop is a barrier too: every thread is done committing.
    if (shared_db != nullptr) shared_db->Close().IgnoreError();
    shared_db.reset();
    delete shared_clock;
    delete shared_dir;
  }
}
BENCHMARK(BM_AppendCommitConcurrent)
    ->ArgName("scrapes")
    ->Arg(20)
    ->Arg(80)
    ->Threads(1)
    ->Threads(2)
    ->Threads(4)
    ->Threads(8)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

}  // namespace
}  // namespace ember

BENCHMARK_MAIN();
