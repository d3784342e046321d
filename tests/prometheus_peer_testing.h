// Shared by the prometheus_peer_*_test.cc files: API answers in comparable form, and the
// PrometheusPeerTest fixture that starts Prometheus, the scrape target and `ember serve` (see
// prometheus_peer_target.h for the whole design). Each binary includes this header once.
#ifndef EMBER_TESTS_PROMETHEUS_PEER_TESTING_H_
#define EMBER_TESTS_PROMETHEUS_PEER_TESTING_H_

#include "tests/prometheus_peer_target.h"

namespace ember {
namespace {

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

inline std::string LabelsKey(const JsonValue& metric) {
  std::vector<std::string> parts;
  for (const auto& [k, v] : metric.members) parts.push_back(absl::StrCat(k, "=\"", v.text, "\""));
  std::sort(parts.begin(), parts.end());
  return absl::StrCat("{", absl::StrJoin(parts, ", "), "}");
}

inline Point ParsePoint(const JsonValue& pair) {
  Point p;
  if (pair.items.size() != 2) return p;
  p.t = testutil::PromTimestampMs(pair.items[0]);
  p.text = pair.items[1].text;
  p.v = std::strtod(p.text.c_str(), nullptr);  // Takes "NaN", "+Inf", "-Inf".
  return p;
}

inline absl::StatusOr<Result> ToResult(const JsonValue& data) {
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

inline std::string Describe(const Result& r) {
  std::string s = absl::StrCat(r.type, " (", r.series.size(), " series)");
  for (const auto& [labels, points] : r.series) {
    absl::StrAppend(&s, "\n  ", labels, " =>");
    for (const Point& p : points) absl::StrAppend(&s, " ", p.text, " @", Seconds(p.t));
  }
  return s;
}

inline bool SameValue(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  if (a == b) return true;  // Infinities too.
  return std::fabs(a - b) <= 1e-9 * std::max(std::fabs(a), std::fabs(b));
}

// "" when equal, else what differs first.
inline std::string Difference(const Result& want, const Result& got) {
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
}  // namespace
}  // namespace ember

#endif  // EMBER_TESTS_PROMETHEUS_PEER_TESTING_H_
