// Tests of the head's open chunk: bit-exact round trips, checkpoints that restore and keep
// appending, garbage that Restore() rejects without crashing, and the memory it holds.
#include "storage/head_chunk.h"

#include <bit>
#include <cfloat>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "examples/model-serving/scrape_data.h"
#include "gtest/gtest.h"
#include "storage/chunk.h"

namespace ember::storage {
namespace {

uint64_t Bits(double v) { return std::bit_cast<uint64_t>(v); }
double FromBits(uint64_t b) { return std::bit_cast<double>(b); }

// Per active series: the head keeps a million of these.
static_assert(sizeof(HeadChunk) <= 72);

std::vector<Sample> ScrapeSamples(int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Sample> out;
  double v = 1000;
  for (int i = 0; i < n; ++i) {
    v += static_cast<double>(rng() % 100);
    out.push_back(
        {1'700'000'000'000 + int64_t{i} * 15'000 + static_cast<int64_t>(rng() % 51) - 25, v});
  }
  return out;
}

std::vector<Sample> RandomSamples(int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Sample> out;
  int64_t t = static_cast<int64_t>(rng() >> 2);
  for (int i = 0; i < n; ++i) {
    // Steps from 1 ms to ~2^40 ms, so every timestamp bucket is used.
    t += 1 + static_cast<int64_t>(rng() >> (24 + rng() % 40));
    out.push_back({t, FromBits(rng())});
  }
  return out;
}

HeadChunk Build(const std::vector<Sample>& samples) {
  HeadChunk chunk;
  for (const Sample& s : samples) chunk.Append(s.t, s.v);
  return chunk;
}

void ExpectHolds(const HeadChunk& chunk, const std::vector<Sample>& want) {
  ASSERT_EQ(chunk.num_samples(), static_cast<int>(want.size()));
  ASSERT_EQ(chunk.empty(), want.empty());
  if (!want.empty()) {
    EXPECT_EQ(chunk.min_t(), want.front().t);
    EXPECT_EQ(chunk.max_t(), want.back().t);
  }
  std::vector<Sample> got;
  ASSERT_TRUE(chunk.Decode(&got).ok());
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_TRUE(SameSample(got[i], want[i]))
        << "sample " << i << ": want t=" << want[i].t << " bits=" << std::hex << Bits(want[i].v)
        << ", got t=" << std::dec << got[i].t << " bits=" << std::hex << Bits(got[i].v);
  }
}

TEST(HeadChunkTest, EmptyChunkDecodesToNothing) {
  HeadChunk chunk;
  EXPECT_TRUE(chunk.empty());
  EXPECT_EQ(chunk.HeapBytes(), 0u);
  ExpectHolds(chunk, {});
  absl::StatusOr<HeadChunk> restored = HeadChunk::Restore(chunk.Serialize());
  ASSERT_TRUE(restored.ok()) << restored.status();
  ExpectHolds(*restored, {});
}

TEST(HeadChunkTest, RoundTripsScrapeLikeSamples) {
  for (int n : {1, 2, 3, 120, 1000}) {
    SCOPED_TRACE(n);
    const std::vector<Sample> samples = ScrapeSamples(n, n);
    ExpectHolds(Build(samples), samples);
  }
}

TEST(HeadChunkTest, RoundTripsRandomBitsAndTimestampStepsBitExactly) {
  for (uint64_t seed = 0; seed < 20; ++seed) {
    SCOPED_TRACE(seed);
    const std::vector<Sample> samples = RandomSamples(300, seed);
    ExpectHolds(Build(samples), samples);
  }
}

TEST(HeadChunkTest, RoundTripsEdgeValuesBitExactly) {
  const std::vector<double> edges = {0.0,
                                     -0.0,
                                     std::numeric_limits<double>::infinity(),
                                     -std::numeric_limits<double>::infinity(),
                                     DBL_MAX,
                                     -DBL_MAX,
                                     DBL_MIN,
                                     std::numeric_limits<double>::denorm_min(),
                                     StaleNaN(),
                                     FromBits(0x7ff8000000000000ULL),
                                     FromBits(0xfff0000000000001ULL),
                                     FromBits(0x7fffffffffffffffULL),
                                     1.0,
                                     0.73};
  std::vector<Sample> samples;
  for (int round = 0; round < 3; ++round) {
    for (double v : edges) samples.push_back({static_cast<int64_t>(samples.size()) * 1000, v});
  }
  ExpectHolds(Build(samples), samples);
}

TEST(HeadChunkTest, RoundTripsExtremeTimestamps) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  const std::vector<std::vector<int64_t>> cases = {{kMin},
                                                   {kMax},
                                                   {kMin, kMax},
                                                   {kMin + 1, kMax},
                                                   {kMin, 0, kMax},
                                                   {kMin, kMin + 1, kMax - 1, kMax},
                                                   {0, 1, 2, 3, 1LL << 50, (1LL << 50) + 1}};
  for (const auto& ts : cases) {
    SCOPED_TRACE(testing::Message() << "first t=" << ts[0] << " n=" << ts.size());
    std::vector<Sample> samples;
    for (int64_t t : ts) samples.push_back({t, 2.5});
    const HeadChunk chunk = Build(samples);
    ExpectHolds(chunk, samples);
    absl::StatusOr<HeadChunk> restored = HeadChunk::Restore(chunk.Serialize());
    ASSERT_TRUE(restored.ok()) << restored.status();
    ExpectHolds(*restored, samples);
  }
}

TEST(HeadChunkTest, SerializeRestoreContinuesAppending) {
  const std::vector<Sample> samples = RandomSamples(200, 3);
  for (size_t cut : {size_t{1}, size_t{2}, size_t{50}, size_t{199}}) {
    SCOPED_TRACE(cut);
    HeadChunk original;
    for (size_t i = 0; i < cut; ++i) original.Append(samples[i].t, samples[i].v);
    absl::StatusOr<HeadChunk> restored = HeadChunk::Restore(original.Serialize());
    ASSERT_TRUE(restored.ok()) << restored.status();
    EXPECT_EQ(restored->Serialize(), original.Serialize());
    for (size_t i = cut; i < samples.size(); ++i) {
      original.Append(samples[i].t, samples[i].v);
      restored->Append(samples[i].t, samples[i].v);
    }
    EXPECT_EQ(restored->Serialize(), original.Serialize());
    ExpectHolds(*restored, samples);
  }
}

TEST(HeadChunkTest, MovedChunkKeepsItsSamples) {
  const std::vector<Sample> samples = ScrapeSamples(50, 1);
  HeadChunk a = Build(samples);
  HeadChunk b = std::move(a);
  ExpectHolds(b, samples);
}

TEST(HeadChunkTest, DecodeAppendsAfterExistingSamples) {
  const std::vector<Sample> samples = ScrapeSamples(10, 2);
  std::vector<Sample> got = {{1, 1.0}};
  ASSERT_TRUE(Build(samples).Decode(&got).ok());
  ASSERT_EQ(got.size(), 11u);
  EXPECT_TRUE(SameSample(got[1], samples[0]));
  EXPECT_TRUE(SameSample(got[10], samples[9]));
}

TEST(HeadChunkTest, RestoreRejectsEveryTruncation) {
  for (const std::vector<Sample>& samples :
       {ScrapeSamples(1, 1), ScrapeSamples(30, 1), RandomSamples(30, 1)}) {
    const std::string bytes = Build(samples).Serialize();
    for (size_t len = 0; len < bytes.size(); ++len) {
      SCOPED_TRACE(testing::Message() << len << " of " << bytes.size() << " bytes");
      absl::StatusOr<HeadChunk> restored = HeadChunk::Restore(bytes.substr(0, len));
      EXPECT_EQ(restored.status().code(), absl::StatusCode::kDataLoss) << restored.status();
    }
    EXPECT_EQ(HeadChunk::Restore(bytes + '\0').status().code(), absl::StatusCode::kDataLoss);
  }
}

TEST(HeadChunkTest, RestoreRejectsAnImpossibleSampleCount) {
  HeadChunk chunk = Build(ScrapeSamples(3, 1));
  std::string bytes = chunk.Serialize();
  bytes[1] = 0x7f;  // 127 samples in the same few bytes.
  EXPECT_EQ(HeadChunk::Restore(bytes).status().code(), absl::StatusCode::kDataLoss);
}

// Whatever the bytes, Restore() gives DataLoss or a chunk that decodes, has increasing
// timestamps, and takes more samples.
void ExpectRestoresSafely(std::string_view bytes) {
  absl::StatusOr<HeadChunk> restored = HeadChunk::Restore(bytes);
  if (!restored.ok()) {
    ASSERT_EQ(restored.status().code(), absl::StatusCode::kDataLoss) << restored.status();
    return;
  }
  std::vector<Sample> got;
  ASSERT_TRUE(restored->Decode(&got).ok());
  ASSERT_EQ(got.size(), static_cast<size_t>(restored->num_samples()));
  for (size_t i = 1; i < got.size(); ++i) ASSERT_LT(got[i - 1].t, got[i].t);
  if (!got.empty()) {
    EXPECT_EQ(restored->min_t(), got.front().t);
    EXPECT_EQ(restored->max_t(), got.back().t);
    if (got.back().t < std::numeric_limits<int64_t>::max()) {
      restored->Append(got.back().t + 1, 1.0);
      got.push_back({got.back().t + 1, 1.0});
      ExpectHolds(*restored, got);
    }
  }
}

TEST(HeadChunkTest, RestoreOfRandomBytesNeverCrashes) {
  std::mt19937_64 rng(21);
  for (int round = 0; round < 20000; ++round) {
    std::string bytes(rng() % 48, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    if (bytes.size() >= 3 && rng() % 4 != 0) {
      bytes[0] = 1;                                    // The format byte,
      bytes[1] = static_cast<char>(rng() % 8);         // a small count
      bytes[2] = static_cast<char>(bytes.size() - 3);  // and a matching length.
    }
    ExpectRestoresSafely(bytes);
  }
}

TEST(HeadChunkTest, RestoreOfCorruptedCheckpointsNeverCrashes) {
  std::mt19937_64 rng(23);
  const std::vector<std::string> checkpoints = {Build(ScrapeSamples(40, 4)).Serialize(),
                                                Build(RandomSamples(40, 4)).Serialize()};
  int restored_ok = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string bytes = checkpoints[rng() % checkpoints.size()];
    const size_t pos = rng() % bytes.size();
    bytes[pos] = static_cast<char>(bytes[pos] ^ (1 << (rng() % 8)));
    ExpectRestoresSafely(bytes);
    restored_ok += HeadChunk::Restore(bytes).ok();
  }
  EXPECT_GT(restored_ok, 0);  // Flipped value bits still decode: there is no checksum here.
  EXPECT_LT(restored_ok, 20000);
}

TEST(HeadChunkTest, HeapBytesGrowModestly) {
  HeadChunk chunk;
  const std::vector<Sample> samples = ScrapeSamples(120, 9);
  size_t prev = 0;
  for (const Sample& s : samples) {
    chunk.Append(s.t, s.v);
    const size_t heap = chunk.HeapBytes();
    EXPECT_GE(heap, prev);
    prev = heap;
  }
  const size_t used = chunk.Serialize().size();
  EXPECT_GE(prev, used - 4);           // The stream itself is on the heap...
  EXPECT_LE(prev, used * 3 / 2 + 40);  // ...with at most ~1.5x slack.
}

TEST(HeadChunkTest, ScrapeDataCostsAFewBytesPerSample) {
  model_serving::ScrapeDataOptions options;
  options.targets = 2;
  const auto series = model_serving::GenerateSeriesSamples(options, kMaxSamplesPerChunk);
  ASSERT_FALSE(series.empty());
  size_t heap = 0;
  size_t samples = 0;
  for (const std::vector<Sample>& s : series) {
    const HeadChunk chunk = Build(s);
    ExpectHolds(chunk, s);
    heap += chunk.HeapBytes();
    samples += s.size();
  }
  const double per_sample = static_cast<double>(heap) / static_cast<double>(samples);
  RecordProperty("heap_bytes_per_sample", std::to_string(per_sample));
  EXPECT_LE(per_sample, 4.0);
}

}  // namespace
}  // namespace ember::storage
