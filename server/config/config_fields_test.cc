// What a configuration file reads as (see config_testing.h): every field, the defaults, how
// intervals and limits inherit, and the scrape targets kept.
#include "server/config/config_testing.h"

namespace ember::server {
namespace {

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

}  // namespace
}  // namespace ember::server
