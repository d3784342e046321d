#include "ingest/write_path.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace ember::ingest {

const char* RejectReasonName(RejectReason r) {
  switch (r) {
    case RejectReason::kInvalidLabels:
      return "invalid_labels";
    case RejectReason::kOutOfBounds:
      return "out_of_bounds";
    case RejectReason::kOutOfOrder:
      return "out_of_order";
    case RejectReason::kDuplicate:
      return "duplicate";
  }
  return "unknown";
}

absl::StatusOr<WriteOutcome> WriteBatch(Db* db, const DecodedBatch& batch, WriteOutcome* rejected) {
  std::unique_ptr<Appender> app = db->NewAppender();
  // Position in the request of each queued sample, to name the ones the commit refuses.
  std::vector<uint32_t> positions;
  int64_t total = 0;
  for (const DecodedSeries& s : batch.series) total += static_cast<int64_t>(s.samples.size());
  positions.reserve(static_cast<size_t>(total));
  // Rejects the whole batch: nothing is stored, and every sample counts as refused for `reason`.
  auto reject_whole = [&](const DecodedSeries& s, RejectReason reason, absl::string_view why) {
    app->Rollback();
    if (rejected != nullptr) {
      *rejected = WriteOutcome{};
      rejected->samples_refused = total;
      rejected->refused_by_reason[static_cast<int>(reason)] = total;
    }
    return absl::InvalidArgumentError(absl::StrCat(PositionName(batch.kind, s.position), ": ", why,
                                                   " (nothing of this request was stored)"));
  };
  for (const DecodedSeries& s : batch.series) {
    // The embedding API stores series without a name; a door does not, as Prometheus's
    // receivers do not (remote write 2.0: __name__ MUST be present). The text formats always
    // name a series, so in practice this guards remote write. An empty value is no label.
    if (!s.samples.empty() && GetLabelValue(s.labels, kMetricNameLabel).empty()) {
      return reject_whole(s, RejectReason::kInvalidLabels,
                          absl::StrCat("labels ", LabelsToString(s.labels),
                                       ": no metric name (__name__ is missing or empty)"));
    }
    for (const Sample& sample : s.samples) {
      if (absl::Status st = app->Append(s.labels, sample.t, sample.v); !st.ok()) {
        return reject_whole(
            s, absl::IsOutOfRange(st) ? RejectReason::kOutOfBounds : RejectReason::kInvalidLabels,
            st.message());
      }
      positions.push_back(s.position);
    }
  }
  absl::StatusOr<CommitResult> committed = app->Commit();
  if (!committed.ok()) return committed.status();
  WriteOutcome out;
  out.samples_stored = committed->samples_stored;
  out.samples_refused = static_cast<int64_t>(committed->rejected.size());
  for (const RejectedSample& r : committed->rejected) {
    const RejectReason reason =
        absl::IsAlreadyExists(r.status) ? RejectReason::kDuplicate : RejectReason::kOutOfOrder;
    ++out.refused_by_reason[static_cast<int>(reason)];
    if (out.errors.size() < kMaxReportedErrors) {
      out.errors.push_back(
          absl::StrCat(PositionName(batch.kind, positions[r.index]), ": ", r.status.message()));
    }
  }
  return out;
}

}  // namespace ember::ingest
