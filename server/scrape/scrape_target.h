// Scrape targets as Prometheus's scrape/target.go builds them from a job's static_configs: the
// discovered label set, relabeling, the final target labels and the URL; and how a scraped
// series receives its target's labels (honor_labels). Internal to server/: plain functions on
// plain data, thread-safe. The loop that scrapes a target is in server/scrape/scrape_loop.h.
#ifndef EMBER_SERVER_SCRAPE_SCRAPE_TARGET_H_
#define EMBER_SERVER_SCRAPE_SCRAPE_TARGET_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "ember/labels.h"
#include "server/config/config.h"

namespace ember::server {

struct ScrapeTarget {
  std::string job;
  // Before relabel_configs, sorted, with the "__" labels (/api/v1/targets' discoveredLabels).
  Labels discovered_labels;
  // After relabeling, without "__" labels, `instance` defaulted to the address; sorted.
  Labels labels;
  std::string scheme;          // __scheme__ after relabeling: "http".
  std::string address;         // __address__ after relabeling: "host:port" or "host".
  std::string request_target;  // "/metrics?name=value", what the GET asks for.
  std::string url;             // scheme://address + request_target (without a bare "/").
  // From __scrape_interval__ and __scrape_timeout__ after relabeling.
  int64_t interval_ms = 0;
  int64_t timeout_ms = 0;

  // What identifies the target across ApplyConfig calls: job, final labels and URL.
  std::string Key() const;
};

// A target that relabel_configs dropped, or whose relabeled labels are unusable (no address,
// a bad __scrape_interval__...): `reason` says which.
struct DroppedTarget {
  std::string job;
  Labels discovered_labels;
  std::string reason;
};

// Appends the targets of `job`, in config order, to `*active` or `*dropped`. Every target
// starts from its group's labels, then __address__ = the target, and defaults for what the
// group did not set: __scheme__, __metrics_path__, __scrape_interval__, __scrape_timeout__,
// job, and __param_<name> = the first value of each of `params`. REQUIRES: the job's
// scrape_interval_ms and scrape_timeout_ms are resolved (positive). A null `relabeler` keeps
// every target.
void BuildScrapeTargets(const ScrapeConfig& job, std::vector<ScrapeTarget>* active,
                        std::vector<DroppedTarget>* dropped);

// Adds `target` labels to a scraped series' `labels` (unsorted; empty values count as absent).
// honor_labels: a label the series has already is kept and the target's is ignored. Otherwise
// the target's wins and the scraped value moves to "exported_<name>" (or
// "exported_exported_<name>"... the first free name), shortest names first, as Prometheus.
void AddTargetLabels(const Labels& target, bool honor_labels, Labels* labels);

// Go's url.QueryEscape: letters, digits and "-_.~" as they are, ' ' as '+', the rest %XX.
std::string QueryEscape(std::string_view s);

// A duration in seconds as Go's strconv.FormatFloat(s, 'f', -1, 64): "10", "0.25".
// Prometheus sends this in X-Prometheus-Scrape-Timeout-Seconds.
std::string FormatSeconds(int64_t ms);

struct HostPort {
  std::string host;  // Without IPv6 brackets.
  std::string port;
};

// "host:port", "[v6]:port", or a bare host (then the scheme's default port: 80 for http,
// 443 for https). InvalidArgument for an empty host, a bad port or an unclosed '['.
absl::StatusOr<HostPort> SplitAddress(std::string_view address, std::string_view scheme);

}  // namespace ember::server

#endif  // EMBER_SERVER_SCRAPE_SCRAPE_TARGET_H_
