// Lifetimes: Impl's members are destroyed in reverse order, so the loops (which hold I/O objects
// of `ioc`) go before `ioc`, and `env` (which every loop reads) after it: handlers still queued
// in `ioc` hold loops alive until `ioc` destroys them.
#include "server/scrape/scrape_manager.h"

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "server/scrape/scrape_loop.h"
#include "server/scrape/scrape_target.h"
#include "server/version.h"

namespace ember::server {

namespace asio = boost::asio;

struct ScrapeManager::Impl {
  Impl(Db* db, MetricsRegistry* metrics, ScrapeManagerOptions o);

  absl::Status ApplyConfig(const Config& config);
  void Stop();
  // Starts the threads on first use. ResourceExhausted when the system refuses one.
  absl::Status StartThreads() ABSL_EXCLUSIVE_LOCKS_REQUIRED(apply_mu);
  void Run();

  const ScrapeManagerOptions options;
  std::unique_ptr<ingest::Ingester> own_ingester;  // When the options gave none.
  ScrapeEnv env;
  CounterFamily* targets_gauge = nullptr;  // {job, state}

  // Serializes ApplyConfig() and Stop(); held while removed loops write their stale markers.
  absl::Mutex apply_mu;
  bool stopped ABSL_GUARDED_BY(apply_mu) = false;
  std::set<std::string> gauge_jobs ABSL_GUARDED_BY(apply_mu);  // Jobs with targets_gauge set.

  asio::io_context ioc;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work
      ABSL_GUARDED_BY(apply_mu);
  std::vector<std::thread> threads ABSL_GUARDED_BY(apply_mu);

  mutable absl::Mutex mu;  // Guards what Targets() and DroppedTargets() read.
  std::map<std::string, std::shared_ptr<ScrapeLoop>> loops ABSL_GUARDED_BY(mu);  // By Key().
  std::vector<DroppedTargetStatus> dropped ABSL_GUARDED_BY(mu);
};

ScrapeManager::Impl::Impl(Db* db, MetricsRegistry* metrics, ScrapeManagerOptions o)
    : options(std::move(o)), ioc(std::max(options.threads, 1)) {
  if (options.ingester == nullptr) own_ingester = std::make_unique<ingest::Ingester>(db);
  env.ingester = options.ingester != nullptr ? options.ingester : own_ingester.get();
  env.max_body_bytes = options.max_body_bytes;
  env.offset_seed = options.offset_seed;
  env.user_agent =
      options.user_agent.empty() ? absl::StrCat("Ember/", kEmberVersion) : options.user_agent;
  if (metrics == nullptr) return;
  env.scrapes = metrics->AddCounter("ember_scrapes_total", "Scrapes of targets, by job.", {"job"});
  env.failures = metrics->AddCounter(
      "ember_scrape_failures_total",
      "Scrapes that failed (target down, timeout, bad body, sample_limit, write rejected).",
      {"job"});
  env.samples_stored = metrics->AddCounter(
      "ember_scrape_samples_stored_total",
      "Samples stored by scrapes, report series and stale markers included.", {"job"});
  env.samples_refused =
      metrics->AddCounter("ember_scrape_samples_refused_total",
                          "Scraped samples the write path refused, by reason.", {"job", "reason"});
  env.write_errors = metrics->AddCounter(
      "ember_scrape_write_errors_total",
      "Scrape batches the write path failed whole (invalid labels, out of bounds, storage).",
      {"job"});
  env.duration =
      metrics->AddHistogram("ember_scrape_duration_seconds",
                            "Duration of scrapes, fetch and write.", {"job"}, DurationBuckets());
  targets_gauge = metrics->AddGauge("ember_scrape_targets",
                                    "Targets of the scrape config, by job and state (active, "
                                    "dropped).",
                                    {"job", "state"});
}

absl::Status ScrapeManager::Impl::StartThreads() {
  if (!threads.empty()) return absl::OkStatus();
  work.emplace(ioc.get_executor());
  const int n = std::max(options.threads, 1);
  try {
    threads.reserve(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) threads.emplace_back([this] { Run(); });
  } catch (const std::system_error& e) {
    work.reset();
    ioc.stop();
    for (std::thread& t : threads) t.join();
    threads.clear();
    ioc.restart();
    return absl::ResourceExhaustedError(
        absl::StrFormat("scrape manager: starting %d threads: %s", n, e.what()));
  }
  return absl::OkStatus();
}

void ScrapeManager::Impl::Run() {
  for (;;) {
    try {
      ioc.run();
      return;
    } catch (const std::exception& e) {
      // A step threw (bad_alloc, most likely): drop it and keep the thread serving.
      std::fprintf(stderr, "ember scrape manager: %s\n", e.what());
    }
  }
}

absl::Status ScrapeManager::Impl::ApplyConfig(const Config& config) {
  absl::MutexLock apply_lock(&apply_mu);
  if (stopped) return absl::FailedPreconditionError("scrape manager: ApplyConfig() after Stop()");

  // Everything is built and checked before anything changes.
  struct Wanted {
    ScrapeTarget target;
    std::shared_ptr<const ScrapeJobSettings> settings;
  };
  std::map<std::string, Wanted> wanted;
  std::vector<DroppedTarget> dropped_targets;
  std::map<std::string, std::pair<int, int>> counts;  // job -> (active, dropped)
  for (size_t i = 0; i < config.scrape_configs.size(); ++i) {
    ScrapeConfig job = config.scrape_configs[i];
    if (job.job_name.empty()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("scrape_configs[%d]: job_name is empty", i));
    }
    if (counts.count(job.job_name) > 0) {
      return absl::InvalidArgumentError(
          absl::StrFormat("found multiple scrape configs with job name \"%s\"", job.job_name));
    }
    if (job.scheme != "http") {
      return absl::InvalidArgumentError(absl::StrFormat(
          "scrape config with job name \"%s\": scheme \"%s\" is not supported by Ember (http "
          "only)",
          job.job_name, job.scheme));
    }
    if (job.scrape_interval_ms <= 0) job.scrape_interval_ms = config.global.scrape_interval_ms;
    if (job.scrape_timeout_ms <= 0) {
      job.scrape_timeout_ms = std::min(config.global.scrape_timeout_ms, job.scrape_interval_ms);
    }
    if (job.scrape_interval_ms <= 0 || job.scrape_timeout_ms <= 0) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "scrape config with job name \"%s\": scrape_interval %dms and scrape_timeout %dms must "
          "be positive",
          job.job_name, job.scrape_interval_ms, job.scrape_timeout_ms));
    }
    if (job.scrape_timeout_ms > job.scrape_interval_ms) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "scrape timeout greater than scrape interval for scrape config with job name \"%s\"",
          job.job_name));
    }
    auto settings = std::make_shared<ScrapeJobSettings>();
    settings->honor_labels = job.honor_labels;
    settings->honor_timestamps = job.honor_timestamps;
    settings->sample_limit = job.sample_limit;
    settings->metric_relabeler = job.metric_relabeler;
    std::vector<ScrapeTarget> active;
    const size_t dropped_before = dropped_targets.size();
    BuildScrapeTargets(job, &active, &dropped_targets);
    counts[job.job_name] = {static_cast<int>(active.size()),
                            static_cast<int>(dropped_targets.size() - dropped_before)};
    for (ScrapeTarget& t : active) {
      std::string key = t.Key();
      // A target listed twice is scraped once, as Prometheus dedups by hash.
      wanted.try_emplace(std::move(key), Wanted{std::move(t), settings});
    }
  }
  if (!wanted.empty()) {
    if (absl::Status s = StartThreads(); !s.ok()) return s;
  }

  std::vector<std::shared_ptr<ScrapeLoop>> removed;
  std::vector<std::shared_ptr<ScrapeLoop>> added;
  {
    absl::MutexLock lock(&mu);
    for (auto it = loops.begin(); it != loops.end();) {
      if (wanted.count(it->first) == 0) {
        removed.push_back(std::move(it->second));
        it = loops.erase(it);
      } else {
        ++it;
      }
    }
    for (auto& [key, w] : wanted) {
      auto it = loops.find(key);
      if (it != loops.end()) {
        it->second->Update(std::move(w.target), std::move(w.settings));
        continue;
      }
      auto loop =
          std::make_shared<ScrapeLoop>(ioc, env, std::move(w.target), std::move(w.settings));
      loops.emplace(key, loop);
      added.push_back(std::move(loop));
    }
    dropped.clear();
    for (DroppedTarget& d : dropped_targets) {
      dropped.push_back(DroppedTargetStatus{std::move(d.job), std::move(d.discovered_labels),
                                            std::move(d.reason)});
    }
  }
  // Stopped together, so their stale markers are written in parallel.
  for (const auto& loop : removed) loop->Stop();
  for (const auto& loop : removed) loop->WaitStopped();
  for (const auto& loop : added) loop->Start();

  if (targets_gauge != nullptr) {
    for (const std::string& job : gauge_jobs) {
      if (counts.count(job) > 0) continue;
      targets_gauge->With({job, "active"})->Set(0);
      targets_gauge->With({job, "dropped"})->Set(0);
    }
    for (const auto& [job, n] : counts) {
      targets_gauge->With({job, "active"})->Set(n.first);
      targets_gauge->With({job, "dropped"})->Set(n.second);
      gauge_jobs.insert(job);
    }
  }
  return absl::OkStatus();
}

void ScrapeManager::Impl::Stop() {
  absl::MutexLock apply_lock(&apply_mu);
  if (stopped) return;
  stopped = true;
  std::vector<std::shared_ptr<ScrapeLoop>> all;
  {
    absl::MutexLock lock(&mu);
    for (auto& [key, loop] : loops) all.push_back(std::move(loop));
    loops.clear();
    dropped.clear();
  }
  for (const auto& loop : all) loop->Stop();
  for (const auto& loop : all) loop->WaitStopped();
  if (threads.empty()) return;
  work.reset();
  // Only cancelled waits remain queued; their handlers are dropped with the io_context.
  ioc.stop();
  for (std::thread& t : threads) t.join();
  threads.clear();
}

ScrapeManager::ScrapeManager(Db* db, MetricsRegistry* metrics, ScrapeManagerOptions options)
    : impl_(std::make_unique<Impl>(db, metrics, std::move(options))) {}

ScrapeManager::~ScrapeManager() { Stop(); }

absl::Status ScrapeManager::ApplyConfig(const Config& config) { return impl_->ApplyConfig(config); }

void ScrapeManager::Stop() { impl_->Stop(); }

std::vector<TargetStatus> ScrapeManager::Targets() const {
  std::vector<TargetStatus> out;
  {
    absl::MutexLock lock(&impl_->mu);
    out.reserve(impl_->loops.size());
    for (const auto& [key, loop] : impl_->loops) out.push_back(loop->Status());
  }
  std::sort(out.begin(), out.end(), [](const TargetStatus& a, const TargetStatus& b) {
    if (a.scrape_pool != b.scrape_pool) return a.scrape_pool < b.scrape_pool;
    if (a.labels != b.labels) return a.labels < b.labels;
    return a.scrape_url < b.scrape_url;
  });
  return out;
}

std::vector<DroppedTargetStatus> ScrapeManager::DroppedTargets() const {
  absl::MutexLock lock(&impl_->mu);
  return impl_->dropped;
}

}  // namespace ember::server
