#include "rules/rule_group.h"

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rules/rule_group_testing.h"

namespace ember::rules {
namespace {

using ::testing::HasSubstr;

TEST_F(RuleGroupTest, RecordingRuleWritesResultUnderRecordNameWithRuleLabels) {
  Add(L({{"__name__", "up"}, {"job", "api"}, {"instance", "a"}}), kT0, 1);
  Add(L({{"__name__", "up"}, {"job", "db"}, {"instance", "b"}}), kT0, 0);
  // Rule labels override the result's; __name__ becomes the record name.
  auto eval = Make(Group({Recording("inst:up", "up", L({{"team", "infra"}, {"job", "all"}}))}));
  ASSERT_TRUE(eval->Evaluate(kT0).ok());
  query::Vector v = Query("inst:up", kT0);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].labels,
            L({{"__name__", "inst:up"}, {"instance", "a"}, {"job", "all"}, {"team", "infra"}}));
  EXPECT_EQ(v[0].v, 1);
  EXPECT_EQ(v[1].labels,
            L({{"__name__", "inst:up"}, {"instance", "b"}, {"job", "all"}, {"team", "infra"}}));
  EXPECT_EQ(v[1].v, 0);
  const std::vector<RuleState> rules = eval->rules();
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0].health, RuleHealth::kOk);
  EXPECT_FALSE(rules[0].alerting);
  EXPECT_EQ(rules[0].last_evaluation_ms, kT0);
  EXPECT_EQ(eval->last_evaluation_ms(), kT0);
}

TEST_F(RuleGroupTest, ScalarResultBecomesOneSeriesWithOnlyRuleLabels) {
  auto eval = Make(Group({Recording("answer", "6 * 7", L({{"k", "v"}}))}));
  ASSERT_TRUE(eval->Evaluate(kT0).ok());
  query::Vector v = Query("answer", kT0);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].labels, L({{"__name__", "answer"}, {"k", "v"}}));
  EXPECT_EQ(v[0].v, 42);
}

TEST_F(RuleGroupTest, SeriesARuleNoLongerProducesGetsStaleMarker) {
  const Labels a = L({{"__name__", "up"}, {"job", "a"}});
  const Labels b = L({{"__name__", "up"}, {"job", "b"}});
  Add(a, kT0, 1);
  Add(b, kT0, 1);
  Add(a, kT0 + kMinute, 1);
  Add(b, kT0 + kMinute, 0);
  auto eval = Make(Group({Recording("job:up:ok", "up == 1")}));
  ASSERT_TRUE(eval->Evaluate(kT0).ok());
  ASSERT_TRUE(eval->Evaluate(kT0 + kMinute).ok());

  const std::vector<Sample> b_out = Raw(L({{"__name__", "job:up:ok"}, {"job", "b"}}));
  ASSERT_EQ(b_out.size(), 2u);
  EXPECT_EQ(b_out[0].t, kT0);
  EXPECT_EQ(b_out[1].t, kT0 + kMinute);
  EXPECT_TRUE(IsStaleNaN(b_out[1].v));
  EXPECT_EQ(Raw(L({{"__name__", "job:up:ok"}, {"job", "a"}})).size(), 2u);
  // The lookback would otherwise still show b's first sample.
  EXPECT_EQ(Query("job:up:ok", kT0 + kMinute).size(), 1u);

  // Marked once: the next evaluation writes nothing more for b.
  Add(a, kT0 + 2 * kMinute, 1);
  ASSERT_TRUE(eval->Evaluate(kT0 + 2 * kMinute).ok());
  EXPECT_EQ(Raw(L({{"__name__", "job:up:ok"}, {"job", "b"}})).size(), 2u);
}

TEST_F(RuleGroupTest, LaterRulesSeeEarlierRulesOutputOfTheSameEvaluation) {
  Add(L({{"__name__", "up"}, {"job", "a"}}), kT0, 1);
  auto eval = Make(Group({Recording("step1", "up * 2"), Recording("step2", "step1 + 1"),
                          Recording("step3", "sum(step2)")}));
  ASSERT_TRUE(eval->Evaluate(kT0).ok());
  query::Vector v = Query("step3", kT0);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].v, 3);
  EXPECT_EQ(v[0].labels, L({{"__name__", "step3"}}));
}

TEST_F(RuleGroupTest, DuplicateLabelSetAfterRuleLabelsFailsTheRule) {
  Add(L({{"__name__", "up"}, {"job", "a"}}), kT0, 1);
  Add(L({{"__name__", "up"}, {"job", "b"}}), kT0, 1);
  auto eval = Make(
      Group({Recording("all:up", "up", L({{"job", "same"}})), Recording("count:up", "count(up)")}));
  absl::Status s = eval->Evaluate(kT0);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("rule \"all:up\""));
  EXPECT_THAT(s.message(),
              HasSubstr("vector contains metrics with the same labelset after applying rule "
                        "labels"));
  EXPECT_TRUE(Query("all:up", kT0).empty());
  // The rule after it still ran.
  EXPECT_EQ(Query("count:up", kT0).size(), 1u);
  const std::vector<RuleState> rules = eval->rules();
  EXPECT_EQ(rules[0].health, RuleHealth::kErr);
  EXPECT_THAT(rules[0].last_error, HasSubstr("same labelset"));
  EXPECT_EQ(rules[1].health, RuleHealth::kOk);
  EXPECT_TRUE(rules[1].last_error.empty());
}

TEST_F(RuleGroupTest, DuplicateAlertLabelSetFailsTheRule) {
  Add(L({{"__name__", "up"}, {"job", "a"}}), kT0, 0);
  Add(L({{"__name__", "up"}, {"job", "b"}}), kT0, 0);
  auto eval = Make(Group({Alerting("Down", "up == 0", 0, L({{"job", "{{ \"both\" }}"}}))}));
  absl::Status s = eval->Evaluate(kT0);
  EXPECT_THAT(s.message(), HasSubstr("same labelset after applying alert labels"));
  EXPECT_TRUE(eval->rules()[0].alerts.empty());
}

TEST_F(RuleGroupTest, RuleOverLimitFailsAndWritesNothing) {
  Add(L({{"__name__", "up"}, {"job", "a"}}), kT0, 0);
  Add(L({{"__name__", "up"}, {"job", "b"}}), kT0, 0);
  auto eval = Make(Group({Recording("copy", "up"), Alerting("Down", "up == 0", 0)}, 1));
  absl::Status s = eval->Evaluate(kT0);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(s.message(), HasSubstr("exceeded limit of 1 with 2 series"));
  const std::vector<RuleState> rules = eval->rules();
  EXPECT_THAT(rules[1].last_error, HasSubstr("exceeded limit of 1 with 2 alerts"));
  EXPECT_TRUE(rules[1].alerts.empty());
  EXPECT_TRUE(Query("copy", kT0).empty());
  EXPECT_TRUE(Query("ALERTS", kT0).empty());

  auto roomy = Make(Group({Recording("copy", "up")}, 2));
  EXPECT_TRUE(roomy->Evaluate(kT0).ok());
  EXPECT_EQ(Query("copy", kT0).size(), 2u);
}

TEST_F(RuleGroupTest, BadQueryAndNonVectorResultAreRuleErrors) {
  auto eval = Make(
      Group({Recording("bad", "sum(("), Recording("str", "\"text\""), Recording("fine", "1")}));
  EXPECT_EQ(eval->rules()[0].health, RuleHealth::kUnknown);
  absl::Status s = eval->Evaluate(kT0);
  EXPECT_THAT(s.message(), HasSubstr("rule \"bad\""));
  const std::vector<RuleState> rules = eval->rules();
  EXPECT_EQ(rules[0].health, RuleHealth::kErr);
  EXPECT_THAT(rules[0].last_error, HasSubstr("parse error"));
  EXPECT_EQ(rules[1].health, RuleHealth::kErr);
  EXPECT_THAT(rules[1].last_error, HasSubstr("rule result is not a vector or scalar"));
  EXPECT_EQ(rules[2].health, RuleHealth::kOk);
}

TEST_F(RuleGroupTest, StateCanBeReadWhileEvaluating) {
  for (int m = 0; m < 20; ++m) Add(L({{"__name__", "up"}}), kT0 + m * kMinute, 0);
  auto eval = Make(Group({Recording("copy", "up"), Alerting("Down", "up == 0", 5 * kMinute)}));
  std::thread reader([&] {
    for (int i = 0; i < 200; ++i) {
      for (const RuleState& r : eval->rules()) EXPECT_LE(r.alerts.size(), 1u);
      eval->AlertsToSend(kT0 + 20 * kMinute, kMinute);
      eval->last_evaluation_ms();
    }
  });
  for (int m = 0; m < 20; ++m) EXPECT_TRUE(eval->Evaluate(kT0 + m * kMinute).ok());
  reader.join();
  EXPECT_EQ(eval->rules()[1].state, AlertState::kFiring);
  EXPECT_GE(eval->evaluation_time_seconds(), 0);
}

TEST_F(RuleGroupTest, CancelStopsASlowRuleThroughTheExecutor) {
  query::QueryExecutor executor(query::ExecutorOptions{});
  // Minutes of CPU uncancelled.
  GroupEvaluator eval(
      Group({Recording("slow", "sum_over_time(sum_over_time(vector(1)[1d:1s])[1d:1s])", {})}),
      db_.get(), query::EngineOptions{}, {}, &executor);
  std::thread canceller([&eval] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    eval.Cancel();
  });
  absl::Status s = eval.Evaluate(kT0);
  canceller.join();
  EXPECT_EQ(s.code(), absl::StatusCode::kCancelled) << s;
  EXPECT_EQ(eval.rules()[0].health, RuleHealth::kErr);
}

}  // namespace
}  // namespace ember::rules
