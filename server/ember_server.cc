#include "server/ember_server.h"

#include <chrono>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace ember::server {

EmberServer::EmberServer(ServerOptions options) : options_(std::move(options)) {}

EmberServer::~EmberServer() { Stop().IgnoreError(); }

absl::Status EmberServer::Start() {
  absl::StatusOr<std::unique_ptr<Db>> db = Db::Open(options_.db, options_.data_dir);
  if (!db.ok()) return db.status();
  db_ = std::move(*db);
  api_ = std::make_unique<Api>(db_.get(), options_.api, &metrics_);
  http_ = std::make_unique<HttpServer>(
      options_.http, [this](const HttpRequest& r) { return api_->Handle(r); });
  if (absl::Status s = http_->Start(); !s.ok()) {
    http_.reset();
    db_->Close().IgnoreError();
    db_.reset();
    return s;
  }
  started_ = true;
  api_->SetReady(true);
  if (options_.self_scrape_interval_ms > 0) scraper_ = std::thread([this] { SelfScrapeLoop(); });
  return absl::OkStatus();
}

int EmberServer::port() const { return http_ != nullptr ? http_->port() : 0; }

void EmberServer::SelfScrapeLoop() {
  const absl::Duration interval = absl::Milliseconds(options_.self_scrape_interval_ms);
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    const int64_t now = absl::ToUnixMillis(absl::Now());
    mu_.Unlock();
    absl::Status s = api_->SelfScrape(now);
    mu_.Lock();
    if (!s.ok()) std::fprintf(stderr, "ember: %s\n", s.ToString().c_str());
    // Wakes at the next interval or at Stop().
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), interval);
  }
}

absl::Status EmberServer::Stop(int64_t grace_ms) {
  if (!started_) return absl::OkStatus();
  started_ = false;
  api_->SetReady(false);
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (scraper_.joinable()) scraper_.join();
  http_->Stop(grace_ms);
  absl::Status s = db_->Close();
  return s;
}

}  // namespace ember::server
