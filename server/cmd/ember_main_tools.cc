// The `ember` command's offline commands (server/cmd/ember_cli.h): query, import, inspect,
// compact, demo and check, over a closed data directory or files.
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "ember/db.h"
#include "examples/model-serving/scrape_data.h"
#include "gflags/gflags.h"
#include "ingest/influx.h"
#include "ingest/text_format.h"
#include "ingest/write_path.h"
#include "query/engine.h"
#include "rules/rule_file.h"
#include "server/api/params.h"
#include "server/api/query_json.h"
#include "server/cmd/ember_cli.h"
#include "server/config/config.h"
#include "server/http/json.h"
#include "server/version.h"
#include "util/clock.h"

namespace ember_cli {
namespace {

using ember::server::FormatPromValue;

void PrintTable(const ember::query::Value& v) {
  using ember::query::ValueType;
  switch (v.type) {
    case ValueType::kScalar:
      std::printf("scalar  %s\n", FormatPromValue(v.scalar).c_str());
      break;
    case ValueType::kString:
      std::printf("string  \"%s\"\n", v.str.c_str());
      break;
    case ValueType::kVector:
      if (v.vector.empty()) std::printf("(no data)\n");
      for (const auto& s : v.vector) {
        std::printf("%-70s %s\n", ember::LabelsToString(s.labels).c_str(),
                    FormatPromValue(s.v).c_str());
      }
      break;
    default:
      if (v.matrix.empty()) std::printf("(no data)\n");
      for (const auto& s : v.matrix) {
        std::printf("%s\n", ember::LabelsToString(s.labels).c_str());
        for (const auto& p : s.points) {
          std::printf("  %s  %s\n", ember::server::FormatPromTimestamp(p.t).c_str(),
                      FormatPromValue(p.v).c_str());
        }
      }
  }
}

}  // namespace

int Query(const std::string& dir, const std::string& expr) {
  absl::StatusOr<ember::query::EngineOptions> eo = MakeEngineOptions();
  if (!eo.ok()) return Fail(eo.status());
  absl::StatusOr<std::unique_ptr<ember::Db>> db = OpenExisting(dir);
  if (!db.ok()) return Fail(db.status());
  ember::query::Engine engine(db->get(), *eo);
  absl::StatusOr<ember::query::QueryResult> r;
  if (!FLAGS_step.empty()) {
    absl::StatusOr<int64_t> step = ember::server::ParseDurationParam(FLAGS_step);
    if (!step.ok()) return Fail(step.status());
    absl::StatusOr<int64_t> end =
        FLAGS_end.empty() ? ember::util::NowMs() : ember::server::ParseTimeParam(FLAGS_end);
    if (!end.ok()) return Fail(end.status());
    absl::StatusOr<int64_t> start = FLAGS_start.empty()
                                        ? absl::StatusOr<int64_t>(*end - 3600 * 1000)
                                        : ember::server::ParseTimeParam(FLAGS_start);
    if (!start.ok()) return Fail(start.status());
    r = engine.RangeQuery(expr, *start, *end, *step);
  } else {
    absl::StatusOr<int64_t> t =
        FLAGS_time.empty() ? ember::util::NowMs() : ember::server::ParseTimeParam(FLAGS_time);
    if (!t.ok()) return Fail(t.status());
    r = engine.InstantQuery(expr, *t);
  }
  if (!r.ok()) return Fail(r.status());
  if (FLAGS_format == "json") {
    ember::server::JsonWriter w;
    ember::server::WriteQueryData(r->value, &w);
    std::printf("%s\n", w.str().c_str());
  } else if (FLAGS_format.empty() || FLAGS_format == "table") {
    PrintTable(r->value);
  } else {
    return Fail(absl::InvalidArgumentError("--format must be table or json for query"));
  }
  for (const std::string& w : r->annotations.warnings) {
    std::fprintf(stderr, "warning: %s\n", w.c_str());
  }
  return 0;
}

int Import(const std::vector<std::string>& files) {
  absl::StatusOr<ember::Options> o = MakeOptions();
  if (!o.ok()) return Fail(o.status());
  absl::StatusOr<std::unique_ptr<ember::Db>> db = ember::Db::Open(*o, FLAGS_data_dir);
  if (!db.ok()) return Fail(db.status());
  ember::Labels extra;
  if (!FLAGS_extra_label.empty()) {
    for (absl::string_view kv : absl::StrSplit(FLAGS_extra_label, ',')) {
      const size_t eq = kv.find('=');
      if (eq == absl::string_view::npos || eq == 0) {
        return Fail(absl::InvalidArgumentError(
            absl::StrCat("--extra_label: expected name=value, got \"", kv, "\"")));
      }
      extra.push_back(ember::Label{std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1))});
    }
  }
  absl::StatusOr<int64_t> ts = FLAGS_import_timestamp.empty()
                                   ? absl::StatusOr<int64_t>(ember::util::NowMs())
                                   : ember::server::ParseTimeParam(FLAGS_import_timestamp);
  if (!ts.ok()) return Fail(ts.status());
  int64_t total = 0;
  for (const std::string& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return Fail(absl::NotFoundError(absl::StrCat(file, ": cannot open")));
    std::stringstream buf;
    buf << in.rdbuf();
    const std::string body = buf.str();
    std::string format = FLAGS_format;
    if (format.empty()) {
      format = absl::EndsWith(file, ".om")                                      ? "openmetrics"
               : absl::EndsWith(file, ".influx") || absl::EndsWith(file, ".lp") ? "influx"
                                                                                : "prometheus";
    }
    ember::ingest::DecodedBatch batch;
    absl::Status s;
    if (format == "influx") {
      ember::ingest::InfluxOptions io;
      io.default_timestamp_ms = *ts;
      io.extra_labels = extra;
      s = ember::ingest::ParseInfluxLines(body, io, &batch);
    } else if (format == "prometheus" || format == "openmetrics") {
      ember::ingest::TextFormatOptions to;
      to.openmetrics = format == "openmetrics";
      to.default_timestamp_ms = *ts;
      to.extra_labels = extra;
      s = ember::ingest::ParseTextFormat(body, to, &batch);
    } else {
      return Fail(absl::InvalidArgumentError(
          "--format must be prometheus, openmetrics or influx for import"));
    }
    if (!s.ok()) return Fail(absl::InvalidArgumentError(absl::StrCat(file, ": ", s.message())));
    absl::StatusOr<ember::ingest::WriteOutcome> out = ember::ingest::WriteBatch(db->get(), batch);
    if (!out.ok())
      return Fail(absl::InvalidArgumentError(absl::StrCat(file, ": ", out.status().message())));
    for (const std::string& e : out->errors)
      std::fprintf(stderr, "%s: %s\n", file.c_str(), e.c_str());
    std::printf("%s: %lld samples stored, %lld refused\n", file.c_str(),
                (long long)out->samples_stored, (long long)out->samples_refused);
    total += out->samples_stored;
    if (out->samples_refused > 0) return 1;
  }
  if (absl::Status s = (*db)->Close(); !s.ok()) return Fail(s);
  std::printf("imported %lld samples into %s\n", (long long)total, FLAGS_data_dir.c_str());
  return 0;
}

namespace {

void PrintStats(const ember::DbStats& st) {
  std::printf("series            %lld (in head: %lld)\n", (long long)st.series,
              (long long)st.head_series);
  std::printf("samples           %lld\n", (long long)st.samples);
  std::printf("bytes on disk     %lld\n", (long long)st.bytes_on_disk);
  std::printf("bytes per sample  %.3f\n", st.bytes_per_sample);
  std::printf("partitions        %lld\n", (long long)st.partitions);
  if (st.samples > 0) {
    auto day = [](int64_t ms) {
      return absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixMillis(ms), absl::UTCTimeZone());
    };
    std::printf("time range        %s .. %s UTC\n", day(st.min_time_ms).c_str(),
                day(st.max_time_ms).c_str());
  }
  std::printf("head memory       %.1f MiB\n", st.head_memory_bytes / 1048576.0);
}

}  // namespace

int Inspect(const std::string& dir) {
  absl::StatusOr<std::unique_ptr<ember::Db>> db = OpenExisting(dir);
  if (!db.ok()) return Fail(db.status());
  absl::StatusOr<ember::DbStats> st = (*db)->Stats();
  if (!st.ok()) return Fail(st.status());
  PrintStats(*st);
  absl::StatusOr<std::vector<ember::Series>> all = (*db)->Select(
      {ember::Matcher{ember::Matcher::Op::kRegexMatch, "__name__", ".+"}}, 0, INT64_MAX);
  if (!all.ok()) return Fail(all.status());
  std::map<std::string, int64_t> by_name;
  for (const ember::Series& s : *all) {
    ++by_name[std::string(ember::GetLabelValue(s.labels, ember::kMetricNameLabel))];
  }
  std::vector<std::pair<int64_t, std::string>> top;
  for (const auto& [name, n] : by_name) top.emplace_back(-n, name);
  std::sort(top.begin(), top.end());
  std::printf("\ntop metrics by series (%zu metrics):\n", top.size());
  for (size_t i = 0; i < top.size() && i < 10; ++i) {
    std::printf("  %8lld  %s\n", (long long)-top[i].first, top[i].second.c_str());
  }
  return 0;
}

int Compact(const std::string& dir) {
  absl::StatusOr<std::unique_ptr<ember::Db>> db = OpenExisting(dir);
  if (!db.ok()) return Fail(db.status());
  const auto t0 = std::chrono::steady_clock::now();
  if (absl::Status s = (*db)->CompactAll(); !s.ok()) return Fail(s);
  absl::StatusOr<ember::DbStats> st = (*db)->Stats();
  if (!st.ok()) return Fail(st.status());
  std::printf("compacted %s in %.2f s\n", dir.c_str(),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  PrintStats(*st);
  if (absl::Status s = (*db)->Close(); !s.ok()) return Fail(s);
  return 0;
}

namespace {

constexpr const char* kDemoQueries[] = {
    "sum by (model) (rate(model_requests_total[5m]))",
    "histogram_quantile(0.99, sum by (le, model) (rate(model_request_latency_seconds_bucket[5m])))",
    "sum by (model) (rate(model_requests_total{code=~\"5..\"}[5m])) / sum by (model) "
    "(rate(model_requests_total[5m]))",
};

}  // namespace

int Demo() {
  absl::StatusOr<ember::Options> o = MakeOptions();
  if (!o.ok()) return Fail(o.status());
  auto db = ember::Db::Open(*o, FLAGS_data_dir);
  if (!db.ok()) return Fail(db.status());
  const int64_t now = ember::util::NowMs();
  auto before = (*db)->Stats();
  if (!before.ok()) return Fail(before.status());
  // Continue after what an earlier run stored, so a second run appends instead of colliding.
  ember::model_serving::ScrapeDataOptions data;
  data.targets = FLAGS_targets;
  data.start_ms =
      std::max<int64_t>(now - int64_t(FLAGS_hours) * 3600 * 1000, before->max_time_ms + 60'000);
  ember::model_serving::ScrapeData gen(data);
  std::printf("ember demo: %d model servers, %zu series, 15 s scrapes from %s ago into %s\n",
              FLAGS_targets, gen.series().size(),
              absl::FormatDuration(absl::Milliseconds(now - data.start_ms)).c_str(),
              FLAGS_data_dir.c_str());
  const auto t0 = std::chrono::steady_clock::now();
  int64_t stored = 0, rejected = 0;
  std::vector<double> values;
  for (bool more = true; more;) {
    more = false;
    auto app = (*db)->NewAppender();
    for (int target = 0; target < gen.num_targets(); ++target) {
      int64_t t;
      gen.NextScrape(target, &t, &values);
      if (t > now) continue;
      more = true;
      const auto [first, last] = gen.target_series(target);
      for (size_t i = first; i < last; ++i) {
        if (!app->Append(gen.series()[i], t, values[i - first]).ok()) ++rejected;
      }
    }
    auto r = app->Commit();
    if (!r.ok()) return Fail(r.status());
    stored += r->samples_stored;
    rejected += static_cast<int64_t>(r->rejected.size());
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "appended %lld samples in %.2f s: %.2f M samples/s durable (group commit); "
      "%lld rejected\n",
      (long long)stored, secs, stored / secs / 1e6, (long long)rejected);
  std::printf("\nthroughput, p99 latency and error ratio per model, by PromQL:\n");
  ember::query::Engine engine(db->get(), ember::query::EngineOptions{});
  for (const char* q : kDemoQueries) {
    auto r = engine.InstantQuery(q, now);
    if (!r.ok()) return Fail(r.status());
    std::printf("\n%s\n", q);
    PrintTable(r->value);
  }
  std::printf("\ncompacting, so the size is the honest one...\n");
  if (absl::Status s = (*db)->CompactAll(); !s.ok()) return Fail(s);
  auto st = (*db)->Stats();
  if (!st.ok()) return Fail(st.status());
  PrintStats(*st);
  if (absl::Status s = (*db)->Close(); !s.ok()) return Fail(s);
  std::printf("\nData kept in %s; `ember serve --data_dir=%s` serves it.\n", FLAGS_data_dir.c_str(),
              FLAGS_data_dir.c_str());
  return 0;
}

// `ember check config FILE` and `ember check rules FILE...`, as promtool's checks.
int Check(const std::vector<std::string>& args) {
  if (args.size() < 2 || (args[0] != "config" && args[0] != "rules")) {
    std::fprintf(stderr, "usage: ember check config FILE | ember check rules FILE...\n");
    return 2;
  }
  std::vector<std::string> rule_files;
  int rc = 0;
  if (args[0] == "config") {
    std::string report;
    absl::Status s = ember::server::CheckConfigFile(args[1], &report, &rule_files);
    std::printf("%s", report.c_str());
    if (!s.ok()) return 1;
  } else {
    rule_files.assign(args.begin() + 1, args.end());
  }
  for (const std::string& f : rule_files) {
    auto groups = ember::rules::LoadRuleFile(f);
    std::printf("%s", ember::rules::CheckRulesReport(f, groups).c_str());
    if (!groups.ok()) rc = 1;
  }
  return rc;
}

}  // namespace ember_cli
