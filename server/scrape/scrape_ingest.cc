// A scrape loop's ingest policy (scrape_loop.h): parsing the fetched body, target labels and
// metric relabeling, honor_timestamps, sample_limit, stale markers for vanished series and at
// the end of the loop, the report series (up, scrape_duration_seconds, ...), and the write
// through ingest::Ingester with per-job counts.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <iterator>
#include <limits>
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

// The parser's timestamp for samples written without one, so that they can be told apart from
// those with their own (honor_timestamps). No exposition writes this one.
constexpr int64_t kNoTimestamp = std::numeric_limits<int64_t>::min();

// The report series, in the order of the values AppendReport() takes.
constexpr const char* kReportNames[] = {"up", "scrape_duration_seconds", "scrape_samples_scraped",
                                        "scrape_samples_post_metric_relabeling",
                                        "scrape_series_added"};

int64_t WallMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string SeriesKey(const Labels& labels) {
  std::string key;
  for (const Label& l : labels) absl::StrAppend(&key, l.name, "\xfe", l.value, "\xff");
  return key;
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
  seen_.clear();
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
  ingest::DecodedBatch batch;
  absl::flat_hash_map<std::string, SeenSeries> current;
  if (error.empty()) {
    ingest::TextFormatOptions options;
    options.openmetrics = IsOpenMetrics(fetched.content_type);
    options.default_timestamp_ms = kNoTimestamp;
    if (absl::Status s = ingest::ParseTextFormat(fetched.body, options, &batch); !s.ok()) {
      error = absl::StrCat(s.message());
      batch.series.clear();
    }
  }
  if (error.empty()) {
    size_t kept = 0;
    for (ingest::DecodedSeries& s : batch.series) {
      scraped += static_cast<int64_t>(s.samples.size());
      AddTargetLabels(target_.labels, settings.honor_labels, &s.labels);
      if (settings.metric_relabeler != nullptr) {
        if (!settings.metric_relabeler->Apply(&s.labels)) continue;
      } else {
        CanonicalizeLabels(&s.labels);
      }
      bool own_timestamp = false;
      for (Sample& sample : s.samples) {
        if (sample.t == kNoTimestamp || !settings.honor_timestamps) {
          sample.t = start_ms;
        } else {
          own_timestamp = true;
        }
      }
      post_relabel += static_cast<int64_t>(s.samples.size());
      current.try_emplace(SeriesKey(s.labels), SeenSeries{s.labels, !own_timestamp});
      if (&batch.series[kept] != &s) batch.series[kept] = std::move(s);
      ++kept;
    }
    batch.series.resize(kept);
    if (settings.sample_limit > 0 && static_cast<uint64_t>(post_relabel) > settings.sample_limit) {
      error = absl::StrFormat(
          "sample limit exceeded: %d samples after metric relabeling (sample_limit=%d)",
          post_relabel, settings.sample_limit);
    }
  }
  if (error.empty()) {
    int64_t added = 0;
    for (const auto& [key, series] : current) added += seen_.contains(key) ? 0 : 1;
    for (const auto& [key, old] : seen_) {
      if (!old.tracked || current.contains(key)) continue;
      ingest::DecodedSeries& stale = batch.series.emplace_back();
      stale.labels = old.labels;
      stale.samples.push_back(Sample{start_ms, StaleNaN()});
    }
    const double report[kNumReport] = {1, seconds, static_cast<double>(scraped),
                                       static_cast<double>(post_relabel),
                                       static_cast<double>(added)};
    AppendReport(start_ms, report, &batch);
    if (absl::Status s = Write(batch); s.ok()) {
      seen_ = std::move(current);
      reported_ = true;
      last_write_ms_ = start_ms;
      absl::MutexLock lock(&mu_);
      status_.health = "up";
      status_.last_error.clear();
      status_.last_scrape_ms = start_ms;
      status_.last_scrape_duration_seconds = seconds;
      status_.last_samples = post_relabel;
      return;
    } else {
      // Rejected whole: nothing of it was stored, so the scrape failed.
      error = absl::StrCat("storing the scrape: ", s.message());
    }
  }

  if (Counter* c = JobCounter(env_.failures)) c->Inc();
  ingest::DecodedBatch failed;
  AppendStaleMarkers(start_ms, &failed);
  const double report[kNumReport] = {0, seconds, static_cast<double>(scraped),
                                     static_cast<double>(post_relabel), 0};
  AppendReport(start_ms, report, &failed);
  Write(failed).IgnoreError();  // Counted by Write(); the scrape's error is what lastError says.
  seen_.clear();
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
  for (const auto& [key, series] : seen_) {
    if (!series.tracked) continue;
    ingest::DecodedSeries& s = batch->series.emplace_back();
    s.labels = series.labels;
    s.samples.push_back(Sample{t, StaleNaN()});
  }
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
