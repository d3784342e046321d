#include "server/cmd/ember_server.h"

#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "util/status_macros.h"

namespace ember::server {

EmberServer::EmberServer(ServerOptions options) : options_(std::move(options)) {}

EmberServer::~EmberServer() { Stop().IgnoreError(); }

absl::Status EmberServer::Start() {
  absl::StatusOr<std::unique_ptr<Db>> db = Db::Open(options_.db, options_.data_dir);
  if (!db.ok()) return db.status();
  db_ = std::move(*db);
  executor_ = std::make_unique<query::QueryExecutor>(options_.executor);
  // Query memory is accounted in one place for the API and the rules.
  options_.api.engine.memory_in_use = executor_->memory_in_use();
  // Remote write's decompressed size is bounded like any body.
  options_.api.max_request_body_bytes = options_.http.max_request_body_bytes;
  options_.http.paths_without_body_decoding.push_back("/api/v1/write");
  api_ = std::make_unique<Api>(db_.get(), options_.api, &metrics_, executor_.get());
  if (!options_.config_file.empty()) {
    absl::StatusOr<Config> config = LoadConfigFile(options_.config_file);
    absl::Status s = config.status();
    if (s.ok()) {
      notifier_ = std::make_unique<Notifier>(NotifierOptions{}, &metrics_);
      ScrapeManagerOptions scrape_options;
      scrape_options.ingester = api_->ingester();
      scrape_ = std::make_unique<ScrapeManager>(db_.get(), &metrics_, scrape_options);
      rules_ =
          std::make_unique<RuleManager>(db_.get(), &metrics_, notifier_.get(), executor_.get());
      absl::MutexLock lock(&reload_mu_);
      s = ApplyConfig(*config);
    }
    if (!s.ok()) {
      rules_.reset();
      scrape_.reset();
      notifier_.reset();
      api_.reset();
      executor_.reset();
      db_->Close().IgnoreError();
      db_.reset();
      return s;
    }
    api_->SetHooks(ApiHooks{rules_.get(), scrape_.get(), [this] { return Reload(); }});
  }
  http_ = std::make_unique<HttpServer>(options_.http, [this](HttpRequest r, HttpReply reply) {
    api_->Handle(std::move(r), std::move(reply));
  });
  if (absl::Status s = http_->Start(); !s.ok()) {
    http_.reset();
    if (rules_ != nullptr) rules_->Stop();
    if (scrape_ != nullptr) scrape_->Stop();
    if (notifier_ != nullptr) notifier_->Stop();
    executor_->Stop();
    db_->Close().IgnoreError();
    db_.reset();
    return s;
  }
  started_ = true;
  api_->SetReady(true);
  housekeeper_ = std::thread([this] { HousekeepingLoop(); });
  return absl::OkStatus();
}

int EmberServer::port() const { return http_ != nullptr ? http_->port() : 0; }

void EmberServer::HousekeepingLoop() {
  const int64_t interval = options_.self_scrape_interval_ms;
  int64_t next_scrape = absl::ToUnixMillis(absl::Now());
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    const int64_t now = absl::ToUnixMillis(absl::Now());
    const bool scrape = interval > 0 && now >= next_scrape;
    const bool trim = api_->TakeTrimRequest();
    mu_.Unlock();
    if (scrape) {
      next_scrape = now + interval;
      if (absl::Status s = api_->SelfScrape(now); !s.ok()) {
        std::fprintf(stderr, "ember: %s\n", s.ToString().c_str());
      }
    }
    if (trim) malloc_trim(0);
    mu_.Lock();
    // Wakes within a second, or at Stop().
    const int64_t wait =
        interval > 0 ? std::min<int64_t>(1000, std::max<int64_t>(1, next_scrape - now)) : 1000;
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), absl::Milliseconds(wait));
  }
}

absl::Status EmberServer::ApplyConfig(const Config& config) {
  absl::StatusOr<std::vector<std::string>> files = ExpandRuleFiles(config);
  if (!files.ok()) return files.status();
  RuleManagerOptions ro;
  ro.rule_files = *files;
  ro.evaluation_interval_ms = config.global.evaluation_interval_ms;
  ro.external_labels = config.global.external_labels;
  ro.engine = options_.api.engine;
  // Prometheus steps a subquery written without a step (`x[30m:]`) by the
  // global.evaluation_interval, in rules and in the API alike.
  ro.engine.default_subquery_step_ms = config.global.evaluation_interval_ms;
  api_->SetDefaultSubqueryStep(config.global.evaluation_interval_ms);
  // Rules first: they are the part that can still fail (rule file contents).
  EMBER_RETURN_IF_ERROR(rules_->Apply(ro));
  NotifierOptions no;
  no.alertmanagers = config.alertmanagers;
  no.external_labels = config.global.external_labels;
  no.external_url = options_.external_url.empty()
                        ? absl::StrCat("http://", options_.http.listen_address)
                        : options_.external_url;
  notifier_->ApplyOptions(no);
  return scrape_->ApplyConfig(config);
}

absl::Status EmberServer::Reload() {
  if (options_.config_file.empty()) {
    return absl::FailedPreconditionError("no config file to reload");
  }
  absl::StatusOr<Config> config = LoadConfigFile(options_.config_file);
  if (!config.ok()) return config.status();
  absl::MutexLock lock(&reload_mu_);
  return ApplyConfig(*config);
}

absl::Status EmberServer::Stop(int64_t grace_ms) {
  if (!started_) return absl::OkStatus();
  started_ = false;
  api_->SetReady(false);
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (housekeeper_.joinable()) housekeeper_.join();
  // Rules stop writing and the scrapes write their stale markers while the HTTP server still
  // answers (a config may scrape Ember itself); then in-flight requests drain, alerts already
  // queued go out, and the database closes.
  if (rules_ != nullptr) rules_->Stop();
  if (scrape_ != nullptr) scrape_->Stop();
  http_->Stop(grace_ms);
  // Queries still running see their connections closed (cancelled) and end; queued ones are
  // rejected. Their replies go to the stopped HTTP server, which drops them.
  executor_->Stop();
  if (notifier_ != nullptr) notifier_->Stop();
  absl::Status s = db_->Close();
  return s;
}

}  // namespace ember::server
