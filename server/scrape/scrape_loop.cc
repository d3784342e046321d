#include "server/scrape/scrape_loop.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>
#include <cstdint>
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
#include "server/http/http_codec.h"

namespace ember::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

// The parser's timestamp for samples written without one, so that they can be told apart from
// those with their own (honor_timestamps). No exposition writes this one.
constexpr int64_t kNoTimestamp = std::numeric_limits<int64_t>::min();

constexpr uint32_t kHeaderLimitBytes = 1 << 20;

// Prometheus 3's default scrape_protocols, in its Accept header's form.
constexpr const char* kAccept =
    "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

// The report series, in the order of the values AppendReport() takes.
constexpr const char* kReportNames[] = {"up", "scrape_duration_seconds", "scrape_samples_scraped",
                                        "scrape_samples_post_metric_relabeling",
                                        "scrape_series_added"};

absl::string_view AbslView(std::string_view s) { return {s.data(), s.size()}; }
std::string_view View(beast::string_view s) { return {s.data(), s.size()}; }

int64_t WallMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// FNV-1a: stable across processes, so a target keeps its offset over restarts.
uint64_t Fnv1a(std::string_view s) {
  uint64_t h = 14695981039346656037ULL;
  for (const char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

std::string SeriesKey(const Labels& labels) {
  std::string key;
  for (const Label& l : labels) absl::StrAppend(&key, l.name, "\xfe", l.value, "\xff");
  return key;
}

bool IsOpenMetrics(std::string_view content_type) {
  return absl::StartsWith(absl::AsciiStrToLower(absl::StripAsciiWhitespace(AbslView(content_type))),
                          "application/openmetrics-text");
}

std::string Lower(const std::string& s) { return absl::AsciiStrToLower(s); }

}  // namespace

ScrapeLoop::ScrapeLoop(asio::io_context& ioc, const ScrapeEnv& env, ScrapeTarget target,
                       std::shared_ptr<const ScrapeJobSettings> settings)
    : env_(env),
      strand_(asio::make_strand(ioc)),
      timer_(strand_),
      deadline_(strand_),
      resolver_(strand_),
      socket_(strand_),
      target_(target),
      settings_(settings) {
  absl::MutexLock lock(&mu_);
  status_.scrape_pool = target.job;
  status_.discovered_labels = target.discovered_labels;
  status_.labels = target.labels;
  status_.scrape_url = target.url;
  status_.scrape_interval_ms = target.interval_ms;
  status_.scrape_timeout_ms = target.timeout_ms;
  pending_target_ = std::move(target);
  pending_settings_ = std::move(settings);
}

void ScrapeLoop::Start() {
  asio::post(strand_, [self = shared_from_this()] {
    if (self->stopping_) return;
    // Prometheus's spread: the same phase within every interval of wall-clock time, so
    // targets with equal intervals do not all scrape at once, and a target keeps its phase.
    const int64_t interval = self->target_.interval_ms;
    const auto phase = static_cast<int64_t>((Fnv1a(self->target_.Key()) ^ self->env_.offset_seed) %
                                            static_cast<uint64_t>(interval));
    const int64_t wait = ((phase - WallMillis() % interval) % interval + interval) % interval;
    self->next_ = Clock::now() + std::chrono::milliseconds(wait);
    self->timer_.expires_at(self->next_);
    self->timer_.async_wait([self](error_code ec) { self->OnTimer(ec); });
  });
}

void ScrapeLoop::Update(ScrapeTarget target, std::shared_ptr<const ScrapeJobSettings> settings) {
  absl::MutexLock lock(&mu_);
  status_.discovered_labels = target.discovered_labels;
  status_.scrape_interval_ms = target.interval_ms;
  status_.scrape_timeout_ms = target.timeout_ms;
  pending_target_ = std::move(target);
  pending_settings_ = std::move(settings);
}

void ScrapeLoop::Stop() {
  asio::post(strand_, [self = shared_from_this()] {
    self->stopping_ = true;
    self->timer_.cancel();
    if (self->in_flight_) {
      // The pending step completes with an error and finalizes (Aborted()).
      error_code ignored;
      self->resolver_.cancel();
      self->socket_.close(ignored);
      self->deadline_.cancel();
    } else {
      self->Finalize();
    }
  });
}

TargetStatus ScrapeLoop::Status() const {
  absl::MutexLock lock(&mu_);
  return status_;
}

void ScrapeLoop::OnTimer(error_code ec) {
  if (ec || stopping_) return;  // Stop() cancelled the timer and finalizes itself.
  BeginScrape();
}

void ScrapeLoop::BeginScrape() {
  {
    absl::MutexLock lock(&mu_);
    target_ = pending_target_;
    settings_ = pending_settings_;
  }
  in_flight_ = true;
  timed_out_ = false;
  const uint64_t gen = ++gen_;
  start_ = Clock::now();
  start_ms_ = WallMillis();
  deadline_.expires_after(std::chrono::milliseconds(target_.timeout_ms));
  deadline_.async_wait(
      [self = shared_from_this(), gen](error_code ec) { self->OnDeadline(gen, ec); });

  if (target_.scheme != "http") {
    FailFetch(
        absl::StrFormat("Get \"%s\": unsupported protocol scheme \"%s\" (Ember scrapes http "
                        "only)",
                        target_.url, target_.scheme));
    return;
  }
  absl::StatusOr<HostPort> hp = SplitAddress(target_.address, target_.scheme);
  if (!hp.ok()) {
    FailFetch(absl::StrFormat("Get \"%s\": %s", target_.url, hp.status().message()));
    return;
  }
  request_ = {};
  request_.version(11);
  request_.method(http::verb::get);
  request_.target(target_.request_target);
  request_.set(http::field::host, target_.address);
  request_.set(http::field::accept, kAccept);
  request_.set(http::field::accept_encoding, "gzip");
  request_.set(http::field::user_agent, env_.user_agent);
  request_.set("X-Prometheus-Scrape-Timeout-Seconds", FormatSeconds(target_.timeout_ms));

  uint16_t port = 0;
  for (const char c : hp->port) port = static_cast<uint16_t>(port * 10 + (c - '0'));
  error_code ec;
  const asio::ip::address ip = asio::ip::make_address(hp->host, ec);
  endpoints_.clear();
  next_endpoint_ = 0;
  if (!ec) {
    endpoints_.emplace_back(ip, port);
    ConnectNext();
    return;
  }
  resolver_.async_resolve(
      hp->host, hp->port,
      [self = shared_from_this()](error_code ec, const tcp::resolver::results_type& results) {
        self->OnResolve(ec, results);
      });
}

void ScrapeLoop::OnResolve(error_code ec, const tcp::resolver::results_type& results) {
  if (Aborted() || TimedOut()) return;
  if (ec || results.empty()) {
    const std::string host = SplitAddress(target_.address, target_.scheme)->host;
    const bool unknown =
        !ec || ec == asio::error::host_not_found || ec == asio::error::host_not_found_try_again;
    FailFetch(absl::StrFormat("Get \"%s\": dial tcp: lookup %s: %s", target_.url, host,
                              unknown ? "no such host" : Lower(ec.message())));
    return;
  }
  for (const auto& entry : results) endpoints_.push_back(entry.endpoint());
  ConnectNext();
}

void ScrapeLoop::ConnectNext() {
  error_code ignored;
  socket_.close(ignored);
  socket_.async_connect(endpoints_[next_endpoint_],
                        [self = shared_from_this()](error_code ec) { self->OnConnect(ec); });
}

void ScrapeLoop::OnConnect(error_code ec) {
  if (Aborted() || TimedOut()) return;
  if (ec) {
    if (++next_endpoint_ < endpoints_.size()) {
      ConnectNext();
      return;
    }
    const tcp::endpoint& ep = endpoints_.back();
    const std::string address =
        ep.address().is_v6() ? absl::StrFormat("[%s]:%d", ep.address().to_string(), ep.port())
                             : absl::StrFormat("%s:%d", ep.address().to_string(), ep.port());
    FailFetch(absl::StrFormat("Get \"%s\": dial tcp %s: connect: %s", target_.url, address,
                              Lower(ec.message())));
    return;
  }
  http::async_write(socket_, request_,
                    [self = shared_from_this()](error_code ec, size_t) { self->OnWrite(ec); });
}

void ScrapeLoop::OnWrite(error_code ec) {
  if (Aborted() || TimedOut()) return;
  if (ec) {
    FailFetch(absl::StrFormat("Get \"%s\": %s", target_.url, Lower(ec.message())));
    return;
  }
  buffer_.clear();
  parser_.emplace();
  parser_->header_limit(kHeaderLimitBytes);
  parser_->body_limit(static_cast<uint64_t>(env_.max_body_bytes));
  // The header first: Beast 1.74 loses the body_limit error of a too large Content-Length when
  // it parses header and body in one go (async_read's eager mode), and would then reserve that
  // length for the body.
  http::async_read_header(
      socket_, buffer_, *parser_,
      [self = shared_from_this()](error_code ec, size_t) { self->OnHeader(ec); });
}

void ScrapeLoop::OnHeader(error_code ec) {
  if (Aborted() || TimedOut()) return;
  if (ec) {
    FailRead(ec);
    return;
  }
  http::async_read(socket_, buffer_, *parser_,
                   [self = shared_from_this()](error_code ec, size_t) { self->OnRead(ec); });
}

void ScrapeLoop::FailRead(error_code ec) {
  if (ec == http::error::body_limit) {
    FailFetch(absl::StrFormat("body size limit exceeded (max_body_bytes=%d)", env_.max_body_bytes));
  } else {
    FailFetch(absl::StrFormat("Get \"%s\": %s", target_.url, Lower(ec.message())));
  }
}

void ScrapeLoop::OnRead(error_code ec) {
  if (Aborted() || TimedOut()) return;
  error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  if (!ec && parser_->get().body().size() > env_.max_body_bytes) ec = http::error::body_limit;
  if (ec) {
    FailRead(ec);
    return;
  }
  http::response<http::string_body> res = parser_->release();
  parser_.reset();
  buffer_.clear();
  if (res.result_int() != 200) {
    std::string_view reason = View(res.reason());
    if (reason.empty()) reason = View(http::obsolete_reason(res.result()));
    FailFetch(absl::StrFormat("server returned HTTP status %d %s", res.result_int(), reason));
    return;
  }
  Fetched fetched;
  fetched.content_type.assign(View(res[http::field::content_type]));
  const std::string encoding = absl::AsciiStrToLower(
      absl::StripAsciiWhitespace(AbslView(View(res[http::field::content_encoding]))));
  if (encoding == "gzip" || encoding == "x-gzip") {
    absl::StatusOr<std::string> body = Gunzip(res.body(), env_.max_body_bytes);
    if (absl::IsResourceExhausted(body.status())) {
      fetched.error =
          absl::StrFormat("body size limit exceeded (max_body_bytes=%d)", env_.max_body_bytes);
    } else if (!body.ok()) {
      fetched.error = absl::StrCat(body.status().message());
    } else {
      fetched.body = *std::move(body);
    }
  } else if (!encoding.empty() && encoding != "identity") {
    fetched.error = absl::StrFormat("unsupported Content-Encoding \"%s\"", encoding);
  } else {
    fetched.body = std::move(res.body());
  }
  EndFetch(fetched);
}

void ScrapeLoop::OnDeadline(uint64_t gen, error_code ec) {
  if (ec || gen != gen_ || !in_flight_) return;
  // The pending step fails with operation_aborted and TimedOut() words the error.
  timed_out_ = true;
  error_code ignored;
  resolver_.cancel();
  socket_.close(ignored);
}

bool ScrapeLoop::TimedOut() {
  if (!timed_out_) return false;
  FailFetch(absl::StrFormat("Get \"%s\": context deadline exceeded", target_.url));
  return true;
}

bool ScrapeLoop::Aborted() {
  if (!stopping_) return false;
  in_flight_ = false;
  error_code ignored;
  socket_.close(ignored);
  deadline_.cancel();
  Finalize();
  return true;
}

void ScrapeLoop::EndFetch(const Fetched& fetched) {
  in_flight_ = false;
  deadline_.cancel();
  error_code ignored;
  socket_.close(ignored);
  const double seconds = std::chrono::duration<double>(Clock::now() - start_).count();
  Store(fetched, start_ms_, seconds);
  ScheduleNext();
}

void ScrapeLoop::FailFetch(std::string error) {
  Fetched fetched;
  fetched.error = std::move(error);
  EndFetch(fetched);
}

void ScrapeLoop::ScheduleNext() {
  if (stopping_) return;
  int64_t interval_ms = 0;
  {
    absl::MutexLock lock(&mu_);
    interval_ms = pending_target_.interval_ms;
  }
  const auto interval = std::chrono::milliseconds(interval_ms);
  next_ += interval;
  const Clock::time_point now = Clock::now();
  if (next_ <= now) next_ += ((now - next_) / interval + 1) * interval;  // Skip missed ticks.
  timer_.expires_at(next_);
  timer_.async_wait([self = shared_from_this()](error_code ec) { self->OnTimer(ec); });
}

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
  absl::StatusOr<ingest::WriteOutcome> written = ingest::WriteBatch(env_.db, batch, &rejected);
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
