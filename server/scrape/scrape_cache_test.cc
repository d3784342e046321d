// Tests of a scrape loop's series cache (scrape_cache.h), fed by the text format parser as the
// loop feeds it: the same samples and labels as parsing and labeling every line, reloads that
// change target labels or metric_relabel_configs taking effect for cached series, stale markers
// for vanished series, and texts and label sets dropped once unseen. Then, through a
// ScrapeManager scraping real HTTP targets, a reload that renames the series of a running loop.
#include "server/scrape/scrape_cache.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ember/sample.h"
#include "ingest/text_format.h"
#include "server/scrape/relabel_testing.h"
#include "server/scrape/scrape_target.h"
#include "server/scrape/scrape_test_util.h"

namespace ember::server {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

std::shared_ptr<const Relabeler> Relabel(std::vector<RelabelConfig> steps) {
  return scrape_test::Compile(std::move(steps));
}

// `{labels} t=v` per sample, sorted; stale markers as "stale".
std::string Render(const Labels& labels, const Sample& s) {
  return absl::StrCat(LabelsToString(labels), " ", s.t, "=",
                      IsStaleNaN(s.v) ? std::string("stale") : absl::StrCat(s.v));
}
std::vector<std::string> Render(const ingest::DecodedBatch& batch) {
  std::vector<std::string> out;
  for (const ingest::DecodedSeries& s : batch.series) {
    for (const Sample& sample : s.samples) out.push_back(Render(s.labels, sample));
  }
  std::sort(out.begin(), out.end());
  return out;
}

class ScrapeCacheTest : public ::testing::Test {
 protected:
  ScrapeLabeling Labeling() const {
    ScrapeLabeling l;
    l.target_labels = &target_labels_;
    l.honor_labels = honor_labels_;
    l.honor_timestamps = honor_timestamps_;
    l.relabeler = relabeler_;
    return l;
  }
  // One scrape's parse into `cache` at `t`, as the loop does it.
  absl::Status Parse(ScrapeCache* cache, const std::string& body, int64_t t) {
    cache->Begin(Labeling(), t);
    ingest::TextFormatOptions options;
    options.default_timestamp_ms = kNoTimestamp;
    return ingest::ParseTextFormat(body, options, cache);
  }
  // The samples `cache` has for a successful scrape of `body` at `t`, stale markers included;
  // ends the scrape as stored.
  std::vector<std::string> Scrape(ScrapeCache* cache, const std::string& body, int64_t t) {
    EXPECT_TRUE(Parse(cache, body, t).ok());
    cache->MarkVanished();
    std::vector<std::string> out = Render(cache->batch());
    cache->End(/*stored=*/true);
    return out;
  }
  // Without a cache: every line parsed, then labeled as scrape_ingest.cc did before the cache.
  std::vector<std::string> Reference(const std::string& body, int64_t t) const {
    ingest::TextFormatOptions options;
    options.default_timestamp_ms = kNoTimestamp;
    ingest::DecodedBatch batch;
    EXPECT_TRUE(ingest::ParseTextFormat(body, options, &batch).ok());
    std::vector<std::string> out;
    for (ingest::DecodedSeries& s : batch.series) {
      AddTargetLabels(target_labels_, honor_labels_, &s.labels);
      if (relabeler_ != nullptr) {
        if (!relabeler_->Apply(&s.labels)) continue;
      } else {
        CanonicalizeLabels(&s.labels);
      }
      for (Sample sample : s.samples) {
        if (sample.t == kNoTimestamp || !honor_timestamps_) sample.t = t;
        out.push_back(Render(s.labels, sample));
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  Labels target_labels_ = {{"instance", "host:9100"}, {"job", "node"}};
  bool honor_labels_ = false;
  bool honor_timestamps_ = true;
  std::shared_ptr<const Relabeler> relabeler_;
};

TEST_F(ScrapeCacheTest, StoresWhatParsingAndLabelingEveryLineStores) {
  relabeler_ = Relabel({Filter(RelabelAction::kDrop, {"__name__"}, "dropped_.*"),
                        Replace({"path"}, "/api/(.*)", "endpoint", "$1"),
                        NameFilter(RelabelAction::kLabelDrop, "shard")});
  const auto body = [](int n) {
    return absl::StrFormat(
        "# TYPE req counter\n"
        "req{path=\"/api/a\",code=\"200\"} %d\n"
        "req {code=\"200\", path=\"/api/a\",} %d\n"  // The same label set, written otherwise.
        "req{path=\"/api/\\\"q}\\\\\",job=\"exposed\"} %d\n"
        "req{path=\"/x\",shard=\"1\"} 1\n"
        "req{path=\"/x\",shard=\"2\"} 2\n"  // Also the same label set once shard is dropped.
        "dropped_total %d\n"
        "{\"dotted.name\",instance=\"other\"} %d 1000\n"
        "plain %d\n",
        n, n + 1, n * 2, n, n * 3, n * 4);
  };
  ScrapeCache cache;
  for (int n = 1; n <= 3; ++n) {
    SCOPED_TRACE(n);
    const int64_t t = n * 15'000;
    EXPECT_EQ(Scrape(&cache, body(n), t), Reference(body(n), t));
    EXPECT_EQ(cache.scraped(), 8);
    EXPECT_EQ(cache.post_relabel(), 7);
    EXPECT_EQ(cache.added(), n == 1 ? 5 : 0);
  }
  EXPECT_EQ(cache.texts(), 8u);
  EXPECT_EQ(cache.label_sets(), 5u);
}

TEST_F(ScrapeCacheTest, HonorLabelsChangeNothingInTheCachedPath) {
  honor_labels_ = true;
  const std::string body = "m{job=\"app\",zone=\"z\"} 1\nm{zone=\"y\"} 2\n";
  ScrapeCache cache;
  EXPECT_EQ(Scrape(&cache, body, 1000), Reference(body, 1000));
  EXPECT_EQ(Scrape(&cache, body, 2000), Reference(body, 2000));
}

TEST_F(ScrapeCacheTest, ReloadedRelabelConfigAppliesToCachedSeries) {
  relabeler_ = Relabel({Replace({"code"}, "(.*)", "status", "$1")});
  ScrapeCache cache;
  const std::string body = "req{code=\"200\"} 1\n";
  Scrape(&cache, body, 1000);
  relabeler_ = Relabel({Replace({"code"}, "(.*)", "rc", "$1")});  // A reload compiles anew.
  EXPECT_THAT(
      Scrape(&cache, body, 2000),
      ElementsAre(
          "{__name__=\"req\", code=\"200\", instance=\"host:9100\", job=\"node\", rc=\"200\"} "
          "2000=1",
          "{__name__=\"req\", code=\"200\", instance=\"host:9100\", job=\"node\", "
          "status=\"200\"} 2000=stale"));
  EXPECT_EQ(cache.added(), 1);
}

TEST_F(ScrapeCacheTest, ChangedTargetLabelsApplyToCachedSeries) {
  ScrapeCache cache;
  Scrape(&cache, "m 1\n", 1000);
  target_labels_ = {{"instance", "host:9100"}, {"job", "renamed"}};
  EXPECT_THAT(Scrape(&cache, "m 1\n", 2000),
              ElementsAre("{__name__=\"m\", instance=\"host:9100\", job=\"node\"} 2000=stale",
                          "{__name__=\"m\", instance=\"host:9100\", job=\"renamed\"} 2000=1"));
}

TEST_F(ScrapeCacheTest, VanishedSeriesGetsOneStaleMarker) {
  ScrapeCache cache;
  Scrape(&cache, "a 1\nb 1\n", 1000);
  EXPECT_THAT(Scrape(&cache, "a 2\n", 2000),
              ElementsAre("{__name__=\"a\", instance=\"host:9100\", job=\"node\"} 2000=2",
                          "{__name__=\"b\", instance=\"host:9100\", job=\"node\"} 2000=stale"));
  EXPECT_THAT(Scrape(&cache, "a 3\n", 3000),
              ElementsAre("{__name__=\"a\", instance=\"host:9100\", job=\"node\"} 3000=3"));
  // Back after going stale: added again.
  Scrape(&cache, "a 4\nb 4\n", 4000);
  EXPECT_EQ(cache.added(), 1);
}

TEST_F(ScrapeCacheTest, OnlySeriesWithoutTheirOwnTimestampGoStale) {
  ScrapeCache cache;
  Scrape(&cache, "own 1 500\nscraped 1\n", 1000);
  EXPECT_THAT(Scrape(&cache, "", 2000),
              ElementsAre("{__name__=\"scraped\", instance=\"host:9100\", job=\"node\"} "
                          "2000=stale"));

  honor_timestamps_ = false;  // Then every sample is at the scrape's time, and tracked.
  ScrapeCache ignored;
  Scrape(&ignored, "own 1 500\n", 1000);
  EXPECT_THAT(Scrape(&ignored, "", 2000),
              ElementsAre("{__name__=\"own\", instance=\"host:9100\", job=\"node\"} 2000=stale"));
}

TEST_F(ScrapeCacheTest, FailedScrapeMarksTheStoredSeriesStaleOnceAndStartsOver) {
  ScrapeCache cache;
  Scrape(&cache, "a 1\nb 1\n", 1000);
  // A body that fails half-way: its first line was taken, yet the stale markers are for the
  // series of the last stored scrape.
  EXPECT_FALSE(Parse(&cache, "a 2\nbad line\n", 2000).ok());
  ingest::DecodedBatch stale;
  cache.AppendStaleMarkers(2000, &stale);
  EXPECT_THAT(Render(stale),
              ElementsAre("{__name__=\"a\", instance=\"host:9100\", job=\"node\"} 2000=stale",
                          "{__name__=\"b\", instance=\"host:9100\", job=\"node\"} 2000=stale"));
  cache.End(/*stored=*/false);

  ingest::DecodedBatch none;
  cache.AppendStaleMarkers(2500, &none);
  EXPECT_THAT(none.series, IsEmpty()) << "marked once";
  EXPECT_THAT(Scrape(&cache, "a 3\n", 3000),
              ElementsAre("{__name__=\"a\", instance=\"host:9100\", job=\"node\"} 3000=3"));
  EXPECT_EQ(cache.added(), 1) << "nothing was stored by the scrape before";
}

TEST_F(ScrapeCacheTest, AFailedFetchAlsoEndsTheStoredSet) {
  ScrapeCache cache;
  Scrape(&cache, "a 1\n", 1000);
  cache.End(/*stored=*/false);  // A fetch that failed: no Begin(), no body.
  EXPECT_THAT(Scrape(&cache, "", 2000), IsEmpty());
}

TEST_F(ScrapeCacheTest, TextsAndLabelSetsUnseenForTwoScrapesAreDropped) {
  ScrapeCache cache;
  Scrape(&cache, "a 1\nb 1\nc{x=\"1\"} 1\n", 1000);
  EXPECT_EQ(cache.texts(), 3u);
  Scrape(&cache, "a 1\n", 2000);
  EXPECT_EQ(cache.texts(), 3u) << "kept a scrape longer";
  EXPECT_EQ(cache.label_sets(), 3u);
  Scrape(&cache, "a 1\nc{x=\"1\"} 2\n", 3000);
  EXPECT_EQ(cache.texts(), 2u);
  EXPECT_EQ(cache.label_sets(), 2u);
  // What stays is renumbered correctly: the survivors still store under their own labels.
  EXPECT_THAT(Scrape(&cache, "c{x=\"1\"} 4\na 4\n", 4000),
              ElementsAre("{__name__=\"a\", instance=\"host:9100\", job=\"node\"} 4000=4",
                          "{__name__=\"c\", instance=\"host:9100\", job=\"node\", x=\"1\"} "
                          "4000=4"));
}

TEST_F(ScrapeCacheTest, ClearForgetsEverything) {
  ScrapeCache cache;
  Scrape(&cache, "a 1\n", 1000);
  cache.Clear();
  EXPECT_EQ(cache.texts(), 0u);
  ingest::DecodedBatch stale;
  cache.AppendStaleMarkers(2000, &stale);
  EXPECT_THAT(stale.series, IsEmpty());
}

// Through a ScrapeManager: a reload that renames a label of a target's series, which its loop
// has cached, stores them renamed from the next scrape on and marks the old names stale.
using ScrapeCacheReloadTest = scrape_test::ScrapeManagerTest;

TEST_F(ScrapeCacheReloadTest, RenamingRelabelConfigTakesEffectForCachedSeries) {
  scrape_test::TestTarget target(scrape_test::TestTarget::Text(
      [](int n) { return absl::StrFormat("req{code=\"200\"} %d\n", n); }));
  ScrapeConfig job = scrape_test::Job("reload", {target.address()});
  job.metric_relabeler = Relabel({Replace({"code"}, "(.*)", "status", "$1")});
  ASSERT_TRUE(manager_->ApplyConfig(scrape_test::WithJobs({job})).ok());
  ASSERT_TRUE(WaitForSamples("up", "reload", 3));  // Cached from the second scrape on.

  job.metric_relabeler = Relabel({Replace({"code"}, "(.*)", "rc", "$1")});
  ASSERT_TRUE(manager_->ApplyConfig(scrape_test::WithJobs({job})).ok());
  ASSERT_TRUE(scrape_test::WaitFor([&] {
    return !Select({{"__name__", "req"}, {"rc", "200"}}).empty() &&
           !Select({{"__name__", "req"}, {"status", "200"}}).empty();
  }));
  ASSERT_TRUE(scrape_test::WaitFor([&] {
    const auto old = Select({{"__name__", "req"}, {"status", "200"}});
    return !old.empty() && IsStaleNaN(old.begin()->second.back().v);
  }));
  const auto renamed = Select({{"__name__", "req"}, {"rc", "200"}});
  ASSERT_THAT(renamed, SizeIs(1));
  for (const Sample& s : renamed.begin()->second) EXPECT_FALSE(IsStaleNaN(s.v));
  const auto old = Select({{"__name__", "req"}, {"status", "200"}});
  const std::vector<Sample>& old_samples = old.begin()->second;
  EXPECT_GE(old_samples.size(), 3u);
  EXPECT_EQ(old_samples.back().t, renamed.begin()->second.front().t)
      << "stale at the first scrape after the reload";
}

}  // namespace
}  // namespace ember::server
