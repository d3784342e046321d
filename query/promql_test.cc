// ember::promql through the public headers only: samples go in through ember::Db, answers come
// back typed, and the expected values are worked out by hand from Prometheus's rate()
// (extrapolation to the window's edges, counter resets, the clamp at zero).
#include "ember/promql.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "ember/db.h"
#include "ember/labels.h"
#include "ember/options.h"
#include "gtest/gtest.h"
#include "tests/testutil/temp_dir.h"

namespace ember::promql {
namespace {

constexpr int64_t kSecond = 1000;

Labels Series(const std::string& s) { return {{"__name__", "x_total"}, {"s", s}}; }

class PromqlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Options o;
    o.retention_ms = 0;
    o.sync_policy = SyncPolicy::kNoSync;
    o.background_interval_ms = 0;
    auto db = Db::Open(o, dir_.path());
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);

    std::unique_ptr<Appender> app = db_->NewAppender();
    // linear: every 15 s from 0 to 600 s, v = 2 * seconds, so 2/s.
    for (int64_t s = 0; s <= 600; s += 15) {
      ASSERT_TRUE(app->Append(Series("linear"), s * kSecond, 2.0 * s).ok());
    }
    // reset: every 60 s, 0, 10, ..., 60 at 360 s, then a reset to 3 at 420 s and +10 a minute.
    for (int64_t s = 0; s <= 360; s += 60) {
      ASSERT_TRUE(app->Append(Series("reset"), s * kSecond, s / 6.0).ok());
    }
    for (int64_t s = 420; s <= 600; s += 60) {
      ASSERT_TRUE(app->Append(Series("reset"), s * kSecond, 3 + (s - 420) / 6.0).ok());
    }
    // from_zero: born at 360 s with 1, +10 a minute.
    for (int64_t s = 360; s <= 600; s += 60) {
      ASSERT_TRUE(app->Append(Series("from_zero"), s * kSecond, 1 + (s - 360) / 6.0).ok());
    }
    auto committed = app->Commit();
    ASSERT_TRUE(committed.ok()) << committed.status();
    ASSERT_TRUE(committed->rejected.empty());
  }

  std::unique_ptr<Engine> NewEngineOrDie(const EngineOptions& options = EngineOptions()) {
    auto engine = NewEngine(db_.get(), options);
    EXPECT_TRUE(engine.ok()) << engine.status();
    return engine.ok() ? std::move(*engine) : nullptr;
  }

  testutil::TempDir dir_;
  std::unique_ptr<Db> db_;
};

TEST_F(PromqlTest, RateMatchesHandComputedValues) {
  std::unique_ptr<Engine> engine = NewEngineOrDie();
  auto r = engine->InstantQuery("sort_by_label(rate(x_total[5m]), \"s\")", 600 * kSecond);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(std::holds_alternative<Vector>(r->value)) << ValueTypeName(r->value);
  const Vector& v = std::get<Vector>(r->value);
  ASSERT_EQ(v.size(), 3u);
  // rate() drops the metric name.
  EXPECT_EQ(v[0].labels, (Labels{{"s", "from_zero"}}));
  EXPECT_EQ(v[1].labels, (Labels{{"s", "linear"}}));
  EXPECT_EQ(v[2].labels, (Labels{{"s", "reset"}}));
  for (const InstantSample& s : v) EXPECT_EQ(s.t, 600 * kSecond);
  // from_zero: 1..41 over 360..600 s, an increase of 40 in 240 s. Extrapolating 60 s back to
  // the window's start would pass zero, so only 240 * 1/40 = 6 s: 40 * 246/240 = 41 in 300 s.
  EXPECT_DOUBLE_EQ(v[0].v, 41.0 / 300);
  // linear: samples 315..600 s (the window is left-open), 630 -> 1200, 570 in 285 s; 15 s to
  // the start is within 1.1 average intervals: 570 * 300/285 = 600 in 300 s.
  EXPECT_DOUBLE_EQ(v[1].v, 2.0);
  // reset: 60, 3, 13, 23, 33 over 360..600 s: 33 - 60 + 60 (the reset) = 33 in 240 s, 60 s to
  // the start within 66 s: 33 * 300/240 = 41.25 in 300 s.
  EXPECT_DOUBLE_EQ(v[2].v, 41.25 / 300);
}

TEST_F(PromqlTest, RangeQueryReturnsAMatrixOfEverySteps) {
  std::unique_ptr<Engine> engine = NewEngineOrDie();
  auto r = engine->RangeQuery("rate(x_total{s=\"linear\"}[5m])", 300 * kSecond, 600 * kSecond,
                              60 * kSecond);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(std::holds_alternative<Matrix>(r->value)) << ValueTypeName(r->value);
  const Matrix& m = std::get<Matrix>(r->value);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].labels, (Labels{{"s", "linear"}}));
  ASSERT_EQ(m[0].samples.size(), 6u);
  for (size_t i = 0; i < m[0].samples.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(m[0].samples[i].t, (300 + 60 * static_cast<int64_t>(i)) * kSecond);
    EXPECT_DOUBLE_EQ(m[0].samples[i].v, 2.0);
  }
  EXPECT_GT(r->peak_memory_bytes, 0);
}

TEST_F(PromqlTest, InstantQueryReturnsEachType) {
  std::unique_ptr<Engine> engine = NewEngineOrDie();
  auto scalar = engine->InstantQuery("1 + 1", 7 * kSecond);
  ASSERT_TRUE(scalar.ok()) << scalar.status();
  ASSERT_TRUE(std::holds_alternative<Scalar>(scalar->value));
  EXPECT_EQ(std::get<Scalar>(scalar->value).t, 7 * kSecond);
  EXPECT_EQ(std::get<Scalar>(scalar->value).v, 2.0);
  EXPECT_EQ(ValueTypeName(scalar->value), "scalar");

  auto str = engine->InstantQuery("\"hello\"", 7 * kSecond);
  ASSERT_TRUE(str.ok()) << str.status();
  ASSERT_TRUE(std::holds_alternative<String>(str->value));
  EXPECT_EQ(std::get<String>(str->value).value, "hello");
  EXPECT_EQ(ValueTypeName(str->value), "string");

  // A range selector at an instant: the raw samples in (540 s, 600 s], name kept.
  auto range = engine->InstantQuery("x_total{s=\"linear\"}[1m]", 600 * kSecond);
  ASSERT_TRUE(range.ok()) << range.status();
  ASSERT_TRUE(std::holds_alternative<Matrix>(range->value));
  const Matrix& m = std::get<Matrix>(range->value);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].labels, Series("linear"));
  ASSERT_EQ(m[0].samples.size(), 4u);
  EXPECT_EQ(m[0].samples.front().t, 555 * kSecond);
  EXPECT_EQ(m[0].samples.front().v, 1110.0);
  EXPECT_EQ(m[0].samples.back().t, 600 * kSecond);
  EXPECT_EQ(ValueTypeName(range->value), "matrix");
}

TEST_F(PromqlTest, AnnotationsComeBack) {
  std::unique_ptr<Engine> engine = NewEngineOrDie();
  auto app = db_->NewAppender();
  ASSERT_TRUE(app->Append({{"__name__", "temp"}}, 540 * kSecond, 20).ok());
  ASSERT_TRUE(app->Append({{"__name__", "temp"}}, 600 * kSecond, 21).ok());
  ASSERT_TRUE(app->Commit().ok());
  auto r = engine->InstantQuery("rate(temp[5m])", 600 * kSecond);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->infos.size(), 1u);
  EXPECT_NE(r->infos[0].find("might not be a counter"), std::string::npos) << r->infos[0];
}

TEST_F(PromqlTest, LookbackOptionReachesTheEngine) {
  // reset's last sample is at 600 s; at 700 s the default 5m lookback still sees it.
  auto seen = NewEngineOrDie()->InstantQuery("x_total{s=\"reset\"}", 700 * kSecond);
  ASSERT_TRUE(seen.ok()) << seen.status();
  ASSERT_EQ(std::get<Vector>(seen->value).size(), 1u);
  EXPECT_EQ(std::get<Vector>(seen->value)[0].v, 33.0);

  EngineOptions options;
  options.lookback_delta_ms = 60 * kSecond;
  auto gone = NewEngineOrDie(options)->InstantQuery("x_total{s=\"reset\"}", 700 * kSecond);
  ASSERT_TRUE(gone.ok()) << gone.status();
  EXPECT_TRUE(std::get<Vector>(gone->value).empty());
}

TEST_F(PromqlTest, BadQueriesAreInvalidArgumentNamingTheCause) {
  std::unique_ptr<Engine> engine = NewEngineOrDie();
  struct Case {
    std::string query;
    std::string want;  // A part of the message.
  };
  const Case cases[] = {
      {"rate(x_total[5m]", "parse error"},
      {"rate(x_total)", "expected type range vector"},
      {"1 +", "parse error"},
      {"x_total + ignoring(s) x_total", "many-to-many matching not allowed"},
      {"", "no expression found in input"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.query);
    auto r = engine->InstantQuery(c.query, 600 * kSecond);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
    EXPECT_NE(r.status().message().find(c.want), absl::string_view::npos) << r.status();
  }
}

TEST_F(PromqlTest, BadRangeQueriesAreInvalidArgument) {
  std::unique_ptr<Engine> engine = NewEngineOrDie();
  struct Case {
    std::string query;
    int64_t start, end, step;
    std::string want;
  };
  const Case cases[] = {
      {"x_total[5m]", 0, 600 * kSecond, kSecond, "invalid expression type \"range vector\""},
      {"x_total", 0, 600 * kSecond, 0, "zero or negative query resolution step"},
      {"x_total", 600 * kSecond, 0, kSecond, "end timestamp must not be before start time"},
      {"x_total", 0, 600 * kSecond, 1, "exceeded maximum resolution of 11,000 points"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.query);
    auto r = engine->RangeQuery(c.query, c.start, c.end, c.step);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
    EXPECT_NE(r.status().message().find(c.want), absl::string_view::npos) << r.status();
  }
}

TEST_F(PromqlTest, LimitsAndCancellationHaveTheirCodes) {
  EngineOptions tiny;
  tiny.max_samples = 1;
  auto r = NewEngineOrDie(tiny)->InstantQuery("x_total[5m]", 600 * kSecond);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted) << r.status();

  const std::atomic<bool> cancel{true};
  r = NewEngineOrDie()->RangeQuery("rate(x_total[5m])", 0, 600 * kSecond, kSecond, &cancel);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kCancelled) << r.status();
}

TEST_F(PromqlTest, BadOptionsAreInvalidArgumentNamingTheOption) {
  struct Case {
    std::string name;
    EngineOptions options;
  };
  std::vector<Case> cases(5);
  cases[0] = {"lookback_delta_ms", {}};
  cases[0].options.lookback_delta_ms = 0;
  cases[1] = {"timeout_ms", {}};
  cases[1].options.timeout_ms = -1;
  cases[2] = {"max_samples", {}};
  cases[2].options.max_samples = 0;
  cases[3] = {"default_subquery_step_ms", {}};
  cases[3].options.default_subquery_step_ms = 0;
  cases[4] = {"max_memory_bytes", {}};
  cases[4].options.max_memory_bytes = -5;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto engine = NewEngine(db_.get(), c.options);
    ASSERT_FALSE(engine.ok());
    EXPECT_EQ(engine.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(engine.status().message().find(c.name), absl::string_view::npos) << engine.status();
  }
  auto null_db = NewEngine(nullptr);
  ASSERT_FALSE(null_db.ok());
  EXPECT_EQ(null_db.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ember::promql
