// Sends alerts to Alertmanager's API v2 as Prometheus's notifier (notifier/manager.go) does:
// Send() adds the external labels and queues the alerts; one sender thread takes batches of up
// to max_batch from the front of the queue and POSTs each batch as a JSON array to
// `http://<target><path_prefix>/api/v2/alerts` of every target of every Alertmanager config.
// A request that fails (connection error, timeout, non-2xx) is retried with backoff up to
// max_attempts; a batch no Alertmanager accepted is dropped. When the queue is full the oldest
// alerts are dropped. Only scheme "http" and api_version "v2" (what ParseConfig accepts).
//
// Metrics (Prometheus's meanings, Ember's names; `alertmanager` is the POST URL):
//   ember_notifications_sent_total{alertmanager}    alerts an Alertmanager accepted
//   ember_notifications_errors_total{alertmanager}  alerts in requests that failed (each attempt)
//   ember_notifications_dropped_total               alerts dropped: queue overflow, a batch no
//                                                   Alertmanager accepted, unsent at Stop()
//   ember_notifications_queue_length, ember_notifications_queue_capacity   gauges
//
// Thread-safety: every method may be called from any thread (Stop() and the destructor not from
// two threads at once).
#ifndef EMBER_SERVER_ALERTING_NOTIFIER_H_
#define EMBER_SERVER_ALERTING_NOTIFIER_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "ember/labels.h"
#include "rules/rule_group.h"
#include "server/config/config.h"
#include "server/metrics/metrics.h"

namespace ember::server {

struct NotifierOptions {
  // Every target of every static_config gets every alert.
  std::vector<AlertmanagerConfig> alertmanagers;
  // Added to each alert's labels (the alert's own label wins).
  Labels external_labels;
  // For generatorURL: <external_url>/graph?g0.expr=<expr>&g0.tab=1
  std::string external_url;
  size_t queue_capacity = 10000;  // When full, the oldest alerts are dropped (counted).
  size_t max_batch = 256;
  int max_attempts = 3;  // Per batch and Alertmanager; 100 ms backoff, doubling, at most 2 s.
  // How long Stop() keeps sending what is queued; a request still running then is abandoned.
  int64_t stop_timeout_ms = 5000;
};

// One alert as Alertmanager's PostableAlert. Times are milliseconds; 0: left out.
struct PostableAlert {
  Labels labels;
  Labels annotations;
  int64_t starts_at_ms = 0;
  int64_t ends_at_ms = 0;
  std::string generator_url;
};

// What Prometheus's rules manager sends for `alert` (sendAlerts): startsAt = FiredAt, endsAt =
// ResolvedAt when resolved, else ValidUntil (AlertEndsAtMs), generatorURL from `external_url`
// and the rule's expression. `external_labels` are added where the alert has no such label.
PostableAlert ToPostableAlert(const rules::Alert& alert, const Labels& external_labels,
                              std::string_view external_url);

// The body of POST /api/v2/alerts: a JSON array of
// {"labels":{...},"annotations":{...},"startsAt":"...","endsAt":"...","generatorURL":"..."},
// times in RFC 3339 with milliseconds in UTC ("2023-11-14T22:13:20.000Z").
std::string EncodeAlertsV2(const std::vector<PostableAlert>& alerts);

// "2023-11-14T22:13:20.123Z" for 1700000000123.
std::string FormatRfc3339Millis(int64_t t_ms);

// `<external_url>/graph?g0.expr=<expr, as Go's url.QueryEscape>&g0.tab=1` (Prometheus's
// TableLinkForExpression after the external URL).
std::string GeneratorUrl(std::string_view external_url, std::string_view expr);

class Notifier {
 public:
  // Starts the sender thread. `metrics` must outlive the notifier; null: not exported.
  Notifier(NotifierOptions options, MetricsRegistry* metrics);
  ~Notifier();  // Stop().
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  // Queues `alerts` (with the external labels added); never waits for the network. When the
  // queue would exceed queue_capacity the oldest alerts are dropped. After Stop(), drops them.
  void Send(std::vector<rules::Alert> alerts);
  // Keeps sending what is queued for up to stop_timeout_ms, drops (and counts) the rest, joins
  // the sender thread. Idempotent.
  void Stop();
  // For a config reload: later batches go to the new Alertmanagers with the new settings; the
  // queue is kept (its oldest alerts dropped if it exceeds the new capacity). Alerts already
  // queued keep the external labels and URL they were queued with, as in Prometheus.
  void ApplyOptions(NotifierOptions options);
  size_t queue_length() const;

 private:
  struct Target;  // One Alertmanager URL.
  struct Metrics;

  void Run();
  // Sends `body` (holding `count` alerts) to `target`, retrying; whether it was accepted.
  bool SendToTarget(const Target& target, int max_attempts, const std::string& body, size_t count);
  // Waits up to `ms` or until the stop deadline; false when the stop deadline has passed.
  bool Backoff(int64_t ms);
  bool Aborted() const;  // Stopping and past the stop deadline.
  void TrimQueue() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SetTargets(const NotifierOptions& options) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::unique_ptr<Metrics> metrics_;

  mutable absl::Mutex mu_;
  absl::CondVar cv_;  // Signalled on Send(), ApplyOptions() and Stop().
  NotifierOptions options_ ABSL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<const Target>> targets_ ABSL_GUARDED_BY(mu_);
  std::deque<PostableAlert> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time stop_deadline_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();

  absl::Mutex stop_mu_;  // Serializes Stop() so the join happens once.
  std::thread thread_;
};

}  // namespace ember::server

#endif  // EMBER_SERVER_ALERTING_NOTIFIER_H_
