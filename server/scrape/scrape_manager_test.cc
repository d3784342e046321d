// Scrapes real HTTP targets on 127.0.0.1 into a Db in a temp dir: what a scrape stores (target
// labels, relabeling, honor_labels/timestamps, sample_limit, stale markers, report series) and
// how configs apply. Intervals are 100 ms; every wait polls with a deadline, so a broken loop
// fails the test within seconds instead of hanging it.
#include "server/scrape/scrape_manager.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/scrape/scrape_test_util.h"

namespace ember::server {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::Ge;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::SizeIs;
using ::testing::StartsWith;

using scrape_test::Compile;
using scrape_test::Job;
using scrape_test::kWaitLimit;
using scrape_test::OnlySeries;
using scrape_test::ScrapeManagerTest;
using scrape_test::TestTarget;
using scrape_test::WaitFor;
using scrape_test::WithJobs;

TEST_F(ScrapeManagerTest, StoresSamplesWithTargetLabelsAndReportSeries) {
  TestTarget target(TestTarget::Text([](int n) {
    return absl::StrFormat("# TYPE requests_total counter\nrequests_total{path=\"/a\"} %d\n", n);
  }));
  ScrapeConfig job = Job("node", {target.address()});
  job.params = {{"module", {"a b"}}};
  ASSERT_TRUE(manager_->ApplyConfig(WithJobs({job})).ok());
  ASSERT_TRUE(WaitForSamples("up", "node", 3));

  const std::map<std::string, std::vector<Sample>> series =
      Select({{"__name__", "requests_total"}});
  ASSERT_THAT(series, SizeIs(1));
  EXPECT_EQ(series.begin()->first, LabelsToString({{"__name__", "requests_total"},
                                                   {"instance", target.address()},
                                                   {"job", "node"},
                                                   {"path", "/a"}}));
  const std::vector<Sample> up = Samples("up", "node");
  const std::vector<Sample>& requests = series.begin()->second;
  ASSERT_GE(requests.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(requests[i].t, up[i].t) << "samples are stamped with their scrape's start";
    EXPECT_EQ(up[i].v, 1);
    if (i > 0) {
      EXPECT_GT(requests[i].v, requests[i - 1].v);
      EXPECT_GE(up[i].t - up[i - 1].t, 50) << "scrapes follow the 100 ms interval";
    }
  }
  EXPECT_EQ(Samples("scrape_samples_scraped", "node")[0].v, 1);
  EXPECT_EQ(Samples("scrape_samples_post_metric_relabeling", "node")[0].v, 1);
  const std::vector<Sample> added = Samples("scrape_series_added", "node");
  EXPECT_EQ(added[0].v, 1);
  EXPECT_EQ(added[1].v, 0);
  const std::vector<Sample> duration = Samples("scrape_duration_seconds", "node");
  ASSERT_FALSE(duration.empty());
  EXPECT_GT(duration[0].v, 0);
  EXPECT_LT(duration[0].v, 1);
  // Report series carry exactly the target labels.
  EXPECT_THAT(Select({{"__name__", "up"}}),
              OnlySeries(LabelsToString(
                  {{"__name__", "up"}, {"instance", target.address()}, {"job", "node"}})));

  const HttpRequest request = target.last_request();
  EXPECT_EQ(request.path, "/metrics");
  EXPECT_EQ(request.query, "module=a+b");
  EXPECT_EQ(request.Header("accept"),
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1");
  EXPECT_THAT(std::string(request.Header("user-agent")), StartsWith("Ember/"));
  EXPECT_EQ(request.Header("x-prometheus-scrape-timeout-seconds"), "0.08");
  EXPECT_THAT(std::string(request.Header("accept-encoding")), HasSubstr("gzip"));

  const TargetStatus status = OnlyTarget();
  EXPECT_EQ(status.scrape_pool, "node");
  EXPECT_EQ(status.health, "up");
  EXPECT_EQ(status.last_error, "");
  EXPECT_EQ(status.scrape_url, absl::StrCat("http://", target.address(), "/metrics?module=a+b"));
  EXPECT_EQ(status.labels, (Labels{{"instance", target.address()}, {"job", "node"}}));
  EXPECT_EQ(GetLabelValue(status.discovered_labels, "__address__"), target.address());
  EXPECT_EQ(GetLabelValue(status.discovered_labels, "__param_module"), "a b");
  EXPECT_EQ(GetLabelValue(status.discovered_labels, "__scrape_interval__"), "100ms");
  EXPECT_GE(status.last_scrape_ms, up[0].t);
  EXPECT_GT(status.last_scrape_duration_seconds, 0);
  EXPECT_EQ(status.last_samples, 1);
  EXPECT_EQ(status.scrape_interval_ms, 100);
  EXPECT_EQ(status.scrape_timeout_ms, 80);
  EXPECT_THAT(manager_->DroppedTargets(), IsEmpty());

  const std::string exposed = metrics_.Expose();
  EXPECT_THAT(exposed, HasSubstr("ember_scrapes_total{job=\"node\"}"));
  EXPECT_THAT(exposed, HasSubstr("ember_scrape_samples_stored_total{job=\"node\"}"));
  EXPECT_THAT(exposed, HasSubstr("ember_scrape_targets{job=\"node\",state=\"active\"} 1"));
}

TEST_F(ScrapeManagerTest, RelabelConfigsDropTargetsAndSetTargetLabels) {
  TestTarget target(TestTarget::Text([](int) { return std::string("m 1\n"); }));
  ScrapeConfig job = Job("web", {target.address(), "127.0.0.1:1"});
  job.static_configs[0].labels = {{"env", "prod"}};
  RelabelConfig keep;
  keep.source_labels = {"__address__"};
  keep.regex = target.address();
  keep.action = RelabelAction::kKeep;
  RelabelConfig name;
  name.target_label = "instance";
  name.replacement = "web-1";
  job.relabeler = Compile({keep, name});
  ASSERT_TRUE(manager_->ApplyConfig(WithJobs({job})).ok());

  const TargetStatus status = OnlyTarget();
  EXPECT_EQ(status.labels, (Labels{{"env", "prod"}, {"instance", "web-1"}, {"job", "web"}}));
  const std::vector<DroppedTargetStatus> dropped = manager_->DroppedTargets();
  ASSERT_THAT(dropped, SizeIs(1));
  EXPECT_EQ(dropped[0].scrape_pool, "web");
  EXPECT_EQ(dropped[0].discovered_labels, (Labels{{"__address__", "127.0.0.1:1"},
                                                  {"__metrics_path__", "/metrics"},
                                                  {"__scheme__", "http"},
                                                  {"__scrape_interval__", "100ms"},
                                                  {"__scrape_timeout__", "80ms"},
                                                  {"env", "prod"},
                                                  {"job", "web"}}));
  EXPECT_THAT(metrics_.Expose(),
              HasSubstr("ember_scrape_targets{job=\"web\",state=\"dropped\"} 1"));

  ASSERT_TRUE(WaitForSamples("m", "web", 1));
  EXPECT_THAT(Select({{"__name__", "m"}}),
              OnlySeries(LabelsToString(
                  {{"__name__", "m"}, {"env", "prod"}, {"instance", "web-1"}, {"job", "web"}})));
}

TEST_F(ScrapeManagerTest, MetricRelabelConfigsDropAndRenameSeries) {
  TestTarget target(TestTarget::Text(
      [](int) { return std::string("keep_me 1\ndrop_me 2\nmoved{a=\"x\"} 3\n"); }));
  ScrapeConfig job = Job("mr", {target.address()});
  RelabelConfig drop;
  drop.source_labels = {"__name__"};
  drop.regex = "drop_.*";
  drop.action = RelabelAction::kDrop;
  RelabelConfig copy;
  copy.source_labels = {"a"};
  copy.target_label = "b";
  RelabelConfig remove;
  remove.regex = "a";
  remove.action = RelabelAction::kLabelDrop;
  job.metric_relabeler = Compile({drop, copy, remove});
  ASSERT_TRUE(manager_->ApplyConfig(WithJobs({job})).ok());
  ASSERT_TRUE(WaitForSamples("up", "mr", 2));

  EXPECT_THAT(Samples("keep_me", "mr"), SizeIs(Ge(2u)));
  EXPECT_THAT(Select({{"__name__", "drop_me"}}), IsEmpty());
  EXPECT_THAT(
      Select({{"__name__", "moved"}}),
      OnlySeries(LabelsToString(
          {{"__name__", "moved"}, {"b", "x"}, {"instance", target.address()}, {"job", "mr"}})));
  EXPECT_EQ(Samples("scrape_samples_scraped", "mr")[0].v, 3);
  EXPECT_EQ(Samples("scrape_samples_post_metric_relabeling", "mr")[0].v, 2);
}

TEST_F(ScrapeManagerTest, HonorLabelsBothWays) {
  TestTarget target(TestTarget::Text(
      [](int) { return std::string("m{job=\"app\",instance=\"pod-1\",zone=\"z\"} 1\n"); }));
  ScrapeConfig renamed = Job("renamed", {target.address()});
  ScrapeConfig honored = Job("honored", {target.address()});
  honored.honor_labels = true;
  ASSERT_TRUE(manager_->ApplyConfig(WithJobs({renamed, honored})).ok());
  ASSERT_TRUE(WaitForSamples("up", "renamed", 1));
  ASSERT_TRUE(WaitForSamples("up", "honored", 1));
  ASSERT_TRUE(WaitFor([&] { return Select({{"__name__", "m"}}).size() == 2; }));

  const std::map<std::string, std::vector<Sample>> m = Select({{"__name__", "m"}});
  EXPECT_THAT(m, Contains(Pair(LabelsToString({{"__name__", "m"},
                                               {"exported_instance", "pod-1"},
                                               {"exported_job", "app"},
                                               {"instance", target.address()},
                                               {"job", "renamed"},
                                               {"zone", "z"}}),
                               SizeIs(Ge(1u)))));
  EXPECT_THAT(
      m,
      Contains(Pair(
          LabelsToString({{"__name__", "m"}, {"instance", "pod-1"}, {"job", "app"}, {"zone", "z"}}),
          SizeIs(Ge(1u)))));
}

TEST_F(ScrapeManagerTest, SampleLimitExceededFailsTheScrape) {
  TestTarget target(TestTarget::Text([](int) { return std::string("a 1\nb 2\nc 3\n"); }));
  ScrapeConfig job = Job("limited", {target.address()});
  job.sample_limit = 2;
  ASSERT_TRUE(manager_->ApplyConfig(WithJobs({job})).ok());
  ASSERT_TRUE(WaitForSamples("up", "limited", 2));

  for (const Sample& s : Samples("up", "limited")) EXPECT_EQ(s.v, 0);
  EXPECT_EQ(Samples("scrape_samples_scraped", "limited")[0].v, 3);
  EXPECT_THAT(Select({{"__name__", "a"}}), IsEmpty());
  const TargetStatus status = OnlyTarget();
  EXPECT_EQ(status.health, "down");
  EXPECT_THAT(status.last_error, HasSubstr("sample limit exceeded"));
  EXPECT_THAT(metrics_.Expose(), HasSubstr("ember_scrape_failures_total{job=\"limited\"}"));

  // Within the limit after metric relabeling, the scrape succeeds.
  RelabelConfig drop;
  drop.source_labels = {"__name__"};
  drop.regex = "c";
  drop.action = RelabelAction::kDrop;
  job.metric_relabeler = Compile({drop});
  ASSERT_TRUE(manager_->ApplyConfig(WithJobs({job})).ok());
  ASSERT_TRUE(WaitFor([&] {
    const std::vector<Sample> up = Samples("up", "limited");
    return !up.empty() && up.back().v == 1;
  }));
  EXPECT_THAT(Samples("a", "limited"), SizeIs(Ge(1u)));
}

TEST_F(ScrapeManagerTest, DisappearingSeriesGetsStaleMarker) {
  TestTarget target(TestTarget::Text(
      [](int n) { return n == 1 ? std::string("a 1\nb 1\n") : absl::StrFormat("a %d\n", n); }));
  ASSERT_TRUE(manager_->ApplyConfig(WithJobs({Job("stale", {target.address()})})).ok());
  ASSERT_TRUE(WaitForSamples("up", "stale", 3));

  const std::vector<Sample> up = Samples("up", "stale");
  const std::vector<Sample> b = Samples("b", "stale");
  ASSERT_THAT(b, SizeIs(2));
  EXPECT_EQ(b[0].t, up[0].t);
  EXPECT_EQ(b[0].v, 1);
  EXPECT_EQ(b[1].t, up[1].t) << "marked stale at the first scrape without it";
  EXPECT_TRUE(IsStaleNaN(b[1].v));
  for (const Sample& s : Samples("a", "stale")) EXPECT_FALSE(IsStaleNaN(s.v));
  EXPECT_EQ(Samples("scrape_series_added", "stale")[1].v, 0);
}

TEST_F(ScrapeManagerTest, TargetDownReportsUpZeroAndMarksSeriesStale) {
  TestTarget target(TestTarget::Text([](int) { return std::string("m 1\n"); }));
  ASSERT_TRUE(manager_->ApplyConfig(WithJobs({Job("down", {target.address()})})).ok());
  ASSERT_TRUE(WaitForSamples("m", "down", 2));
  target.Stop();
  ASSERT_TRUE(WaitFor([&] {
    const std::vector<Sample> up = Samples("up", "down");
    return up.size() >= 2 && up.back().v == 0 && up[up.size() - 2].v == 0;
  }));

  const std::vector<Sample> up = Samples("up", "down");
  size_t first_down = 0;
  while (up[first_down].v == 1) ++first_down;
  const std::vector<Sample> m = Samples("m", "down");
  ASSERT_EQ(m.size(), first_down + 1) << "one stale marker, then nothing";
  EXPECT_TRUE(IsStaleNaN(m.back().v));
  EXPECT_EQ(m.back().t, up[first_down].t);
  const TargetStatus status = OnlyTarget();
  EXPECT_EQ(status.health, "down");
  EXPECT_THAT(status.last_error,
              AllOf(StartsWith(absl::StrCat("Get \"http://", target.address(), "/metrics\": ")),
                    HasSubstr("connection refused")));
}

TEST_F(ScrapeManagerTest, RemovingTargetMarksItsSeriesStaleBeforeApplyConfigReturns) {
  TestTarget target(TestTarget::Text([](int) { return std::string("m 1\n"); }));
  ASSERT_TRUE(manager_->ApplyConfig(WithJobs({Job("gone", {target.address()})})).ok());
  ASSERT_TRUE(WaitForSamples("m", "gone", 2));
  ASSERT_TRUE(manager_->ApplyConfig(Config{}).ok());

  EXPECT_THAT(manager_->Targets(), IsEmpty());
  for (const std::string name : {"m", "up", "scrape_duration_seconds", "scrape_series_added"}) {
    SCOPED_TRACE(name);
    const std::vector<Sample> samples = Samples(name, "gone");
    ASSERT_GE(samples.size(), 2u);
    EXPECT_TRUE(IsStaleNaN(samples.back().v));
    EXPECT_FALSE(IsStaleNaN(samples[samples.size() - 2].v));
  }
  const int requests = target.requests();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // Three intervals.
  EXPECT_EQ(target.requests(), requests) << "the loop ended";
  EXPECT_THAT(metrics_.Expose(),
              HasSubstr("ember_scrape_targets{job=\"gone\",state=\"active\"} 0"));
}

TEST_F(ScrapeManagerTest, UnchangedTargetKeepsItsLoopAndTakesNewJobSettings) {
  TestTarget target(TestTarget::Text([](int) { return std::string("m 1\nn 1\n"); }));
  ScrapeConfig job = Job("kept", {target.address()});
  ASSERT_TRUE(manager_->ApplyConfig(WithJobs({job})).ok());
  ASSERT_TRUE(WaitForSamples("up", "kept", 2));
  const TargetStatus before = OnlyTarget();

  RelabelConfig drop;
  drop.source_labels = {"__name__"};
  drop.regex = "n";
  drop.action = RelabelAction::kDrop;
  job.metric_relabeler = Compile({drop});
  ASSERT_TRUE(manager_->ApplyConfig(WithJobs({job})).ok());
  const TargetStatus after = OnlyTarget();
  EXPECT_EQ(after.health, "up") << "the loop kept its state";
  EXPECT_GE(after.last_scrape_ms, before.last_scrape_ms);

  // The next scrape drops n, which then goes stale; up never does.
  ASSERT_TRUE(WaitFor([&] {
    const std::vector<Sample> n = Samples("n", "kept");
    return !n.empty() && IsStaleNaN(n.back().v);
  }));
  ASSERT_TRUE(WaitForSamples("up", "kept", Samples("up", "kept").size() + 1));
  for (const Sample& s : Samples("up", "kept")) EXPECT_EQ(s.v, 1);
  for (const Sample& s : Samples("m", "kept")) EXPECT_FALSE(IsStaleNaN(s.v));
}

TEST_F(ScrapeManagerTest, HonorTimestampsBothWays) {
  // A minute ago, whole seconds: within the writable window, and the same every scrape.
  const int64_t own_ms = (absl::ToUnixMillis(absl::Now()) - 60'000) / 1000 * 1000;
  TestTarget target(
      TestTarget::Text([own_ms](int) { return absl::StrFormat("stamped 1 %d\n", own_ms); }));
  ScrapeConfig honored = Job("own", {target.address()});
  ScrapeConfig ignored = Job("scrape", {target.address()});
  ignored.honor_timestamps = false;
  ASSERT_TRUE(manager_->ApplyConfig(WithJobs({honored, ignored})).ok());
  ASSERT_TRUE(WaitForSamples("up", "own", 2));
  ASSERT_TRUE(WaitForSamples("up", "scrape", 2));

  const std::vector<Sample> own = Samples("stamped", "own");
  ASSERT_THAT(own, SizeIs(1)) << "the same sample each scrape";
  EXPECT_EQ(own[0].t, own_ms);
  EXPECT_EQ(Samples("up", "own").back().v, 1) << OnlyTarget().last_error;
  const std::vector<Sample> up = Samples("up", "scrape");
  const std::vector<Sample> stamped = Samples("stamped", "scrape");
  ASSERT_GE(stamped.size(), 2u);
  EXPECT_EQ(stamped[0].t, up[0].t);
  EXPECT_EQ(stamped[1].t, up[1].t);
}

TEST_F(ScrapeManagerTest, ApplyConfigRejectsBadJobsAndChangesNothing) {
  TestTarget target(TestTarget::Text([](int) { return std::string("m 1\n"); }));
  ASSERT_TRUE(manager_->ApplyConfig(WithJobs({Job("a", {target.address()})})).ok());
  struct Case {
    std::string name;
    Config config;
    std::string error;
  };
  ScrapeConfig https = Job("b", {"h:1"});
  https.scheme = "https";
  ScrapeConfig slow_timeout = Job("c", {"h:1"}, 100, 200);
  const Case cases[] = {
      {"duplicate job", WithJobs({Job("b", {"h:1"}), Job("b", {"h:2"})}), "multiple scrape"},
      {"empty job name", WithJobs({Job("", {"h:1"})}), "job_name is empty"},
      {"https", WithJobs({https}), "not supported"},
      {"timeout above interval", WithJobs({slow_timeout}), "scrape timeout greater"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const absl::Status s = manager_->ApplyConfig(c.config);
    EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr(c.error));
    EXPECT_EQ(OnlyTarget().scrape_pool, "a");
  }
}

TEST_F(ScrapeManagerTest, GlobalIntervalAppliesAndFirstScrapeWaitsForItsOffset) {
  TestTarget target(TestTarget::Text([](int) { return std::string("m 1\n"); }));
  Config config = WithJobs({Job("hourly", {target.address()}, 0, 0)});
  config.global.scrape_interval_ms = 3'600'000;
  config.global.scrape_timeout_ms = 10'000;
  ASSERT_TRUE(manager_->ApplyConfig(config).ok());
  const TargetStatus status = OnlyTarget();
  EXPECT_EQ(status.scrape_interval_ms, 3'600'000);
  EXPECT_EQ(status.scrape_timeout_ms, 10'000);
  EXPECT_EQ(GetLabelValue(status.discovered_labels, "__scrape_interval__"), "1h");
  // The offset within the hour is a hash of the target: almost surely not the next few ms.
  EXPECT_EQ(status.health, "unknown");
  EXPECT_EQ(status.last_scrape_ms, 0);
}

TEST_F(ScrapeManagerTest, ConfigFromYaml) {
  TestTarget target(TestTarget::Text([](int) { return std::string("yaml_metric{x=\"1\"} 5\n"); }));
  const std::string yaml = absl::StrFormat(R"(
global:
  scrape_interval: 100ms
scrape_configs:
  - job_name: from_yaml
    static_configs:
      - targets: ['%s']
        labels: {team: infra}
    metric_relabel_configs:
      - source_labels: [x]
        target_label: y
      - regex: x
        action: labeldrop
)",
                                           target.address());
  absl::StatusOr<Config> config = ParseConfig(yaml, "prometheus.yml");
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_TRUE(manager_->ApplyConfig(*config).ok());
  ASSERT_TRUE(WaitForSamples("yaml_metric", "from_yaml", 1));
  EXPECT_THAT(Select({{"__name__", "yaml_metric"}}),
              OnlySeries(LabelsToString({{"__name__", "yaml_metric"},
                                         {"instance", target.address()},
                                         {"job", "from_yaml"},
                                         {"team", "infra"},
                                         {"y", "1"}})));
}

}  // namespace
}  // namespace ember::server
