// Shared by the prometheus_peer_*_test.cc files (through prometheus_peer_testing.h): the paths,
// the time helpers and the scrape target Prometheus scrapes.
//
#ifndef EMBER_TESTS_PROMETHEUS_PEER_TARGET_H_
#define EMBER_TESTS_PROMETHEUS_PEER_TARGET_H_

// Ember beside a real Prometheus (2.42, from Debian): Prometheus scrapes a target served by this
// test every second and forwards every sample to `ember serve` by remote write, so both hold
// the same samples; then the same PromQL queries, series and label lookups go to both HTTP APIs
// and the answers must agree (labels exactly, values within a relative 1e-9, NaN == NaN).
//
// Where the two may legitimately differ, and how the test avoids it:
//   - Ember implements Prometheus 3.x semantics. 3.0 made range selectors (and the lookback of
//     instant selectors, and subquery ranges) left-open, (t - range, t], where 2.42 selects the
//     closed [t - range, t]. The answers differ only when a sample sits exactly on a left edge.
//     Prometheus aligns scrape timestamps to its 1 s ticker, so every sample of the target is
//     at p + k*1000 ms for one phase p. The evaluation time T is put half a second off that
//     phase, and every window, offset, @ time and range step below is a whole number of
//     seconds, so no edge T - n*1000 ever falls on a sample; the chosen T is checked against
//     the timestamps Prometheus actually stored (a late scrape off the phase moves T).
//     Subqueries step on absolute multiples of their step, so they run only when the phase is
//     not 0 (and T is not on a whole second).
//   - Functions renamed or changed after 2.42 (holt_winters, native histograms, the info
//     annotations 3.x adds) are not queried; warnings and infos are not compared.
//   - Ember receives samples a second or two after Prometheus scraped them (the remote write
//     queue's batch_send_deadline is 1 s): T is chosen a few seconds in the past and Ember is
//     waited for until it holds samples past T.
// At the end the target stops: Prometheus writes stale markers for its series and forwards
// them, and a query after the markers must return nothing from either.
//
// Skips (naming the Debian package) when prometheus is absent.
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "server/http/http_server.h"
#include "tests/testutil/child_process.h"
#include "tests/testutil/ember_process.h"
#include "tests/testutil/http_client.h"
#include "tests/testutil/json_value.h"
#include "tests/testutil/temp_dir.h"

namespace ember {
namespace {

using testutil::EmberProcess;
using testutil::HttpClient;
using testutil::HttpResult;
using testutil::JsonValue;
using testutil::TempDir;

constexpr char kEmberPath[] = EMBER_BINARY_DIR "/ember";
constexpr char kPrometheusPath[] = "/usr/bin/prometheus";
constexpr int kMinScrapes = 15;
// How far before T the queries below reach: a 10 s range query whose steps use 10 s windows,
// offsets of 3 s, a [10s:2s] subquery over 5 s windows; with a margin.
constexpr int64_t kHistoryMs = 30'000;

inline int64_t WallNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline std::string Seconds(int64_t t_ms) {
  return absl::StrFormat("%s%d.%03d", t_ms < 0 ? "-" : "", std::abs(t_ms) / 1000,
                         std::abs(t_ms) % 1000);
}

// The scrape target: Prometheus text exposition whose counters, histogram and gauges advance
// deterministically on each scrape (scrape n = 1, 2, ...). Thread-safe.
class PeerTarget {
 public:
  std::string Scrape() {
    absl::MutexLock lock(&mu_);
    ++n_;
    const int64_t n = n_;
    // Counters: irregular integer increments; the 500s only now and then.
    requests_[0] += 50 + (n * 37) % 23;
    requests_[1] += (n * 7) % 3 == 0 ? 2 : 0;
    requests_[2] += 5 + n % 7;
    requests_[3] += n % 5 == 0 ? 1 : 0;
    // A histogram per path: a few observations per scrape spread over the buckets, and a sum
    // that is never round.
    for (int p = 0; p < 2; ++p) {
      for (int b = 0; b < kBuckets; ++b) {
        const int64_t add = (n * (b + 3) * (p + 5)) % (7 - b % 3);
        bucket_counts_[p][b] += add;
        latency_sum_[p] += static_cast<double>(add) * kBucketMid[b] * (1 + 0.013 * (n % 11));
      }
    }
    std::string out;
    absl::StrAppend(&out, "# HELP peer_requests_total Requests served.\n",
                    "# TYPE peer_requests_total counter\n");
    const char* paths[2] = {"/api", "/login"};
    const char* codes[2] = {"200", "500"};
    for (int i = 0; i < 4; ++i) {
      absl::StrAppend(&out, "peer_requests_total{path=\"", paths[i / 2], "\",code=\"", codes[i % 2],
                      "\"} ", requests_[i], "\n");
    }
    // A counter that resets every 6 scrapes.
    absl::StrAppend(&out, "# TYPE peer_resets_total counter\n",
                    absl::StrFormat("peer_resets_total %.1f\n", 3.5 * static_cast<double>(n % 6)));
    absl::StrAppend(&out, "# HELP peer_latency_seconds Request latency.\n",
                    "# TYPE peer_latency_seconds histogram\n");
    for (int p = 0; p < 2; ++p) {
      int64_t cumulative = 0;
      for (int b = 0; b < kBuckets; ++b) {
        cumulative += bucket_counts_[p][b];
        absl::StrAppend(&out, "peer_latency_seconds_bucket{path=\"", paths[p], "\",le=\"",
                        kBucketLe[b], "\"} ", cumulative, "\n");
      }
      absl::StrAppend(&out, "peer_latency_seconds_sum{path=\"", paths[p], "\"} ",
                      absl::StrFormat("%.9f", latency_sum_[p]), "\n");
      absl::StrAppend(&out, "peer_latency_seconds_count{path=\"", paths[p], "\"} ", cumulative,
                      "\n");
    }
    absl::StrAppend(&out, "# TYPE peer_temperature_celsius gauge\n",
                    absl::StrFormat("peer_temperature_celsius{room=\"a\"} %.2f\n",
                                    20.01 + 0.25 * static_cast<double>((n * 13) % 17)),
                    absl::StrFormat("peer_temperature_celsius{room=\"b\"} %.2f\n",
                                    18.5 - 0.1 * static_cast<double>((n * 5) % 9)));
    absl::StrAppend(&out, "# TYPE peer_queue_length gauge\n", "peer_queue_length ", (n * 3) % 7,
                    "\n");
    absl::StrAppend(&out, "# TYPE peer_build_info gauge\n",
                    "peer_build_info{version=\"1.2.3\",revision=\"abc\"} 1\n");
    return out;
  }

 private:
  static constexpr int kBuckets = 6;
  static constexpr const char* kBucketLe[kBuckets] = {"0.01", "0.05", "0.1", "0.5", "1", "+Inf"};
  static constexpr double kBucketMid[kBuckets] = {0.004, 0.031, 0.077, 0.29, 0.73, 1.9};

  absl::Mutex mu_;
  int64_t n_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t requests_[4] ABSL_GUARDED_BY(mu_) = {1000, 3, 200, 0};
  int64_t bucket_counts_[2][kBuckets] ABSL_GUARDED_BY(mu_) = {};
  double latency_sum_[2] ABSL_GUARDED_BY(mu_) = {};
};

}  // namespace
}  // namespace ember

#endif  // EMBER_TESTS_PROMETHEUS_PEER_TARGET_H_
