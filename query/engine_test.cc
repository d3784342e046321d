#include "query/engine.h"

#include <atomic>
#include <bit>
#include <chrono>
#include <climits>
#include <cmath>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ember/db.h"
#include "ember/options.h"
#include "ember/sample.h"
#include "gtest/gtest.h"
#include "query/ast.h"
#include "query/eval.h"
#include "storage/label_codec.h"
#include "tests/testutil/temp_dir.h"

namespace ember::query {
namespace {

constexpr int64_t kMinute = 60 * 1000;

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Options o;
    o.retention_ms = 0;
    o.sync_policy = SyncPolicy::kNoSync;
    o.background_interval_ms = 0;
    o.clock = [] { return int64_t{100} * 365 * 24 * 3600 * 1000; };
    auto db = Db::Open(o, dir_.path());
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    engine_ = std::make_unique<Engine>(db_.get(), EngineOptions{});
  }

  // Appends `values` at t = 0, step, 2*step, ...; NaN values with `skip` are left out.
  void Load(const Labels& labels, int64_t step, const std::vector<double>& values) {
    auto app = db_->NewAppender();
    for (size_t i = 0; i < values.size(); ++i) {
      ASSERT_TRUE(app->Append(labels, static_cast<int64_t>(i) * step, values[i]).ok());
    }
    ASSERT_TRUE(app->Commit().ok());
  }
  void LoadAt(const Labels& labels, int64_t t, double v) {
    auto app = db_->NewAppender();
    ASSERT_TRUE(app->Append(labels, t, v).ok());
    ASSERT_TRUE(app->Commit().ok());
  }

  Vector Instant(const std::string& q, int64_t t) {
    auto r = engine_->InstantQuery(q, t);
    EXPECT_TRUE(r.ok()) << q << ": " << r.status();
    if (!r.ok()) return {};
    last_ = *r;
    return r->value.vector;
  }
  double ScalarAt(const std::string& q, int64_t t) {
    auto r = engine_->InstantQuery(q, t);
    EXPECT_TRUE(r.ok()) << q << ": " << r.status();
    return r.ok() ? r->value.scalar : NAN;
  }
  absl::Status InstantError(const std::string& q, int64_t t) {
    return engine_->InstantQuery(q, t).status();
  }

  testutil::TempDir dir_;
  std::unique_ptr<Db> db_;
  std::unique_ptr<Engine> engine_;
  QueryResult last_;
};

Labels L(std::initializer_list<std::pair<const char*, const char*>> l) {
  Labels out;
  for (auto& [n, v] : l) out.push_back(Label{n, v});
  CanonicalizeLabels(&out);
  return out;
}

TEST_F(EngineTest, LookbackIsLeftOpenFiveMinutes) {
  LoadAt(L({{"__name__", "m"}}), 0, 7);
  EXPECT_EQ(Instant("m", 299'000).size(), 1u);
  EXPECT_TRUE(Instant("m", 300'000).empty());
}

TEST_F(EngineTest, StaleMarkerHidesSeries) {
  LoadAt(L({{"__name__", "m"}}), 0, 1);
  LoadAt(L({{"__name__", "m"}}), 10'000, StaleNaN());
  EXPECT_EQ(Instant("m", 5'000).size(), 1u);
  EXPECT_TRUE(Instant("m", 10'000).empty());
  EXPECT_TRUE(Instant("m", 60'000).empty());
}

TEST_F(EngineTest, RangeQueryReturnsPointsAtEveryStep) {
  Load(L({{"__name__", "m"}, {"job", "a"}}), 30'000, {1, 2, 3, 4, 5});
  auto r = engine_->RangeQuery("m", 0, 2 * kMinute, kMinute);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->value.matrix.size(), 1u);
  const auto& pts = r->value.matrix[0].points;
  ASSERT_EQ(pts.size(), 3u);
  EXPECT_EQ(pts[0].v, 1);
  EXPECT_EQ(pts[1].v, 3);
  EXPECT_EQ(pts[2].v, 5);
}

// Samples 0,10,...,100 every 10 s (a counter rising by 1/s): rate over [50s] at t=100s sees
// 60..100 at 60s..100s (left-open window (50s, 100s]). Sampled interval 40 s, increase 40;
// start gap 10 s < 1.1 * 10 s, so it extrapolates to the window start: 40 * 50/40 = 50 over
// 50 s, i.e. 1/s; increase() gives 50.
TEST_F(EngineTest, RateExtrapolatesToWindowEdges) {
  std::vector<double> v;
  for (int i = 0; i <= 10; ++i) v.push_back(i * 10);
  Load(L({{"__name__", "c_total"}}), 10'000, v);
  auto r = Instant("rate(c_total[50s])", 100'000);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_DOUBLE_EQ(r[0].v, 1.0);
  EXPECT_TRUE(r[0].labels.empty());  // The name is dropped.
  r = Instant("increase(c_total[50s])", 100'000);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_DOUBLE_EQ(r[0].v, 50.0);
}

// Values 0 5 10 3 8 at 0..40s (one reset after 10): increase sees 10 + 8 = 18 over the 40 s
// sampled; the window (−10s, 40s] starts 10 s before the first sample, within 1.1 * 10 s, but
// the zero point of the counter (0 s before it, value 0) is closer, so no extension there; the
// end is exact. Result 18.
TEST_F(EngineTest, IncreaseHandlesCounterResets) {
  Load(L({{"__name__", "c_total"}}), 10'000, {0, 5, 10, 3, 8});
  auto r = Instant("increase(c_total[50s])", 40'000);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_DOUBLE_EQ(r[0].v, 18.0);
  r = Instant("resets(c_total[50s])", 40'000);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].v, 1);
}

TEST_F(EngineTest, RateOnNonCounterNameGivesInfo) {
  Load(L({{"__name__", "gauge"}}), 10'000, {1, 2, 3});
  Instant("rate(gauge[1m])", 20'000);
  ASSERT_EQ(last_.annotations.infos.size(), 1u);
  EXPECT_NE(last_.annotations.infos[0].find("metric might not be a counter"), std::string::npos);
}

TEST_F(EngineTest, OneToOneMatchingRejectsDuplicates) {
  LoadAt(L({{"__name__", "a"}, {"job", "x"}, {"i", "1"}}), 0, 1);
  LoadAt(L({{"__name__", "a"}, {"job", "x"}, {"i", "2"}}), 0, 2);
  LoadAt(L({{"__name__", "b"}, {"job", "x"}}), 0, 3);
  absl::Status s = InstantError("a + on(job) b", 0);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(s.message()).find("multiple matches for labels"), std::string::npos);
  s = InstantError("b + on(job) a", 0);
  EXPECT_NE(std::string(s.message())
                .find("found duplicate series for the match group {job=\"x\"}"
                      " on the right hand-side"),
            std::string::npos)
      << s;
  auto r = Instant("a + on(job) group_left b", 0);
  ASSERT_EQ(r.size(), 2u);
}

TEST_F(EngineTest, ComparisonFiltersAndBoolKeepsAll) {
  Load(L({{"__name__", "m"}, {"i", "1"}}), 10'000, {1});
  Load(L({{"__name__", "m"}, {"i", "2"}}), 10'000, {5});
  auto r = Instant("m > 2", 0);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(GetLabelValue(r[0].labels, "__name__"), "m");
  r = Instant("m > bool 2", 0);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(GetLabelValue(r[0].labels, "__name__"), "");
}

TEST_F(EngineTest, AggregationsGroupAndCompensate) {
  LoadAt(L({{"__name__", "m"}, {"g", "a"}, {"i", "1"}}), 0, 1e100);
  LoadAt(L({{"__name__", "m"}, {"g", "a"}, {"i", "2"}}), 0, 1);
  LoadAt(L({{"__name__", "m"}, {"g", "a"}, {"i", "3"}}), 0, -1e100);
  LoadAt(L({{"__name__", "m"}, {"g", "b"}, {"i", "1"}}), 0, 4);
  auto r = Instant("sum by (g) (m)", 0);
  ASSERT_EQ(r.size(), 2u);
  for (const auto& s : r) {
    EXPECT_EQ(s.v, GetLabelValue(s.labels, "g") == "a" ? 1 : 4);
  }
  r = Instant("count without (i) (m)", 0);
  ASSERT_EQ(r.size(), 2u);
  r = Instant("topk(1, m)", 0);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].v, 1e100);
  EXPECT_EQ(ScalarAt("scalar(quantile(0.5, m))", 0), 2.5);
}

TEST_F(EngineTest, HistogramQuantileInterpolatesWithinBucket) {
  LoadAt(L({{"__name__", "h_bucket"}, {"le", "1"}}), 0, 10);
  LoadAt(L({{"__name__", "h_bucket"}, {"le", "2"}}), 0, 20);
  LoadAt(L({{"__name__", "h_bucket"}, {"le", "+Inf"}}), 0, 20);
  auto r = Instant("histogram_quantile(0.75, h_bucket)", 0);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_DOUBLE_EQ(r[0].v, 1.5);  // Rank 15 lies halfway through the (1, 2] bucket.
  EXPECT_TRUE(r[0].labels.empty());
}

TEST_F(EngineTest, LimitRatioHashesLabelsAsPrometheus) {
  // labels.Hash(): XXH64 over name 0xff value 0xff, pair by pair in name order.
  using std::string_literals::operator""s;
  EXPECT_EQ(PrometheusLabelsHash(L({{"__name__", "m"}, {"i", "7"}})),
            storage::HashLabelBytes("__name__\xffm\xffi\xff"
                                    "7\xff"s));
  EXPECT_EQ(PrometheusLabelsHash({}), 0xEF46DB3751D8E999u);  // XXH64 of no bytes.

  int kept = 0;
  for (int i = 0; i < 40; ++i) {
    const Labels ls = L({{"__name__", "m"}, {"i", std::to_string(i).c_str()}});
    LoadAt(ls, 0, i);
    kept += LimitRatioKeeps(0.5, ls) ? 1 : 0;
  }
  auto r = Instant("limit_ratio(0.5, m)", 0);
  ASSERT_EQ(static_cast<int>(r.size()), kept);
  for (const auto& s : r) EXPECT_TRUE(LimitRatioKeeps(0.5, s.labels));
  // A ratio and its negative complement split the series exactly.
  EXPECT_EQ(static_cast<int>(Instant("limit_ratio(-0.5, m)", 0).size()), 40 - kept);
  EXPECT_TRUE(Instant("limit_ratio(0.3, m) and limit_ratio(-0.7, m)", 0).empty());
  EXPECT_EQ(Instant("limit_ratio(0.3, m) or limit_ratio(-0.7, m)", 0).size(), 40u);
  EXPECT_TRUE(Instant("limit_ratio(0, m)", 0).empty());
  EXPECT_EQ(Instant("limit_ratio(1.1, m)", 0).size(), 40u);
  ASSERT_EQ(last_.annotations.warnings.size(), 1u);
  EXPECT_EQ(last_.annotations.warnings[0],
            "PromQL warning: ratio value should be between -1 and 1, got 1.1, capping to 1 "
            "(1:13)");
  EXPECT_EQ(Instant("limit_ratio(-1, m)", 0).size(), 40u);
  absl::Status st = InstantError("limit_ratio(NaN, m)", 0);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "Ratio value is NaN");
}

TEST_F(EngineTest, AggregationByNameKeepsDelayedNameRemoval) {
  Load(L({{"__name__", "a_total"}, {"env", "1"}}), kMinute, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  Load(L({{"__name__", "b_total"}, {"env", "1"}}), kMinute, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  Load(L({{"__name__", "a_total"}, {"env", "2"}}), kMinute,
       {0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30});
  // Both groups lose their name at the end and then collide.
  EXPECT_EQ(InstantError("sum by (__name__) (rate({env=\"1\"}[10m]))", 10 * kMinute).message(),
            "vector cannot contain metrics with the same labelset");
  auto r = Instant("sum by (__name__) (rate(a_total{env=\"2\"}[5m]))", 10 * kMinute);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_TRUE(r[0].labels.empty());
  // One member of the group drops its name, so the group does, whatever the order.
  for (const char* q : {"sum by (__name__) (a_total{env=\"1\"} or rate(a_total{env=\"2\"}[5m]))",
                        "sum by (__name__) (rate(a_total{env=\"2\"}[5m]) or a_total{env=\"1\"})"}) {
    r = Instant(q, 10 * kMinute);
    ASSERT_EQ(r.size(), 1u) << q;
    EXPECT_TRUE(r[0].labels.empty()) << q;
    EXPECT_DOUBLE_EQ(r[0].v, 10.05) << q;
  }
  r = Instant("sum by (__name__) (a_total{env=\"1\"})", 10 * kMinute);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(GetLabelValue(r[0].labels, "__name__"), "a_total");
}

TEST_F(EngineTest, HistogramFractionInterpolatesClassicBuckets) {
  const std::pair<const char*, double> pos[] = {{"1", 1}, {"2", 3}, {"3", 6}, {"+Inf", 100}};
  for (const auto& [le, count] : pos) LoadAt(L({{"__name__", "h_bucket"}, {"le", le}}), 0, count);
  const std::pair<const char*, double> neg[] = {{"-3", 10}, {"-2", 12}, {"-1", 15}, {"+Inf", 100}};
  for (const auto& [le, count] : neg) LoadAt(L({{"__name__", "n_bucket"}, {"le", le}}), 0, count);
  // [0, 1] is the whole first bucket (natural lower bound 0), (1, 1.5] half of the second.
  auto r = Instant("histogram_fraction(0, 1.5, h_bucket)", 0);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_DOUBLE_EQ(r[0].v, 0.02);
  EXPECT_TRUE(r[0].labels.empty());
  // No interpolation in a bucket of infinite width: (4, 5] in (3, +Inf], -4 in (-Inf, -3].
  EXPECT_DOUBLE_EQ(Instant("histogram_fraction(4, 5, h_bucket)", 0)[0].v, 0);
  EXPECT_DOUBLE_EQ(Instant("histogram_fraction(-4, -2, n_bucket)", 0)[0].v, 0.02);
  EXPECT_DOUBLE_EQ(Instant("histogram_fraction(-Inf, -1.5, n_bucket)", 0)[0].v, 0.135);
  EXPECT_DOUBLE_EQ(Instant("histogram_fraction(-Inf, +Inf, h_bucket)", 0)[0].v, 1);
  EXPECT_DOUBLE_EQ(Instant("histogram_fraction(3, 2, h_bucket)", 0)[0].v, 0);
  EXPECT_TRUE(std::isnan(Instant("histogram_fraction(NaN, 2, h_bucket)", 0)[0].v));
}

TEST_F(EngineTest, MadOverTimeIsNaNWithNaNInWindow) {
  Load(L({{"__name__", "m"}}), 10'000, {1, NAN, 3, 4});
  auto r = Instant("mad_over_time(m[40s])", 30'000);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_TRUE(std::isnan(r[0].v));
  r = Instant("mad_over_time(m[15s])", 30'000);  // 3 and 4 only.
  ASSERT_EQ(r.size(), 1u);
  EXPECT_DOUBLE_EQ(r[0].v, 0.5);
}

TEST_F(EngineTest, DoubleExponentialSmoothingRejectsInvalidFactors) {
  Load(L({{"__name__", "m"}}), 10'000, {1, 2, 4, 8});
  absl::Status st = InstantError("double_exponential_smoothing(m[1m], 1.5, 0.1)", 30'000);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "invalid smoothing factor. Expected: 0 < sf < 1, got: 1.500000");
  st = InstantError("double_exponential_smoothing(m[1m], 0.5, 0)", 30'000);
  EXPECT_EQ(st.message(), "invalid trend factor. Expected: 0 < tf < 1, got: 0.000000");
  // Checked only where a window has samples, as in Prometheus.
  EXPECT_TRUE(Instant("double_exponential_smoothing(nothing[1m], 0, 0)", 30'000).empty());
  EXPECT_EQ(Instant("double_exponential_smoothing(m[1m], 0.5, 0.5)", 30'000).size(), 1u);
}

TEST_F(EngineTest, SubqueryStepsAreAlignedToAbsoluteTime) {
  Load(L({{"__name__", "m"}}), 10'000, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  // [45s:20s] at 95s: steps at 60s and 80s (aligned to multiples of 20 s, > 50 s).
  auto r = Instant("count_over_time(m[45s:20s])", 95'000);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].v, 2);
}

TEST_F(EngineTest, CancelledQueryStops) {
  Load(L({{"__name__", "m"}}), 10'000, {1, 2, 3});
  std::atomic<bool> cancel{true};
  auto r = engine_->InstantQuery("m", 0, &cancel);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kCancelled);
}

TEST_F(EngineTest, MemoryBudgetEndsAQueryWithResourceExhausted) {
  Load(L({{"__name__", "m"}}), 10'000, {1, 2, 3});
  EngineOptions o;
  o.max_memory_bytes = 1 << 20;
  std::atomic<int64_t> in_use{0};
  o.memory_in_use = &in_use;
  Engine engine(db_.get(), o);
  // 3.6 M steps of 16 bytes: far past 1 MiB.
  auto r = engine.InstantQuery("count_over_time(vector(1)[1h:1ms])", 3'600'000);
  ASSERT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted) << r.status();
  EXPECT_NE(r.status().message().find("query.max-memory-bytes"), std::string_view::npos);
  EXPECT_EQ(in_use.load(), 0);  // Given back, however the query ended.
  // Small queries still fit, and report what they held.
  auto ok = engine.InstantQuery("count_over_time(m[1m:10s])", 30'000);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_GT(ok->peak_memory_bytes, 0);
  EXPECT_LE(ok->peak_memory_bytes, o.max_memory_bytes);
  EXPECT_EQ(in_use.load(), 0);
}

TEST_F(EngineTest, SubqueryWithMoreStepsThanMaxSamplesFailsBeforeAllocating) {
  // 10 years at 1 ms: 3e11 steps; must not reach the allocator.
  auto r = engine_->InstantQuery("count_over_time(vector(1)[10y:1ms])", 0);
  ASSERT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted) << r.status();
  EXPECT_NE(r.status().message().find("too many samples"), std::string_view::npos);
}

TEST_F(EngineTest, EvaluationTimesOutOfRangeAreInvalidArgument) {
  EXPECT_EQ(engine_->InstantQuery("1", kMaxEvalTimeMs + 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(engine_->InstantQuery("1", INT64_MIN).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(engine_->RangeQuery("1", INT64_MAX - 10, INT64_MAX, 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  // The edges themselves evaluate, with durations at their own limits (no overflow).
  EXPECT_TRUE(
      engine_->InstantQuery("count_over_time(vector(1)[292y:100y] offset -292y)", kMaxEvalTimeMs)
          .ok());
  EXPECT_TRUE(engine_->InstantQuery("m offset 292y", -kMaxEvalTimeMs).ok());
}

TEST_F(EngineTest, DurationsPastGoDurationRangeAreParseErrors) {
  for (const char* q : {"m[1e300s]", "m[300y]", "m offset 1e300", "m offset 300y", "m[5m:1e300]",
                        "m @ 1e300", "m @ -1e300"}) {
    SCOPED_TRACE(q);
    auto r = engine_->InstantQuery(q, 0);
    ASSERT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
    EXPECT_NE(r.status().message().find("parse error"), std::string_view::npos) << r.status();
  }
}

TEST_F(EngineTest, CancelDuringAHeavyQueryStopsIt) {
  std::atomic<bool> cancel{false};
  std::thread canceller([&cancel] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    cancel.store(true);
  });
  // Minutes of work uncancelled: windows of 86,400 points at 86,400 steps.
  auto r = engine_->InstantQuery("sum_over_time(sum_over_time(vector(1)[1d:1s])[1d:1s])",
                                 86'400'000, &cancel);
  canceller.join();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kCancelled) << r.status();
}

}  // namespace
}  // namespace ember::query
