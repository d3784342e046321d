// Options for opening an Ember database. Defaults suit a server; an edge device mostly lowers
// retention_ms and sets retention_bytes.
#ifndef EMBER_OPTIONS_H_
#define EMBER_OPTIONS_H_

#include <cstdint>
#include <functional>

namespace ember {

enum class SyncPolicy {
  // fsync the log before every Commit() returns (concurrent commits share an fsync).
  kSyncEachCommit,
  // Commit() returns once a background fsync covers it. The fsync starts as soon as a commit
  // waits, but at most one per group_commit_interval_ms: commits in between share it.
  kGroupCommit,
  // Commit() returns after the write reaches the OS: safe against kill -9, not power loss.
  kNoSync,
};

struct Options {
  // Create the directory and an empty database when `dir` holds none.
  bool create_if_missing = true;

  SyncPolicy sync_policy = SyncPolicy::kGroupCommit;
  int64_t group_commit_interval_ms = 2;

  // Samples older than the series' newest sample are accepted when within this window and
  // merged into their chunk; older ones are rejected. 0 rejects every out-of-order sample,
  // as Prometheus does by default.
  int64_t out_of_order_window_ms = 0;

  // Partitions wholly older than now - retention_ms are dropped; 0 keeps everything.
  int64_t retention_ms = 15LL * 24 * 3600 * 1000;
  // When the data directory grows past this, the oldest partitions are dropped; 0: no limit.
  int64_t retention_bytes = 0;
  // Samples later than now + max_future_ms are rejected, so one bad clock cannot make
  // retention delete everything before it.
  int64_t max_future_ms = 3600LL * 1000;

  // Time partition: the unit of retention; one pair of column families each. Must be a
  // multiple of chunk_range_ms.
  int64_t partition_duration_ms = 24LL * 3600 * 1000;
  // Chunks never span an aligned window of this length (and hold at most 120 samples).
  int64_t chunk_range_ms = 2LL * 3600 * 1000;

  // The head is checkpointed when its log passes this size or this age, bounding reopen time.
  int64_t checkpoint_log_bytes = 64LL << 20;
  int64_t checkpoint_interval_ms = 5LL * 60 * 1000;
  // A series with no sample for this long is sealed and leaves the head's memory.
  int64_t head_idle_ms = 3600LL * 1000;

  // How often background work (group commit aside) checks retention and checkpoints.
  // 0 turns background work off: tests then call Db::Checkpoint() and Db::ApplyRetention().
  int64_t background_interval_ms = 10LL * 1000;

  // RocksDB block cache for chunks and index, shared by all column families.
  int64_t block_cache_bytes = 32LL << 20;
  // When positive, caps each RocksDB memtable (one per column family: a partition's chunks
  // and postings, the head log, the index). Smaller memtables use less memory under ingest
  // and flush and compact more often. 0 keeps the defaults (16 MiB for chunks and the log,
  // 8 MiB for the rest); `ember serve --storage.low-memory` uses 4 MiB (docs/edge.md).
  int64_t memtable_bytes = 0;

  // Wall clock in milliseconds; tests inject their own. Null means the system clock.
  std::function<int64_t()> clock;
};

}  // namespace ember

#endif  // EMBER_OPTIONS_H_
