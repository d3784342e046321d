#include "tests/promqltest/loader.h"

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ember/db.h"
#include "ember/labels.h"
#include "ember/options.h"

namespace ember::promqltest {

Options ConformanceDbOptions() {
  Options o;
  o.create_if_missing = true;
  o.sync_policy = SyncPolicy::kNoSync;
  o.out_of_order_window_ms = std::numeric_limits<int64_t>::max();
  o.retention_ms = 0;
  o.retention_bytes = 0;
  o.max_future_ms = std::numeric_limits<int64_t>::max();
  o.background_interval_ms = 0;
  o.clock = [] { return kConformanceClockMs; };
  return o;
}

absl::Status LoadInto(const LoadCommand& load, Db* db, LoadStats* stats) {
  LoadStats local;
  std::unique_ptr<Appender> app = db->NewAppender();
  struct Queued {
    const SeriesLine* series;
    int64_t t;
  };
  std::vector<Queued> queued;  // By Append() index, to name a rejected sample.
  for (const SeriesLine& s : load.series) {
    Labels labels = s.labels;
    CanonicalizeLabels(&labels);
    if (absl::Status st = ValidateLabels(labels); !st.ok()) {
      return absl::InvalidArgumentError(absl::StrFormat("line %d: series %s cannot be stored: %s",
                                                        s.line, LabelsToString(s.labels),
                                                        st.message()));
    }
    bool stored_any = false;
    for (size_t i = 0; i < s.values.size(); ++i) {
      const SequenceValue& v = s.values[i];
      if (v.is_omitted()) continue;
      if (i < s.start_offsets_ms.size() && s.start_offsets_ms[i].has_value()) {
        ++local.start_timestamps_ignored;
      }
      if (v.is_histogram()) {
        ++local.histogram_samples_skipped;
        continue;
      }
      const int64_t t = static_cast<int64_t>(i) * load.interval_ms;
      if (absl::Status st = app->Append(labels, t, v.value); !st.ok()) {
        app->Rollback();
        return absl::Status(st.code(), absl::StrFormat("line %d: series %s, t=%d: %s", s.line,
                                                       LabelsToString(labels), t, st.message()));
      }
      queued.push_back({&s, t});
      ++local.samples;
      stored_any = true;
    }
    if (stored_any) ++local.series;
  }
  absl::StatusOr<CommitResult> result = app->Commit();
  if (!result.ok()) {
    return absl::Status(
        result.status().code(),
        absl::StrFormat("load at line %d: commit: %s", load.line, result.status().message()));
  }
  if (!result->rejected.empty()) {
    const RejectedSample& r = result->rejected.front();
    const Queued& q = queued.at(r.index);
    return absl::Status(r.status.code(),
                        absl::StrFormat("load at line %d: %d of %d samples rejected; first: line "
                                        "%d, t=%d: %s",
                                        load.line, result->rejected.size(), queued.size(),
                                        q.series->line, q.t, r.status.message()));
  }
  if (stats != nullptr) *stats = local;
  return absl::OkStatus();
}

}  // namespace ember::promqltest
