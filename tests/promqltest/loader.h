// Stores the data of a script's `load` blocks in an ember::Db through the public Appender API,
// the way promqltest fills its test TSDB: sample i of a series line at t = i * interval, `_`
// skipped, stale markers as the stale-NaN bit pattern, one Commit() per block.
//
// Ember stores floats only: native-histogram values ({{...}}), the custom-bucket histograms
// that load_with_nhcb derives, and `@st` start timestamps are not stored; LoadStats counts what
// was left out, and LoadCommand::has_histograms() tells the runner which blocks those are.
#ifndef EMBER_TESTS_PROMQLTEST_LOADER_H_
#define EMBER_TESTS_PROMQLTEST_LOADER_H_

#include <cstdint>

#include "absl/status/status.h"
#include "ember/db.h"
#include "ember/options.h"
#include "tests/promqltest/script.h"

namespace ember::promqltest {

// The fixed clock of a conformance Db: 100 years after the epoch, later than every timestamp in
// the scripts (the largest is a few years), so no sample is "in the future".
inline constexpr int64_t kConformanceClockMs = 100LL * 365 * 24 * 3600 * 1000;

// Options for a Db that accepts everything a script loads: timestamps from 0 (retention_ms = 0
// keeps everything), in any order across load blocks (out_of_order_window_ms unlimited), never
// "ahead of the clock" (fixed clock kConformanceClockMs, max_future_ms unlimited); no fsync and
// no background work, so a run is deterministic.
Options ConformanceDbOptions();

struct LoadStats {
  int64_t series = 0;   // Series lines with at least one stored sample.
  int64_t samples = 0;  // Float samples appended (stale markers included).
  int64_t histogram_samples_skipped = 0;
  int64_t start_timestamps_ignored = 0;  // Positions that had an @st start time.
};

// Appends the block's float samples to `db` and commits them as one batch. InvalidArgument for
// a series Ember cannot store (e.g. `{}` with no labels); OutOfRange/AlreadyExists, naming the
// script line, series and t, if the Db rejects a sample (e.g. t < 0, or a different value at a
// timestamp an earlier block already filled). On error nothing of the block is stored, unless
// Commit() itself stored part of it before a rejection. `stats` may be null.
absl::Status LoadInto(const LoadCommand& load, Db* db, LoadStats* stats = nullptr);

}  // namespace ember::promqltest

#endif  // EMBER_TESTS_PROMQLTEST_LOADER_H_
