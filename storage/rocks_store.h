// RocksStore: the door to RocksDB. It owns the database, its fixed column families (series,
// heads, log, meta) and one pair of column families per time partition (chunks-P and
// postings-P), with options tuned per family. Nothing outside rocks_store.cc sees a RocksDB
// type. Thread-safe; a Partition, StoreIterator or StoreBatch is used by one thread at a time,
// and every one must be destroyed before its RocksStore.
#ifndef EMBER_STORAGE_ROCKS_STORE_H_
#define EMBER_STORAGE_ROCKS_STORE_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace rocksdb {
class Cache;
class ColumnFamilyHandle;
class DB;
class Iterator;
class WriteBatch;
}  // namespace rocksdb

namespace ember::storage {

enum class Family { kSeries = 0, kHeads, kLog, kMeta };
enum class PartitionFamily { kChunks = 0, kPostings };

class RocksStore;

// One time partition [start, end): its chunk and postings families. Readers hold a
// shared_ptr, so a partition dropped by retention stays readable until they let go.
class Partition {
 public:
  ~Partition();
  int64_t start() const { return start_; }
  int64_t end() const { return end_; }

 private:
  friend class RocksStore;
  friend class StoreBatch;
  Partition(rocksdb::DB* db, int64_t start, int64_t end) : db_(db), start_(start), end_(end) {}
  rocksdb::ColumnFamilyHandle* handle(PartitionFamily f) const { return handles_[int(f)]; }

  rocksdb::DB* db_;
  int64_t start_;
  int64_t end_;
  rocksdb::ColumnFamilyHandle* handles_[2] = {nullptr, nullptr};
};

class StoreIterator {
 public:
  ~StoreIterator();
  void Seek(std::string_view key);
  void SeekForPrev(std::string_view key);
  void SeekToFirst();
  void SeekToLast();
  bool Valid() const;
  void Next();
  void Prev();
  // Views valid until the iterator moves.
  std::string_view key() const;
  std::string_view value() const;
  absl::Status status() const;

 private:
  friend class RocksStore;
  StoreIterator() = default;
  std::shared_ptr<Partition> partition_;  // Keeps a partition's families alive.
  std::unique_ptr<rocksdb::Iterator> it_;
};

// Writes to any families, applied atomically by RocksStore::Write.
class StoreBatch {
 public:
  explicit StoreBatch(RocksStore* store);
  ~StoreBatch();
  void Put(Family f, std::string_view key, std::string_view value);
  void Delete(Family f, std::string_view key);
  void DeleteRange(Family f, std::string_view begin, std::string_view end);
  void Put(const Partition& p, PartitionFamily f, std::string_view key, std::string_view value);
  void Delete(const Partition& p, PartitionFamily f, std::string_view key);
  size_t ByteSize() const;
  int Count() const;
  void Clear();

 private:
  friend class RocksStore;
  RocksStore* store_;
  std::unique_ptr<rocksdb::WriteBatch> batch_;
};

class RocksStore {
 public:
  struct Config {
    bool create_if_missing = true;
    int64_t partition_duration_ms = 0;
    int64_t block_cache_bytes = 32 << 20;
    // Caps every column family's memtable (0: the per-family sizes in rocks_store.cc).
    int64_t memtable_bytes = 0;
  };

  static absl::StatusOr<std::unique_ptr<RocksStore>> Open(const Config& config,
                                                          const std::string& dir);
  ~RocksStore();
  RocksStore(const RocksStore&) = delete;
  RocksStore& operator=(const RocksStore&) = delete;

  // With `sync`, the write is on stable storage when this returns.
  absl::Status Write(StoreBatch* batch, bool sync);
  // Makes every earlier write durable (RocksDB's WAL fsync).
  absl::Status SyncWal();

  absl::StatusOr<std::optional<std::string>> Get(Family f, std::string_view key);
  // `prefix` > 0: the iterator stays within keys sharing their first `prefix` bytes with the
  // sought key (uses the family's prefix bloom filters where it has them).
  std::unique_ptr<StoreIterator> NewIterator(Family f);
  std::unique_ptr<StoreIterator> NewIterator(std::shared_ptr<Partition> p, PartitionFamily f,
                                             bool same_prefix);

  int64_t PartitionStartFor(int64_t t) const;
  absl::StatusOr<std::shared_ptr<Partition>> GetOrCreatePartition(int64_t start);
  std::shared_ptr<Partition> FindPartition(int64_t start) const;
  // Ascending by start.
  std::vector<std::shared_ptr<Partition>> Partitions() const;
  std::vector<std::shared_ptr<Partition>> PartitionsOverlapping(int64_t mint, int64_t maxt) const;
  absl::Status DropPartition(int64_t start);
  // Live SST bytes plus memtables of the partition's families.
  int64_t PartitionBytes(const Partition& p);

  // Flushes memtables and compacts every family to its bottommost level.
  absl::Status CompactAll();
  // Called after a checkpoint deleted the log below `log_end` (a log key). Flushes every
  // family's memtable, so RocksDB deletes the WAL files that held them, then compacts the log
  // family up to `log_end`, so the deleted records leave the disk instead of waiting in SSTs
  // behind their range tombstone. Safe alongside writes.
  absl::Status ReleaseLog(std::string_view log_end);
  // RocksDB compactions completed since Open.
  int64_t compactions_completed() const { return compactions_->load(std::memory_order_relaxed); }

 private:
  friend class StoreBatch;
  RocksStore() = default;
  rocksdb::ColumnFamilyHandle* handle(Family f) const { return fixed_[int(f)]; }

  std::string dir_;
  Config config_;
  std::shared_ptr<rocksdb::Cache> cache_;
  std::shared_ptr<std::atomic<int64_t>> compactions_;  // Shared with the event listener.
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::ColumnFamilyHandle* fixed_[4] = {nullptr, nullptr, nullptr, nullptr};
  rocksdb::ColumnFamilyHandle* default_ = nullptr;
  mutable absl::Mutex mu_;
  std::map<int64_t, std::shared_ptr<Partition>> partitions_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ember::storage

#endif  // EMBER_STORAGE_ROCKS_STORE_H_
