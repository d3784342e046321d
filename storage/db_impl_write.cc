// The write path: the appender queues samples; Commit applies them to the head under mu_,
// writes one atomic batch (log record, new series, postings, sealed chunks) and waits until it
// is durable per the sync policy. Out-of-order policy: docs/storage.md.
#include <algorithm>
#include <bit>
#include <deque>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "storage/chunk.h"
#include "storage/db_impl.h"
#include "storage/keys.h"
#include "storage/label_codec.h"
#include "util/status_macros.h"

namespace ember::storage {
namespace {

class DbAppender final : public Appender {
 public:
  explicit DbAppender(DbImpl* db) : db_(db) {}

  absl::Status Append(const Labels& labels, int64_t t, double v) override {
    EMBER_RETURN_IF_ERROR(db_->CheckWritable(t));
    const Labels* ls = &labels;
    Labels sorted;
    if (!IsCanonical(labels)) {
      sorted = labels;
      CanonicalizeLabels(&sorted);
      ls = &sorted;
    }
    // The codec REQUIRES valid labels, but only a series new to this batch needs checking:
    // validate before encoding, then look the bytes up.
    std::string bytes = EncodeLabels(*ls);
    auto it = index_.find(std::string_view(bytes));
    uint32_t idx;
    if (it != index_.end()) {
      idx = it->second;
    } else {
      EMBER_RETURN_IF_ERROR(ValidateLabels(*ls));
      idx = static_cast<uint32_t>(series_.size());
      series_.push_back(std::move(bytes));
      index_.emplace(std::string_view(series_.back()), idx);
    }
    samples_.push_back(PendingSample{idx, t, v});
    return absl::OkStatus();
  }

  absl::StatusOr<CommitResult> Commit() override {
    absl::StatusOr<CommitResult> r = CommitResult{};
    if (!samples_.empty()) {
      std::vector<const std::string*> series;
      series.reserve(series_.size());
      for (const std::string& s : series_) series.push_back(&s);
      r = db_->Commit(series, samples_);
    }
    Rollback();
    return r;
  }

  void Rollback() override {
    samples_.clear();
    index_.clear();
    series_.clear();
  }

  size_t pending() const override { return samples_.size(); }

 private:
  // Sorted by name, no duplicate or empty name, no empty value: the common case needs no copy.
  static bool IsCanonical(const Labels& ls) {
    for (size_t i = 0; i < ls.size(); ++i) {
      if (ls[i].value.empty()) return false;
      if (i > 0 && !(ls[i - 1].name < ls[i].name)) return false;
    }
    return true;
  }

  DbImpl* db_;
  // Distinct series of the batch as canonical label bytes; a deque keeps their addresses.
  std::deque<std::string> series_;
  absl::flat_hash_map<std::string_view, uint32_t> index_;
  std::vector<PendingSample> samples_;
};

// Inserts `s` into time-sorted `samples`. Returns false (and changes nothing) when a sample
// with the same timestamp exists; `*same` then says whether its value bits are equal.
bool InsertSorted(std::vector<Sample>* samples, Sample s, bool* same) {
  auto it = std::lower_bound(samples->begin(), samples->end(), s.t,
                             [](const Sample& a, int64_t t) { return a.t < t; });
  if (it != samples->end() && it->t == s.t) {
    *same = SameSample(*it, s);
    return false;
  }
  samples->insert(it, s);
  return true;
}

absl::Status DuplicateError(const std::string& labels, int64_t t) {
  Labels ls;
  DecodeLabels(labels, &ls).IgnoreError();
  return absl::AlreadyExistsError(
      absl::StrFormat("series %s: duplicate sample for timestamp t=%d with a different value",
                      LabelsToString(ls), t));
}

}  // namespace

std::unique_ptr<Appender> DbImpl::NewAppender() { return std::make_unique<DbAppender>(this); }

absl::Status DbImpl::CheckWritable(int64_t t) const {
  const int64_t now = Now();
  if (t < 0) {
    return absl::OutOfRangeError(
        absl::StrFormat("sample t=%d is before 1970-01-01: Ember stores timestamps from 0 on", t));
  }
  if (t > now && t - now > options_.max_future_ms) {
    return absl::OutOfRangeError(
        absl::StrFormat("sample t=%d is %ds ahead of the clock (now=%d, max_future_ms=%d)", t,
                        (t - now) / 1000, now, options_.max_future_ms));
  }
  if (options_.retention_ms > 0 && t < now - options_.retention_ms) {
    return absl::OutOfRangeError(
        absl::StrFormat("sample t=%d is older than the retention allows (now=%d, retention_ms=%d)",
                        t, now, options_.retention_ms));
  }
  return absl::OkStatus();
}

absl::StatusOr<CommitResult> DbImpl::Commit(const std::vector<const std::string*>& series,
                                            const std::vector<PendingSample>& samples) {
  CommitResult result;
  uint64_t seq = 0;
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return absl::FailedPreconditionError(absl::StrCat(dir_, ": database is closed"));
    if (!fatal_.ok()) return fatal_;
    // From here on the head changes in memory; any failure leaves it ahead of disk, so the
    // Db turns read-only (fatal_) instead of acknowledging anything.
    auto fail = [&](const absl::Status& s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      fatal_ = Annotate(s, absl::StrCat(dir_, ": write failed; reopen the database"));
      return fatal_;
    };
    WriteContext ctx(store_.get());
    std::vector<MemSeries*> resolved(series.size());
    for (size_t i = 0; i < series.size(); ++i) {
      absl::StatusOr<MemSeries*> s = ResolveSeries(*series[i], &ctx);
      if (!s.ok()) return fail(s.status());
      resolved[i] = *s;
    }
    for (size_t i = 0; i < samples.size(); ++i) {
      const PendingSample& p = samples[i];
      MemSeries* s = resolved[p.series];
      absl::Status why;
      absl::StatusOr<AppendOutcome> outcome = AppendSample(s, p.t, p.v, &ctx, &why);
      if (!outcome.ok()) return fail(outcome.status());
      switch (*outcome) {
        case AppendOutcome::kStored:
          ctx.logged.push_back(LogSample{s->ref, p.t, p.v});
          ++result.samples_stored;
          break;
        case AppendOutcome::kDuplicate:
          ++result.samples_stored;
          break;
        case AppendOutcome::kRejected:
          result.rejected.push_back(RejectedSample{i, std::move(why)});
          break;
      }
    }
    if (absl::Status s = FlushChunks(&ctx); !s.ok()) return fail(s);
    if (ctx.logged.empty() && ctx.batch.Count() == 0) return result;  // Nothing changed.
    seq = ++last_seq_;
    const std::string record = EncodeLogRecord(ctx.logged);
    ctx.batch.Put(Family::kLog, RefKey(seq), record);
    log_bytes_ += static_cast<int64_t>(record.size());
    if (absl::Status s = store_->Write(&ctx.batch, /*sync=*/false); !s.ok()) return fail(s);
    written_seq_.store(seq, std::memory_order_release);
  }
  EMBER_RETURN_IF_ERROR(WaitDurable(seq));
  return result;
}

absl::Status DbImpl::WaitDurable(uint64_t seq) {
  switch (options_.sync_policy) {
    case SyncPolicy::kNoSync:
      return absl::OkStatus();
    case SyncPolicy::kSyncEachCommit: {
      {
        absl::MutexLock lock(&sync_mu_);
        if (synced_seq_ >= seq) return absl::OkStatus();
      }
      // One fsync covers every write made before it started, so concurrent committers share.
      const uint64_t covered = written_seq_.load(std::memory_order_acquire);
      absl::Status s = store_->SyncWal();
      absl::MutexLock lock(&sync_mu_);
      if (!s.ok()) return s;
      synced_seq_ = std::max(synced_seq_, covered);
      return absl::OkStatus();
    }
    case SyncPolicy::kGroupCommit: {
      absl::MutexLock lock(&sync_mu_);
      sync_cv_.SignalAll();  // Wake the sync thread if it idles.
      while (synced_seq_ < seq && sync_error_.ok() && !stopping_) sync_cv_.Wait(&sync_mu_);
      if (!sync_error_.ok()) return sync_error_;
      if (synced_seq_ < seq) {
        // Closing: the sync thread has exited; make the batch durable ourselves.
        sync_mu_.Unlock();
        absl::Status s = store_->SyncWal();
        sync_mu_.Lock();
        return s;
      }
      return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<DbImpl::MemSeries*> DbImpl::AddToHead(uint64_t ref, std::string labels,
                                                     bool on_disk) {
  auto s = std::make_unique<MemSeries>();
  s->ref = ref;
  s->labels = std::move(labels);
  if (on_disk) {
    // A series coming back to the head: continue after its newest stored sample.
    EMBER_ASSIGN_OR_RETURN(s->last_t, LastSampleTimeOnDisk(ref));
  }
  MemSeries* raw = s.get();
  by_labels_[raw->labels] = raw;
  by_ref_[ref] = std::move(s);
  return raw;
}

absl::StatusOr<DbImpl::MemSeries*> DbImpl::ResolveSeries(const std::string& labels,
                                                         WriteContext* ctx) {
  auto it = by_labels_.find(std::string_view(labels));
  if (it != by_labels_.end()) return it->second;
  const uint64_t hash = HashLabelBytes(labels);
  // Known on disk? Series keys sharing the hash prefix are candidates.
  std::unique_ptr<StoreIterator> iter = store_->NewIterator(Family::kSeries);
  const std::string prefix = SeriesHashKey(hash, 0).substr(0, 9);
  for (iter->Seek(prefix); iter->Valid() && iter->key().substr(0, 9) == prefix; iter->Next()) {
    if (iter->key().size() != 17) continue;
    const uint64_t ref = DecodeFixed64BE(iter->key().data() + 9);
    EMBER_ASSIGN_OR_RETURN(std::optional<std::string> stored,
                           store_->Get(Family::kSeries, SeriesKey(ref)));
    if (stored && *stored == labels) return AddToHead(ref, labels, /*on_disk=*/true);
  }
  EMBER_RETURN_IF_ERROR(iter->status());
  const uint64_t ref = next_ref_++;
  ctx->batch.Put(Family::kSeries, SeriesKey(ref), labels);
  ctx->batch.Put(Family::kSeries, SeriesHashKey(hash, ref), "");
  return AddToHead(ref, labels, /*on_disk=*/false);
}

absl::StatusOr<DbImpl::MemSeries*> DbImpl::SeriesByRef(uint64_t ref) {
  auto it = by_ref_.find(ref);
  if (it != by_ref_.end()) return it->second.get();
  EMBER_ASSIGN_OR_RETURN(std::optional<std::string> labels,
                         store_->Get(Family::kSeries, SeriesKey(ref)));
  if (!labels) {
    return absl::DataLossError(absl::StrFormat("%s: log refers to unknown series %d", dir_, ref));
  }
  return AddToHead(ref, std::move(*labels), /*on_disk=*/true);
}

absl::StatusOr<int64_t> DbImpl::LastSampleTimeOnDisk(uint64_t ref) {
  std::vector<std::shared_ptr<Partition>> parts = store_->Partitions();
  for (auto p = parts.rbegin(); p != parts.rend(); ++p) {
    std::unique_ptr<StoreIterator> it = store_->NewIterator(*p, PartitionFamily::kChunks, true);
    it->SeekForPrev(ChunkKey(ref, INT64_MAX));
    if (it->Valid() && it->key().size() == kChunkKeySize &&
        DecodeFixed64BE(it->key().data()) == ref) {
      EMBER_ASSIGN_OR_RETURN(ChunkMeta meta, ReadChunkMeta(it->value()));
      return meta.max_t;
    }
    EMBER_RETURN_IF_ERROR(it->status());
  }
  return INT64_MIN;
}

int64_t DbImpl::WindowEnd(int64_t t) const {
  const int64_t r = options_.chunk_range_ms;
  return t - (t % r) + r;  // t >= 0: CheckWritable rejects earlier samples.
}

absl::StatusOr<DbImpl::AppendOutcome> DbImpl::AppendSample(MemSeries* s, int64_t t, double v,
                                                           WriteContext* ctx, absl::Status* why) {
  if (t <= s->last_t) return InsertOutOfOrder(s, t, v, ctx, why);
  if (!s->chunk.empty() &&
      (s->chunk.num_samples() >= kMaxSamplesPerChunk || t >= WindowEnd(s->chunk.min_t()))) {
    EMBER_RETURN_IF_ERROR(SealOpenChunk(s, ctx));
  }
  EMBER_RETURN_IF_ERROR(IndexSeries(s, store_->PartitionStartFor(t), ctx));
  s->chunk.Append(t, v);
  s->last_t = t;
  s->dirty = true;
  ++partition_samples_[store_->PartitionStartFor(t)];
  max_time_ = std::max(max_time_, t);
  return AppendOutcome::kStored;
}

absl::StatusOr<DbImpl::AppendOutcome> DbImpl::InsertOutOfOrder(MemSeries* s, int64_t t, double v,
                                                               WriteContext* ctx,
                                                               absl::Status* why) {
  if (s->last_t - t > options_.out_of_order_window_ms) {
    if (ctx->replay) return AppendOutcome::kDuplicate;  // Already on disk (see ReplayLog).
    Labels ls;
    DecodeLabels(s->labels, &ls).IgnoreError();
    *why = absl::OutOfRangeError(absl::StrFormat(
        "series %s: sample t=%d is %dms older than the newest sample t=%d "
        "(out_of_order_window_ms=%d)",
        LabelsToString(ls), t, s->last_t - t, s->last_t, options_.out_of_order_window_ms));
    return AppendOutcome::kRejected;
  }
  const Sample sample{t, v};
  const int64_t partition = store_->PartitionStartFor(t);
  bool same = false;
  std::vector<Sample> samples;
  if (!s->chunk.empty() && t >= s->chunk.min_t()) {
    EMBER_RETURN_IF_ERROR(s->chunk.Decode(&samples));
    if (!InsertSorted(&samples, sample, &same)) {
      if (same || ctx->replay) return AppendOutcome::kDuplicate;
      *why = DuplicateError(s->labels, t);
      return AppendOutcome::kRejected;
    }
    HeadChunk rebuilt;
    for (const Sample& x : samples) rebuilt.Append(x.t, x.v);
    s->chunk = std::move(rebuilt);
  } else {
    // Into the sealed chunk of `t`'s partition with the greatest start <= t: this batch's
    // pending writes first, then the store. With none, the sample starts a chunk of its own.
    EMBER_ASSIGN_OR_RETURN(std::shared_ptr<Partition> p, store_->GetOrCreatePartition(partition));
    std::optional<ChunkLoc> loc;
    std::string bytes;
    auto pending = ctx->chunks.upper_bound(ChunkLoc{partition, s->ref, t});
    if (pending != ctx->chunks.begin()) {
      --pending;
      if (pending->first.partition == partition && pending->first.ref == s->ref) {
        loc = pending->first;
      }
    }
    std::unique_ptr<StoreIterator> it = store_->NewIterator(p, PartitionFamily::kChunks, true);
    it->SeekForPrev(ChunkKey(s->ref, t));
    if (it->Valid() && it->key().size() == kChunkKeySize &&
        DecodeFixed64BE(it->key().data()) == s->ref) {
      const int64_t start = DecodeTimestampBE(it->key().data() + 8);
      if (!loc || start > loc->start) {
        loc = ChunkLoc{partition, s->ref, start};
        bytes.assign(it->value());
      }
    }
    EMBER_RETURN_IF_ERROR(it->status());
    if (loc && bytes.empty()) bytes = ctx->chunks[*loc];
    if (loc) {
      EMBER_RETURN_IF_ERROR(
          Annotate(DecodeChunk(bytes, &samples),
                   absl::StrFormat("series %d chunk at t=%d", s->ref, loc->start)));
      if (!InsertSorted(&samples, sample, &same)) {
        if (same || ctx->replay) return AppendOutcome::kDuplicate;
        *why = DuplicateError(s->labels, t);
        return AppendOutcome::kRejected;
      }
      ctx->chunks[*loc] = EncodeChunk(samples);
    } else {
      ctx->chunks[ChunkLoc{partition, s->ref, t}] =
          EncodeChunk(std::span<const Sample>(&sample, 1));
    }
    if (partition != s->indexed_partition) {
      // An older partition: (re)write the postings, which is idempotent.
      const int64_t newest = s->indexed_partition;
      s->indexed_partition = INT64_MIN;
      EMBER_RETURN_IF_ERROR(IndexSeries(s, partition, ctx));
      s->indexed_partition = std::max(newest, partition);
    }
  }
  s->dirty = true;
  ++partition_samples_[partition];
  return AppendOutcome::kStored;
}

absl::Status DbImpl::SealOpenChunk(MemSeries* s, WriteContext* ctx) {
  if (s->chunk.empty()) return absl::OkStatus();
  std::vector<Sample> samples;
  samples.reserve(s->chunk.num_samples());
  EMBER_RETURN_IF_ERROR(s->chunk.Decode(&samples));
  const int64_t start = s->chunk.min_t();
  ctx->chunks[ChunkLoc{store_->PartitionStartFor(start), s->ref, start}] = EncodeChunk(samples);
  s->chunk = HeadChunk();
  s->dirty = true;
  return absl::OkStatus();
}

absl::Status DbImpl::IndexSeries(MemSeries* s, int64_t partition, WriteContext* ctx) {
  if (partition <= s->indexed_partition) return absl::OkStatus();
  EMBER_ASSIGN_OR_RETURN(std::shared_ptr<Partition> p, store_->GetOrCreatePartition(partition));
  Labels labels;
  EMBER_RETURN_IF_ERROR(DecodeLabels(s->labels, &labels));
  for (const Label& l : labels) {
    ctx->batch.Put(*p, PartitionFamily::kPostings, PostingKey(l.name, l.value, s->ref), "");
  }
  ctx->batch.Put(*p, PartitionFamily::kPostings, PostingKey("", "", s->ref), "");
  s->indexed_partition = partition;
  s->dirty = true;
  return absl::OkStatus();
}

absl::Status DbImpl::FlushChunks(WriteContext* ctx) {
  std::shared_ptr<Partition> p;
  for (const auto& [loc, bytes] : ctx->chunks) {
    if (!p || p->start() != loc.partition) {
      EMBER_ASSIGN_OR_RETURN(p, store_->GetOrCreatePartition(loc.partition));
    }
    ctx->batch.Put(*p, PartitionFamily::kChunks, ChunkKey(loc.ref, loc.start), bytes);
  }
  ctx->chunks.clear();
  return absl::OkStatus();
}

absl::Status DbImpl::ApplyLogged(const std::vector<LogSample>& samples, WriteContext* ctx) {
  for (const LogSample& ls : samples) {
    EMBER_ASSIGN_OR_RETURN(MemSeries * s, SeriesByRef(ls.ref));
    absl::Status why;
    EMBER_ASSIGN_OR_RETURN(AppendOutcome outcome, AppendSample(s, ls.t, ls.v, ctx, &why));
    // Every logged sample was stored once: count it even where replay finds it on disk.
    if (outcome != AppendOutcome::kStored) ++partition_samples_[store_->PartitionStartFor(ls.t)];
    max_time_ = std::max(max_time_, ls.t);
  }
  return absl::OkStatus();
}

}  // namespace ember::storage
