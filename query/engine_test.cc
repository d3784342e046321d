#include "query/engine.h"

#include <bit>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "ember/db.h"
#include "ember/options.h"
#include "ember/sample.h"
#include "gtest/gtest.h"
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
  EXPECT_NE(std::string(s.message()).find("found duplicate series for the match group {job=\"x\"}"
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

}  // namespace
}  // namespace ember::query
