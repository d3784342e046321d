// A deterministic, realistic data set: the metrics of ML model servers as Prometheus would
// scrape them. Each target (instance="10.0.<a>.<b>:8080", job="model-server") serves 3 models
// in 2 versions (stable and canary) and exposes 131 series:
//   model_requests_total{model,version,code}            integer counters (code 200, 429, 500)
//   model_errors_total{model,version,type}              slow integer counters
//   model_request_latency_seconds_bucket{model,version,le} / _sum / _count   a histogram with
//                                                       12 buckets (0.005 ... 10.0, +Inf)
//   gpu_utilization_ratio{gpu}, cpu_utilization_ratio   decimal gauges (2 and 3 digits)
//   process_resident_memory_bytes                       integer gauge, in 4 KiB pages
//   model_info{model,version,framework} 1, up 1          constants
// Every series of a target shares one scrape timestamp: start + i*interval + offset(target)
// + jitter. offset is drawn from the seed in [0, interval); jitter is uniform in
// [-max_jitter_ms, +max_jitter_ms], capped below interval/2 so scrapes never reorder.
// Same options, same data, on every machine (scrape_data.cc says how). Not thread-safe.
#ifndef EMBER_EXAMPLES_MODEL_SERVING_SCRAPE_DATA_H_
#define EMBER_EXAMPLES_MODEL_SERVING_SCRAPE_DATA_H_

#include <cstdint>
#include <utility>
#include <vector>

#include "ember/labels.h"
#include "ember/sample.h"

namespace ember::model_serving {

struct ScrapeDataOptions {
  int targets = 10;
  int64_t start_ms = 1'700'000'000'000;
  int64_t interval_ms = 15'000;
  int max_jitter_ms = 25;  // Each scrape lands within ±this of its slot.
  uint64_t seed = 42;
};

class ScrapeData {
 public:
  explicit ScrapeData(const ScrapeDataOptions& options);
  ScrapeData(const ScrapeData&);
  ScrapeData& operator=(const ScrapeData&);
  ScrapeData(ScrapeData&&) noexcept;
  ScrapeData& operator=(ScrapeData&&) noexcept;
  ~ScrapeData();

  // Every series, grouped by target (target 0's first), labels canonical (sorted).
  const std::vector<Labels>& series() const { return series_; }
  int num_targets() const { return num_targets_; }
  // Indexes into series() of target `target`'s series: [first, last).
  std::pair<size_t, size_t> target_series(int target) const;

  // The next scrape of `target`: its timestamp and one value per series of the target, in
  // target_series() order. Scrapes of one target come in time order; targets are independent
  // (each has its own random stream, so the order of calls across targets does not matter).
  void NextScrape(int target, int64_t* t, std::vector<double>* values);

 private:
  struct Target;  // One target's generator state (scrape_data.cc).
  ScrapeDataOptions options_;
  int num_targets_ = 0;
  std::vector<Labels> series_;
  std::vector<Target> targets_;
};

// `num_scrapes` samples of every series of `options.targets` targets, as one vector per series
// (for chunk-level benchmarks and tests).
std::vector<std::vector<Sample>> GenerateSeriesSamples(const ScrapeDataOptions& options,
                                                       int num_scrapes);

}  // namespace ember::model_serving

#endif  // EMBER_EXAMPLES_MODEL_SERVING_SCRAPE_DATA_H_
