// Appends the ML-serving data set (scrape_data.h) to a Db through the embedding API: `scrapes`
// rounds of every target, committed every four rounds. For benchmarks that need a loaded Db.
#ifndef EMBER_TESTS_TESTUTIL_LOAD_SCRAPE_DATA_H_
#define EMBER_TESTS_TESTUTIL_LOAD_SCRAPE_DATA_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ember/db.h"
#include "examples/model-serving/scrape_data.h"

namespace ember::testutil {

// The number of samples stored. Any Append error, commit error or refused sample is an error.
inline absl::StatusOr<int64_t> LoadScrapeData(Db* db,
                                              const model_serving::ScrapeDataOptions& options,
                                              int scrapes) {
  model_serving::ScrapeData data(options);
  const std::vector<Labels>& series = data.series();
  std::unique_ptr<Appender> app = db->NewAppender();
  std::vector<double> values;
  int64_t stored = 0;
  for (int r = 0; r < scrapes; ++r) {
    for (int target = 0; target < options.targets; ++target) {
      int64_t t = 0;
      data.NextScrape(target, &t, &values);
      const auto [first, last] = data.target_series(target);
      for (size_t i = first; i < last; ++i) {
        if (absl::Status s = app->Append(series[i], t, values[i - first]); !s.ok()) return s;
      }
    }
    if (r % 4 == 3 || r == scrapes - 1) {
      absl::StatusOr<CommitResult> c = app->Commit();
      if (!c.ok()) return c.status();
      if (!c->rejected.empty()) return c->rejected[0].status;
      stored += c->samples_stored;
    }
  }
  return stored;
}

}  // namespace ember::testutil

#endif  // EMBER_TESTS_TESTUTIL_LOAD_SCRAPE_DATA_H_
