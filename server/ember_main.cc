// The `ember` command. Until the HTTP server lands (issue #4), it offers:
//   ember demo     appends a realistic ML-serving data set to --data_dir through the embedding
//                  API and prints what a newcomer wants to see: ingest rate, bytes per sample,
//                  and throughput, p99 latency and error ratio per model by PromQL.
//   ember query    runs an instant PromQL query over a data directory.
//   ember inspect  prints the statistics of a data directory.
//   ember version
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "gflags/gflags.h"

#include "ember/db.h"
#include "query/engine.h"
#include "tests/testutil/scrape_data.h"

DEFINE_string(data_dir, "./data", "Data directory (created when missing)");
DEFINE_int32(targets, 50, "demo: model-server instances to simulate (~120 series each)");
DEFINE_int32(hours, 6, "demo: hours of 15 s scrapes to append, ending now");
DEFINE_int64(time_ms, 0, "query: evaluation time in Unix milliseconds (0: now)");
DEFINE_int64(retention_hours, 15 * 24, "Retention in hours (0 keeps everything)");

namespace {

constexpr const char* kUsage =
    "ember <command> [flags]\n"
    "  demo      append a realistic ML-serving data set and print figures\n"
    "  query     run an instant PromQL query over --data_dir (at --time_ms, default now)\n"
    "  inspect   print statistics of --data_dir\n"
    "  version   print the version\n";

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

ember::Options MakeOptions() {
  ember::Options o;
  o.retention_ms = FLAGS_retention_hours * 3600 * 1000;
  return o;
}

int Fail(const absl::Status& s) {
  std::fprintf(stderr, "ember: %s\n", s.ToString().c_str());
  return 1;
}

void PrintStats(const ember::DbStats& st) {
  std::printf("series            %lld (in head: %lld)\n", (long long)st.series,
              (long long)st.head_series);
  std::printf("samples           %lld\n", (long long)st.samples);
  std::printf("bytes on disk     %lld\n", (long long)st.bytes_on_disk);
  std::printf("bytes per sample  %.3f\n", st.bytes_per_sample);
  std::printf("partitions        %lld\n", (long long)st.partitions);
  std::printf("head memory       %.1f MiB\n", st.head_memory_bytes / 1048576.0);
}

// Prints an instant query's result as a small table.
absl::Status PrintQuery(ember::Db* db, const std::string& expr, int64_t t) {
  ember::query::Engine engine(db, ember::query::EngineOptions{});
  auto r = engine.InstantQuery(expr, t);
  if (!r.ok()) return r.status();
  std::printf("\n%s\n", expr.c_str());
  const ember::query::Value& v = r->value;
  switch (v.type) {
    case ember::query::ValueType::kScalar:
      std::printf("  %g\n", v.scalar);
      break;
    case ember::query::ValueType::kString:
      std::printf("  \"%s\"\n", v.str.c_str());
      break;
    case ember::query::ValueType::kVector:
      if (v.vector.empty()) std::printf("  (no data)\n");
      for (const auto& s : v.vector) {
        std::printf("  %-60s %g\n", ember::LabelsToString(s.labels).c_str(), s.v);
      }
      break;
    default:
      for (const auto& s : v.matrix) {
        std::printf("  %s: %zu points\n", ember::LabelsToString(s.labels).c_str(),
                    s.points.size());
      }
  }
  for (const std::string& w : r->annotations.warnings) std::printf("  warning: %s\n", w.c_str());
  return absl::OkStatus();
}

constexpr const char* kDemoQueries[] = {
    "sum by (model) (rate(model_requests_total[5m]))",
    "histogram_quantile(0.99, sum by (le, model) (rate(model_request_latency_seconds_bucket[5m])))",
    "sum by (model) (rate(model_requests_total{code=~\"5..\"}[5m])) / sum by (model) "
    "(rate(model_requests_total[5m]))",
};

int Demo() {
  auto db = ember::Db::Open(MakeOptions(), FLAGS_data_dir);
  if (!db.ok()) return Fail(db.status());
  const int64_t now = NowMs();
  auto before = (*db)->Stats();
  if (!before.ok()) return Fail(before.status());
  // Continue after what an earlier run stored, so a second run appends instead of colliding.
  ember::testutil::ScrapeDataOptions data;
  data.targets = FLAGS_targets;
  data.start_ms = std::max<int64_t>(now - int64_t(FLAGS_hours) * 3600 * 1000,
                                    before->max_time_ms + 60'000);
  ember::testutil::ScrapeData gen(data);
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
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("appended %lld samples in %.2f s: %.2f M samples/s durable (group commit); "
              "%lld rejected\n",
              (long long)stored, secs, stored / secs / 1e6, (long long)rejected);

  std::printf("\nthroughput, p99 latency and error ratio per model, by PromQL:\n");
  for (const char* q : kDemoQueries) {
    if (absl::Status s = PrintQuery(db->get(), q, now); !s.ok()) return Fail(s);
  }
  std::printf("\ncompacting, so the size is the honest one...\n");
  if (absl::Status s = (*db)->CompactAll(); !s.ok()) return Fail(s);
  auto st = (*db)->Stats();
  if (!st.ok()) return Fail(st.status());
  PrintStats(*st);
  if (absl::Status s = (*db)->Close(); !s.ok()) return Fail(s);
  std::printf("\nData kept in %s; run `ember inspect --data_dir=%s` to look again.\n",
              FLAGS_data_dir.c_str(), FLAGS_data_dir.c_str());
  return 0;
}

// `ember query EXPR`: an instant query at --time (default now) over --data_dir.
int Query(const std::string& expr) {
  ember::Options o = MakeOptions();
  o.create_if_missing = false;
  o.background_interval_ms = 0;
  auto db = ember::Db::Open(o, FLAGS_data_dir);
  if (!db.ok()) return Fail(db.status());
  const int64_t t = FLAGS_time_ms != 0 ? FLAGS_time_ms : NowMs();
  if (absl::Status s = PrintQuery(db->get(), expr, t); !s.ok()) return Fail(s);
  return 0;
}

int Inspect() {
  ember::Options o = MakeOptions();
  o.create_if_missing = false;
  o.background_interval_ms = 0;
  auto db = ember::Db::Open(o, FLAGS_data_dir);
  if (!db.ok()) return Fail(db.status());
  auto st = (*db)->Stats();
  if (!st.ok()) return Fail(st.status());
  PrintStats(*st);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  gflags::SetUsageMessage(kUsage);
  gflags::SetVersionString("0.1.0");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  const std::string cmd = argc > 1 ? argv[1] : "";
  if (cmd == "demo") return Demo();
  if (cmd == "inspect") return Inspect();
  if (cmd == "query") {
    if (argc < 3) {
      std::fprintf(stderr, "usage: ember query EXPR [--data_dir=DIR] [--time_ms=T]\n");
      return 2;
    }
    return Query(argv[2]);
  }
  if (cmd == "version") {
    std::printf("ember 0.1.0\n");
    return 0;
  }
  std::fprintf(stderr, "%s", kUsage);
  return 2;
}
