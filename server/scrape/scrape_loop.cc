#include "server/scrape/scrape_loop.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/http/http_client.h"
#include "server/http/http_codec.h"
#include "util/strings.h"

namespace ember::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

constexpr uint32_t kHeaderLimitBytes = 1 << 20;

// Prometheus 3's default scrape_protocols, in its Accept header's form.
constexpr const char* kAccept =
    "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

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

std::string Lower(const std::string& s) { return absl::AsciiStrToLower(s); }

}  // namespace

ScrapeLoop::ScrapeLoop(asio::io_context& ioc, const ScrapeEnv& env, ScrapeTarget target,
                       std::shared_ptr<const ScrapeJobSettings> settings)
    : env_(env),
      strand_(asio::make_strand(ioc)),
      timer_(strand_),
      deadline_(strand_),
      client_(std::make_shared<AsyncHttpClient>(strand_)),
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
      // The fetch ends with an error and finalizes (Aborted()).
      self->client_->Cancel();
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
  HttpClientRequest request;
  request.host = hp->host;
  request.port = hp->port;
  request.max_body_bytes = static_cast<uint64_t>(env_.max_body_bytes);
  request.header_limit_bytes = kHeaderLimitBytes;
  http::request<http::string_body>& req = request.message;
  req.version(11);
  req.method(http::verb::get);
  req.target(target_.request_target);
  req.set(http::field::host, target_.address);
  req.set(http::field::accept, kAccept);
  req.set(http::field::accept_encoding, "gzip");
  req.set(http::field::user_agent, env_.user_agent);
  req.set("X-Prometheus-Scrape-Timeout-Seconds", FormatSeconds(target_.timeout_ms));
  client_->Start(std::move(request), [self = shared_from_this()](HttpClientResult r) {
    self->OnFetched(std::move(r));
  });
}

void ScrapeLoop::OnFetched(HttpClientResult result) {
  if (Aborted() || TimedOut()) return;
  const error_code ec = result.ec;
  switch (result.stage) {
    case HttpClientStage::kResolve: {
      const bool unknown =
          !ec || ec == asio::error::host_not_found || ec == asio::error::host_not_found_try_again;
      FailFetch(absl::StrFormat("Get \"%s\": dial tcp: lookup %s: %s", target_.url,
                                SplitAddress(target_.address, target_.scheme)->host,
                                unknown ? "no such host" : Lower(ec.message())));
      return;
    }
    case HttpClientStage::kConnect: {
      const tcp::endpoint& ep = result.endpoint;
      const std::string address =
          ep.address().is_v6() ? absl::StrFormat("[%s]:%d", ep.address().to_string(), ep.port())
                               : absl::StrFormat("%s:%d", ep.address().to_string(), ep.port());
      FailFetch(absl::StrFormat("Get \"%s\": dial tcp %s: connect: %s", target_.url, address,
                                Lower(ec.message())));
      return;
    }
    case HttpClientStage::kWrite:
      FailFetch(absl::StrFormat("Get \"%s\": %s", target_.url, Lower(ec.message())));
      return;
    case HttpClientStage::kRead:
      if (ec == http::error::body_limit) {
        FailFetch(
            absl::StrFormat("body size limit exceeded (max_body_bytes=%d)", env_.max_body_bytes));
      } else {
        FailFetch(absl::StrFormat("Get \"%s\": %s", target_.url, Lower(ec.message())));
      }
      return;
    case HttpClientStage::kDone:
      break;
  }
  http::response<http::string_body>& res = result.response;
  if (res.result_int() != 200) {
    std::string_view reason = View(res.reason());
    if (reason.empty()) reason = View(http::obsolete_reason(res.result()));
    FailFetch(absl::StrFormat("server returned HTTP status %d %s", res.result_int(), reason));
    return;
  }
  Fetched fetched;
  fetched.content_type.assign(View(res[http::field::content_type]));
  const std::string encoding = absl::AsciiStrToLower(
      absl::StripAsciiWhitespace(util::AsAbsl(View(res[http::field::content_encoding]))));
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
  // The fetch ends with operation_aborted and TimedOut() words the error.
  timed_out_ = true;
  client_->Cancel();
}

bool ScrapeLoop::TimedOut() {
  if (!timed_out_) return false;
  FailFetch(absl::StrFormat("Get \"%s\": context deadline exceeded", target_.url));
  return true;
}

bool ScrapeLoop::Aborted() {
  if (!stopping_) return false;
  in_flight_ = false;
  deadline_.cancel();
  Finalize();
  return true;
}

void ScrapeLoop::EndFetch(const Fetched& fetched) {
  in_flight_ = false;
  deadline_.cancel();
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

}  // namespace ember::server
