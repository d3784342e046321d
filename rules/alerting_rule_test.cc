// Alerting rules: pending, firing and resolved states, the ALERTS series, templates, resending,
// and restoring `for` state after a restart.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rules/rule_group.h"
#include "rules/rule_group_testing.h"

namespace ember::rules {
namespace {

using ::testing::HasSubstr;

TEST_F(RuleGroupTest, AlertIsPendingUntilForElapsesThenFires) {
  const Labels up = L({{"__name__", "up"}, {"job", "api"}});
  for (int m = 0; m <= 5; ++m) Add(up, kT0 + m * kMinute, 0);
  auto eval = Make(Group({Alerting("Down", "up == 0", 5 * kMinute, L({{"severity", "page"}}))}));
  EXPECT_EQ(eval->rules()[0].state, AlertState::kUnknown);

  ASSERT_TRUE(eval->Evaluate(kT0).ok());
  std::vector<RuleState> rules = eval->rules();
  EXPECT_EQ(rules[0].state, AlertState::kPending);
  std::optional<Alert> a = FindAlert(rules, 0);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->labels, L({{"alertname", "Down"}, {"job", "api"}, {"severity", "page"}}));
  EXPECT_EQ(a->state, AlertState::kPending);
  EXPECT_EQ(a->active_at_ms, kT0);
  EXPECT_EQ(a->value, 0);
  EXPECT_EQ(a->expr, "up == 0");

  ASSERT_TRUE(eval->Evaluate(kT0 + 4 * kMinute).ok());
  EXPECT_EQ(FindAlert(eval->rules(), 0)->state, AlertState::kPending);

  ASSERT_TRUE(eval->Evaluate(kT0 + 5 * kMinute).ok());
  rules = eval->rules();
  EXPECT_EQ(rules[0].state, AlertState::kFiring);
  a = FindAlert(rules, 0);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->state, AlertState::kFiring);
  EXPECT_EQ(a->active_at_ms, kT0);
  EXPECT_EQ(a->fired_at_ms, kT0 + 5 * kMinute);
}

TEST_F(RuleGroupTest, ForZeroFiresAtTheFirstEvaluation) {
  Add(L({{"__name__", "up"}, {"job", "api"}}), kT0, 0);
  auto eval = Make(Group({Alerting("Down", "up == 0", 0)}));
  ASSERT_TRUE(eval->Evaluate(kT0).ok());
  std::optional<Alert> a = FindAlert(eval->rules(), 0);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->state, AlertState::kFiring);
  EXPECT_EQ(a->fired_at_ms, kT0);
}

TEST_F(RuleGroupTest, AlertsAndForStateSeriesQueryBack) {
  const Labels up = L({{"__name__", "up"}, {"job", "api"}});
  for (int m = 0; m <= 3; ++m) Add(up, kT0 + m * kMinute, 0);
  auto eval = Make(Group({Alerting("Down", "up == 0", 2 * kMinute, L({{"severity", "page"}}))}));
  ASSERT_TRUE(eval->Evaluate(kT0).ok());

  query::Vector v = Query("ALERTS", kT0);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].labels, L({{"__name__", "ALERTS"},
                            {"alertname", "Down"},
                            {"alertstate", "pending"},
                            {"job", "api"},
                            {"severity", "page"}}));
  EXPECT_EQ(v[0].v, 1);
  v = Query("ALERTS_FOR_STATE", kT0);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].labels, L({{"__name__", "ALERTS_FOR_STATE"},
                            {"alertname", "Down"},
                            {"job", "api"},
                            {"severity", "page"}}));
  EXPECT_EQ(v[0].v, kT0 / 1000);

  ASSERT_TRUE(eval->Evaluate(kT0 + 2 * kMinute).ok());
  v = Query("ALERTS", kT0 + 2 * kMinute);
  ASSERT_EQ(v.size(), 1u);  // The pending series ended with a stale marker.
  EXPECT_EQ(GetLabelValue(v[0].labels, "alertstate"), "firing");
  const std::vector<Sample> pending = Raw(L({{"__name__", "ALERTS"},
                                             {"alertname", "Down"},
                                             {"alertstate", "pending"},
                                             {"job", "api"},
                                             {"severity", "page"}}));
  ASSERT_EQ(pending.size(), 2u);
  EXPECT_TRUE(IsStaleNaN(pending[1].v));
  v = Query("ALERTS_FOR_STATE", kT0 + 2 * kMinute);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].v, kT0 / 1000);  // ActiveAt, in seconds, unchanged by firing.
}

TEST_F(RuleGroupTest, ResolvedAlertIsSentAsResolvedAndDroppedAfterFifteenMinutes) {
  const Labels up = L({{"__name__", "up"}, {"job", "api"}});
  Add(up, kT0, 0);
  Add(up, kT0 + kMinute, 1);
  auto eval = Make(Group({Alerting("Down", "up == 0", 0)}));
  ASSERT_TRUE(eval->Evaluate(kT0).ok());
  std::vector<Alert> sent = eval->AlertsToSend(kT0, kMinute);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].state, AlertState::kFiring);

  ASSERT_TRUE(eval->Evaluate(kT0 + kMinute).ok());
  std::vector<RuleState> rules = eval->rules();
  EXPECT_EQ(rules[0].state, AlertState::kInactive);
  EXPECT_TRUE(rules[0].alerts.empty());  // Kept for notification only.
  EXPECT_TRUE(Query("ALERTS", kT0 + kMinute).empty());
  EXPECT_TRUE(Query("ALERTS_FOR_STATE", kT0 + kMinute).empty());

  sent = eval->AlertsToSend(kT0 + kMinute, kMinute);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].state, AlertState::kInactive);
  EXPECT_EQ(sent[0].resolved_at_ms, kT0 + kMinute);
  EXPECT_EQ(AlertEndsAtMs(sent[0]), kT0 + kMinute);
  EXPECT_TRUE(eval->AlertsToSend(kT0 + kMinute + kSecond, kMinute).empty());

  // Kept while ResolvedAt is at most 15 min old, then gone.
  ASSERT_TRUE(eval->Evaluate(kT0 + 16 * kMinute).ok());
  EXPECT_EQ(eval->AlertsToSend(kT0 + 16 * kMinute, kMinute).size(), 1u);  // Re-sent.
  ASSERT_TRUE(eval->Evaluate(kT0 + 16 * kMinute + kSecond).ok());
  EXPECT_TRUE(eval->AlertsToSend(kT0 + 30 * kMinute, kMinute).empty());
}

TEST_F(RuleGroupTest, PendingAlertThatClearsIsDroppedWithoutNotification) {
  const Labels up = L({{"__name__", "up"}, {"job", "api"}});
  Add(up, kT0, 0);
  Add(up, kT0 + kMinute, 1);
  auto eval = Make(Group({Alerting("Down", "up == 0", 5 * kMinute)}));
  ASSERT_TRUE(eval->Evaluate(kT0).ok());
  EXPECT_TRUE(eval->AlertsToSend(kT0, kMinute).empty());
  ASSERT_TRUE(eval->Evaluate(kT0 + kMinute).ok());
  EXPECT_EQ(eval->rules()[0].state, AlertState::kInactive);
  EXPECT_TRUE(eval->AlertsToSend(kT0 + kMinute, kMinute).empty());
}

TEST_F(RuleGroupTest, KeepFiringForHoldsAlertAfterConditionClears) {
  const Labels up = L({{"__name__", "up"}, {"job", "api"}});
  Add(up, kT0, 0);
  Add(up, kT0 + kMinute, 1);
  Rule rule = Alerting("Down", "up == 0", 0);
  rule.keep_firing_for_ms = 10 * kMinute;
  auto eval = Make(Group({rule}));
  ASSERT_TRUE(eval->Evaluate(kT0).ok());

  ASSERT_TRUE(eval->Evaluate(kT0 + kMinute).ok());
  std::optional<Alert> a = FindAlert(eval->rules(), 0);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->state, AlertState::kFiring);
  EXPECT_EQ(a->keep_firing_since_ms, kT0 + kMinute);
  EXPECT_EQ(a->resolved_at_ms, 0);
  EXPECT_EQ(Query("ALERTS{alertstate=\"firing\"}", kT0 + kMinute).size(), 1u);

  ASSERT_TRUE(eval->Evaluate(kT0 + 10 * kMinute).ok());
  EXPECT_EQ(FindAlert(eval->rules(), 0)->state, AlertState::kFiring);

  ASSERT_TRUE(eval->Evaluate(kT0 + 11 * kMinute).ok());
  const std::vector<RuleState> rules = eval->rules();
  EXPECT_EQ(rules[0].state, AlertState::kInactive);
  EXPECT_TRUE(Query("ALERTS", kT0 + 11 * kMinute).empty());
}

TEST_F(RuleGroupTest, TemplatesExpandLabelsValueAndExternalLabels) {
  Add(L({{"__name__", "disk_free"}, {"instance", "db1:9100"}}), kT0, 0.05);
  auto eval = Make(Group({Alerting("DiskFull", "disk_free < 0.1", 0,
                                   L({{"severity", "page"}, {"where", "{{ $labels.instance }}"}}),
                                   L({{"summary", "{{ $labels.instance }} has {{ $value }} free"},
                                      {"cluster", "{{ $externalLabels.cluster }}"},
                                      {"metric", "{{ .Labels.__name__ }}"}}))}),
                   L({{"cluster", "eu1"}}));
  ASSERT_TRUE(eval->Evaluate(kT0).ok());
  std::optional<Alert> a = FindAlert(eval->rules(), 0);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->labels, L({{"alertname", "DiskFull"},
                          {"instance", "db1:9100"},
                          {"severity", "page"},
                          {"where", "db1:9100"}}));
  EXPECT_EQ(
      a->annotations,
      L({{"cluster", "eu1"}, {"metric", "disk_free"}, {"summary", "db1:9100 has 0.05 free"}}));
}

TEST_F(RuleGroupTest, TemplateThatFailsToParseExpandsToItsError) {
  Add(L({{"__name__", "up"}}), kT0, 0);
  auto eval =
      Make(Group({Alerting("Down", "up == 0", 0, {}, L({{"summary", "{{ query \"up\" }}"}}))}));
  ASSERT_TRUE(eval->Evaluate(kT0).ok());
  std::optional<Alert> a = FindAlert(eval->rules(), 0);
  ASSERT_TRUE(a.has_value());
  ASSERT_EQ(a->annotations.size(), 1u);
  EXPECT_THAT(a->annotations[0].value, HasSubstr("<error expanding template: "));
}

TEST_F(RuleGroupTest, FiringAlertIsResentAfterResendDelay) {
  for (int m = 0; m <= 3; ++m) Add(L({{"__name__", "up"}}), kT0 + m * kMinute, 0);
  auto eval = Make(Group({Alerting("Down", "up == 0", kMinute)}));
  ASSERT_TRUE(eval->Evaluate(kT0).ok());
  EXPECT_TRUE(eval->AlertsToSend(kT0, kMinute).empty());  // Pending is never sent.

  ASSERT_TRUE(eval->Evaluate(kT0 + kMinute).ok());
  std::vector<Alert> sent = eval->AlertsToSend(kT0 + kMinute, 2 * kMinute);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].last_sent_at_ms, kT0 + kMinute);
  // 4 * max(resend delay 2m, interval 1m).
  EXPECT_EQ(sent[0].valid_until_ms, kT0 + kMinute + 8 * kMinute);
  EXPECT_EQ(AlertEndsAtMs(sent[0]), kT0 + 9 * kMinute);

  EXPECT_TRUE(eval->AlertsToSend(kT0 + 3 * kMinute, 2 * kMinute).empty());
  EXPECT_EQ(eval->AlertsToSend(kT0 + 3 * kMinute + 1, 2 * kMinute).size(), 1u);
  EXPECT_EQ(eval->rules()[0].alerts[0].last_sent_at_ms, kT0 + 3 * kMinute + 1);
}

// Prometheus's restore cases, with for = 30m, grace 10m and the server down from 10m to 20m.
class RestoreForStateTest : public RuleGroupTest {
 protected:
  // Evaluates once a minute over [from, to] with `up == 0` true throughout.
  void Run(GroupEvaluator* eval, int64_t from, int64_t to) {
    for (int64_t t = from; t <= to; t += kMinute) {
      Add(L({{"__name__", "up"}}), t, 0);
      ASSERT_TRUE(eval->Evaluate(t).ok());
    }
  }
  const RuleGroup group_ = Group({Alerting("Down", "up == 0", 30 * kMinute)});
};

TEST_F(RestoreForStateTest, PendingAlertResumesItsWaitAfterRestart) {
  auto before = Make(group_);
  Run(before.get(), kT0, kT0 + 10 * kMinute);
  before.reset();

  auto after = Make(group_);
  Run(after.get(), kT0 + 20 * kMinute, kT0 + 20 * kMinute);
  EXPECT_EQ(FindAlert(after->rules(), 0)->active_at_ms, kT0 + 20 * kMinute);
  ASSERT_TRUE(after->RestoreForState(kT0 + 20 * kMinute).ok());
  // Pending for 10m before the outage; 20m to go from the restart.
  EXPECT_EQ(FindAlert(after->rules(), 0)->active_at_ms, kT0 + 10 * kMinute);

  Run(after.get(), kT0 + 21 * kMinute, kT0 + 39 * kMinute);
  EXPECT_EQ(FindAlert(after->rules(), 0)->state, AlertState::kPending);
  query::Vector v = Query("ALERTS_FOR_STATE", kT0 + 39 * kMinute);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].v, (kT0 + 10 * kMinute) / 1000);
  Run(after.get(), kT0 + 40 * kMinute, kT0 + 40 * kMinute);
  EXPECT_EQ(FindAlert(after->rules(), 0)->state, AlertState::kFiring);
}

TEST_F(RestoreForStateTest, AlertFiringBeforeRestartFiresAgainAtOnce) {
  auto before = Make(group_);
  Run(before.get(), kT0, kT0 + 31 * kMinute);
  EXPECT_EQ(FindAlert(before->rules(), 0)->state, AlertState::kFiring);
  before.reset();

  auto after = Make(group_);
  Run(after.get(), kT0 + 40 * kMinute, kT0 + 40 * kMinute);
  ASSERT_TRUE(after->RestoreForState(kT0 + 40 * kMinute).ok());
  EXPECT_EQ(FindAlert(after->rules(), 0)->active_at_ms, kT0);
  Run(after.get(), kT0 + 41 * kMinute, kT0 + 41 * kMinute);
  EXPECT_EQ(FindAlert(after->rules(), 0)->state, AlertState::kFiring);
}

TEST_F(RestoreForStateTest, AlertAboutToFireWaitsOutTheGracePeriod) {
  auto before = Make(group_);
  Run(before.get(), kT0, kT0 + 25 * kMinute);  // 5m to go: less than the 10m grace.
  before.reset();

  auto after = Make(group_);
  Run(after.get(), kT0 + 30 * kMinute, kT0 + 30 * kMinute);
  ASSERT_TRUE(after->RestoreForState(kT0 + 30 * kMinute).ok());
  // Fires at restart + grace: ActiveAt = 30m + 10m - 30m.
  EXPECT_EQ(FindAlert(after->rules(), 0)->active_at_ms, kT0 + 10 * kMinute);
  Run(after.get(), kT0 + 31 * kMinute, kT0 + 39 * kMinute);
  EXPECT_EQ(FindAlert(after->rules(), 0)->state, AlertState::kPending);
  Run(after.get(), kT0 + 40 * kMinute, kT0 + 40 * kMinute);
  EXPECT_EQ(FindAlert(after->rules(), 0)->state, AlertState::kFiring);
}

TEST_F(RestoreForStateTest, AlertThatEndedBeforeTheOutageStartsOver) {
  auto before = Make(group_);
  Run(before.get(), kT0, kT0 + 5 * kMinute);
  Add(L({{"__name__", "up"}}), kT0 + 6 * kMinute, 1);
  ASSERT_TRUE(before->Evaluate(kT0 + 6 * kMinute).ok());  // Stale-marks ALERTS_FOR_STATE.
  before.reset();

  auto after = Make(group_);
  Run(after.get(), kT0 + 20 * kMinute, kT0 + 20 * kMinute);
  ASSERT_TRUE(after->RestoreForState(kT0 + 20 * kMinute).ok());
  EXPECT_EQ(FindAlert(after->rules(), 0)->active_at_ms, kT0 + 20 * kMinute);
}

TEST_F(RestoreForStateTest, OutageLongerThanToleranceIsNotRestored) {
  auto before = Make(group_);
  Run(before.get(), kT0, kT0 + 10 * kMinute);
  before.reset();

  auto after = Make(group_);
  const int64_t restart = kT0 + 10 * kMinute + 61 * kMinute;
  Run(after.get(), restart, restart);
  ASSERT_TRUE(after->RestoreForState(restart).ok());
  EXPECT_EQ(FindAlert(after->rules(), 0)->active_at_ms, restart);
}

TEST_F(RestoreForStateTest, ShortForIsNotRestored) {
  const RuleGroup short_for = Group({Alerting("Down", "up == 0", 5 * kMinute)});
  auto before = Make(short_for);
  Run(before.get(), kT0, kT0 + 3 * kMinute);
  before.reset();

  auto after = Make(short_for);
  Run(after.get(), kT0 + 4 * kMinute, kT0 + 4 * kMinute);
  ASSERT_TRUE(after->RestoreForState(kT0 + 4 * kMinute).ok());
  EXPECT_EQ(FindAlert(after->rules(), 0)->active_at_ms, kT0 + 4 * kMinute);
}

}  // namespace
}  // namespace ember::rules
