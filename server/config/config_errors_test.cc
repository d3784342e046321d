// What a configuration file is refused for and how (see config_testing.h): errors naming file,
// line, column and key path, YAML syntax, unsupported features and bad relabel steps.
#include "server/config/config_testing.h"

namespace ember::server {
namespace {

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

}  // namespace
}  // namespace ember::server
