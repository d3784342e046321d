#include "server/alerting/notifier.h"

#include <algorithm>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/api/query_json.h"
#include "server/http/http_client.h"
#include "server/http/json.h"
#include "server/version.h"

namespace ember::server {

namespace http = boost::beast::http;

namespace {

// Backoff before the second attempt; doubled before each further one, up to kMaxBackoffMs.
constexpr int64_t kFirstBackoffMs = 100;
constexpr int64_t kMaxBackoffMs = 2000;
// Alertmanager answers a POST with a short JSON body or none; more is never read.
constexpr uint64_t kMaxResponseBytes = 64 << 10;

std::string ToStd(absl::string_view s) { return std::string(s.data(), s.size()); }

// Go's path.Join("/", prefix, "/api/v2/alerts") for the prefixes a config holds.
std::string AlertsPath(std::string_view path_prefix) {
  std::string path;
  for (absl::string_view seg : absl::StrSplit(
           absl::string_view(path_prefix.data(), path_prefix.size()), '/', absl::SkipEmpty())) {
    if (seg == ".") continue;
    absl::StrAppend(&path, "/", seg);
  }
  return path + "/api/v2/alerts";
}

// POSTs `body` to http://host:port`path` and reads the answer, all before `deadline`; OK on a
// 2xx status. Gives up (Cancelled) as soon as `aborted()` returns true.
absl::Status PostJson(const std::string& host, const std::string& port,
                      const std::string& host_header, const std::string& path,
                      const std::string& body, std::chrono::steady_clock::time_point deadline,
                      const std::function<bool()>& aborted) {
  HttpClientRequest request;
  request.host = host;
  request.port = port;
  request.max_body_bytes = kMaxResponseBytes;
  http::request<http::string_body>& req = request.message;
  req = {http::verb::post, path, 11};
  req.set(http::field::host, host_header);
  req.set(http::field::user_agent, absl::StrCat("Ember/", kEmberVersion));
  req.set(http::field::content_type, "application/json");
  req.body() = body;
  req.prepare_payload();
  absl::StatusOr<HttpClientResult> result = FetchHttp(std::move(request), deadline, aborted);
  if (!result.ok()) return result.status();
  if (result->ec) {
    return absl::UnavailableError(
        absl::StrCat(HttpClientStageName(result->stage), ": ", result->ec.message()));
  }
  if (result->stage != HttpClientStage::kDone) {
    return absl::UnavailableError(
        absl::StrCat(HttpClientStageName(result->stage), ": no address found for ", host));
  }
  const http::response<http::string_body>& res = result->response;
  const int status = static_cast<int>(res.result_int());
  if (status / 100 != 2) {
    std::string snippet = res.body().substr(0, 200);
    while (!snippet.empty() && (snippet.back() == '\n' || snippet.back() == '\r')) {
      snippet.pop_back();
    }
    return absl::UnavailableError(absl::StrCat("bad response status ", status, ": ", snippet));
  }
  return absl::OkStatus();
}

}  // namespace

struct Notifier::Target {
  std::string url;  // http://host:port/prefix/api/v2/alerts: messages and metric labels.
  std::string host;
  std::string port;
  std::string host_header;  // The target as configured.
  std::string path;
  int64_t timeout_ms = 0;
  Counter* sent = nullptr;
  Counter* errors = nullptr;
};

struct Notifier::Metrics {
  std::unique_ptr<MetricsRegistry> own;  // When the caller gave none.
  CounterFamily* sent = nullptr;
  CounterFamily* errors = nullptr;
  Counter* dropped = nullptr;
  Counter* queue_length = nullptr;
  Counter* queue_capacity = nullptr;
};

std::string FormatRfc3339Millis(int64_t t_ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMillis(t_ms), absl::UTCTimeZone());
}

std::string GeneratorUrl(std::string_view external_url, std::string_view expr) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string url(external_url);
  url += "/graph?g0.expr=";
  for (const char ch : expr) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      url += static_cast<char>(c);
    } else if (c == ' ') {
      url += '+';
    } else {
      url += '%';
      url += kHex[c >> 4];
      url += kHex[c & 15];
    }
  }
  url += "&g0.tab=1";
  return url;
}

PostableAlert ToPostableAlert(const rules::Alert& alert, const Labels& external_labels,
                              std::string_view external_url) {
  PostableAlert out;
  out.labels = alert.labels;
  for (const Label& l : external_labels) {
    if (GetLabelValue(alert.labels, l.name).empty()) out.labels.push_back(l);
  }
  CanonicalizeLabels(&out.labels);
  out.annotations = alert.annotations;
  out.starts_at_ms = alert.fired_at_ms;
  out.ends_at_ms = rules::AlertEndsAtMs(alert);
  out.generator_url = GeneratorUrl(external_url, alert.expr);
  return out;
}

std::string EncodeAlertsV2(const std::vector<PostableAlert>& alerts) {
  JsonWriter w;
  w.BeginArray();
  for (const PostableAlert& a : alerts) {
    w.BeginObject();
    w.Key("labels");
    WriteLabelsObject(a.labels, &w);
    w.Key("annotations");
    WriteLabelsObject(a.annotations, &w);
    if (a.starts_at_ms != 0) w.Key("startsAt").String(FormatRfc3339Millis(a.starts_at_ms));
    if (a.ends_at_ms != 0) w.Key("endsAt").String(FormatRfc3339Millis(a.ends_at_ms));
    w.Key("generatorURL").String(a.generator_url);
    w.EndObject();
  }
  w.EndArray();
  return w.Take();
}

Notifier::Notifier(NotifierOptions options, MetricsRegistry* metrics)
    : metrics_(std::make_unique<Metrics>()) {
  if (metrics == nullptr) {
    metrics_->own = std::make_unique<MetricsRegistry>();
    metrics = metrics_->own.get();
  }
  metrics_->sent =
      metrics->AddCounter("ember_notifications_sent_total",
                          "Total number of alerts an Alertmanager accepted.", {"alertmanager"});
  metrics_->errors = metrics->AddCounter(
      "ember_notifications_errors_total",
      "Total number of alerts in requests to an Alertmanager that failed, per attempt.",
      {"alertmanager"});
  metrics_->dropped =
      metrics
          ->AddCounter("ember_notifications_dropped_total",
                       "Total number of alerts dropped: queue overflow or errors when sending.")
          ->With({});
  metrics_->queue_length =
      metrics->AddGauge("ember_notifications_queue_length", "The number of alerts in the queue.")
          ->With({});
  metrics_->queue_capacity =
      metrics->AddGauge("ember_notifications_queue_capacity", "The capacity of the alert queue.")
          ->With({});
  {
    absl::MutexLock lock(&mu_);
    options_ = std::move(options);
    SetTargets(options_);
    metrics_->queue_capacity->Set(static_cast<double>(options_.queue_capacity));
    metrics_->queue_length->Set(0);
  }
  thread_ = std::thread([this] { Run(); });
}

Notifier::~Notifier() { Stop(); }

void Notifier::SetTargets(const NotifierOptions& options) {
  targets_.clear();
  for (const AlertmanagerConfig& am : options.alertmanagers) {
    const std::string path = AlertsPath(am.path_prefix);
    for (const StaticConfig& sc : am.static_configs) {
      for (const std::string& t : sc.targets) {
        auto target = std::make_shared<Target>();
        target->host_header = t;
        // "host:port", "[v6]:port", or "host" (the scheme's default port).
        const size_t colon = t.rfind(':');
        const size_t bracket = t.rfind(']');
        if (colon != std::string::npos && (bracket == std::string::npos || colon > bracket)) {
          target->host = t.substr(0, colon);
          target->port = t.substr(colon + 1);
        } else {
          target->host = t;
          target->port = "80";
        }
        if (target->host.size() >= 2 && target->host.front() == '[' && target->host.back() == ']') {
          target->host = target->host.substr(1, target->host.size() - 2);
        }
        target->path = path;
        target->url = absl::StrCat(am.scheme, "://", t, path);
        target->timeout_ms = am.timeout_ms;
        target->sent = metrics_->sent->With({target->url});
        target->errors = metrics_->errors->With({target->url});
        targets_.push_back(std::move(target));
      }
    }
  }
}

void Notifier::TrimQueue() {
  if (queue_.size() > options_.queue_capacity) {
    const size_t n = queue_.size() - options_.queue_capacity;
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
    metrics_->dropped->Inc(static_cast<double>(n));
  }
  metrics_->queue_length->Set(static_cast<double>(queue_.size()));
}

void Notifier::Send(std::vector<rules::Alert> alerts) {
  if (alerts.empty()) return;
  absl::MutexLock lock(&mu_);
  if (stopping_) {
    metrics_->dropped->Inc(static_cast<double>(alerts.size()));
    return;
  }
  for (const rules::Alert& a : alerts) {
    queue_.push_back(ToPostableAlert(a, options_.external_labels, options_.external_url));
  }
  TrimQueue();
  cv_.Signal();
}

void Notifier::ApplyOptions(NotifierOptions options) {
  absl::MutexLock lock(&mu_);
  options_ = std::move(options);
  SetTargets(options_);
  metrics_->queue_capacity->Set(static_cast<double>(options_.queue_capacity));
  TrimQueue();
  cv_.Signal();
}

size_t Notifier::queue_length() const {
  absl::MutexLock lock(&mu_);
  return queue_.size();
}

void Notifier::Stop() {
  absl::MutexLock stop_lock(&stop_mu_);
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      stopping_ = true;
      stop_deadline_ = absl::Now() + absl::Milliseconds(options_.stop_timeout_ms);
    }
    cv_.SignalAll();
  }
  if (thread_.joinable()) thread_.join();
}

bool Notifier::Aborted() const {
  absl::MutexLock lock(&mu_);
  return stopping_ && absl::Now() >= stop_deadline_;
}

bool Notifier::Backoff(int64_t ms) {
  const absl::Time until = absl::Now() + absl::Milliseconds(ms);
  absl::MutexLock lock(&mu_);
  while (true) {
    const absl::Time now = absl::Now();
    if (stopping_ && now >= stop_deadline_) return false;
    if (now >= until) return true;
    cv_.WaitWithDeadline(&mu_, stopping_ ? std::min(until, stop_deadline_) : until);
  }
}

void Notifier::Run() {
  while (true) {
    std::vector<PostableAlert> batch;
    std::vector<std::shared_ptr<const Target>> targets;
    int max_attempts = 1;
    {
      absl::MutexLock lock(&mu_);
      while (queue_.empty() && !stopping_) cv_.Wait(&mu_);
      if (queue_.empty()) return;  // Stopping with nothing left.
      if (stopping_ && absl::Now() >= stop_deadline_) {
        std::fprintf(stderr, "notifier: dropping %zu alerts still queued at shutdown\n",
                     queue_.size());
        metrics_->dropped->Inc(static_cast<double>(queue_.size()));
        queue_.clear();
        metrics_->queue_length->Set(0);
        return;
      }
      const size_t n = std::min(queue_.size(), std::max<size_t>(options_.max_batch, 1));
      batch.assign(std::make_move_iterator(queue_.begin()),
                   std::make_move_iterator(queue_.begin() + static_cast<std::ptrdiff_t>(n)));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
      metrics_->queue_length->Set(static_cast<double>(queue_.size()));
      targets = targets_;
      max_attempts = std::max(options_.max_attempts, 1);
    }
    const std::string body = EncodeAlertsV2(batch);
    bool accepted = false;
    for (const std::shared_ptr<const Target>& target : targets) {
      accepted |= SendToTarget(*target, max_attempts, body, batch.size());
    }
    if (!accepted) {
      std::fprintf(
          stderr, "notifier: dropped %zu alerts: %s\n", batch.size(),
          targets.empty() ? "no Alertmanager is configured" : "no Alertmanager accepted them");
      metrics_->dropped->Inc(static_cast<double>(batch.size()));
    }
  }
}

bool Notifier::SendToTarget(const Target& target, int max_attempts, const std::string& body,
                            size_t count) {
  int64_t backoff_ms = kFirstBackoffMs;
  for (int attempt = 1; attempt <= max_attempts; ++attempt) {
    if (attempt > 1) {
      if (!Backoff(backoff_ms)) return false;
      backoff_ms = std::min(backoff_ms * 2, kMaxBackoffMs);
    }
    if (Aborted()) return false;
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(target.timeout_ms);
    const absl::Status s = PostJson(target.host, target.port, target.host_header, target.path, body,
                                    deadline, [this] { return Aborted(); });
    if (s.ok()) {
      target.sent->Inc(static_cast<double>(count));
      return true;
    }
    target.errors->Inc(static_cast<double>(count));
    std::fprintf(stderr, "notifier: sending %zu alerts to %s (attempt %d of %d): %s\n", count,
                 target.url.c_str(), attempt, max_attempts, ToStd(s.message()).c_str());
  }
  return false;
}

}  // namespace ember::server
