#include "storage/rocks_store.h"

#include <algorithm>
#include <charconv>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/listener.h"
#include "rocksdb/options.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"
#include "storage/rocks_status.h"

namespace ember::storage {
namespace {

// Counts completed compactions for DbStats (ember_rocksdb_compactions_total).
class CompactionCounter : public rocksdb::EventListener {
 public:
  explicit CompactionCounter(std::shared_ptr<std::atomic<int64_t>> n) : n_(std::move(n)) {}
  void OnCompactionCompleted(rocksdb::DB*, const rocksdb::CompactionJobInfo&) override {
    n_->fetch_add(1, std::memory_order_relaxed);
  }

 private:
  std::shared_ptr<std::atomic<int64_t>> n_;
};

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

constexpr const char* kFixedNames[] = {"series", "heads", "log", "meta"};
constexpr std::string_view kChunksPrefix = "chunks-";
constexpr std::string_view kPostingsPrefix = "postings-";

rocksdb::BlockBasedTableOptions TableOptions(const std::shared_ptr<rocksdb::Cache>& cache,
                                             size_t block_size) {
  rocksdb::BlockBasedTableOptions t;
  t.block_cache = cache;
  t.block_size = block_size;
  t.cache_index_and_filter_blocks = true;
  t.pin_l0_filter_and_index_blocks_in_cache = true;
  t.format_version = 5;
  return t;
}

// Chunks are written once and read by series: a prefix bloom on the series ref lets a seek
// skip files without the series, and big blocks let zstd see the byte streams of a target's
// neighbouring series (identical timestamps, similar values). Young levels use LZ4 to keep
// flushes cheap; the bottommost level, where nearly all bytes end up, uses zstd.
rocksdb::ColumnFamilyOptions ChunkFamilyOptions(const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions o;
  o.write_buffer_size = 16 << 20;
  o.compression = rocksdb::kLZ4Compression;
  o.bottommost_compression = rocksdb::kZSTD;
  o.bottommost_compression_opts.enabled = true;
  o.bottommost_compression_opts.level = 3;
  o.level_compaction_dynamic_level_bytes = true;
  o.prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(8));
  rocksdb::BlockBasedTableOptions t = TableOptions(cache, 64 << 10);
  t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  t.whole_key_filtering = false;
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  return o;
}

// Series, postings, heads and meta: small next to the chunks and written a little at a time, so
// zstd at every level costs little CPU; with LZ4 in the young levels a live server's index
// took 2-5x its compacted size until compactions reached the bottommost level.
rocksdb::ColumnFamilyOptions IndexFamilyOptions(const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions o;
  o.write_buffer_size = 8 << 20;
  o.compression = rocksdb::kZSTD;
  o.bottommost_compression = rocksdb::kZSTD;
  o.level_compaction_dynamic_level_bytes = true;
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(TableOptions(cache, 16 << 10)));
  return o;
}

// The head log is written and deleted soon after: no compression. Its memtable holds the
// records until a flush (a checkpoint's DeleteRange does not free it; the flush after a
// background checkpoint, ReleaseLog, does), so it is kept at 16 MiB:
// 64 MiB spared a few flushed records but cost ~20 MB of RSS under remote-write load
// (docs/performance.md, "Side by side with Prometheus").
rocksdb::ColumnFamilyOptions LogFamilyOptions(const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions o;
  o.write_buffer_size = 16 << 20;
  o.compression = rocksdb::kNoCompression;
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(TableOptions(cache, 16 << 10)));
  return o;
}

rocksdb::ColumnFamilyOptions FamilyOptionsFor(std::string_view name,
                                              const std::shared_ptr<rocksdb::Cache>& cache,
                                              int64_t memtable_bytes) {
  rocksdb::ColumnFamilyOptions o;
  if (name.substr(0, kChunksPrefix.size()) == kChunksPrefix) {
    o = ChunkFamilyOptions(cache);
  } else if (name == "log") {
    o = LogFamilyOptions(cache);
  } else {
    o = IndexFamilyOptions(cache);
  }
  // The low-memory profile (RocksStore::Config::memtable_bytes).
  if (memtable_bytes > 0) {
    o.write_buffer_size = std::min<size_t>(o.write_buffer_size, memtable_bytes);
  }
  return o;
}

std::string PartitionFamilyName(PartitionFamily f, int64_t start) {
  return absl::StrCat(f == PartitionFamily::kChunks ? "chunks-" : "postings-", start);
}

// "chunks-1700000000000" -> (kChunks, 1700000000000); false for other names.
bool ParsePartitionFamilyName(std::string_view name, PartitionFamily* f, int64_t* start) {
  std::string_view digits;
  if (name.substr(0, kChunksPrefix.size()) == kChunksPrefix) {
    *f = PartitionFamily::kChunks;
    digits = name.substr(kChunksPrefix.size());
  } else if (name.substr(0, kPostingsPrefix.size()) == kPostingsPrefix) {
    *f = PartitionFamily::kPostings;
    digits = name.substr(kPostingsPrefix.size());
  } else {
    return false;
  }
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), *start);
  return ec == std::errc() && ptr == digits.data() + digits.size();
}

}  // namespace

Partition::~Partition() {
  for (rocksdb::ColumnFamilyHandle* h : handles_) {
    if (h != nullptr) db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  }
}

StoreIterator::~StoreIterator() {
  it_.reset();  // Before partition_, whose families it reads.
}
void StoreIterator::Seek(std::string_view key) { it_->Seek(ToSlice(key)); }
void StoreIterator::SeekForPrev(std::string_view key) { it_->SeekForPrev(ToSlice(key)); }
void StoreIterator::SeekToFirst() { it_->SeekToFirst(); }
void StoreIterator::SeekToLast() { it_->SeekToLast(); }
bool StoreIterator::Valid() const { return it_->Valid(); }
void StoreIterator::Next() { it_->Next(); }
void StoreIterator::Prev() { it_->Prev(); }
std::string_view StoreIterator::key() const {
  rocksdb::Slice s = it_->key();
  return std::string_view(s.data(), s.size());
}
std::string_view StoreIterator::value() const {
  rocksdb::Slice s = it_->value();
  return std::string_view(s.data(), s.size());
}
absl::Status StoreIterator::status() const { return FromRocks(it_->status(), "iterator"); }

StoreBatch::StoreBatch(RocksStore* store)
    : store_(store), batch_(std::make_unique<rocksdb::WriteBatch>()) {}
StoreBatch::~StoreBatch() = default;

// WriteBatch only fails these for a closed family or a size over 4 GiB; Write() reports those.
void StoreBatch::Put(Family f, std::string_view key, std::string_view value) {
  batch_->Put(store_->handle(f), ToSlice(key), ToSlice(value)).PermitUncheckedError();
}
void StoreBatch::Delete(Family f, std::string_view key) {
  batch_->Delete(store_->handle(f), ToSlice(key)).PermitUncheckedError();
}
void StoreBatch::DeleteRange(Family f, std::string_view begin, std::string_view end) {
  batch_->DeleteRange(store_->handle(f), ToSlice(begin), ToSlice(end)).PermitUncheckedError();
}
void StoreBatch::Put(const Partition& p, PartitionFamily f, std::string_view key,
                     std::string_view value) {
  batch_->Put(p.handle(f), ToSlice(key), ToSlice(value)).PermitUncheckedError();
}
void StoreBatch::Delete(const Partition& p, PartitionFamily f, std::string_view key) {
  batch_->Delete(p.handle(f), ToSlice(key)).PermitUncheckedError();
}
size_t StoreBatch::ByteSize() const { return batch_->GetDataSize(); }
int StoreBatch::Count() const { return batch_->Count(); }
void StoreBatch::Clear() { batch_->Clear(); }

absl::StatusOr<std::unique_ptr<RocksStore>> RocksStore::Open(const Config& config,
                                                             const std::string& dir) {
  if (config.partition_duration_ms <= 0) {
    return absl::InvalidArgumentError("partition_duration_ms must be positive");
  }
  std::unique_ptr<RocksStore> store(new RocksStore());
  store->dir_ = dir;
  store->config_ = config;
  store->cache_ = rocksdb::NewLRUCache(
      static_cast<size_t>(std::max<int64_t>(config.block_cache_bytes, 1 << 20)));

  std::error_code ec;
  const bool exists = std::filesystem::exists(std::filesystem::path(dir) / "CURRENT", ec);
  if (!exists && !config.create_if_missing) {
    return absl::NotFoundError(
        absl::StrCat(dir, ": no Ember database here (create_if_missing is false)"));
  }

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  db_options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  db_options.keep_log_file_num = 2;
  db_options.max_total_wal_size = 256 << 20;
  db_options.db_write_buffer_size = 128 << 20;
  if (config.memtable_bytes > 0) {
    db_options.db_write_buffer_size =
        std::min<size_t>(db_options.db_write_buffer_size, 8 * config.memtable_bytes);
  }
  db_options.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  store->compactions_ = std::make_shared<std::atomic<int64_t>>(0);
  db_options.listeners.push_back(std::make_shared<CompactionCounter>(store->compactions_));

  std::vector<std::string> names;
  if (exists) {
    rocksdb::Status s = rocksdb::DB::ListColumnFamilies(db_options, dir, &names);
    if (!s.ok()) return FromRocks(s, absl::StrCat(dir, ": list column families"));
  }
  for (const char* fixed : kFixedNames) {
    if (std::find(names.begin(), names.end(), fixed) == names.end()) names.push_back(fixed);
  }
  if (std::find(names.begin(), names.end(), rocksdb::kDefaultColumnFamilyName) == names.end()) {
    names.push_back(rocksdb::kDefaultColumnFamilyName);
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& name : names) {
    descriptors.emplace_back(name, FamilyOptionsFor(name, store->cache_, config.memtable_bytes));
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_options, dir, descriptors, &handles, &raw);
  if (!s.ok()) return FromRocks(s, absl::StrCat(dir, ": open"));
  store->db_.reset(raw);

  absl::MutexLock lock(&store->mu_);
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string& name = names[i];
    bool placed = false;
    for (int f = 0; f < 4; ++f) {
      if (name == kFixedNames[f]) {
        store->fixed_[f] = handles[i];
        placed = true;
      }
    }
    if (placed) continue;
    if (name == rocksdb::kDefaultColumnFamilyName) {
      store->default_ = handles[i];
      continue;
    }
    PartitionFamily pf;
    int64_t start;
    if (!ParsePartitionFamilyName(name, &pf, &start)) {
      store->db_->DestroyColumnFamilyHandle(handles[i]).PermitUncheckedError();
      continue;  // A family from a newer version; left alone.
    }
    std::shared_ptr<Partition>& p = store->partitions_[start];
    if (!p) {
      p.reset(new Partition(store->db_.get(), start, start + config.partition_duration_ms));
    }
    p->handles_[int(pf)] = handles[i];
  }
  // A crash between creating a partition's two families leaves one: create its twin.
  for (auto& [start, p] : store->partitions_) {
    for (int f = 0; f < 2; ++f) {
      if (p->handles_[f] != nullptr) continue;
      const std::string name = PartitionFamilyName(PartitionFamily(f), start);
      s = store->db_->CreateColumnFamily(
          FamilyOptionsFor(name, store->cache_, config.memtable_bytes), name, &p->handles_[f]);
      if (!s.ok()) return FromRocks(s, absl::StrCat(dir, ": create ", name));
    }
  }
  return store;
}

RocksStore::~RocksStore() {
  if (!db_) return;
  {
    absl::MutexLock lock(&mu_);
    partitions_.clear();  // Each Partition releases its handles (see the class comment).
  }
  // RocksDB wants every column family handle released before its DB is deleted.
  for (rocksdb::ColumnFamilyHandle* h : fixed_) {
    if (h != nullptr) db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  }
  if (default_ != nullptr) db_->DestroyColumnFamilyHandle(default_).PermitUncheckedError();
  db_->Close().PermitUncheckedError();
}

absl::Status RocksStore::Write(StoreBatch* batch, bool sync) {
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  return FromRocks(db_->Write(wo, batch->batch_.get()), absl::StrCat(dir_, ": write"));
}

absl::Status RocksStore::SyncWal() {
  return FromRocks(db_->SyncWAL(), absl::StrCat(dir_, ": sync WAL"));
}

absl::StatusOr<std::optional<std::string>> RocksStore::Get(Family f, std::string_view key) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), handle(f), ToSlice(key), &value);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) return FromRocks(s, absl::StrCat(dir_, ": get ", kFixedNames[int(f)]));
  return value;
}

std::unique_ptr<StoreIterator> RocksStore::NewIterator(Family f) {
  std::unique_ptr<StoreIterator> it(new StoreIterator());
  rocksdb::ReadOptions ro;
  ro.total_order_seek = true;
  it->it_.reset(db_->NewIterator(ro, handle(f)));
  return it;
}

std::unique_ptr<StoreIterator> RocksStore::NewIterator(std::shared_ptr<Partition> p,
                                                       PartitionFamily f, bool same_prefix) {
  std::unique_ptr<StoreIterator> it(new StoreIterator());
  rocksdb::ReadOptions ro;
  if (same_prefix && f == PartitionFamily::kChunks) {
    ro.prefix_same_as_start = true;
  } else {
    ro.total_order_seek = true;
  }
  it->it_.reset(db_->NewIterator(ro, p->handle(f)));
  it->partition_ = std::move(p);
  return it;
}

int64_t RocksStore::PartitionStartFor(int64_t t) const {
  const int64_t d = config_.partition_duration_ms;
  int64_t q = t / d;
  if (t % d != 0 && t < 0) --q;
  return q * d;
}

absl::StatusOr<std::shared_ptr<Partition>> RocksStore::GetOrCreatePartition(int64_t start) {
  absl::MutexLock lock(&mu_);
  auto it = partitions_.find(start);
  if (it != partitions_.end()) return it->second;
  std::shared_ptr<Partition> p(
      new Partition(db_.get(), start, start + config_.partition_duration_ms));
  for (int f = 0; f < 2; ++f) {
    const std::string name = PartitionFamilyName(PartitionFamily(f), start);
    rocksdb::Status s = db_->CreateColumnFamily(
        FamilyOptionsFor(name, cache_, config_.memtable_bytes), name, &p->handles_[f]);
    if (!s.ok()) return FromRocks(s, absl::StrCat(dir_, ": create ", name));
  }
  partitions_[start] = p;
  return p;
}

std::shared_ptr<Partition> RocksStore::FindPartition(int64_t start) const {
  absl::MutexLock lock(&mu_);
  auto it = partitions_.find(start);
  return it == partitions_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<Partition>> RocksStore::Partitions() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::shared_ptr<Partition>> out;
  for (const auto& [start, p] : partitions_) out.push_back(p);
  return out;
}

std::vector<std::shared_ptr<Partition>> RocksStore::PartitionsOverlapping(int64_t mint,
                                                                          int64_t maxt) const {
  absl::MutexLock lock(&mu_);
  std::vector<std::shared_ptr<Partition>> out;
  for (const auto& [start, p] : partitions_) {
    if (p->start() <= maxt && p->end() > mint) out.push_back(p);
  }
  return out;
}

absl::Status RocksStore::DropPartition(int64_t start) {
  std::shared_ptr<Partition> p;
  {
    absl::MutexLock lock(&mu_);
    auto it = partitions_.find(start);
    if (it == partitions_.end()) return absl::OkStatus();
    p = it->second;
    partitions_.erase(it);
  }
  for (int f = 0; f < 2; ++f) {
    rocksdb::Status s = db_->DropColumnFamily(p->handles_[f]);
    if (!s.ok()) {
      return FromRocks(
          s, absl::StrCat(dir_, ": drop ", PartitionFamilyName(PartitionFamily(f), start)));
    }
  }
  return absl::OkStatus();
}

int64_t RocksStore::PartitionBytes(const Partition& p) {
  int64_t total = 0;
  for (int f = 0; f < 2; ++f) {
    uint64_t v = 0;
    if (db_->GetIntProperty(p.handles_[f], "rocksdb.live-sst-files-size", &v)) total += v;
    if (db_->GetIntProperty(p.handles_[f], "rocksdb.cur-size-all-mem-tables", &v)) total += v;
  }
  return total;
}

absl::Status RocksStore::CompactAll() {
  std::vector<rocksdb::ColumnFamilyHandle*> all(std::begin(fixed_), std::end(fixed_));
  std::vector<std::shared_ptr<Partition>> parts = Partitions();
  for (const auto& p : parts) {
    all.push_back(p->handles_[0]);
    all.push_back(p->handles_[1]);
  }
  rocksdb::FlushOptions fo;
  rocksdb::Status s = db_->Flush(fo, all);
  if (!s.ok()) return FromRocks(s, absl::StrCat(dir_, ": flush"));
  rocksdb::CompactRangeOptions co;
  co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  for (rocksdb::ColumnFamilyHandle* h : all) {
    s = db_->CompactRange(co, h, nullptr, nullptr);
    if (!s.ok()) return FromRocks(s, absl::StrCat(dir_, ": compact ", h->GetName()));
  }
  return FromRocks(db_->FlushWAL(true), absl::StrCat(dir_, ": sync WAL"));
}

absl::Status RocksStore::ReleaseLog(std::string_view log_end) {
  std::vector<rocksdb::ColumnFamilyHandle*> all(std::begin(fixed_), std::end(fixed_));
  for (const auto& p : Partitions()) {
    all.push_back(p->handles_[0]);
    all.push_back(p->handles_[1]);
  }
  // One flush of all families: a WAL file is deleted only once no memtable needs it, and the
  // small families (meta, heads, series) would otherwise keep every WAL alive until
  // max_total_wal_size forces them out.
  rocksdb::FlushOptions fo;
  fo.allow_write_stall = true;
  rocksdb::Status s = db_->Flush(fo, all);
  if (!s.ok()) return FromRocks(s, absl::StrCat(dir_, ": flush"));
  // The flushed log SSTs hold the deleted records and the tombstone that hides them; nothing
  // compacts them until more files pile up. Compacting the range drops both.
  const rocksdb::Slice end = ToSlice(log_end);
  rocksdb::CompactRangeOptions co;
  co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  s = db_->CompactRange(co, handle(Family::kLog), nullptr, &end);
  return FromRocks(s, absl::StrCat(dir_, ": compact log"));
}

}  // namespace ember::storage
