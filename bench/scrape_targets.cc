// Fake scrape targets for bench/scrape_overhead.sh: --targets HTTP servers on 127.0.0.1, ports
// --base_port .. --base_port + targets - 1 (one ember::server::HttpServer each, one thread), whose
// /metrics returns the text exposition format with --series series:
//   fake_latency_seconds_bucket{le} x 12, _sum, _count    one histogram (14 series)
//   fake_requests_total{path="/api/<i>",code}             counters, the rest of --series
// Every request advances every value (counters by a per-series step, the histogram by one
// observation per bucket step), so each scrape stores fresh, compressible but varying samples.
// Series names are rendered once at start-up; a request only appends the numbers.
//
//   scrape_targets --targets=100 --series=1000 --base_port=19100
//
// Runs until SIGTERM or SIGINT; prints "ready" on stdout once every port listens.
#include <time.h>

#include <atomic>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gflags/gflags.h"
#include "server/http/http_server.h"

DEFINE_int32(targets, 100, "Targets (HTTP servers, one port each)");
DEFINE_int32(series, 1000, "Series per target (at least 14: the histogram's)");
DEFINE_int32(base_port, 19100, "Port of the first target; the others follow");

namespace {

constexpr double kBuckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
constexpr int kHistogramSeries = 11 + 1 + 2;  // Finite buckets, +Inf, _sum, _count.

// One target's exposition: a fixed prefix per series and the request count.
class Target {
 public:
  explicit Target(int series) {
    head_ =
        "# HELP fake_latency_seconds Request latency.\n"
        "# TYPE fake_latency_seconds histogram\n";
    for (double le : kBuckets) {
      bucket_prefix_.push_back(absl::StrCat("fake_latency_seconds_bucket{le=\"", le, "\"} "));
    }
    bucket_prefix_.push_back("fake_latency_seconds_bucket{le=\"+Inf\"} ");
    const int counters = series > kHistogramSeries ? series - kHistogramSeries : 0;
    counters_head_ =
        "# HELP fake_requests_total Requests served.\n"
        "# TYPE fake_requests_total counter\n";
    static const char* kCodes[] = {"200", "404", "500", "503"};
    for (int i = 0; i < counters; ++i) {
      counter_prefix_.push_back(absl::StrCat("fake_requests_total{path=\"/api/", i / 4,
                                             "\",code=\"", kCodes[i % 4], "\"} "));
    }
  }

  std::string Render() {
    const int64_t n = requests_.fetch_add(1, std::memory_order_relaxed) + 1;
    std::string out;
    out.reserve(size_hint_);
    out += head_;
    int64_t cumulative = 0;
    for (size_t b = 0; b < bucket_prefix_.size(); ++b) {
      cumulative += n * static_cast<int64_t>(b + 1);  // Observations per scrape, per bucket.
      absl::StrAppend(&out, bucket_prefix_[b], cumulative, "\n");
    }
    absl::StrAppend(&out, "fake_latency_seconds_sum ", static_cast<double>(n) * 17.25, "\n",
                    "fake_latency_seconds_count ", cumulative, "\n");
    out += counters_head_;
    for (size_t i = 0; i < counter_prefix_.size(); ++i) {
      absl::StrAppend(&out, counter_prefix_[i], n * static_cast<int64_t>(i % 7 + 1), "\n");
    }
    size_hint_ = out.size() + 64;
    return out;
  }

 private:
  std::string head_;
  std::string counters_head_;
  std::vector<std::string> bucket_prefix_;
  std::vector<std::string> counter_prefix_;
  std::atomic<int64_t> requests_{0};
  size_t size_hint_ = 0;  // A racy hint only ever read for reserve().
};

std::atomic<bool> stop{false};
void OnSignal(int) { stop.store(true); }

}  // namespace

int main(int argc, char** argv) {
  gflags::SetUsageMessage("Serves fake /metrics targets for bench/scrape_overhead.sh");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);

  std::vector<std::unique_ptr<Target>> targets;
  std::vector<std::unique_ptr<ember::server::HttpServer>> servers;
  for (int i = 0; i < FLAGS_targets; ++i) {
    targets.push_back(std::make_unique<Target>(FLAGS_series));
    Target* target = targets.back().get();
    ember::server::HttpServerOptions o;
    o.listen_address = absl::StrCat("127.0.0.1:", FLAGS_base_port + i);
    o.threads = 1;
    auto handler = [target](const ember::server::HttpRequest& req) {
      ember::server::HttpResponse resp;
      if (req.path != "/metrics") {
        resp.status = 404;
        resp.content_type = "text/plain";
        resp.body = "not found\n";
        return resp;
      }
      resp.content_type = "text/plain; version=0.0.4; charset=utf-8";
      resp.body = target->Render();
      return resp;
    };
    servers.push_back(std::make_unique<ember::server::HttpServer>(o, handler));
    absl::Status s = servers.back()->Start();
    if (!s.ok()) {
      std::fprintf(stderr, "scrape_targets: %s: %s\n", o.listen_address.c_str(),
                   s.ToString().c_str());
      return 1;
    }
  }
  std::printf("ready: %d targets on 127.0.0.1:%d-%d, %d series each\n", FLAGS_targets,
              FLAGS_base_port, FLAGS_base_port + FLAGS_targets - 1, FLAGS_series);
  std::fflush(stdout);
  // Signal handlers only set the flag; the servers stop here, off any handler thread.
  while (!stop.load()) {
    struct timespec ts = {0, 200 * 1000 * 1000};
    nanosleep(&ts, nullptr);
  }
  for (auto& s : servers) s->Stop(1000);
  return 0;
}
