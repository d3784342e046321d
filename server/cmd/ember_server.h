// `ember serve` as a library: opens the database, serves the HTTP API and ingest doors, and
// scrapes its own /metrics. The binary (server/cmd/ember_main.cc) maps flags and signals onto it;
// tests start it in-process on port 0.
#ifndef EMBER_SERVER_CMD_EMBER_SERVER_H_
#define EMBER_SERVER_CMD_EMBER_SERVER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "ember/db.h"
#include "ember/options.h"
#include "query/executor.h"
#include "server/alerting/notifier.h"
#include "server/alerting/rule_manager.h"
#include "server/api/api.h"
#include "server/config/config.h"
#include "server/http/http_server.h"
#include "server/metrics/metrics.h"
#include "server/scrape/scrape_manager.h"

namespace ember::server {

struct ServerOptions {
  std::string data_dir = "./data";
  Options db;
  HttpServerOptions http;
  ApiOptions api;
  // Where queries run (API and rules) and how many at once.
  query::ExecutorOptions executor;
  // Period of the self-scrape of /metrics; 0 turns it off.
  int64_t self_scrape_interval_ms = 15 * 1000;
  // A prometheus.yml (server/config/config.h): scrape_configs, rule_files, alerting. "" for none.
  std::string config_file;
  // For alerts' generatorURL; "" means http://<listen address>.
  std::string external_url;
};

class EmberServer {
 public:
  explicit EmberServer(ServerOptions options);
  ~EmberServer();  // Stop().
  EmberServer(const EmberServer&) = delete;
  EmberServer& operator=(const EmberServer&) = delete;

  // Opens the database and starts serving. Errors name the data directory or the address.
  absl::Status Start();
  // The bound HTTP port.
  int port() const;
  // Graceful shutdown: stops accepting, finishes in-flight requests (up to `grace_ms`), stops
  // the self-scrape and closes the database (checkpoint). Every acknowledged sample is durable
  // before Start's caller is told the write succeeded, so nothing acknowledged is lost.
  absl::Status Stop(int64_t grace_ms = 5000);

  Db* db() const { return db_.get(); }

  // Re-reads the config file and applies it (SIGHUP, /-/reload). All or nothing: on any error
  // the running configuration stays.
  absl::Status Reload();

 private:
  // Self-scrapes every self_scrape_interval_ms and, within a second of a heavy query, hands
  // the memory it freed back to the OS (glibc keeps it in per-thread arenas otherwise).
  void HousekeepingLoop();

  ServerOptions options_;
  std::unique_ptr<Db> db_;
  MetricsRegistry metrics_;
  std::unique_ptr<HttpServer> http_;
  // After http_: destroyed first, so no query's reply reaches a destroyed HTTP server.
  std::unique_ptr<query::QueryExecutor> executor_;
  std::unique_ptr<Api> api_;
  absl::Status ApplyConfig(const Config& config) ABSL_EXCLUSIVE_LOCKS_REQUIRED(reload_mu_);
  absl::Mutex reload_mu_;  // Serializes Reload()s.
  std::unique_ptr<Notifier> notifier_;
  std::unique_ptr<ScrapeManager> scrape_;
  std::unique_ptr<RuleManager> rules_;
  std::thread housekeeper_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool started_ = false;
};

}  // namespace ember::server

#endif  // EMBER_SERVER_CMD_EMBER_SERVER_H_
