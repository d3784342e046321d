// Runs the rule groups of the configured rule files: one thread per group evaluates it every
// interval (rules/group_test-style alignment: at a fixed offset within the interval), restores
// `for` state after the first evaluation, and hands the alerts to send to the Notifier. Answers
// /api/v1/rules and /api/v1/alerts in Prometheus's JSON shape. Thread-safe.
#ifndef EMBER_SERVER_ALERTING_RULE_MANAGER_H_
#define EMBER_SERVER_ALERTING_RULE_MANAGER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "ember/db.h"
#include "query/engine.h"
#include "query/executor.h"
#include "rules/rule_group.h"
#include "server/alerting/notifier.h"
#include "server/http/json.h"
#include "server/metrics/metrics.h"

namespace ember::server {

struct RuleManagerOptions {
  std::vector<std::string> rule_files;      // Paths (already expanded from globs).
  int64_t evaluation_interval_ms = 60'000;  // For groups that set no interval.
  Labels external_labels;
  query::EngineOptions engine;
  int64_t resend_delay_ms = 60'000;  // Firing alerts are re-sent this often (Prometheus: 1m).
};

class RuleManager {
 public:
  // `db`, `metrics` and `notifier` (may be null: no Alertmanager) must outlive the manager.
  // `executor`, when set, runs the rules' queries (it must outlive the manager).
  RuleManager(Db* db, MetricsRegistry* metrics, Notifier* notifier,
              query::QueryExecutor* executor = nullptr);
  ~RuleManager();  // Stop().
  RuleManager(const RuleManager&) = delete;
  RuleManager& operator=(const RuleManager&) = delete;

  // Loads every rule file; only when all are valid does it replace the running groups (whose
  // pending/firing state the new groups get back through ALERTS_FOR_STATE). InvalidArgument
  // with every file's errors otherwise, and the old groups keep running.
  absl::Status Apply(const RuleManagerOptions& options);
  void Stop();

  // The `data` of /api/v1/rules: {"groups":[...]}. `type` is "", "alert" or "record".
  void WriteRules(const std::string& type, JsonWriter* w) const;
  // The `data` of /api/v1/alerts: {"alerts":[...]}.
  void WriteAlerts(JsonWriter* w) const;

  // Evaluates every group once at `t_ms` on the caller's thread (tests, `ember check`).
  absl::Status EvaluateAllForTest(int64_t t_ms);

 private:
  struct GroupRunner;
  void StopRunners(std::vector<std::unique_ptr<GroupRunner>>* runners);

  Db* const db_;
  MetricsRegistry* const metrics_;
  Notifier* const notifier_;
  query::QueryExecutor* const executor_;
  CounterFamily* evaluations_;
  CounterFamily* failures_;
  CounterFamily* last_duration_;
  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<GroupRunner>> runners_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ember::server

#endif  // EMBER_SERVER_ALERTING_RULE_MANAGER_H_
