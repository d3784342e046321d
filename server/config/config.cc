#include "server/config/config.h"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ember/labels.h"
#include "server/scrape/relabel.h"
#include "util/duration.h"
#include "util/status_macros.h"
#include "util/yaml.h"

namespace ember::server {
namespace {

using yaml::Field;
using yaml::Index;
using yaml::Join;
using yaml::KindName;
using yaml::Message;
using yaml::Quote;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// The keys of each section. Prometheus keys Ember does not implement are listed so that a
// config written for Prometheus gets "... is not supported by Ember", not "unknown field".
// clang-format off
constexpr std::string_view kTopFields[] = {"global", "rule_files", "alerting", "scrape_configs"};
constexpr std::string_view kTopUnsupported[] = {
    "remote_write", "remote_read", "storage", "tracing", "runtime", "otlp", "scrape_config_files"};
constexpr std::string_view kGlobalFields[] = {
    "scrape_interval", "scrape_timeout", "evaluation_interval", "external_labels", "sample_limit"};
constexpr std::string_view kGlobalUnsupported[] = {
    "scrape_protocols", "rule_query_offset", "query_log_file", "scrape_failure_log_file",
    "body_size_limit", "target_limit", "label_limit", "label_name_length_limit",
    "label_value_length_limit", "keep_dropped_targets", "metric_name_validation_scheme",
    "metric_name_escaping_scheme", "scrape_native_histograms",
    "convert_classic_histograms_to_nhcb", "always_scrape_classic_histograms",
    "extra_scrape_metrics"};
// Prometheus's common HTTPClientConfig, inlined into scrape and Alertmanager configs.
constexpr std::string_view kHttpClientFields[] = {
    "basic_auth", "authorization", "oauth2", "bearer_token", "bearer_token_file", "tls_config",
    "follow_redirects", "enable_http2", "proxy_url", "no_proxy", "proxy_from_environment",
    "proxy_connect_header", "http_headers"};
constexpr std::string_view kScrapeFields[] = {
    "job_name", "static_configs", "metrics_path", "params", "scheme", "scrape_interval",
    "scrape_timeout", "honor_labels", "honor_timestamps", "sample_limit", "relabel_configs",
    "metric_relabel_configs"};
constexpr std::string_view kScrapeUnsupported[] = {
    "track_timestamps_staleness", "scrape_protocols", "fallback_scrape_protocol",
    "scrape_native_histograms", "always_scrape_classic_histograms", "scrape_classic_histograms",
    "convert_classic_histograms_to_nhcb", "scrape_failure_log_file", "enable_compression",
    "body_size_limit", "target_limit", "label_limit", "label_name_length_limit",
    "label_value_length_limit", "native_histogram_bucket_limit",
    "native_histogram_min_bucket_factor", "keep_dropped_targets", "metric_name_validation_scheme",
    "metric_name_escaping_scheme", "extra_scrape_metrics"};
constexpr std::string_view kAlertingFields[] = {"alertmanagers"};
constexpr std::string_view kAlertingUnsupported[] = {"alert_relabel_configs"};
constexpr std::string_view kAlertmanagerFields[] = {
    "static_configs", "scheme", "path_prefix", "timeout", "api_version"};
constexpr std::string_view kAlertmanagerUnsupported[] = {
    "relabel_configs", "alert_relabel_configs", "sigv4"};
constexpr std::string_view kStaticFields[] = {"targets", "labels"};
constexpr std::string_view kRelabelFields[] = {
    "source_labels", "separator", "regex", "modulus", "target_label", "replacement", "action"};
// clang-format on

// What is wrong with a static target, or "" if nothing. Prometheus's CheckTargetAddress
// rejects only a '/' (a URL); Ember also rejects what could never be dialled.
std::string TargetProblem(std::string_view t) {
  if (t.find('/') != std::string_view::npos) {
    return absl::StrCat(Quote(t),
                        " is not a valid hostname (a target is host:port; set scheme and "
                        "metrics_path for the rest of the URL)");
  }
  for (const char c : t) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
      return absl::StrCat(Quote(t), " is not a valid hostname (it contains whitespace)");
    }
  }
  std::string_view port;
  bool has_port = false;
  if (!t.empty() && t[0] == '[') {
    const size_t close = t.find(']');
    if (close == std::string_view::npos) {
      return absl::StrCat(Quote(t), " is not a valid address (missing ']')");
    }
    const std::string_view after = t.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') {
        return absl::StrCat(Quote(t), " is not a valid address (want [host]:port)");
      }
      has_port = true;
      port = after.substr(1);
    }
  } else {
    const size_t colon = t.find(':');
    if (colon != std::string_view::npos) {
      if (t.find(':', colon + 1) != std::string_view::npos) {
        return absl::StrCat(Quote(t),
                            " is not a valid address (too many colons; write an IPv6 address "
                            "in brackets: [::1]:9100)");
      }
      has_port = true;
      port = t.substr(colon + 1);
    }
  }
  if (has_port) {
    bool ok = !port.empty() && port.size() <= 5;
    int value = 0;
    for (const char c : port) {
      ok = ok && IsDigit(c);
      if (ok) value = value * 10 + (c - '0');
    }
    if (!ok || value < 1 || value > 65535) {
      return absl::StrCat(Quote(t), " has an invalid port ", Quote(port), " (want 1 to 65535)");
    }
  }
  return "";
}

// Prometheus's patRulePath, ^[^*]*(\*[^/]*)?$: a '*' only in the last path element.
bool IsValidRulePath(std::string_view p) {
  const size_t star = p.find('*');
  return star == std::string_view::npos || p.find('/', star) == std::string_view::npos;
}

// Prometheus's config.JoinDir: relative paths are taken from the config file's directory.
std::string JoinDir(const std::string& dir, const std::string& path) {
  if (dir.empty() || path.empty() || path[0] == '/') return path;
  return (std::filesystem::path(dir) / path).lexically_normal().string();
}

// Explicit timeout/interval of a section, with where they were written, for the checks that
// need both after inheritance.
struct DurationField {
  int64_t ms = 0;
  YAML::Node node;
};

// A static target as written, for the checks made once the whole section is read.
struct TargetNode {
  std::string target;
  std::string path;
  YAML::Node node;
};

class ConfigParser : public yaml::Reader {
 public:
  explicit ConfigParser(std::string_view filename)
      : Reader(filename),
        dir_(std::filesystem::path(std::string(filename)).parent_path().string()) {}

  absl::StatusOr<Config> Parse(std::string_view yaml) const;

 private:
  absl::Status ParseGlobal(const YAML::Node& n, GlobalConfig* out) const;
  absl::Status ParseRuleFiles(const YAML::Node& n, std::vector<std::string>* out) const;
  absl::Status ParseAlerting(const YAML::Node& n, std::vector<AlertmanagerConfig>* out) const;
  absl::StatusOr<AlertmanagerConfig> ParseAlertmanager(const YAML::Node& n,
                                                       std::string_view path) const;
  absl::StatusOr<ScrapeConfig> ParseScrapeConfig(const YAML::Node& n, std::string_view path,
                                                 const GlobalConfig& global) const;
  absl::StatusOr<std::vector<StaticConfig>> ParseStaticConfigs(
      const YAML::Node& n, std::string_view path, std::vector<TargetNode>* targets) const;
  absl::Status CheckTargets(const std::vector<TargetNode>& targets, bool addresses) const;
  absl::StatusOr<RelabelConfig> ParseRelabelStep(const YAML::Node& n, std::string_view path) const;
  absl::Status ParseRelabelConfigs(const YAML::Node& n, std::string_view path,
                                   std::vector<RelabelConfig>* steps,
                                   std::shared_ptr<const Relabeler>* compiled) const;

  std::string dir_;  // The config file's directory: the base of relative rule_files.
};

absl::Status ConfigParser::ParseGlobal(const YAML::Node& n, GlobalConfig* out) const {
  const std::string path = "global";
  EMBER_ASSIGN_OR_RETURN(std::vector<Field> fields, Fields(n, path));
  GlobalConfig g;
  DurationField interval, timeout, evaluation;
  for (const Field& f : fields) {
    const std::string fpath = Join(path, f.key);
    if (f.key == "scrape_interval") {
      EMBER_ASSIGN_OR_RETURN(interval.ms, Duration(f.value, fpath));
      interval.node = f.value;
    } else if (f.key == "scrape_timeout") {
      EMBER_ASSIGN_OR_RETURN(timeout.ms, Duration(f.value, fpath));
      timeout.node = f.value;
    } else if (f.key == "evaluation_interval") {
      EMBER_ASSIGN_OR_RETURN(evaluation.ms, Duration(f.value, fpath));
    } else if (f.key == "external_labels") {
      EMBER_ASSIGN_OR_RETURN(g.external_labels, LabelSet(f.value, fpath, /*expand_env=*/true));
    } else if (f.key == "sample_limit") {
      EMBER_ASSIGN_OR_RETURN(g.sample_limit, Uint(f.value, fpath));
    } else {
      return UnknownField(f, path, kGlobalFields, kGlobalUnsupported);
    }
  }
  // As Prometheus's GlobalConfig.UnmarshalYAML: zero means the default; the timeout defaults to
  // at most the interval, and an explicit one may not exceed it.
  const GlobalConfig defaults;
  g.scrape_interval_ms = interval.ms != 0 ? interval.ms : defaults.scrape_interval_ms;
  if (timeout.ms > g.scrape_interval_ms) {
    return Error(timeout.node, Join(path, "scrape_timeout"),
                 absl::StrFormat("global scrape timeout greater than scrape interval (%s > %s)",
                                 util::FormatDuration(timeout.ms),
                                 util::FormatDuration(g.scrape_interval_ms)));
  }
  g.scrape_timeout_ms =
      timeout.ms != 0 ? timeout.ms : std::min(defaults.scrape_timeout_ms, g.scrape_interval_ms);
  g.evaluation_interval_ms = evaluation.ms != 0 ? evaluation.ms : defaults.evaluation_interval_ms;
  *out = std::move(g);
  return absl::OkStatus();
}

absl::Status ConfigParser::ParseRuleFiles(const YAML::Node& n,
                                          std::vector<std::string>* out) const {
  const std::string path = "rule_files";
  EMBER_ASSIGN_OR_RETURN(std::vector<YAML::Node> items, Items(n, path));
  for (size_t i = 0; i < items.size(); ++i) {
    EMBER_ASSIGN_OR_RETURN(std::string pattern, String(items[i], Index(path, i)));
    if (pattern.empty()) return Error(items[i], Index(path, i), "empty rule file path");
    if (!IsValidRulePath(pattern)) {
      return Error(items[i], Index(path, i),
                   absl::StrCat("invalid rule file path ", Quote(pattern),
                                " (a '*' may only appear in the last path element)"));
    }
    out->push_back(JoinDir(dir_, pattern));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<StaticConfig>> ConfigParser::ParseStaticConfigs(
    const YAML::Node& n, std::string_view path, std::vector<TargetNode>* targets) const {
  EMBER_ASSIGN_OR_RETURN(std::vector<YAML::Node> items, Items(n, path, "empty static config"));
  std::vector<StaticConfig> groups;
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string gpath = Index(path, i);
    EMBER_ASSIGN_OR_RETURN(std::vector<Field> fields, Fields(items[i], gpath));
    StaticConfig group;
    for (const Field& f : fields) {
      const std::string fpath = Join(gpath, f.key);
      if (f.key == "targets") {
        EMBER_ASSIGN_OR_RETURN(std::vector<YAML::Node> nodes, Items(f.value, fpath));
        group.targets.clear();
        for (size_t j = 0; j < nodes.size(); ++j) {
          EMBER_ASSIGN_OR_RETURN(std::string t, String(nodes[j], Index(fpath, j)));
          targets->push_back(
              TargetNode{t, Index(fpath, j), nodes[j].IsNull() ? f.value : nodes[j]});
          group.targets.push_back(std::move(t));
        }
      } else if (f.key == "labels") {
        EMBER_ASSIGN_OR_RETURN(group.labels, LabelSet(f.value, fpath, /*expand_env=*/false));
      } else {
        return UnknownField(f, gpath, kStaticFields, {});
      }
    }
    groups.push_back(std::move(group));
  }
  return groups;
}

// An empty target is always an error. The address checks are made, as Prometheus's
// checkStaticTargets, only where no relabel_configs could rewrite __address__.
absl::Status ConfigParser::CheckTargets(const std::vector<TargetNode>& targets,
                                        bool addresses) const {
  for (const TargetNode& t : targets) {
    if (t.target.empty()) return Error(t.node, t.path, "empty target (want host:port)");
    if (!addresses) continue;
    if (std::string problem = TargetProblem(t.target); !problem.empty()) {
      return Error(t.node, t.path, problem);
    }
  }
  return absl::OkStatus();
}

absl::Status ConfigParser::ParseAlerting(const YAML::Node& n,
                                         std::vector<AlertmanagerConfig>* out) const {
  const std::string path = "alerting";
  EMBER_ASSIGN_OR_RETURN(std::vector<Field> fields, Fields(n, path));
  for (const Field& f : fields) {
    if (f.key != "alertmanagers") {
      return UnknownField(f, path, kAlertingFields, kAlertingUnsupported);
    }
    const std::string apath = Join(path, f.key);
    EMBER_ASSIGN_OR_RETURN(std::vector<YAML::Node> items,
                           Items(f.value, apath, "empty Alertmanager config"));
    for (size_t i = 0; i < items.size(); ++i) {
      EMBER_ASSIGN_OR_RETURN(AlertmanagerConfig am, ParseAlertmanager(items[i], Index(apath, i)));
      out->push_back(std::move(am));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<AlertmanagerConfig> ConfigParser::ParseAlertmanager(const YAML::Node& n,
                                                                   std::string_view path) const {
  EMBER_ASSIGN_OR_RETURN(std::vector<Field> fields, Fields(n, path));
  AlertmanagerConfig am;
  for (const Field& f : fields) {
    const std::string fpath = Join(path, f.key);
    if (f.key == "static_configs") {
      std::vector<TargetNode> targets;
      EMBER_ASSIGN_OR_RETURN(am.static_configs, ParseStaticConfigs(f.value, fpath, &targets));
      EMBER_RETURN_IF_ERROR(CheckTargets(targets, /*addresses=*/true));
    } else if (f.key == "scheme") {
      EMBER_ASSIGN_OR_RETURN(am.scheme, String(f.value, fpath));
      if (am.scheme == "https") return Error(f.value, fpath, "https is not supported by Ember");
      if (am.scheme != "http") {
        return Error(f.value, fpath,
                     absl::StrCat("invalid scheme ", Quote(am.scheme), " (want http)"));
      }
    } else if (f.key == "path_prefix") {
      EMBER_ASSIGN_OR_RETURN(am.path_prefix, String(f.value, fpath));
    } else if (f.key == "timeout") {
      EMBER_ASSIGN_OR_RETURN(am.timeout_ms, Duration(f.value, fpath));
    } else if (f.key == "api_version") {
      EMBER_ASSIGN_OR_RETURN(am.api_version, String(f.value, fpath));
      if (am.api_version != "v2") {
        return Error(f.value, fpath,
                     absl::StrCat("expected Alertmanager api version to be one of [v2] but got ",
                                  am.api_version));
      }
    } else {
      return UnknownField(f, path, kAlertmanagerFields, kAlertmanagerUnsupported,
                          kHttpClientFields);
    }
  }
  return am;
}

absl::StatusOr<RelabelConfig> ConfigParser::ParseRelabelStep(const YAML::Node& n,
                                                             std::string_view path) const {
  EMBER_ASSIGN_OR_RETURN(std::vector<Field> fields, Fields(n, path));
  RelabelConfig step;
  for (const Field& f : fields) {
    const std::string fpath = Join(path, f.key);
    if (f.key == "source_labels") {
      EMBER_ASSIGN_OR_RETURN(step.source_labels, Strings(f.value, fpath));
    } else if (f.key == "separator") {
      EMBER_ASSIGN_OR_RETURN(step.separator, String(f.value, fpath));
    } else if (f.key == "regex") {
      EMBER_ASSIGN_OR_RETURN(step.regex, String(f.value, fpath));
    } else if (f.key == "modulus") {
      EMBER_ASSIGN_OR_RETURN(step.modulus, Uint(f.value, fpath));
    } else if (f.key == "target_label") {
      EMBER_ASSIGN_OR_RETURN(step.target_label, String(f.value, fpath));
    } else if (f.key == "replacement") {
      EMBER_ASSIGN_OR_RETURN(step.replacement, String(f.value, fpath));
    } else if (f.key == "action") {
      EMBER_ASSIGN_OR_RETURN(std::string action, String(f.value, fpath));
      absl::StatusOr<RelabelAction> a = ParseRelabelAction(action);
      if (!a.ok()) return Error(f.value, fpath, Message(a.status()));
      step.action = *a;
    } else {
      return UnknownField(f, path, kRelabelFields, {});
    }
  }
  return step;
}

// Parses the steps of `n` and compiles them. Each step is first compiled on its own, so that an
// error points at the step's line rather than at the list.
absl::Status ConfigParser::ParseRelabelConfigs(const YAML::Node& n, std::string_view path,
                                               std::vector<RelabelConfig>* steps,
                                               std::shared_ptr<const Relabeler>* compiled) const {
  EMBER_ASSIGN_OR_RETURN(std::vector<YAML::Node> items, Items(n, path, "empty relabel step"));
  steps->clear();
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string spath = Index(path, i);
    EMBER_ASSIGN_OR_RETURN(RelabelConfig step, ParseRelabelStep(items[i], spath));
    absl::StatusOr<std::unique_ptr<Relabeler>> one = Relabeler::Compile({step});
    if (!one.ok()) {
      // Compile names the step by its index in the list it was given: here always 0.
      std::string_view problem = Message(one.status());
      for (const std::string_view prefix : {"relabel_configs[0]: ", "relabel_configs[0]:"}) {
        if (problem.substr(0, prefix.size()) == prefix) problem.remove_prefix(prefix.size());
      }
      return Error(items[i], spath, problem);
    }
    steps->push_back(std::move(step));
  }
  absl::StatusOr<std::unique_ptr<Relabeler>> all = Relabeler::Compile(*steps);
  if (!all.ok()) return Error(n, path, Message(all.status()));
  *compiled = std::shared_ptr<const Relabeler>(std::move(*all));
  return absl::OkStatus();
}

absl::StatusOr<ScrapeConfig> ConfigParser::ParseScrapeConfig(const YAML::Node& n,
                                                             std::string_view path,
                                                             const GlobalConfig& global) const {
  EMBER_ASSIGN_OR_RETURN(std::vector<Field> fields, Fields(n, path));
  ScrapeConfig sc;
  DurationField interval, timeout;
  std::vector<TargetNode> targets;
  bool has_relabel = false;
  for (const Field& f : fields) {
    const std::string fpath = Join(path, f.key);
    if (f.key == "job_name") {
      EMBER_ASSIGN_OR_RETURN(sc.job_name, String(f.value, fpath));
    } else if (f.key == "static_configs") {
      EMBER_ASSIGN_OR_RETURN(sc.static_configs, ParseStaticConfigs(f.value, fpath, &targets));
    } else if (f.key == "metrics_path") {
      EMBER_ASSIGN_OR_RETURN(sc.metrics_path, String(f.value, fpath));
    } else if (f.key == "params") {
      EMBER_ASSIGN_OR_RETURN(std::vector<Field> params, Fields(f.value, fpath));
      for (const Field& p : params) {
        EMBER_ASSIGN_OR_RETURN(sc.params[p.key], Strings(p.value, Join(fpath, p.key)));
      }
    } else if (f.key == "scheme") {
      EMBER_ASSIGN_OR_RETURN(sc.scheme, String(f.value, fpath));
      if (sc.scheme == "https") return Error(f.value, fpath, "https is not supported by Ember");
      if (sc.scheme != "http") {
        return Error(f.value, fpath,
                     absl::StrCat("invalid scheme ", Quote(sc.scheme), " (want http)"));
      }
    } else if (f.key == "scrape_interval") {
      EMBER_ASSIGN_OR_RETURN(interval.ms, Duration(f.value, fpath));
      interval.node = f.value;
    } else if (f.key == "scrape_timeout") {
      EMBER_ASSIGN_OR_RETURN(timeout.ms, Duration(f.value, fpath));
      timeout.node = f.value;
    } else if (f.key == "honor_labels") {
      EMBER_ASSIGN_OR_RETURN(sc.honor_labels, Bool(f.value, fpath));
    } else if (f.key == "honor_timestamps") {
      EMBER_ASSIGN_OR_RETURN(sc.honor_timestamps, Bool(f.value, fpath));
    } else if (f.key == "sample_limit") {
      EMBER_ASSIGN_OR_RETURN(sc.sample_limit, Uint(f.value, fpath));
    } else if (f.key == "relabel_configs") {
      EMBER_RETURN_IF_ERROR(
          ParseRelabelConfigs(f.value, fpath, &sc.relabel_configs, &sc.relabeler));
      has_relabel = !sc.relabel_configs.empty();
    } else if (f.key == "metric_relabel_configs") {
      EMBER_RETURN_IF_ERROR(
          ParseRelabelConfigs(f.value, fpath, &sc.metric_relabel_configs, &sc.metric_relabeler));
    } else {
      return UnknownField(f, path, kScrapeFields, kScrapeUnsupported, kHttpClientFields);
    }
  }
  if (sc.job_name.empty()) return Error(n, path, "job_name is empty");
  EMBER_RETURN_IF_ERROR(CheckTargets(targets, /*addresses=*/!has_relabel));
  // As Prometheus's ScrapeConfig.Validate.
  sc.scrape_interval_ms = interval.ms != 0 ? interval.ms : global.scrape_interval_ms;
  if (timeout.ms > sc.scrape_interval_ms) {
    return Error(timeout.node, Join(path, "scrape_timeout"),
                 absl::StrFormat("scrape timeout greater than scrape interval for scrape config "
                                 "with job name %s (%s > %s)",
                                 Quote(sc.job_name), util::FormatDuration(timeout.ms),
                                 util::FormatDuration(sc.scrape_interval_ms)));
  }
  sc.scrape_timeout_ms =
      timeout.ms != 0 ? timeout.ms : std::min(global.scrape_timeout_ms, sc.scrape_interval_ms);
  if (sc.sample_limit == 0) sc.sample_limit = global.sample_limit;
  for (std::shared_ptr<const Relabeler>* r : {&sc.relabeler, &sc.metric_relabeler}) {
    if (*r == nullptr) {
      absl::StatusOr<std::unique_ptr<Relabeler>> none = Relabeler::Compile({});
      if (!none.ok()) return Error(n, path, Message(none.status()));
      *r = std::shared_ptr<const Relabeler>(std::move(*none));
    }
  }
  return sc;
}

absl::StatusOr<Config> ConfigParser::Parse(std::string_view yaml) const {
  EMBER_ASSIGN_OR_RETURN(YAML::Node root, Load(yaml, "invalid YAML: "));
  Config config;
  config.source_file = filename();
  if (root.IsNull()) return config;  // An empty file: every default, as Prometheus.
  if (!root.IsMap()) {
    return Error(root, "",
                 absl::StrCat("expected a mapping at the top level, got ", KindName(root)));
  }
  EMBER_ASSIGN_OR_RETURN(std::vector<Field> fields, Fields(root, ""));
  // Sections are read in dependency order (scrape configs inherit from global), whatever
  // their order in the file.
  YAML::Node global, rule_files, alerting, scrape_configs;
  for (const Field& f : fields) {
    if (f.key == "global") {
      global = f.value;
    } else if (f.key == "rule_files") {
      rule_files = f.value;
    } else if (f.key == "alerting") {
      alerting = f.value;
    } else if (f.key == "scrape_configs") {
      scrape_configs = f.value;
    } else {
      return UnknownField(f, "", kTopFields, kTopUnsupported);
    }
  }
  if (global.IsDefined()) EMBER_RETURN_IF_ERROR(ParseGlobal(global, &config.global));
  if (rule_files.IsDefined()) EMBER_RETURN_IF_ERROR(ParseRuleFiles(rule_files, &config.rule_files));
  if (alerting.IsDefined()) EMBER_RETURN_IF_ERROR(ParseAlerting(alerting, &config.alertmanagers));
  if (scrape_configs.IsDefined()) {
    const std::string path = "scrape_configs";
    EMBER_ASSIGN_OR_RETURN(std::vector<YAML::Node> items,
                           Items(scrape_configs, path, "empty or null scrape config section"));
    std::map<std::string, int> first_line;  // job_name -> line it was first defined at.
    for (size_t i = 0; i < items.size(); ++i) {
      const std::string spath = Index(path, i);
      EMBER_ASSIGN_OR_RETURN(ScrapeConfig sc, ParseScrapeConfig(items[i], spath, config.global));
      const auto [it, inserted] = first_line.emplace(sc.job_name, items[i].Mark().line + 1);
      if (!inserted) {
        return Error(items[i], spath,
                     absl::StrFormat("found multiple scrape configs with job name %s (first at "
                                     "line %d)",
                                     Quote(sc.job_name), it->second));
      }
      config.scrape_configs.push_back(std::move(sc));
    }
  }
  return config;
}

}  // namespace

absl::StatusOr<Config> ParseConfig(std::string_view yaml, std::string_view filename) {
  try {
    return ConfigParser(filename).Parse(yaml);
  } catch (const YAML::Exception& e) {
    // The walk checks node types before it reads them; this is a yaml-cpp surprise.
    return absl::InternalError(
        absl::StrFormat("%s:%d:%d: %s", filename, e.mark.line + 1, e.mark.column + 1, e.msg));
  }
}

}  // namespace ember::server
