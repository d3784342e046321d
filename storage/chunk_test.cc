// Tests of the sealed chunk codec: bit-exact round trips, the value mode each kind of series
// gets (the layout of docs/format/chunk.md is read back here, so a change to it shows), and
// that no byte string can crash the decoder.
#include "storage/chunk.h"

#include <algorithm>
#include <bit>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "examples/model-serving/scrape_data.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "util/coding.h"

namespace ember::storage {
namespace {

using ::testing::HasSubstr;

// Value modes as docs/format/chunk.md numbers them.
constexpr int kConstant = 1;
constexpr int kScaledDelta = 2;
constexpr int kScaledDeltaOfDelta = 3;
constexpr int kScaledDeltaRuns = 4;
constexpr int kXor = 5;

uint64_t Bits(double v) { return std::bit_cast<uint64_t>(v); }
double FromBits(uint64_t b) { return std::bit_cast<double>(b); }

// Where the parts of a chunk start, read with util/coding.h straight from the documented layout.
struct Layout {
  size_t ts_start = 0;
  size_t values_start = 0;
  int value_mode = 0;
  int decimals = -1;  // Scaled modes only.
};

Layout ParseLayout(const std::string& chunk) {
  std::string_view in(chunk);
  Layout layout;
  EXPECT_EQ(in[0], 1) << "encoding byte";
  in.remove_prefix(1);
  uint64_t n = 0, zz_min_t = 0, span = 0, ts_len = 0;
  EXPECT_TRUE(GetVarint64(&in, &n) && GetVarint64(&in, &zz_min_t) && GetVarint64(&in, &span) &&
              GetVarint64(&in, &ts_len));
  layout.ts_start = chunk.size() - in.size();
  layout.values_start = layout.ts_start + ts_len;
  layout.value_mode = static_cast<uint8_t>(chunk[layout.values_start]);
  if (layout.value_mode >= kScaledDelta && layout.value_mode <= kScaledDeltaRuns) {
    layout.decimals = static_cast<uint8_t>(chunk[layout.values_start + 1]);
  }
  return layout;
}

bool IsScaled(int mode) { return mode >= kScaledDelta && mode <= kScaledDeltaRuns; }

std::vector<Sample> WithValues(const std::vector<int64_t>& ts, const std::vector<double>& vs) {
  std::vector<Sample> out;
  for (size_t i = 0; i < ts.size(); ++i) out.push_back({ts[i], vs[i]});
  return out;
}

// 15 s scrapes with ±25 ms of jitter, like a real target.
std::vector<int64_t> ScrapeTimes(int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<int64_t> ts;
  for (int i = 0; i < n; ++i) {
    ts.push_back(1'700'000'000'000 + int64_t{i} * 15'000 + static_cast<int64_t>(rng() % 51) - 25);
  }
  return ts;
}

std::vector<double> CounterValues(int n, uint64_t seed, int max_step) {
  std::mt19937_64 rng(seed);
  std::vector<double> vs;
  double v = 123456;
  for (int i = 0; i < n; ++i) {
    v += static_cast<double>(rng() % (max_step + 1));
    vs.push_back(v);
  }
  return vs;
}

void ExpectRoundTrip(const std::vector<Sample>& samples) {
  const std::string chunk = EncodeChunk(samples);
  std::vector<Sample> got;
  ASSERT_TRUE(DecodeChunk(chunk, &got).ok()) << DecodeChunk(chunk, &got);
  ASSERT_EQ(got.size(), samples.size());
  for (size_t i = 0; i < samples.size(); ++i) {
    ASSERT_TRUE(SameSample(got[i], samples[i]))
        << "sample " << i << ": want t=" << samples[i].t << " bits=" << std::hex
        << Bits(samples[i].v) << ", got t=" << std::dec << got[i].t << " bits=" << std::hex
        << Bits(got[i].v);
  }
  absl::StatusOr<ChunkMeta> meta = ReadChunkMeta(chunk);
  ASSERT_TRUE(meta.ok()) << meta.status();
  EXPECT_EQ(meta->num_samples, static_cast<int>(samples.size()));
  EXPECT_EQ(meta->min_t, samples.front().t);
  EXPECT_EQ(meta->max_t, samples.back().t);
}

// Values no scaled form fits: the XOR fallback.
std::vector<double> RandomDoubles(int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> dist(-1e6, 1e6);
  std::vector<double> vs;
  for (int i = 0; i < n; ++i) vs.push_back(dist(rng));
  return vs;
}

// Values of every kind the modes treat differently.
std::vector<double> EdgeValues() {
  return {0.0,
          -0.0,
          1.0,
          -1.0,
          std::numeric_limits<double>::infinity(),
          -std::numeric_limits<double>::infinity(),
          DBL_MAX,
          -DBL_MAX,
          DBL_MIN,
          std::numeric_limits<double>::denorm_min(),
          -std::numeric_limits<double>::denorm_min(),
          FromBits(0x000fffffffffffffULL),  // Largest denormal.
          StaleNaN(),
          FromBits(0x7ff8000000000000ULL),  // Quiet NaN.
          FromBits(0xfff8000000000000ULL),  // Negative quiet NaN.
          FromBits(0x7ff0000000000001ULL),  // Smallest signalling payload.
          FromBits(0x7fffffffffffffffULL),
          FromBits(0xffffffffffffffffULL),
          0x1p53,
          0x1p53 + 2,
          -0x1p53,
          0x1p53 - 1,
          -(0x1p53 - 1),
          0.1,
          0.73,
          41.7,
          1e-9,
          123456.789,
          9007199254.740991,
          1e300};
}

TEST(ChunkTest, RoundTripsRandomDoublesBitExactly) {
  for (int n : {1, 2, 3, 7, 120, 1000}) {
    for (uint64_t seed : {1, 2, 3}) {
      SCOPED_TRACE(testing::Message() << "n=" << n << " seed=" << seed);
      ExpectRoundTrip(WithValues(ScrapeTimes(n, seed), RandomDoubles(n, seed)));
    }
  }
}

TEST(ChunkTest, RoundTripsRandomBitPatternsBitExactly) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 50; ++round) {
    const int n = 1 + static_cast<int>(rng() % 200);
    std::vector<double> vs;
    for (int i = 0; i < n; ++i) vs.push_back(FromBits(rng()));
    ExpectRoundTrip(WithValues(ScrapeTimes(n, round), vs));
  }
}

TEST(ChunkTest, RoundTripsEveryNaNPayloadBitExactly) {
  // Both signs, quiet and signalling, payloads from 1 bit to all 51 bits, and random ones; alone
  // (constant), among integers (exceptions) and among arbitrary doubles (XOR).
  std::vector<uint64_t> nans;
  for (uint64_t sign : {0ULL, 1ULL << 63}) {
    for (int bit = 0; bit < 52; ++bit) nans.push_back(sign | 0x7ff0000000000000ULL | (1ULL << bit));
    nans.push_back(sign | 0x7fffffffffffffffULL);
  }
  std::mt19937_64 rng(11);
  for (int i = 0; i < 64; ++i) {
    uint64_t payload = rng() & 0x000fffffffffffffULL;
    if (payload == 0) payload = 1;
    nans.push_back((rng() & (1ULL << 63)) | 0x7ff0000000000000ULL | payload);
  }
  for (uint64_t nan : nans) {
    SCOPED_TRACE(testing::Message() << std::hex << "nan=" << nan);
    ASSERT_TRUE(std::isnan(FromBits(nan)));
    const std::vector<int64_t> ts = ScrapeTimes(10, nan);
    ExpectRoundTrip(WithValues(ts, std::vector<double>(10, FromBits(nan))));
    std::vector<double> ints = CounterValues(10, 1, 100);
    ints[4] = FromBits(nan);
    ExpectRoundTrip(WithValues(ts, ints));
    std::vector<double> doubles = RandomDoubles(10, 1);
    doubles[4] = FromBits(nan);
    ExpectRoundTrip(WithValues(ts, doubles));
  }
}

TEST(ChunkTest, RoundTripsEdgeValuesInEveryPosition) {
  const std::vector<double> edges = EdgeValues();
  for (double edge : edges) {
    SCOPED_TRACE(testing::Message() << std::hex << "value bits=" << Bits(edge));
    const std::vector<int64_t> ts = ScrapeTimes(20, 5);
    ExpectRoundTrip(WithValues({ts[0]}, {edge}));
    ExpectRoundTrip(WithValues(ts, std::vector<double>(20, edge)));
    for (int pos : {0, 9, 19}) {
      std::vector<double> ints = CounterValues(20, 2, 50);
      ints[pos] = edge;
      ExpectRoundTrip(WithValues(ts, ints));
      std::vector<double> decimals(20);
      for (int i = 0; i < 20; ++i) decimals[i] = (50 + i) / 100.0;
      decimals[pos] = edge;
      ExpectRoundTrip(WithValues(ts, decimals));
    }
  }
  // All of them together, twice over, in a 1000-sample chunk.
  std::vector<double> mixed;
  std::mt19937_64 rng(3);
  for (int i = 0; i < 1000; ++i) mixed.push_back(edges[rng() % edges.size()]);
  ExpectRoundTrip(WithValues(ScrapeTimes(1000, 4), mixed));
}

TEST(ChunkTest, RoundTripsExtremeTimestamps) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  const std::vector<std::vector<int64_t>> cases = {
      {kMin},
      {kMax},
      {kMin, kMax},
      {kMin + 1, kMax},
      {kMin, 0, kMax},
      {kMin, kMin + 1, kMax - 1, kMax},
      {-5, -4, 0, 1, 1LL << 40, (1LL << 40) + 1},
      {0, 1, kMax / 2, kMax / 2 + 1, kMax},
      {-1'000'000'000'000, 1'700'000'000'000, 1'700'000'000'001}};
  for (const auto& ts : cases) {
    SCOPED_TRACE(testing::Message() << "first t=" << ts[0] << " n=" << ts.size());
    ExpectRoundTrip(WithValues(ts, std::vector<double>(ts.size(), 1.5)));
    ExpectRoundTrip(WithValues(ts, RandomDoubles(static_cast<int>(ts.size()), 9)));
  }
}

TEST(ChunkTest, RoundTripsSingleSampleChunksOfEveryMode) {
  for (double v : EdgeValues()) {
    SCOPED_TRACE(testing::Message() << std::hex << "value bits=" << Bits(v));
    ExpectRoundTrip({{1'700'000'000'000, v}});
  }
}

TEST(ChunkTest, RoundTripsTheLargestChunk) {
  constexpr int kN = 65535;
  std::vector<int64_t> ts;
  for (int i = 0; i < kN; ++i) ts.push_back(int64_t{i} * 1000 + (i % 7));
  ExpectRoundTrip(WithValues(ts, CounterValues(kN, 8, 1000)));
  ExpectRoundTrip(WithValues(ts, RandomDoubles(kN, 8)));
}

TEST(ChunkTest, IntegerCountersUseIntegerMode) {
  const std::vector<int64_t> ts = ScrapeTimes(120, 1);
  // Baseline: the same timestamps with a constant value, so the difference is the values' cost.
  const size_t base = EncodeChunk(WithValues(ts, std::vector<double>(120, 0.0))).size();
  // (A counter stepping by 0 or 1 is smaller as XOR bits: a few bits a sample.)
  for (int max_step : {0, 60, 5000}) {
    SCOPED_TRACE(testing::Message() << "max_step=" << max_step);
    const std::vector<Sample> samples = WithValues(ts, CounterValues(120, 2, max_step));
    const std::string chunk = EncodeChunk(samples);
    const Layout layout = ParseLayout(chunk);
    EXPECT_TRUE(IsScaled(layout.value_mode)) << layout.value_mode;
    EXPECT_EQ(layout.decimals, 0);
    // A zigzag varint delta of up to 60 takes one byte, up to 8191 two.
    const size_t per_sample = max_step <= 60 ? 1 : 2;
    EXPECT_LE(chunk.size(), base + 120 * per_sample + 4);
    ExpectRoundTrip(samples);
  }
}

TEST(ChunkTest, SlowCountersCollapseRunsOfZeroDeltas) {
  const std::vector<int64_t> ts = ScrapeTimes(120, 1);
  std::vector<double> vs(120, 7.0);
  vs[40] = vs[41] = 8.0;
  for (int i = 42; i < 120; ++i) vs[i] = 9.0;
  const std::string chunk = EncodeChunk(WithValues(ts, vs));
  const Layout layout = ParseLayout(chunk);
  EXPECT_EQ(layout.value_mode, kScaledDeltaRuns);
  EXPECT_LE(chunk.size() - layout.values_start, 12u);
  ExpectRoundTrip(WithValues(ts, vs));
}

TEST(ChunkTest, SteadyRatesUseDeltaOfDelta) {
  // A counter growing by ~1 MB a scrape with a little noise: the deltas take 3 bytes, their
  // differences one.
  const std::vector<int64_t> ts = ScrapeTimes(120, 1);
  std::vector<double> vs;
  double v = 1e9;
  for (int i = 0; i < 120; ++i) vs.push_back(v += 1'000'000 + (i * 7919) % 41);
  const std::string chunk = EncodeChunk(WithValues(ts, vs));
  const Layout layout = ParseLayout(chunk);
  EXPECT_EQ(layout.value_mode, kScaledDeltaOfDelta);
  EXPECT_LE(chunk.size() - layout.values_start, 2 + 5 + 4 + 119 + 1u);
  ExpectRoundTrip(WithValues(ts, vs));
}

TEST(ChunkTest, DecimalGaugesUseDecimalMode) {
  struct Case {
    std::string name;
    int decimals;
    double scale;
  };
  const Case cases[] = {{"ratios like 0.73", 2, 100},
                        {"tenths like 41.7", 1, 10},
                        {"milli like 0.123", 3, 1000},
                        {"micro like 0.005001", 6, 1e6}};
  std::mt19937_64 rng(5);
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::vector<int64_t> ts = ScrapeTimes(120, 2);
    std::vector<double> vs;
    int64_t m = 5000;
    for (int i = 0; i < 120; ++i) {
      m += static_cast<int64_t>(rng() % 21) - 10;  // Often not a multiple of 10: every digit.
      vs.push_back(static_cast<double>(m) / c.scale);
    }
    const std::string chunk = EncodeChunk(WithValues(ts, vs));
    const Layout layout = ParseLayout(chunk);
    EXPECT_TRUE(IsScaled(layout.value_mode)) << layout.value_mode;
    EXPECT_EQ(layout.decimals, c.decimals);
    // Mode and exponent, m0, a byte per delta of at most ±10, no exceptions.
    EXPECT_LE(chunk.size() - layout.values_start, 2 + 2 + 119 + 1u);
    ExpectRoundTrip(WithValues(ts, vs));
  }
}

TEST(ChunkTest, StaleMarkerAtEndKeepsCompactMode) {
  const std::vector<int64_t> ts = ScrapeTimes(120, 3);
  std::vector<double> vs = CounterValues(120, 4, 50);
  const size_t without = EncodeChunk(WithValues(ts, vs)).size();
  vs.back() = StaleNaN();
  const std::string chunk = EncodeChunk(WithValues(ts, vs));
  const Layout layout = ParseLayout(chunk);
  EXPECT_TRUE(IsScaled(layout.value_mode)) << layout.value_mode;
  // The marker costs its position, its 8 bytes and a count.
  EXPECT_LE(chunk.size(), without + 11);
  ExpectRoundTrip(WithValues(ts, vs));
}

TEST(ChunkTest, FewOddValuesAreExceptionsNotAFallback) {
  const std::vector<int64_t> ts = ScrapeTimes(120, 3);
  std::vector<double> vs;
  for (int i = 0; i < 120; ++i) vs.push_back((700 + i % 13) / 1000.0);
  vs[0] = std::numeric_limits<double>::infinity();
  vs[30] = -0.0;
  vs[60] = FromBits(0x7ff4000000000123ULL);
  vs[90] = std::numeric_limits<double>::denorm_min();
  const std::string chunk = EncodeChunk(WithValues(ts, vs));
  const Layout layout = ParseLayout(chunk);
  EXPECT_TRUE(IsScaled(layout.value_mode)) << layout.value_mode;
  EXPECT_EQ(layout.decimals, 3);
  ExpectRoundTrip(WithValues(ts, vs));
}

TEST(ChunkTest, ConstantSeriesTakeAFewBytes) {
  const std::vector<int64_t> ts = ScrapeTimes(120, 3);
  for (double v : {1.0, 0.0, 0.123456789123, -0.0, StaleNaN(), DBL_MAX}) {
    SCOPED_TRACE(testing::Message() << std::hex << "value bits=" << Bits(v));
    const std::string chunk = EncodeChunk(WithValues(ts, std::vector<double>(120, v)));
    const Layout layout = ParseLayout(chunk);
    EXPECT_LE(chunk.size() - layout.values_start, 10u);
    EXPECT_TRUE(layout.value_mode == kConstant || layout.value_mode == kScaledDeltaRuns)
        << layout.value_mode;
  }
}

TEST(ChunkTest, ArbitraryDoublesUseXor) {
  const std::vector<int64_t> ts = ScrapeTimes(120, 3);
  const std::string chunk = EncodeChunk(WithValues(ts, RandomDoubles(120, 3)));
  EXPECT_EQ(ParseLayout(chunk).value_mode, kXor);
}

TEST(ChunkTest, TimestampStreamDependsOnlyOnTimestamps) {
  // Series of one target share timestamps; their chunks must agree byte for byte up to the value
  // stream so zstd sees a repeat.
  const std::vector<int64_t> ts = ScrapeTimes(120, 6);
  const std::vector<std::vector<double>> values = {
      CounterValues(120, 1, 10), CounterValues(120, 2, 10000), RandomDoubles(120, 3),
      std::vector<double>(120, 1.0)};
  const std::string first = EncodeChunk(WithValues(ts, values[0]));
  const size_t prefix = ParseLayout(first).values_start;
  for (const auto& vs : values) {
    const std::string chunk = EncodeChunk(WithValues(ts, vs));
    ASSERT_EQ(ParseLayout(chunk).values_start, prefix);
    EXPECT_EQ(chunk.substr(0, prefix), first.substr(0, prefix));
  }
}

TEST(ChunkTest, DecodeAppendsAfterExistingSamples) {
  const std::vector<Sample> a = WithValues(ScrapeTimes(5, 1), CounterValues(5, 1, 9));
  const std::vector<Sample> b = WithValues(ScrapeTimes(7, 2), RandomDoubles(7, 2));
  std::vector<Sample> got;
  ASSERT_TRUE(DecodeChunk(EncodeChunk(a), &got).ok());
  ASSERT_TRUE(DecodeChunk(EncodeChunk(b), &got).ok());
  ASSERT_EQ(got.size(), 12u);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(SameSample(got[i], a[i]));
  for (int i = 0; i < 7; ++i) EXPECT_TRUE(SameSample(got[5 + i], b[i]));
}

// One chunk of each value mode, with exceptions where a mode has them.
std::vector<std::string> ChunksOfEveryMode() {
  const std::vector<int64_t> ts = ScrapeTimes(40, 9);
  std::vector<double> counter;  // Deltas 100, 1, 100, ...: plain deltas beat their differences.
  for (int i = 0; i < 40; ++i) counter.push_back(1000 + (i / 2) * 101 + (i % 2) * 100);
  counter.back() = StaleNaN();
  std::vector<double> slow(40, 3.0);
  slow[20] = 4.0;
  std::vector<double> steady;
  for (int i = 0; i < 40; ++i) steady.push_back(1e9 + i * 1'000'000.0 + (i * 31) % 7);
  std::vector<double> constant(40, 0.123456789123);
  constant[3] = -0.0;
  std::vector<std::string> chunks = {EncodeChunk(WithValues(ts, counter)),
                                     EncodeChunk(WithValues(ts, slow)),
                                     EncodeChunk(WithValues(ts, steady)),
                                     EncodeChunk(WithValues(ts, constant)),
                                     EncodeChunk(WithValues(ts, RandomDoubles(40, 9))),
                                     EncodeChunk(std::vector<Sample>{{5, 1.0}})};
  std::set<int> modes;
  for (const std::string& c : chunks) modes.insert(ParseLayout(c).value_mode);
  EXPECT_EQ(modes,
            (std::set<int>{kConstant, kScaledDelta, kScaledDeltaOfDelta, kScaledDeltaRuns, kXor}));
  return chunks;
}

TEST(ChunkTest, TruncatedIsDataLoss) {
  for (const std::string& chunk : ChunksOfEveryMode()) {
    for (size_t len = 0; len < chunk.size(); ++len) {
      SCOPED_TRACE(testing::Message() << "mode " << ParseLayout(chunk).value_mode << ", " << len
                                      << " of " << chunk.size() << " bytes");
      std::vector<Sample> out = {{1, 2.0}};
      const absl::Status s = DecodeChunk(chunk.substr(0, len), &out);
      EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
      EXPECT_THAT(std::string(s.message()), HasSubstr("at byte"));
      ASSERT_EQ(out.size(), 1u) << "a failed decode must leave *out as it was";
    }
  }
}

TEST(ChunkTest, TrailingBytesAreDataLoss) {
  for (const std::string& chunk : ChunksOfEveryMode()) {
    std::vector<Sample> out;
    EXPECT_EQ(DecodeChunk(chunk + '\0', &out).code(), absl::StatusCode::kDataLoss);
  }
}

TEST(ChunkTest, DataLossNamesTheByteOffset) {
  std::string chunk = EncodeChunk(WithValues(ScrapeTimes(10, 1), CounterValues(10, 1, 5)));
  const size_t values_start = ParseLayout(chunk).values_start;
  chunk[values_start] = 99;  // No such value mode.
  std::vector<Sample> out;
  const absl::Status s = DecodeChunk(chunk, &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("unknown value mode 99 at byte " + std::to_string(values_start)));
}

TEST(ChunkTest, AbsurdSampleCountIsDataLoss) {
  std::string chunk(1, '\x01');
  PutVarint64(&chunk, 1'000'000'000);  // num_samples
  PutVarint64(&chunk, 0);
  PutVarint64(&chunk, 5);
  PutVarint64(&chunk, 0);
  chunk += std::string(20, '\0');
  std::vector<Sample> out;
  const absl::Status s = DecodeChunk(chunk, &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(s.message()), HasSubstr("at byte 1"));
  EXPECT_EQ(ReadChunkMeta(chunk).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(out.capacity(), 0u);
}

TEST(ChunkTest, ReadChunkMetaRejectsDamagedHeaders) {
  const std::string chunk = EncodeChunk(WithValues(ScrapeTimes(10, 1), CounterValues(10, 1, 5)));
  const size_t ts_start = ParseLayout(chunk).ts_start;
  for (size_t len = 0; len < ts_start; ++len) {
    EXPECT_EQ(ReadChunkMeta(chunk.substr(0, len)).status().code(), absl::StatusCode::kDataLoss);
  }
  std::string wrong_version = chunk;
  wrong_version[0] = 2;
  EXPECT_EQ(ReadChunkMeta(wrong_version).status().code(), absl::StatusCode::kDataLoss);
}

// Whatever the bytes, DecodeChunk returns OK or DataLoss; an OK result is consistent with the
// header (count, first and last timestamp) and has increasing timestamps.
void ExpectDecodesSafely(std::string_view bytes) {
  std::vector<Sample> out;
  const absl::Status s = DecodeChunk(bytes, &out);
  absl::StatusOr<ChunkMeta> meta = ReadChunkMeta(bytes);
  if (!s.ok()) {
    ASSERT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
    ASSERT_TRUE(out.empty());
    return;
  }
  ASSERT_TRUE(meta.ok());
  ASSERT_EQ(out.size(), static_cast<size_t>(meta->num_samples));
  EXPECT_EQ(out.front().t, meta->min_t);
  EXPECT_EQ(out.back().t, meta->max_t);
  for (size_t i = 1; i < out.size(); ++i) ASSERT_LT(out[i - 1].t, out[i].t);
}

TEST(ChunkTest, RandomBytesNeverCrash) {
  std::mt19937_64 rng(13);
  for (int round = 0; round < 20000; ++round) {
    std::string bytes(rng() % 64, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    // Mostly a plausible first byte, so the fuzzing gets past it.
    if (!bytes.empty() && rng() % 4 != 0) bytes[0] = 1;
    ExpectDecodesSafely(bytes);
  }
}

TEST(ChunkTest, CorruptedChunksNeverCrash) {
  std::mt19937_64 rng(17);
  const std::vector<std::string> chunks = ChunksOfEveryMode();
  int decoded_ok = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string chunk = chunks[rng() % chunks.size()];
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const size_t pos = rng() % chunk.size();
      if (rng() % 2) {
        chunk[pos] = static_cast<char>(chunk[pos] ^ (1 << (rng() % 8)));
      } else {
        chunk[pos] = static_cast<char>(rng());
      }
    }
    ExpectDecodesSafely(chunk);
    std::vector<Sample> out;
    decoded_ok += DecodeChunk(chunk, &out).ok();
  }
  // Value bits are not checksummed, so some corruptions decode; most damage the structure.
  EXPECT_GT(decoded_ok, 0);
  EXPECT_LT(decoded_ok, 20000);
}

TEST(ChunkTest, RoundTripsTheScrapeDataSet) {
  model_serving::ScrapeDataOptions options;
  options.targets = 2;
  const auto series = model_serving::GenerateSeriesSamples(options, 240);
  ASSERT_FALSE(series.empty());
  std::map<int, int> modes;
  for (const std::vector<Sample>& samples : series) {
    for (size_t start = 0; start < samples.size(); start += kMaxSamplesPerChunk) {
      const std::vector<Sample> chunk(
          samples.begin() + start,
          samples.begin() + std::min(samples.size(), start + kMaxSamplesPerChunk));
      ExpectRoundTrip(chunk);
      ++modes[ParseLayout(EncodeChunk(chunk)).value_mode];
    }
  }
  // The data set has counters, decimal gauges, constants and never-round sums.
  EXPECT_GT(modes[kXor], 0);
  EXPECT_GT(modes[kScaledDelta] + modes[kScaledDeltaOfDelta] + modes[kScaledDeltaRuns], 0);
}

}  // namespace
}  // namespace ember::storage
