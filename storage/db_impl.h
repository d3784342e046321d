// DbImpl: the storage engine behind ember::Db. Its parts, each in a file of its own:
//   db_impl_open.cc        Open, recovery (heads + log replay), background threads, Close
//   db_impl_write.cc       the appender, Commit, the head's append rules (cut, out-of-order)
//   db_impl_maintain.cc    checkpoints, retention, CompactAll, Stats
//   db_impl_read.cc        the Querier (lazy series sets, label names and values), the sample
//                          iterator; Db::Select and friends on top of it
// Architecture: docs/architecture.md. Thread-safety: mu_ serializes writers and guards the
// head; readers take it shared only to copy a series' open chunk.
#ifndef EMBER_STORAGE_DB_IMPL_H_
#define EMBER_STORAGE_DB_IMPL_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "ember/db.h"
#include "storage/head_chunk.h"
#include "storage/head_log.h"
#include "storage/matcher.h"
#include "storage/querier.h"
#include "storage/rocks_store.h"

namespace ember::storage {

// One queued sample of an appender; `series` indexes the appender's distinct label sets.
struct PendingSample {
  uint32_t series = 0;
  int64_t t = 0;
  double v = 0;
};

// The Db, and its read and write sides for query/ and rules (querier.h): the Querier methods
// take compiled matchers, the Db's compile them first.
class DbImpl final : public Db, public Querier, public Appendable {
 public:
  static absl::StatusOr<std::unique_ptr<DbImpl>> OpenImpl(const Options& options,
                                                          const std::string& dir);
  ~DbImpl() override;

  std::unique_ptr<Appender> NewAppender() override;  // Db and Appendable.
  absl::StatusOr<std::unique_ptr<SeriesSet>> Select(std::span<const CompiledMatcher> matchers,
                                                    int64_t mint, int64_t maxt) override;
  absl::StatusOr<std::vector<std::string>> LabelNames(
      int64_t mint, int64_t maxt, std::span<const CompiledMatcher> matchers) override;
  absl::StatusOr<std::vector<std::string>> LabelValues(
      const std::string& name, int64_t mint, int64_t maxt,
      std::span<const CompiledMatcher> matchers) override;

  absl::StatusOr<std::vector<Series>> Select(const std::vector<Matcher>& matchers, int64_t mint,
                                             int64_t maxt) override;
  absl::StatusOr<std::vector<std::string>> LabelNames(
      int64_t mint, int64_t maxt, const std::vector<Matcher>& matchers) override;
  absl::StatusOr<std::vector<std::string>> LabelValues(
      const std::string& name, int64_t mint, int64_t maxt,
      const std::vector<Matcher>& matchers) override;
  absl::StatusOr<DbStats> Stats() override;
  absl::Status Checkpoint() override;
  absl::Status ApplyRetention() override;
  absl::Status CompactAll() override;
  absl::Status Close() override;

  // For the appender. OutOfRange when `t` is outside the writable window.
  absl::Status CheckWritable(int64_t t) const;
  // Applies one batch; `series` holds canonical label bytes, `samples` index into it.
  absl::StatusOr<CommitResult> Commit(const std::vector<const std::string*>& series,
                                      const std::vector<PendingSample>& samples);

  // Copies the samples of `ref`'s open chunk within [mint, maxt] (for iterators).
  void CopyHeadSamples(uint64_t ref, int64_t mint, int64_t maxt, std::vector<Sample>* out);
  // When `ref`'s open chunk starts at or before `mint` (so no sealed chunk holds a sample in
  // [mint, maxt]): appends its samples in range and returns true. False otherwise.
  bool CopyHeadSamplesIfCovering(uint64_t ref, int64_t mint, int64_t maxt,
                                 std::vector<Sample>* out);
  // Whether `ref`'s open chunk's first or last sample lies in [mint, maxt] (so the series has
  // a sample in range; false says nothing).
  bool HeadOverlaps(uint64_t ref, int64_t mint, int64_t maxt);
  RocksStore* store() { return store_.get(); }

 private:
  struct MemSeries {
    uint64_t ref = 0;
    std::string labels;  // Canonical label bytes (label_codec.h).
    HeadChunk chunk;     // The open chunk; empty after a cut until the next sample.
    int64_t last_t = INT64_MIN;
    int64_t indexed_partition = INT64_MIN;
    bool dirty = false;  // Changed since the last checkpoint.
  };

  // Where a sealed chunk lives; the pending-write overlay of a batch is keyed by it.
  struct ChunkLoc {
    int64_t partition;
    uint64_t ref;
    int64_t start;
    auto operator<=>(const ChunkLoc&) const = default;
  };

  // The writes one batch (a commit, a replayed log record, a checkpoint) accumulates.
  struct WriteContext {
    explicit WriteContext(RocksStore* store) : batch(store) {}
    StoreBatch batch;
    std::map<ChunkLoc, std::string> chunks;  // Sealed chunks to write, read back first.
    std::vector<LogSample> logged;
    bool replay = false;
  };

  enum class AppendOutcome { kStored, kDuplicate, kRejected };

  DbImpl(const Options& options, std::string dir);
  int64_t Now() const;
  int64_t WindowEnd(int64_t t) const;

  absl::Status Recover() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status ReplayLog() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void StartBackground();
  void StopBackground();
  void BackgroundLoop();
  void SyncLoop();
  absl::Status WaitDurable(uint64_t seq);

  absl::StatusOr<MemSeries*> ResolveSeries(const std::string& labels, WriteContext* ctx)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<MemSeries*> SeriesByRef(uint64_t ref) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<MemSeries*> AddToHead(uint64_t ref, std::string labels, bool on_disk)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<int64_t> LastSampleTimeOnDisk(uint64_t ref);
  absl::StatusOr<AppendOutcome> AppendSample(MemSeries* s, int64_t t, double v, WriteContext* ctx,
                                             absl::Status* why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<AppendOutcome> InsertOutOfOrder(MemSeries* s, int64_t t, double v,
                                                 WriteContext* ctx, absl::Status* why)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status SealOpenChunk(MemSeries* s, WriteContext* ctx) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status IndexSeries(MemSeries* s, int64_t partition, WriteContext* ctx)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status FlushChunks(WriteContext* ctx);
  absl::Status ApplyLogged(const std::vector<LogSample>& samples, WriteContext* ctx)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ForgetSeries(MemSeries* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CheckpointLocked(bool evict_all) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CheckpointAndReleaseLog() ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<std::vector<uint64_t>> MatchingRefs(std::span<const CompiledMatcher> matchers,
                                                     int64_t mint, int64_t maxt);
  absl::StatusOr<std::string> LabelBytesOf(uint64_t ref);
  // Calls `fn` with the labels of every series matching `matchers` in [mint, maxt].
  absl::Status ForEachMatchingSeries(std::span<const CompiledMatcher> matchers, int64_t mint,
                                     int64_t maxt, const std::function<void(const Labels&)>& fn);

  const Options options_;
  const std::string dir_;
  std::unique_ptr<RocksStore> store_;

  absl::Mutex mu_;
  absl::flat_hash_map<uint64_t, std::unique_ptr<MemSeries>> by_ref_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string_view, MemSeries*> by_labels_ ABSL_GUARDED_BY(mu_);
  uint64_t next_ref_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t last_seq_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t log_bytes_ ABSL_GUARDED_BY(mu_) = 0;  // Log written since the last checkpoint.
  std::map<int64_t, int64_t> partition_samples_ ABSL_GUARDED_BY(mu_);
  int64_t max_time_ ABSL_GUARDED_BY(mu_) = INT64_MIN;
  absl::Status fatal_ ABSL_GUARDED_BY(mu_);  // After a failed write the Db is read-only.
  bool closed_ ABSL_GUARDED_BY(mu_) = false;

  // Group commit: the sync thread makes the log durable up to written_seq_.
  absl::Mutex sync_mu_;
  absl::CondVar sync_cv_;
  std::atomic<uint64_t> written_seq_{0};
  uint64_t synced_seq_ ABSL_GUARDED_BY(sync_mu_) = 0;
  absl::Status sync_error_ ABSL_GUARDED_BY(sync_mu_);
  bool stopping_ ABSL_GUARDED_BY(sync_mu_) = false;
  std::thread sync_thread_;
  std::thread background_thread_;
  std::atomic<int64_t> last_checkpoint_steady_ms_{0};
};

}  // namespace ember::storage

#endif  // EMBER_STORAGE_DB_IMPL_H_
