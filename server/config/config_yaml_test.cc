// YAML and value details of a configuration file (see config_testing.h): anchors, aliases and
// merge keys, null, environment variables in external labels, UTF-8 label names.
#include "server/config/config_testing.h"

namespace ember::server {
namespace {

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
