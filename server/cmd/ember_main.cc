// The `ember` command:
//   ember serve            the Prometheus-compatible HTTP API and ingest doors over --data_dir
//   ember query EXPR       an instant (or, with --start/--end/--step, range) query over a
//                          closed data directory, as a table or JSON
//   ember import FILE...   backfills text exposition / OpenMetrics / line protocol files
//   ember inspect [DIR]    series, samples, bytes per sample, partitions, top metrics
//   ember compact [DIR]    fully compacts a closed data directory (the honest size)
//   ember demo             appends a realistic ML-serving data set and prints figures
//   ember version
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "gflags/gflags.h"

#include "ember/db.h"
#include "ingest/influx.h"
#include "ingest/text_format.h"
#include "ingest/write_path.h"
#include "query/engine.h"
#include "query/rules/rule_file.h"
#include "server/config/config.h"
#include "server/cmd/ember_server.h"
#include "server/http/json.h"
#include "server/api/params.h"
#include "server/api/query_json.h"
#include "server/version.h"
#include "tests/testutil/scrape_data.h"

// Where and how to store.
DEFINE_string(data_dir, "./data", "Data directory (created when missing)");
DEFINE_string(retention, "15d", "Drop data older than this (Prometheus duration; 0 keeps all)");
DEFINE_int64(retention_bytes, 0, "Drop the oldest partitions past this size in bytes (0: none)");
DEFINE_string(sync_policy, "group",
              "When a write is acknowledged: group (fsync shared by concurrent writes, default), "
              "each (fsync per write), none (after the OS has it: survives kill -9, not power "
              "loss)");
DEFINE_string(out_of_order_window, "0s",
              "Accept samples this much older than their series' newest one (0s: none)");
// serve.
DEFINE_string(listen_address, "127.0.0.1:9090", "serve: address to listen on, host:port");
DEFINE_int32(http_threads, 4,
             "serve: I/O threads of the HTTP server (queries run on their own workers)");
DEFINE_int32(web_max_connections, 512,
             "serve: open connections at most; more are answered 503 (--web.max-connections)");
DEFINE_string(web_read_header_timeout, "30s",
              "serve: time to send a request's header once it started; then 408 "
              "(--web.read-header-timeout)");
DEFINE_string(web_read_timeout, "2m",
              "serve: time to send a request's body, or read a response (--web.read-timeout)");
DEFINE_string(web_idle_timeout, "5m",
              "serve: keep-alive connections idle longer are closed (--web.idle-timeout)");
DEFINE_string(query_timeout, "2m", "Longest a query may run (--query.timeout)");
DEFINE_int64(query_max_samples, 50'000'000,
             "Most samples a query may hold in memory at once (--query.max-samples)");
DEFINE_int64(query_max_memory_bytes, 0,
             "Bytes of memory one query may hold (loaded samples, step vectors, subquery "
             "buffers, its answer); past it the query gets 422. 0: a quarter of the machine's "
             "memory (--query.max-memory-bytes)");
DEFINE_int32(query_max_concurrency, 20,
             "Queries evaluated at once, API and rules together (--query.max-concurrency)");
DEFINE_int32(query_max_queued, 1000,
             "Queries that may wait for a worker; more get 503 at once (--query.max-queued)");
DEFINE_int32(query_worker_nice, 10,
             "How much lower than the process's the query workers' scheduling priority is "
             "(Linux nice, 0 to 19): ingest and health checks preempt queries");
DEFINE_string(query_max_queue_wait, "30s",
              "A query that waited this long for a worker gets 503 (--query.max-queue-wait)");
DEFINE_string(query_lookback_delta, "5m", "How far back an instant selector looks");
DEFINE_int64(max_request_body_bytes, 64 << 20, "serve: larger request bodies get 413");
DEFINE_string(auth_bearer_token, "", "serve: require 'Authorization: Bearer <token>'");
DEFINE_string(auth_basic_user, "", "serve: require basic auth with this user...");
DEFINE_string(auth_basic_password, "", "serve: ...and this password");
DEFINE_string(self_scrape_interval, "15s", "serve: period of scraping its own /metrics (0s: off)");
DEFINE_string(config_file, "",
              "serve: a prometheus.yml (scrape_configs, rule_files, alerting); reloaded on "
              "SIGHUP and POST /-/reload");
DEFINE_string(external_url, "", "serve: URL Ember is reached at, for alerts' generatorURL");
// query.
DEFINE_string(time, "", "query: evaluation time, Unix seconds or RFC 3339 (default now)");
DEFINE_string(start, "", "query: start of a range query");
DEFINE_string(end, "", "query: end of a range query (default now)");
DEFINE_string(step, "", "query: step of a range query (e.g. 15s); makes it a range query");
DEFINE_string(format, "", "query: table or json; import: prometheus, openmetrics or influx "
                          "(default: by file extension, .om/.influx/.lp, else prometheus)");
// import.
DEFINE_string(extra_label, "", "import: labels added to every series, name=value[,name=value]");
DEFINE_string(import_timestamp, "", "import: timestamp of samples without one (default now)");
// demo.
DEFINE_int32(targets, 50, "demo: model-server instances to simulate (~120 series each)");
DEFINE_int32(hours, 6, "demo: hours of 15 s scrapes to append, ending now");

namespace {

constexpr const char* kUsage =
    "ember <command> [flags]\n"
    "  serve           serve the Prometheus HTTP API and ingest doors (--listen_address,\n"
    "                  --data_dir); scrapes its own /metrics every 15 s\n"
    "  query EXPR      run a PromQL query over --data_dir (closed): instant at --time, or a\n"
    "                  range with --start/--end/--step; --format=table|json\n"
    "  import FILE...  backfill text exposition, OpenMetrics or line protocol files\n"
    "  inspect [DIR]   series, samples, bytes per sample, partitions, top metrics\n"
    "  compact [DIR]   fully compact a closed data directory\n"
    "  check config FILE | check rules FILE...   validate a prometheus.yml or rule files\n"
    "  demo            append a realistic ML-serving data set and print figures\n"
    "  version         print the version\n"
    "Flags: ember --help\n";

using ember::server::FormatPromValue;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int Fail(const absl::Status& s) {
  std::fprintf(stderr, "ember: %s\n", std::string(s.message()).c_str());
  return 1;
}

absl::StatusOr<int64_t> FlagDuration(const char* name, const std::string& value) {
  absl::StatusOr<int64_t> ms = ember::server::ParseDurationParam(value);
  if (!ms.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--", name, ": ", ms.status().message()));
  }
  return ms;
}

absl::StatusOr<ember::Options> MakeOptions() {
  ember::Options o;
  absl::StatusOr<int64_t> retention = FlagDuration("retention", FLAGS_retention);
  if (!retention.ok()) return retention.status();
  o.retention_ms = *retention;
  o.retention_bytes = FLAGS_retention_bytes;
  absl::StatusOr<int64_t> ooo = FlagDuration("out_of_order_window", FLAGS_out_of_order_window);
  if (!ooo.ok()) return ooo.status();
  o.out_of_order_window_ms = *ooo;
  if (FLAGS_sync_policy == "group") {
    o.sync_policy = ember::SyncPolicy::kGroupCommit;
  } else if (FLAGS_sync_policy == "each") {
    o.sync_policy = ember::SyncPolicy::kSyncEachCommit;
  } else if (FLAGS_sync_policy == "none") {
    o.sync_policy = ember::SyncPolicy::kNoSync;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "--sync_policy: \"", FLAGS_sync_policy, "\" is not one of group, each, none"));
  }
  return o;
}

absl::StatusOr<ember::query::EngineOptions> MakeEngineOptions() {
  ember::query::EngineOptions e;
  absl::StatusOr<int64_t> timeout = FlagDuration("query_timeout", FLAGS_query_timeout);
  if (!timeout.ok()) return timeout.status();
  e.timeout_ms = *timeout;
  absl::StatusOr<int64_t> lookback =
      FlagDuration("query_lookback_delta", FLAGS_query_lookback_delta);
  if (!lookback.ok()) return lookback.status();
  e.lookback_delta_ms = *lookback;
  e.max_samples = FLAGS_query_max_samples;
  if (FLAGS_query_max_samples <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--query_max_samples: must be positive, got ", FLAGS_query_max_samples));
  }
  if (FLAGS_query_max_memory_bytes < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--query_max_memory_bytes: must not be negative, got ", FLAGS_query_max_memory_bytes));
  }
  e.max_memory_bytes = FLAGS_query_max_memory_bytes;
  if (e.max_memory_bytes == 0) {
    // A quarter of the machine's memory: room for several heavy queries and the rest of the
    // process, and an answer (422) long before the kernel's OOM killer gives one.
    const int64_t pages = sysconf(_SC_PHYS_PAGES);
    const int64_t page = sysconf(_SC_PAGESIZE);
    e.max_memory_bytes = pages > 0 && page > 0 ? pages / 4 * page : int64_t{1} << 30;
  }
  return e;
}

// Opens an existing data directory for a one-shot command (no background work).
absl::StatusOr<std::unique_ptr<ember::Db>> OpenExisting(const std::string& dir) {
  absl::StatusOr<ember::Options> o = MakeOptions();
  if (!o.ok()) return o.status();
  o->create_if_missing = false;
  o->background_interval_ms = 0;
  return ember::Db::Open(*o, dir);
}

int Serve() {
  // glibc raises its mmap threshold as large blocks are freed (up to 32 MiB), after which a
  // heavy query's buffers come from per-thread arenas that keep the memory when it is freed:
  // RSS then grows by a budget per worker thread that ever ran a heavy query, not per query
  // running (bench/hostile_queries.sh: 960 MiB over 2 x 256 MiB budgets). A fixed threshold
  // hands blocks of 128 KiB and more straight back to the kernel.
  mallopt(M_MMAP_THRESHOLD, 128 << 10);
  mallopt(M_TRIM_THRESHOLD, 128 << 10);
  ember::server::ServerOptions so;
  so.data_dir = FLAGS_data_dir;
  absl::StatusOr<ember::Options> db = MakeOptions();
  if (!db.ok()) return Fail(db.status());
  so.db = *db;
  absl::StatusOr<ember::query::EngineOptions> eo = MakeEngineOptions();
  if (!eo.ok()) return Fail(eo.status());
  so.api.engine = *eo;
  so.api.data_dir = FLAGS_data_dir;
  so.api.retention_ms = db->retention_ms;
  so.api.instance = FLAGS_listen_address;
  std::vector<gflags::CommandLineFlagInfo> flags;
  gflags::GetAllFlags(&flags);
  for (const auto& f : flags) {
    if (f.filename.find("ember_main") == std::string::npos) continue;
    const bool secret = absl::StrContains(f.name, "password") || absl::StrContains(f.name, "token");
    so.api.flags.emplace_back(f.name, secret && !f.current_value.empty() ? "<secret>"
                                                                         : f.current_value);
  }
  so.http.listen_address = FLAGS_listen_address;
  so.http.threads = FLAGS_http_threads;
  so.http.max_connections = FLAGS_web_max_connections;
  {
    absl::StatusOr<int64_t> header = FlagDuration("web_read_header_timeout",
                                                  FLAGS_web_read_header_timeout);
    if (!header.ok()) return Fail(header.status());
    absl::StatusOr<int64_t> body = FlagDuration("web_read_timeout", FLAGS_web_read_timeout);
    if (!body.ok()) return Fail(body.status());
    absl::StatusOr<int64_t> idle = FlagDuration("web_idle_timeout", FLAGS_web_idle_timeout);
    if (!idle.ok()) return Fail(idle.status());
    so.http.header_timeout_ms = *header;
    so.http.body_timeout_ms = *body;
    so.http.idle_timeout_ms = *idle;
  }
  so.executor.max_concurrency = FLAGS_query_max_concurrency;
  so.executor.max_queued = FLAGS_query_max_queued;
  so.executor.worker_nice = FLAGS_query_worker_nice;
  if (FLAGS_query_max_concurrency < 1 || FLAGS_query_max_queued < 0) {
    return Fail(absl::InvalidArgumentError(
        "--query_max_concurrency must be at least 1 and --query_max_queued not negative"));
  }
  {
    absl::StatusOr<int64_t> wait = FlagDuration("query_max_queue_wait", FLAGS_query_max_queue_wait);
    if (!wait.ok()) return Fail(wait.status());
    so.executor.max_queue_wait_ms = *wait;
  }
  so.http.max_request_body_bytes = static_cast<size_t>(FLAGS_max_request_body_bytes);
  so.http.bearer_token = FLAGS_auth_bearer_token;
  so.http.basic_auth_user = FLAGS_auth_basic_user;
  so.http.basic_auth_password = FLAGS_auth_basic_password;
  if (so.http.basic_auth_user.empty() != so.http.basic_auth_password.empty()) {
    return Fail(absl::InvalidArgumentError(
        "--auth_basic_user and --auth_basic_password must be set together"));
  }
  absl::StatusOr<int64_t> scrape = FlagDuration("self_scrape_interval", FLAGS_self_scrape_interval);
  if (!scrape.ok()) return Fail(scrape.status());
  so.self_scrape_interval_ms = *scrape;
  so.config_file = FLAGS_config_file;
  so.external_url = FLAGS_external_url;

  // Signals are taken synchronously by this thread (sigwait), so block them before any other
  // thread starts: every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  ember::server::EmberServer server(so);
  const auto t0 = std::chrono::steady_clock::now();
  if (absl::Status s = server.Start(); !s.ok()) return Fail(s);
  absl::StatusOr<ember::DbStats> st = server.db()->Stats();
  std::fprintf(stderr,
               "ember: serving %s on http://%s (opened in %.2f s: %lld series, %lld samples)\n"
               "ember: try  curl 'http://%s/api/v1/query?query=up'\n",
               FLAGS_data_dir.c_str(), FLAGS_listen_address.c_str(),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
               st.ok() ? (long long)st->series : -1LL, st.ok() ? (long long)st->samples : -1LL,
               FLAGS_listen_address.c_str());
  int sig = 0;
  while (sigwait(&signals, &sig) == 0 && sig == SIGHUP) {
    absl::Status s = server.Reload();
    std::fprintf(stderr, "ember: SIGHUP: %s\n",
                 s.ok() ? "configuration reloaded" : std::string(s.message()).c_str());
  }
  std::fprintf(stderr, "ember: %s received, shutting down\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
  if (absl::Status s = server.Stop(); !s.ok()) return Fail(s);
  std::fprintf(stderr, "ember: stopped; data is durable in %s\n", FLAGS_data_dir.c_str());
  return 0;
}

void PrintTable(const ember::query::Value& v) {
  using ember::query::ValueType;
  switch (v.type) {
    case ValueType::kScalar:
      std::printf("scalar  %s\n", FormatPromValue(v.scalar).c_str());
      break;
    case ValueType::kString:
      std::printf("string  \"%s\"\n", v.str.c_str());
      break;
    case ValueType::kVector:
      if (v.vector.empty()) std::printf("(no data)\n");
      for (const auto& s : v.vector) {
        std::printf("%-70s %s\n", ember::LabelsToString(s.labels).c_str(),
                    FormatPromValue(s.v).c_str());
      }
      break;
    default:
      if (v.matrix.empty()) std::printf("(no data)\n");
      for (const auto& s : v.matrix) {
        std::printf("%s\n", ember::LabelsToString(s.labels).c_str());
        for (const auto& p : s.points) {
          std::printf("  %s  %s\n", ember::server::FormatPromTimestamp(p.t).c_str(),
                      FormatPromValue(p.v).c_str());
        }
      }
  }
}

int Query(const std::string& dir, const std::string& expr) {
  absl::StatusOr<ember::query::EngineOptions> eo = MakeEngineOptions();
  if (!eo.ok()) return Fail(eo.status());
  absl::StatusOr<std::unique_ptr<ember::Db>> db = OpenExisting(dir);
  if (!db.ok()) return Fail(db.status());
  ember::query::Engine engine(db->get(), *eo);
  absl::StatusOr<ember::query::QueryResult> r;
  if (!FLAGS_step.empty()) {
    absl::StatusOr<int64_t> step = ember::server::ParseDurationParam(FLAGS_step);
    if (!step.ok()) return Fail(step.status());
    absl::StatusOr<int64_t> end =
        FLAGS_end.empty() ? NowMs() : ember::server::ParseTimeParam(FLAGS_end);
    if (!end.ok()) return Fail(end.status());
    absl::StatusOr<int64_t> start = FLAGS_start.empty()
                                        ? absl::StatusOr<int64_t>(*end - 3600 * 1000)
                                        : ember::server::ParseTimeParam(FLAGS_start);
    if (!start.ok()) return Fail(start.status());
    r = engine.RangeQuery(expr, *start, *end, *step);
  } else {
    absl::StatusOr<int64_t> t =
        FLAGS_time.empty() ? NowMs() : ember::server::ParseTimeParam(FLAGS_time);
    if (!t.ok()) return Fail(t.status());
    r = engine.InstantQuery(expr, *t);
  }
  if (!r.ok()) return Fail(r.status());
  if (FLAGS_format == "json") {
    ember::server::JsonWriter w;
    ember::server::WriteQueryData(r->value, &w);
    std::printf("%s\n", w.str().c_str());
  } else if (FLAGS_format.empty() || FLAGS_format == "table") {
    PrintTable(r->value);
  } else {
    return Fail(absl::InvalidArgumentError("--format must be table or json for query"));
  }
  for (const std::string& w : r->annotations.warnings) {
    std::fprintf(stderr, "warning: %s\n", w.c_str());
  }
  return 0;
}

int Import(const std::vector<std::string>& files) {
  absl::StatusOr<ember::Options> o = MakeOptions();
  if (!o.ok()) return Fail(o.status());
  absl::StatusOr<std::unique_ptr<ember::Db>> db = ember::Db::Open(*o, FLAGS_data_dir);
  if (!db.ok()) return Fail(db.status());
  ember::Labels extra;
  if (!FLAGS_extra_label.empty()) {
    for (absl::string_view kv : absl::StrSplit(FLAGS_extra_label, ',')) {
      const size_t eq = kv.find('=');
      if (eq == absl::string_view::npos || eq == 0) {
        return Fail(absl::InvalidArgumentError(
            absl::StrCat("--extra_label: expected name=value, got \"", kv, "\"")));
      }
      extra.push_back(ember::Label{std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1))});
    }
  }
  absl::StatusOr<int64_t> ts = FLAGS_import_timestamp.empty()
                                   ? absl::StatusOr<int64_t>(NowMs())
                                   : ember::server::ParseTimeParam(FLAGS_import_timestamp);
  if (!ts.ok()) return Fail(ts.status());
  int64_t total = 0;
  for (const std::string& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return Fail(absl::NotFoundError(absl::StrCat(file, ": cannot open")));
    std::stringstream buf;
    buf << in.rdbuf();
    const std::string body = buf.str();
    std::string format = FLAGS_format;
    if (format.empty()) {
      format = absl::EndsWith(file, ".om")                                     ? "openmetrics"
               : absl::EndsWith(file, ".influx") || absl::EndsWith(file, ".lp") ? "influx"
                                                                                : "prometheus";
    }
    ember::ingest::DecodedBatch batch;
    absl::Status s;
    if (format == "influx") {
      ember::ingest::InfluxOptions io;
      io.default_timestamp_ms = *ts;
      io.extra_labels = extra;
      s = ember::ingest::ParseInfluxLines(body, io, &batch);
    } else if (format == "prometheus" || format == "openmetrics") {
      ember::ingest::TextFormatOptions to;
      to.openmetrics = format == "openmetrics";
      to.default_timestamp_ms = *ts;
      to.extra_labels = extra;
      s = ember::ingest::ParseTextFormat(body, to, &batch);
    } else {
      return Fail(absl::InvalidArgumentError(
          "--format must be prometheus, openmetrics or influx for import"));
    }
    if (!s.ok()) return Fail(absl::InvalidArgumentError(absl::StrCat(file, ": ", s.message())));
    absl::StatusOr<ember::ingest::WriteOutcome> out = ember::ingest::WriteBatch(db->get(), batch);
    if (!out.ok()) return Fail(absl::InvalidArgumentError(absl::StrCat(file, ": ", out.status().message())));
    for (const std::string& e : out->errors) std::fprintf(stderr, "%s: %s\n", file.c_str(), e.c_str());
    std::printf("%s: %lld samples stored, %lld refused\n", file.c_str(),
                (long long)out->samples_stored, (long long)out->samples_refused);
    total += out->samples_stored;
    if (out->samples_refused > 0) return 1;
  }
  if (absl::Status s = (*db)->Close(); !s.ok()) return Fail(s);
  std::printf("imported %lld samples into %s\n", (long long)total, FLAGS_data_dir.c_str());
  return 0;
}

void PrintStats(const ember::DbStats& st) {
  std::printf("series            %lld (in head: %lld)\n", (long long)st.series,
              (long long)st.head_series);
  std::printf("samples           %lld\n", (long long)st.samples);
  std::printf("bytes on disk     %lld\n", (long long)st.bytes_on_disk);
  std::printf("bytes per sample  %.3f\n", st.bytes_per_sample);
  std::printf("partitions        %lld\n", (long long)st.partitions);
  if (st.samples > 0) {
    auto day = [](int64_t ms) {
      return absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixMillis(ms), absl::UTCTimeZone());
    };
    std::printf("time range        %s .. %s UTC\n", day(st.min_time_ms).c_str(),
                day(st.max_time_ms).c_str());
  }
  std::printf("head memory       %.1f MiB\n", st.head_memory_bytes / 1048576.0);
}

int Inspect(const std::string& dir) {
  absl::StatusOr<std::unique_ptr<ember::Db>> db = OpenExisting(dir);
  if (!db.ok()) return Fail(db.status());
  absl::StatusOr<ember::DbStats> st = (*db)->Stats();
  if (!st.ok()) return Fail(st.status());
  PrintStats(*st);
  absl::StatusOr<std::vector<ember::Series>> all = (*db)->Select(
      {ember::Matcher{ember::Matcher::Op::kRegexMatch, "__name__", ".+"}}, 0, INT64_MAX);
  if (!all.ok()) return Fail(all.status());
  std::map<std::string, int64_t> by_name;
  for (const ember::Series& s : *all) {
    ++by_name[std::string(ember::GetLabelValue(s.labels, ember::kMetricNameLabel))];
  }
  std::vector<std::pair<int64_t, std::string>> top;
  for (const auto& [name, n] : by_name) top.emplace_back(-n, name);
  std::sort(top.begin(), top.end());
  std::printf("\ntop metrics by series (%zu metrics):\n", top.size());
  for (size_t i = 0; i < top.size() && i < 10; ++i) {
    std::printf("  %8lld  %s\n", (long long)-top[i].first, top[i].second.c_str());
  }
  return 0;
}

int Compact(const std::string& dir) {
  absl::StatusOr<std::unique_ptr<ember::Db>> db = OpenExisting(dir);
  if (!db.ok()) return Fail(db.status());
  const auto t0 = std::chrono::steady_clock::now();
  if (absl::Status s = (*db)->CompactAll(); !s.ok()) return Fail(s);
  absl::StatusOr<ember::DbStats> st = (*db)->Stats();
  if (!st.ok()) return Fail(st.status());
  std::printf("compacted %s in %.2f s\n", dir.c_str(),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  PrintStats(*st);
  if (absl::Status s = (*db)->Close(); !s.ok()) return Fail(s);
  return 0;
}

constexpr const char* kDemoQueries[] = {
    "sum by (model) (rate(model_requests_total[5m]))",
    "histogram_quantile(0.99, sum by (le, model) (rate(model_request_latency_seconds_bucket[5m])))",
    "sum by (model) (rate(model_requests_total{code=~\"5..\"}[5m])) / sum by (model) "
    "(rate(model_requests_total[5m]))",
};

int Demo() {
  absl::StatusOr<ember::Options> o = MakeOptions();
  if (!o.ok()) return Fail(o.status());
  auto db = ember::Db::Open(*o, FLAGS_data_dir);
  if (!db.ok()) return Fail(db.status());
  const int64_t now = NowMs();
  auto before = (*db)->Stats();
  if (!before.ok()) return Fail(before.status());
  // Continue after what an earlier run stored, so a second run appends instead of colliding.
  ember::testutil::ScrapeDataOptions data;
  data.targets = FLAGS_targets;
  data.start_ms = std::max<int64_t>(now - int64_t(FLAGS_hours) * 3600 * 1000,
                                    before->max_time_ms + 60'000);
  ember::testutil::ScrapeData gen(data);
  std::printf("ember demo: %d model servers, %zu series, 15 s scrapes from %s ago into %s\n",
              FLAGS_targets, gen.series().size(),
              absl::FormatDuration(absl::Milliseconds(now - data.start_ms)).c_str(),
              FLAGS_data_dir.c_str());
  const auto t0 = std::chrono::steady_clock::now();
  int64_t stored = 0, rejected = 0;
  std::vector<double> values;
  for (bool more = true; more;) {
    more = false;
    auto app = (*db)->NewAppender();
    for (int target = 0; target < gen.num_targets(); ++target) {
      int64_t t;
      gen.NextScrape(target, &t, &values);
      if (t > now) continue;
      more = true;
      const auto [first, last] = gen.target_series(target);
      for (size_t i = first; i < last; ++i) {
        if (!app->Append(gen.series()[i], t, values[i - first]).ok()) ++rejected;
      }
    }
    auto r = app->Commit();
    if (!r.ok()) return Fail(r.status());
    stored += r->samples_stored;
    rejected += static_cast<int64_t>(r->rejected.size());
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("appended %lld samples in %.2f s: %.2f M samples/s durable (group commit); "
              "%lld rejected\n",
              (long long)stored, secs, stored / secs / 1e6, (long long)rejected);
  std::printf("\nthroughput, p99 latency and error ratio per model, by PromQL:\n");
  ember::query::Engine engine(db->get(), ember::query::EngineOptions{});
  for (const char* q : kDemoQueries) {
    auto r = engine.InstantQuery(q, now);
    if (!r.ok()) return Fail(r.status());
    std::printf("\n%s\n", q);
    PrintTable(r->value);
  }
  std::printf("\ncompacting, so the size is the honest one...\n");
  if (absl::Status s = (*db)->CompactAll(); !s.ok()) return Fail(s);
  auto st = (*db)->Stats();
  if (!st.ok()) return Fail(st.status());
  PrintStats(*st);
  if (absl::Status s = (*db)->Close(); !s.ok()) return Fail(s);
  std::printf("\nData kept in %s; `ember serve --data_dir=%s` serves it.\n",
              FLAGS_data_dir.c_str(), FLAGS_data_dir.c_str());
  return 0;
}

}  // namespace

// `ember check config FILE` and `ember check rules FILE...`, as promtool's checks.
int Check(const std::vector<std::string>& args) {
  if (args.size() < 2 || (args[0] != "config" && args[0] != "rules")) {
    std::fprintf(stderr, "usage: ember check config FILE | ember check rules FILE...\n");
    return 2;
  }
  std::vector<std::string> rule_files;
  int rc = 0;
  if (args[0] == "config") {
    std::string report;
    absl::Status s = ember::server::CheckConfigFile(args[1], &report, &rule_files);
    std::printf("%s", report.c_str());
    if (!s.ok()) return 1;
  } else {
    rule_files.assign(args.begin() + 1, args.end());
  }
  for (const std::string& f : rule_files) {
    auto groups = ember::rules::LoadRuleFile(f);
    std::printf("%s", ember::rules::CheckRulesReport(f, groups).c_str());
    if (!groups.ok()) rc = 1;
  }
  return rc;
}

int main(int argc, char** argv) {
  gflags::SetUsageMessage(kUsage);
  gflags::SetVersionString(ember::server::kEmberVersion);
  // Prometheus spells flags `--query.max-concurrency`; gflags names cannot hold '.' or '-', so
  // a flag's name is rewritten (`--query_max_concurrency`) before gflags reads it. Values are
  // left alone.
  std::vector<std::string> rewritten(argv, argv + argc);
  for (size_t i = 1; i < rewritten.size(); ++i) {
    std::string& a = rewritten[i];
    if (a == "--") break;
    if (a.size() < 2 || a[0] != '-') continue;
    const size_t dashes = a.size() > 2 && a[1] == '-' ? 2 : 1;
    const size_t end = std::min(a.find('='), a.size());
    for (size_t j = dashes; j < end; ++j) {
      if (a[j] == '.' || a[j] == '-') a[j] = '_';
    }
  }
  std::vector<char*> rewritten_argv;
  for (std::string& a : rewritten) rewritten_argv.push_back(a.data());
  rewritten_argv.push_back(nullptr);
  argv = rewritten_argv.data();
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  const std::string cmd = argc > 1 ? argv[1] : "";
  std::vector<std::string> args(argv + std::min(argc, 2), argv + argc);
  const std::string dir = args.empty() ? FLAGS_data_dir : args[0];
  if (cmd == "serve") return Serve();
  if (cmd == "check") return Check(args);
  if (cmd == "demo") return Demo();
  if (cmd == "inspect") return Inspect(dir);
  if (cmd == "compact") return Compact(dir);
  if (cmd == "query") {
    if (args.size() != 1) {
      std::fprintf(stderr, "usage: ember query EXPR [--data_dir=DIR] [--time=T | --start=T "
                           "--end=T --step=D] [--format=table|json]\n");
      return 2;
    }
    return Query(FLAGS_data_dir, args[0]);
  }
  if (cmd == "import") {
    if (args.empty()) {
      std::fprintf(stderr, "usage: ember import FILE... [--data_dir=DIR] [--format=F] "
                           "[--extra_label=name=value]\n");
      return 2;
    }
    return Import(args);
  }
  if (cmd == "version") {
    std::printf("%s\n", ember::server::VersionLine());
    return 0;
  }
  std::fprintf(stderr, "%s", kUsage);
  return 2;
}
