// Ember beside a real Prometheus (2.42, from Debian): Prometheus scrapes a target served by this
// test every second and forwards every sample to `ember serve` by remote write, so both hold
// the same samples; then the same PromQL queries, series and label lookups go to both HTTP APIs
// and the answers must agree (labels exactly, values within a relative 1e-9, NaN == NaN).
//
// Where the two may legitimately differ, and how the test avoids it:
//   - Ember implements Prometheus 3.x semantics. 3.0 made range selectors (and the lookback of
//     instant selectors, and subquery ranges) left-open, (t - range, t], where 2.42 selects the
//     closed [t - range, t]. The answers differ only when a sample sits exactly on a left edge.
//     Prometheus aligns scrape timestamps to its 1 s ticker, so every sample of the target is
//     at p + k*1000 ms for one phase p. The evaluation time T is put half a second off that
//     phase, and every window, offset, @ time and range step below is a whole number of
//     seconds, so no edge T - n*1000 ever falls on a sample; the chosen T is checked against
//     the timestamps Prometheus actually stored (a late scrape off the phase moves T).
//     Subqueries step on absolute multiples of their step, so they run only when the phase is
//     not 0 (and T is not on a whole second).
//   - Functions renamed or changed after 2.42 (holt_winters, native histograms, the info
//     annotations 3.x adds) are not queried; warnings and infos are not compared.
//   - Ember receives samples a second or two after Prometheus scraped them (the remote write
//     queue's batch_send_deadline is 1 s): T is chosen a few seconds in the past and Ember is
//     waited for until it holds samples past T.
// At the end the target stops: Prometheus writes stale markers for its series and forwards
// them, and a query after the markers must return nothing from either.
//
// Skips (naming the Debian package) when prometheus is absent.
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "server/http/http_server.h"
#include "tests/testutil/child_process.h"
#include "tests/testutil/ember_process.h"
#include "tests/testutil/http_client.h"
#include "tests/testutil/json_value.h"
#include "tests/testutil/temp_dir.h"

namespace ember {
namespace {

using testutil::EmberProcess;
using testutil::HttpClient;
using testutil::HttpResult;
using testutil::JsonValue;
using testutil::TempDir;

constexpr char kEmberPath[] = EMBER_BINARY_DIR "/ember";
constexpr char kPrometheusPath[] = "/usr/bin/prometheus";
constexpr int kMinScrapes = 15;
// How far before T the queries below reach: a 10 s range query whose steps use 10 s windows,
// offsets of 3 s, a [10s:2s] subquery over 5 s windows; with a margin.
constexpr int64_t kHistoryMs = 30'000;

int64_t WallNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Seconds(int64_t t_ms) {
  return absl::StrFormat("%s%d.%03d", t_ms < 0 ? "-" : "", std::abs(t_ms) / 1000,
                         std::abs(t_ms) % 1000);
}

// The scrape target: Prometheus text exposition whose counters, histogram and gauges advance
// deterministically on each scrape (scrape n = 1, 2, ...). Thread-safe.
class PeerTarget {
 public:
  std::string Scrape() {
    absl::MutexLock lock(&mu_);
    ++n_;
    const int64_t n = n_;
    // Counters: irregular integer increments; the 500s only now and then.
    requests_[0] += 50 + (n * 37) % 23;
    requests_[1] += (n * 7) % 3 == 0 ? 2 : 0;
    requests_[2] += 5 + n % 7;
    requests_[3] += n % 5 == 0 ? 1 : 0;
    // A histogram per path: a few observations per scrape spread over the buckets, and a sum
    // that is never round.
    for (int p = 0; p < 2; ++p) {
      for (int b = 0; b < kBuckets; ++b) {
        const int64_t add = (n * (b + 3) * (p + 5)) % (7 - b % 3);
        bucket_counts_[p][b] += add;
        latency_sum_[p] += static_cast<double>(add) * kBucketMid[b] * (1 + 0.013 * (n % 11));
      }
    }
    std::string out;
    absl::StrAppend(&out, "# HELP peer_requests_total Requests served.\n",
                    "# TYPE peer_requests_total counter\n");
    const char* paths[2] = {"/api", "/login"};
    const char* codes[2] = {"200", "500"};
    for (int i = 0; i < 4; ++i) {
      absl::StrAppend(&out, "peer_requests_total{path=\"", paths[i / 2], "\",code=\"", codes[i % 2],
                      "\"} ", requests_[i], "\n");
    }
    // A counter that resets every 6 scrapes.
    absl::StrAppend(&out, "# TYPE peer_resets_total counter\n",
                    absl::StrFormat("peer_resets_total %.1f\n", 3.5 * static_cast<double>(n % 6)));
    absl::StrAppend(&out, "# HELP peer_latency_seconds Request latency.\n",
                    "# TYPE peer_latency_seconds histogram\n");
    for (int p = 0; p < 2; ++p) {
      int64_t cumulative = 0;
      for (int b = 0; b < kBuckets; ++b) {
        cumulative += bucket_counts_[p][b];
        absl::StrAppend(&out, "peer_latency_seconds_bucket{path=\"", paths[p], "\",le=\"",
                        kBucketLe[b], "\"} ", cumulative, "\n");
      }
      absl::StrAppend(&out, "peer_latency_seconds_sum{path=\"", paths[p], "\"} ",
                      absl::StrFormat("%.9f", latency_sum_[p]), "\n");
      absl::StrAppend(&out, "peer_latency_seconds_count{path=\"", paths[p], "\"} ", cumulative,
                      "\n");
    }
    absl::StrAppend(&out, "# TYPE peer_temperature_celsius gauge\n",
                    absl::StrFormat("peer_temperature_celsius{room=\"a\"} %.2f\n",
                                    20.01 + 0.25 * static_cast<double>((n * 13) % 17)),
                    absl::StrFormat("peer_temperature_celsius{room=\"b\"} %.2f\n",
                                    18.5 - 0.1 * static_cast<double>((n * 5) % 9)));
    absl::StrAppend(&out, "# TYPE peer_queue_length gauge\n", "peer_queue_length ", (n * 3) % 7,
                    "\n");
    absl::StrAppend(&out, "# TYPE peer_build_info gauge\n",
                    "peer_build_info{version=\"1.2.3\",revision=\"abc\"} 1\n");
    return out;
  }

 private:
  static constexpr int kBuckets = 6;
  static constexpr const char* kBucketLe[kBuckets] = {"0.01", "0.05", "0.1", "0.5", "1", "+Inf"};
  static constexpr double kBucketMid[kBuckets] = {0.004, 0.031, 0.077, 0.29, 0.73, 1.9};

  absl::Mutex mu_;
  int64_t n_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t requests_[4] ABSL_GUARDED_BY(mu_) = {1000, 3, 200, 0};
  int64_t bucket_counts_[2][kBuckets] ABSL_GUARDED_BY(mu_) = {};
  double latency_sum_[2] ABSL_GUARDED_BY(mu_) = {};
};

struct Point {
  int64_t t = 0;
  double v = 0;
  std::string text;  // A string result's value.
};

// One API answer in comparable form: result type, and each series' points by its labels.
struct Result {
  std::string type;
  std::map<std::string, std::vector<Point>> series;
};

std::string LabelsKey(const JsonValue& metric) {
  std::vector<std::string> parts;
  for (const auto& [k, v] : metric.members) parts.push_back(absl::StrCat(k, "=\"", v.text, "\""));
  std::sort(parts.begin(), parts.end());
  return absl::StrCat("{", absl::StrJoin(parts, ", "), "}");
}

Point ParsePoint(const JsonValue& pair) {
  Point p;
  if (pair.items.size() != 2) return p;
  p.t = testutil::PromTimestampMs(pair.items[0]);
  p.text = pair.items[1].text;
  p.v = std::strtod(p.text.c_str(), nullptr);  // Takes "NaN", "+Inf", "-Inf".
  return p;
}

absl::StatusOr<Result> ToResult(const JsonValue& data) {
  Result r;
  r.type = data["resultType"].text;
  const JsonValue& result = data["result"];
  if (r.type == "scalar" || r.type == "string") {
    r.series[""].push_back(ParsePoint(result));
  } else if (r.type == "vector") {
    for (const JsonValue& s : result.items) {
      r.series[LabelsKey(s["metric"])].push_back(ParsePoint(s["value"]));
    }
  } else if (r.type == "matrix") {
    for (const JsonValue& s : result.items) {
      std::vector<Point>& points = r.series[LabelsKey(s["metric"])];
      for (const JsonValue& p : s["values"].items) points.push_back(ParsePoint(p));
    }
  } else {
    return absl::InvalidArgumentError(absl::StrCat("unknown resultType \"", r.type, "\""));
  }
  return r;
}

std::string Describe(const Result& r) {
  std::string s = absl::StrCat(r.type, " (", r.series.size(), " series)");
  for (const auto& [labels, points] : r.series) {
    absl::StrAppend(&s, "\n  ", labels, " =>");
    for (const Point& p : points) absl::StrAppend(&s, " ", p.text, " @", Seconds(p.t));
  }
  return s;
}

bool SameValue(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  if (a == b) return true;  // Infinities too.
  return std::fabs(a - b) <= 1e-9 * std::max(std::fabs(a), std::fabs(b));
}

// "" when equal, else what differs first.
std::string Difference(const Result& want, const Result& got) {
  if (want.type != got.type) return absl::StrCat("result type ", want.type, " vs ", got.type);
  for (const auto& [labels, points] : want.series) {
    auto it = got.series.find(labels);
    if (it == got.series.end()) return absl::StrCat("series ", labels, " missing from Ember");
    if (it->second.size() != points.size()) {
      return absl::StrCat("series ", labels, ": ", points.size(), " vs ", it->second.size(),
                          " points");
    }
    for (size_t i = 0; i < points.size(); ++i) {
      const Point& a = points[i];
      const Point& b = it->second[i];
      const bool same = want.type == "string" ? a.text == b.text : SameValue(a.v, b.v);
      if (a.t != b.t || !same) {
        return absl::StrCat("series ", labels, " point ", i, ": ", a.text, " @", Seconds(a.t),
                            " vs ", b.text, " @", Seconds(b.t));
      }
    }
  }
  for (const auto& [labels, points] : got.series) {
    if (!want.series.contains(labels)) return absl::StrCat("series ", labels, " only in Ember");
  }
  return "";
}

class PrometheusPeerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!testutil::IsExecutable(kPrometheusPath)) return;  // Each test skips.
    s_ = new Suite;
    s_->error = s_->Start();
  }

  static void TearDownTestSuite() {
    delete s_;
    s_ = nullptr;
  }

  void SetUp() override {
    if (!testutil::IsExecutable(kPrometheusPath)) {
      GTEST_SKIP() << kPrometheusPath << " not found: install Debian's `prometheus` package";
    }
    ASSERT_TRUE(s_->error.ok()) << s_->error;
  }

  // The processes, started once for the suite.
  struct Suite {
    TempDir dir;
    PeerTarget target;
    std::unique_ptr<server::HttpServer> target_server;
    EmberProcess ember{kEmberPath};
    testutil::ChildProcess prometheus;
    int prometheus_port = 0;
    int64_t eval_ms = 0;      // T: see the file comment.
    bool subqueries = false;  // Whether no sample is on a whole second (see the file comment).
    absl::Status error;

    ~Suite() {
      // Prometheus first, so it stops scraping and sending; each ends by its PID.
      if (prometheus.pid() > 0) {
        const int prom = prometheus.Stop(30'000);
        if (!WIFEXITED(prom) || WEXITSTATUS(prom) != 0) {
          std::fprintf(stderr, "prometheus ended with %s; its log:\n%s\n",
                       testutil::DescribeWaitStatus(prom).c_str(),
                       testutil::FileTail(dir.Sub("prometheus.log")).c_str());
        }
      }
      const int ember_status = ember.process().pid() > 0 ? ember.process().Stop(30'000) : 0;
      if (!WIFEXITED(ember_status) || WEXITSTATUS(ember_status) != 0) {
        ADD_FAILURE() << "ember serve ended with " << testutil::DescribeWaitStatus(ember_status)
                      << "; its log:\n"
                      << testutil::FileTail(dir.Sub("ember.log"));
      }
      if (target_server != nullptr) target_server->Stop(1000);
    }

    absl::Status Start() {
      if (!testutil::IsExecutable(kEmberPath)) {
        return absl::FailedPreconditionError(
            absl::StrCat(kEmberPath, " is missing: build the ember_bin target"));
      }
      server::HttpServerOptions o;
      o.listen_address = "127.0.0.1:0";
      o.threads = 2;
      target_server = std::make_unique<server::HttpServer>(o, [this](const server::HttpRequest& r) {
        server::HttpResponse resp;
        if (r.path != "/metrics") {
          resp.status = 404;
          return resp;
        }
        resp.content_type = "text/plain; version=0.0.4; charset=utf-8";
        resp.body = target.Scrape();
        return resp;
      });
      if (absl::Status s = target_server->Start(); !s.ok()) return s;
      if (absl::Status s = ember.Start(dir.Sub("ember"), dir.Sub("ember.log")); !s.ok()) return s;
      if (absl::Status s = StartPrometheus(); !s.ok()) return s;
      return ChooseEvalTime();
    }

    absl::Status StartPrometheus() {
      const std::string config = dir.Sub("prometheus.yml");
      {
        std::ofstream f(config);
        f << "global:\n"
             "  scrape_interval: 1s\n"
             "  scrape_timeout: 1s\n"
             "scrape_configs:\n"
             "  - job_name: peer\n"
             "    static_configs:\n"
             "      - targets: ['127.0.0.1:"
          << target_server->port()
          << "']\n"
             "remote_write:\n"
             "  - url: http://127.0.0.1:"
          << ember.port()
          << "/api/v1/write\n"
             "    queue_config:\n"
             "      batch_send_deadline: 1s\n";
      }
      absl::Status last;
      for (int attempt = 0; attempt < 3; ++attempt) {
        absl::StatusOr<int> port = testutil::PickFreePort();
        if (!port.ok()) return port.status();
        prometheus_port = *port;
        const std::vector<std::string> argv = {
            kPrometheusPath, absl::StrCat("--config.file=", config),
            absl::StrCat("--storage.tsdb.path=", dir.Sub("prometheus-data")),
            absl::StrCat("--web.listen-address=127.0.0.1:", prometheus_port)};
        if (absl::Status s = prometheus.Start(argv, dir.Sub("prometheus.log")); !s.ok()) return s;
        HttpClient client(prometheus_port, 2'000);
        bool ready = false;
        testutil::WaitFor(
            [&] {
              if (!prometheus.running()) return true;
              absl::StatusOr<HttpResult> r = client.Get("/-/ready");
              ready = r.ok() && r->status == 200;
              return ready;
            },
            60'000);
        if (ready) return absl::OkStatus();
        if (prometheus.running()) break;
        last = absl::UnavailableError(
            absl::StrCat("prometheus ended before it was ready (",
                         testutil::DescribeWaitStatus(prometheus.exit_status()), "); its log:\n",
                         testutil::FileTail(dir.Sub("prometheus.log"))));
      }
      prometheus.Kill();
      return last.ok() ? absl::DeadlineExceededError(
                             absl::StrCat("prometheus not ready in 60 s; its log:\n",
                                          testutil::FileTail(dir.Sub("prometheus.log"))))
                       : last;
    }

    // The timestamps of `up` over the last 5 minutes, as `port` stores them.
    absl::StatusOr<std::vector<int64_t>> UpTimestamps(int port, int64_t at_ms) {
      absl::StatusOr<JsonValue> data = Query(port, "up[5m]", at_ms);
      if (!data.ok()) return data.status();
      absl::StatusOr<Result> r = ToResult(*data);
      if (!r.ok()) return r.status();
      std::vector<int64_t> ts;
      for (const auto& [labels, points] : r->series) {
        for (const Point& p : points) ts.push_back(p.t);
      }
      std::sort(ts.begin(), ts.end());
      return ts;
    }

    // Waits for kMinScrapes scrapes in both, and for Ember to hold kHistoryMs before T, then
    // picks T (the file comment says how). Prometheus forwards only what it scrapes after its
    // remote write queue started, so Ember's first samples come a few scrapes after
    // Prometheus's first.
    absl::Status ChooseEvalTime() {
      std::vector<int64_t> prom_ts, ember_ts;
      absl::Status last = absl::OkStatus();
      const bool enough = testutil::WaitFor(
          [&] {
            const int64_t now = WallNowMs();
            absl::StatusOr<std::vector<int64_t>> p = UpTimestamps(prometheus_port, now);
            absl::StatusOr<std::vector<int64_t>> e = UpTimestamps(ember.port(), now);
            if (!p.ok() || !e.ok()) {
              last = !p.ok() ? p.status() : e.status();
              return false;
            }
            prom_ts = *p;
            ember_ts = *e;
            if (static_cast<int>(std::min(prom_ts.size(), ember_ts.size())) < kMinScrapes) {
              return false;
            }
            const int64_t common = std::min(prom_ts.back(), ember_ts.back());
            const int64_t first = std::max(prom_ts.front(), ember_ts.front());
            return common - 2000 - kHistoryMs > first;
          },
          90'000, 500);
      if (!enough) {
        return absl::DeadlineExceededError(
            absl::StrCat("too few scrapes after 90 s: Prometheus has ", prom_ts.size(), ", Ember ",
                         ember_ts.size(), " (last error: ", last.ToString(),
                         "); Prometheus's log:\n", testutil::FileTail(dir.Sub("prometheus.log")),
                         "\nEmber's log:\n", testutil::FileTail(dir.Sub("ember.log"))));
      }
      const int64_t common = std::min(prom_ts.back(), ember_ts.back());
      int64_t t = common - 2000 + 500;
      auto on_edge = [&](int64_t cand) {
        for (int64_t ts : prom_ts) {
          if ((cand - ts) % 1000 == 0) return true;
        }
        return cand % 1000 == 0;
      };
      for (int i = 0; i < 10 && on_edge(t); ++i) t -= 97;
      if (on_edge(t)) {
        return absl::InternalError(
            absl::StrCat("no evaluation time off every sample's phase; "
                         "up timestamps: ",
                         absl::StrJoin(prom_ts, ",")));
      }
      eval_ms = t;
      subqueries =
          std::none_of(prom_ts.begin(), prom_ts.end(), [](int64_t ts) { return ts % 1000 == 0; });
      // Every shard of the remote write queue has sent everything up to T once Ember holds
      // an `up` sample 4 s (4 batch_send_deadlines) later.
      const bool caught_up = testutil::WaitFor(
          [&] {
            absl::StatusOr<std::vector<int64_t>> e = UpTimestamps(ember.port(), WallNowMs());
            return e.ok() && !e->empty() && e->back() >= eval_ms + 4000;
          },
          30'000, 200);
      if (!caught_up) {
        return absl::DeadlineExceededError(
            absl::StrCat("Ember holds no sample 4 s past T=", Seconds(eval_ms),
                         " after 30 s; its log:\n", testutil::FileTail(dir.Sub("ember.log"))));
      }
      return absl::OkStatus();
    }
  };

  // GET `target` from the API on `port`: its `data`, or an error with the answer.
  static absl::StatusOr<JsonValue> ApiGet(int port, const std::string& target) {
    HttpClient client(port, 30'000);
    absl::StatusOr<HttpResult> r = client.Get(target);
    if (!r.ok()) return r.status();
    absl::StatusOr<JsonValue> doc = testutil::ParseJson(r->body);
    if (!doc.ok()) return doc.status();
    if (r->status != 200 || (*doc)["status"].text != "success") {
      return absl::InternalError(absl::StrCat("HTTP ", r->status, ": ", r->body.substr(0, 500)));
    }
    return (*doc)["data"];
  }

  static absl::StatusOr<JsonValue> Query(int port, const std::string& expr, int64_t t_ms) {
    return ApiGet(port, absl::StrCat("/api/v1/query?query=", testutil::UrlEncode(expr),
                                     "&time=", Seconds(t_ms)));
  }

  // Runs `target` on both and expects the same answer, and (unless `may_be_empty`) one that is
  // not empty, so that agreeing on nothing does not pass for agreement.
  static void ExpectSameAnswer(const std::string& what, const std::string& target,
                               bool may_be_empty = false) {
    SCOPED_TRACE(what);
    absl::StatusOr<JsonValue> prom = ApiGet(s_->prometheus_port, target);
    absl::StatusOr<JsonValue> ember = ApiGet(s_->ember.port(), target);
    ASSERT_TRUE(prom.ok()) << "Prometheus: " << prom.status();
    ASSERT_TRUE(ember.ok()) << "Ember: " << ember.status();
    absl::StatusOr<Result> want = ToResult(*prom);
    absl::StatusOr<Result> got = ToResult(*ember);
    ASSERT_TRUE(want.ok()) << want.status();
    ASSERT_TRUE(got.ok()) << got.status();
    if (!may_be_empty) {
      EXPECT_FALSE(want->series.empty()) << what << ": Prometheus found nothing";
    }
    const std::string diff = Difference(*want, *got);
    EXPECT_EQ(diff, "") << what << "\nPrometheus 2.42: " << Describe(*want)
                        << "\nEmber:           " << Describe(*got);
  }

  static void ExpectSameInstant(const std::string& expr, int64_t t_ms, bool may_be_empty = false) {
    ExpectSameAnswer(
        absl::StrCat(expr, " @ ", Seconds(t_ms)),
        absl::StrCat("/api/v1/query?query=", testutil::UrlEncode(expr), "&time=", Seconds(t_ms)),
        may_be_empty);
  }

  // A list answer (series, label names, label values) as a sorted set of strings.
  static std::vector<std::string> StringSet(const JsonValue& data) {
    std::vector<std::string> out;
    for (const JsonValue& v : data.items) {
      out.push_back(v.type == JsonValue::Type::kObject ? LabelsKey(v) : v.text);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  static void ExpectSameList(const std::string& target) {
    SCOPED_TRACE(target);
    absl::StatusOr<JsonValue> prom = ApiGet(s_->prometheus_port, target);
    absl::StatusOr<JsonValue> ember = ApiGet(s_->ember.port(), target);
    ASSERT_TRUE(prom.ok()) << "Prometheus: " << prom.status();
    ASSERT_TRUE(ember.ok()) << "Ember: " << ember.status();
    const std::vector<std::string> want = StringSet(*prom);
    EXPECT_FALSE(want.empty());
    EXPECT_EQ(StringSet(*ember), want) << "Prometheus 2.42: " << absl::StrJoin(want, " ");
  }

  static Suite* s_;
};

PrometheusPeerTest::Suite* PrometheusPeerTest::s_ = nullptr;

TEST_F(PrometheusPeerTest, InstantQueriesAgree) {
  const int64_t t = s_->eval_ms;
  const std::vector<std::string> queries = {
      "up",
      "peer_requests_total",
      "peer_requests_total{code=\"500\"}",
      "{job=\"peer\", __name__=~\"peer_(temperature|queue).*\"}",
      "rate(peer_requests_total[10s])",
      "irate(peer_requests_total[10s])",
      "increase(peer_requests_total[10s])",
      "rate(peer_resets_total[10s])",
      "increase(peer_resets_total[5s])",
      "resets(peer_resets_total[10s])",
      "delta(peer_temperature_celsius[10s])",
      "idelta(peer_temperature_celsius[10s])",
      "deriv(peer_temperature_celsius[10s])",
      "predict_linear(peer_temperature_celsius[10s], 60)",
      "changes(peer_queue_length[10s])",
      "sum by (path) (rate(peer_requests_total[10s]))",
      "sum without (code) (increase(peer_requests_total[10s]))",
      "histogram_quantile(0.9, sum by (le) (rate(peer_latency_seconds_bucket[10s])))",
      "histogram_quantile(0.5, sum by (le, path) (rate(peer_latency_seconds_bucket[10s])))",
      "histogram_quantile(0.99, rate(peer_latency_seconds_bucket[5s]))",
      "rate(peer_latency_seconds_sum[10s]) / rate(peer_latency_seconds_count[10s])",
      "avg_over_time(peer_temperature_celsius[10s])",
      "max_over_time(peer_temperature_celsius[10s])",
      "min_over_time(peer_temperature_celsius[10s])",
      "sum_over_time(peer_queue_length[10s])",
      "count_over_time(up[10s])",
      "last_over_time(peer_queue_length[10s])",
      "quantile_over_time(0.75, peer_temperature_celsius[10s])",
      "stddev_over_time(peer_temperature_celsius[10s])",
      "stdvar_over_time(peer_temperature_celsius[10s])",
      "present_over_time(peer_build_info[10s])",
      "absent_over_time(nonexistent_metric[10s])",
      "count by (code) (peer_requests_total)",
      "count(peer_latency_seconds_bucket)",
      "avg by (path) (peer_latency_seconds_bucket)",
      "max(peer_temperature_celsius)",
      "stddev(peer_temperature_celsius)",
      "quantile(0.3, peer_requests_total)",
      "count_values(\"value\", peer_queue_length)",
      "topk(2, peer_requests_total)",
      "bottomk(1, rate(peer_requests_total[10s]))",
      "sort_desc(sum by (code) (peer_requests_total))",
      "sum by (path) (rate(peer_requests_total{code=\"500\"}[10s])) / "
      "sum by (path) (rate(peer_requests_total[10s]))",
      "peer_requests_total{code=\"500\"} / ignoring(code) peer_requests_total{code=\"200\"}",
      "peer_requests_total / on(path) group_left sum by (path) (peer_requests_total)",
      "peer_temperature_celsius > 20",
      "peer_temperature_celsius > bool 20",
      "peer_queue_length * 2 + 1",
      "peer_requests_total and on(code) peer_requests_total{code=\"200\"}",
      "peer_requests_total unless peer_requests_total{path=\"/api\"}",
      "up or vector(0)",
      "absent(nonexistent_metric)",
      "peer_requests_total offset 3s",
      "rate(peer_requests_total[5s] offset 3s)",
      absl::StrCat("peer_queue_length @ ", Seconds(t - 5000)),
      "timestamp(up)",
      "time()",
      "vector(time())",
      "scalar(peer_queue_length)",
      "round(peer_temperature_celsius, 0.5)",
      "clamp(peer_temperature_celsius, 19, 21)",
      "abs(-peer_queue_length)",
      "ln(peer_requests_total)",
      "label_replace(up, \"host\", \"$1\", \"instance\", \"(.*):.*\")",
      "label_join(peer_build_info, \"both\", \"-\", \"version\", \"revision\")",
      "scrape_samples_scraped",
      "scrape_series_added",
      "peer_requests_total[5s]",
      "up[3s] offset 2s",
  };
  for (const std::string& q : queries) ExpectSameInstant(q, t);
  ExpectSameInstant("absent(up)", t, /*may_be_empty=*/true);
  ExpectSameInstant("peer_requests_total > 1e15", t, /*may_be_empty=*/true);
  std::printf("compared %zu instant queries at T=%s\n", queries.size() + 2, Seconds(t).c_str());
  if (s_->subqueries) {
    ExpectSameInstant("max_over_time(rate(peer_requests_total[5s])[10s:2s])", t);
    ExpectSameInstant("avg_over_time(peer_temperature_celsius[10s:1s])", t);
  } else {
    std::printf("a sample sits on a whole second: subqueries skipped\n");
  }
}

TEST_F(PrometheusPeerTest, RangeQueriesAgree) {
  const int64_t end = s_->eval_ms;
  const int64_t start = end - 10'000;
  for (const std::string q :
       {"up", "peer_temperature_celsius", "rate(peer_requests_total[5s])",
        "sum by (path) (increase(peer_requests_total[10s]))",
        "histogram_quantile(0.9, sum by (le) (rate(peer_latency_seconds_bucket[5s])))",
        "avg_over_time(peer_queue_length[3s])", "peer_requests_total offset 3s",
        "rate(peer_resets_total[4s])", "time()", "absent(nonexistent_metric)"}) {
    ExpectSameAnswer(absl::StrCat("range ", q),
                     absl::StrCat("/api/v1/query_range?query=", testutil::UrlEncode(q),
                                  "&start=", Seconds(start), "&end=", Seconds(end), "&step=1"));
  }
}

TEST_F(PrometheusPeerTest, SeriesAndLabelsAgree) {
  const std::string range =
      absl::StrCat("start=", Seconds(s_->eval_ms - 10'000), "&end=", Seconds(s_->eval_ms));
  ExpectSameList(absl::StrCat("/api/v1/series?match[]=peer_requests_total&match[]=",
                              testutil::UrlEncode("up{job=\"peer\"}"), "&", range));
  ExpectSameList(absl::StrCat("/api/v1/series?match[]=",
                              testutil::UrlEncode("{__name__=~\"peer_latency.*\",path=\"/api\"}"),
                              "&", range));
  ExpectSameList(absl::StrCat("/api/v1/labels?", range));
  ExpectSameList(absl::StrCat("/api/v1/labels?match[]=peer_latency_seconds_bucket&", range));
  ExpectSameList(absl::StrCat("/api/v1/label/__name__/values?", range));
  ExpectSameList(absl::StrCat("/api/v1/label/path/values?", range));
  ExpectSameList(absl::StrCat("/api/v1/label/le/values?match[]=",
                              testutil::UrlEncode("peer_latency_seconds_bucket{path=\"/api\"}"),
                              "&", range));
}

// Runs last (gtest keeps definition order): stops the target.
TEST_F(PrometheusPeerTest, StaleMarkersReachEmber) {
  s_->target_server->Stop(1000);
  // Prometheus's first failed scrape writes up=0 and a stale marker for every series the
  // target had; find a failed scrape's timestamp in Prometheus, then wait for Ember to hold it.
  int64_t failed_ms = 0;
  ASSERT_TRUE(testutil::WaitFor(
      [&] {
        absl::StatusOr<JsonValue> d = Query(s_->prometheus_port, "up == 0", WallNowMs());
        if (!d.ok() || (*d)["result"].items.empty()) return false;
        absl::StatusOr<JsonValue> ts = Query(s_->prometheus_port, "timestamp(up)", WallNowMs());
        if (!ts.ok() || (*ts)["result"].items.empty()) return false;
        failed_ms = ParsePoint((*ts)["result"].items[0]["value"]).t;
        return true;
      },
      30'000, 200))
      << "Prometheus never saw the target down";
  ASSERT_TRUE(testutil::WaitFor(
      [&] {
        absl::StatusOr<JsonValue> d = Query(s_->ember.port(), "timestamp(up)", WallNowMs());
        return d.ok() && !(*d)["result"].items.empty() &&
               ParsePoint((*d)["result"].items[0]["value"]).t >= failed_ms + 4000;
      },
      30'000, 200))
      << "Ember never received the samples of the failed scrape at " << Seconds(failed_ms);
  const int64_t t = failed_ms + 500;
  for (const char* q : {"peer_requests_total", "peer_temperature_celsius",
                        "{job=\"peer\", __name__=~\"peer_.*\"}"}) {
    SCOPED_TRACE(q);
    absl::StatusOr<JsonValue> prom = Query(s_->prometheus_port, q, t);
    absl::StatusOr<JsonValue> ember = Query(s_->ember.port(), q, t);
    ASSERT_TRUE(prom.ok()) << prom.status();
    ASSERT_TRUE(ember.ok()) << ember.status();
    EXPECT_TRUE((*prom)["result"].items.empty()) << "Prometheus returned series after the "
                                                    "stale markers";
    absl::StatusOr<Result> got = ToResult(*ember);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_TRUE(got->series.empty())
        << "Ember still returns series after the stale markers: " << Describe(*got);
  }
  // Range functions skip the markers and still see the samples before them.
  for (const char* q : {"up", "count_over_time(peer_requests_total[10s])",
                        "last_over_time(peer_temperature_celsius[10s])",
                        "rate(peer_requests_total[10s])", "peer_requests_total[3s]"}) {
    ExpectSameInstant(q, t);
  }
  ExpectSameInstant("absent(peer_requests_total)", t);
}

}  // namespace
}  // namespace ember
