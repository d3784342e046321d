// The read path: matchers -> per-partition postings -> series, sorted by labels, as a lazy
// series set -> sample iterators that walk sealed chunks partition by partition, then the
// head's open chunk, decoding a chunk only when they reach it.
#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "storage/chunk.h"
#include "storage/db_impl.h"
#include "storage/keys.h"
#include "storage/label_codec.h"
#include "storage/matcher.h"
#include "storage/postings.h"
#include "util/status_macros.h"

namespace ember::storage {
namespace {

// A partition's postings family as a PostingsReader.
class PartitionPostings final : public PostingsReader {
 public:
  PartitionPostings(RocksStore* store, std::shared_ptr<Partition> p)
      : it_(store->NewIterator(std::move(p), PartitionFamily::kPostings, false)) {}

  absl::StatusOr<PostingsList> Postings(std::string_view name, std::string_view value) override {
    PostingsList out;
    const std::string prefix = PostingsPrefix(name, value);
    for (it_->Seek(prefix); it_->Valid() && it_->key().starts_with(prefix); it_->Next()) {
      if (it_->key().size() == prefix.size() + 8) {
        out.push_back(DecodeFixed64BE(it_->key().data() + prefix.size()));
      }
    }
    EMBER_RETURN_IF_ERROR(it_->status());
    return out;
  }

  absl::StatusOr<std::vector<std::string>> LabelValues(std::string_view name) override {
    std::vector<std::string> values;
    const std::string prefix = PostingsNamePrefix(name);
    it_->Seek(prefix);
    while (it_->Valid() && it_->key().starts_with(prefix)) {
      std::string_view n, v;
      uint64_t ref;
      if (!ParsePostingKey(it_->key(), &n, &v, &ref)) {
        return absl::DataLossError(absl::StrCat("postings: malformed key for label ",
                                                absl::string_view(name.data(), name.size())));
      }
      values.emplace_back(v);
      // Skip the rest of this value's refs: every key of it is below prefix(v) + 0xff * 9.
      std::string next = PostingsPrefix(n, v);
      next.append(9, '\xff');
      it_->Seek(next);
    }
    EMBER_RETURN_IF_ERROR(it_->status());
    std::sort(values.begin(), values.end());
    return values;
  }

  absl::StatusOr<PostingsList> AllPostings() override { return Postings("", ""); }

  // Every label name in the partition, sorted.
  absl::StatusOr<std::vector<std::string>> LabelNames() {
    std::vector<std::string> names;
    it_->Seek(PostingsNamePrefix(""));
    for (; it_->Valid();) {
      std::string_view key = it_->key();
      std::string_view name;
      if (!GetLengthPrefixed(&key, &name)) return absl::DataLossError("postings: malformed key");
      if (!name.empty()) names.emplace_back(name);
      std::string next = PostingsNamePrefix(name);
      next.append(16, '\xff');
      it_->Seek(next);
    }
    EMBER_RETURN_IF_ERROR(it_->status());
    std::sort(names.begin(), names.end());
    return names;
  }

 private:
  std::unique_ptr<StoreIterator> it_;
};

// Walks one series: each overlapping partition's sealed chunks in start order, then a copy of
// the head's open chunk. A sample at or before the last one returned is skipped: a chunk cut
// while this iterator was being built can appear both sealed and in the head copy.
class SeriesIterator final : public SampleIterator {
 public:
  SeriesIterator(DbImpl* db, uint64_t ref, int64_t mint, int64_t maxt,
                 std::vector<std::shared_ptr<Partition>> parts)
      : db_(db), ref_(ref), mint_(mint), maxt_(maxt), parts_(std::move(parts)) {}

  bool Next() override {
    while (true) {
      if (pos_ < buf_.size()) {
        const Sample s = buf_[pos_++];
        if (s.t <= last_t_ || s.t < mint_) continue;
        if (s.t > maxt_) return Finish();
        last_t_ = s.t;
        cur_ = s;
        return true;
      }
      if (!LoadNextChunk(mint_)) return false;
    }
  }

  bool Seek(int64_t t) override {
    if (done_) return false;
    if (has_cur_() && cur_.t >= t) return true;
    mint_ = std::max(mint_, t);
    return Next();
  }

  Sample At() const override { return cur_; }
  absl::Status status() const override { return status_; }

  // Appends every remaining sample to `*out`, chunk by chunk, as Next() would give them.
  absl::Status DrainInto(std::vector<Sample>* out) {
    while (true) {
      for (; pos_ < buf_.size(); ++pos_) {
        const Sample s = buf_[pos_];
        if (s.t <= last_t_ || s.t < mint_) continue;
        if (s.t > maxt_) {
          Finish();
          return status_;
        }
        last_t_ = s.t;
        out->push_back(s);
      }
      if (!LoadNextChunk(mint_)) return status_;
    }
  }

 private:
  bool has_cur_() const { return last_t_ != INT64_MIN; }

  bool Finish() {
    done_ = true;
    buf_.clear();
    pos_ = 0;
    return false;
  }

  // Decodes the next chunk that may hold samples >= `from` into buf_; false at the end.
  bool LoadNextChunk(int64_t from) {
    if (done_) return false;
    buf_.clear();
    pos_ = 0;
    if (!started_) {
      started_ = true;
      // Every sealed sample of a series is older than its open chunk's first one: when that
      // is at or before `from`, the head alone holds the range and RocksDB is not touched.
      if (db_->CopyHeadSamplesIfCovering(ref_, std::max(from, mint_), maxt_, &buf_)) {
        part_idx_ = parts_.size();
        head_done_ = true;
        return !buf_.empty() || Finish();
      }
    }
    while (part_idx_ < parts_.size()) {
      if (!it_) {
        it_ = db_->store()->NewIterator(parts_[part_idx_], PartitionFamily::kChunks, true);
        // The chunk holding `from` starts at or before it; later ones follow in key order.
        it_->SeekForPrev(ChunkKey(ref_, from));
        if (!it_->Valid() || !OwnKey()) it_->Seek(ChunkKey(ref_, from));
      } else {
        it_->Next();
      }
      if (!it_->Valid() || !OwnKey()) {
        if (!it_->status().ok()) return Fail(it_->status());
        it_.reset();
        ++part_idx_;
        continue;
      }
      absl::StatusOr<ChunkMeta> meta = ReadChunkMeta(it_->value());
      if (!meta.ok()) return Fail(meta.status());
      if (meta->min_t > maxt_) return Finish();
      if (meta->max_t < from || meta->max_t <= last_t_) continue;  // Skipped undecoded.
      absl::Status s = DecodeChunk(it_->value(), &buf_);
      if (!s.ok()) return Fail(s);
      return true;
    }
    if (!head_done_) {
      head_done_ = true;
      db_->CopyHeadSamples(ref_, std::max(from, mint_), maxt_, &buf_);
      if (!buf_.empty()) return true;
    }
    return Finish();
  }

  bool OwnKey() const {
    return it_->key().size() == kChunkKeySize && DecodeFixed64BE(it_->key().data()) == ref_;
  }

  bool Fail(const absl::Status& s) {
    status_ = Annotate(s, absl::StrFormat("series %d", ref_));
    return Finish();
  }

  DbImpl* db_;
  uint64_t ref_;
  int64_t mint_;
  int64_t maxt_;
  std::vector<std::shared_ptr<Partition>> parts_;
  size_t part_idx_ = 0;
  std::unique_ptr<StoreIterator> it_;
  bool started_ = false;
  bool head_done_ = false;
  bool done_ = false;
  std::vector<Sample> buf_;
  size_t pos_ = 0;
  int64_t last_t_ = INT64_MIN;
  Sample cur_;
  absl::Status status_;
};

// Yields a first sample found in advance, then continues the wrapped iterator.
class PrimedIterator final : public SampleIterator {
 public:
  explicit PrimedIterator(std::unique_ptr<SampleIterator> it) : it_(std::move(it)) {}
  bool Next() override {
    if (primed_) {
      primed_ = false;
      return true;
    }
    return it_->Next();
  }
  bool Seek(int64_t t) override {
    primed_ = false;
    return it_->Seek(t);
  }
  Sample At() const override { return it_->At(); }
  absl::Status status() const override { return it_->status(); }

 private:
  std::unique_ptr<SampleIterator> it_;
  bool primed_ = true;
};

// Select()'s series set: the series' labels were read and sorted up front; each series'
// SeriesIterator is made only when asked for, and decodes its chunks as it advances.
class LazySeriesSet final : public SeriesSet {
 public:
  struct Entry {
    uint64_t ref = 0;
    Labels labels;
  };

  LazySeriesSet(DbImpl* db, std::vector<Entry> series, int64_t mint, int64_t maxt,
                std::vector<std::shared_ptr<Partition>> parts)
      : db_(db), series_(std::move(series)), mint_(mint), maxt_(maxt), parts_(std::move(parts)) {}

  bool Next() override {
    if (next_ == series_.size()) return false;
    if (next_ > 0) Labels().swap(series_[next_ - 1].labels);  // Done with: free it now.
    ++next_;
    return true;
  }
  Labels& labels() override { return series_[next_ - 1].labels; }
  std::unique_ptr<SampleIterator> Samples() override {
    return std::make_unique<SeriesIterator>(db_, series_[next_ - 1].ref, mint_, maxt_, parts_);
  }
  absl::Status ReadSamples(std::vector<Sample>* out) override {
    SeriesIterator it(db_, series_[next_ - 1].ref, mint_, maxt_, parts_);
    return it.DrainInto(out);
  }
  absl::StatusOr<bool> HasSamples() override {
    // A series whose open chunk overlaps the range has a sample in it: no chunk is read.
    if (db_->HeadOverlaps(series_[next_ - 1].ref, mint_, maxt_)) return true;
    return SeriesSet::HasSamples();
  }
  absl::Status status() const override { return absl::OkStatus(); }

 private:
  DbImpl* const db_;
  std::vector<Entry> series_;
  size_t next_ = 0;  // One past the current series.
  const int64_t mint_;
  const int64_t maxt_;
  const std::vector<std::shared_ptr<Partition>> parts_;
};

// Appends a byte string whose memcmp order is the order of label sets (name, then value, pair
// by pair; a prefix first): each string with 0x00 escaped as 0x00 0xff, ended by 0x00 0x00.
void AppendSortKey(const Labels& labels, std::string* key) {
  auto put = [key](const std::string& s) {
    for (char c : s) {
      key->push_back(c);
      if (c == '\0') key->push_back('\xff');
    }
    key->append(2, '\0');
  };
  for (const Label& l : labels) {
    put(l.name);
    put(l.value);
  }
}

// Sorts by labels. Comparing Labels pair by pair costs several string compares each time;
// comparing one flat key per series is a single memcmp (half the Select of a 5,000-series
// selector was this sort).
void SortByLabels(std::vector<LazySeriesSet::Entry>* series) {
  if (series->size() < 2) return;
  std::string keys;
  std::vector<std::pair<size_t, size_t>> bounds(series->size());  // Offset, length.
  for (size_t i = 0; i < series->size(); ++i) {
    const size_t at = keys.size();
    AppendSortKey((*series)[i].labels, &keys);
    bounds[i] = {at, keys.size() - at};
  }
  std::vector<uint32_t> order(series->size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<uint32_t>(i);
  const std::string_view all = keys;
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return all.substr(bounds[a].first, bounds[a].second) <
           all.substr(bounds[b].first, bounds[b].second);
  });
  std::vector<LazySeriesSet::Entry> sorted;
  sorted.reserve(series->size());
  for (uint32_t i : order) sorted.push_back(std::move((*series)[i]));
  series->swap(sorted);
}

}  // namespace

void DbImpl::CopyHeadSamples(uint64_t ref, int64_t mint, int64_t maxt, std::vector<Sample>* out) {
  HeadChunk::Bits bits;
  {
    // Only a copy under the lock: a query thread (of low priority) preempted while holding it
    // would hold up every writer.
    absl::ReaderMutexLock lock(&mu_);
    auto it = by_ref_.find(ref);
    if (it == by_ref_.end() || it->second->chunk.empty()) return;
    const HeadChunk& c = it->second->chunk;
    if (c.max_t() < mint || c.min_t() > maxt) return;
    bits = c.CopyBits();
  }
  std::vector<Sample> all;
  // The head chunk was encoded by this process; a decode error would be a bug.
  if (!HeadChunk::Decode(bits, &all).ok()) return;
  for (const Sample& s : all) {
    if (s.t >= mint && s.t <= maxt) out->push_back(s);
  }
}

bool DbImpl::HeadOverlaps(uint64_t ref, int64_t mint, int64_t maxt) {
  absl::ReaderMutexLock lock(&mu_);
  auto it = by_ref_.find(ref);
  if (it == by_ref_.end()) return false;
  const HeadChunk& c = it->second->chunk;
  if (c.empty()) return false;
  return (c.min_t() >= mint && c.min_t() <= maxt) || (c.max_t() >= mint && c.max_t() <= maxt);
}

bool DbImpl::CopyHeadSamplesIfCovering(uint64_t ref, int64_t mint, int64_t maxt,
                                       std::vector<Sample>* out) {
  HeadChunk::Bits bits;
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = by_ref_.find(ref);
    if (it == by_ref_.end()) return false;
    const HeadChunk& c = it->second->chunk;
    // Out-of-order samples older than the open chunk go into sealed chunks, newer ones into
    // the open chunk (db_impl_write.cc), so sealed samples are all < c.min_t().
    if (c.empty() || c.min_t() > mint) return false;
    if (c.max_t() < mint) return true;  // Nothing in range anywhere.
    bits = c.CopyBits();
  }
  std::vector<Sample> all;
  if (!HeadChunk::Decode(bits, &all).ok()) return false;  // A bug; the slow path copes.
  for (const Sample& s : all) {
    if (s.t >= mint && s.t <= maxt) out->push_back(s);
  }
  return true;
}

absl::StatusOr<std::vector<uint64_t>> DbImpl::MatchingRefs(
    std::span<const CompiledMatcher> matchers, int64_t mint, int64_t maxt) {
  std::vector<PostingsList> lists;
  for (const auto& p : store_->PartitionsOverlapping(mint, maxt)) {
    PartitionPostings reader(store_.get(), p);
    EMBER_ASSIGN_OR_RETURN(PostingsList l, PostingsForMatchers(reader, matchers));
    lists.push_back(std::move(l));
  }
  std::vector<const PostingsList*> ptrs;
  for (const PostingsList& l : lists) ptrs.push_back(&l);
  return Union(ptrs);
}

Querier* QuerierOf(Db* db) { return static_cast<DbImpl*>(db); }
Appendable* AppendableOf(Db* db) { return static_cast<DbImpl*>(db); }

absl::StatusOr<std::string> DbImpl::LabelBytesOf(uint64_t ref) {
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = by_ref_.find(ref);
    if (it != by_ref_.end()) return it->second->labels;
  }
  EMBER_ASSIGN_OR_RETURN(std::optional<std::string> labels,
                         store_->Get(Family::kSeries, SeriesKey(ref)));
  if (!labels)
    return absl::DataLossError(absl::StrFormat("%s: postings list unknown series %d", dir_, ref));
  return std::move(*labels);
}

absl::StatusOr<std::unique_ptr<SeriesSet>> DbImpl::Select(std::span<const CompiledMatcher> matchers,
                                                          int64_t mint, int64_t maxt) {
  if (std::all_of(matchers.begin(), matchers.end(),
                  [](const CompiledMatcher& m) { return m.MatchesEmpty(); })) {
    return absl::InvalidArgumentError(
        "selector must contain at least one matcher that does not match the empty string");
  }
  std::vector<LazySeriesSet::Entry> series;
  std::vector<std::shared_ptr<Partition>> parts;
  if (mint <= maxt) {
    EMBER_ASSIGN_OR_RETURN(std::vector<uint64_t> refs, MatchingRefs(matchers, mint, maxt));
    parts = store_->PartitionsOverlapping(mint, maxt);
    series.resize(refs.size());
    for (size_t i = 0; i < refs.size(); ++i) {
      series[i].ref = refs[i];
      EMBER_ASSIGN_OR_RETURN(std::string bytes, LabelBytesOf(refs[i]));
      EMBER_RETURN_IF_ERROR(DecodeLabels(bytes, &series[i].labels));
    }
    SortByLabels(&series);
  }
  return std::make_unique<LazySeriesSet>(this, std::move(series), mint, maxt, std::move(parts));
}

absl::StatusOr<std::vector<Series>> DbImpl::Select(const std::vector<Matcher>& matchers,
                                                   int64_t mint, int64_t maxt) {
  EMBER_ASSIGN_OR_RETURN(std::vector<CompiledMatcher> compiled, CompileMatchers(matchers));
  EMBER_ASSIGN_OR_RETURN(std::unique_ptr<SeriesSet> set,
                         Select(std::span<const CompiledMatcher>(compiled), mint, maxt));
  std::vector<Series> out;
  while (set->Next()) {
    std::unique_ptr<SampleIterator> it = set->Samples();
    if (!it->Next()) {
      EMBER_RETURN_IF_ERROR(it->status());
      continue;  // No sample in range: the partition held others only.
    }
    out.push_back(
        Series{std::move(set->labels()), std::make_unique<PrimedIterator>(std::move(it))});
  }
  EMBER_RETURN_IF_ERROR(set->status());
  return out;
}

absl::Status DbImpl::ForEachMatchingSeries(std::span<const CompiledMatcher> matchers, int64_t mint,
                                           int64_t maxt,
                                           const std::function<void(const Labels&)>& fn) {
  EMBER_ASSIGN_OR_RETURN(std::vector<uint64_t> refs, MatchingRefs(matchers, mint, maxt));
  Labels ls;
  for (uint64_t ref : refs) {
    EMBER_ASSIGN_OR_RETURN(std::string bytes, LabelBytesOf(ref));
    EMBER_RETURN_IF_ERROR(DecodeLabels(bytes, &ls));
    fn(ls);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> DbImpl::LabelNames(int64_t mint, int64_t maxt,
                                                            const std::vector<Matcher>& matchers) {
  EMBER_ASSIGN_OR_RETURN(std::vector<CompiledMatcher> compiled, CompileMatchers(matchers));
  return LabelNames(mint, maxt, std::span<const CompiledMatcher>(compiled));
}

absl::StatusOr<std::vector<std::string>> DbImpl::LabelValues(const std::string& name, int64_t mint,
                                                             int64_t maxt,
                                                             const std::vector<Matcher>& matchers) {
  EMBER_ASSIGN_OR_RETURN(std::vector<CompiledMatcher> compiled, CompileMatchers(matchers));
  return LabelValues(name, mint, maxt, std::span<const CompiledMatcher>(compiled));
}

absl::StatusOr<std::vector<std::string>> DbImpl::LabelNames(
    int64_t mint, int64_t maxt, std::span<const CompiledMatcher> matchers) {
  std::set<std::string> names;
  if (matchers.empty()) {
    for (const auto& p : store_->PartitionsOverlapping(mint, maxt)) {
      PartitionPostings reader(store_.get(), p);
      EMBER_ASSIGN_OR_RETURN(std::vector<std::string> n, reader.LabelNames());
      names.insert(n.begin(), n.end());
    }
  } else {
    EMBER_RETURN_IF_ERROR(ForEachMatchingSeries(matchers, mint, maxt, [&](const Labels& ls) {
      for (const Label& l : ls) names.insert(l.name);
    }));
  }
  return std::vector<std::string>(names.begin(), names.end());
}

absl::StatusOr<std::vector<std::string>> DbImpl::LabelValues(
    const std::string& name, int64_t mint, int64_t maxt,
    std::span<const CompiledMatcher> matchers) {
  std::set<std::string> values;
  if (matchers.empty()) {
    for (const auto& p : store_->PartitionsOverlapping(mint, maxt)) {
      PartitionPostings reader(store_.get(), p);
      EMBER_ASSIGN_OR_RETURN(std::vector<std::string> v, reader.LabelValues(name));
      values.insert(v.begin(), v.end());
    }
  } else {
    EMBER_RETURN_IF_ERROR(ForEachMatchingSeries(matchers, mint, maxt, [&](const Labels& ls) {
      std::string_view v = GetLabelValue(ls, name);
      if (!v.empty()) values.emplace(v);
    }));
  }
  return std::vector<std::string>(values.begin(), values.end());
}

}  // namespace ember::storage
