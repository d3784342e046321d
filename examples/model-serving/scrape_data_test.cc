#include "examples/model-serving/scrape_data.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ember/labels.h"
#include "gtest/gtest.h"

namespace ember::model_serving {
namespace {

bool SameBits(double a, double b) {
  return std::bit_cast<uint64_t>(a) == std::bit_cast<uint64_t>(b);
}

std::string Name(const Labels& labels) { return std::string(GetLabelValue(labels, "__name__")); }

bool IsCounter(const Labels& labels) {
  const std::string name = Name(labels);
  for (const char* suffix : {"_total", "_bucket", "_count", "_sum"}) {
    const std::string s = suffix;
    if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
      return true;
    }
  }
  return false;
}

TEST(ScrapeDataTest, SameSeedSameData) {
  const ScrapeDataOptions options{.targets = 4, .seed = 7};
  const auto a = GenerateSeriesSamples(options, 50);
  const auto b = GenerateSeriesSamples(options, 50);
  ASSERT_EQ(a.size(), b.size());
  for (size_t s = 0; s < a.size(); ++s) {
    ASSERT_EQ(a[s].size(), 50u);
    for (size_t i = 0; i < a[s].size(); ++i) {
      ASSERT_EQ(a[s][i].t, b[s][i].t);
      ASSERT_TRUE(SameBits(a[s][i].v, b[s][i].v)) << "series " << s << " sample " << i;
    }
  }
  EXPECT_EQ(ScrapeData(options).series(), ScrapeData(options).series());
}

// A fingerprint of the whole data set. It pins "same data on every machine" (a libm, compiler
// or FMA difference would show here first) and flags a change to the generator: benchmark
// figures (bytes per sample) are quoted for this data, so a deliberate change updates this
// value and re-runs them.
TEST(ScrapeDataTest, FingerprintIsPinned) {
  const auto samples = GenerateSeriesSamples({.targets = 5}, 500);
  uint64_t h = 1469598103934665603ULL;  // FNV-1a over (value bits ^ t), sample by sample.
  for (const auto& series : samples) {
    for (const Sample& s : series) {
      h = (h ^ std::bit_cast<uint64_t>(s.v) ^ static_cast<uint64_t>(s.t)) * 1099511628211ULL;
    }
  }
  EXPECT_EQ(h, 0x4e09461a8eca194cULL);
}

TEST(ScrapeDataTest, ACopyContinuesIdentically) {
  ScrapeData a({.targets = 2});
  int64_t t;
  std::vector<double> values;
  for (int i = 0; i < 5; ++i) a.NextScrape(1, &t, &values);
  ScrapeData b = a;
  for (int i = 0; i < 5; ++i) {
    int64_t ta, tb;
    std::vector<double> va, vb;
    a.NextScrape(1, &ta, &va);
    b.NextScrape(1, &tb, &vb);
    EXPECT_EQ(ta, tb);
    EXPECT_EQ(va, vb);
  }
}

TEST(ScrapeDataTest, OtherSeedOtherData) {
  const auto a = GenerateSeriesSamples({.targets = 2, .seed = 1}, 20);
  const auto b = GenerateSeriesSamples({.targets = 2, .seed = 2}, 20);
  ASSERT_EQ(a.size(), b.size());
  int differing = 0;
  for (size_t s = 0; s < a.size(); ++s) {
    for (size_t i = 0; i < a[s].size(); ++i) differing += SameBits(a[s][i].v, b[s][i].v) ? 0 : 1;
  }
  EXPECT_GT(differing, 1000);
}

TEST(ScrapeDataTest, TargetsAreIndependentOfCallOrder) {
  const ScrapeDataOptions options{.targets = 3};
  ScrapeData sequential(options), interleaved(options);
  std::map<int, std::vector<std::pair<int64_t, std::vector<double>>>> want;
  for (int target = 0; target < 3; ++target) {
    for (int i = 0; i < 10; ++i) {
      int64_t t;
      std::vector<double> values;
      sequential.NextScrape(target, &t, &values);
      want[target].push_back({t, values});
    }
  }
  for (int i = 0; i < 10; ++i) {
    for (int target = 2; target >= 0; --target) {
      int64_t t;
      std::vector<double> values;
      interleaved.NextScrape(target, &t, &values);
      EXPECT_EQ(t, want[target][i].first);
      EXPECT_EQ(values, want[target][i].second);
    }
  }
}

TEST(ScrapeDataTest, SeriesOfATargetShareTimestampsNearTheirSlot) {
  const ScrapeDataOptions options{.targets = 6, .max_jitter_ms = 25};
  ScrapeData data(options);
  std::set<int64_t> offsets;
  for (int target = 0; target < data.num_targets(); ++target) {
    SCOPED_TRACE(target);
    int64_t first_t = 0, prev_t = 0;
    std::vector<double> values;
    for (int i = 0; i < 200; ++i) {
      int64_t t;
      data.NextScrape(target, &t, &values);
      const auto [first, last] = data.target_series(target);
      ASSERT_EQ(values.size(), last - first);
      if (i == 0) {
        first_t = t;
        offsets.insert(t - options.start_ms);
      } else {
        EXPECT_GT(t, prev_t);
        // Every scrape is within the jitter of its slot, the slot being fixed per target.
        EXPECT_LE(std::abs(t - (first_t + i * options.interval_ms)), 2 * options.max_jitter_ms);
      }
      prev_t = t;
    }
  }
  EXPECT_EQ(offsets.size(), 6u) << "targets are spread over the interval";

  const auto samples = GenerateSeriesSamples(options, 30);
  for (int target = 0; target < data.num_targets(); ++target) {
    const auto [first, last] = data.target_series(target);
    for (size_t s = first; s < last; ++s) {
      for (size_t i = 0; i < samples[s].size(); ++i) {
        ASSERT_EQ(samples[s][i].t, samples[first][i].t) << "series " << s << " scrape " << i;
      }
    }
  }
}

TEST(ScrapeDataTest, JitterVariesButStaysWithinBounds) {
  const ScrapeDataOptions options{.targets = 1, .max_jitter_ms = 10};
  const auto samples = GenerateSeriesSamples(options, 500);
  std::set<int64_t> deltas;
  for (size_t i = 1; i < samples[0].size(); ++i) {
    const int64_t d = samples[0][i].t - samples[0][i - 1].t;
    EXPECT_GE(d, options.interval_ms - 20);
    EXPECT_LE(d, options.interval_ms + 20);
    deltas.insert(d);
  }
  EXPECT_GT(deltas.size(), 10u);
}

TEST(ScrapeDataTest, LabelsAreCanonicalValidAndUnique) {
  ScrapeData data({.targets = 20});
  std::set<Labels> seen;
  for (int target = 0; target < data.num_targets(); ++target) {
    const auto [first, last] = data.target_series(target);
    EXPECT_GE(last - first, 100u);
    EXPECT_LE(last - first, 150u);
    if (target + 1 < data.num_targets()) {
      EXPECT_EQ(data.target_series(target + 1).first, last);
    }
    for (size_t s = first; s < last; ++s) {
      const Labels& labels = data.series()[s];
      SCOPED_TRACE(LabelsToString(labels));
      Labels canonical = labels;
      CanonicalizeLabels(&canonical);
      EXPECT_EQ(canonical, labels);
      EXPECT_TRUE(ValidateLabels(labels).ok()) << ValidateLabels(labels);
      EXPECT_FALSE(Name(labels).empty());
      EXPECT_EQ(GetLabelValue(labels, "job"), "model-server");
      EXPECT_EQ(GetLabelValue(labels, "instance"), GetLabelValue(data.series()[first], "instance"));
      EXPECT_TRUE(seen.insert(labels).second) << "duplicate series";
    }
  }
  EXPECT_EQ(data.series().size(), seen.size());
  EXPECT_EQ(data.target_series(data.num_targets() - 1).second, data.series().size());
}

// Per scrape: counters never decrease, cumulative buckets rise with `le` up to _count, gauges keep
// their decimals and bounds, constants stay 1. Checks the label-to-value mapping as well.
TEST(ScrapeDataTest, ValuesBehaveAsTheirMetricTypes) {
  ScrapeData data({.targets = 5});
  for (int target = 0; target < data.num_targets(); ++target) {
    const auto [first, last] = data.target_series(target);
    std::vector<double> prev, values;
    for (int i = 0; i < 300; ++i) {
      int64_t t;
      data.NextScrape(target, &t, &values);
      // Per model/version: the cumulative buckets in order of le, and _count.
      std::map<std::string, std::vector<std::pair<double, double>>> buckets;
      std::map<std::string, double> counts;
      for (size_t k = 0; k < values.size(); ++k) {
        const Labels& labels = data.series()[first + k];
        const std::string name = Name(labels);
        const double v = values[k];
        SCOPED_TRACE(LabelsToString(labels));
        ASSERT_TRUE(std::isfinite(v));
        ASSERT_GE(v, 0);
        if (IsCounter(labels) && !prev.empty()) {
          ASSERT_GE(v, prev[k]);
        }
        if (IsCounter(labels) && name != "model_request_latency_seconds_sum") {
          ASSERT_EQ(v, std::floor(v)) << "integer counter";
        }
        const std::string key = std::string(GetLabelValue(labels, "model")) + "/" +
                                std::string(GetLabelValue(labels, "version"));
        if (name == "model_request_latency_seconds_bucket") {
          const std::string le(GetLabelValue(labels, "le"));
          buckets[key].push_back({le == "+Inf" ? INFINITY : std::stod(le), v});
        } else if (name == "model_request_latency_seconds_count") {
          counts[key] = v;
        } else if (name == "gpu_utilization_ratio") {
          ASSERT_LE(v, 1);
          ASSERT_EQ(v, std::round(v * 100) / 100) << "two decimals";
        } else if (name == "cpu_utilization_ratio") {
          ASSERT_LE(v, 1);
          ASSERT_EQ(v, std::round(v * 1000) / 1000) << "three decimals";
        } else if (name == "process_resident_memory_bytes") {
          ASSERT_EQ(std::fmod(v, 4096), 0) << "whole pages";
          ASSERT_GT(v, 256.0 * 1024 * 1024);
        } else if (name == "model_info" || name == "up") {
          ASSERT_EQ(v, 1);
        }
      }
      ASSERT_EQ(buckets.size(), 6u);
      for (auto& [key, bs] : buckets) {
        SCOPED_TRACE(key);
        ASSERT_EQ(bs.size(), 12u);
        std::sort(bs.begin(), bs.end());
        for (size_t b = 1; b < bs.size(); ++b) ASSERT_GE(bs[b].second, bs[b - 1].second);
        ASSERT_EQ(bs.back().second, counts.at(key)) << "+Inf bucket is _count";
      }
      prev = values;
    }
  }
}

// Realism, loosely: the headline rates the data set promises, so that a change that made it
// trivially compressible (or noise) shows.
TEST(ScrapeDataTest, RatesAndVariationAreRealistic) {
  ScrapeData data({.targets = 10});
  std::map<std::string, std::vector<double>> increments;  // By code.
  int gauge_changes = 0, gauge_samples = 0;
  double sum_increments_round = 0, sum_increments = 0;
  for (int target = 0; target < data.num_targets(); ++target) {
    const auto [first, last] = data.target_series(target);
    std::vector<double> prev, values;
    for (int i = 0; i < 100; ++i) {
      int64_t t;
      data.NextScrape(target, &t, &values);
      if (!prev.empty()) {
        for (size_t k = 0; k < values.size(); ++k) {
          const Labels& labels = data.series()[first + k];
          const std::string name = Name(labels);
          if (name == "model_requests_total") {
            increments[std::string(GetLabelValue(labels, "code"))].push_back(values[k] - prev[k]);
          } else if (name == "gpu_utilization_ratio" || name == "cpu_utilization_ratio" ||
                     name == "process_resident_memory_bytes") {
            ++gauge_samples;
            gauge_changes += values[k] != prev[k] ? 1 : 0;
          } else if (name == "model_request_latency_seconds_sum" && values[k] != prev[k]) {
            ++sum_increments;
            const double d = (values[k] - prev[k]) * 1000;
            sum_increments_round += d == std::round(d) ? 1 : 0;
          }
        }
      }
      prev = values;
    }
  }
  const auto mean = [](const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return s / v.size();
  };
  // Code 200: tens to hundreds per 15 s on average over series (canaries see fewer).
  EXPECT_GT(mean(increments["200"]), 10);
  EXPECT_LT(mean(increments["200"]), 500);
  EXPECT_LT(mean(increments["429"]), 0.05 * mean(increments["200"]));
  EXPECT_LT(mean(increments["500"]), 0.01 * mean(increments["200"]));
  std::set<double> distinct_200(increments["200"].begin(), increments["200"].end());
  EXPECT_GT(distinct_200.size(), 50u) << "request counts vary scrape to scrape";
  EXPECT_GT(gauge_changes, gauge_samples / 2) << "gauges move most scrapes";
  EXPECT_LT(sum_increments_round, 0.01 * sum_increments) << "_sum is not a round decimal";
}

}  // namespace
}  // namespace ember::model_serving
