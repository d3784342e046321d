// Ember's configuration file: a compatible subset of Prometheus's prometheus.yml, read for
// `ember serve --config.file` (scraping, rules, alerting) and `ember check config`. Plain structs;
// ParseConfig() validates everything (relabel steps compiled, durations, targets, label names)
// and either returns a whole Config or an error, so a running server swaps configs only for one
// that is valid in full.
//
// The supported subset, with Prometheus's defaults:
//
//   global:
//     scrape_interval: 1m        scrape_timeout: 10s (at most scrape_interval)
//     evaluation_interval: 1m    external_labels: {name: value}  ($VAR / ${VAR} expanded)
//     sample_limit: 0 (none)
//   rule_files: [glob, ...]      # relative to the config file's directory
//   alerting:
//     alertmanagers:
//     - static_configs: [{targets: [host:port], labels: {...}}]
//       scheme: http             path_prefix: /     timeout: 10s    api_version: v2
//   scrape_configs:
//   - job_name: name             # required, unique
//     static_configs: [{targets: [host:port, ...], labels: {name: value}}]
//     metrics_path: /metrics     params: {name: [value, ...]}       scheme: http
//     scrape_interval, scrape_timeout: from global (timeout at most the interval)
//     honor_labels: false        honor_timestamps: true             sample_limit: global
//     relabel_configs: [...]     metric_relabel_configs: [...]
//       # source_labels, separator, regex, modulus, target_label, replacement, action
//
// Anything else Prometheus knows (scheme: https, tls_config, basic_auth, authorization, oauth2,
// every *_sd_config, remote_write, remote_read, storage, limits, native histogram settings...)
// is an error that says "<field> is not supported by Ember"; a key neither knows is an error too.
// YAML as Prometheus's (Go yaml.v2, strict): anchors, aliases and `<<` merge keys work; duplicate
// keys are errors; an explicit null is the field's zero value, as in Go.
//
// Every error is InvalidArgument and reads `<file>:<line>:<column>: <key path>: <problem>`, e.g.
//   prometheus.yml:12:5: scrape_configs[0]: unknown field "scrape_intervall" (did you mean
//   "scrape_interval"?)
//
// Thread-safety: the functions are reentrant; a Config is plain data (its Relabelers are
// thread-safe, shared between copies).
#ifndef EMBER_SERVER_CONFIG_CONFIG_H_
#define EMBER_SERVER_CONFIG_CONFIG_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ember/labels.h"
#include "server/scrape/relabel.h"

namespace ember::server {

struct GlobalConfig {
  int64_t scrape_interval_ms = 60'000;
  int64_t scrape_timeout_ms = 10'000;
  int64_t evaluation_interval_ms = 60'000;
  Labels external_labels;     // Sorted by name; values after environment expansion.
  uint64_t sample_limit = 0;  // The default of every job's sample_limit; 0: no limit.
};

// A target group: `targets` are "host:port" or "host" (Prometheus 3: the scraper then connects
// to the scheme's default port without adding it to the address or the instance label),
// `labels` are attached to each (sorted by name; may set __metrics_path__, __param_<name>...).
struct StaticConfig {
  std::vector<std::string> targets;
  Labels labels;
};

struct AlertmanagerConfig {
  std::vector<StaticConfig> static_configs;
  std::string scheme = "http";
  std::string path_prefix = "/";
  int64_t timeout_ms = 10'000;
  std::string api_version = "v2";
};

struct ScrapeConfig {
  std::string job_name;
  std::vector<StaticConfig> static_configs;
  std::string metrics_path = "/metrics";
  std::map<std::string, std::vector<std::string>> params;  // URL query parameters.
  std::string scheme = "http";
  int64_t scrape_interval_ms = 0;  // After ParseConfig: the job's, else the global one.
  int64_t scrape_timeout_ms = 0;   // After ParseConfig: as Prometheus, min(global, interval).
  bool honor_labels = false;
  bool honor_timestamps = true;
  uint64_t sample_limit = 0;  // 0: no limit. When not written: the global sample_limit.
  // As written, for display; the scraper uses the compiled forms below.
  std::vector<RelabelConfig> relabel_configs;
  std::vector<RelabelConfig> metric_relabel_configs;
  // Compiled by ParseConfig, never null there (a Relabeler with no steps keeps everything).
  std::shared_ptr<const Relabeler> relabeler;
  std::shared_ptr<const Relabeler> metric_relabeler;
};

struct Config {
  GlobalConfig global;
  // Glob patterns, already joined with the config file's directory when relative (as
  // Prometheus's LoadFile does). ExpandRuleFiles() lists what they match.
  std::vector<std::string> rule_files;
  std::vector<AlertmanagerConfig> alertmanagers;
  std::vector<ScrapeConfig> scrape_configs;
  std::string source_file;  // The `filename` given to ParseConfig().
};

// Parses and validates `yaml`. `filename` names the file in messages, and its directory is the
// base of relative rule_files. An empty document is the default config. All or nothing: the
// first problem found is returned as InvalidArgument (see the file comment for the form).
absl::StatusOr<Config> ParseConfig(std::string_view yaml, std::string_view filename);

// Reads `path` and parses it with ParseConfig(). NotFound if there is no such file, other
// read failures as FailedPrecondition; both name the path.
absl::StatusOr<Config> LoadConfigFile(const std::string& path);

// Loads `path` and replaces `*config` with it only if the whole file is valid; on any error
// `*config` is left as it was (what a SIGHUP or /-/reload does to the running config).
absl::Status ReloadConfigFile(const std::string& path, Config* config);

// The files the rule_files patterns match now, sorted and without duplicates. As Prometheus
// (Go's filepath.Glob): '*' also matches a leading '.', and a pattern without wildcards that
// names no file matches nothing. ResourceExhausted if glob(3) runs out of memory.
absl::StatusOr<std::vector<std::string>> ExpandRuleFiles(const Config& config);

// `ember check config FILE`, as `promtool check config`: loads the file and expands rule_files,
// where a pattern without '*' must name an existing file. Appends to `*report`:
//   Checking prometheus.yml
//     SUCCESS: 2 rule files found
//     SUCCESS: prometheus.yml is valid prometheus config file syntax
// or `  FAILED: <error>` after the first line, and returns that error. When OK and `rule_files`
// is given, it receives the rule files found (sorted), for the caller to check their contents.
absl::Status CheckConfigFile(const std::string& path, std::string* report,
                             std::vector<std::string>* rule_files = nullptr);

}  // namespace ember::server

#endif  // EMBER_SERVER_CONFIG_CONFIG_H_
