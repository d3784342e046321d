// The crash test's batches: a batch is a pure function of (seed, base time, batch number), so
// tests/crash_writer.cc writes them and tests/crash_test.cc regenerates what each acknowledged
// batch held, from this one definition.
#ifndef EMBER_TESTS_CRASH_BATCHES_H_
#define EMBER_TESTS_CRASH_BATCHES_H_

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ember/db.h"
#include "ember/labels.h"
#include "ember/options.h"
#include "ember/sample.h"

namespace ember::crash {

constexpr int kNumSeries = 50;

// Every series has its own timeline: batch b owns [origin + b*kStepMs, origin + (b+1)*kStepMs)
// where origin = BASE_MS + SeriesOffsetMs(series). In-order samples fall in the first half of
// the batch's own slot, out-of-order ones in the second half of an earlier batch's slot, so a
// timestamp is never shared by two different values: a value is a function of (series, t).
// 10 ms keeps the data of a whole test run (<= ~500k batches) within max_future_ms of the clock.
constexpr int64_t kStepMs = 10;
constexpr int64_t kHalfStepMs = kStepMs / 2;
// Out-of-order samples go at most this many batches back: 31 steps from the series' newest
// sample, well inside the window below, so Commit() never rejects one.
constexpr int64_t kMaxLookbackBatches = 30;
constexpr int64_t kOutOfOrderWindowMs = 100 * kStepMs;

constexpr int64_t kMinuteMs = 60'000;
// Small partitions and chunk ranges, so a run crosses their boundaries (new column families,
// chunk cuts) while it is being killed.
constexpr int64_t kChunkRangeMs = kMinuteMs;
constexpr int64_t kPartitionMs = 5 * kMinuteMs;
// Series with i % 7 == 3 lag this far behind BASE_MS: older than head_idle_ms (1 h) before the
// clock, so every checkpoint seals and evicts them, and their next sample brings them back from
// disk. The rest stay in the head. Not a multiple of kPartitionMs: boundaries fall elsewhere.
constexpr int64_t kLagMs = 2 * 60 * kMinuteMs + 150'000;

enum class Checkpoints { kFrequent, kNone };

// The options of the writer and of the parent that verifies its directory.
inline Options CrashOptions(SyncPolicy policy, Checkpoints checkpoints) {
  Options o;
  o.sync_policy = policy;
  o.group_commit_interval_ms = 5;
  o.out_of_order_window_ms = kOutOfOrderWindowMs;
  o.retention_ms = 0;
  o.chunk_range_ms = kChunkRangeMs;
  o.partition_duration_ms = kPartitionMs;
  if (checkpoints == Checkpoints::kFrequent) {
    o.checkpoint_log_bytes = 256 << 10;
    o.checkpoint_interval_ms = 200;
    o.background_interval_ms = 20;
  } else {
    o.background_interval_ms = 0;
  }
  return o;
}

inline std::optional<SyncPolicy> ParseMode(std::string_view mode) {
  if (mode == "sync") return SyncPolicy::kSyncEachCommit;
  if (mode == "group") return SyncPolicy::kGroupCommit;
  if (mode == "nosync") return SyncPolicy::kNoSync;
  return std::nullopt;
}

inline int64_t SeriesOffsetMs(int series) { return series % 7 == 3 ? -kLagMs : 0; }

inline const char* SeriesKind(int series) {
  static constexpr const char* kKinds[] = {"counter", "gauge", "bits", "special", "integer"};
  return kKinds[series % 5];
}

// {__name__="crash_<kind>", job="crash", series="<i>"}, canonical.
inline Labels SeriesLabels(int series) {
  Labels ls = {{"__name__", absl::StrCat("crash_", SeriesKind(series))},
               {"job", "crash"},
               {"series", absl::StrCat(series)}};
  CanonicalizeLabels(&ls);
  return ls;
}

// SplitMix64's finalizer: a well-mixed 64-bit hash of `x`.
inline uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
inline uint64_t Mix(uint64_t a, uint64_t b) { return Mix(Mix(a) ^ b); }
inline uint64_t Mix(uint64_t a, uint64_t b, uint64_t c) { return Mix(Mix(a, b) ^ c); }

// The value of `series` at `t`: realistic counters and gauges, and values whose bits must
// survive exactly (random bit patterns, hence NaNs with payloads; stale markers; ±Inf; -0.0).
inline double ValueAt(uint64_t seed, int series, int64_t t) {
  const uint64_t h = Mix(seed, static_cast<uint64_t>(series), static_cast<uint64_t>(t));
  switch (series % 5) {
    case 0:
      return static_cast<double>(t % 100'000'000) * 0.5;
    case 1:
      return static_cast<double>(h % 10'000) / 100.0;
    case 2:
      return std::bit_cast<double>(h);
    case 3: {
      static constexpr uint64_t kSpecials[] = {kStaleNaNBits,         0x8000000000000000ULL,
                                               0x7ff0000000000000ULL, 0xfff0000000000000ULL,
                                               0x0000000000000001ULL, 0x7ff8000000000001ULL,
                                               0x3ff0000000000000ULL, 0x7fefffffffffffffULL};
      return std::bit_cast<double>(kSpecials[h % 8]);
    }
    default:
      return static_cast<double>(h % 1000);
  }
}

struct BatchSample {
  int series = 0;
  int64_t t = 0;
  double v = 0;
};

// The in-order samples of `series` in batch `batch`: none (one batch in ten), or 1-3 in the
// first half of the batch's slot, ascending.
inline std::vector<BatchSample> InOrderSamples(uint64_t seed, int64_t base_ms, int64_t batch,
                                               int series) {
  const uint64_t h = Mix(seed, static_cast<uint64_t>(batch), 0x1000 + series);
  if (h % 10 == 0) return {};
  const int n = 1 + static_cast<int>((h >> 8) % 3);
  const int64_t first = static_cast<int64_t>((h >> 16) % (kHalfStepMs - n + 1));
  const int64_t slot = base_ms + SeriesOffsetMs(series) + batch * kStepMs;
  std::vector<BatchSample> out;
  for (int k = 0; k < n; ++k) {
    const int64_t t = slot + first + k;
    out.push_back({series, t, ValueAt(seed, series, t)});
  }
  return out;
}

// Batch `batch`, in Append() order: the in-order samples of most series; 0-5 out-of-order
// samples up to kMaxLookbackBatches back; 0-2 exact duplicates of the previous batch's samples
// and sometimes one of this batch's own. One batch in four is shuffled whole (out-of-order
// within the batch too). Every sample is stored by Commit() (duplicates count as stored).
inline std::vector<BatchSample> CrashBatch(uint64_t seed, int64_t base_ms, int64_t batch) {
  uint64_t state = Mix(seed, static_cast<uint64_t>(batch), 0xba7c);
  auto next = [&state] { return state = Mix(state); };
  std::vector<BatchSample> out;
  out.reserve(2 * kNumSeries + 8);
  const int rotate = static_cast<int>(next() % kNumSeries);
  for (int k = 0; k < kNumSeries; ++k) {
    for (const BatchSample& s : InOrderSamples(seed, base_ms, batch, (k + rotate) % kNumSeries)) {
      out.push_back(s);
    }
  }
  auto insert_somewhere = [&](const BatchSample& s) {
    out.insert(out.begin() + static_cast<std::ptrdiff_t>(next() % (out.size() + 1)), s);
  };
  const int late = static_cast<int>(next() % 6);
  for (int k = 0; k < late; ++k) {
    const int series = static_cast<int>(next() % kNumSeries);
    const int64_t back = 1 + static_cast<int64_t>(next() % kMaxLookbackBatches);
    const int64_t offset = kHalfStepMs + static_cast<int64_t>(next() % kHalfStepMs);
    if (batch - back < 0) continue;
    const int64_t t = base_ms + SeriesOffsetMs(series) + (batch - back) * kStepMs + offset;
    insert_somewhere({series, t, ValueAt(seed, series, t)});
  }
  const int repeats = batch > 0 ? static_cast<int>(next() % 3) : 0;
  for (int k = 0; k < repeats; ++k) {
    const int series = static_cast<int>(next() % kNumSeries);
    std::vector<BatchSample> prev = InOrderSamples(seed, base_ms, batch - 1, series);
    if (!prev.empty()) insert_somewhere(prev[next() % prev.size()]);
  }
  if (!out.empty() && next() % 4 == 0) insert_somewhere(out[next() % out.size()]);
  if (next() % 4 == 0) {
    for (size_t i = out.size(); i > 1; --i) std::swap(out[i - 1], out[next() % i]);
  }
  return out;
}

}  // namespace ember::crash

#endif  // EMBER_TESTS_CRASH_BATCHES_H_
