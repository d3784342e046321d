#include "server/scrape/scrape_target.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ember/labels.h"
#include "server/config/config.h"
#include "server/scrape/relabel.h"

namespace ember::server {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::shared_ptr<const Relabeler> Compile(std::vector<RelabelConfig> steps) {
  absl::StatusOr<std::unique_ptr<Relabeler>> r = Relabeler::Compile(std::move(steps));
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? std::shared_ptr<const Relabeler>(std::move(*r)) : nullptr;
}

ScrapeConfig Job(std::vector<std::string> targets, Labels group_labels = {}) {
  ScrapeConfig job;
  job.job_name = "node";
  job.scrape_interval_ms = 15'000;
  job.scrape_timeout_ms = 10'000;
  job.static_configs.push_back(StaticConfig{std::move(targets), std::move(group_labels)});
  job.relabeler = Compile({});
  job.metric_relabeler = Compile({});
  return job;
}

TEST(BuildScrapeTargetsTest, DefaultsLabelsAndUrl) {
  ScrapeConfig job = Job({"10.0.0.1:9100"}, {{"env", "prod"}});
  job.params = {{"module", {"http 2xx", "second"}}, {"a", {"1"}}};
  std::vector<ScrapeTarget> active;
  std::vector<DroppedTarget> dropped;
  BuildScrapeTargets(job, &active, &dropped);
  EXPECT_THAT(dropped, IsEmpty());
  ASSERT_EQ(active.size(), 1u);
  const ScrapeTarget& t = active[0];
  EXPECT_EQ(t.job, "node");
  EXPECT_EQ(t.discovered_labels, (Labels{{"__address__", "10.0.0.1:9100"},
                                         {"__metrics_path__", "/metrics"},
                                         {"__param_a", "1"},
                                         {"__param_module", "http 2xx"},
                                         {"__scheme__", "http"},
                                         {"__scrape_interval__", "15s"},
                                         {"__scrape_timeout__", "10s"},
                                         {"env", "prod"},
                                         {"job", "node"}}));
  EXPECT_EQ(t.labels, (Labels{{"env", "prod"}, {"instance", "10.0.0.1:9100"}, {"job", "node"}}));
  // Keys sorted; every value of a param kept, as Go's url.Values.Encode.
  EXPECT_EQ(t.request_target, "/metrics?a=1&module=http+2xx&module=second");
  EXPECT_EQ(t.url, "http://10.0.0.1:9100/metrics?a=1&module=http+2xx&module=second");
  EXPECT_EQ(t.scheme, "http");
  EXPECT_EQ(t.address, "10.0.0.1:9100");
  EXPECT_EQ(t.interval_ms, 15'000);
  EXPECT_EQ(t.timeout_ms, 10'000);
}

TEST(BuildScrapeTargetsTest, GroupLabelsOverrideDefaultsAndParamLabelsOverrideParams) {
  ScrapeConfig job = Job({"h:1"}, {{"__metrics_path__", "probe"},
                                   {"__param_target", "example.com"},
                                   {"__scrape_interval__", "5s"},
                                   {"__scrape_timeout__", "2s"},
                                   {"job", "custom"}});
  job.params = {{"target", {"ignored", "kept"}}};
  std::vector<ScrapeTarget> active;
  std::vector<DroppedTarget> dropped;
  BuildScrapeTargets(job, &active, &dropped);
  EXPECT_THAT(dropped, IsEmpty());
  ASSERT_EQ(active.size(), 1u);
  EXPECT_EQ(active[0].request_target, "/probe?target=example.com&target=kept");
  EXPECT_EQ(active[0].interval_ms, 5'000);
  EXPECT_EQ(active[0].timeout_ms, 2'000);
  EXPECT_EQ(GetLabelValue(active[0].labels, "job"), "custom");
}

TEST(BuildScrapeTargetsTest, RelabelingRewritesAddressAndInstanceFollows) {
  ScrapeConfig job = Job({"a:1", "b:2", "c:3"});
  RelabelConfig drop_b;
  drop_b.source_labels = {"__address__"};
  drop_b.regex = "b:.*";
  drop_b.action = RelabelAction::kDrop;
  RelabelConfig move;  // a:1 -> a:9 (the instance label follows the new address)
  move.source_labels = {"__address__"};
  move.regex = "a:1";
  move.target_label = "__address__";
  move.replacement = "a:9";
  RelabelConfig name_c;  // c keeps its address, but gets its own instance label
  name_c.source_labels = {"__address__"};
  name_c.regex = "c:3";
  name_c.target_label = "instance";
  name_c.replacement = "web-c";
  RelabelConfig param;
  param.target_label = "__param_x";
  param.replacement = "y";
  job.relabeler = Compile({drop_b, move, name_c, param});
  std::vector<ScrapeTarget> active;
  std::vector<DroppedTarget> dropped;
  BuildScrapeTargets(job, &active, &dropped);
  ASSERT_EQ(active.size(), 2u);
  EXPECT_EQ(active[0].url, "http://a:9/metrics?x=y");
  EXPECT_EQ(active[0].labels, (Labels{{"instance", "a:9"}, {"job", "node"}}));
  EXPECT_EQ(GetLabelValue(active[0].discovered_labels, "__address__"), "a:1");
  EXPECT_EQ(active[1].url, "http://c:3/metrics?x=y");
  EXPECT_EQ(active[1].labels, (Labels{{"instance", "web-c"}, {"job", "node"}}));
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0].job, "node");
  EXPECT_EQ(GetLabelValue(dropped[0].discovered_labels, "__address__"), "b:2");
  EXPECT_EQ(dropped[0].reason, "dropped by relabel_configs");
}

TEST(BuildScrapeTargetsTest, UnusableRelabeledLabelsDropTheTarget) {
  struct Case {
    std::string name;
    std::string target_label;
    std::string replacement;
    std::string reason;
  };
  const Case cases[] = {
      {"empty address", "__address__", "", "no address"},
      {"bad interval", "__scrape_interval__", "soon", "error parsing scrape interval"},
      {"zero timeout", "__scrape_timeout__", "0s", "must be greater than 0"},
      {"timeout above interval", "__scrape_timeout__", "1m", "cannot be greater than scrape"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ScrapeConfig job = Job({"h:1"});
    RelabelConfig step;
    step.target_label = c.target_label;
    step.replacement = c.replacement;
    job.relabeler = Compile({step});
    std::vector<ScrapeTarget> active;
    std::vector<DroppedTarget> dropped;
    BuildScrapeTargets(job, &active, &dropped);
    EXPECT_THAT(active, IsEmpty());
    ASSERT_EQ(dropped.size(), 1u);
    EXPECT_THAT(dropped[0].reason, HasSubstr(c.reason));
  }
}

TEST(ScrapeTargetTest, KeyTellsJobsLabelsAndUrlsApart) {
  ScrapeTarget a;
  a.job = "j";
  a.labels = {{"instance", "h:1"}, {"job", "j"}};
  a.url = "http://h:1/metrics";
  ScrapeTarget b = a;
  EXPECT_EQ(a.Key(), b.Key());
  b.url = "http://h:1/metrics?x=1";
  EXPECT_NE(a.Key(), b.Key());
  b = a;
  b.labels.push_back({"zone", "z"});
  EXPECT_NE(a.Key(), b.Key());
  b = a;
  b.job = "k";
  EXPECT_NE(a.Key(), b.Key());
  b = a;
  b.interval_ms = 1;  // Not part of the identity: the loop takes it as a setting.
  EXPECT_EQ(a.Key(), b.Key());
}

TEST(AddTargetLabelsTest, HonorLabelsBothWays) {
  const Labels target = {{"instance", "h:1"}, {"job", "node"}};
  struct Case {
    std::string name;
    bool honor;
    Labels scraped;
    Labels want;  // Sorted.
  };
  const Case cases[] = {
      {"no conflict",
       false,
       {{"__name__", "m"}},
       {{"__name__", "m"}, {"instance", "h:1"}, {"job", "node"}}},
      {"conflict renamed",
       false,
       {{"__name__", "m"}, {"job", "app"}},
       {{"__name__", "m"}, {"exported_job", "app"}, {"instance", "h:1"}, {"job", "node"}}},
      {"exported name taken: prefixed again, shortest name first",
       false,
       {{"__name__", "m"}, {"instance", "x"}, {"job", "app"}, {"exported_job", "e"}},
       {{"__name__", "m"},
        {"exported_exported_job", "app"},
        {"exported_instance", "x"},
        {"exported_job", "e"},
        {"instance", "h:1"},
        {"job", "node"}}},
      {"empty scraped value is no conflict",
       false,
       {{"__name__", "m"}, {"job", ""}},
       {{"__name__", "m"}, {"instance", "h:1"}, {"job", "node"}}},
      {"honored: scraped wins",
       true,
       {{"__name__", "m"}, {"job", "app"}},
       {{"__name__", "m"}, {"instance", "h:1"}, {"job", "app"}}},
      {"honored: empty scraped value loses",
       true,
       {{"__name__", "m"}, {"job", ""}},
       {{"__name__", "m"}, {"instance", "h:1"}, {"job", "node"}}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Labels got = c.scraped;
    AddTargetLabels(target, c.honor, &got);
    CanonicalizeLabels(&got);
    EXPECT_EQ(got, c.want);
  }
}

TEST(ScrapeTargetTest, QueryEscapeAndFormatSeconds) {
  EXPECT_EQ(QueryEscape("aZ09-_.~"), "aZ09-_.~");
  EXPECT_EQ(QueryEscape("a b&c=d/é"), "a+b%26c%3Dd%2F%C3%A9");
  EXPECT_EQ(FormatSeconds(10'000), "10");
  EXPECT_EQ(FormatSeconds(250), "0.25");
  EXPECT_EQ(FormatSeconds(100'000'000), "100000");
  EXPECT_EQ(FormatSeconds(1), "0.001");
}

TEST(ScrapeTargetTest, SplitAddress) {
  struct Case {
    std::string address;
    std::string scheme;
    std::string host;  // "" when an error is expected.
    std::string port;
  };
  const Case cases[] = {
      {"127.0.0.1:9100", "http", "127.0.0.1", "9100"},
      {"example.com", "http", "example.com", "80"},
      {"example.com", "https", "example.com", "443"},
      {"[::1]:9090", "http", "::1", "9090"},
      {"[::1]", "http", "::1", "80"},
      {"::1", "http", "::1", "80"},
      {"h:", "http", "", ""},
      {":9090", "http", "", ""},
      {"h:99999", "http", "", ""},
      {"h:x1", "http", "", ""},
      {"[::1", "http", "", ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.address);
    absl::StatusOr<HostPort> hp = SplitAddress(c.address, c.scheme);
    if (c.host.empty()) {
      EXPECT_TRUE(absl::IsInvalidArgument(hp.status())) << hp.status();
      continue;
    }
    ASSERT_TRUE(hp.ok()) << hp.status();
    EXPECT_EQ(hp->host, c.host);
    EXPECT_EQ(hp->port, c.port);
  }
}

}  // namespace
}  // namespace ember::server
