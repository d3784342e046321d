// The embedding API: open a database directory, append samples, select series, close.
//
//   EMBER_ASSIGN_OR_RETURN(std::unique_ptr<ember::Db> db, ember::Db::Open(options, "/var/lib/x"));
//   std::unique_ptr<ember::Appender> app = db->NewAppender();
//   app->Append({{"__name__", "temp_celsius"}, {"room", "lab"}}, now_ms, 21.5);
//   EMBER_ASSIGN_OR_RETURN(ember::CommitResult r, app->Commit());  // durable from here on
//
// A Db is thread-safe. An Appender or a SampleIterator is used by one thread at a time.
#ifndef EMBER_DB_H_
#define EMBER_DB_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ember/labels.h"
#include "ember/options.h"
#include "ember/query.h"
#include "ember/sample.h"

namespace ember {

// A sample that Commit() did not store, and why (OutOfRange: too old or too far in the
// future; AlreadyExists: another value at the same timestamp).
struct RejectedSample {
  size_t index = 0;  // Position among the batch's Append() calls, from 0.
  absl::Status status;
};

struct CommitResult {
  int64_t samples_stored = 0;  // Includes exact duplicates of stored samples (a no-op).
  std::vector<RejectedSample> rejected;
};

class Appender {
 public:
  virtual ~Appender() = default;
  // Queues a sample. Returns InvalidArgument for bad labels and OutOfRange for a timestamp
  // outside the writable window (older than retention, later than now + max_future_ms); such
  // a sample is not queued. `labels` need not be sorted.
  virtual absl::Status Append(const Labels& labels, int64_t t, double v) = 0;
  // Stores the queued samples as one batch and clears the queue. When it returns OK, every
  // sample it counts as stored is durable per Options::sync_policy; samples in `rejected` are
  // not stored. A non-OK status means nothing of the batch was acknowledged.
  virtual absl::StatusOr<CommitResult> Commit() = 0;
  // Drops the queued samples.
  virtual void Rollback() = 0;
  virtual size_t pending() const = 0;
};

struct DbStats {
  int64_t series = 0;           // Series ever created (retention keeps their records).
  int64_t head_series = 0;      // Series with an open chunk in memory.
  int64_t samples = 0;          // Samples stored in live partitions.
  int64_t bytes_on_disk = 0;    // All files of the data directory.
  double bytes_per_sample = 0;  // bytes_on_disk / samples.
  int64_t partitions = 0;
  int64_t min_time_ms = 0;            // Start of the oldest live partition (0 when empty).
  int64_t max_time_ms = 0;            // Newest sample stored.
  int64_t head_memory_bytes = 0;      // Estimated memory held by the head.
  int64_t compactions_completed = 0;  // RocksDB compactions completed since Open.
};

class Db {
 public:
  // Opens (or creates) the database in `dir`, replaying the head log since the last
  // checkpoint. NotFound when absent and !create_if_missing; InvalidArgument for bad options;
  // FailedPrecondition when another process holds it.
  static absl::StatusOr<std::unique_ptr<Db>> Open(const Options& options, const std::string& dir);

  virtual ~Db() = default;

  virtual std::unique_ptr<Appender> NewAppender() = 0;

  // Series matching every matcher with at least one sample in [mint, maxt]; each iterator
  // yields that series' samples within the range. At least one matcher must not match the
  // empty string (as in PromQL), else InvalidArgument.
  virtual absl::StatusOr<std::vector<Series>> Select(const std::vector<Matcher>& matchers,
                                                     int64_t mint, int64_t maxt) = 0;

  // Sorted, distinct label names / values of series with data in partitions overlapping
  // [mint, maxt]; with matchers, only of series matching them.
  virtual absl::StatusOr<std::vector<std::string>> LabelNames(
      int64_t mint, int64_t maxt, const std::vector<Matcher>& matchers = {}) = 0;
  virtual absl::StatusOr<std::vector<std::string>> LabelValues(
      const std::string& name, int64_t mint, int64_t maxt,
      const std::vector<Matcher>& matchers = {}) = 0;

  virtual absl::StatusOr<DbStats> Stats() = 0;

  // Writes the head's open chunks and truncates the log, bounding the next reopen.
  virtual absl::Status Checkpoint() = 0;
  // Drops partitions past retention_ms / retention_bytes, counted from the clock.
  virtual absl::Status ApplyRetention() = 0;
  // Seals every open chunk and fully compacts the store (for inspection and benchmarks).
  virtual absl::Status CompactAll() = 0;

  // Checkpoints and closes. Later calls fail with FailedPrecondition. The destructor closes
  // too, ignoring errors.
  virtual absl::Status Close() = 0;
};

}  // namespace ember

#endif  // EMBER_DB_H_
