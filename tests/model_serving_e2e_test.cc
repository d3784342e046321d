// The reason Ember exists, end to end with real peers on 127.0.0.1: a model server instrumented
// with Python's prometheus_client (examples/model-serving/model_server.py), Ember scraping it
// with the example config and rules, and a real Alertmanager (Debian's prometheus-alertmanager)
// receiving HighErrorRate when the error rate is raised, and its resolution when it drops.
// The same files the tutorial (docs/tutorial-model-serving.md) uses, with ports replaced.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil/child_process.h"
#include "tests/testutil/ember_process.h"
#include "tests/testutil/http_client.h"
#include "tests/testutil/json_value.h"
#include "tests/testutil/temp_dir.h"

namespace ember {
namespace {

using testutil::ChildProcess;
using testutil::HttpClient;
using testutil::HttpResult;
using testutil::JsonValue;
using testutil::WaitFor;

const std::string kExamples = std::string(EMBER_SOURCE_DIR) + "/examples/model-serving";
constexpr const char* kPython = "/usr/bin/python3";
constexpr const char* kAlertmanager = "/usr/bin/prometheus-alertmanager";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// The JSON body of GET `target`, or null on any failure.
JsonValue GetJson(HttpClient* client, const std::string& target) {
  absl::StatusOr<HttpResult> r = client->Get(target);
  if (!r.ok() || r->status != 200) return JsonValue{};
  absl::StatusOr<JsonValue> v = testutil::ParseJson(r->body);
  return v.ok() ? *v : JsonValue{};
}

// The HighErrorRate alerts Ember reports, with their state.
std::vector<std::string> EmberAlertStates(HttpClient* client) {
  std::vector<std::string> states;
  JsonValue v = GetJson(client, "/api/v1/alerts");
  for (const JsonValue& a : v["data"]["alerts"].items) {
    if (a["labels"]["alertname"].text == "HighErrorRate") states.push_back(a["state"].text);
  }
  return states;
}

// Alertmanager's active HighErrorRate alerts.
std::vector<JsonValue> AlertmanagerAlerts(HttpClient* client) {
  std::vector<JsonValue> out;
  JsonValue v = GetJson(client, "/api/v2/alerts?active=true&silenced=false&inhibited=false");
  for (const JsonValue& a : v.items) {
    if (a["labels"]["alertname"].text == "HighErrorRate") out.push_back(a);
  }
  return out;
}

TEST(ModelServingEndToEndTest, HighErrorRateFiresReachesAlertmanagerAndResolves) {
  for (const char* bin : {kPython, kAlertmanager}) {
    if (!testutil::IsExecutable(bin)) {
      GTEST_SKIP() << bin
                   << " is missing: apt-get install python3-prometheus-client "
                      "prometheus-alertmanager (scripts/install-deps.sh does)";
    }
  }
  absl::StatusOr<testutil::CommandResult> has_client =
      testutil::RunCommand({kPython, "-c", "import prometheus_client"});
  if (!has_client.ok() || !has_client->exited_zero()) {
    GTEST_SKIP() << "python3-prometheus-client is missing (scripts/install-deps.sh installs it)";
  }
  testutil::TempDir dir;
  const std::string d = dir.path();
  absl::StatusOr<int> model_port = testutil::PickFreePort();
  absl::StatusOr<int> am_port = testutil::PickFreePort();
  ASSERT_TRUE(model_port.ok() && am_port.ok());

  // Alertmanager, with the example config.
  ChildProcess am;
  ASSERT_TRUE(
      am.Start({kAlertmanager, absl::StrCat("--config.file=", kExamples, "/alertmanager.yml"),
                absl::StrCat("--storage.path=", d, "/am"),
                absl::StrCat("--web.listen-address=127.0.0.1:", *am_port),
                "--cluster.listen-address="},
               d + "/am.log")
          .ok());
  HttpClient am_client(*am_port, 5'000);
  ASSERT_TRUE(WaitFor(
      [&] {
        absl::StatusOr<HttpResult> r = am_client.Get("/-/ready");
        return r.ok() && r->status == 200;
      },
      30'000))
      << testutil::FileTail(d + "/am.log");

  // The model server, its error ratio read from a file.
  const std::string error_rate = d + "/error_rate";
  WriteFile(error_rate, "0\n");
  ChildProcess model;
  ASSERT_TRUE(model
                  .Start({kPython, kExamples + "/model_server.py",
                          absl::StrCat("--port=", *model_port), "--requests-per-second=100",
                          "--error-rate=0", absl::StrCat("--error-rate-file=", error_rate)},
                         d + "/model.log")
                  .ok());

  // Ember, with the example config and rules pointed at these ports.
  std::string config = ReadFile(kExamples + "/ember.yml");
  config = absl::StrReplaceAll(config, {{"127.0.0.1:8000", absl::StrCat("127.0.0.1:", *model_port)},
                                        {"127.0.0.1:9093", absl::StrCat("127.0.0.1:", *am_port)},
                                        {"rules.yml", kExamples + "/rules.yml"}});
  WriteFile(d + "/ember.yml", config);
  testutil::EmberProcess ember(EMBER_BINARY_DIR "/ember");
  ASSERT_TRUE(ember
                  .Start(d + "/data", d + "/ember.log", 60'000,
                         {absl::StrCat("--config_file=", d, "/ember.yml")})
                  .ok())
      << testutil::FileTail(d + "/ember.log");
  HttpClient client(ember.port(), 5'000);

  // Throughput and latency percentiles are recorded per model.
  auto value_of = [&](const std::string& q) -> std::vector<double> {
    std::vector<double> out;
    JsonValue v = GetJson(&client, "/api/v1/query?query=" + testutil::UrlEncode(q));
    for (const JsonValue& s : v["data"]["result"].items) {
      out.push_back(std::stod(s["value"].items.at(1).text));
    }
    return out;
  };
  ASSERT_TRUE(WaitFor([&] { return value_of("model:requests:rate20s").size() == 2; }, 60'000))
      << testutil::FileTail(d + "/ember.log") << testutil::FileTail(d + "/model.log");
  ASSERT_TRUE(WaitFor([&] { return value_of("model:latency_seconds:p99").size() == 2; }, 30'000));
  // Until the 20 s windows are full, rate() sees the start of the series and reads low.
  ASSERT_TRUE(WaitFor(
      [&] {
        std::vector<double> n = value_of("min(count_over_time(model_requests_total[20s]))");
        return !n.empty() && n[0] >= 10;
      },
      60'000));
  for (double rps : value_of("model:requests:rate20s")) {
    EXPECT_GT(rps, 20);  // 100 requests/s over two models, with scheduling slack.
    EXPECT_LT(rps, 80);
  }
  const std::vector<double> p50 = value_of("sum(model:latency_seconds:p50)");
  const std::vector<double> p99 = value_of("sum(model:latency_seconds:p99)");
  ASSERT_EQ(p50.size(), 1u);
  ASSERT_EQ(p99.size(), 1u);
  EXPECT_GT(p50[0], 0);
  EXPECT_GT(p99[0], p50[0]);
  EXPECT_TRUE(EmberAlertStates(&client).empty());
  EXPECT_THAT(GetJson(&client, "/api/v1/targets")["data"]["activeTargets"].items.size(), 2u);

  // Raise the error rate: pending, then firing after `for: 30s`, then at Alertmanager.
  WriteFile(error_rate, "0.3\n");
  bool saw_pending = false;
  ASSERT_TRUE(WaitFor(
      [&] {
        std::vector<std::string> s = EmberAlertStates(&client);
        for (const std::string& x : s) saw_pending |= x == "pending";
        return !s.empty() && s[0] == "firing";
      },
      90'000, 500))
      << testutil::FileTail(d + "/ember.log");
  EXPECT_TRUE(saw_pending);
  std::vector<JsonValue> received;
  ASSERT_TRUE(WaitFor(
      [&] {
        received = AlertmanagerAlerts(&am_client);
        return !received.empty();
      },
      30'000, 500))
      << testutil::FileTail(d + "/am.log") << testutil::FileTail(d + "/ember.log");
  const JsonValue& a = received[0];
  EXPECT_EQ(a["labels"]["severity"].text, "page");
  EXPECT_EQ(a["labels"]["cluster"].text, "tutorial");  // External label.
  EXPECT_THAT(a["labels"]["model"].text, ::testing::AnyOf("resnet50", "bert-base"));
  EXPECT_THAT(a["annotations"]["summary"].text, ::testing::HasSubstr("% of its requests"));
  EXPECT_THAT(a["generatorURL"].text, ::testing::HasSubstr("/graph?g0.expr="));
  // ALERTS is queryable like any series.
  EXPECT_FALSE(value_of("ALERTS{alertname=\"HighErrorRate\",alertstate=\"firing\"}").empty());

  // Drop it: the alert resolves in Ember, and Alertmanager no longer lists it as active.
  WriteFile(error_rate, "0\n");
  ASSERT_TRUE(WaitFor([&] { return EmberAlertStates(&client).empty(); }, 90'000, 500));
  ASSERT_TRUE(WaitFor([&] { return AlertmanagerAlerts(&am_client).empty(); }, 60'000, 500))
      << testutil::FileTail(d + "/am.log");

  ember.process().Signal(SIGTERM);
  EXPECT_EQ(testutil::DescribeWaitStatus(ember.process().Wait(30'000)), "exit 0");
  model.Stop();
  am.Stop();
}

}  // namespace
}  // namespace ember
