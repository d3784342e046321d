#include "server/ember_server.h"

#include <malloc.h>

#include <algorithm>
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
    const int64_t wait = interval > 0 ? std::min<int64_t>(1000, std::max<int64_t>(
                                                                     1, next_scrape - now))
                                      : 1000;
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), absl::Milliseconds(wait));
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
  if (housekeeper_.joinable()) housekeeper_.join();
  http_->Stop(grace_ms);
  absl::Status s = db_->Close();
  return s;
}

}  // namespace ember::server
