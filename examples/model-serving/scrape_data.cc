// The ML model-serving data set (examples/model-serving/scrape_data.h).
//
// Determinism: every random draw comes from a per-target splitmix64 stream, and every number is
// derived from it with +, -, *, / and sqrt only (IEEE-754 rounds those exactly; std::exp, std::log
// and std::*_distribution may differ between libm and standard library builds). Contraction of
// a*b+c into one FMA is switched off below.
//
// The model, per target and per model it serves (3 of a pool of 8):
//   - load: a mean-reverting random walk around 1 (0.4..1.8), shared by the model's series;
//   - requests per scrape: Poisson(rps * load * version share * interval), split into codes by
//     binomial draws (429 rises when load is high, 500 is rare); errors follow the 500s;
//   - latencies: log-logistic around a per-model median (heavier tails for generative models),
//     slower under load; each scrape's requests are spread over the buckets by a multinomial
//     draw, and _sum grows by a latency drawn inside each bucket (so it is never round);
//   - counters start where a server up for hours to days would be, not at 0.
#include "examples/model-serving/scrape_data.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

// a*b+c must round twice on every machine. GCC contracts it into one FMA by default in C++ (even
// with -std=c++20) wherever the target has FMA, as aarch64 always does; clang does within a
// statement.
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

namespace ember::model_serving {
namespace {

// splitmix64 (Steele, Lea, Flood 2014): one 64-bit state, passes BigCrush, same on every host.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}

  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // [0, 1), 53 random bits: exact in a double.
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  // [lo, hi], uniform up to a bias of (hi - lo + 1) / 2^64.
  int64_t UniformInt(int64_t lo, int64_t hi) {
    const uint64_t span = static_cast<uint64_t>(hi - lo) + 1;
    return lo + static_cast<int64_t>(Next() % span);
  }
  double UniformReal(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
  // Approximately standard normal: Irwin-Hall with 4 terms, rescaled (tails end at ±3.46).
  double Normal() {
    const double s = Uniform() + Uniform() + Uniform() + Uniform();
    return (s - 2.0) * 1.7320508075688772;
  }
  int64_t Poisson(double lambda);
  int64_t Binomial(int64_t n, double p);

 private:
  uint64_t state_;
};

// e^-x for x in [0, 64], from +, * and / only: halve x until it is small, sum the Taylor series,
// square back.
double ExpNeg(double x) {
  int halvings = 0;
  while (x > 0.0625) {
    x *= 0.5;
    ++halvings;
  }
  double term = 1, sum = 1;
  for (int i = 1; i <= 10; ++i) {
    term *= -x / i;
    sum += term;
  }
  for (int i = 0; i < halvings; ++i) sum *= sum;
  return sum;
}

int64_t RoundToInt(double x) { return static_cast<int64_t>(std::floor(x + 0.5)); }

int64_t Rng::Poisson(double lambda) {
  if (lambda <= 0) return 0;
  if (lambda < 30) {
    // Knuth: multiply uniforms until the product drops below e^-lambda.
    const double limit = ExpNeg(lambda);
    int64_t k = 0;
    double p = Uniform();
    while (p > limit) {
      ++k;
      p *= Uniform();
    }
    return k;
  }
  return std::max<int64_t>(0, RoundToInt(lambda + std::sqrt(lambda) * Normal()));
}

int64_t Rng::Binomial(int64_t n, double p) {
  if (n <= 0 || p <= 0) return 0;
  if (p >= 1) return n;
  if (n <= 16) {
    int64_t k = 0;
    for (int64_t i = 0; i < n; ++i) k += Uniform() < p ? 1 : 0;
    return k;
  }
  const double mean = static_cast<double>(n) * p;
  const double var = mean * (1 - p);
  if (var >= 9) return std::clamp<int64_t>(RoundToInt(mean + std::sqrt(var) * Normal()), 0, n);
  // Skewed: the rarer outcome is close to Poisson.
  if (p <= 0.5) return std::min(n, Poisson(mean));
  return n - std::min(n, Poisson(static_cast<double>(n) - mean));
}

struct ModelSpec {
  const char* name;
  const char* framework;
  std::array<const char*, 2> versions;  // Stable, then canary.
  double rps;                           // Requests per second at load 1, whole target.
  double median_s;                      // Median latency.
  int shape;                            // Log-logistic shape: 4 tight, 2 heavy-tailed.
  int64_t rss_mib;                      // What loading the model adds to the process.
};

constexpr ModelSpec kModels[] = {
    {"resnet50", "pytorch", {"v7", "v8"}, 9.0, 0.018, 4, 410},
    {"bert-ner", "onnxruntime", {"2024.05.1", "2024.06.0"}, 6.0, 0.032, 4, 520},
    {"fraud-xgb", "xgboost", {"v41", "v42"}, 16.0, 0.0035, 4, 95},
    {"llama3-8b-instruct", "vllm", {"r3", "r4"}, 0.9, 1.6, 2, 2300},
    {"whisper-small", "pytorch", {"v2", "v3"}, 1.8, 0.45, 4, 980},
    {"clip-vit-b32", "onnxruntime", {"v1", "v2"}, 7.0, 0.024, 4, 610},
    {"t5-summarizer", "tensorflow", {"v12", "v13"}, 2.5, 0.28, 2, 1150},
    {"ranker-lgbm", "lightgbm", {"v5", "v6"}, 20.0, 0.006, 4, 140},
};
constexpr int kNumModels = sizeof(kModels) / sizeof(kModels[0]);
constexpr int kModelsPerTarget = 3;
constexpr int kVersions = 2;

constexpr std::array<const char*, 3> kCodes = {"200", "429", "500"};
enum Code { k200, k429, k500 };
constexpr std::array<const char*, 3> kErrorTypes = {"timeout", "oom", "invalid_input"};
enum ErrorType { kTimeout, kOom, kInvalidInput };

// client_golang's default buckets with 2.5 s and 5 s kept and le as Prometheus 3.x stores it
// (integers get ".0").
constexpr int kBuckets = 12;
constexpr std::array<double, kBuckets - 1> kBounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                      0.5,   1.0,  2.5,   5.0,  10.0};
constexpr std::array<const char*, kBuckets> kLe = {
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "10.0", "+Inf"};
constexpr int kGpus = 2;
constexpr int64_t kPagesPerMib = 256;  // 4 KiB pages.

// Series of one target, in this order (NextScrape writes values in the same order):
constexpr int kRequestSeries = kModelsPerTarget * kVersions * 3;
constexpr int kErrorSeries = kModelsPerTarget * kVersions * 3;
constexpr int kHistogramSeries = kModelsPerTarget * kVersions * (kBuckets + 2);
constexpr int kInfoSeries = kModelsPerTarget * kVersions;
constexpr int kSeriesPerTarget =
    kRequestSeries + kErrorSeries + kHistogramSeries + kGpus + 2 + kInfoSeries + 1;

}  // namespace

struct ScrapeData::Target {
  struct Version {
    double share = 0;                         // Of the model's traffic.
    double latency_factor = 1;                // Canaries differ a little.
    std::array<int64_t, 3> requests{};        // By code.
    std::array<int64_t, 3> errors{};          // By error type.
    std::array<int64_t, kBuckets> buckets{};  // Not cumulative.
    int64_t count = 0;
    double sum = 0;
  };
  struct Slot {
    int model = 0;             // Into kModels.
    double rate_factor = 1;    // This target's share of the fleet's traffic.
    double latency_scale = 1;  // This target's hardware.
    double load = 1;
    std::array<Version, kVersions> versions;
  };

  explicit Target(uint64_t seed) : rng(seed) {}

  Rng rng;
  int64_t offset_ms = 0;
  int64_t next_scrape = 0;
  std::array<Slot, kModelsPerTarget> slots;
  std::array<int64_t, kGpus> gpu_hundredths{};
  int64_t cpu_thousandths = 0;
  int64_t rss_base_pages = 0;
  int64_t rss_pages = 0;

  // Adds one scrape's worth (`scrapes` = 1) or a long uptime's worth of traffic.
  void AddTraffic(Slot& slot, Version& v, double interval_s, double scrapes);
  void Step(double interval_s);
};

void ScrapeData::Target::AddTraffic(Slot& slot, Version& v, double interval_s, double scrapes) {
  const ModelSpec& spec = kModels[slot.model];
  const double lambda = spec.rps * slot.rate_factor * slot.load * v.share * interval_s * scrapes;
  const int64_t n = rng.Poisson(lambda);
  const double overload = std::max(0.0, slot.load - 1.3);
  const int64_t n429 = rng.Binomial(n, 0.003 + 0.08 * overload);
  const int64_t n500 = rng.Binomial(n - n429, 0.0008);
  v.requests[k200] += n - n429 - n500;
  v.requests[k429] += n429;
  v.requests[k500] += n500;
  const int64_t timeouts = rng.Binomial(n500, 0.55);
  v.errors[kTimeout] += timeouts;
  v.errors[kOom] += rng.Binomial(n500 - timeouts, 0.08);
  v.errors[kInvalidInput] += rng.Poisson(lambda * 0.0015);

  // Log-logistic latencies: F(x) = 1 / (1 + (median/x)^shape); its quantile function is
  // median * (p / (1 - p))^(1/shape), a square root or two for shapes 2 and 4.
  const double median = spec.median_s * slot.latency_scale * v.latency_factor * (1 + overload);
  std::array<double, kBuckets + 1> cdf;  // cdf[i] = F(lower bound of bucket i).
  cdf[0] = 0;
  for (int i = 0; i < kBuckets - 1; ++i) {
    const double r = median / kBounds[i];
    const double r2 = r * r;
    cdf[i + 1] = 1 / (1 + (spec.shape == 2 ? r2 : r2 * r2));
  }
  cdf[kBuckets] = 1;
  int64_t left = n;
  for (int i = 0; i < kBuckets && left > 0; ++i) {
    const double rest = 1 - cdf[i];
    const double q = i == kBuckets - 1 || rest <= 0 ? 1.0 : (cdf[i + 1] - cdf[i]) / rest;
    const int64_t c = rng.Binomial(left, q);
    if (c == 0) continue;
    left -= c;
    v.buckets[i] += c;
    // A latency inside the bucket, standing for the mean of its c requests: the spread of a
    // mean shrinks as 1/sqrt(c).
    const double u = 0.5 + (rng.Uniform() - 0.5) / std::sqrt(static_cast<double>(c));
    const double p = std::clamp(cdf[i] + (cdf[i + 1] - cdf[i]) * u, 1e-9, 0.9995);
    const double odds = std::sqrt(p / (1 - p));
    v.sum += static_cast<double>(c) * median * (spec.shape == 2 ? odds * odds : std::sqrt(odds));
  }
  v.count += n;
}

void ScrapeData::Target::Step(double interval_s) {
  double load_sum = 0;
  for (Slot& slot : slots) {
    slot.load = std::clamp(slot.load + 0.08 * (1 - slot.load) + 0.04 * rng.Normal(), 0.4, 1.8);
    load_sum += slot.load;
    for (Version& v : slot.versions) AddTraffic(slot, v, interval_s, 1);
  }
  const double load = load_sum / kModelsPerTarget;
  for (int64_t& g : gpu_hundredths) {
    const double target = std::min(97.0, 20 + 45 * load);
    g = std::clamp<int64_t>(g + RoundToInt(0.25 * (target - g) + 3 * rng.Normal()), 0, 100);
  }
  const double cpu_target = 90 + 260 * load;
  cpu_thousandths = std::clamp<int64_t>(
      cpu_thousandths + RoundToInt(0.3 * (cpu_target - cpu_thousandths) + 14 * rng.Normal()), 1,
      1000);
  // Allocator churn of a few hundred KiB a scrape, now and then a batch buffer of some MiB.
  int64_t delta = RoundToInt(0.05 * (rss_base_pages - rss_pages) + 48 * rng.Normal());
  if (rng.Uniform() < 0.02) delta += rng.UniformInt(-2000, 6000);
  rss_pages = std::max(rss_base_pages / 2, rss_pages + delta);
}

ScrapeData::ScrapeData(const ScrapeDataOptions& options) : options_(options) {
  const int num_targets = std::max(0, options.targets);
  num_targets_ = num_targets;
  series_.reserve(static_cast<size_t>(num_targets) * kSeriesPerTarget);
  targets_.reserve(num_targets);
  Rng seeder(options.seed);
  const double interval_s = static_cast<double>(options.interval_ms) / 1000;
  for (int t = 0; t < num_targets; ++t) {
    Target& target = targets_.emplace_back(seeder.Next());
    Rng& rng = target.rng;
    target.offset_ms =
        options.interval_ms > 0 ? static_cast<int64_t>(rng.Next() % options.interval_ms) : 0;
    int64_t rss_mib = 380;  // The server itself.
    for (int s = 0; s < kModelsPerTarget; ++s) {
      Target::Slot& slot = target.slots[s];
      slot.model = (t + 3 * s) % kNumModels;  // Distinct for s = 0, 1, 2.
      slot.rate_factor = rng.UniformReal(0.75, 1.25);
      slot.latency_scale = rng.UniformReal(0.9, 1.15);
      slot.load = rng.UniformReal(0.8, 1.2);
      const double canary = rng.UniformReal(0.05, 0.25);
      slot.versions[0].share = 1 - canary;
      slot.versions[1].share = canary;
      slot.versions[1].latency_factor = rng.UniformReal(0.92, 1.1);
      rss_mib += kModels[slot.model].rss_mib;
      // Up for 2 hours to 3 days already.
      const double uptime_scrapes = rng.UniformReal(480, 17280);
      for (Target::Version& v : slot.versions)
        target.AddTraffic(slot, v, interval_s, uptime_scrapes);
    }
    for (int64_t& g : target.gpu_hundredths) g = rng.UniformInt(30, 70);
    target.cpu_thousandths = rng.UniformInt(200, 500);
    target.rss_base_pages = rss_mib * kPagesPerMib;
    target.rss_pages = target.rss_base_pages + rng.UniformInt(-5000, 5000);

    // Labels, in the order NextScrape() writes values.
    const std::string instance = absl::StrCat("10.0.", t / 254, ".", 1 + t % 254, ":8080");
    const auto add = [&](std::string name, Labels extra) {
      extra.push_back({std::string(kMetricNameLabel), std::move(name)});
      extra.push_back({"instance", instance});
      extra.push_back({"job", "model-server"});
      // Canonical order; sorted here rather than by CanonicalizeLabels() so that this library
      // does not need ember_storage.
      std::sort(extra.begin(), extra.end(),
                [](const Label& a, const Label& b) { return a.name < b.name; });
      series_.push_back(std::move(extra));
    };
    const auto each_version = [&](auto fn) {
      for (const Target::Slot& slot : target.slots) {
        for (int v = 0; v < kVersions; ++v) {
          fn(kModels[slot.model], std::string(kModels[slot.model].versions[v]));
        }
      }
    };
    each_version([&](const ModelSpec& m, const std::string& version) {
      for (const char* code : kCodes) {
        add("model_requests_total", {{"model", m.name}, {"version", version}, {"code", code}});
      }
    });
    each_version([&](const ModelSpec& m, const std::string& version) {
      for (const char* type : kErrorTypes) {
        add("model_errors_total", {{"model", m.name}, {"version", version}, {"type", type}});
      }
    });
    each_version([&](const ModelSpec& m, const std::string& version) {
      for (const char* le : kLe) {
        add("model_request_latency_seconds_bucket",
            {{"model", m.name}, {"version", version}, {"le", le}});
      }
      add("model_request_latency_seconds_sum", {{"model", m.name}, {"version", version}});
      add("model_request_latency_seconds_count", {{"model", m.name}, {"version", version}});
    });
    for (int g = 0; g < kGpus; ++g) add("gpu_utilization_ratio", {{"gpu", absl::StrCat(g)}});
    add("cpu_utilization_ratio", {});
    add("process_resident_memory_bytes", {});
    each_version([&](const ModelSpec& m, const std::string& version) {
      add("model_info", {{"model", m.name}, {"version", version}, {"framework", m.framework}});
    });
    add("up", {});
  }
}

ScrapeData::ScrapeData(const ScrapeData&) = default;
ScrapeData& ScrapeData::operator=(const ScrapeData&) = default;
ScrapeData::ScrapeData(ScrapeData&&) noexcept = default;
ScrapeData& ScrapeData::operator=(ScrapeData&&) noexcept = default;
ScrapeData::~ScrapeData() = default;

std::pair<size_t, size_t> ScrapeData::target_series(int target) const {
  const size_t first = static_cast<size_t>(target) * kSeriesPerTarget;
  return {first, first + kSeriesPerTarget};
}

void ScrapeData::NextScrape(int target_index, int64_t* t, std::vector<double>* values) {
  Target& target = targets_[target_index];
  // Jitter stays below half an interval so that scrapes of a target never reorder.
  const int64_t max_jitter = std::clamp<int64_t>(
      options_.max_jitter_ms, 0, std::max<int64_t>(0, (options_.interval_ms - 1) / 2));
  const int64_t jitter = target.rng.UniformInt(-max_jitter, max_jitter);
  *t = options_.start_ms + target.next_scrape * options_.interval_ms + target.offset_ms + jitter;
  ++target.next_scrape;
  target.Step(static_cast<double>(options_.interval_ms) / 1000);

  values->clear();
  values->reserve(kSeriesPerTarget);
  const auto each_version = [&](auto fn) {
    for (const Target::Slot& slot : target.slots) {
      for (const Target::Version& v : slot.versions) fn(v);
    }
  };
  each_version([&](const Target::Version& v) {
    for (int64_t n : v.requests) values->push_back(static_cast<double>(n));
  });
  each_version([&](const Target::Version& v) {
    for (int64_t n : v.errors) values->push_back(static_cast<double>(n));
  });
  each_version([&](const Target::Version& v) {
    int64_t cumulative = 0;
    for (int64_t n : v.buckets) {
      cumulative += n;
      values->push_back(static_cast<double>(cumulative));
    }
    values->push_back(v.sum);
    values->push_back(static_cast<double>(v.count));
  });
  // Decimal gauges as Prometheus parses them from text: 73 / 100.0 is the double nearest 0.73.
  for (int64_t g : target.gpu_hundredths) values->push_back(static_cast<double>(g) / 100);
  values->push_back(static_cast<double>(target.cpu_thousandths) / 1000);
  values->push_back(static_cast<double>(target.rss_pages * 4096));
  each_version([&](const Target::Version&) { values->push_back(1); });
  values->push_back(1);
}

std::vector<std::vector<Sample>> GenerateSeriesSamples(const ScrapeDataOptions& options,
                                                       int num_scrapes) {
  ScrapeData data(options);
  std::vector<std::vector<Sample>> out(data.series().size());
  for (auto& s : out) s.reserve(std::max(0, num_scrapes));
  std::vector<double> values;
  for (int target = 0; target < data.num_targets(); ++target) {
    const auto [first, last] = data.target_series(target);
    for (int i = 0; i < num_scrapes; ++i) {
      int64_t t;
      data.NextScrape(target, &t, &values);
      for (size_t k = first; k < last; ++k) out[k].push_back(Sample{t, values[k - first]});
    }
  }
  return out;
}

}  // namespace ember::model_serving
