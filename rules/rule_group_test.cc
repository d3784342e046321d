#include "rules/rule_group.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "ember/db.h"
#include "ember/options.h"
#include "ember/sample.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "query/engine.h"
#include "tests/testutil/temp_dir.h"

namespace ember {
// Failure messages show `name="value"` instead of gtest's bytes.
void PrintTo(const Label& l, std::ostream* os) { *os << l.name << "=\"" << l.value << "\""; }
}  // namespace ember

namespace ember::rules {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kSecond = 1000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kT0 = 1'700'000'000'000;  // A whole second, so ActiveAt round-trips exactly.

Labels L(std::initializer_list<std::pair<const char*, const char*>> l) {
  Labels out;
  for (const auto& [n, v] : l) out.push_back(Label{n, v});
  CanonicalizeLabels(&out);
  return out;
}

Rule Recording(std::string record, std::string expr, Labels labels = {}) {
  Rule r;
  r.record = std::move(record);
  r.expr = std::move(expr);
  r.labels = std::move(labels);
  return r;
}

Rule Alerting(std::string alert, std::string expr, int64_t for_ms, Labels labels = {},
              Labels annotations = {}) {
  Rule r;
  r.alert = std::move(alert);
  r.expr = std::move(expr);
  r.for_ms = for_ms;
  r.labels = std::move(labels);
  r.annotations = std::move(annotations);
  return r;
}

RuleGroup Group(std::vector<Rule> rules, int64_t limit = 0) {
  RuleGroup g;
  g.name = "test";
  g.file = "rules.yml";
  g.interval_ms = kMinute;
  g.limit = limit;
  g.rules = std::move(rules);
  return g;
}

class RuleGroupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Options o;
    o.retention_ms = 0;
    o.background_interval_ms = 0;
    o.sync_policy = SyncPolicy::kNoSync;
    o.clock = [] { return kT0 + 30LL * 24 * 3600 * 1000; };
    auto db = Db::Open(o, dir_.path());
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    engine_ = std::make_unique<query::Engine>(db_.get(), query::EngineOptions{});
  }

  void Add(const Labels& labels, int64_t t, double v) {
    auto app = db_->NewAppender();
    ASSERT_TRUE(app->Append(labels, t, v).ok());
    auto r = app->Commit();
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_TRUE(r->rejected.empty()) << r->rejected[0].status;
  }

  std::unique_ptr<GroupEvaluator> Make(const RuleGroup& g, Labels external = {}) {
    return std::make_unique<GroupEvaluator>(g, db_.get(), query::EngineOptions{},
                                            std::move(external));
  }

  query::Vector Query(const std::string& q, int64_t t) {
    auto r = engine_->InstantQuery(q, t);
    EXPECT_TRUE(r.ok()) << q << ": " << r.status();
    if (!r.ok()) return {};
    EXPECT_EQ(r->value.type, query::ValueType::kVector) << q;
    return r->value.vector;
  }

  // Every stored sample of exactly `labels`, stale markers included.
  std::vector<Sample> Raw(const Labels& labels) {
    std::vector<Matcher> matchers;
    for (const Label& l : labels) matchers.push_back({Matcher::Op::kEqual, l.name, l.value});
    auto series = db_->Select(matchers, 0, kT0 + 365LL * 24 * 3600 * 1000);
    EXPECT_TRUE(series.ok()) << series.status();
    std::vector<Sample> out;
    if (!series.ok()) return out;
    for (Series& s : *series) {
      if (s.labels != labels) continue;
      while (s.samples->Next()) out.push_back(s.samples->At());
    }
    return out;
  }

  // The one alert `rule` reports (a copy: rules() returns a snapshot), or nullopt.
  static std::optional<Alert> FindAlert(const std::vector<RuleState>& rules, size_t rule) {
    if (rule >= rules.size() || rules[rule].alerts.size() != 1) return std::nullopt;
    return rules[rule].alerts[0];
  }

  testutil::TempDir dir_;
  std::unique_ptr<Db> db_;
  std::unique_ptr<query::Engine> engine_;
};

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
