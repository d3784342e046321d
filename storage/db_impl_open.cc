// Opening and closing: option checks, recovery of the head from the last checkpoint plus the
// log after it, and the background threads (group commit, checkpoints, retention).
#include <chrono>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "storage/chunk.h"
#include "storage/db_impl.h"
#include "storage/keys.h"
#include "util/status_macros.h"

namespace ember {

absl::StatusOr<std::unique_ptr<Db>> Db::Open(const Options& options, const std::string& dir) {
  EMBER_ASSIGN_OR_RETURN(std::unique_ptr<storage::DbImpl> db,
                         storage::DbImpl::OpenImpl(options, dir));
  return std::unique_ptr<Db>(std::move(db));
}

namespace storage {
namespace {

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

absl::Status ValidateOptions(const Options& o) {
  auto bad = [](std::string_view what) {
    return absl::InvalidArgumentError(
        absl::StrCat("options: ", absl::string_view(what.data(), what.size())));
  };
  if (o.chunk_range_ms <= 0) return bad("chunk_range_ms must be positive");
  if (o.partition_duration_ms <= 0 || o.partition_duration_ms % o.chunk_range_ms != 0) {
    return bad(
        absl::StrFormat("partition_duration_ms=%d must be a positive multiple of "
                        "chunk_range_ms=%d",
                        o.partition_duration_ms, o.chunk_range_ms));
  }
  if (o.out_of_order_window_ms < 0) return bad("out_of_order_window_ms must not be negative");
  if (o.retention_ms < 0 || o.retention_bytes < 0) return bad("retention must not be negative");
  if (o.max_future_ms < 0) return bad("max_future_ms must not be negative");
  if (o.sync_policy == SyncPolicy::kGroupCommit && o.group_commit_interval_ms <= 0) {
    return bad("group_commit_interval_ms must be positive with SyncPolicy::kGroupCommit");
  }
  if (o.background_interval_ms < 0) return bad("background_interval_ms must not be negative");
  return absl::OkStatus();
}

}  // namespace

DbImpl::DbImpl(const Options& options, std::string dir) : options_(options), dir_(std::move(dir)) {}

int64_t DbImpl::Now() const {
  if (options_.clock) return options_.clock();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

absl::StatusOr<std::unique_ptr<DbImpl>> DbImpl::OpenImpl(const Options& options,
                                                         const std::string& dir) {
  EMBER_RETURN_IF_ERROR(ValidateOptions(options));
  std::error_code ec;
  if (options.create_if_missing) {
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      return absl::FailedPreconditionError(
          absl::StrCat(dir, ": cannot create data directory: ", ec.message()));
    }
  }
  std::unique_ptr<DbImpl> db(new DbImpl(options, dir));
  RocksStore::Config config;
  config.create_if_missing = options.create_if_missing;
  config.partition_duration_ms = options.partition_duration_ms;
  config.block_cache_bytes = options.block_cache_bytes;
  config.memtable_bytes = options.memtable_bytes;
  EMBER_ASSIGN_OR_RETURN(db->store_, RocksStore::Open(config, dir));
  {
    absl::MutexLock lock(&db->mu_);
    if (absl::Status s = db->Recover(); !s.ok()) {
      // Never checkpoint a half-recovered head over the log: close without writing.
      db->closed_ = true;
      return s;
    }
  }
  db->last_checkpoint_steady_ms_ = SteadyMs();
  db->StartBackground();
  return db;
}

absl::Status DbImpl::Recover() {
  // Dense refs: the next one follows the highest persisted.
  {
    std::unique_ptr<StoreIterator> it = store_->NewIterator(Family::kSeries);
    it->SeekForPrev(SeriesKey(UINT64_MAX));
    if (it->Valid() && it->key().size() == 9 && it->key()[0] == 'r') {
      next_ref_ = DecodeFixed64BE(it->key().data() + 1) + 1;
    }
    EMBER_RETURN_IF_ERROR(it->status());
  }
  // Samples per partition as of the checkpoint; ReplayLog adds the log's.
  for (const auto& p : store_->Partitions()) {
    EMBER_ASSIGN_OR_RETURN(std::optional<std::string> n,
                           store_->Get(Family::kMeta, PartitionSamplesKey(p->start())));
    uint64_t count = 0;
    std::string_view v = n ? std::string_view(*n) : std::string_view();
    if (n && !GetVarint64(&v, &count)) {
      return absl::DataLossError(
          absl::StrCat(dir_, ": bad sample count of partition ", p->start()));
    }
    partition_samples_[p->start()] = static_cast<int64_t>(count);
  }
  // The head as of the checkpoint: one record per series with an open chunk. Series labels
  // come from the series family, read in the same ref order.
  std::unique_ptr<StoreIterator> heads = store_->NewIterator(Family::kHeads);
  std::unique_ptr<StoreIterator> series = store_->NewIterator(Family::kSeries);
  series->Seek("r");
  for (heads->SeekToFirst(); heads->Valid(); heads->Next()) {
    if (heads->key().size() != 8) return absl::DataLossError(absl::StrCat(dir_, ": bad head key"));
    const uint64_t ref = DecodeFixed64BE(heads->key().data());
    const std::string want = SeriesKey(ref);
    // Heads and series keys come in the same ref order: step, and seek only over a gap.
    for (int step = 0; series->Valid() && series->key() < want; ++step) {
      if (step == 4) {
        series->Seek(want);
        break;
      }
      series->Next();
    }
    if (!series->Valid() || series->key() != want) {
      EMBER_RETURN_IF_ERROR(series->status());
      return absl::DataLossError(
          absl::StrFormat("%s: head refers to unknown series %d", dir_, ref));
    }
    HeadRecord rec;
    EMBER_RETURN_IF_ERROR(Annotate(DecodeHeadRecord(heads->value(), &rec),
                                   absl::StrFormat("%s: head of series %d", dir_, ref)));
    EMBER_ASSIGN_OR_RETURN(MemSeries * s, AddToHead(ref, std::string(series->value()), false));
    s->last_t = rec.last_t;
    s->indexed_partition = rec.indexed_partition;
    if (!rec.chunk.empty()) {
      EMBER_ASSIGN_OR_RETURN(s->chunk, HeadChunk::Restore(rec.chunk));
    }
    max_time_ = std::max(max_time_, s->last_t);
  }
  EMBER_RETURN_IF_ERROR(heads->status());
  return ReplayLog();
}

// Re-executes every batch logged after the checkpoint, in order, on the checkpointed head.
// The store already holds each batch's effects (a batch is one atomic write), so replay
// reproduces the same head, and the chunk writes it makes are the ones already there. A sample
// replay finds on disk, or beyond the out-of-order window of what is on disk, was stored by a
// later batch's cut: it counts as a duplicate, not a rejection.
absl::Status DbImpl::ReplayLog() {
  EMBER_ASSIGN_OR_RETURN(std::optional<std::string> cp,
                         store_->Get(Family::kMeta, kCheckpointSeqKey));
  uint64_t checkpoint_seq = 0;
  if (cp) {
    if (cp->size() != 8) return absl::DataLossError(absl::StrCat(dir_, ": bad checkpoint_seq"));
    checkpoint_seq = DecodeFixed64BE(cp->data());
  }
  last_seq_ = checkpoint_seq;
  std::unique_ptr<StoreIterator> it = store_->NewIterator(Family::kLog);
  std::vector<LogSample> samples;
  int replayed = 0;
  for (it->Seek(RefKey(checkpoint_seq + 1)); it->Valid(); it->Next()) {
    if (it->key().size() != 8) return absl::DataLossError(absl::StrCat(dir_, ": bad log key"));
    const uint64_t seq = DecodeFixed64BE(it->key().data());
    samples.clear();
    EMBER_RETURN_IF_ERROR(Annotate(DecodeLogRecord(it->value(), &samples),
                                   absl::StrFormat("%s: log record %d", dir_, seq)));
    WriteContext ctx(store_.get());
    ctx.replay = true;
    EMBER_RETURN_IF_ERROR(ApplyLogged(samples, &ctx));
    EMBER_RETURN_IF_ERROR(FlushChunks(&ctx));
    if (ctx.batch.Count() > 0) EMBER_RETURN_IF_ERROR(store_->Write(&ctx.batch, false));
    log_bytes_ += static_cast<int64_t>(it->value().size());
    last_seq_ = seq;
    ++replayed;
  }
  EMBER_RETURN_IF_ERROR(it->status());
  written_seq_ = last_seq_;
  {
    absl::MutexLock lock(&sync_mu_);
    synced_seq_ = last_seq_;
  }
  // Fold the replayed log into a checkpoint, so crash loops never grow it.
  if (replayed > 0) EMBER_RETURN_IF_ERROR(CheckpointLocked(/*evict_all=*/false));
  return absl::OkStatus();
}

void DbImpl::StartBackground() {
  if (options_.sync_policy == SyncPolicy::kGroupCommit) {
    sync_thread_ = std::thread([this] { SyncLoop(); });
  }
  if (options_.background_interval_ms > 0) {
    background_thread_ = std::thread([this] { BackgroundLoop(); });
  }
}

void DbImpl::StopBackground() {
  {
    absl::MutexLock lock(&sync_mu_);
    stopping_ = true;
    sync_cv_.SignalAll();
  }
  if (sync_thread_.joinable()) sync_thread_.join();
  if (background_thread_.joinable()) background_thread_.join();
}

// Group commit: an fsync starts as soon as a committer waits, but at most one per
// group_commit_interval_ms; every commit written before it starts shares it.
void DbImpl::SyncLoop() {
  absl::MutexLock lock(&sync_mu_);
  const absl::Duration interval = absl::Milliseconds(options_.group_commit_interval_ms);
  absl::Time next_allowed = absl::InfinitePast();
  while (true) {
    const bool stop = stopping_;
    const uint64_t target = written_seq_.load(std::memory_order_acquire);
    const bool pending = target > synced_seq_;
    if (pending && (stop || absl::Now() >= next_allowed)) {
      next_allowed = absl::Now() + interval;
      sync_mu_.Unlock();
      absl::Status s = store_->SyncWal();
      sync_mu_.Lock();
      if (s.ok()) {
        synced_seq_ = std::max(synced_seq_, target);
      } else {
        sync_error_ = s;
      }
      sync_cv_.SignalAll();
      continue;
    }
    if (stop) return;
    // Every committer signals sync_cv_ when it starts waiting, so an idle loop sleeps until
    // one does (no wake-ups while nothing is written); a pending batch waits for the interval
    // to pass since the last fsync began.
    if (pending) {
      sync_cv_.WaitWithDeadline(&sync_mu_, next_allowed);
    } else {
      sync_cv_.Wait(&sync_mu_);
    }
  }
}

void DbImpl::BackgroundLoop() {
  absl::MutexLock lock(&sync_mu_);
  const absl::Duration interval = absl::Milliseconds(options_.background_interval_ms);
  absl::Time next = absl::Now() + interval;
  while (!stopping_) {
    // sync_cv_ also wakes on every group commit: run only when the interval has passed.
    sync_cv_.WaitWithDeadline(&sync_mu_, next);
    if (stopping_) return;
    if (absl::Now() < next) continue;
    next = absl::Now() + interval;
    sync_mu_.Unlock();
    bool due;
    {
      absl::MutexLock l(&mu_);
      due = log_bytes_ >= options_.checkpoint_log_bytes ||
            (log_bytes_ > 0 &&
             SteadyMs() - last_checkpoint_steady_ms_ >= options_.checkpoint_interval_ms);
    }
    // Errors surface through fatal_ and the next call of the same kind; nothing to add here.
    if (due) CheckpointAndReleaseLog().IgnoreError();
    ApplyRetention().IgnoreError();
    sync_mu_.Lock();
  }
}

absl::Status DbImpl::Close() {
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return absl::FailedPreconditionError(absl::StrCat(dir_, ": already closed"));
  }
  StopBackground();
  absl::Status s;
  std::string log_end;
  {
    absl::MutexLock lock(&mu_);
    if (fatal_.ok()) s = CheckpointLocked(/*evict_all=*/false);
    log_end = RefKey(last_seq_ + 1);
    closed_ = true;
  }
  // A clean close leaves no WAL and no log behind: reopen reads SSTs only.
  if (s.ok()) s = store_->ReleaseLog(log_end);
  if (s.ok()) s = store_->SyncWal();
  return s;
}

DbImpl::~DbImpl() {
  if (!store_) return;  // Open failed before the store was there.
  bool closed;
  {
    absl::MutexLock lock(&mu_);
    closed = closed_;
  }
  if (!closed) Close().IgnoreError();
  store_.reset();
}

}  // namespace storage
}  // namespace ember
