#include "server/scrape/scrape_cache.h"

#include <tuple>
#include <utility>

#include "absl/hash/hash.h"
#include "server/scrape/scrape_target.h"
#include "util/strings.h"

namespace ember::server {
ScrapeCache::ScrapeCache() : by_labels_(0, LabelsHash{&batch_.series}, LabelsEq{&batch_.series}) {}

size_t ScrapeCache::LabelsHash::operator()(const Labels& labels) const {
  size_t h = labels.size();
  for (const Label& l : labels) {
    h = absl::Hash<std::tuple<size_t, absl::string_view, absl::string_view>>{}(
        std::make_tuple(h, util::AsAbsl(l.name), util::AsAbsl(l.value)));
  }
  return h;
}

void ScrapeCache::Begin(const ScrapeLabeling& labeling, int64_t start_ms) {
  const bool same = have_labeling_ && labeling.relabeler == labeling_.relabeler &&
                    labeling.honor_labels == labeling_.honor_labels &&
                    *labeling.target_labels == target_labels_;
  if (!same) {
    // What the texts map to may differ now; the label sets stay, for staleness.
    by_text_.clear();
    target_labels_ = *labeling.target_labels;
    have_labeling_ = true;
  }
  labeling_ = labeling;
  start_ms_ = start_ms;
  ++gen_;
  scraped_ = 0;
  post_relabel_ = 0;
  added_ = 0;
  hit_ = nullptr;
}

bool ScrapeCache::Known(std::string_view series) {
  auto it = by_text_.find(util::AsAbsl(series));
  hit_ = it != by_text_.end() ? &it->second : nullptr;
  return hit_ != nullptr;
}

void ScrapeCache::Add(std::string_view series, Labels* labels, const Sample& sample,
                      uint32_t line) {
  ++scraped_;
  uint32_t index;
  if (labels == nullptr) {
    hit_->seen = gen_;
    index = hit_->series;
  } else {
    index = Resolve(labels);
    by_text_.insert_or_assign(std::string(series), Text{index, gen_});
  }
  hit_ = nullptr;
  if (index == kDropped) return;
  ++post_relabel_;
  Series& s = series_[index];
  ingest::DecodedSeries& out = batch_.series[index];
  const bool own_timestamp = sample.t != kNoTimestamp && labeling_.honor_timestamps;
  if (s.seen != gen_) {
    s.seen = gen_;
    s.own_timestamp = own_timestamp;
    out.position = line;
    if (!InLastStored(s)) ++added_;
  }
  out.samples.push_back(Sample{own_timestamp ? sample.t : start_ms_, sample.v});
}

uint32_t ScrapeCache::Resolve(Labels* labels) {
  AddTargetLabels(*labeling_.target_labels, labeling_.honor_labels, labels);
  if (labeling_.relabeler != nullptr) {
    if (!labeling_.relabeler->Apply(labels)) return kDropped;
  } else {
    CanonicalizeLabels(labels);
  }
  if (auto it = by_labels_.find(*labels); it != by_labels_.end()) return *it;
  const auto index = static_cast<uint32_t>(series_.size());
  series_.emplace_back();
  batch_.series.emplace_back().labels = std::move(*labels);
  by_labels_.insert(index);
  return index;
}

void ScrapeCache::MarkVanished() {
  for (size_t i = 0; i < series_.size(); ++i) {
    const Series& s = series_[i];
    if (s.seen == gen_ || !InLastStored(s) || !s.tracked) continue;
    batch_.series[i].samples.push_back(Sample{start_ms_, StaleNaN()});
  }
}

void ScrapeCache::End(bool stored) {
  for (size_t i = 0; i < series_.size(); ++i) {
    Series& s = series_[i];
    if (stored && s.seen == gen_) {
      s.stored = gen_;
      s.tracked = !s.own_timestamp;
    }
    batch_.series[i].samples.clear();
  }
  last_stored_ = stored ? gen_ : 0;
  Evict();
}

void ScrapeCache::Evict() {
  // Kept: seen in this scrape or the one before. A text's label set was seen whenever the
  // text was, so no kept text points at a dropped label set.
  const auto stale = [this](uint64_t seen) { return seen + 1 < gen_; };
  absl::erase_if(by_text_, [&](const auto& kv) { return stale(kv.second.seen); });
  bool any = false;
  for (const Series& s : series_) any = any || stale(s.seen);
  if (!any) return;
  // Compacts series_ and batch_.series alike, then renumbers the maps.
  std::vector<uint32_t> renumber(series_.size(), kDropped);
  size_t kept = 0;
  for (size_t i = 0; i < series_.size(); ++i) {
    if (stale(series_[i].seen)) continue;
    renumber[i] = static_cast<uint32_t>(kept);
    if (kept != i) {
      series_[kept] = series_[i];
      batch_.series[kept] = std::move(batch_.series[i]);
    }
    ++kept;
  }
  series_.resize(kept);
  batch_.series.resize(kept);
  for (auto& [text, t] : by_text_) {
    if (t.series != kDropped) t.series = renumber[t.series];
  }
  by_labels_.clear();
  for (uint32_t i = 0; i < kept; ++i) by_labels_.insert(i);
}

void ScrapeCache::AppendStaleMarkers(int64_t t, ingest::DecodedBatch* out) const {
  for (size_t i = 0; i < series_.size(); ++i) {
    const Series& s = series_[i];
    if (!InLastStored(s) || !s.tracked) continue;
    ingest::DecodedSeries& stale = out->series.emplace_back();
    stale.labels = batch_.series[i].labels;
    stale.samples.push_back(Sample{t, StaleNaN()});
  }
}

void ScrapeCache::Clear() {
  by_text_.clear();
  by_labels_.clear();
  series_.clear();
  batch_.series.clear();
  have_labeling_ = false;
  target_labels_.clear();
  labeling_ = ScrapeLabeling{};
  last_stored_ = 0;
  hit_ = nullptr;
}

}  // namespace ember::server
