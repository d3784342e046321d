// The status endpoints: /api/v1/status/{buildinfo,runtimeinfo,tsdb,flags}, /api/v1/targets,
// /api/v1/rules, /api/v1/alerts, /-/reload and /metrics.
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "query/parser/parser.h"
#include "server/api/api.h"
#include "server/api/api_response.h"
#include "server/api/query_json.h"
#include "server/http/json.h"
#include "server/version.h"
#include "util/duration.h"

namespace ember::server {

HttpResponse Api::BuildInfo() {
  JsonWriter w;
  w.BeginObject();
  w.Key("version").String(kPrometheusCompatibleVersion);
  w.Key("revision").String("");
  w.Key("branch").String("");
  w.Key("buildUser").String("");
  w.Key("buildDate").String(__DATE__);
  w.Key("goVersion").String("");
  w.Key("application").String("ember");
  w.Key("emberVersion").String(kEmberVersion);
  w.EndObject();
  return Success(w.str());
}

HttpResponse Api::RuntimeInfo() {
  char cwd[4096];
  const char* dir = getcwd(cwd, sizeof cwd) != nullptr ? cwd : "";
  JsonWriter w;
  w.BeginObject();
  w.Key("startTime").String(FormatRfc3339(start_time_ms_));
  w.Key("CWD").String(dir);
  w.Key("reloadConfigSuccess").Bool(true);
  w.Key("lastConfigTime").String(FormatRfc3339(start_time_ms_));
  w.Key("corruptionCount").Int(0);
  w.Key("goroutineCount").Int(0);
  w.Key("GOMAXPROCS").Int(static_cast<int64_t>(sysconf(_SC_NPROCESSORS_ONLN)));
  w.Key("GOMEMLIMIT").Int(0);
  w.Key("GOGC").String("");
  w.Key("GODEBUG").String("");
  w.Key("storageRetention")
      .String(options_.retention_ms > 0 ? util::FormatDuration(options_.retention_ms)
                                        : std::string("unlimited"));
  // Ember's own: the query executor's state (Prometheus has no such field).
  const query::ExecutorStats qs = executor_->stats();
  w.Key("queries").BeginObject();
  w.Key("running").Int(qs.running);
  w.Key("queued").Int(qs.queued);
  w.Key("memoryBytes").Int(qs.memory_bytes);
  w.Key("completed").Int(qs.completed);
  w.Key("cancelled").Int(qs.cancelled);
  w.Key("timedOut").Int(qs.timed_out);
  w.Key("overLimit").Int(qs.over_limit);
  w.Key("rejected").Int(qs.rejected);
  w.Key("maxConcurrency").Int(executor_->options().max_concurrency);
  w.Key("maxMemoryBytes").Int(options_.engine.max_memory_bytes);
  w.EndObject();
  w.EndObject();
  return Success(w.str());
}

HttpResponse Api::TsdbStatus(const HttpRequest& req) {
  absl::StatusOr<Params> params = Params::Parse(req.query, req.Header("content-type"), req.body);
  if (!params.ok()) return ApiError(ErrorType::kBadData, params.status().message());
  int64_t limit = 10;
  if (std::optional<std::string> v = params->Get("limit"); v && !v->empty()) {
    if (!absl::SimpleAtoi(*v, &limit) || limit <= 0) {
      return BadParam("limit", absl::InvalidArgumentError("limit must be a positive number"));
    }
  }
  absl::StatusOr<DbStats> st = db_->Stats();
  if (!st.ok()) return ApiError(ErrorType::kInternal, st.status().message());
  // Cardinality of the series with samples in the last 3 hours (Prometheus: its head block).
  const int64_t maxt = st->max_time_ms;
  const int64_t mint = maxt - 3 * 3600 * 1000;
  std::map<std::string, int64_t> by_name, values_per_label, bytes_per_label, by_pair;
  std::map<std::string, std::set<std::string>> label_values;
  int64_t label_pairs = 0;
  absl::StatusOr<std::vector<Series>> series =
      db_->Select({Matcher{Matcher::Op::kRegexMatch, "__name__", ".+"}}, mint, maxt);
  if (!series.ok()) return ApiError(ErrorType::kInternal, series.status().message());
  std::set<std::pair<std::string, std::string>> pairs;
  for (const Series& s : *series) {
    ++by_name[std::string(GetLabelValue(s.labels, kMetricNameLabel))];
    for (const Label& l : s.labels) {
      ++by_pair[absl::StrCat(l.name, "=", l.value)];
      if (label_values[l.name].insert(l.value).second) {
        bytes_per_label[l.name] += static_cast<int64_t>(l.value.size());
      }
      pairs.emplace(l.name, l.value);
    }
  }
  label_pairs = static_cast<int64_t>(pairs.size());
  for (const auto& [name, vals] : label_values) {
    values_per_label[name] = static_cast<int64_t>(vals.size());
  }
  auto top = [limit](const std::map<std::string, int64_t>& m, JsonWriter* w) {
    std::vector<std::pair<int64_t, std::string>> v;
    for (const auto& [k, n] : m) v.emplace_back(-n, k);
    std::sort(v.begin(), v.end());
    w->BeginArray();
    for (size_t i = 0; i < v.size() && static_cast<int64_t>(i) < limit; ++i) {
      w->BeginObject().Key("name").String(v[i].second).Key("value").Int(-v[i].first).EndObject();
    }
    w->EndArray();
  };
  JsonWriter w;
  w.BeginObject();
  w.Key("headStats").BeginObject();
  w.Key("numSeries").Int(st->head_series);
  w.Key("numLabelPairs").Int(label_pairs);
  w.Key("chunkCount").Int(st->head_series);
  w.Key("minTime").Int(st->min_time_ms);
  w.Key("maxTime").Int(st->max_time_ms);
  w.EndObject();
  w.Key("seriesCountByMetricName");
  top(by_name, &w);
  w.Key("labelValueCountByLabelName");
  top(values_per_label, &w);
  w.Key("memoryInBytesByLabelName");
  top(bytes_per_label, &w);
  w.Key("seriesCountByLabelValuePair");
  top(by_pair, &w);
  w.EndObject();
  return Success(w.str());
}

HttpResponse Api::Flags() {
  JsonWriter w;
  w.BeginObject();
  for (const auto& [k, v] : options_.flags) w.Key(k).String(v);
  w.EndObject();
  return Success(w.str());
}

HttpResponse Api::Targets() {
  JsonWriter w;
  w.BeginObject().Key("activeTargets").BeginArray();
  // The self-scrape first, then the configured targets.
  const int64_t last = last_self_scrape_ms_.load();
  w.BeginObject();
  w.Key("discoveredLabels").BeginObject().EndObject();
  w.Key("labels").BeginObject().Key("instance").String(options_.instance);
  w.Key("job").String("ember").EndObject();
  w.Key("scrapePool").String("ember");
  w.Key("scrapeUrl").String(absl::StrCat("http://", options_.instance, "/metrics"));
  w.Key("globalUrl").String(absl::StrCat("http://", options_.instance, "/metrics"));
  w.Key("lastError").String("");
  w.Key("lastScrape").String(last > 0 ? FormatRfc3339(last) : "0001-01-01T00:00:00Z");
  w.Key("lastScrapeDuration").Double(0);
  w.Key("health").String(last > 0 ? "up" : "unknown");
  w.Key("scrapeInterval").String("15s");
  w.Key("scrapeTimeout").String("10s");
  w.EndObject();
  if (hooks_.scrape != nullptr) {
    for (const TargetStatus& t : hooks_.scrape->Targets()) {
      w.BeginObject();
      w.Key("discoveredLabels");
      WriteLabelsObject(t.discovered_labels, &w);
      w.Key("labels");
      WriteLabelsObject(t.labels, &w);
      w.Key("scrapePool").String(t.scrape_pool);
      w.Key("scrapeUrl").String(t.scrape_url);
      w.Key("globalUrl").String(t.scrape_url);
      w.Key("lastError").String(t.last_error);
      w.Key("lastScrape")
          .String(t.last_scrape_ms > 0 ? FormatRfc3339(t.last_scrape_ms) : "0001-01-01T00:00:00Z");
      w.Key("lastScrapeDuration").Double(t.last_scrape_duration_seconds);
      w.Key("health").String(t.health);
      w.Key("scrapeInterval").String(util::FormatDuration(t.scrape_interval_ms));
      w.Key("scrapeTimeout").String(util::FormatDuration(t.scrape_timeout_ms));
      w.EndObject();
    }
  }
  w.EndArray().Key("droppedTargets").BeginArray();
  if (hooks_.scrape != nullptr) {
    for (const DroppedTargetStatus& t : hooks_.scrape->DroppedTargets()) {
      w.BeginObject().Key("discoveredLabels");
      WriteLabelsObject(t.discovered_labels, &w);
      w.Key("scrapePool").String(t.scrape_pool);
      w.EndObject();
    }
  }
  w.EndArray().EndObject();
  return Success(w.str());
}

HttpResponse Api::Rules(const HttpRequest& req) {
  if (hooks_.rules == nullptr) return Success("{\"groups\":[]}");
  absl::StatusOr<Params> params = Params::Parse(req.query, "", "");
  std::string type = params.ok() ? params->Get("type").value_or("") : "";
  JsonWriter w;
  hooks_.rules->WriteRules(type, &w);
  return Success(w.str());
}

HttpResponse Api::Alerts() {
  if (hooks_.rules == nullptr) return Success("{\"alerts\":[]}");
  JsonWriter w;
  hooks_.rules->WriteAlerts(&w);
  return Success(w.str());
}

HttpResponse Api::Reload() {
  if (!hooks_.reload) return PlainText(400, "no --config_file to reload\n");
  absl::Status s = hooks_.reload();
  return s.ok() ? PlainText(200, "")
                : PlainText(500, absl::StrCat("failed to reload config: ", s.message(), "\n"));
}

HttpResponse Api::MetricsPage() {
  HttpResponse r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = metrics_->Expose();
  return r;
}

}  // namespace ember::server
