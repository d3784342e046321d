#include "server/scrape/scrape_target.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "util/duration.h"
#include "util/strings.h"

namespace ember::server {
namespace {

constexpr std::string_view kReservedPrefix = "__";
constexpr std::string_view kParamPrefix = "__param_";
constexpr std::string_view kExportedPrefix = "exported_";

// The value of `name`, or "" (absent and empty are the same to Prometheus).
std::string_view Get(const Labels& labels, std::string_view name) {
  for (const Label& l : labels) {
    if (l.name == name) return l.value;
  }
  return {};
}

void Set(Labels* labels, std::string_view name, std::string_view value) {
  for (Label& l : *labels) {
    if (l.name == name) {
      l.value.assign(value);
      return;
    }
  }
  labels->push_back(Label{std::string(name), std::string(value)});
}

void SetDefault(Labels* labels, std::string_view name, std::string_view value) {
  if (Get(*labels, name).empty()) Set(labels, name, value);
}

// The query string of the target's URL: the job's params, whose first value a __param_<name>
// label replaces (or adds), encoded as Go's url.Values.Encode (keys sorted).
std::string EncodeParams(const ScrapeConfig& job, const Labels& labels) {
  std::map<std::string, std::vector<std::string>> params(job.params.begin(), job.params.end());
  for (const Label& l : labels) {
    if (!absl::StartsWith(util::AsAbsl(l.name), util::AsAbsl(kParamPrefix))) continue;
    std::vector<std::string>& values = params[l.name.substr(kParamPrefix.size())];
    if (values.empty()) {
      values.push_back(l.value);
    } else {
      values[0] = l.value;
    }
  }
  std::string query;
  for (const auto& [name, values] : params) {
    for (const std::string& value : values) {
      if (!query.empty()) query.push_back('&');
      absl::StrAppend(&query, QueryEscape(name), "=", QueryEscape(value));
    }
  }
  return query;
}

// A __scrape_interval__ / __scrape_timeout__ value after relabeling; `what` names it.
absl::StatusOr<int64_t> DurationLabel(const Labels& labels, std::string_view name,
                                      std::string_view what) {
  absl::StatusOr<int64_t> ms = util::ParseDuration(Get(labels, name));
  if (!ms.ok()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("error parsing %s: %s", what, ms.status().message()));
  }
  return *ms;
}

}  // namespace

std::string ScrapeTarget::Key() const {
  // '\xff' never occurs in UTF-8, so the fields cannot run into each other.
  std::string key = job;
  for (const Label& l : labels) absl::StrAppend(&key, "\xff", l.name, "\xfe", l.value);
  absl::StrAppend(&key, "\xff\xff", url);
  return key;
}

void BuildScrapeTargets(const ScrapeConfig& job, std::vector<ScrapeTarget>* active,
                        std::vector<DroppedTarget>* dropped) {
  for (const StaticConfig& group : job.static_configs) {
    for (const std::string& address : group.targets) {
      Labels labels = group.labels;
      Set(&labels, "__address__", address);
      SetDefault(&labels, "__scheme__", job.scheme);
      SetDefault(&labels, "__metrics_path__", job.metrics_path);
      SetDefault(&labels, "__scrape_interval__", util::FormatDuration(job.scrape_interval_ms));
      SetDefault(&labels, "__scrape_timeout__", util::FormatDuration(job.scrape_timeout_ms));
      SetDefault(&labels, "job", job.job_name);
      for (const auto& [name, values] : job.params) {
        if (!values.empty()) {
          SetDefault(&labels, absl::StrCat(util::AsAbsl(kParamPrefix), name), values[0]);
        }
      }
      CanonicalizeLabels(&labels);

      const auto drop = [&](std::string reason) {
        dropped->push_back(DroppedTarget{job.job_name, labels, std::move(reason)});
      };
      Labels relabeled = labels;
      if (job.relabeler != nullptr && !job.relabeler->Apply(&relabeled)) {
        drop("dropped by relabel_configs");
        continue;
      }
      CanonicalizeLabels(&relabeled);
      ScrapeTarget t;
      t.job = job.job_name;
      t.address.assign(Get(relabeled, "__address__"));
      if (t.address.empty()) {
        drop("no address (__address__ is empty after relabeling)");
        continue;
      }
      absl::StatusOr<int64_t> interval =
          DurationLabel(relabeled, "__scrape_interval__", "scrape interval");
      absl::StatusOr<int64_t> timeout =
          DurationLabel(relabeled, "__scrape_timeout__", "scrape timeout");
      if (!interval.ok() || !timeout.ok()) {
        drop(absl::StrCat(!interval.ok() ? interval.status().message()
                                         : timeout.status().message()));
        continue;
      }
      if (*interval <= 0 || *timeout <= 0) {
        drop("scrape interval and timeout must be greater than 0");
        continue;
      }
      if (*timeout > *interval) {
        drop(absl::StrFormat("scrape timeout %s cannot be greater than scrape interval %s",
                             util::FormatDuration(*timeout), util::FormatDuration(*interval)));
        continue;
      }
      t.interval_ms = *interval;
      t.timeout_ms = *timeout;
      t.scheme.assign(Get(relabeled, "__scheme__"));
      std::string path(Get(relabeled, "__metrics_path__"));
      if (!path.empty() && path[0] != '/') path.insert(path.begin(), '/');
      const std::string query = EncodeParams(job, relabeled);
      t.request_target = path.empty() ? "/" : path;
      std::string suffix = path;
      if (!query.empty()) {
        absl::StrAppend(&t.request_target, "?", query);
        absl::StrAppend(&suffix, "?", query);
      }
      t.url = absl::StrCat(t.scheme, "://", t.address, suffix);

      for (Label& l : relabeled) {
        if (!absl::StartsWith(util::AsAbsl(l.name), util::AsAbsl(kReservedPrefix))) {
          t.labels.push_back(std::move(l));
        }
      }
      SetDefault(&t.labels, "instance", t.address);
      CanonicalizeLabels(&t.labels);
      t.discovered_labels = std::move(labels);
      active->push_back(std::move(t));
    }
  }
}

void AddTargetLabels(const Labels& target, bool honor_labels, Labels* labels) {
  if (honor_labels) {
    for (const Label& l : target) SetDefault(labels, l.name, l.value);
    return;
  }
  Labels conflicts;
  for (const Label& l : target) {
    const std::string_view scraped = Get(*labels, l.name);
    if (!scraped.empty()) conflicts.push_back(Label{l.name, std::string(scraped)});
    Set(labels, l.name, l.value);
  }
  // Shortest names first, as Prometheus: when both "job" and "exported_job" conflict, job's
  // scraped value takes the shorter free name whatever order the target labels come in.
  std::stable_sort(conflicts.begin(), conflicts.end(),
                   [](const Label& a, const Label& b) { return a.name.size() < b.name.size(); });
  for (const Label& c : conflicts) {
    std::string name = c.name;
    do {
      name.insert(0, kExportedPrefix);
    } while (!Get(*labels, name).empty());
    Set(labels, name, c.value);
  }
}

std::string QueryEscape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out.push_back(ch);
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string FormatSeconds(int64_t ms) {
  char buf[64];
  // `fixed` without a precision is the shortest form that reads back exactly, never "1e+05".
  const auto r = std::to_chars(buf, buf + sizeof buf, static_cast<double>(ms) / 1000.0,
                               std::chars_format::fixed);
  return std::string(buf, r.ptr);
}

absl::StatusOr<HostPort> SplitAddress(std::string_view address, std::string_view scheme) {
  const auto bad = [address](std::string_view why) {
    return absl::InvalidArgumentError(absl::StrFormat("address %s: %s", address, why));
  };
  HostPort hp;
  std::string_view port;
  if (!address.empty() && address[0] == '[') {
    const size_t close = address.find(']');
    if (close == std::string_view::npos) return bad("missing ']' in address");
    hp.host.assign(address.substr(1, close - 1));
    const std::string_view rest = address.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return bad("unexpected text after ']'");
      port = rest.substr(1);
      if (port.empty()) return bad("missing port after ':'");
    }
  } else {
    const size_t colon = address.rfind(':');
    // More than one colon without brackets: a bare IPv6 address.
    if (colon == std::string_view::npos || address.find(':') != colon) {
      hp.host.assign(address);
    } else {
      hp.host.assign(address.substr(0, colon));
      port = address.substr(colon + 1);
      if (port.empty()) return bad("missing port after ':'");
    }
  }
  if (hp.host.empty()) return bad("missing host");
  if (port.empty()) {
    port = scheme == "https" ? "443" : "80";
  }
  uint32_t number = 0;
  if (port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      !absl::SimpleAtoi(util::AsAbsl(port), &number) || number == 0 || number > 65535) {
    return bad("invalid port");
  }
  hp.port.assign(port);
  return hp;
}

}  // namespace ember::server
