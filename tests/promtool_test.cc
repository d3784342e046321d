// Ember's HTTP API as Prometheus's own client sees it: the real `ember serve` binary is started
// on a free 127.0.0.1 port, fed a small ML-serving data set (examples/model-serving/scrape_data.h)
// by remote write 1.0, and queried with `promtool query instant|range|series|labels` (promtool 2.42
// from Debian, which uses client_golang's API client). Every expectation is computed from the
// samples the test wrote, with Prometheus 3.x semantics: a range selector and the lookback window
// are left-open, (t - range, t].
//
// Also: `ember serve` exits 0 on SIGTERM, and every sample acknowledged (204) before the signal
// reads back after a restart on the same data directory.
//
// Skips (naming the Debian package) when promtool is absent.
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "ember/labels.h"
#include "ember/sample.h"
#include "examples/model-serving/scrape_data.h"
#include "gtest/gtest.h"
#include "ingest/batch.h"
#include "tests/testutil/child_process.h"
#include "tests/testutil/ember_process.h"
#include "tests/testutil/http_client.h"
#include "tests/testutil/json_value.h"
#include "tests/testutil/temp_dir.h"

namespace ember {
namespace {

using testutil::CommandResult;
using testutil::EmberProcess;
using testutil::HttpClient;
using testutil::HttpResult;
using testutil::RunCommand;
using testutil::TempDir;

constexpr char kEmberPath[] = EMBER_BINARY_DIR "/ember";
constexpr char kPromtoolPath[] = "/usr/bin/promtool";
constexpr int64_t kLookbackMs = 5 * 60 * 1000;  // ember serve's default --query_lookback_delta.

int64_t WallNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Unix seconds with milliseconds, as promtool's --time/--start/--end take them.
std::string Seconds(int64_t t_ms) { return absl::StrFormat("%d.%03d", t_ms / 1000, t_ms % 1000); }

// A label value quoted as Go's %q quotes an ASCII string.
std::string GoQuote(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

// How promtool prints a sample's metric (client_golang's model.Metric.String()):
// name{a="x", b="y"}, or {a="x"} without a name, or {} when empty.
std::string PromtoolMetric(const Labels& labels) {
  std::vector<std::string> parts;
  std::string name;
  for (const Label& l : labels) {
    if (l.name == kMetricNameLabel) {
      name = l.value;
    } else {
      parts.push_back(absl::StrCat(l.name, "=", GoQuote(l.value)));
    }
  }
  std::sort(parts.begin(), parts.end());
  if (parts.empty()) return name.empty() ? "{}" : name;
  return absl::StrCat(name, "{", absl::StrJoin(parts, ", "), "}");
}

// How promtool prints a series (model.LabelSet.String()): {__name__="x", a="y"}.
std::string PromtoolLabelSet(const Labels& labels) {
  std::vector<std::string> parts;
  for (const Label& l : labels) parts.push_back(absl::StrCat(l.name, "=", GoQuote(l.value)));
  std::sort(parts.begin(), parts.end());
  return absl::StrCat("{", absl::StrJoin(parts, ", "), "}");
}

struct Point {
  int64_t t = 0;
  double v = 0;
};

// promtool's default (promql) output, by metric: `metric => v @[t]` for an instant vector,
// `metric =>` then `v @[t]` lines for a matrix, `scalar: v @[t]` (metric "scalar").
absl::StatusOr<std::map<std::string, std::vector<Point>>> ParsePromtoolOutput(
    const std::string& out) {
  std::map<std::string, std::vector<Point>> series;
  std::string current;
  auto parse_point = [](absl::string_view text, Point* p) {
    // "v @[t]"
    const size_t at = text.find(" @[");
    if (at == absl::string_view::npos || !absl::EndsWith(text, "]")) return false;
    const std::string v(text.substr(0, at));
    char* end = nullptr;
    p->v = std::strtod(v.c_str(), &end);
    if (end != v.c_str() + v.size()) return false;
    p->t = testutil::PromSecondsToMs(std::string(text.substr(at + 3, text.size() - at - 4)));
    return true;
  };
  for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    Point p;
    if (absl::ConsumePrefix(&line, "scalar: ")) {
      if (!parse_point(line, &p)) break;
      series["scalar"].push_back(p);
      continue;
    }
    const size_t arrow = line.find(" =>");
    if (arrow != absl::string_view::npos) {
      current = std::string(line.substr(0, arrow));
      absl::string_view rest = line.substr(arrow + 3);
      if (rest.empty()) {
        series[current];  // A matrix stream; its points follow.
        continue;
      }
      if (!absl::ConsumePrefix(&rest, " ") || !parse_point(rest, &p)) {
        return absl::InvalidArgumentError(absl::StrCat("unexpected promtool line: ", line));
      }
      series[current].push_back(p);
      continue;
    }
    if (current.empty() || !parse_point(line, &p)) {
      return absl::InvalidArgumentError(absl::StrCat("unexpected promtool line: ", line));
    }
    series[current].push_back(p);
  }
  return series;
}

std::string DescribePoints(const std::map<std::string, std::vector<Point>>& m) {
  std::string s;
  for (const auto& [metric, points] : m) {
    absl::StrAppend(&s, metric, " =>");
    for (const Point& p : points) absl::StrAppend(&s, " ", p.v, "@", p.t);
    absl::StrAppend(&s, "\n");
  }
  return s;
}

bool Near(double want, double got, double rel = 1e-12) {
  if (std::isnan(want) || std::isnan(got)) return std::isnan(want) && std::isnan(got);
  return std::fabs(want - got) <= rel * std::max(std::fabs(want), std::fabs(got));
}

bool HasLabel(const Labels& labels, std::string_view name, std::string_view value) {
  return GetLabelValue(labels, name) == value;
}

// The data set every query test reads, written once per suite.
struct SuiteState {
  std::unique_ptr<TempDir> dir;
  std::unique_ptr<EmberProcess> ember;
  std::vector<Labels> series;
  std::vector<std::vector<Sample>> samples;  // Per series, in time order.
  int64_t first_ms = 0;                      // The earliest sample of all.
  int64_t last_ms = 0;                       // The latest sample of all.
  std::string setup_error;                   // Why the suite could not start.
};

class PromtoolTest : public ::testing::Test {
 protected:
  static constexpr int kTargets = 2;
  static constexpr int kScrapes = 20;
  static constexpr int64_t kIntervalMs = 15'000;

  static void SetUpTestSuite() {
    state_ = new SuiteState;
    if (!testutil::IsExecutable(kPromtoolPath)) return;  // Each test skips.
    if (!testutil::IsExecutable(kEmberPath)) {
      state_->setup_error = absl::StrCat(kEmberPath, " is missing: build the ember_bin target");
      return;
    }
    state_->dir = std::make_unique<TempDir>();
    state_->ember = std::make_unique<EmberProcess>(kEmberPath);
    if (absl::Status s =
            state_->ember->Start(state_->dir->Sub("data"), state_->dir->Sub("ember.log"));
        !s.ok()) {
      state_->setup_error = s.ToString();
      return;
    }
    // Ten minutes ago, so "now" sees little of it: every query names its evaluation time.
    model_serving::ScrapeDataOptions options;
    options.targets = kTargets;
    options.interval_ms = kIntervalMs;
    options.start_ms = (WallNowMs() - 10 * 60 * 1000) / 1000 * 1000;
    model_serving::ScrapeData data(options);
    state_->series = data.series();
    state_->samples.resize(state_->series.size());
    state_->first_ms = INT64_MAX;
    std::vector<double> values;
    HttpClient client(state_->ember->port());
    for (int target = 0; target < data.num_targets(); ++target) {
      const auto [first, last] = data.target_series(target);
      for (int i = 0; i < kScrapes; ++i) {
        int64_t t = 0;
        data.NextScrape(target, &t, &values);
        for (size_t s = first; s < last; ++s) {
          state_->samples[s].push_back(Sample{t, values[s - first]});
        }
        state_->first_ms = std::min(state_->first_ms, t);
        state_->last_ms = std::max(state_->last_ms, t);
      }
      // One request per target, each series with all its samples (as a backfill would send).
      ingest::DecodedBatch batch;
      batch.kind = ingest::PositionKind::kTimeseries;
      for (size_t s = first; s < last; ++s) {
        batch.series.push_back(ingest::DecodedSeries{state_->series[s], state_->samples[s],
                                                     static_cast<uint32_t>(s - first)});
      }
      absl::StatusOr<HttpResult> r = testutil::PostRemoteWriteV1(&client, batch);
      if (!r.ok() || r->status != 204) {
        state_->setup_error = absl::StrCat(
            "remote write of target ", target, ": ",
            r.ok() ? absl::StrCat("HTTP ", r->status, " ", r->body) : r.status().ToString());
        return;
      }
    }
  }

  static void TearDownTestSuite() {
    if (state_->ember != nullptr) {
      const int status = state_->ember->process().Stop();
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
          << "ember serve ended with " << testutil::DescribeWaitStatus(status)
          << " on SIGTERM; its log:\n"
          << testutil::FileTail(state_->dir->Sub("ember.log"));
    }
    delete state_;
    state_ = nullptr;
  }

  void SetUp() override {
    if (!testutil::IsExecutable(kPromtoolPath)) {
      GTEST_SKIP() << kPromtoolPath
                   << " not found: install Debian's `prometheus` package (it ships promtool)";
    }
    ASSERT_TRUE(state_->setup_error.empty()) << state_->setup_error;
  }

  static std::string Url() { return absl::StrCat("http://127.0.0.1:", state_->ember->port()); }

  // Runs promtool with `args` after `promtool query <verb> URL`; its stdout. Fails the test
  // when it does not exit 0.
  static std::string Promtool(const std::string& verb, const std::vector<std::string>& args) {
    std::vector<std::string> argv = {kPromtoolPath, "query", verb, Url()};
    argv.insert(argv.end(), args.begin(), args.end());
    absl::StatusOr<CommandResult> r = RunCommand(argv, 60'000);
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) return "";
    EXPECT_TRUE(r->exited_zero()) << absl::StrJoin(argv, " ") << ": "
                                  << testutil::DescribeWaitStatus(r->wait_status)
                                  << "\nstdout: " << r->out << "\nstderr: " << r->err;
    return r->out;
  }

  // The indexes of the series whose labels satisfy `pred`.
  template <typename Pred>
  static std::vector<size_t> Select(Pred pred) {
    std::vector<size_t> out;
    for (size_t i = 0; i < state_->series.size(); ++i) {
      if (pred(state_->series[i])) out.push_back(i);
    }
    return out;
  }

  // The latest sample of series `s` in (t - window, t], or nullptr.
  static const Sample* Latest(size_t s, int64_t t, int64_t window_ms) {
    const Sample* found = nullptr;
    for (const Sample& x : state_->samples[s]) {
      if (x.t > t - window_ms && x.t <= t) found = &x;
    }
    return found;
  }

  static SuiteState* state_;
};

SuiteState* PromtoolTest::state_ = nullptr;

TEST_F(PromtoolTest, InstantQueryPrintsTheLatestSampleOfEverySeries) {
  const int64_t t = state_->last_ms + 1000;
  const std::string out = Promtool(
      "instant", {"model_requests_total{code=\"200\"}", absl::StrCat("--time=", Seconds(t))});
  absl::StatusOr<std::map<std::string, std::vector<Point>>> got = ParsePromtoolOutput(out);
  ASSERT_TRUE(got.ok()) << got.status() << "\n" << out;
  const std::vector<size_t> want = Select([](const Labels& l) {
    return HasLabel(l, "__name__", "model_requests_total") && HasLabel(l, "code", "200");
  });
  ASSERT_FALSE(want.empty());
  EXPECT_EQ(got->size(), want.size()) << out;
  for (size_t s : want) {
    const std::string metric = PromtoolMetric(state_->series[s]);
    SCOPED_TRACE(metric);
    auto it = got->find(metric);
    ASSERT_NE(it, got->end()) << "missing from:\n" << out;
    ASSERT_EQ(it->second.size(), 1u);
    EXPECT_EQ(it->second[0].t, t);
    EXPECT_EQ(it->second[0].v, state_->samples[s].back().v);
  }
}

TEST_F(PromtoolTest, InstantQueryAggregatesByLabel) {
  const int64_t t = state_->last_ms + 1000;
  const std::string out = Promtool(
      "instant", {"sum by (instance) (model_requests_total)", absl::StrCat("--time=", Seconds(t))});
  absl::StatusOr<std::map<std::string, std::vector<Point>>> got = ParsePromtoolOutput(out);
  ASSERT_TRUE(got.ok()) << got.status() << "\n" << out;
  std::map<std::string, double> want;
  for (size_t s :
       Select([](const Labels& l) { return HasLabel(l, "__name__", "model_requests_total"); })) {
    const std::string instance(GetLabelValue(state_->series[s], "instance"));
    want[PromtoolMetric({Label{"instance", instance}})] += state_->samples[s].back().v;
  }
  ASSERT_EQ(want.size(), static_cast<size_t>(kTargets));
  EXPECT_EQ(got->size(), want.size()) << out;
  for (const auto& [metric, v] : want) {
    SCOPED_TRACE(metric);
    auto it = got->find(metric);
    ASSERT_NE(it, got->end()) << out;
    ASSERT_EQ(it->second.size(), 1u);
    EXPECT_TRUE(Near(v, it->second[0].v)) << v << " vs " << it->second[0].v;
  }
}

TEST_F(PromtoolTest, InstantQueryOverRangeWindows) {
  // A window ending between scrapes: (t - 3m, t] holds 12 scrapes of each target, give or take
  // the one the per-target offset puts near the edge; the expectation counts them exactly.
  const int64_t t = state_->first_ms + 10 * kIntervalMs + 7'000;
  const int64_t window_ms = 3 * 60 * 1000;
  struct Case {
    std::string expr;
    std::string name;
    std::function<double(const std::vector<double>&)> fold;
  };
  const Case cases[] = {
      {"count_over_time(gpu_utilization_ratio[3m])", "gpu_utilization_ratio",
       [](const std::vector<double>& v) { return static_cast<double>(v.size()); }},
      {"max_over_time(gpu_utilization_ratio[3m])", "gpu_utilization_ratio",
       [](const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()); }},
      {"min_over_time(process_resident_memory_bytes[3m])", "process_resident_memory_bytes",
       [](const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.expr);
    const std::string out = Promtool("instant", {c.expr, absl::StrCat("--time=", Seconds(t))});
    absl::StatusOr<std::map<std::string, std::vector<Point>>> got = ParsePromtoolOutput(out);
    ASSERT_TRUE(got.ok()) << got.status() << "\n" << out;
    std::map<std::string, double> want;
    for (size_t s : Select([&](const Labels& l) { return HasLabel(l, "__name__", c.name); })) {
      std::vector<double> in_window;
      for (const Sample& x : state_->samples[s]) {
        if (x.t > t - window_ms && x.t <= t) in_window.push_back(x.v);
      }
      if (in_window.empty()) continue;
      Labels without_name;
      for (const Label& l : state_->series[s]) {
        if (l.name != kMetricNameLabel) without_name.push_back(l);
      }
      want[PromtoolMetric(without_name)] = c.fold(in_window);
    }
    ASSERT_FALSE(want.empty());
    EXPECT_EQ(got->size(), want.size()) << out;
    for (const auto& [metric, v] : want) {
      SCOPED_TRACE(metric);
      auto it = got->find(metric);
      ASSERT_NE(it, got->end()) << out;
      ASSERT_EQ(it->second.size(), 1u);
      EXPECT_EQ(it->second[0].v, v);
      EXPECT_EQ(it->second[0].t, t);
    }
  }
}

TEST_F(PromtoolTest, RangeQueryPrintsEveryStep) {
  // Steps half an interval off the first scrape, running a minute past the last one (inside the
  // lookback, so the last sample repeats).
  const int64_t start = state_->first_ms - kIntervalMs / 2;
  const int64_t end = state_->last_ms + 60'000;
  const int64_t step = kIntervalMs;
  const std::string instance(GetLabelValue(state_->series[0], "instance"));
  const std::string out =
      Promtool("range", {absl::StrCat("gpu_utilization_ratio{instance=\"", instance, "\"}"),
                         absl::StrCat("--start=", Seconds(start)),
                         absl::StrCat("--end=", Seconds(end)), "--step=15s"});
  absl::StatusOr<std::map<std::string, std::vector<Point>>> got = ParsePromtoolOutput(out);
  ASSERT_TRUE(got.ok()) << got.status() << "\n" << out;
  std::map<std::string, std::vector<Point>> want;
  for (size_t s : Select([&](const Labels& l) {
         return HasLabel(l, "__name__", "gpu_utilization_ratio") &&
                HasLabel(l, "instance", instance);
       })) {
    std::vector<Point>& points = want[PromtoolMetric(state_->series[s])];
    for (int64_t t = start; t <= end; t += step) {
      if (const Sample* x = Latest(s, t, kLookbackMs); x != nullptr) {
        points.push_back(Point{t, x->v});
      }
    }
  }
  ASSERT_FALSE(want.empty());
  EXPECT_EQ(DescribePoints(*got), DescribePoints(want));
}

TEST_F(PromtoolTest, SeriesListsEveryMatchingSeries) {
  const std::string out =
      Promtool("series", {"--match=model_info", "--match=up{job=\"model-server\"}",
                          absl::StrCat("--start=", Seconds(state_->first_ms - 60'000)),
                          absl::StrCat("--end=", Seconds(state_->last_ms + 60'000))});
  std::set<std::string> got;
  for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    got.insert(std::string(line));
  }
  std::set<std::string> want;
  for (size_t s : Select([](const Labels& l) {
         return HasLabel(l, "__name__", "model_info") || HasLabel(l, "__name__", "up");
       })) {
    want.insert(PromtoolLabelSet(state_->series[s]));
  }
  ASSERT_FALSE(want.empty());
  EXPECT_EQ(got, want) << out;
}

TEST_F(PromtoolTest, LabelValuesListsEveryValue) {
  for (const std::string name : {"model", "instance", "code"}) {
    SCOPED_TRACE(name);
    const std::string out =
        Promtool("labels", {name, absl::StrCat("--start=", Seconds(state_->first_ms - 60'000)),
                            absl::StrCat("--end=", Seconds(state_->last_ms + 60'000))});
    std::vector<std::string> got = absl::StrSplit(out, '\n', absl::SkipEmpty());
    std::set<std::string> want;
    for (const Labels& l : state_->series) {
      const std::string v(GetLabelValue(l, name));
      if (!v.empty()) want.insert(v);
    }
    ASSERT_FALSE(want.empty());
    EXPECT_EQ(got, std::vector<std::string>(want.begin(), want.end())) << out;
  }
}

TEST_F(PromtoolTest, ParseErrorIsReportedAsBadData) {
  absl::StatusOr<CommandResult> r =
      RunCommand({kPromtoolPath, "query", "instant", Url(), "sum(model_requests_total"}, 60'000);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->exited_zero()) << r->out;
  EXPECT_TRUE(absl::StrContains(r->err, "bad_data")) << r->err;
}

// SIGTERM: a clean exit, and nothing acknowledged is lost.
TEST(EmberServeTest, SigtermExitsZeroAndKeepsAcknowledgedSamples) {
  ASSERT_TRUE(testutil::IsExecutable(kEmberPath))
      << kEmberPath << " is missing: build the ember_bin target";
  constexpr int kSeries = 40;
  constexpr int kMaxBatches = 1800;  // 30 minutes of data time at one batch per second.
  constexpr int kAckedBeforeSignal = 50;
  // Old enough that kMaxBatches seconds of data stay in the past, young enough for retention.
  const int64_t base_ms = (WallNowMs() - 40 * 60 * 1000) / 1000 * 1000;
  auto value = [](int batch, int series) { return batch + series / 64.0; };
  auto make_batch = [&](int k) {
    ingest::DecodedBatch b;
    b.kind = ingest::PositionKind::kTimeseries;
    for (int i = 0; i < kSeries; ++i) {
      b.series.push_back(ingest::DecodedSeries{
          {Label{"__name__", "sigterm_probe"}, Label{"series", absl::StrCat(i)}},
          {Sample{base_ms + k * 1000LL, value(k, i)}},
          static_cast<uint32_t>(i)});
    }
    return b;
  };

  TempDir dir;
  const std::string data_dir = dir.Sub("data");
  const std::string log = dir.Sub("ember.log");
  int acked = 0;
  {
    EmberProcess ember(kEmberPath);
    ASSERT_TRUE(ember.Start(data_dir, log).ok()) << testutil::FileTail(log);

    // The writer sends batch after batch until a request fails (the server went away) or the
    // cap; `acked_count` counts the leading batches answered 204.
    std::atomic<int> acked_count{0};
    std::atomic<bool> signalled{false};
    std::string failure_before_signal;
    std::thread writer([&] {
      HttpClient client(ember.port(), 10'000);
      for (int k = 0; k < kMaxBatches; ++k) {
        absl::StatusOr<HttpResult> r = testutil::PostRemoteWriteV1(&client, make_batch(k));
        const bool ok = r.ok() && r->status == 204;
        if (!ok) {
          if (!signalled.load()) {
            failure_before_signal =
                r.ok() ? absl::StrCat("HTTP ", r->status, ": ", r->body) : r.status().ToString();
          }
          return;
        }
        acked_count.store(k + 1);
      }
    });
    const bool enough = testutil::WaitFor(
        [&] { return acked_count.load() >= kAckedBeforeSignal || !ember.process().running(); },
        60'000, 5);
    signalled.store(true);
    ember.process().Signal(SIGTERM);
    const std::optional<int> status = ember.process().Wait(60'000);
    writer.join();  // Bounded: every request times out within 10 s, and the server is gone.
    acked = acked_count.load();
    ASSERT_TRUE(enough) << "only " << acked << " batches acknowledged in 60 s";
    ASSERT_TRUE(failure_before_signal.empty()) << failure_before_signal;
    ASSERT_TRUE(status.has_value()) << "ember serve still running 60 s after SIGTERM; log:\n"
                                    << testutil::FileTail(log);
    ASSERT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
        << "ember serve ended with " << testutil::DescribeWaitStatus(status)
        << " on SIGTERM; log:\n"
        << testutil::FileTail(log);
  }
  ASSERT_GE(acked, kAckedBeforeSignal);

  EmberProcess again(kEmberPath);
  ASSERT_TRUE(again.Start(data_dir, log).ok()) << testutil::FileTail(log);
  HttpClient client(again.port());
  const int64_t eval_ms = base_ms + (kMaxBatches + 10) * 1000LL;
  absl::StatusOr<HttpResult> r =
      client.Get(absl::StrCat("/api/v1/query?query=", testutil::UrlEncode("sigterm_probe[1h]"),
                              "&time=", Seconds(eval_ms)));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->status, 200) << r->body;
  absl::StatusOr<testutil::JsonValue> doc = testutil::ParseJson(r->body);
  ASSERT_TRUE(doc.ok()) << doc.status();
  const testutil::JsonValue& data = (*doc)["data"];
  ASSERT_EQ(data["resultType"].text, "matrix") << r->body.substr(0, 500);
  std::map<int, std::vector<Point>> got;
  for (const testutil::JsonValue& s : data["result"].items) {
    int series = -1;
    ASSERT_TRUE(absl::SimpleAtoi(s["metric"]["series"].text, &series)) << r->body.substr(0, 500);
    for (const testutil::JsonValue& p : s["values"].items) {
      ASSERT_EQ(p.items.size(), 2u);
      got[series].push_back(Point{testutil::PromTimestampMs(p.items[0]),
                                  std::strtod(p.items[1].text.c_str(), nullptr)});
    }
  }
  int extra = 0;
  for (int i = 0; i < kSeries; ++i) {
    SCOPED_TRACE(absl::StrCat("series ", i));
    const std::vector<Point>& points = got[i];
    ASSERT_GE(points.size(), static_cast<size_t>(acked)) << "acknowledged batches: " << acked;
    // The batch in flight at the signal may or may not have been stored, as a whole.
    ASSERT_LE(points.size(), static_cast<size_t>(acked) + 1);
    extra = std::max(extra, static_cast<int>(points.size()) - acked);
    for (size_t k = 0; k < points.size(); ++k) {
      ASSERT_EQ(points[k].t, base_ms + static_cast<int64_t>(k) * 1000) << "sample " << k;
      ASSERT_EQ(points[k].v, value(static_cast<int>(k), i)) << "sample " << k;
    }
  }
  const int status = again.process().Stop();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << testutil::FileTail(log);
  std::printf("acknowledged %d batches of %d samples before SIGTERM (%d more stored)\n", acked,
              kSeries, extra);
}

}  // namespace
}  // namespace ember
