// Ember's self-monitoring: counters, gauges and histograms with labels, exposed in the
// Prometheus text format at /metrics and ingested by the server's own self-scrape. Counting is
// lock-free after the first use of a label combination; exposition takes a lock.
#ifndef EMBER_SERVER_METRICS_METRICS_H_
#define EMBER_SERVER_METRICS_METRICS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace ember::server {

// A monotonically increasing value (or a gauge when Set is used).
class Counter {
 public:
  void Inc(double by = 1);
  void Set(double v);
  double value() const;

 private:
  std::atomic<uint64_t> bits_{0};  // The double's bits.
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void Observe(double v);

  struct Snapshot {
    std::vector<double> upper_bounds;
    std::vector<uint64_t> cumulative;  // Per bound, then +Inf.
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot Read() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // Non-cumulative, bounds_.size() + 1.
  Counter sum_;
};

// A metric family with a fixed list of label names; children are created on first use and
// live as long as the family.
class CounterFamily {
 public:
  CounterFamily(std::string name, std::string help, std::string type,
                std::vector<std::string> label_names);
  // REQUIRES: values.size() == label names' size.
  Counter* With(const std::vector<std::string>& values);
  void Expose(std::string* out) const;

 private:
  std::string name_, help_, type_;
  std::vector<std::string> label_names_;
  mutable absl::Mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<Counter>> children_ ABSL_GUARDED_BY(mu_);
};

class HistogramFamily {
 public:
  HistogramFamily(std::string name, std::string help, std::vector<std::string> label_names,
                  std::vector<double> upper_bounds);
  Histogram* With(const std::vector<std::string>& values);
  void Expose(std::string* out) const;

 private:
  std::string name_, help_;
  std::vector<std::string> label_names_;
  std::vector<double> bounds_;
  mutable absl::Mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<Histogram>> children_ ABSL_GUARDED_BY(mu_);
};

class MetricsRegistry {
 public:
  // The returned families live as long as the registry.
  CounterFamily* AddCounter(std::string name, std::string help,
                            std::vector<std::string> label_names = {});
  CounterFamily* AddGauge(std::string name, std::string help,
                          std::vector<std::string> label_names = {});
  HistogramFamily* AddHistogram(std::string name, std::string help,
                                std::vector<std::string> label_names,
                                std::vector<double> upper_bounds);
  // Called at every exposition, before the families are written: refreshes gauges whose value
  // is read from elsewhere (database statistics, process memory).
  void AddCollector(std::function<void()> collect);

  // The text exposition format 0.0.4 of every family, in registration order.
  std::string Expose() const;

 private:
  mutable absl::Mutex mu_;
  std::vector<std::function<void()>> collectors_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<CounterFamily>> counters_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<HistogramFamily>> histograms_ ABSL_GUARDED_BY(mu_);
  std::vector<std::pair<bool, size_t>> order_ ABSL_GUARDED_BY(mu_);  // (is_histogram, index)
};

// Bucket bounds for durations in seconds, 1 ms to 60 s.
std::vector<double> DurationBuckets();

}  // namespace ember::server

#endif  // EMBER_SERVER_METRICS_METRICS_H_
