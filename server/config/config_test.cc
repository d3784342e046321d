#include "server/config/config.h"

#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "ember/labels.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/scrape/relabel.h"

namespace ember::server {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

absl::StatusOr<Config> Parse(std::string_view yaml) { return ParseConfig(yaml, "prometheus.yml"); }

// The error message of parsing `yaml`, or "OK".
std::string ErrorOf(std::string_view yaml) {
  absl::StatusOr<Config> config = Parse(yaml);
  if (config.ok()) return "OK";
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument) << config.status();
  const absl::string_view message = config.status().message();
  return std::string(message.data(), message.size());
}

constexpr std::string_view kFullConfig = R"(# Every field Ember supports.
global:
  scrape_interval: 15s
  scrape_timeout: 5s
  evaluation_interval: 30s
  sample_limit: 100000
  external_labels:
    region: eu-west-1
    replica: "A"
rule_files:
  - rules/*.yml
  - /etc/ember/alerts.yml
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["am1:9093", "am2:9093"]
          labels: {site: fra}
      scheme: http
      path_prefix: /alertmanager
      timeout: 5s
      api_version: v2
scrape_configs:
  - job_name: ember
    static_configs:
      - targets: [localhost:9090]
  - job_name: node
    metrics_path: /probe
    params:
      module: [http_2xx, tcp]
      target: [example.com]
    scheme: http
    scrape_interval: 1m30s
    scrape_timeout: 20s
    honor_labels: true
    honor_timestamps: false
    sample_limit: 5000
    static_configs:
      - targets: ["node1:9100", "node2:9100"]
        labels: {team: ml, env: prod}
      - targets: ["[::1]:9100", "edge"]
    relabel_configs:
      - source_labels: [__address__]
        regex: "([^:]+):\\d+"
        target_label: host
        replacement: "$1"
      - source_labels: [env, team]
        separator: "-"
        regex: prod-.*
        action: keep
      - source_labels: [__address__]
        modulus: 4
        target_label: __tmp_shard
        action: hashmod
    metric_relabel_configs:
      - regex: go_.*
        action: labeldrop
)";

TEST(ParseConfigTest, ReadsEveryField) {
  absl::StatusOr<Config> config = ParseConfig(kFullConfig, "/etc/ember/prometheus.yml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->source_file, "/etc/ember/prometheus.yml");

  EXPECT_EQ(config->global.scrape_interval_ms, 15'000);
  EXPECT_EQ(config->global.scrape_timeout_ms, 5'000);
  EXPECT_EQ(config->global.evaluation_interval_ms, 30'000);
  EXPECT_EQ(config->global.sample_limit, 100'000u);
  EXPECT_THAT(config->global.external_labels,
              ElementsAre(Label{"region", "eu-west-1"}, Label{"replica", "A"}));

  // Relative to the config file's directory, as Prometheus's LoadFile makes them.
  EXPECT_THAT(config->rule_files, ElementsAre("/etc/ember/rules/*.yml", "/etc/ember/alerts.yml"));

  ASSERT_EQ(config->alertmanagers.size(), 1u);
  const AlertmanagerConfig& am = config->alertmanagers[0];
  ASSERT_EQ(am.static_configs.size(), 1u);
  EXPECT_THAT(am.static_configs[0].targets, ElementsAre("am1:9093", "am2:9093"));
  EXPECT_THAT(am.static_configs[0].labels, ElementsAre(Label{"site", "fra"}));
  EXPECT_EQ(am.scheme, "http");
  EXPECT_EQ(am.path_prefix, "/alertmanager");
  EXPECT_EQ(am.timeout_ms, 5'000);
  EXPECT_EQ(am.api_version, "v2");

  ASSERT_EQ(config->scrape_configs.size(), 2u);
  const ScrapeConfig& ember = config->scrape_configs[0];
  EXPECT_EQ(ember.job_name, "ember");
  EXPECT_EQ(ember.scrape_interval_ms, 15'000);
  EXPECT_EQ(ember.scrape_timeout_ms, 5'000);
  EXPECT_EQ(ember.sample_limit, 100'000u);
  EXPECT_THAT(ember.relabel_configs, IsEmpty());

  const ScrapeConfig& node = config->scrape_configs[1];
  EXPECT_EQ(node.job_name, "node");
  EXPECT_EQ(node.metrics_path, "/probe");
  EXPECT_EQ(node.params.size(), 2u);
  EXPECT_THAT(node.params.at("module"), ElementsAre("http_2xx", "tcp"));
  EXPECT_THAT(node.params.at("target"), ElementsAre("example.com"));
  EXPECT_EQ(node.scheme, "http");
  EXPECT_EQ(node.scrape_interval_ms, 90'000);
  EXPECT_EQ(node.scrape_timeout_ms, 20'000);
  EXPECT_TRUE(node.honor_labels);
  EXPECT_FALSE(node.honor_timestamps);
  EXPECT_EQ(node.sample_limit, 5'000u);
  ASSERT_EQ(node.static_configs.size(), 2u);
  EXPECT_THAT(node.static_configs[0].targets, ElementsAre("node1:9100", "node2:9100"));
  EXPECT_THAT(node.static_configs[0].labels,
              ElementsAre(Label{"env", "prod"}, Label{"team", "ml"}));  // Sorted.
  EXPECT_THAT(node.static_configs[1].targets, ElementsAre("[::1]:9100", "edge"));
  EXPECT_THAT(node.static_configs[1].labels, IsEmpty());

  ASSERT_EQ(node.relabel_configs.size(), 3u);
  const RelabelConfig& host = node.relabel_configs[0];
  EXPECT_THAT(host.source_labels, ElementsAre("__address__"));
  EXPECT_EQ(host.separator, ";");
  EXPECT_EQ(host.regex, "([^:]+):\\d+");
  EXPECT_EQ(host.target_label, "host");
  EXPECT_EQ(host.replacement, "$1");
  EXPECT_EQ(host.action, RelabelAction::kReplace);
  const RelabelConfig& keep = node.relabel_configs[1];
  EXPECT_THAT(keep.source_labels, ElementsAre("env", "team"));
  EXPECT_EQ(keep.separator, "-");
  EXPECT_EQ(keep.regex, "prod-.*");
  EXPECT_EQ(keep.action, RelabelAction::kKeep);
  const RelabelConfig& shard = node.relabel_configs[2];
  EXPECT_EQ(shard.modulus, 4u);
  EXPECT_EQ(shard.target_label, "__tmp_shard");
  EXPECT_EQ(shard.action, RelabelAction::kHashMod);
  ASSERT_EQ(node.metric_relabel_configs.size(), 1u);
  EXPECT_EQ(node.metric_relabel_configs[0].regex, "go_.*");
  EXPECT_EQ(node.metric_relabel_configs[0].action, RelabelAction::kLabelDrop);

  // The compiled relabelers are the scraper's.
  ASSERT_NE(node.relabeler, nullptr);
  Labels target = {{"__address__", "node1:9100"}, {"env", "prod"}, {"team", "ml"}};
  ASSERT_TRUE(node.relabeler->Apply(&target));
  EXPECT_EQ(GetLabelValue(target, "host"), "node1");
  Labels other_env = {{"__address__", "node1:9100"}, {"env", "dev"}, {"team", "ml"}};
  EXPECT_FALSE(node.relabeler->Apply(&other_env));
  ASSERT_NE(node.metric_relabeler, nullptr);
  Labels series = {{"__name__", "up"}, {"go_version", "1.21"}, {"job", "node"}};
  ASSERT_TRUE(node.metric_relabeler->Apply(&series));
  EXPECT_EQ(series, (Labels{{"__name__", "up"}, {"job", "node"}}));
}

TEST(ParseConfigTest, EmptyDocumentIsTheDefaultConfig) {
  for (const std::string_view yaml : {"", "# nothing\n", "global:\n", "global: {}\n"}) {
    SCOPED_TRACE(yaml);
    absl::StatusOr<Config> config = Parse(yaml);
    ASSERT_TRUE(config.ok()) << config.status();
    EXPECT_EQ(config->global.scrape_interval_ms, 60'000);
    EXPECT_EQ(config->global.scrape_timeout_ms, 10'000);
    EXPECT_EQ(config->global.evaluation_interval_ms, 60'000);
    EXPECT_THAT(config->global.external_labels, IsEmpty());
    EXPECT_THAT(config->rule_files, IsEmpty());
    EXPECT_THAT(config->alertmanagers, IsEmpty());
    EXPECT_THAT(config->scrape_configs, IsEmpty());
  }
}

TEST(ParseConfigTest, ScrapeAndAlertmanagerDefaults) {
  absl::StatusOr<Config> config = Parse(R"(
alerting:
  alertmanagers:
    - static_configs: [{targets: ["localhost:9093"]}]
scrape_configs:
  - job_name: a
    static_configs: [{targets: ["localhost:9100"]}]
)");
  ASSERT_TRUE(config.ok()) << config.status();
  const ScrapeConfig& sc = config->scrape_configs[0];
  EXPECT_EQ(sc.metrics_path, "/metrics");
  EXPECT_EQ(sc.scheme, "http");
  EXPECT_THAT(sc.params, IsEmpty());
  EXPECT_EQ(sc.scrape_interval_ms, 60'000);
  EXPECT_EQ(sc.scrape_timeout_ms, 10'000);
  EXPECT_FALSE(sc.honor_labels);
  EXPECT_TRUE(sc.honor_timestamps);
  EXPECT_EQ(sc.sample_limit, 0u);
  // Never null after ParseConfig: no steps keep every label set as it is.
  ASSERT_NE(sc.relabeler, nullptr);
  ASSERT_NE(sc.metric_relabeler, nullptr);
  Labels labels = {{"__address__", "localhost:9100"}};
  EXPECT_TRUE(sc.relabeler->Apply(&labels));
  EXPECT_EQ(labels, (Labels{{"__address__", "localhost:9100"}}));

  const AlertmanagerConfig& am = config->alertmanagers[0];
  EXPECT_EQ(am.scheme, "http");
  EXPECT_EQ(am.path_prefix, "/");
  EXPECT_EQ(am.timeout_ms, 10'000);
  EXPECT_EQ(am.api_version, "v2");
}

TEST(ParseConfigTest, IntervalsAndLimitsInheritAsPrometheus) {
  struct Case {
    std::string name;
    std::string yaml;
    int64_t global_interval_ms, global_timeout_ms, job_interval_ms, job_timeout_ms;
    uint64_t job_sample_limit;
  };
  const Case cases[] = {
      {"all defaults", "scrape_configs: [{job_name: a}]", 60'000, 10'000, 60'000, 10'000, 0},
      // An unset global timeout is at most the global interval.
      {"short global interval", "global: {scrape_interval: 5s}\nscrape_configs: [{job_name: a}]",
       5'000, 5'000, 5'000, 5'000, 0},
      // An unset job timeout is min(global timeout, job interval).
      {"short job interval",
       "global: {scrape_interval: 30s, scrape_timeout: 20s}\n"
       "scrape_configs: [{job_name: a, scrape_interval: 15s}]",
       30'000, 20'000, 15'000, 15'000, 0},
      {"long job interval", "scrape_configs: [{job_name: a, scrape_interval: 2m}]", 60'000, 10'000,
       120'000, 10'000, 0},
      {"job timeout", "scrape_configs: [{job_name: a, scrape_timeout: 1m}]", 60'000, 10'000, 60'000,
       60'000, 0},
      // Zero is "not set", as in Prometheus.
      {"zero durations",
       "global: {scrape_interval: 0s, scrape_timeout: 0, evaluation_interval: 0s}\n"
       "scrape_configs: [{job_name: a, scrape_interval: 0s}]",
       60'000, 10'000, 60'000, 10'000, 0},
      {"global sample_limit", "global: {sample_limit: 10}\nscrape_configs: [{job_name: a}]", 60'000,
       10'000, 60'000, 10'000, 10},
      {"job sample_limit",
       "global: {sample_limit: 10}\nscrape_configs: [{job_name: a, sample_limit: 5}]", 60'000,
       10'000, 60'000, 10'000, 5},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    absl::StatusOr<Config> config = Parse(c.yaml);
    ASSERT_TRUE(config.ok()) << config.status();
    EXPECT_EQ(config->global.scrape_interval_ms, c.global_interval_ms);
    EXPECT_EQ(config->global.scrape_timeout_ms, c.global_timeout_ms);
    EXPECT_EQ(config->global.evaluation_interval_ms, 60'000);
    ASSERT_EQ(config->scrape_configs.size(), 1u);
    EXPECT_EQ(config->scrape_configs[0].scrape_interval_ms, c.job_interval_ms);
    EXPECT_EQ(config->scrape_configs[0].scrape_timeout_ms, c.job_timeout_ms);
    EXPECT_EQ(config->scrape_configs[0].sample_limit, c.job_sample_limit);
  }
}

TEST(ParseConfigTest, SectionsInheritWhateverTheirOrderInTheFile) {
  absl::StatusOr<Config> config = Parse(R"(scrape_configs:
  - job_name: a
global:
  scrape_interval: 7s
)");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->scrape_configs[0].scrape_interval_ms, 7'000);
}

TEST(ParseConfigTest, ErrorsNameFileLineColumnAndKeyPath) {
  struct Case {
    std::string name;
    std::string yaml;
    std::string want;
  };
  const Case cases[] = {
      {"unknown field",
       "scrape_configs:\n"
       "  - job_name: node\n"
       "    scrape_intervall: 15s\n",
       "prometheus.yml:3:5: scrape_configs[0]: unknown field \"scrape_intervall\" (did you mean "
       "\"scrape_interval\"?)"},
      {"unknown top-level field", "scrape_config:\n  - job_name: x\n",
       "prometheus.yml:1:1: unknown field \"scrape_config\" (did you mean \"scrape_configs\"?)"},
      {"unknown field, nothing close", "global:\n  colour: blue\n",
       "prometheus.yml:2:3: global: unknown field \"colour\""},
      {"duration given a sequence", "global:\n  scrape_interval: [1]\n",
       "prometheus.yml:2:20: global.scrape_interval: expected a duration such as \"15s\", got a "
       "sequence"},
      {"bare number duration", "global:\n  scrape_interval: 15\n",
       "prometheus.yml:2:20: global.scrape_interval: not a valid duration string: \"15\" (a "
       "duration needs a unit, e.g. \"15s\")"},
      {"float duration", "global:\n  evaluation_interval: 1.5m\n",
       "prometheus.yml:2:24: global.evaluation_interval: unknown unit \".\" in duration "
       "\"1.5m\""},
      {"job timeout above interval",
       "scrape_configs:\n"
       "  - job_name: node\n"
       "    scrape_interval: 10s\n"
       "    scrape_timeout: 15s\n",
       "prometheus.yml:4:21: scrape_configs[0].scrape_timeout: scrape timeout greater than "
       "scrape interval for scrape config with job name \"node\" (15s > 10s)"},
      {"job timeout above inherited interval",
       "global:\n  scrape_interval: 10s\nscrape_configs:\n  - job_name: node\n"
       "    scrape_timeout: 11s\n",
       "prometheus.yml:5:21: scrape_configs[0].scrape_timeout: scrape timeout greater than "
       "scrape interval for scrape config with job name \"node\" (11s > 10s)"},
      {"global timeout above interval", "global:\n  scrape_interval: 5s\n  scrape_timeout: 6s\n",
       "prometheus.yml:3:19: global.scrape_timeout: global scrape timeout greater than scrape "
       "interval (6s > 5s)"},
      {"duplicate job_name", "scrape_configs:\n  - job_name: a\n  - job_name: b\n  - job_name: a\n",
       "prometheus.yml:4:5: scrape_configs[2]: found multiple scrape configs with job name \"a\" "
       "(first at line 2)"},
      {"missing job_name", "scrape_configs:\n  - static_configs: []\n",
       "prometheus.yml:2:5: scrape_configs[0]: job_name is empty"},
      {"null scrape config", "scrape_configs:\n  -\n",
       "prometheus.yml:2:3: scrape_configs[0]: empty or null scrape config section"},
      {"URL as target",
       "scrape_configs:\n  - job_name: a\n    static_configs:\n"
       "      - targets: [\"http://x:9100/metrics\"]\n",
       "prometheus.yml:4:19: scrape_configs[0].static_configs[0].targets[0]: "
       "\"http://x:9100/metrics\" is not a valid hostname (a target is host:port; set scheme "
       "and metrics_path for the rest of the URL)"},
      {"empty target",
       "scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: [\"\"]\n",
       "prometheus.yml:4:19: scrape_configs[0].static_configs[0].targets[0]: empty target (want "
       "host:port)"},
      {"bad port",
       "scrape_configs:\n  - job_name: a\n    static_configs:\n"
       "      - targets: [a:9100, \"a:http\"]\n",
       "prometheus.yml:4:27: scrape_configs[0].static_configs[0].targets[1]: \"a:http\" has an "
       "invalid port \"http\" (want 1 to 65535)"},
      {"port out of range",
       "scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: [a:65536]\n",
       "prometheus.yml:4:19: scrape_configs[0].static_configs[0].targets[0]: \"a:65536\" has an "
       "invalid port \"65536\" (want 1 to 65535)"},
      {"IPv6 without brackets",
       "scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: [\"::1:9100\"]\n",
       "prometheus.yml:4:19: scrape_configs[0].static_configs[0].targets[0]: \"::1:9100\" is not "
       "a valid address (too many colons; write an IPv6 address in brackets: [::1]:9100)"},
      {"Alertmanager URL as target",
       "alerting:\n  alertmanagers:\n    - static_configs:\n"
       "        - targets: [\"http://am:9093\"]\n",
       "prometheus.yml:4:21: alerting.alertmanagers[0].static_configs[0].targets[0]: "
       "\"http://am:9093\" is not a valid hostname (a target is host:port; set scheme and "
       "metrics_path for the rest of the URL)"},
      {"empty external label name", "global:\n  external_labels:\n    \"\": x\n",
       "prometheus.yml:3:5: global.external_labels: \"\" is not a valid label name (empty)"},
      {"target label value is a mapping",
       "scrape_configs:\n  - job_name: a\n    static_configs:\n"
       "      - labels: {env: {a: b}}\n",
       "prometheus.yml:4:23: scrape_configs[0].static_configs[0].labels.env: expected a string, "
       "got a mapping"},
      {"labels is a sequence",
       "scrape_configs:\n  - job_name: a\n    static_configs:\n      - labels: [a]\n",
       "prometheus.yml:4:17: scrape_configs[0].static_configs[0].labels: expected a mapping, got "
       "a sequence"},
      {"static_configs is a mapping",
       "scrape_configs:\n  - job_name: a\n    static_configs:\n      targets: [a:1]\n",
       "prometheus.yml:4:7: scrape_configs[0].static_configs: expected a sequence, got a "
       "mapping"},
      {"params value is not a list",
       "scrape_configs:\n  - job_name: a\n    params:\n      module: http_2xx\n",
       "prometheus.yml:4:15: scrape_configs[0].params.module: expected a sequence, got the "
       "scalar \"http_2xx\""},
      {"bool", "scrape_configs:\n  - job_name: a\n    honor_labels: maybe\n",
       "prometheus.yml:3:19: scrape_configs[0].honor_labels: expected true or false, got the "
       "scalar \"maybe\""},
      {"negative sample_limit", "scrape_configs:\n  - job_name: a\n    sample_limit: -1\n",
       "prometheus.yml:3:19: scrape_configs[0].sample_limit: expected a non-negative integer, "
       "got the scalar \"-1\""},
      {"duplicate key", "global:\n  scrape_interval: 15s\n  scrape_interval: 30s\n",
       "prometheus.yml:3:3: global: duplicate key \"scrape_interval\" (first at line 2, "
       "column 3)"},
      {"invalid rule file glob", "rule_files:\n  - rules*/x.yml\n",
       "prometheus.yml:2:5: rule_files[0]: invalid rule file path \"rules*/x.yml\" (a '*' may "
       "only appear in the last path element)"},
      {"Alertmanager API v1", "alerting:\n  alertmanagers:\n    - api_version: v1\n",
       "prometheus.yml:3:20: alerting.alertmanagers[0].api_version: expected Alertmanager api "
       "version to be one of [v2] but got v1"},
      {"top level is a sequence", "- job_name: a\n",
       "prometheus.yml:1:1: expected a mapping at the top level, got a sequence"},
      {"complex key", "global:\n  ? [a]\n  : b\n",
       "prometheus.yml:2:5: global: expected a string key, got a sequence"},
      {"scheme", "scrape_configs:\n  - job_name: a\n    scheme: ftp\n",
       "prometheus.yml:3:13: scrape_configs[0].scheme: invalid scheme \"ftp\" (want http)"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(ErrorOf(c.yaml), c.want);
  }
}

TEST(ParseConfigTest, YamlSyntaxErrorsHaveAPosition) {
  const std::string error = ErrorOf("global:\n  scrape_interval: 15s\n bad: [\n");
  EXPECT_THAT(error, StartsWith("prometheus.yml:"));
  EXPECT_THAT(error, HasSubstr(": invalid YAML: "));
  const std::string tab = ErrorOf("global:\n\tscrape_interval: 15s\n");
  EXPECT_THAT(tab, StartsWith("prometheus.yml:2:"));
}

TEST(ParseConfigTest, UnsupportedFeaturesSaySo) {
  struct Case {
    std::string name;
    std::string yaml;
    std::string want;
  };
  const Case cases[] = {
      {"service discovery",
       "scrape_configs:\n  - job_name: k8s\n    kubernetes_sd_configs:\n      - role: pod\n",
       "prometheus.yml:3:5: scrape_configs[0]: kubernetes_sd_configs is not supported by Ember"},
      {"file_sd", "scrape_configs:\n  - job_name: f\n    file_sd_configs: [{files: [a.json]}]\n",
       "prometheus.yml:3:5: scrape_configs[0]: file_sd_configs is not supported by Ember"},
      {"https", "scrape_configs:\n  - job_name: a\n    scheme: https\n",
       "prometheus.yml:3:13: scrape_configs[0].scheme: https is not supported by Ember"},
      {"basic_auth", "scrape_configs:\n  - job_name: a\n    basic_auth: {username: u}\n",
       "prometheus.yml:3:5: scrape_configs[0]: basic_auth is not supported by Ember"},
      {"tls_config", "scrape_configs:\n  - job_name: a\n    tls_config: {ca_file: ca.pem}\n",
       "prometheus.yml:3:5: scrape_configs[0]: tls_config is not supported by Ember"},
      {"authorization", "scrape_configs:\n  - job_name: a\n    authorization: {credentials: x}\n",
       "prometheus.yml:3:5: scrape_configs[0]: authorization is not supported by Ember"},
      {"scrape limits", "scrape_configs:\n  - job_name: a\n    label_limit: 30\n",
       "prometheus.yml:3:5: scrape_configs[0]: label_limit is not supported by Ember"},
      {"remote_write", "remote_write:\n  - url: http://x/api/v1/write\n",
       "prometheus.yml:1:1: remote_write is not supported by Ember"},
      {"global option", "global:\n  query_log_file: q.log\n",
       "prometheus.yml:2:3: global: query_log_file is not supported by Ember"},
      {"alert relabeling", "alerting:\n  alert_relabel_configs: []\n",
       "prometheus.yml:2:3: alerting: alert_relabel_configs is not supported by Ember"},
      {"Alertmanager discovery",
       "alerting:\n  alertmanagers:\n    - dns_sd_configs: [{names: [am]}]\n",
       "prometheus.yml:3:7: alerting.alertmanagers[0]: dns_sd_configs is not supported by Ember"},
      {"Alertmanager https", "alerting:\n  alertmanagers:\n    - scheme: https\n",
       "prometheus.yml:3:15: alerting.alertmanagers[0].scheme: https is not supported by Ember"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(ErrorOf(c.yaml), c.want);
  }
}

TEST(ParseConfigTest, RelabelErrorsPointAtTheStep) {
  struct Case {
    std::string name;
    std::string yaml;
    std::string want;
  };
  const Case cases[] = {
      {"hashmod without modulus",
       "scrape_configs:\n"
       "  - job_name: a\n"
       "    metric_relabel_configs:\n"
       "      - source_labels: [a]\n"
       "        target_label: b\n"
       "      - source_labels: [a]\n"
       "        target_label: b\n"
       "        action: hashmod\n",
       "prometheus.yml:6:9: scrape_configs[0].metric_relabel_configs[1]: relabel configuration "
       "for hashmod requires non-zero modulus"},
      {"replace without target_label",
       "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - source_labels: [a]\n",
       "prometheus.yml:4:9: scrape_configs[0].relabel_configs[0]: relabel configuration for "
       "replace action requires 'target_label' value"},
      {"unknown action",
       "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - action: repalce\n",
       "prometheus.yml:4:17: scrape_configs[0].relabel_configs[0].action: unknown relabel action "
       "\"repalce\""},
      {"misspelt field",
       "scrape_configs:\n  - job_name: a\n    relabel_configs:\n"
       "      - sources_labels: [a]\n",
       "prometheus.yml:4:9: scrape_configs[0].relabel_configs[0]: unknown field "
       "\"sources_labels\" (did you mean \"source_labels\"?)"},
      {"null step",
       "scrape_configs:\n  - job_name: a\n    relabel_configs:\n"
       "      - {source_labels: [a], target_label: b}\n      -\n",
       "prometheus.yml:4:7: scrape_configs[0].relabel_configs[1]: empty relabel step"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(ErrorOf(c.yaml), c.want);
  }

  // The regex error's text is RE2's.
  const std::string regex = ErrorOf(
      "scrape_configs:\n"
      "  - job_name: a\n"
      "    relabel_configs:\n"
      "      - source_labels: [a]\n"
      "        target_label: b\n"
      "      - source_labels: [a]\n"
      "        regex: \"(unclosed\"\n"
      "        target_label: b\n");
  EXPECT_THAT(regex, StartsWith("prometheus.yml:6:9: scrape_configs[0].relabel_configs[1]: "
                                "invalid regex \"(unclosed\": "));
}

TEST(ParseConfigTest, RelabelingRelaxesTheTargetChecks) {
  // As Prometheus's checkStaticTargets: relabel_configs may rewrite __address__.
  absl::StatusOr<Config> config = Parse(R"(scrape_configs:
  - job_name: blackbox
    static_configs:
      - targets: ["https://example.com/health"]
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - target_label: __address__
        replacement: localhost:9115
)");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_THAT(config->scrape_configs[0].static_configs[0].targets,
              ElementsAre("https://example.com/health"));
  // An empty target is still an error.
  EXPECT_EQ(ErrorOf(R"(scrape_configs:
  - job_name: a
    static_configs:
      - targets: [""]
    relabel_configs:
      - target_label: __address__
        replacement: localhost:9115
)"),
            "prometheus.yml:4:19: scrape_configs[0].static_configs[0].targets[0]: empty target "
            "(want host:port)");
}

TEST(ParseConfigTest, TargetsWithoutAPortAreKept) {
  // Prometheus 3 connects to the scheme's default port without adding it to the address.
  absl::StatusOr<Config> config = Parse(
      "scrape_configs:\n  - job_name: a\n"
      "    static_configs: [{targets: [example.com, \"[2001:db8::1]\", \"10.0.0.1:80\"]}]\n");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_THAT(config->scrape_configs[0].static_configs[0].targets,
              ElementsAre("example.com", "[2001:db8::1]", "10.0.0.1:80"));
}

TEST(ParseConfigTest, AnchorsAliasesAndMergeKeys) {
  absl::StatusOr<Config> config = Parse(R"(scrape_configs:
  - &base
    job_name: a
    scrape_interval: 5s
    honor_labels: true
    relabel_configs: &keep_prod
      - source_labels: [env]
        regex: prod
        action: keep
  - <<: *base
    job_name: b
    honor_labels: false
  - job_name: c
    relabel_configs: *keep_prod
)");
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->scrape_configs.size(), 3u);
  const ScrapeConfig& b = config->scrape_configs[1];
  EXPECT_EQ(b.job_name, "b");  // Written in the mapping: wins over the merged value.
  EXPECT_EQ(b.scrape_interval_ms, 5'000);
  EXPECT_FALSE(b.honor_labels);
  ASSERT_EQ(b.relabel_configs.size(), 1u);
  const ScrapeConfig& c = config->scrape_configs[2];
  ASSERT_EQ(c.relabel_configs.size(), 1u);
  EXPECT_EQ(c.relabel_configs[0].action, RelabelAction::kKeep);
  Labels dev = {{"env", "dev"}};
  EXPECT_FALSE(c.relabeler->Apply(&dev));
}

TEST(ParseConfigTest, NullIsTheZeroValue) {
  // As yaml.v2 decodes an explicit null into a Go field.
  absl::StatusOr<Config> config = Parse(R"(rule_files:
alerting:
scrape_configs:
  - job_name: a
    static_configs:
    params:
    honor_timestamps:
    relabel_configs:
      - source_labels: [a]
        target_label: b
        replacement:
)");
  ASSERT_TRUE(config.ok()) << config.status();
  const ScrapeConfig& sc = config->scrape_configs[0];
  EXPECT_FALSE(sc.honor_timestamps);
  EXPECT_EQ(sc.relabel_configs[0].replacement, "");
}

TEST(ParseConfigTest, ExternalLabelsExpandEnvironmentVariables) {
  setenv("EMBER_CONFIG_TEST_DC", "fra1", 1);
  unsetenv("EMBER_CONFIG_TEST_UNSET");
  absl::StatusOr<Config> config = Parse(R"(global:
  external_labels:
    dc: ${EMBER_CONFIG_TEST_DC}
    short: $EMBER_CONFIG_TEST_DC-x
    cost: $$5
    trailing: a$
    unset: x${EMBER_CONFIG_TEST_UNSET}y
    unclosed: a${b
    empty: x${}y
scrape_configs:
  - job_name: a
    static_configs:
      - labels: {dc: "${EMBER_CONFIG_TEST_DC}"}
)");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_THAT(config->global.external_labels,
              ElementsAre(Label{"cost", "$5"}, Label{"dc", "fra1"}, Label{"empty", "xy"},
                          Label{"short", "fra1-x"}, Label{"trailing", "a$"},
                          Label{"unclosed", "ab"}, Label{"unset", "xy"}));
  // Only external labels, as Prometheus.
  EXPECT_THAT(config->scrape_configs[0].static_configs[0].labels,
              ElementsAre(Label{"dc", "${EMBER_CONFIG_TEST_DC}"}));
}

TEST(ParseConfigTest, LabelNamesAreUtf8AsPrometheus3) {
  absl::StatusOr<Config> config =
      Parse("global:\n  external_labels:\n    \"cluster.name\": a\n    \"名前\": b\n");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_THAT(config->global.external_labels,
              ElementsAre(Label{"cluster.name", "a"}, Label{"名前", "b"}));
  EXPECT_EQ(ErrorOf("global:\n  external_labels:\n    \"a\xff\": b\n"),
            "prometheus.yml:3:5: global.external_labels: \"a\\xff\" is not a valid label name "
            "(not UTF-8)");
}

}  // namespace
}  // namespace ember::server
