// A scrape loop's memory of its target's series (scrape_loop.h), as Prometheus's scrape cache:
//
//   - series text -> label set: the bytes of a sample line from the metric name through the
//     label set's '}' (ingest::TextSampleSink) map to the final labels that target labels and
//     metric_relabel_configs made of them, or to "dropped". A line whose text was seen in the
//     last two scrapes is not parsed, labeled, relabeled, sorted or keyed again: only its
//     value and timestamp are read.
//   - label set -> its place in a write batch kept across scrapes: one ingest::DecodedSeries
//     per final label set, whose labels are built once and whose samples vector is refilled by
//     every scrape, so that a scrape of known series allocates nothing per sample.
//   - staleness: which label sets the last successful scrape stored, and whether each had its
//     own timestamp (those get no stale marker), replacing a map rebuilt every scrape.
//
// A text maps to exactly what parsing it again would give, because the mapping depends only on
// the text, the target's labels and the job's settings: Begin() forgets every text when those
// change (a reload), while the label sets stay for the staleness of the series stored before.
// Texts and label sets not seen in the current or the previous scrape are dropped by End().
//
// Storage seam: a label set is appended by its labels (ember::Appender takes nothing else).
// Should the Appender return a series reference, it belongs in Series next to the labels, and
// the write would pass it instead of the labels.
//
// Not thread-safe: used on its scrape loop's strand.
#ifndef EMBER_SERVER_SCRAPE_SCRAPE_CACHE_H_
#define EMBER_SERVER_SCRAPE_SCRAPE_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "ember/labels.h"
#include "ember/sample.h"
#include "ingest/batch.h"
#include "ingest/text_format.h"
#include "server/scrape/relabel.h"

namespace ember::server {

// The parser's timestamp for samples written without one (ScrapeCache::Begin() sets it as the
// parse options' default), so that they can be told apart from those with their own
// (honor_timestamps). No exposition writes this one.
inline constexpr int64_t kNoTimestamp = std::numeric_limits<int64_t>::min();

// What labels a target's series: the target's labels and the job's settings.
struct ScrapeLabeling {
  const Labels* target_labels = nullptr;  // Must outlive the scrape.
  bool honor_labels = false;
  bool honor_timestamps = true;
  // The job's; null keeps every series. Its identity (with the target labels) says whether
  // the cached texts still hold: a reload compiles a new one.
  std::shared_ptr<const Relabeler> relabeler;
};

class ScrapeCache final : public ingest::TextSampleSink {
 public:
  ScrapeCache();
  ScrapeCache(const ScrapeCache&) = delete;
  ScrapeCache& operator=(const ScrapeCache&) = delete;

  // Starts a scrape of a fetched body whose samples without a timestamp (or all of them,
  // without honor_timestamps) are stored at `start_ms`. Forgets the cached texts when the
  // labeling differs from the previous scrape's.
  void Begin(const ScrapeLabeling& labeling, int64_t start_ms);

  // ingest::TextSampleSink: the body's sample lines, between Begin() and End().
  bool Known(std::string_view series) override;
  void Add(std::string_view series, Labels* labels, const Sample& sample, uint32_t line) override;

  // This scrape's counts: sample lines, samples kept by relabeling, and label sets that the
  // last successful scrape did not store.
  int64_t scraped() const { return scraped_; }
  int64_t post_relabel() const { return post_relabel_; }
  int64_t added() const { return added_; }

  // Adds, at the scrape's start_ms, a stale marker for each label set that the last successful
  // scrape stored without its own timestamp and this scrape lacks.
  void MarkVanished();
  // The scrape's samples by label set, and after MarkVanished() its stale markers: what a
  // successful scrape stores. Label sets without samples in it are skipped by the write path.
  // The caller may append series for the write (the report series) and must remove them before
  // End().
  ingest::DecodedBatch& batch() { return batch_; }

  // Ends the scrape: when `stored`, its label sets become the last successful scrape's;
  // otherwise no label set is (the next scrape adds all it has). Drops texts and label sets
  // seen in neither this scrape nor the previous one.
  void End(bool stored);

  // Appends, at `t`, a stale marker for each label set that the last successful scrape stored
  // without its own timestamp (a failed scrape, the end of the loop). Outside a scrape, or
  // within one before End().
  void AppendStaleMarkers(int64_t t, ingest::DecodedBatch* out) const;

  // Forgets everything, as if new.
  void Clear();

  // Sizes, for tests: cached texts, label sets.
  size_t texts() const { return by_text_.size(); }
  size_t label_sets() const { return series_.size(); }

 private:
  static constexpr uint32_t kDropped = std::numeric_limits<uint32_t>::max();

  // A cached series text: its label set (index into series_ and batch_.series), or kDropped.
  struct Text {
    uint32_t series = kDropped;
    uint64_t seen = 0;  // The last scrape (generation) that had it.
  };
  // A final label set; its labels and samples are batch_.series at the same index.
  struct Series {
    uint64_t seen = 0;           // The last scrape that had it.
    bool own_timestamp = false;  // In the scrape `seen`, the first sample's.
    uint64_t stored = 0;         // The last successful scrape that had it.
    bool tracked = false;        // In the scrape `stored`: gets a stale marker when it vanishes.
  };

  // Hash and equality of label sets for by_labels_, which holds indices into batch_.series
  // and is searched by Labels: no serialized copy of each label set is kept.
  struct LabelsHash {
    using is_transparent = void;
    const std::vector<ingest::DecodedSeries>* series;
    size_t operator()(uint32_t i) const { return (*this)((*series)[i].labels); }
    size_t operator()(const Labels& labels) const;
  };
  struct LabelsEq {
    using is_transparent = void;
    const std::vector<ingest::DecodedSeries>* series;
    const Labels& Of(uint32_t i) const { return (*series)[i].labels; }
    const Labels& Of(const Labels& labels) const { return labels; }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return Of(a) == Of(b);
    }
  };

  // The label set of a text not known yet: target labels, relabeling, then its index or
  // kDropped.
  uint32_t Resolve(Labels* labels);
  bool InLastStored(const Series& s) const { return last_stored_ != 0 && s.stored == last_stored_; }
  void Evict();

  ScrapeLabeling labeling_;
  bool have_labeling_ = false;
  Labels target_labels_;  // A copy of labeling_.target_labels, to tell when they change.
  int64_t start_ms_ = 0;

  uint64_t gen_ = 0;          // The current (or last) scrape; 0 before the first.
  uint64_t last_stored_ = 0;  // The last successful scrape, when it was the one before; or 0.
  int64_t scraped_ = 0;
  int64_t post_relabel_ = 0;
  int64_t added_ = 0;

  absl::flat_hash_map<std::string, Text> by_text_;
  Text* hit_ = nullptr;  // Known()'s answer, for the Add() of the same line.
  std::vector<Series> series_;
  ingest::DecodedBatch batch_;
  absl::flat_hash_set<uint32_t, LabelsHash, LabelsEq> by_labels_;  // Indices into series_.
};

}  // namespace ember::server

#endif  // EMBER_SERVER_SCRAPE_SCRAPE_CACHE_H_
