// Latency percentiles for the load generators in bench/ (remote_write_load, query_load): one
// definition, so both report p50 and p99 the same way.
#ifndef EMBER_BENCH_LATENCY_STATS_H_
#define EMBER_BENCH_LATENCY_STATS_H_

#include <algorithm>
#include <cstddef>
#include <vector>

namespace ember::bench {

// The q-quantile (0 <= q <= 1) of `v` by nearest rank, rounding up: with 100 values p99 is the
// 100th, so a single outlier in 100 shows. 0 for an empty `v`.
inline double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))];
}

}  // namespace ember::bench

#endif  // EMBER_BENCH_LATENCY_STATS_H_
