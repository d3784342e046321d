// Prometheus's HTTP API v1 over an Ember database, and the ingest doors: what `ember serve`
// answers. Routes, parameters, JSON and error shapes follow Prometheus (docs/http-api.md lists
// them with Ember's choices). One route table (api.cc) maps each path to its handler; the
// handlers live by endpoint family: api_query.cc (query, query_range, format_query),
// api_series.cc (series, labels, label values, metadata), api_status.cc (status/*, targets,
// rules, alerts, health, /metrics), api_write.cc (remote write, text import, InfluxDB lines,
// self-scrape: the HTTP side of ingest::Ingester). Thread-safe: the HTTP server calls Handle
// from its I/O threads. Queries and the other endpoints that read the database at length
// (series, labels, label values, TSDB status; Route::on_executor) run on the QueryExecutor,
// never on the I/O threads, so ingest, health checks and /metrics are answered at once
// whatever the query load.
#ifndef EMBER_SERVER_API_API_H_
#define EMBER_SERVER_API_API_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "ember/db.h"
#include "ingest/batch.h"
#include "ingest/ingester.h"
#include "query/engine.h"
#include "query/executor.h"
#include "server/alerting/rule_manager.h"
#include "server/api/params.h"
#include "server/http/http_server.h"
#include "server/metrics/metrics.h"
#include "server/scrape/scrape_manager.h"

namespace ember::server {

struct ApiOptions {
  query::EngineOptions engine;
  // A range query may not return more points per series (Prometheus: 11,000).
  int64_t max_points_per_series = 11000;
  // Shown by /api/v1/status/runtimeinfo and /api/v1/status/flags.
  std::string data_dir;
  int64_t retention_ms = 0;
  std::vector<std::pair<std::string, std::string>> flags;
  // The self-scrape's `instance` label.
  std::string instance = "127.0.0.1:9090";
  // The HTTP server's body limit (HttpServerOptions::max_request_body_bytes), which remote
  // write also applies to the decompressed body: more answers 413.
  size_t max_request_body_bytes = 32 << 20;
};

// What the API answers from parts `ember serve` adds when it has a config file.
struct ApiHooks {
  RuleManager* rules = nullptr;          // /api/v1/rules, /api/v1/alerts
  ScrapeManager* scrape = nullptr;       // /api/v1/targets
  std::function<absl::Status()> reload;  // /-/reload
};

class Api {
 public:
  // `db`, `metrics` and `executor` must outlive the Api. A null `executor`: the Api makes its
  // own with default limits.
  Api(Db* db, ApiOptions options, MetricsRegistry* metrics,
      query::QueryExecutor* executor = nullptr);
  ~Api();
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  // Routes one request, answering through `reply` (at once, or from the query executor);
  // counts it in ember_http_requests_total and the duration histogram.
  void Handle(HttpRequest request, HttpReply reply);

  // Ingests the server's own /metrics text as job="ember" (with `up` and
  // scrape_duration_seconds), time-stamped `now_ms`.
  absl::Status SelfScrape(int64_t now_ms);

  // REQUIRES: called before the HTTP server starts.
  void SetHooks(ApiHooks hooks) { hooks_ = std::move(hooks); }

  // The step of subqueries written without one (`x[30m:]`): the config's
  // global.evaluation_interval (Prometheus's rule), 1m without a config.
  void SetDefaultSubqueryStep(int64_t ms) { default_subquery_step_ms_.store(ms); }

  // Marks the server ready (/-/ready answers 503 before).
  void SetReady(bool ready);

  // Whether a query since the last call was heavy enough (>= 20 ms) that its freed memory
  // should be handed back to the OS; clears the flag.
  bool TakeTrimRequest() { return trim_requested_.exchange(false); }

  // The ingest facade every door writes through.
  ingest::Ingester* ingester() { return &ingester_; }

 private:
  // What one request's handler tells the executor, and may read: the client's cancel flag.
  struct Call {
    const std::atomic<bool>* cancel = nullptr;
    absl::Status outcome;  // The query's own status, for the executor's counters.
  };

  // Which methods a route takes; others answer 405.
  enum class Methods { kAny, kGet, kPost, kGetOrPost, kPostOrPut };
  // One row of the route table: the handler label of the request metrics, whether the handler
  // reads the database at length (then it runs on the query executor), and the handler.
  struct Route {
    std::string handler;
    Methods methods = Methods::kAny;
    bool on_executor = false;
    std::function<HttpResponse(const HttpRequest&, Call*)> handle;
  };

  void AddRoutes();
  // The route of `path`: an exact path of the table, or the label values pattern
  // /api/v1/label/<name>/values (name in `*label`); null for none.
  const Route* FindRoute(const std::string& path, std::string* label) const;
  HttpResponse Dispatch(const HttpRequest& request, std::string* handler, Call* call);
  void Record(const std::string& handler, int status, std::chrono::steady_clock::time_point start);

  // Runs a query with the engine options narrowed by the `timeout` parameter, timing it as
  // `kind` ("instant", "range"), and answers with its result or error.
  HttpResponse Evaluate(
      const Params& params, const char* kind, Call* call,
      const std::function<absl::StatusOr<query::QueryResult>(query::Engine&)>& run);
  // api_query.cc
  HttpResponse Query(const HttpRequest& request, Call* call);
  HttpResponse QueryRange(const HttpRequest& request, Call* call);
  HttpResponse FormatQuery(const HttpRequest& request);
  // api_series.cc
  HttpResponse SeriesEndpoint(const HttpRequest& request);
  HttpResponse LabelNames(const HttpRequest& request);
  // `name_in_path` as the URL has it (Prometheus 3.x escapes UTF-8 names: U__...).
  HttpResponse LabelValues(const HttpRequest& request, const std::string& name_in_path);
  HttpResponse Metadata(const HttpRequest& request);
  // api_status.cc
  HttpResponse BuildInfo();
  HttpResponse RuntimeInfo();
  HttpResponse TsdbStatus(const HttpRequest& request);
  HttpResponse Flags();
  HttpResponse Targets();
  HttpResponse Rules(const HttpRequest& request);
  HttpResponse Alerts();
  HttpResponse Reload();
  HttpResponse MetricsPage();
  // api_write.cc
  HttpResponse RemoteWrite(const HttpRequest& request);
  HttpResponse ImportPrometheus(const HttpRequest& request);
  HttpResponse InfluxWrite(const HttpRequest& request, bool v2);

  Db* db_;
  ApiOptions options_;
  ingest::Ingester ingester_;
  std::unique_ptr<query::QueryExecutor> own_executor_;  // When none was given.
  query::QueryExecutor* executor_;
  ApiHooks hooks_;
  MetricsRegistry* metrics_;
  int64_t start_time_ms_;
  std::atomic<bool> ready_{false};
  std::atomic<int64_t> default_subquery_step_ms_{60'000};
  std::atomic<int64_t> last_self_scrape_ms_{0};
  std::atomic<bool> trim_requested_{false};

  CounterFamily* requests_;
  HistogramFamily* request_duration_;
  HistogramFamily* query_duration_;

  absl::flat_hash_map<std::string, Route> routes_;  // Exact paths.
  Route label_values_;                              // /api/v1/label/<name>/values
};

}  // namespace ember::server

#endif  // EMBER_SERVER_API_API_H_
