#include "server/alerting/notifier.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "server/http/http_server.h"
#include "server/metrics/metrics.h"
#include "tests/testutil/child_process.h"
#include "tests/testutil/http_client.h"
#include "tests/testutil/json_value.h"
#include "tests/testutil/temp_dir.h"

namespace ember::server {
namespace {

using testutil::WaitFor;

constexpr int64_t kWaitMs = 10'000;

// An Alertmanager stand-in: records every request and answers with `status`. With hang(), its
// handler blocks until Release() (bounded), as a peer that never answers.
class FakeAlertmanager {
 public:
  explicit FakeAlertmanager(int status = 200) : status_(status) {
    HttpServerOptions options;
    options.listen_address = "127.0.0.1:0";
    options.threads = 2;
    server_ =
        std::make_unique<HttpServer>(options, [this](const HttpRequest& r) { return Handle(r); });
    const absl::Status s = server_->Start();
    EXPECT_TRUE(s.ok()) << s;
  }
  ~FakeAlertmanager() {
    Release();
    server_->Stop(1000);
  }

  void set_hang(bool hang) { hang_ = hang; }
  void Release() {
    if (!release_.HasBeenNotified()) release_.Notify();
  }
  std::string target() const { return absl::StrCat("127.0.0.1:", server_->port()); }
  std::string url(const std::string& path = "/api/v2/alerts") const {
    return absl::StrCat("http://", target(), path);
  }

  std::vector<HttpRequest> requests() const {
    absl::MutexLock lock(&mu_);
    return requests_;
  }
  size_t num_requests() const {
    absl::MutexLock lock(&mu_);
    return requests_.size();
  }
  bool WaitForRequests(size_t n) const {
    return WaitFor([&] { return num_requests() >= n; }, kWaitMs, 10);
  }

 private:
  HttpResponse Handle(const HttpRequest& r) {
    {
      absl::MutexLock lock(&mu_);
      requests_.push_back(r);
    }
    if (hang_) release_.WaitForNotificationWithTimeout(absl::Seconds(30));
    HttpResponse res;
    res.status = status_;
    res.body = status_ / 100 == 2 ? "" : "{\"message\":\"injected failure\"}";
    return res;
  }

  const int status_;
  std::atomic<bool> hang_{false};
  absl::Notification release_;
  std::unique_ptr<HttpServer> server_;
  mutable absl::Mutex mu_;
  std::vector<HttpRequest> requests_ ABSL_GUARDED_BY(mu_);
};

AlertmanagerConfig AmConfig(std::vector<std::string> targets, int64_t timeout_ms = 2000,
                            std::string path_prefix = "/") {
  AlertmanagerConfig am;
  am.static_configs.push_back({std::move(targets), {}});
  am.timeout_ms = timeout_ms;
  am.path_prefix = std::move(path_prefix);
  return am;
}

rules::Alert FiringAlert(const std::string& name, int64_t fired_at_ms = 1700000000123) {
  rules::Alert a;
  a.labels = {{"alertname", name}, {"job", "api"}, {"severity", "page"}};
  a.annotations = {{"summary", "latency is high"}};
  a.state = rules::AlertState::kFiring;
  a.active_at_ms = fired_at_ms - 60'000;
  a.fired_at_ms = fired_at_ms;
  a.valid_until_ms = fired_at_ms + 240'000;
  a.expr = "rate(http_errors_total[5m]) > 0.5";
  return a;
}

// The value of the exposition line for `series` (e.g. `x_total{alertmanager="..."}`), or -1.
double MetricValue(const MetricsRegistry& registry, const std::string& series) {
  const std::string text = registry.Expose();
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StartsWith(line, series + " ")) {
      return std::strtod(std::string(line.substr(series.size() + 1)).c_str(), nullptr);
    }
  }
  return -1;
}

std::string Series(const std::string& name, const std::string& am_url) {
  return absl::StrCat(name, "{alertmanager=\"", am_url, "\"}");
}

TEST(NotifierFormatTest, Rfc3339MillisInUtc) {
  EXPECT_EQ(FormatRfc3339Millis(1700000000123), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(FormatRfc3339Millis(1700000000000), "2023-11-14T22:13:20.000Z");
  EXPECT_EQ(FormatRfc3339Millis(0), "1970-01-01T00:00:00.000Z");
}

TEST(NotifierFormatTest, GeneratorUrlEscapesAsGoQueryEscape) {
  EXPECT_EQ(GeneratorUrl("http://ember:9090", "sum(rate(x{a=\"b c\"}[5m])) > 0.5"),
            "http://ember:9090/graph?g0.expr=sum%28rate%28x%7Ba%3D%22b+c%22%7D%5B5m%5D%29%29+%3E+"
            "0.5&g0.tab=1");
  EXPECT_EQ(GeneratorUrl("", "up-1_a.b~"), "/graph?g0.expr=up-1_a.b~&g0.tab=1");
}

TEST(NotifierTest, PostsAlertsAsPrometheusDoes) {
  FakeAlertmanager am;
  MetricsRegistry registry;
  NotifierOptions options;
  options.alertmanagers.push_back(AmConfig({am.target()}, 2000, "/am/"));
  options.external_labels = {{"cluster", "eu1"}, {"job", "external-loses"}};
  options.external_url = "http://ember.example:9090";
  Notifier notifier(options, &registry);

  notifier.Send({FiringAlert("HighLatency")});
  ASSERT_TRUE(am.WaitForRequests(1));
  const HttpRequest r = am.requests()[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.path, "/am/api/v2/alerts");
  EXPECT_EQ(r.Header("content-type"), "application/json");
  EXPECT_EQ(r.body,
            "[{\"labels\":{\"alertname\":\"HighLatency\",\"cluster\":\"eu1\",\"job\":\"api\","
            "\"severity\":\"page\"},\"annotations\":{\"summary\":\"latency is high\"},"
            "\"startsAt\":\"2023-11-14T22:13:20.123Z\",\"endsAt\":\"2023-11-14T22:17:20.123Z\","
            "\"generatorURL\":\"http://ember.example:9090/graph?g0.expr=rate%28http_errors_total"
            "%5B5m%5D%29+%3E+0.5\\u0026g0.tab=1\"}]");
  const std::string url = am.url("/am/api/v2/alerts");
  EXPECT_TRUE(WaitFor(
      [&] { return MetricValue(registry, Series("ember_notifications_sent_total", url)) == 1; },
      kWaitMs, 10));
  EXPECT_EQ(MetricValue(registry, "ember_notifications_dropped_total"), 0);
  EXPECT_EQ(MetricValue(registry, "ember_notifications_queue_capacity"), 10000);
}

TEST(NotifierTest, ResolvedAlertEndsAtResolvedTime) {
  FakeAlertmanager am;
  NotifierOptions options;
  options.alertmanagers.push_back(AmConfig({am.target()}));
  Notifier notifier(options, nullptr);

  rules::Alert resolved = FiringAlert("Resolved");
  resolved.state = rules::AlertState::kInactive;
  resolved.resolved_at_ms = 1700000030000;
  rules::Alert never_fired = FiringAlert("Bare");
  never_fired.fired_at_ms = 0;
  never_fired.valid_until_ms = 0;
  never_fired.annotations.clear();
  notifier.Send({resolved, never_fired});
  ASSERT_TRUE(am.WaitForRequests(1));
  absl::StatusOr<testutil::JsonValue> body = testutil::ParseJson(am.requests()[0].body);
  ASSERT_TRUE(body.ok()) << body.status();
  ASSERT_EQ(body->items.size(), 2u);
  EXPECT_EQ((*body).items[0]["startsAt"].text, "2023-11-14T22:13:20.123Z");
  EXPECT_EQ((*body).items[0]["endsAt"].text, "2023-11-14T22:13:50.000Z");
  EXPECT_EQ((*body).items[0]["labels"]["alertname"].text, "Resolved");
  // Times that are 0 are left out (Alertmanager fills them in); annotations stay an object.
  EXPECT_TRUE((*body).items[1]["startsAt"].is_null());
  EXPECT_TRUE((*body).items[1]["endsAt"].is_null());
  EXPECT_EQ((*body).items[1]["annotations"].type, testutil::JsonValue::Type::kObject);
  EXPECT_EQ((*body).items[1]["generatorURL"].text,
            "/graph?g0.expr=rate%28http_errors_total%5B5m%5D%29+%3E+0.5&g0.tab=1");
}

TEST(NotifierTest, FailingAlertmanagerIsRetriedThenBatchDropped) {
  FakeAlertmanager am(/*status=*/500);
  MetricsRegistry registry;
  NotifierOptions options;
  options.alertmanagers.push_back(AmConfig({am.target()}));
  options.max_attempts = 3;
  Notifier notifier(options, &registry);

  notifier.Send({FiringAlert("A"), FiringAlert("B")});
  ASSERT_TRUE(
      WaitFor([&] { return MetricValue(registry, "ember_notifications_dropped_total") == 2; },
              kWaitMs, 10));
  EXPECT_EQ(am.num_requests(), 3u);
  EXPECT_EQ(MetricValue(registry, Series("ember_notifications_errors_total", am.url())), 6);
  EXPECT_EQ(MetricValue(registry, Series("ember_notifications_sent_total", am.url())), 0);
  for (const HttpRequest& r : am.requests()) EXPECT_EQ(r.body, am.requests()[0].body);
}

TEST(NotifierTest, RequestTimeoutCountsAsError) {
  FakeAlertmanager am;
  am.set_hang(true);
  MetricsRegistry registry;
  NotifierOptions options;
  options.alertmanagers.push_back(AmConfig({am.target()}, /*timeout_ms=*/200));
  options.max_attempts = 2;
  Notifier notifier(options, &registry);

  notifier.Send({FiringAlert("A")});
  ASSERT_TRUE(
      WaitFor([&] { return MetricValue(registry, "ember_notifications_dropped_total") == 1; },
              kWaitMs, 10));
  EXPECT_EQ(MetricValue(registry, Series("ember_notifications_errors_total", am.url())), 2);
  EXPECT_EQ(am.num_requests(), 2u);
}

TEST(NotifierTest, FullQueueDropsOldestAlerts) {
  FakeAlertmanager am;
  am.set_hang(true);  // Holds the sender in its first request while the queue fills.
  MetricsRegistry registry;
  NotifierOptions options;
  options.alertmanagers.push_back(AmConfig({am.target()}, /*timeout_ms=*/kWaitMs));
  options.queue_capacity = 3;
  Notifier notifier(options, &registry);

  notifier.Send({FiringAlert("first")});
  ASSERT_TRUE(am.WaitForRequests(1));
  notifier.Send({FiringAlert("a1"), FiringAlert("a2")});
  notifier.Send({FiringAlert("a3"), FiringAlert("a4"), FiringAlert("a5")});
  EXPECT_EQ(notifier.queue_length(), 3u);
  EXPECT_EQ(MetricValue(registry, "ember_notifications_dropped_total"), 2);
  EXPECT_EQ(MetricValue(registry, "ember_notifications_queue_length"), 3);
  EXPECT_EQ(MetricValue(registry, "ember_notifications_queue_capacity"), 3);

  am.Release();
  ASSERT_TRUE(am.WaitForRequests(2));
  absl::StatusOr<testutil::JsonValue> body = testutil::ParseJson(am.requests()[1].body);
  ASSERT_TRUE(body.ok()) << body.status();
  std::vector<std::string> names;
  for (const testutil::JsonValue& a : body->items) names.push_back(a["labels"]["alertname"].text);
  EXPECT_EQ(names, (std::vector<std::string>{"a3", "a4", "a5"}));
  EXPECT_TRUE(WaitFor(
      [&] { return MetricValue(registry, "ember_notifications_queue_length") == 0; }, kWaitMs, 10));
}

TEST(NotifierTest, EveryAlertmanagerReceivesEveryAlert) {
  FakeAlertmanager am1, am2, failing(/*status=*/503);
  MetricsRegistry registry;
  NotifierOptions options;
  // One config with a failing target before a good one, and a second config.
  options.alertmanagers.push_back(AmConfig({failing.target(), am1.target()}));
  options.alertmanagers.push_back(AmConfig({am2.target()}));
  options.max_attempts = 1;
  options.max_batch = 2;
  Notifier notifier(options, &registry);

  notifier.Send({FiringAlert("A"), FiringAlert("B"), FiringAlert("C")});
  ASSERT_TRUE(am1.WaitForRequests(2));
  ASSERT_TRUE(am2.WaitForRequests(2));
  for (FakeAlertmanager* am : {&am1, &am2}) {
    SCOPED_TRACE(am->target());
    const std::vector<HttpRequest> requests = am->requests();
    EXPECT_TRUE(absl::StrContains(requests[0].body, "\"alertname\":\"A\""));
    EXPECT_TRUE(absl::StrContains(requests[0].body, "\"alertname\":\"B\""));
    EXPECT_TRUE(absl::StrContains(requests[1].body, "\"alertname\":\"C\""));
    EXPECT_TRUE(WaitFor(
        [&] {
          return MetricValue(registry, Series("ember_notifications_sent_total", am->url())) == 3;
        },
        kWaitMs, 10));
  }
  EXPECT_EQ(failing.num_requests(), 2u);
  EXPECT_EQ(MetricValue(registry, Series("ember_notifications_errors_total", failing.url())), 3);
  EXPECT_EQ(MetricValue(registry, "ember_notifications_dropped_total"), 0);
}

TEST(NotifierTest, ApplyOptionsSwitchesAlertmanagers) {
  FakeAlertmanager old_am, new_am;
  NotifierOptions options;
  options.alertmanagers.push_back(AmConfig({old_am.target()}));
  Notifier notifier(options, nullptr);
  notifier.Send({FiringAlert("before")});
  ASSERT_TRUE(old_am.WaitForRequests(1));

  options.alertmanagers = {AmConfig({new_am.target()})};
  options.external_labels = {{"replica", "b"}};
  notifier.ApplyOptions(options);
  notifier.Send({FiringAlert("after")});
  ASSERT_TRUE(new_am.WaitForRequests(1));
  EXPECT_TRUE(absl::StrContains(new_am.requests()[0].body, "\"replica\":\"b\""));
  EXPECT_EQ(old_am.num_requests(), 1u);
}

TEST(NotifierTest, StopIsBoundedWhileAlertmanagerHangs) {
  FakeAlertmanager am;
  am.set_hang(true);
  MetricsRegistry registry;
  NotifierOptions options;
  options.alertmanagers.push_back(AmConfig({am.target()}, /*timeout_ms=*/30'000));
  options.stop_timeout_ms = 300;
  Notifier notifier(options, &registry);

  notifier.Send({FiringAlert("A")});
  ASSERT_TRUE(am.WaitForRequests(1));
  notifier.Send({FiringAlert("B")});
  const auto start = std::chrono::steady_clock::now();
  notifier.Stop();
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, std::chrono::seconds(3));
  // The abandoned batch and the alert still queued.
  EXPECT_EQ(MetricValue(registry, "ember_notifications_dropped_total"), 2);
  notifier.Send({FiringAlert("late")});  // Dropped: stopped.
  EXPECT_EQ(MetricValue(registry, "ember_notifications_dropped_total"), 3);
  notifier.Stop();  // Idempotent.
}

// Against the real Alertmanager: Debian's prometheus-alertmanager package.
TEST(NotifierAlertmanagerTest, RealAlertmanagerShowsFiringThenResolvedAlert) {
  const std::string binary = "/usr/bin/prometheus-alertmanager";
  if (!testutil::IsExecutable(binary)) {
    GTEST_SKIP() << binary << " is missing: install Debian's prometheus-alertmanager package "
                 << "(scripts/install-deps.sh)";
  }
  testutil::TempDir dir;
  {
    std::ofstream yml(dir.Sub("am.yml"));
    yml << "route:\n  receiver: \"null\"\nreceivers:\n  - name: \"null\"\n";
  }
  absl::StatusOr<int> port = testutil::PickFreePort();
  ASSERT_TRUE(port.ok()) << port.status();
  testutil::ChildProcess child;
  ASSERT_TRUE(
      child
          .Start(
              {binary, "--config.file=" + dir.Sub("am.yml"), "--storage.path=" + dir.Sub("data"),
               absl::StrCat("--web.listen-address=127.0.0.1:", *port), "--cluster.listen-address="},
              dir.Sub("alertmanager.log"))
          .ok());
  testutil::HttpClient client(*port, 2000);
  ASSERT_TRUE(WaitFor(
      [&] {
        absl::StatusOr<testutil::HttpResult> r = client.Get("/-/ready");
        return r.ok() && r->status == 200;
      },
      30'000))
      << testutil::FileTail(dir.Sub("alertmanager.log"));

  NotifierOptions options;
  options.alertmanagers.push_back(AmConfig({absl::StrCat("127.0.0.1:", *port)}));
  options.external_labels = {{"cluster", "eu1"}};
  options.external_url = "http://ember.example:9090";
  MetricsRegistry registry;
  Notifier notifier(options, &registry);

  const int64_t now_ms = absl::ToUnixMillis(absl::Now());
  rules::Alert alert = FiringAlert("EmberNotifierTest", now_ms - 60'000);
  alert.valid_until_ms = now_ms + 3'600'000;
  notifier.Send({alert});

  // Whether Alertmanager lists our alert as active; its JSON in `*found` when it does.
  auto active = [&](testutil::JsonValue* found) {
    absl::StatusOr<testutil::HttpResult> r = client.Get("/api/v2/alerts?active=true");
    if (!r.ok() || r->status != 200) return false;
    absl::StatusOr<testutil::JsonValue> v = testutil::ParseJson(r->body);
    if (!v.ok()) return false;
    for (const testutil::JsonValue& a : v->items) {
      if (a["labels"]["alertname"].text == "EmberNotifierTest") {
        *found = a;
        return true;
      }
    }
    return false;
  };
  testutil::JsonValue found;
  ASSERT_TRUE(WaitFor([&] { return active(&found); }, 15'000))
      << testutil::FileTail(dir.Sub("alertmanager.log"));
  EXPECT_EQ(found["labels"]["cluster"].text, "eu1");
  EXPECT_EQ(found["labels"]["severity"].text, "page");
  EXPECT_EQ(found["annotations"]["summary"].text, "latency is high");
  EXPECT_EQ(found["startsAt"].text, FormatRfc3339Millis(now_ms - 60'000));
  EXPECT_EQ(found["generatorURL"].text, GeneratorUrl(options.external_url, alert.expr));

  alert.state = rules::AlertState::kInactive;
  alert.resolved_at_ms = now_ms - 1000;  // In the past: Alertmanager treats it as resolved.
  notifier.Send({alert});
  EXPECT_TRUE(WaitFor([&] { return !active(&found); }, 15'000))
      << testutil::FileTail(dir.Sub("alertmanager.log"));
  const std::string sent = Series("ember_notifications_sent_total",
                                  absl::StrCat("http://127.0.0.1:", *port, "/api/v2/alerts"));
  EXPECT_TRUE(WaitFor([&] { return MetricValue(registry, sent) == 2; }, kWaitMs, 10));
  notifier.Stop();
  child.Stop();
}

}  // namespace
}  // namespace ember::server
