// An embedder's program built against an installed Ember (tests/consumer/run.sh): it includes
// only <ember/...>, appends a counter through ember::Db, asks PromQL for its rate and checks
// the answers. Exit status 0 only when every answer is right.
//
//   consumer DATA_DIR
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <variant>

#include "ember/db.h"
#include "ember/labels.h"
#include "ember/promql.h"

namespace {

int failures = 0;

void Check(bool ok, const std::string& what) {
  std::printf("%s: %s\n", ok ? "ok" : "FAIL", what.c_str());
  if (!ok) ++failures;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: consumer DATA_DIR\n");
    return 2;
  }
  ember::Options options;
  options.retention_ms = 0;  // The samples below are from 1970.
  options.background_interval_ms = 0;
  auto db = ember::Db::Open(options, argv[1]);
  if (!db.ok()) {
    std::fprintf(stderr, "open %s: %s\n", argv[1], db.status().ToString().c_str());
    return 1;
  }

  // A counter scraped every 15 s for 10 minutes, growing by 30 a scrape: 2 per second.
  const ember::Labels series = {{"__name__", "requests_total"}, {"job", "consumer"}};
  std::unique_ptr<ember::Appender> app = (*db)->NewAppender();
  for (int64_t s = 0; s <= 600; s += 15) {
    if (absl::Status st = app->Append(series, s * 1000, 2.0 * s); !st.ok()) {
      std::fprintf(stderr, "append: %s\n", st.ToString().c_str());
      return 1;
    }
  }
  auto committed = app->Commit();
  if (!committed.ok()) {
    std::fprintf(stderr, "commit: %s\n", committed.status().ToString().c_str());
    return 1;
  }
  Check(committed->samples_stored == 41, "41 samples stored");

  auto engine = ember::promql::NewEngine(db->get());
  if (!engine.ok()) {
    std::fprintf(stderr, "engine: %s\n", engine.status().ToString().c_str());
    return 1;
  }
  auto rate = (*engine)->InstantQuery("rate(requests_total[5m])", 600'000);
  Check(rate.ok(), "rate(requests_total[5m]) evaluates");
  if (rate.ok()) {
    const auto* vec = std::get_if<ember::promql::Vector>(&rate->value);
    Check(vec != nullptr && vec->size() == 1, "one series back");
    if (vec != nullptr && vec->size() == 1) {
      const ember::promql::InstantSample& s = (*vec)[0];
      std::printf("%s => %g @ %lld\n", ember::LabelsToString(s.labels).c_str(), s.v,
                  static_cast<long long>(s.t));
      Check(s.labels == ember::Labels{{"job", "consumer"}}, "labels {job=\"consumer\"}");
      Check(std::abs(s.v - 2.0) < 1e-12, "rate is 2/s");
    }
  }

  auto range =
      (*engine)->RangeQuery("sum(rate(requests_total[5m])) * 60", 300'000, 600'000, 60'000);
  Check(range.ok(), "range query evaluates");
  if (range.ok()) {
    const auto* m = std::get_if<ember::promql::Matrix>(&range->value);
    Check(m != nullptr && m->size() == 1 && (*m)[0].samples.size() == 6, "6 steps back");
    if (m != nullptr && m->size() == 1) {
      for (const ember::Sample& p : (*m)[0].samples) {
        Check(std::abs(p.v - 120.0) < 1e-9, "120 a minute at t=" + std::to_string(p.t));
      }
    }
  }

  auto bad = (*engine)->InstantQuery("rate(requests_total[5m]", 600'000);
  Check(!bad.ok() && bad.status().code() == absl::StatusCode::kInvalidArgument,
        "a bad query is InvalidArgument: " + bad.status().ToString());

  // Raw samples back through the storage API.
  auto selected =
      (*db)->Select({{ember::Matcher::Op::kEqual, "__name__", "requests_total"}}, 300'000, 600'000);
  int n = 0;
  if (selected.ok() && selected->size() == 1) {
    while ((*selected)[0].samples->Next()) ++n;
  }
  Check(n == 21, "21 raw samples in [300 s, 600 s]");

  Check((*db)->Close().ok(), "close");
  std::printf("%s\n", failures == 0 ? "PASS" : "FAILED");
  return failures == 0 ? 0 : 1;
}
