// Shared by rule_group_test.cc and alerting_rule_test.cc: RuleGroupTest, a fixture with a
// fresh Db, a query engine and helpers to build groups and read back what they wrote.
#ifndef EMBER_RULES_RULE_GROUP_TESTING_H_
#define EMBER_RULES_RULE_GROUP_TESTING_H_

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "ember/db.h"
#include "ember/options.h"
#include "ember/sample.h"
#include "gtest/gtest.h"
#include "query/engine.h"
#include "rules/rule_group.h"
#include "tests/testutil/temp_dir.h"

namespace ember {
// Failure messages show `name="value"` instead of gtest's bytes.
inline void PrintTo(const Label& l, std::ostream* os) { *os << l.name << "=\"" << l.value << "\""; }
}  // namespace ember

namespace ember::rules {

inline constexpr int64_t kSecond = 1000;
inline constexpr int64_t kMinute = 60 * kSecond;
inline constexpr int64_t kT0 =
    1'700'000'000'000;  // A whole second, so ActiveAt round-trips exactly.

inline Labels L(std::initializer_list<std::pair<const char*, const char*>> l) {
  Labels out;
  for (const auto& [n, v] : l) out.push_back(Label{n, v});
  CanonicalizeLabels(&out);
  return out;
}

inline Rule Recording(std::string record, std::string expr, Labels labels = {}) {
  Rule r;
  r.record = std::move(record);
  r.expr = std::move(expr);
  r.labels = std::move(labels);
  return r;
}

inline Rule Alerting(std::string alert, std::string expr, int64_t for_ms, Labels labels = {},
                     Labels annotations = {}) {
  Rule r;
  r.alert = std::move(alert);
  r.expr = std::move(expr);
  r.for_ms = for_ms;
  r.labels = std::move(labels);
  r.annotations = std::move(annotations);
  return r;
}

inline RuleGroup Group(std::vector<Rule> rules, int64_t limit = 0) {
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

}  // namespace ember::rules

#endif  // EMBER_RULES_RULE_GROUP_TESTING_H_
