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
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "ember/db.h"
#include "examples/model-serving/scrape_data.h"
#include "gflags/gflags.h"
#include "ingest/influx.h"
#include "ingest/text_format.h"
#include "ingest/write_path.h"
#include "query/engine.h"
#include "rules/rule_file.h"
#include "server/api/params.h"
#include "server/api/query_json.h"
#include "server/cmd/ember_cli.h"
#include "server/cmd/ember_server.h"
#include "server/config/config.h"
#include "server/http/json.h"
#include "server/version.h"

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
DEFINE_int64(storage_block_cache_bytes, 32 << 20,
             "RocksDB block cache for chunks and index (--storage.block-cache-bytes)");
DEFINE_int64(storage_memtable_bytes, 0,
             "Caps each RocksDB memtable; 0: 16 MiB for chunks and the head log, 8 MiB for the "
             "index (--storage.memtable-bytes)");
DEFINE_bool(storage_low_memory, false,
            "The edge profile (docs/edge.md): defaults of 4 MiB block cache, 4 MiB memtables, "
            "4 query workers, 2 HTTP threads and 2 malloc arenas; flags given explicitly win "
            "(--storage.low-memory)");
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
DEFINE_string(format, "",
              "query: table or json; import: prometheus, openmetrics or influx "
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

}  // namespace

namespace ember_cli {

// --storage.low-memory: lower defaults for a small device; a flag given explicitly keeps its
// value. The figures behind them are in docs/performance.md ("Issue 11: footprint").
void ApplyLowMemoryProfile() {
  if (!FLAGS_storage_low_memory) return;
  for (const auto& [name, value] :
       {std::pair<const char*, const char*>{"storage_block_cache_bytes", "4194304"},
        {"storage_memtable_bytes", "4194304"},
        {"query_max_concurrency", "4"},
        {"http_threads", "2"}}) {
    gflags::SetCommandLineOptionWithMode(name, value, gflags::SET_FLAG_IF_DEFAULT);
  }
}

// Unmaps the pages of code (the executable's and the shared libraries' r-x file mappings) that
// starting touched. The kernel maps 64 KiB of a file around each page a fault needs, so the
// static initializers of RocksDB's ~300 objects and the open path leave most of the text
// resident: 10 of the static binary's 12 MB, 8.7 MB of librocksdb.so. The pages stay in the
// page cache (MADV_DONTNEED on a private file mapping only drops this process's mappings;
// text is never written, so nothing is lost) and what the server runs maps back in on its
// next minor fault: idle RSS falls from ~15 to ~10 MB (docs/edge.md).
void DropStartupCodePages() {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    unsigned long begin = 0, end = 0;
    char perms[5] = {};
    if (std::sscanf(line.c_str(), "%lx-%lx %4s", &begin, &end, perms) != 3) continue;
    // A file mapping ("/path" after the inode), read and execute, not writable.
    if (std::string_view(perms) != "r-xp" || line.find(" /") == std::string::npos) continue;
    madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
  }
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
  if (FLAGS_storage_block_cache_bytes <= 0 || FLAGS_storage_memtable_bytes < 0) {
    return absl::InvalidArgumentError(
        "--storage.block-cache-bytes must be positive and --storage.memtable-bytes not negative");
  }
  o.block_cache_bytes = FLAGS_storage_block_cache_bytes;
  o.memtable_bytes = FLAGS_storage_memtable_bytes;
  if (FLAGS_sync_policy == "group") {
    o.sync_policy = ember::SyncPolicy::kGroupCommit;
  } else if (FLAGS_sync_policy == "each") {
    o.sync_policy = ember::SyncPolicy::kSyncEachCommit;
  } else if (FLAGS_sync_policy == "none") {
    o.sync_policy = ember::SyncPolicy::kNoSync;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--sync_policy: \"", FLAGS_sync_policy, "\" is not one of group, each, none"));
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
  // glibc gives each thread that allocates under contention an arena of its own (up to 8 per
  // core), each keeping its free memory; the low-memory profile shares two.
  if (FLAGS_storage_low_memory) mallopt(M_ARENA_MAX, 2);
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
    so.api.flags.emplace_back(f.name,
                              secret && !f.current_value.empty() ? "<secret>" : f.current_value);
  }
  so.http.listen_address = FLAGS_listen_address;
  so.http.threads = FLAGS_http_threads;
  so.http.max_connections = FLAGS_web_max_connections;
  {
    absl::StatusOr<int64_t> header =
        FlagDuration("web_read_header_timeout", FLAGS_web_read_header_timeout);
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
  DropStartupCodePages();
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

}  // namespace ember_cli

using ember_cli::Check;
using ember_cli::Compact;
using ember_cli::Demo;
using ember_cli::Import;
using ember_cli::Inspect;
using ember_cli::Query;
using ember_cli::Serve;

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
  ember_cli::ApplyLowMemoryProfile();
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
      std::fprintf(stderr,
                   "usage: ember query EXPR [--data_dir=DIR] [--time=T | --start=T "
                   "--end=T --step=D] [--format=table|json]\n");
      return 2;
    }
    return Query(FLAGS_data_dir, args[0]);
  }
  if (cmd == "import") {
    if (args.empty()) {
      std::fprintf(stderr,
                   "usage: ember import FILE... [--data_dir=DIR] [--format=F] "
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
