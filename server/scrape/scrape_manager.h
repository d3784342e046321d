// Prometheus-style scraping for `ember serve`: one loop per target of the config's
// scrape_configs, each fetching the target's /metrics every scrape_interval and storing the
// samples through the ingest write path, as Prometheus's scrape manager does:
//
//   - targets: static_configs -> relabel_configs -> labels without "__"
//   (server/scrape/scrape_target.h)
//   - each scrape: HTTP GET (gzip accepted) bounded by scrape_timeout; the text format 0.0.4, or
//     OpenMetrics when the Content-Type says so; target labels added (honor_labels),
//     metric_relabel_configs, sample_limit; then the report series up, scrape_duration_seconds,
//     scrape_samples_scraped, scrape_samples_post_metric_relabeling, scrape_series_added.
//   - staleness: a series of the previous scrape that is absent now gets a stale marker
//     (StaleNaN) at this scrape's timestamp; a failed scrape marks every series of the last
//     successful one stale; so does removing the target (ApplyConfig, Stop), for the report
//     series too. Series with their own timestamps (honor_timestamps) are not tracked, as in
//     Prometheus.
//
// Ember's choices where Prometheus differs or is silent:
//   - a scrape whose batch the write path rejects whole (invalid labels, a sample outside the
//     writable window) fails: up=0 and the write path's message in lastError. Samples the commit
//     refuses one by one (out of order, duplicate) are counted in
//     ember_scrape_samples_refused_total{job,reason}, and the scrape still succeeds.
//   - a body that is not OpenMetrics is read as the text format 0.0.4 whatever its
//     Content-Type (Prometheus 2's behavior; Prometheus 3 requires fallback_scrape_protocol).
//   - stale markers for a removed target are written at once (at the removal time), not one
//     interval later; Stop() writes them too, so a restart does not leave series dangling for
//     the lookback window.
//
// Threading: all loops share one io_context run by `threads` threads; a loop's steps never
// overlap (one strand each), loops run in parallel. ApplyConfig, Stop, Targets and
// DroppedTargets may be called from any thread other than the pool's.
#ifndef EMBER_SERVER_SCRAPE_SCRAPE_MANAGER_H_
#define EMBER_SERVER_SCRAPE_SCRAPE_MANAGER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "ember/db.h"
#include "ember/labels.h"
#include "ingest/ingester.h"
#include "server/config/config.h"
#include "server/metrics/metrics.h"

namespace ember::server {

struct ScrapeManagerOptions {
  // Threads running every loop's network I/O and the storing of its scrapes.
  int threads = 2;
  // A response body (after gunzip) larger than this fails the scrape.
  size_t max_body_bytes = 256 << 20;
  // Spreads first scrapes: a target scrapes at (hash(target) ^ offset_seed) mod interval
  // within each interval of wall-clock time, as Prometheus does with its own seed.
  uint64_t offset_seed = 0;
  // Sent as User-Agent; "" means "Ember/<version>".
  std::string user_agent;
  // The ingest facade scrapes are written through (the server's, shared with the HTTP doors);
  // null: the manager makes its own over `db`. Must outlive the manager.
  ingest::Ingester* ingester = nullptr;
};

// One active target, as /api/v1/targets shows it.
struct TargetStatus {
  std::string scrape_pool;   // The job name.
  Labels discovered_labels;  // Before relabeling, with the "__" labels.
  Labels labels;             // The target labels every scraped series gets.
  std::string scrape_url;
  std::string health = "unknown";  // "up", "down", or "unknown" before the first scrape ends.
  std::string last_error;          // "" after a successful scrape.
  int64_t last_scrape_ms = 0;      // Start of the last scrape; 0: none yet.
  double last_scrape_duration_seconds = 0;
  int64_t last_samples = 0;  // Samples stored by the last scrape (after metric relabeling).
  int64_t scrape_interval_ms = 0;
  int64_t scrape_timeout_ms = 0;
};

// A target that relabel_configs dropped (or whose labels are unusable: `reason` says).
struct DroppedTargetStatus {
  std::string scrape_pool;
  Labels discovered_labels;
  std::string reason;
};

class ScrapeManager {
 public:
  // `db` and `metrics` must outlive the manager; `metrics` may be null (nothing is counted).
  ScrapeManager(Db* db, MetricsRegistry* metrics, ScrapeManagerOptions options = {});
  ~ScrapeManager();  // Stop().
  ScrapeManager(const ScrapeManager&) = delete;
  ScrapeManager& operator=(const ScrapeManager&) = delete;

  // Makes the running targets those of `config.scrape_configs`: a target whose job, final
  // labels and URL are unchanged keeps its loop (and state), taking the job's new settings
  // from its next scrape; a target no longer there is stopped and its series marked stale
  // before this returns; a new one starts, its first scrape at its offset within the interval.
  // A job's interval and timeout of 0 fall back to config.global's (timeout at most the
  // interval). InvalidArgument, changing nothing, for a duplicate or empty job_name, a scheme
  // other than http, or a timeout above the interval (ParseConfig rejects all of these too);
  // FailedPrecondition after Stop(); ResourceExhausted if the threads cannot start.
  absl::Status ApplyConfig(const Config& config);

  // Aborts scrapes in flight (each is bounded by its timeout anyway), writes the stale markers
  // of every target and joins the threads. Idempotent. REQUIRES: the Db is still open.
  void Stop();

  // Active targets, sorted by job then labels.
  std::vector<TargetStatus> Targets() const;
  std::vector<DroppedTargetStatus> DroppedTargets() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ember::server

#endif  // EMBER_SERVER_SCRAPE_SCRAPE_MANAGER_H_
