// A scrape loop's ingest policy (scrape_loop.h): parsing the fetched body into the target's
// series cache (scrape_cache.h: target labels, metric relabeling and honor_timestamps for the
// texts it does not know yet), sample_limit, stale markers for vanished series and at the end
// of the loop, the report series (up, scrape_duration_seconds, ...), and the write through
// ingest::Ingester with per-job counts.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ember/sample.h"
#include "ingest/text_format.h"
#include "ingest/write_path.h"
#include "server/scrape/scrape_loop.h"
#include "util/strings.h"

namespace ember::server {
namespace {

// The report series, in the order of the values AppendReport() takes.
constexpr const char* kReportNames[] = {"up", "scrape_duration_seconds", "scrape_samples_scraped",
                                        "scrape_samples_post_metric_relabeling",
                                        "scrape_series_added"};

int64_t WallMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool IsOpenMetrics(std::string_view content_type) {
  return absl::StartsWith(
      absl::AsciiStrToLower(absl::StripAsciiWhitespace(util::AsAbsl(content_type))),
      "application/openmetrics-text");
}

}  // namespace

void ScrapeLoop::Finalize() {
  if (finalized_) return;
  finalized_ = true;
  // After everything this loop wrote, or the write would be refused as out of order.
  const int64_t t = std::max(WallMillis(), last_write_ms_ + 1);
  ingest::DecodedBatch batch;
  AppendStaleMarkers(t, &batch);
  if (reported_) {
    double stale[kNumReport];
    std::fill(std::begin(stale), std::end(stale), StaleNaN());
    AppendReport(t, stale, &batch);
  }
  if (!batch.series.empty()) Write(batch).IgnoreError();  // Counted by Write().
  cache_.Clear();
  reported_ = false;
  stopped_.Notify();
}

void ScrapeLoop::Store(const Fetched& fetched, int64_t start_ms, double seconds) {
  if (Counter* c = JobCounter(env_.scrapes)) c->Inc();
  if (env_.duration != nullptr) env_.duration->With({target_.job})->Observe(seconds);
  const ScrapeJobSettings& settings = *settings_;
  std::string error = fetched.error;
  int64_t scraped = 0;
  int64_t post_relabel = 0;
  const bool parsed = error.empty();
  if (parsed) {
    ScrapeLabeling labeling;
    labeling.target_labels = &target_.labels;
    labeling.honor_labels = settings.honor_labels;
    labeling.honor_timestamps = settings.honor_timestamps;
    labeling.relabeler = settings.metric_relabeler;
    cache_.Begin(labeling, start_ms);
    ingest::TextFormatOptions options;
    options.openmetrics = IsOpenMetrics(fetched.content_type);
    options.default_timestamp_ms = kNoTimestamp;
    if (absl::Status s = ingest::ParseTextFormat(fetched.body, options, &cache_); !s.ok()) {
      error = absl::StrCat(s.message());  // Reported as a scrape of nothing.
    } else {
      scraped = cache_.scraped();
      post_relabel = cache_.post_relabel();
    }
  }
  if (error.empty() && settings.sample_limit > 0 &&
      static_cast<uint64_t>(post_relabel) > settings.sample_limit) {
    error = absl::StrFormat(
        "sample limit exceeded: %d samples after metric relabeling (sample_limit=%d)", post_relabel,
        settings.sample_limit);
  }
  if (error.empty()) {
    cache_.MarkVanished();
    ingest::DecodedBatch& batch = cache_.batch();
    const size_t cached = batch.series.size();
    const double report[kNumReport] = {1, seconds, static_cast<double>(scraped),
                                       static_cast<double>(post_relabel),
                                       static_cast<double>(cache_.added())};
    AppendReport(start_ms, report, &batch);
    const absl::Status s = Write(batch);
    batch.series.resize(cached);
    if (s.ok()) {
      cache_.End(/*stored=*/true);
      reported_ = true;
      last_write_ms_ = start_ms;
      absl::MutexLock lock(&mu_);
      status_.health = "up";
      status_.last_error.clear();
      status_.last_scrape_ms = start_ms;
      status_.last_scrape_duration_seconds = seconds;
      status_.last_samples = post_relabel;
      return;
    }
    // Rejected whole: nothing of it was stored, so the scrape failed.
    error = absl::StrCat("storing the scrape: ", s.message());
  }

  if (Counter* c = JobCounter(env_.failures)) c->Inc();
  ingest::DecodedBatch failed;
  AppendStaleMarkers(start_ms, &failed);
  const double report[kNumReport] = {0, seconds, static_cast<double>(scraped),
                                     static_cast<double>(post_relabel), 0};
  AppendReport(start_ms, report, &failed);
  Write(failed).IgnoreError();  // Counted by Write(); the scrape's error is what lastError says.
  cache_.End(/*stored=*/false);
  reported_ = true;
  last_write_ms_ = start_ms;
  absl::MutexLock lock(&mu_);
  status_.health = "down";
  status_.last_error = std::move(error);
  status_.last_scrape_ms = start_ms;
  status_.last_scrape_duration_seconds = seconds;
  status_.last_samples = 0;
}

void ScrapeLoop::AppendStaleMarkers(int64_t t, ingest::DecodedBatch* batch) const {
  cache_.AppendStaleMarkers(t, batch);
}

void ScrapeLoop::AppendReport(int64_t t, const double (&values)[kNumReport],
                              ingest::DecodedBatch* batch) const {
  static_assert(std::size(kReportNames) == kNumReport);
  for (size_t i = 0; i < kNumReport; ++i) {
    ingest::DecodedSeries& s = batch->series.emplace_back();
    s.labels.reserve(target_.labels.size() + 1);
    s.labels.push_back(Label{std::string(kMetricNameLabel), kReportNames[i]});
    s.labels.insert(s.labels.end(), target_.labels.begin(), target_.labels.end());
    s.samples.push_back(Sample{t, values[i]});
  }
}

absl::Status ScrapeLoop::Write(const ingest::DecodedBatch& batch) {
  ingest::WriteOutcome rejected;
  absl::StatusOr<ingest::WriteOutcome> written = env_.ingester->Write(batch, &rejected);
  const ingest::WriteOutcome& outcome = written.ok() ? *written : rejected;
  if (env_.samples_refused != nullptr) {
    for (int r = 0; r < 4; ++r) {
      if (outcome.refused_by_reason[r] == 0) continue;
      env_.samples_refused
          ->With({target_.job, ingest::RejectReasonName(static_cast<ingest::RejectReason>(r))})
          ->Inc(static_cast<double>(outcome.refused_by_reason[r]));
    }
  }
  if (!written.ok()) {
    if (Counter* c = JobCounter(env_.write_errors)) c->Inc();
    return written.status();
  }
  if (Counter* c = JobCounter(env_.samples_stored)) {
    c->Inc(static_cast<double>(written->samples_stored));
  }
  return absl::OkStatus();
}

Counter* ScrapeLoop::JobCounter(CounterFamily* family) const {
  return family != nullptr ? family->With({target_.job}) : nullptr;
}

}  // namespace ember::server
