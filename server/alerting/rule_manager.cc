#include "server/alerting/rule_manager.h"

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <thread>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "rules/rule_file.h"
#include "server/api/query_json.h"
#include "util/clock.h"

namespace ember::server {
namespace {

// Go's strconv.FormatFloat(v, 'e', -1, 64), which Prometheus uses for an alert's value.
std::string FormatAlertValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[40];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  return std::string(buf, r.ptr);
}

void WriteAlert(const rules::Alert& a, JsonWriter* w) {
  w->BeginObject();
  w->Key("labels");
  WriteLabelsObject(a.labels, w);
  w->Key("annotations");
  WriteLabelsObject(a.annotations, w);
  w->Key("state").String(std::string(rules::AlertStateName(a.state)));
  w->Key("activeAt").String(FormatRfc3339(a.active_at_ms));
  if (a.keep_firing_since_ms != 0) {
    w->Key("keepFiringSince").String(FormatRfc3339(a.keep_firing_since_ms));
  }
  w->Key("value").String(FormatAlertValue(a.value));
  w->EndObject();
}

}  // namespace

// One group, its evaluator and the thread that runs it every interval.
struct RuleManager::GroupRunner {
  std::unique_ptr<rules::GroupEvaluator> evaluator;
  int64_t interval_ms = 60'000;
  int64_t resend_delay_ms = 60'000;
  std::thread thread;
  absl::Mutex mu;
  bool stopping ABSL_GUARDED_BY(mu) = false;
};

RuleManager::RuleManager(Db* db, MetricsRegistry* metrics, Notifier* notifier,
                         query::QueryExecutor* executor)
    : db_(db), metrics_(metrics), notifier_(notifier), executor_(executor) {
  evaluations_ = metrics_->AddCounter("ember_rule_group_evaluations_total",
                                      "Rule group evaluations, by group.", {"rule_group"});
  failures_ = metrics_->AddCounter(
      "ember_rule_group_evaluation_failures_total",
      "Rule group evaluations in which at least one rule failed, by group.", {"rule_group"});
  last_duration_ =
      metrics_->AddGauge("ember_rule_group_last_duration_seconds",
                         "Duration of the last evaluation of the group.", {"rule_group"});
}

RuleManager::~RuleManager() { Stop(); }

void RuleManager::StopRunners(std::vector<std::unique_ptr<GroupRunner>>* runners) {
  for (auto& r : *runners) {
    absl::MutexLock lock(&r->mu);
    r->stopping = true;
    r->evaluator->Cancel();  // A query under way ends now rather than at its timeout.
  }
  for (auto& r : *runners) {
    if (r->thread.joinable()) r->thread.join();
  }
  runners->clear();
}

void RuleManager::Stop() {
  std::vector<std::unique_ptr<GroupRunner>> old;
  {
    absl::MutexLock lock(&mu_);
    old.swap(runners_);
  }
  StopRunners(&old);
}

absl::Status RuleManager::Apply(const RuleManagerOptions& options) {
  std::vector<rules::RuleGroup> groups;
  std::vector<std::string> errors;
  for (const std::string& file : options.rule_files) {
    absl::StatusOr<std::vector<rules::RuleGroup>> g = rules::LoadRuleFile(file);
    if (!g.ok()) {
      errors.emplace_back(g.status().message());
      continue;
    }
    for (rules::RuleGroup& group : *g) groups.push_back(std::move(group));
  }
  if (!errors.empty()) return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));

  std::vector<std::unique_ptr<GroupRunner>> fresh;
  for (rules::RuleGroup& group : groups) {
    if (group.interval_ms <= 0) group.interval_ms = options.evaluation_interval_ms;
    auto r = std::make_unique<GroupRunner>();
    r->interval_ms = group.interval_ms;
    r->resend_delay_ms = options.resend_delay_ms;
    r->evaluator = std::make_unique<rules::GroupEvaluator>(group, db_, options.engine,
                                                           options.external_labels, executor_);
    fresh.push_back(std::move(r));
  }
  std::vector<std::unique_ptr<GroupRunner>> old;
  {
    absl::MutexLock lock(&mu_);
    old.swap(runners_);
  }
  StopRunners(&old);
  absl::MutexLock lock(&mu_);
  runners_ = std::move(fresh);
  for (auto& runner : runners_) {
    GroupRunner* r = runner.get();
    r->thread = std::thread([this, r] {
      const rules::RuleGroup& g = r->evaluator->group();
      const std::string key = absl::StrCat(g.file, ";", g.name);
      // A fixed offset within the interval, from the group's identity, spreads groups out.
      const int64_t offset =
          static_cast<int64_t>(absl::HashOf(key) % static_cast<uint64_t>(r->interval_ms));
      int64_t next = (util::NowMs() / r->interval_ms) * r->interval_ms + offset;
      if (next < util::NowMs()) next += r->interval_ms;
      bool first = true;
      absl::MutexLock l(&r->mu);
      while (true) {
        const int64_t wait = std::max<int64_t>(0, next - util::NowMs());
        r->mu.AwaitWithTimeout(absl::Condition(&r->stopping), absl::Milliseconds(wait));
        if (r->stopping) break;
        r->mu.Unlock();
        const int64_t t = next;
        const auto t0 = std::chrono::steady_clock::now();
        absl::Status s = r->evaluator->Evaluate(t);
        if (first) {
          if (absl::Status rs = r->evaluator->RestoreForState(t); !rs.ok()) {
            std::fprintf(stderr, "ember: rules: restoring \"%s\": %s\n", g.name.c_str(),
                         std::string(rs.message()).c_str());
          }
          first = false;
        }
        evaluations_->With({key})->Inc();
        if (!s.ok()) failures_->With({key})->Inc();
        last_duration_->With({key})->Set(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        if (notifier_ != nullptr) {
          std::vector<rules::Alert> send =
              r->evaluator->AlertsToSend(util::NowMs(), r->resend_delay_ms);
          if (!send.empty()) notifier_->Send(std::move(send));
        }
        r->mu.Lock();
        // Skip missed slots rather than evaluating in a burst, as Prometheus does.
        next += r->interval_ms;
        while (next <= util::NowMs()) next += r->interval_ms;
      }
    });
  }
  return absl::OkStatus();
}

absl::Status RuleManager::EvaluateAllForTest(int64_t t_ms) {
  absl::MutexLock lock(&mu_);
  absl::Status first;
  for (auto& r : runners_) {
    absl::Status s = r->evaluator->Evaluate(t_ms);
    if (first.ok()) first = s;
  }
  return first;
}

void RuleManager::WriteRules(const std::string& type, JsonWriter* w) const {
  absl::MutexLock lock(&mu_);
  w->BeginObject().Key("groups").BeginArray();
  for (const auto& r : runners_) {
    const rules::RuleGroup& g = r->evaluator->group();
    w->BeginObject();
    w->Key("name").String(g.name);
    w->Key("file").String(g.file);
    w->Key("rules").BeginArray();
    for (const rules::RuleState& st : r->evaluator->rules()) {
      if (type == "alert" && !st.alerting) continue;
      if (type == "record" && st.alerting) continue;
      w->BeginObject();
      if (st.alerting) {
        w->Key("state").String(std::string(rules::AlertStateName(
            st.state == rules::AlertState::kUnknown ? rules::AlertState::kInactive : st.state)));
        w->Key("name").String(st.rule.alert);
        w->Key("query").String(st.rule.expr);
        w->Key("duration").Double(static_cast<double>(st.rule.for_ms) / 1000);
        w->Key("keepFiringFor").Double(static_cast<double>(st.rule.keep_firing_for_ms) / 1000);
        w->Key("labels");
        WriteLabelsObject(st.rule.labels, w);
        w->Key("annotations");
        WriteLabelsObject(st.rule.annotations, w);
        w->Key("alerts").BeginArray();
        for (const rules::Alert& a : st.alerts) WriteAlert(a, w);
        w->EndArray();
      } else {
        w->Key("name").String(st.rule.record);
        w->Key("query").String(st.rule.expr);
        w->Key("labels");
        WriteLabelsObject(st.rule.labels, w);
      }
      w->Key("health").String(std::string(rules::RuleHealthName(st.health)));
      w->Key("lastError").String(st.last_error);
      w->Key("evaluationTime").Double(st.evaluation_time_seconds);
      w->Key("lastEvaluation")
          .String(st.last_evaluation_ms != 0 ? FormatRfc3339(st.last_evaluation_ms)
                                             : "0001-01-01T00:00:00Z");
      w->Key("type").String(st.alerting ? "alerting" : "recording");
      w->EndObject();
    }
    w->EndArray();
    w->Key("interval").Double(static_cast<double>(g.interval_ms) / 1000);
    w->Key("limit").Int(g.limit);
    w->Key("evaluationTime").Double(r->evaluator->evaluation_time_seconds());
    const int64_t last = r->evaluator->last_evaluation_ms();
    w->Key("lastEvaluation").String(last != 0 ? FormatRfc3339(last) : "0001-01-01T00:00:00Z");
    w->EndObject();
  }
  w->EndArray().EndObject();
}

void RuleManager::WriteAlerts(JsonWriter* w) const {
  absl::MutexLock lock(&mu_);
  w->BeginObject().Key("alerts").BeginArray();
  for (const auto& r : runners_) {
    for (const rules::RuleState& st : r->evaluator->rules()) {
      for (const rules::Alert& a : st.alerts) WriteAlert(a, w);
    }
  }
  w->EndArray().EndObject();
}

}  // namespace ember::server
