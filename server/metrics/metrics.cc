#include "server/metrics/metrics.h"

#include <bit>
#include <charconv>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace ember::server {
namespace {

std::string FormatFloat(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

void AppendEscaped(std::string_view s, std::string* out) {
  for (char c : s) {
    switch (c) {
      case '\\':
        out->append("\\\\");
        break;
      case '"':
        out->append("\\\"");
        break;
      case '\n':
        out->append("\\n");
        break;
      default:
        out->push_back(c);
    }
  }
}

void AppendHelp(std::string_view name, std::string_view help, std::string_view type,
                std::string* out) {
  absl::StrAppend(out, "# HELP ", std::string(name), " ");
  for (char c : help) {
    if (c == '\\')
      out->append("\\\\");
    else if (c == '\n')
      out->append("\\n");
    else
      out->push_back(c);
  }
  absl::StrAppend(out, "\n# TYPE ", std::string(name), " ", std::string(type), "\n");
}

// `{a="x",b="y"` without the closing brace (callers may add more pairs); "" with no pairs.
std::string OpenLabels(const std::vector<std::string>& names,
                       const std::vector<std::string>& values) {
  if (names.empty()) return "";
  std::string s = "{";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) s.push_back(',');
    absl::StrAppend(&s, names[i], "=\"");
    AppendEscaped(values[i], &s);
    s.push_back('"');
  }
  return s;
}

}  // namespace

void Counter::Inc(double by) {
  uint64_t old = bits_.load(std::memory_order_relaxed);
  while (!bits_.compare_exchange_weak(old, std::bit_cast<uint64_t>(std::bit_cast<double>(old) + by),
                                      std::memory_order_relaxed)) {
  }
}

void Counter::Set(double v) { bits_.store(std::bit_cast<uint64_t>(v), std::memory_order_relaxed); }

double Counter::value() const {
  return std::bit_cast<double>(bits_.load(std::memory_order_relaxed));
}

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.Inc(v);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot s;
  s.upper_bounds = bounds_;
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  s.count = running;
  s.sum = sum_.value();
  return s;
}

CounterFamily::CounterFamily(std::string name, std::string help, std::string type,
                             std::vector<std::string> label_names)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(std::move(type)),
      label_names_(std::move(label_names)) {}

Counter* CounterFamily::With(const std::vector<std::string>& values) {
  absl::MutexLock lock(&mu_);
  std::unique_ptr<Counter>& c = children_[values];
  if (c == nullptr) c = std::make_unique<Counter>();
  return c.get();
}

void CounterFamily::Expose(std::string* out) const {
  AppendHelp(name_, help_, type_, out);
  absl::MutexLock lock(&mu_);
  for (const auto& [values, c] : children_) {
    std::string ls = OpenLabels(label_names_, values);
    absl::StrAppend(out, name_, ls, ls.empty() ? "" : "}", " ", FormatFloat(c->value()), "\n");
  }
}

HistogramFamily::HistogramFamily(std::string name, std::string help,
                                 std::vector<std::string> label_names,
                                 std::vector<double> upper_bounds)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      bounds_(std::move(upper_bounds)) {}

Histogram* HistogramFamily::With(const std::vector<std::string>& values) {
  absl::MutexLock lock(&mu_);
  std::unique_ptr<Histogram>& h = children_[values];
  if (h == nullptr) h = std::make_unique<Histogram>(bounds_);
  return h.get();
}

void HistogramFamily::Expose(std::string* out) const {
  AppendHelp(name_, help_, "histogram", out);
  absl::MutexLock lock(&mu_);
  for (const auto& [values, h] : children_) {
    const Histogram::Snapshot s = h->Read();
    const std::string ls = OpenLabels(label_names_, values);
    const std::string sep = ls.empty() ? "{" : ls + ",";
    for (size_t i = 0; i <= s.upper_bounds.size(); ++i) {
      const std::string le = i < s.upper_bounds.size() ? FormatFloat(s.upper_bounds[i]) : "+Inf";
      absl::StrAppend(out, name_, "_bucket", sep, "le=\"", le, "\"} ", s.cumulative[i], "\n");
    }
    const std::string close = ls.empty() ? "" : ls + "}";
    absl::StrAppend(out, name_, "_sum", close, " ", FormatFloat(s.sum), "\n");
    absl::StrAppend(out, name_, "_count", close, " ", s.count, "\n");
  }
}

CounterFamily* MetricsRegistry::AddCounter(std::string name, std::string help,
                                           std::vector<std::string> label_names) {
  absl::MutexLock lock(&mu_);
  counters_.push_back(std::make_unique<CounterFamily>(std::move(name), std::move(help), "counter",
                                                      std::move(label_names)));
  order_.emplace_back(false, counters_.size() - 1);
  return counters_.back().get();
}

CounterFamily* MetricsRegistry::AddGauge(std::string name, std::string help,
                                         std::vector<std::string> label_names) {
  absl::MutexLock lock(&mu_);
  counters_.push_back(std::make_unique<CounterFamily>(std::move(name), std::move(help), "gauge",
                                                      std::move(label_names)));
  order_.emplace_back(false, counters_.size() - 1);
  return counters_.back().get();
}

HistogramFamily* MetricsRegistry::AddHistogram(std::string name, std::string help,
                                               std::vector<std::string> label_names,
                                               std::vector<double> upper_bounds) {
  absl::MutexLock lock(&mu_);
  histograms_.push_back(std::make_unique<HistogramFamily>(
      std::move(name), std::move(help), std::move(label_names), std::move(upper_bounds)));
  order_.emplace_back(true, histograms_.size() - 1);
  return histograms_.back().get();
}

void MetricsRegistry::AddCollector(std::function<void()> collect) {
  absl::MutexLock lock(&mu_);
  collectors_.push_back(std::move(collect));
}

std::string MetricsRegistry::Expose() const {
  absl::MutexLock lock(&mu_);
  for (const auto& c : collectors_) c();
  std::string out;
  for (const auto& [is_histogram, i] : order_) {
    if (is_histogram) {
      histograms_[i]->Expose(&out);
    } else {
      counters_[i]->Expose(&out);
    }
  }
  return out;
}

std::vector<double> DurationBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

}  // namespace ember::server
