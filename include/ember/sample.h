// A sample is one (timestamp, value) point of a series. Timestamps are int64 milliseconds since
// the Unix epoch; values are IEEE-754 doubles, stored bit-exactly (every NaN payload, ±Inf, -0.0).
#ifndef EMBER_SAMPLE_H_
#define EMBER_SAMPLE_H_

#include <bit>
#include <cstdint>

namespace ember {

struct Sample {
  int64_t t = 0;
  double v = 0;
};

// Prometheus's stale marker: a NaN with this exact bit pattern ends a series at `t`.
inline constexpr uint64_t kStaleNaNBits = 0x7ff0000000000002ULL;

inline double StaleNaN() { return std::bit_cast<double>(kStaleNaNBits); }
inline bool IsStaleNaN(double v) { return std::bit_cast<uint64_t>(v) == kStaleNaNBits; }

// Two samples are the same when timestamps and value bits are equal (NaN == NaN here).
inline bool SameSample(const Sample& a, const Sample& b) {
  return a.t == b.t && std::bit_cast<uint64_t>(a.v) == std::bit_cast<uint64_t>(b.v);
}

}  // namespace ember

#endif  // EMBER_SAMPLE_H_
