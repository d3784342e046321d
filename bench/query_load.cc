// query_load: dashboard load on a Prometheus-compatible query API on 127.0.0.1 (Ember or
// Prometheus). --clients threads each loop over the query list (client c starts at query c, so
// the clients do not move in step), one request at a time over a keep-alive connection, until
// --seconds have passed or each has sent --max_queries. Range queries (/api/v1/query_range)
// from --start to --end at --step, as a Grafana panel asks for them; --instant=true sends
// /api/v1/query at --end instead. With --range_s instead of --start/--end, each request asks
// for the --range_s seconds up to its own send time (a dashboard on auto-refresh); --pause_ms
// spaces one client's requests (a refresh interval).
//
// The default list is the ML-serving data set's (examples/model-serving/scrape_data.h) heavy
// panels;
// --queries_file replaces it (one query per line; blank lines and lines starting with # are
// skipped). bench/ingest_under_load.sh runs it beside remote_write_load --mode=steady.
//
// Output: one JSON line on stdout (counts, queries/s, latency percentiles over all queries),
// and per query its count and median latency on stderr.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/latency_stats.h"
#include "gflags/gflags.h"
#include "tests/testutil/http_client.h"

DEFINE_int32(port, 0, "Port of the query API on 127.0.0.1 (required)");
DEFINE_int32(clients, 6, "Concurrent clients, one connection each");
DEFINE_int32(seconds, 30, "Length of the run");
DEFINE_int32(max_queries, 100'000, "Most queries one client sends");
DEFINE_string(start, "", "Start of the range, Unix seconds (or --range_s)");
DEFINE_string(end, "", "End of the range (or instant query time), Unix seconds (or --range_s)");
DEFINE_int32(range_s, 0, "Instead of --start/--end: the range_s seconds up to each send time");
DEFINE_int32(pause_ms, 0, "Pause of a client between two of its queries");
DEFINE_string(step, "15", "Step of the range queries, seconds");
DEFINE_bool(instant, false, "Send instant queries at --end instead of range queries");
DEFINE_string(queries_file, "", "One query per line instead of the built-in dashboard list");
DEFINE_int64(timeout_ms, 60'000, "Longest wait for one answer");
DEFINE_string(name, "", "Server name printed in the output");

namespace {

using Clock = std::chrono::steady_clock;
using ember::bench::Percentile;

// Panels of a model-serving dashboard: latency quantiles from the histogram, request and error
// rates with labels aggregated away. Each reads thousands of series over the whole range.
const char* const kDashboardQueries[] = {
    "histogram_quantile(0.99, sum by (le) (rate(model_request_latency_seconds_bucket[5m])))",
    "sum without (instance, code) (rate(model_requests_total[5m]))",
    "histogram_quantile(0.9, sum by (le, model) (rate(model_request_latency_seconds_bucket[5m])))",
    "sum by (model) (rate(model_requests_total{code=~\"5..\"}[5m])) / "
    "sum by (model) (rate(model_requests_total[5m]))",
    "sum without (instance) (rate(model_request_latency_seconds_count[5m]))",
    "topk(5, sum by (instance) (rate(model_requests_total[5m])))",
    "avg without (gpu) (gpu_utilization_ratio)",
};

struct ClientResult {
  int64_t queries = 0;
  int64_t non_2xx = 0;
  int64_t errors = 0;  // Transport errors, timeouts included.
  std::vector<double> latencies_ms;
  std::vector<std::vector<double>> per_query_ms;  // Indexed like the query list.
  std::map<int, int64_t> by_status;               // HTTP status -> answers; 0 for transport errors.
  std::string first_failure;
};

std::vector<std::string> LoadQueries() {
  std::vector<std::string> queries;
  if (FLAGS_queries_file.empty()) {
    for (const char* q : kDashboardQueries) queries.emplace_back(q);
    return queries;
  }
  std::ifstream in(FLAGS_queries_file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    queries.push_back(line);
  }
  return queries;
}

// Unix seconds with milliseconds, as the query API takes them.
std::string UnixSeconds(int64_t ms) { return absl::StrFormat("%d.%03d", ms / 1000, ms % 1000); }

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The request for `encoded_query` (URL-encoded) sent now.
std::string Target(const std::string& encoded_query) {
  std::string start = FLAGS_start, end = FLAGS_end;
  if (FLAGS_range_s > 0) {
    const int64_t now_ms = NowMs();
    start = UnixSeconds(now_ms - int64_t{FLAGS_range_s} * 1000);
    end = UnixSeconds(now_ms);
  }
  return FLAGS_instant ? absl::StrCat("/api/v1/query?query=", encoded_query, "&time=", end)
                       : absl::StrCat("/api/v1/query_range?query=", encoded_query, "&start=", start,
                                      "&end=", end, "&step=", FLAGS_step);
}

void RunClient(int c, const std::vector<std::string>& encoded, Clock::time_point deadline,
               ClientResult* out) {
  ember::testutil::HttpClient client(FLAGS_port, FLAGS_timeout_ms);
  out->per_query_ms.resize(encoded.size());
  for (int64_t i = 0; i < FLAGS_max_queries && Clock::now() < deadline; ++i) {
    if (i > 0 && FLAGS_pause_ms > 0) {
      std::this_thread::sleep_until(
          std::min(deadline, Clock::now() + std::chrono::milliseconds(FLAGS_pause_ms)));
      if (Clock::now() >= deadline) break;
    }
    const size_t q = (static_cast<size_t>(c) + static_cast<size_t>(i)) % encoded.size();
    const std::string target = Target(encoded[q]);
    const Clock::time_point t0 = Clock::now();
    absl::StatusOr<ember::testutil::HttpResult> r = client.Get(target);
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    ++out->queries;
    out->latencies_ms.push_back(ms);
    out->per_query_ms[q].push_back(ms);
    ++out->by_status[r.ok() ? r->status : 0];
    if (!r.ok()) {
      ++out->errors;
      if (out->first_failure.empty()) out->first_failure = r.status().ToString();
    } else if (r->status != 200) {
      ++out->non_2xx;
      if (out->first_failure.empty()) {
        out->first_failure = absl::StrCat("HTTP ", r->status, ": ", r->body.substr(0, 300));
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  gflags::SetUsageMessage("query_load --port=P --start=S --end=E [--clients=6 --seconds=30 ...]");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  if (FLAGS_port <= 0 || FLAGS_clients <= 0 || FLAGS_clients > 256 || FLAGS_seconds <= 0 ||
      FLAGS_max_queries <= 0 || FLAGS_timeout_ms <= 0 || FLAGS_pause_ms < 0 || FLAGS_range_s < 0 ||
      (FLAGS_range_s == 0 && (FLAGS_end.empty() || (!FLAGS_instant && FLAGS_start.empty())))) {
    std::fprintf(stderr,
                 "query_load: need --port, --end (and --start unless --instant) or --range_s, "
                 "0 < --clients <= 256, positive --seconds, --max_queries, --timeout_ms\n");
    return 2;
  }
  const std::vector<std::string> queries = LoadQueries();
  if (queries.empty()) {
    std::fprintf(stderr, "query_load: no queries in %s\n", FLAGS_queries_file.c_str());
    return 2;
  }
  std::vector<std::string> encoded;
  for (const std::string& q : queries) encoded.push_back(ember::testutil::UrlEncode(q));

  std::vector<ClientResult> results(FLAGS_clients);
  const Clock::time_point t0 = Clock::now();
  const Clock::time_point deadline = t0 + std::chrono::seconds(FLAGS_seconds);
  std::vector<std::thread> threads;
  for (int c = 0; c < FLAGS_clients; ++c) {
    threads.emplace_back([&, c] { RunClient(c, encoded, deadline, &results[c]); });
  }
  for (std::thread& t : threads) t.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();

  ClientResult total;
  std::vector<std::vector<double>> per_query(queries.size());
  for (ClientResult& r : results) {
    total.queries += r.queries;
    total.non_2xx += r.non_2xx;
    total.errors += r.errors;
    total.latencies_ms.insert(total.latencies_ms.end(), r.latencies_ms.begin(),
                              r.latencies_ms.end());
    for (size_t q = 0; q < queries.size(); ++q) {
      per_query[q].insert(per_query[q].end(), r.per_query_ms[q].begin(), r.per_query_ms[q].end());
    }
    for (const auto& [status, n] : r.by_status) total.by_status[status] += n;
    if (total.first_failure.empty()) total.first_failure = r.first_failure;
  }
  std::string codes;
  for (const auto& [status, n] : total.by_status) {
    absl::StrAppend(&codes, codes.empty() ? "" : ",", "\"", status, "\":", n);
  }
  const int64_t ok = total.queries - total.non_2xx - total.errors;
  const double qps = seconds > 0 ? static_cast<double>(ok) / seconds : 0;
  std::printf(
      "{\"name\":\"%s\",\"clients\":%d,\"seconds\":%.3f,\"queries\":%lld,\"ok\":%lld,"
      "\"non_2xx\":%lld,\"errors\":%lld,\"ok_per_s\":%.3f,\"p50_ms\":%.2f,\"p99_ms\":%.2f,"
      "\"by_status\":{%s}}\n",
      FLAGS_name.c_str(), FLAGS_clients, seconds, (long long)total.queries, (long long)ok,
      (long long)total.non_2xx, (long long)total.errors, qps, Percentile(total.latencies_ms, 0.5),
      Percentile(total.latencies_ms, 0.99), codes.c_str());
  std::fprintf(stderr,
               "%s: %d clients, %.1f s: %lld queries, %lld ok (%.2f/s), %lld non-2xx, %lld "
               "errors; p50 %.1f ms, p99 %.1f ms\n",
               FLAGS_name.empty() ? "server" : FLAGS_name.c_str(), FLAGS_clients, seconds,
               (long long)total.queries, (long long)ok, qps, (long long)total.non_2xx,
               (long long)total.errors, Percentile(total.latencies_ms, 0.5),
               Percentile(total.latencies_ms, 0.99));
  for (size_t q = 0; q < queries.size(); ++q) {
    std::fprintf(stderr, "  %4zu runs, median %8.1f ms: %s\n", per_query[q].size(),
                 Percentile(per_query[q], 0.5), queries[q].c_str());
  }
  if (!total.first_failure.empty()) {
    std::fprintf(stderr, "first failure: %s\n", total.first_failure.c_str());
  }
  return total.errors + total.non_2xx > 0 ? 1 : 0;
}
