// The write path shared by every ingest door: stores a decoded batch through the embedding API.
//
// Policy (docs/ingest.md): a batch is validated whole before anything is stored. Bad labels
// (none, no __name__ or an empty one, empty or duplicate names, invalid UTF-8) and samples outside
// the writable window (older than retention, later than now + max_future) reject the whole batch:
// nothing is stored. What only the commit can see — a sample older than its series' newest stored
// sample (beyond the out-of-order window), or another value at a stored timestamp — is refused
// sample by sample: the rest of the batch is stored and the refused samples are reported, so a
// door answers 400 naming them and never acknowledges a sample it did not store.
#ifndef EMBER_INGEST_WRITE_PATH_H_
#define EMBER_INGEST_WRITE_PATH_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ember/db.h"
#include "ingest/batch.h"

namespace ember::ingest {

// Why samples were refused, as counted in ember_ingest_rejected_samples_total{reason}.
enum class RejectReason { kInvalidLabels, kOutOfBounds, kOutOfOrder, kDuplicate };
const char* RejectReasonName(RejectReason r);  // "invalid_labels", "out_of_bounds", ...

struct WriteOutcome {
  int64_t samples_stored = 0;
  int64_t samples_refused = 0;
  // The first few refusals, "timeseries[3]: series {...}: sample t=... is older ...".
  std::vector<std::string> errors;
  int64_t refused_by_reason[4] = {0, 0, 0, 0};  // Indexed by RejectReason.
};

// Messages kept in WriteOutcome::errors.
inline constexpr size_t kMaxReportedErrors = 10;

// Validates and stores `batch`. A batch rejected whole returns InvalidArgument naming the
// position and reason ("timeseries[2]: label name "" is empty") and `*rejected`, when
// non-null, tells why and how many samples that was. Storage faults (retryable) keep their
// status (e.g. Unavailable, Internal).
absl::StatusOr<WriteOutcome> WriteBatch(Db* db, const DecodedBatch& batch,
                                        WriteOutcome* rejected = nullptr);

}  // namespace ember::ingest

#endif  // EMBER_INGEST_WRITE_PATH_H_
