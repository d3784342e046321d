// One target's scrape loop (server/scrape/scrape_manager.h describes the behavior): an
// asynchronous HTTP GET on the manager's io_context every interval (scrape_loop.cc: scheduling
// and the fetch, through the shared AsyncHttpClient), then parsing, labeling, sample_limit,
// staleness, the report series and the write (scrape_ingest.cc: ingest policy, through
// ingest::Ingester). Internal to server/scrape/.
//
// Threading: every step runs on the loop's strand, so the loop's scrape state needs no lock;
// Update(), Status() and Stop() may be called from any thread (they post to the strand or
// take `mu_`). Lifetime: pending operations hold a shared_ptr to the loop, so it lives until
// the last of them has run or the io_context is destroyed.
#ifndef EMBER_SERVER_SCRAPE_SCRAPE_LOOP_H_
#define EMBER_SERVER_SCRAPE_SCRAPE_LOOP_H_

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "ember/db.h"
#include "ingest/batch.h"
#include "ingest/ingester.h"
#include "server/http/http_client.h"
#include "server/metrics/metrics.h"
#include "server/scrape/relabel.h"
#include "server/scrape/scrape_cache.h"
#include "server/scrape/scrape_manager.h"
#include "server/scrape/scrape_target.h"

namespace ember::server {

// What a loop takes from its job's config; replaced whole by Update().
struct ScrapeJobSettings {
  bool honor_labels = false;
  bool honor_timestamps = true;
  uint64_t sample_limit = 0;
  std::shared_ptr<const Relabeler> metric_relabeler;  // Null keeps every series.
};

// What every loop shares; owned by the manager, outliving the loops.
struct ScrapeEnv {
  ingest::Ingester* ingester = nullptr;
  size_t max_body_bytes = 0;
  uint64_t offset_seed = 0;
  std::string user_agent;
  // Null when the manager has no registry.
  CounterFamily* scrapes = nullptr;          // {job}
  CounterFamily* failures = nullptr;         // {job}
  CounterFamily* samples_stored = nullptr;   // {job}
  CounterFamily* samples_refused = nullptr;  // {job, reason}
  CounterFamily* write_errors = nullptr;     // {job}: batches the write path failed whole.
  HistogramFamily* duration = nullptr;       // {job}
};

class ScrapeLoop : public std::enable_shared_from_this<ScrapeLoop> {
 public:
  ScrapeLoop(boost::asio::io_context& ioc, const ScrapeEnv& env, ScrapeTarget target,
             std::shared_ptr<const ScrapeJobSettings> settings);
  ScrapeLoop(const ScrapeLoop&) = delete;
  ScrapeLoop& operator=(const ScrapeLoop&) = delete;

  // Schedules the first scrape at the target's offset within its interval.
  void Start();
  // New settings, interval, timeout or discovered labels; used from the next scrape on.
  // REQUIRES: `target.Key()` is this loop's.
  void Update(ScrapeTarget target, std::shared_ptr<const ScrapeJobSettings> settings);
  // Ends the loop: aborts a scrape in flight, then writes stale markers for the series of the
  // last successful scrape and for the report series. Returns at once; WaitStopped() waits.
  void Stop();
  void WaitStopped() { stopped_.WaitForNotification(); }

  TargetStatus Status() const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Fetched {
    std::string error;  // "" on success.
    std::string body;
    std::string content_type;
  };

  static constexpr size_t kNumReport = 5;

  // scrape_loop.cc: the steps of one scrape. Errors are worded as Go's http.Client does, since
  // dashboards and alerts match on Prometheus's lastError texts.
  void OnTimer(boost::system::error_code ec);
  void BeginScrape();
  void OnFetched(HttpClientResult result);
  // `gen` tells the running scrape's deadline from an earlier one whose handler was queued.
  void OnDeadline(uint64_t gen, boost::system::error_code ec);
  // Ends the HTTP part of the scrape: stores its outcome and schedules the next one.
  void EndFetch(const Fetched& fetched);
  void FailFetch(std::string error);
  void ScheduleNext();
  // When the fetch ends: true when Stop() aborted the scrape (then finalizes), or when its
  // deadline passed (then ends it with the timeout error).
  bool Aborted();
  bool TimedOut();

  // scrape_ingest.cc: what a scrape stores.
  // Writes the end-of-run stale markers once and notifies stopped_.
  void Finalize();
  // Parses, labels and stores a fetched body, or records the failure; updates status_.
  void Store(const Fetched& fetched, int64_t start_ms, double seconds);
  // Appends stale markers at `t` for every tracked series of the last successful scrape
  // (cache_).
  void AppendStaleMarkers(int64_t t, ingest::DecodedBatch* batch) const;
  // Appends the report series (kReportNames in scrape_ingest.cc) with these values at `t`.
  void AppendReport(int64_t t, const double (&values)[kNumReport],
                    ingest::DecodedBatch* batch) const;
  // Stores `batch` and counts what was stored or refused. Returns the write path's error.
  absl::Status Write(const ingest::DecodedBatch& batch);
  Counter* JobCounter(CounterFamily* family) const;

  const ScrapeEnv& env_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::steady_timer timer_;     // The next scrape.
  boost::asio::steady_timer deadline_;  // The running scrape's timeout.
  std::shared_ptr<AsyncHttpClient> client_;
  absl::Notification stopped_;

  // On the strand.
  ScrapeTarget target_;  // This scrape's copy of the target and settings.
  std::shared_ptr<const ScrapeJobSettings> settings_;
  Clock::time_point next_;
  bool stopping_ = false;
  bool finalized_ = false;
  bool in_flight_ = false;
  bool timed_out_ = false;
  uint64_t gen_ = 0;
  int64_t start_ms_ = 0;
  Clock::time_point start_;
  // The target's series: what their texts parse to, and which the last successful scrape
  // stored (for stale markers).
  ScrapeCache cache_;
  int64_t last_write_ms_ = 0;  // Timestamp of the last samples written (report or stale).
  bool reported_ = false;      // Report series are stored and not yet marked stale.

  mutable absl::Mutex mu_;
  ScrapeTarget pending_target_ ABSL_GUARDED_BY(mu_);  // What Update() gave, for the next scrape.
  std::shared_ptr<const ScrapeJobSettings> pending_settings_ ABSL_GUARDED_BY(mu_);
  TargetStatus status_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ember::server

#endif  // EMBER_SERVER_SCRAPE_SCRAPE_LOOP_H_
