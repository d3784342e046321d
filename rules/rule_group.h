// Evaluation of one rule group with Prometheus's semantics (rules/group.go, recording.go,
// alerting.go). Every rule runs in file order at one timestamp, and each rule's output is
// committed before the next rule runs, so later rules see earlier rules' series. Recording
// rules write their result under the record name; alerting rules keep one Alert per label set
// (pending -> firing -> resolved) and write ALERTS and ALERTS_FOR_STATE. A series a rule wrote
// at the previous evaluation but not at this one gets a stale marker.
//
// Thread-safety: Evaluate() and RestoreForState() serialize with each other (one runs at a
// time); rules(), AlertsToSend() and the other accessors may be called from any thread while
// an evaluation runs.
#ifndef EMBER_RULES_RULE_GROUP_H_
#define EMBER_RULES_RULE_GROUP_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "ember/db.h"
#include "ember/labels.h"
#include "query/engine.h"
#include "query/executor.h"
#include "rules/rules.h"
#include "storage/querier.h"

namespace ember::rules {

// Ordered as Prometheus's: a rule's state is the highest of its alerts'.
enum class AlertState { kUnknown, kInactive, kPending, kFiring };
// "unknown", "inactive", "pending", "firing": the API's words and the `alertstate` label's.
std::string_view AlertStateName(AlertState state);

// One instance of an alerting rule, identified by `labels`. Times are milliseconds; 0: not yet.
struct Alert {
  // The result sample's labels less __name__, plus the expanded rule labels, plus alertname.
  Labels labels;
  Labels annotations;  // Expanded with the sample's labels and value.
  AlertState state = AlertState::kPending;
  double value = 0;  // The expression's value at the last evaluation that returned it.
  int64_t active_at_ms = 0;
  int64_t fired_at_ms = 0;
  int64_t resolved_at_ms = 0;
  int64_t last_sent_at_ms = 0;
  int64_t valid_until_ms = 0;  // Set when sent: now + 4 * max(resend delay, group interval).
  int64_t keep_firing_since_ms = 0;
  std::string expr;  // The rule's expression, for Alertmanager's generatorURL.
};

// Alertmanager's endsAt for `alert`: resolved_at_ms once resolved, else valid_until_ms.
inline int64_t AlertEndsAtMs(const Alert& alert) {
  return alert.resolved_at_ms != 0 ? alert.resolved_at_ms : alert.valid_until_ms;
}

enum class RuleHealth { kUnknown, kOk, kErr };
// "unknown", "ok", "err", as /api/v1/rules reports them.
std::string_view RuleHealthName(RuleHealth health);

// A snapshot of one rule, for /api/v1/rules and /api/v1/alerts.
struct RuleState {
  Rule rule;
  bool alerting = false;  // type: "alerting" or "recording".
  RuleHealth health = RuleHealth::kUnknown;
  std::string last_error;          // Empty when the last evaluation succeeded.
  int64_t last_evaluation_ms = 0;  // The timestamp of the last evaluation; 0: never run.
  double evaluation_time_seconds = 0;
  // Alerting rules only: the highest state of its alerts (kInactive when it has none, kUnknown
  // before the first evaluation), and its pending and firing alerts sorted by labels (a
  // resolved alert kept for notification is left out, as in Prometheus's ActiveAlerts()).
  AlertState state = AlertState::kUnknown;
  std::vector<Alert> alerts;
};

class GroupEvaluator {
 public:
  // `group.interval_ms` must be the effective interval (the caller fills in the global
  // evaluation_interval where the file left 0): it bounds how long a sent alert stays valid.
  // `db` must outlive the evaluator. `external_labels` reach templates as $externalLabels.
  // Templates are parsed here; one that fails to parse expands to
  // "<error expanding template: ...>" at every evaluation, as in Prometheus.
  // `executor`, when set, runs every rule's query (so rules share the API's query limits); it
  // must outlive the evaluator. Null: queries run on the calling thread.
  // Rules read through `querier` and write through `appendable`; both must outlive the
  // evaluator.
  GroupEvaluator(const RuleGroup& group, storage::Querier* querier, storage::Appendable* appendable,
                 query::EngineOptions engine_options, Labels external_labels,
                 query::QueryExecutor* executor = nullptr);
  // Reads and writes `db` (from Db::Open).
  GroupEvaluator(const RuleGroup& group, Db* db, query::EngineOptions engine_options,
                 Labels external_labels, query::QueryExecutor* executor = nullptr);
  ~GroupEvaluator();
  GroupEvaluator(const GroupEvaluator&) = delete;
  GroupEvaluator& operator=(const GroupEvaluator&) = delete;

  // Evaluates every rule at `t_ms`, in order. A rule that fails (query error, a result that is
  // not a vector or scalar, duplicate label sets, over `group.limit`, a rejected sample) is
  // marked kErr with its error and writes nothing; the rules after it still run. Returns OK
  // when every rule succeeded, else the first failure with the rule named, e.g.
  // `rule "job:up" (line 4): exceeded limit of 2 with 3 series` (code kept).
  absl::Status Evaluate(int64_t t_ms);

  // After a restart: gives the alerts the evaluations since construction made pending the
  // ActiveAt they had before, read from the last ALERTS_FOR_STATE sample each left within
  // `outage_tolerance_ms` before `t_ms` (and before this evaluator's first evaluation, so
  // its own samples do not count). As Prometheus's Group.RestoreForState: rules with
  // `for` < `grace_ms` are skipped; an alert that was still pending at the outage resumes
  // its wait (ActiveAt moves forward by the downtime), but never fires sooner than
  // `grace_ms` after `t_ms` unless it had fired already. Call once, after the first
  // evaluation (Prometheus waits for the second). Errors only when storage fails.
  absl::Status RestoreForState(int64_t t_ms, int64_t outage_tolerance_ms = 3600000,
                               int64_t grace_ms = 600000);

  // The alerts the notifier should send at `now_ms` (Prometheus's sendAlerts): firing alerts
  // not sent within `resend_delay_ms`, and resolved ones not sent since they resolved (and
  // again every `resend_delay_ms` while they are kept, 15 min). Marks them sent and sets
  // valid_until_ms = now_ms + 4 * max(resend_delay_ms, group.interval_ms).
  std::vector<Alert> AlertsToSend(int64_t now_ms, int64_t resend_delay_ms);

  // Stops the query being evaluated now and every later one (they fail with Cancelled), so a
  // caller stopping the group need not wait for a slow query. Thread-safe; irreversible.
  void Cancel() { cancel_->store(true); }

  const RuleGroup& group() const { return group_; }
  std::vector<RuleState> rules() const;
  // The last Evaluate()'s `t_ms` (0: never) and how long it took.
  int64_t last_evaluation_ms() const;
  double evaluation_time_seconds() const;

 private:
  struct CompiledRule;  // A rule with its label and annotation templates parsed.

  struct RuleStatus {
    RuleHealth health = RuleHealth::kUnknown;
    std::string last_error;
    int64_t last_evaluation_ms = 0;
    double evaluation_time_seconds = 0;
    std::map<Labels, Alert> alerts;  // Alerting rules: pending, firing and resolved alerts.
  };

  // The samples one rule writes at one evaluation.
  struct Output {
    std::vector<Labels> labels;  // Canonical, distinct.
    std::vector<double> values;
  };

  absl::StatusOr<Output> EvalRecording(size_t i, int64_t t_ms);
  absl::StatusOr<Output> EvalAlerting(size_t i, int64_t t_ms);
  // Appends `out` and stale markers for the rule's series of the previous evaluation that
  // `out` lacks, in one commit; remembers what was written for the next evaluation.
  absl::Status Write(size_t i, const Output& out, int64_t t_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(eval_mu_);

  const RuleGroup group_;
  storage::Querier* const querier_;
  storage::Appendable* const appendable_;
  query::Engine engine_;
  query::QueryExecutor* const executor_;
  const std::shared_ptr<std::atomic<bool>> cancel_ = std::make_shared<std::atomic<bool>>(false);
  const Labels external_labels_;
  std::vector<CompiledRule> compiled_;  // One per rule; constant after construction.

  // Held for a whole Evaluate() or RestoreForState(); taken before mu_.
  absl::Mutex eval_mu_;
  std::vector<std::set<Labels>> previous_series_ ABSL_GUARDED_BY(eval_mu_);  // One per rule.
  std::optional<int64_t> first_evaluation_ms_ ABSL_GUARDED_BY(eval_mu_);

  mutable absl::Mutex mu_;
  std::vector<RuleStatus> status_ ABSL_GUARDED_BY(mu_);  // One per rule.
  int64_t last_evaluation_ms_ ABSL_GUARDED_BY(mu_) = 0;
  double evaluation_time_seconds_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace ember::rules

#endif  // EMBER_RULES_RULE_GROUP_H_
