// Tests of the remote write 1.0 and 2.0 decoders and encoders: bit-exact round trips, metadata,
// and that no body, however broken, does more than return InvalidArgument. Malformed requests
// are written here byte by byte from the specifications' field numbers (not with the generated
// code), so these tests also check that ingest/proto/ agrees with the specs. The decoders read
// the wire format by hand (ingest/wire_reader.h); the last tests hold them to the generated
// parser's reading of thousands of mutated requests.
#include "ingest/remote_write.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ingest/proto/remote_v1.pb.h"
#include "ingest/proto/remote_v2.pb.h"

namespace ember::ingest {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// --- Protobuf wire format and snappy, by hand. ---------------------------------------------

void PutVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void PutTag(int field, int wire_type, std::string* out) { PutVarint(field << 3 | wire_type, out); }

void PutBytes(int field, std::string_view bytes, std::string* out) {
  PutTag(field, 2, out);
  PutVarint(bytes.size(), out);
  out->append(bytes);
}

void PutUint(int field, uint64_t v, std::string* out) {
  PutTag(field, 0, out);
  PutVarint(v, out);
}

void PutDouble(int field, double v, std::string* out) {
  PutTag(field, 1, out);
  const uint64_t bits = std::bit_cast<uint64_t>(v);
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(bits >> (8 * i)));
}

void PutPacked(int field, const std::vector<uint32_t>& values, std::string* out) {
  std::string packed;
  for (uint32_t v : values) PutVarint(v, &packed);
  PutBytes(field, packed, out);
}

// A snappy block made of literals only: the length header, then one literal element per
// (at most) 60 bytes, whose tag is (length - 1) << 2.
std::string SnappyLiterals(std::string_view raw) {
  std::string out;
  PutVarint(raw.size(), &out);
  while (!raw.empty()) {
    const size_t n = std::min<size_t>(raw.size(), 60);
    out.push_back(static_cast<char>((n - 1) << 2));
    out.append(raw.substr(0, n));
    raw.remove_prefix(n);
  }
  return out;
}

// A Sample, the same in 1.0 and 2.0 (value = 1, timestamp = 2).
std::string SampleMessage(double v, int64_t t) {
  std::string s;
  PutDouble(1, v, &s);
  PutUint(2, static_cast<uint64_t>(t), &s);
  return s;
}

// A 2.0 TimeSeries (labels_refs = 1, samples = 2, histograms = 3, metadata = 5).
std::string V2Series(const std::vector<uint32_t>& refs, int num_samples) {
  std::string ts;
  PutPacked(1, refs, &ts);
  for (int i = 0; i < num_samples; ++i) PutBytes(2, SampleMessage(i, 1000 + i), &ts);
  return ts;
}

// A 2.0 Request (symbols = 4, timeseries = 5), compressed.
std::string V2Request(const std::vector<std::string>& symbols,
                      const std::vector<std::string>& series) {
  std::string req;
  for (const std::string& s : symbols) PutBytes(4, s, &req);
  for (const std::string& ts : series) PutBytes(5, ts, &req);
  return SnappyLiterals(req);
}

// --- Batches to round-trip. --------------------------------------------------------------

uint64_t Bits(double v) { return std::bit_cast<uint64_t>(v); }

DecodedBatch SampleBatch() {
  DecodedBatch batch;
  batch.kind = PositionKind::kTimeseries;
  batch.series = {
      {{{"__name__", "http_requests_total"}, {"job", "api"}, {"code", "200"}},
       {{1'700'000'000'000, 1}, {1'700'000'015'000, 2.5}, {1'700'000'030'000, StaleNaN()}},
       0},
      {{{"__name__", "temperature_celsius"}, {"room", "a very long label value, not inline"}},
       {{-1, -0.0},
        {0, std::numeric_limits<double>::infinity()},
        {std::numeric_limits<int64_t>::max(), -std::numeric_limits<double>::infinity()},
        {std::numeric_limits<int64_t>::min(), std::numeric_limits<double>::quiet_NaN()},
        {42, std::numeric_limits<double>::denorm_min()}},
       1},
      {{{"__name__", "up"}}, {{5, 1}}, 2},
  };
  batch.metadata = {
      {"http_requests_total", "counter", "Requests served.", ""},
      {"temperature_celsius", "gauge", "Room temperature.", "celsius"},
  };
  return batch;
}

void ExpectSameSeries(const DecodedBatch& got, const DecodedBatch& want) {
  ASSERT_EQ(got.series.size(), want.series.size());
  for (size_t i = 0; i < want.series.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(got.series[i].position, want.series[i].position);
    EXPECT_EQ(got.series[i].labels, want.series[i].labels);
    ASSERT_EQ(got.series[i].samples.size(), want.series[i].samples.size());
    for (size_t j = 0; j < want.series[i].samples.size(); ++j) {
      SCOPED_TRACE(j);
      EXPECT_EQ(got.series[i].samples[j].t, want.series[i].samples[j].t);
      EXPECT_EQ(Bits(got.series[i].samples[j].v), Bits(want.series[i].samples[j].v));
    }
  }
}

void ExpectSameMetadata(const std::vector<MetricMetadata>& got,
                        const std::vector<MetricMetadata>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE(want[i].metric);
    EXPECT_EQ(got[i].metric, want[i].metric);
    EXPECT_EQ(got[i].type, want[i].type);
    EXPECT_EQ(got[i].help, want[i].help);
    EXPECT_EQ(got[i].unit, want[i].unit);
  }
}

// Both versions, for the tests that hold for each.
struct Version {
  const char* name;
  absl::Status (*decode)(std::string_view, DecodedBatch*);
  std::string (*encode)(const DecodedBatch&);
};
constexpr Version kVersions[] = {{"1.0", DecodeRemoteWriteV1, EncodeRemoteWriteV1},
                                 {"2.0", DecodeRemoteWriteV2, EncodeRemoteWriteV2}};

// --- Both versions. ------------------------------------------------------------------------

TEST(RemoteWriteTest, RoundTripKeepsLabelsTimestampsAndValueBits) {
  const DecodedBatch want = SampleBatch();
  for (const Version& version : kVersions) {
    SCOPED_TRACE(version.name);
    DecodedBatch got;
    ASSERT_TRUE(version.decode(version.encode(want), &got).ok());
    EXPECT_EQ(got.kind, PositionKind::kTimeseries);
    ExpectSameSeries(got, want);
    EXPECT_TRUE(IsStaleNaN(got.series[0].samples[2].v));
    // For 2.0 this also shows that the encoder starts the symbols with "": the decoder rejects
    // any other first symbol once labels refer into the table.
  }
}

TEST(RemoteWriteTest, RoundTripKeepsMetadata) {
  const DecodedBatch want = SampleBatch();
  for (const Version& version : kVersions) {
    SCOPED_TRACE(version.name);
    DecodedBatch got;
    ASSERT_TRUE(version.decode(version.encode(want), &got).ok());
    ExpectSameMetadata(got.metadata, want.metadata);
  }
}

TEST(RemoteWriteTest, RoundTripKeepsEveryMetricType) {
  for (const Version& version : kVersions) {
    SCOPED_TRACE(version.name);
    DecodedBatch want;
    for (std::string type : {"unknown", "counter", "gauge", "histogram", "gaugehistogram",
                             "summary", "info", "stateset"}) {
      const std::string metric = "m_" + type;
      want.series.push_back({{{"__name__", metric}}, {{1, 1}}, 0});
      // With a help text: 2.0 drops metadata whose every field is unset.
      want.metadata.push_back({metric, type, "Help.", ""});
    }
    DecodedBatch got;
    ASSERT_TRUE(version.decode(version.encode(want), &got).ok());
    ExpectSameMetadata(got.metadata, want.metadata);
  }
}

TEST(RemoteWriteTest, InvalidUtf8PassesThroughAsBytes) {
  const std::string bad = "\xff\xfe\xc3(";  // Not UTF-8; the write path rejects it by name.
  DecodedBatch want;
  want.series.push_back({{{"__name__", "x"}, {bad, bad + "v"}}, {{1, 1}}, 0});
  for (const Version& version : kVersions) {
    SCOPED_TRACE(version.name);
    DecodedBatch got;
    ASSERT_TRUE(version.decode(version.encode(want), &got).ok());
    ExpectSameSeries(got, want);
  }
}

TEST(RemoteWriteTest, EmptyBodyIsInvalidArgumentButAnEmptyMessageIsAnEmptyRequest) {
  ASSERT_EQ(EncodeRemoteWriteV1(DecodedBatch{}), std::string(1, '\0'));
  for (const Version& version : kVersions) {
    SCOPED_TRACE(version.name);
    DecodedBatch got;
    // Zero bytes are no snappy block: the length header is missing.
    const absl::Status s = version.decode("", &got);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(s.message(), HasSubstr("snappy: empty body is not a snappy block"));
    // An empty message, compressed, is a valid, empty request (in 1.0 the one byte 0x00).
    ASSERT_TRUE(version.decode(version.encode(DecodedBatch{}), &got).ok());
    EXPECT_EQ(got.kind, PositionKind::kTimeseries);
    EXPECT_THAT(got.series, IsEmpty());
    EXPECT_THAT(got.metadata, IsEmpty());
  }
}

TEST(RemoteWriteTest, AppendsToTheBatch) {
  const DecodedBatch one = SampleBatch();
  for (const Version& version : kVersions) {
    SCOPED_TRACE(version.name);
    DecodedBatch got;
    const std::string body = version.encode(one);
    ASSERT_TRUE(version.decode(body, &got).ok());
    ASSERT_TRUE(version.decode(body, &got).ok());
    ASSERT_EQ(got.series.size(), 2 * one.series.size());
    EXPECT_EQ(got.series.back().labels, one.series.back().labels);
    EXPECT_EQ(got.series.back().position, one.series.size() - 1);  // Within its own request.
  }
}

TEST(RemoteWriteTest, SeriesWithoutSamplesAreSkippedKeepingPositions) {
  DecodedBatch want;
  want.series = {{{{"__name__", "a"}}, {}, 0}, {{{"__name__", "b"}}, {{1, 2}}, 1}};
  for (const Version& version : kVersions) {
    SCOPED_TRACE(version.name);
    DecodedBatch got;
    ASSERT_TRUE(version.decode(version.encode(want), &got).ok());
    ASSERT_EQ(got.series.size(), 1u);
    EXPECT_EQ(got.series[0].labels, want.series[1].labels);
    EXPECT_EQ(got.series[0].position, 1u);
  }
}

TEST(RemoteWriteTest, TruncatedSnappyIsInvalidArgumentAtEveryLength) {
  for (const Version& version : kVersions) {
    SCOPED_TRACE(version.name);
    const std::string body = version.encode(SampleBatch());
    for (size_t n = 1; n < body.size(); ++n) {
      SCOPED_TRACE(n);
      DecodedBatch got;
      // A copy of just the prefix, so that AddressSanitizer would catch a read past it.
      const absl::Status s = version.decode(body.substr(0, n), &got);
      EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
      EXPECT_THAT(s.message(), HasSubstr("snappy: corrupt or truncated block"));
    }
  }
}

TEST(RemoteWriteTest, CorruptSnappyIsInvalidArgument) {
  // A literal that claims more bytes than the block has, and a copy reaching before the start.
  const std::string cases[] = {std::string("\x05\x10"
                                           "ab",
                                           4),
                               std::string("\x04\x01\x05", 3),
                               std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11)};
  for (const Version& version : kVersions) {
    SCOPED_TRACE(version.name);
    for (const std::string& body : cases) {
      DecodedBatch got;
      const absl::Status s = version.decode(body, &got);
      EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
      EXPECT_THAT(s.message(), HasSubstr("snappy: corrupt or truncated block"));
    }
  }
}

TEST(RemoteWriteTest, GarbageProtobufInValidSnappyIsInvalidArgument) {
  const std::string garbage[] = {
      std::string("\x0a\xff\x01", 3),              // Field 1, 255 bytes long, in a 3-byte message.
      std::string("\x0f", 1),                      // Wire type 7 does not exist.
      std::string("\x00\x01", 2),                  // Field number 0.
      std::string("\x2a\x05\x0a\x03\x0a\x01", 6),  // A message cut short inside another.
  };
  for (const Version& version : kVersions) {
    SCOPED_TRACE(version.name);
    for (const std::string& g : garbage) {
      DecodedBatch got;
      const absl::Status s = version.decode(SnappyLiterals(g), &got);
      EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
      EXPECT_THAT(s.message(), HasSubstr("protobuf: cannot parse"));
      EXPECT_THAT(s.message(), HasSubstr(absl::StrCat("(", g.size(), " bytes)")));
    }
  }
}

TEST(RemoteWriteTest, DecompressedSizeOverTheLimitIsResourceExhaustedBeforeAllocating) {
  // Only the length header: the claim alone must be refused (the default limit is 64 MiB).
  // Snappy's header is a 32-bit varint, so 2^32 - 1 is the largest claim there can be.
  for (uint64_t claimed : {(uint64_t{64} << 20) + 1, (uint64_t{1} << 32) - 1}) {
    std::string body;
    PutVarint(claimed, &body);
    for (const Version& version : kVersions) {
      SCOPED_TRACE(version.name);
      DecodedBatch got;
      const absl::Status s = version.decode(body, &got);
      EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
      EXPECT_THAT(s.message(), HasSubstr(absl::StrCat("snappy: decompressed size ", claimed,
                                                      " exceeds the limit of 67108864 bytes")));
    }
  }
  // At the limit, the claim passes and the missing bytes are what is wrong.
  std::string body;
  PutVarint(uint64_t{64} << 20, &body);
  DecodedBatch got;
  EXPECT_THAT(DecodeRemoteWriteV1(body, &got).message(),
              HasSubstr("snappy: corrupt or truncated block"));
}

TEST(RemoteWriteTest, CallerChosenLimitAppliesToTheDecompressedSize) {
  // A small body that decompresses to 1000 bytes: a snappy bomb in miniature.
  DecodedBatch batch;
  batch.series.push_back({{{"__name__", std::string(980, 'a')}}, {{1, 2}}, 0});
  struct LimitedVersion {
    const char* name;
    absl::Status (*decode)(std::string_view, size_t, DecodedBatch*);
    std::string (*encode)(const DecodedBatch&);
  };
  const LimitedVersion versions[] = {{"1.0", DecodeRemoteWriteV1, EncodeRemoteWriteV1},
                                     {"2.0", DecodeRemoteWriteV2, EncodeRemoteWriteV2}};
  for (const auto& [name, decode, encode] : versions) {
    SCOPED_TRACE(name);
    const std::string body = encode(batch);
    ASSERT_LT(body.size(), 100u);
    // Snappy's length header: a little-endian base-128 varint.
    size_t decoded = 0;
    for (size_t i = 0, shift = 0; i < 5 && i < body.size(); ++i, shift += 7) {
      decoded |= static_cast<size_t>(body[i] & 0x7f) << shift;
      if ((body[i] & 0x80) == 0) break;
    }
    ASSERT_GT(decoded, 980u);
    DecodedBatch got;
    const absl::Status s = decode(body, decoded - 1, &got);
    EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
    EXPECT_THAT(s.message(), HasSubstr(absl::StrCat("decompressed size ", decoded,
                                                    " exceeds the limit of ", decoded - 1)));
    EXPECT_TRUE(decode(body, decoded, &got).ok());
  }
}

// --- 1.0 only. -----------------------------------------------------------------------------

TEST(RemoteWriteV1Test, DecodesHandWrittenRequestIgnoringExemplars) {
  // TimeSeries: labels = 1 (name = 1, value = 2), samples = 2 (value = 1, timestamp = 2),
  // exemplars = 3. WriteRequest: timeseries = 1, metadata = 3 (type = 1,
  // metric_family_name = 2, help = 4, unit = 5).
  std::string label, sample, exemplar, ts, md, req;
  PutBytes(1, "__name__", &label);
  PutBytes(2, "up", &label);
  PutDouble(1, 1.0, &sample);
  PutUint(2, 1234, &sample);
  PutDouble(2, 9.0, &exemplar);
  PutBytes(1, label, &ts);
  PutBytes(2, sample, &ts);
  PutBytes(3, exemplar, &ts);
  PutUint(1, 2, &md);
  PutBytes(2, "up", &md);
  PutBytes(4, "Whether up.", &md);
  PutBytes(5, "", &md);
  PutBytes(1, ts, &req);
  PutBytes(3, md, &req);
  DecodedBatch got;
  ASSERT_TRUE(DecodeRemoteWriteV1(SnappyLiterals(req), &got).ok());
  ASSERT_EQ(got.series.size(), 1u);
  EXPECT_EQ(got.series[0].labels, (Labels{{"__name__", "up"}}));
  ASSERT_EQ(got.series[0].samples.size(), 1u);
  EXPECT_EQ(got.series[0].samples[0].t, 1234);
  EXPECT_EQ(got.series[0].samples[0].v, 1.0);
  ExpectSameMetadata(got.metadata, {{"up", "gauge", "Whether up.", ""}});
}

TEST(RemoteWriteV1Test, NativeHistogramsAreRejectedNamingTheSeries) {
  std::string ok_ts, hist_ts, req;
  PutBytes(2, SampleMessage(1, 1), &ok_ts);
  PutBytes(4, "", &hist_ts);  // TimeSeries.histograms = 4; an empty Histogram.
  PutBytes(1, ok_ts, &req);
  PutBytes(1, hist_ts, &req);
  DecodedBatch got;
  const absl::Status s = DecodeRemoteWriteV1(SnappyLiterals(req), &got);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "timeseries[1]: native histograms are not supported");
}

TEST(RemoteWriteV1Test, UnknownMetricTypeNumberIsUnknown) {
  std::string md, req;
  PutUint(1, 99, &md);
  PutBytes(2, "m", &md);
  PutBytes(3, md, &req);
  DecodedBatch got;
  ASSERT_TRUE(DecodeRemoteWriteV1(SnappyLiterals(req), &got).ok());
  ASSERT_EQ(got.metadata.size(), 1u);
  EXPECT_EQ(got.metadata[0].type, "unknown");
}

// --- 2.0 only. -----------------------------------------------------------------------------

TEST(RemoteWriteV2Test, DecodesHandWrittenRequest) {
  DecodedBatch got;
  ASSERT_TRUE(
      DecodeRemoteWriteV2(
          V2Request({"", "__name__", "up", "job", "api"}, {V2Series({1, 2, 3, 4}, 2)}), &got)
          .ok());
  ASSERT_EQ(got.series.size(), 1u);
  EXPECT_EQ(got.series[0].labels, (Labels{{"__name__", "up"}, {"job", "api"}}));
  ASSERT_EQ(got.series[0].samples.size(), 2u);
  EXPECT_EQ(got.series[0].samples[1].t, 1001);
  EXPECT_EQ(got.series[0].samples[1].v, 1.0);
}

TEST(RemoteWriteV2Test, MalformedSymbolReferencesAreInvalidArgument) {
  const std::vector<std::string> symbols = {"", "__name__", "up"};
  struct Case {
    std::string name;
    std::vector<std::string> symbols;
    std::vector<std::string> series;
    std::string want;
  };
  std::string bad_help = V2Series({1, 2}, 1);
  {
    std::string md;
    PutUint(1, 2, &md);  // gauge
    PutUint(3, 7, &md);  // help_ref = 3
    PutBytes(5, md, &bad_help);
  }
  const Case cases[] = {
      {"odd labels_refs",
       symbols,
       {V2Series({1, 2}, 1), V2Series({1, 2, 1}, 1)},
       "timeseries[1]: labels_refs has odd length 3 (it holds name, value pairs)"},
      {"name ref out of range",
       symbols,
       {V2Series({3, 2}, 1)},
       "timeseries[0]: labels_refs[0] = 3 is out of range (symbols has 3 entries)"},
      {"value ref out of range",
       symbols,
       {V2Series({1, 2}, 1), V2Series({1, 2, 1, 1000}, 1)},
       "timeseries[1]: labels_refs[3] = 1000 is out of range (symbols has 3 entries)"},
      {"no symbols at all",
       {},
       {V2Series({0, 0}, 1)},
       "timeseries[0]: labels_refs[0] = 0 is out of range (symbols has 0 entries)"},
      {"help_ref out of range",
       symbols,
       {bad_help},
       "timeseries[0]: metadata.help_ref = 7 is out of range (symbols has 3 entries)"},
      {"first symbol not empty",
       {"x", "__name__", "up"},
       {V2Series({1, 2}, 1)},
       "symbols[0] is \"x\", not the empty string the spec requires (first reference: "
       "timeseries[0])"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    DecodedBatch got;
    const absl::Status s = DecodeRemoteWriteV2(V2Request(c.symbols, c.series), &got);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(s.message(), c.want);
  }
}

TEST(RemoteWriteV2Test, NonEmptyFirstSymbolIsFineWhenNothingRefersToIt) {
  DecodedBatch got;
  EXPECT_TRUE(DecodeRemoteWriteV2(V2Request({"x"}, {}), &got).ok());
  EXPECT_THAT(got.series, IsEmpty());
}

TEST(RemoteWriteV2Test, NativeHistogramsAreRejectedNamingTheSeries) {
  std::string hist_ts = V2Series({1, 2}, 0);
  PutBytes(3, "", &hist_ts);  // TimeSeries.histograms = 3.
  DecodedBatch got;
  const absl::Status s =
      DecodeRemoteWriteV2(V2Request({"", "__name__", "up"}, {V2Series({1, 2}, 1), hist_ts}), &got);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "timeseries[1]: native histograms are not supported");
}

TEST(RemoteWriteV2Test, MetadataIsKeyedByMetricNameFirstWins) {
  // Metadata = 5: type = 1, help_ref = 3, unit_ref = 4.
  auto with_metadata = [](const std::vector<uint32_t>& refs, int type, uint32_t help,
                          uint32_t unit) {
    std::string ts = V2Series(refs, 1), md;
    PutUint(1, type, &md);
    PutUint(3, help, &md);
    PutUint(4, unit, &md);
    PutBytes(5, md, &ts);
    return ts;
  };
  const std::vector<std::string> symbols = {"",    "__name__", "rpc_seconds", "code",  "200",
                                            "500", "Latency.", "seconds",     "Other."};
  DecodedBatch got;
  ASSERT_TRUE(
      DecodeRemoteWriteV2(
          V2Request(symbols, {with_metadata({1, 2, 3, 4}, 3, 6, 7),
                              with_metadata({1, 2, 3, 5}, 2, 8, 0),  // Same metric: dropped.
                              with_metadata({3, 4}, 1, 6, 0),        // No __name__: dropped.
                              with_metadata({1, 4}, 0, 0, 0)}),      // All unset: none.
          &got)
          .ok());
  EXPECT_EQ(got.series.size(), 4u);
  ExpectSameMetadata(got.metadata, {{"rpc_seconds", "histogram", "Latency.", "seconds"}});
}

// --- The generated parser as the reference, on mutated requests. -----------------------------

namespace v2 = io::prometheus::write::v2;

// A request with something in every field the decoders read or skip.
std::string V1Reference() {
  prometheus::WriteRequest req;
  for (const DecodedSeries& series : SampleBatch().series) {
    prometheus::TimeSeries* ts = req.add_timeseries();
    for (const Label& l : series.labels) {
      prometheus::Label* label = ts->add_labels();
      label->set_name(l.name);
      label->set_value(l.value);
    }
    for (const Sample& s : series.samples) {
      prometheus::Sample* sample = ts->add_samples();
      sample->set_timestamp(s.t);
      sample->set_value(s.v);
    }
  }
  prometheus::Exemplar* exemplar = req.mutable_timeseries(0)->add_exemplars();
  exemplar->set_value(0.25);
  exemplar->set_timestamp(7);
  prometheus::Label* trace = exemplar->add_labels();
  trace->set_name("trace_id");
  trace->set_value("abc");
  prometheus::MetricMetadata* md = req.add_metadata();
  md->set_type(prometheus::MetricMetadata::COUNTER);
  md->set_metric_family_name("http_requests_total");
  md->set_help("Requests.");
  md->set_unit("requests");
  return req.SerializeAsString();
}

std::string V2Reference() {
  v2::Request req;
  for (const char* s : {"", "__name__", "up", "job", "api", "rpc_seconds", "Help.", "seconds"}) {
    req.add_symbols(s);
  }
  const std::vector<std::vector<uint32_t>> refs = {{1, 2, 3, 4}, {1, 5, 3, 4}, {1, 5}};
  for (size_t i = 0; i < refs.size(); ++i) {
    v2::TimeSeries* ts = req.add_timeseries();
    for (uint32_t r : refs[i]) ts->add_labels_refs(r);
    for (int j = 0; j <= static_cast<int>(i); ++j) {
      v2::Sample* sample = ts->add_samples();
      sample->set_timestamp(1000 * j - 1);
      sample->set_value(j == 1 ? StaleNaN() : 0.5 * j);
    }
    ts->set_created_timestamp(12345);
  }
  v2::Metadata* md = req.mutable_timeseries(1)->mutable_metadata();
  md->set_type(v2::Metadata::METRIC_TYPE_HISTOGRAM);
  md->set_help_ref(6);
  md->set_unit_ref(7);
  v2::Exemplar* exemplar = req.mutable_timeseries(0)->add_exemplars();
  exemplar->add_labels_refs(3);
  exemplar->add_labels_refs(4);
  exemplar->set_value(1.5);
  return req.SerializeAsString();
}

// One to three random edits: overwrite, flip a bit, insert, delete a run, truncate.
std::string Mutate(std::string raw, std::mt19937* rng) {
  auto pick = [&](size_t n) { return static_cast<size_t>((*rng)() % n); };
  const size_t edits = 1 + pick(3);
  for (size_t e = 0; e < edits; ++e) {
    switch (pick(5)) {
      case 0:
        if (!raw.empty()) raw[pick(raw.size())] = static_cast<char>(pick(256));
        break;
      case 1:
        if (!raw.empty()) {
          const size_t at = pick(raw.size());
          raw[at] = static_cast<char>(raw[at] ^ (1 << pick(8)));
        }
        break;
      case 2:
        raw.insert(pick(raw.size() + 1), 1, static_cast<char>(pick(256)));
        break;
      case 3:
        if (!raw.empty()) raw.erase(pick(raw.size()), 1 + pick(4));
        break;
      case 4:
        raw.resize(pick(raw.size() + 1));
        break;
    }
  }
  return raw;
}

// What DecodeRemoteWriteV1 must make of `raw`, worked out with the generated parser.
struct Reference {
  bool parses = false;
  absl::Status status;
  DecodedBatch batch;
};

Reference ReferenceV1(const std::string& raw) {
  Reference ref;
  prometheus::WriteRequest req;
  if (!req.ParseFromString(raw)) return ref;
  ref.parses = true;
  for (int i = 0; i < req.timeseries_size(); ++i) {
    const prometheus::TimeSeries& ts = req.timeseries(i);
    if (ts.histograms_size() > 0) {
      ref.status = absl::InvalidArgumentError(
          absl::StrCat("timeseries[", i, "]: native histograms are not supported"));
      return ref;
    }
    if (ts.samples_size() == 0) continue;
    DecodedSeries& series = ref.batch.series.emplace_back();
    series.position = i;
    for (const prometheus::Label& l : ts.labels()) series.labels.push_back({l.name(), l.value()});
    for (const prometheus::Sample& s : ts.samples()) {
      series.samples.push_back({s.timestamp(), s.value()});
    }
  }
  const char* const types[] = {"unknown",        "counter", "gauge", "histogram",
                               "gaugehistogram", "summary", "info",  "stateset"};
  for (const prometheus::MetricMetadata& m : req.metadata()) {
    const int t = m.type();
    ref.batch.metadata.push_back(
        {m.metric_family_name(), t >= 0 && t < 8 ? types[t] : "unknown", m.help(), m.unit()});
  }
  return ref;
}

// The same for DecodeRemoteWriteV2. `status` only says whether the request is rejected: which
// of several problems is reported first is the table tests' business.
Reference ReferenceV2(const std::string& raw) {
  Reference ref;
  v2::Request req;
  if (!req.ParseFromString(raw)) return ref;
  ref.parses = true;
  const auto& symbols = req.symbols();
  const uint32_t n = symbols.size();
  const absl::Status rejected = absl::InvalidArgumentError("rejected");
  bool refers = false;
  std::set<std::string> metrics_with_metadata;
  for (int i = 0; i < req.timeseries_size(); ++i) {
    const v2::TimeSeries& ts = req.timeseries(i);
    const v2::Metadata& md = ts.metadata();
    const bool has_metadata =
        ts.has_metadata() && (md.type() != 0 || md.help_ref() != 0 || md.unit_ref() != 0);
    refers = refers || ts.labels_refs_size() > 0 || has_metadata;
    if (ts.histograms_size() > 0 || ts.labels_refs_size() % 2 != 0 ||
        (refers && n > 0 && !symbols[0].empty()) ||
        (has_metadata && (md.help_ref() >= n || md.unit_ref() >= n))) {
      ref.status = rejected;
      return ref;
    }
    Labels labels;
    for (int k = 0; k < ts.labels_refs_size(); k += 2) {
      if (ts.labels_refs(k) >= n || ts.labels_refs(k + 1) >= n) {
        ref.status = rejected;
        return ref;
      }
      labels.push_back({symbols.Get(static_cast<int>(ts.labels_refs(k))),
                        symbols.Get(static_cast<int>(ts.labels_refs(k + 1)))});
    }
    const std::string metric(GetLabelValue(labels, kMetricNameLabel));
    const bool named = std::any_of(labels.begin(), labels.end(),
                                   [](const Label& l) { return l.name == kMetricNameLabel; });
    if (has_metadata && named && metrics_with_metadata.insert(metric).second) {
      const int t = md.type();
      const char* const types[] = {"unknown",        "counter", "gauge", "histogram",
                                   "gaugehistogram", "summary", "info",  "stateset"};
      ref.batch.metadata.push_back({metric, t >= 0 && t < 8 ? types[t] : "unknown",
                                    symbols.Get(static_cast<int>(md.help_ref())),
                                    symbols.Get(static_cast<int>(md.unit_ref()))});
    }
    if (ts.samples_size() == 0) continue;
    DecodedSeries& series = ref.batch.series.emplace_back();
    series.position = i;
    series.labels = std::move(labels);
    for (const v2::Sample& s : ts.samples()) series.samples.push_back({s.timestamp(), s.value()});
  }
  return ref;
}

TEST(RemoteWriteTest, ReferenceRequestsDecodeAsTheGeneratedParserReadsThem) {
  for (const std::string& raw : {V1Reference()}) {
    const Reference want = ReferenceV1(raw);
    ASSERT_TRUE(want.parses);
    DecodedBatch got;
    ASSERT_TRUE(DecodeRemoteWriteV1(SnappyLiterals(raw), &got).ok());
    ExpectSameSeries(got, want.batch);
    ExpectSameMetadata(got.metadata, want.batch.metadata);
    ASSERT_EQ(got.metadata.size(), 1u);
  }
  const Reference want = ReferenceV2(V2Reference());
  ASSERT_TRUE(want.parses);
  ASSERT_TRUE(want.status.ok());
  DecodedBatch got;
  ASSERT_TRUE(DecodeRemoteWriteV2(SnappyLiterals(V2Reference()), &got).ok());
  ExpectSameSeries(got, want.batch);
  ExpectSameMetadata(got.metadata, want.batch.metadata);
  ASSERT_EQ(got.metadata.size(), 1u);
}

TEST(RemoteWriteTest, NestingIsLimitedWhereTheGeneratedParserLimitsIt) {
  // An unknown field in a Label (level 2: WriteRequest, TimeSeries, Label) holding groups nested
  // `depth` deep; the generated parser allows 100 levels in all.
  for (int depth : {1, 97, 98, 99, 150}) {
    SCOPED_TRACE(depth);
    std::string groups;
    for (int k = 0; k < depth; ++k) PutTag(15, 3, &groups);
    for (int k = 0; k < depth; ++k) PutTag(15, 4, &groups);
    std::string label, sample, ts, req;
    PutBytes(1, "__name__", &label);
    PutBytes(2, "up", &label);
    label += groups;
    PutDouble(1, 1.0, &sample);
    PutBytes(1, label, &ts);
    PutBytes(2, sample, &ts);
    PutBytes(1, ts, &req);
    const Reference want = ReferenceV1(req);
    DecodedBatch got;
    EXPECT_EQ(DecodeRemoteWriteV1(SnappyLiterals(req), &got).ok(), want.parses);
    EXPECT_EQ(want.parses, depth <= 98);
  }
}

TEST(RemoteWriteTest, OverlongTagsAndLengthsAreReadAsTheGeneratedParserReadsThem) {
  // A Sample followed by an unknown varint field whose tag is `tag` bytes, or a label whose
  // length is written with `length` bytes.
  const std::string cases[] = {
      std::string("\x88\x80\x80\x80\x40\x01", 6),      // 5-byte tag, bits past 32: dropped.
      std::string("\x88\x80\x80\x80\x80\x00\x01", 7),  // 6-byte tag: refused.
  };
  for (const std::string& extra : cases) {
    SCOPED_TRACE(absl::CHexEscape(absl::string_view(extra)));
    std::string sample, ts, req;
    PutDouble(1, 1.0, &sample);
    sample += extra;
    PutBytes(2, sample, &ts);
    PutBytes(1, ts, &req);
    const Reference want = ReferenceV1(req);
    DecodedBatch got;
    EXPECT_EQ(DecodeRemoteWriteV1(SnappyLiterals(req), &got).ok(), want.parses);
  }
  for (const std::string& length :
       {std::string("\x82\x80\x80\x80\x00", 5), std::string("\x82\x80\x80\x80\x80\x00", 6)}) {
    std::string label = "\x0a" + length + "ab", ts, req;  // Label.name, length 2.
    PutBytes(1, label, &ts);
    PutBytes(1, ts, &req);
    const Reference want = ReferenceV1(req);
    DecodedBatch got;
    EXPECT_EQ(DecodeRemoteWriteV1(SnappyLiterals(req), &got).ok(), want.parses);
    EXPECT_EQ(want.parses, length.size() == 5);
  }
}

TEST(RemoteWriteTest, MutatedRequestsDecodeAsTheGeneratedParserReadsThem) {
  std::mt19937 rng(42);
  int parsed[2] = {0, 0};
  for (int iteration = 0; iteration < 20000; ++iteration) {
    for (int version = 0; version < 2; ++version) {
      const std::string raw = Mutate(version == 0 ? V1Reference() : V2Reference(), &rng);
      const Reference want = version == 0 ? ReferenceV1(raw) : ReferenceV2(raw);
      DecodedBatch got;
      const absl::Status s = kVersions[version].decode(SnappyLiterals(raw), &got);
      SCOPED_TRACE(absl::StrCat(kVersions[version].name, " request ",
                                absl::CHexEscape(absl::string_view(raw)), ": ", s.ToString()));
      if (!want.parses) {
        // A series the decoder saw before the broken part may be reported instead.
        ASSERT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
        continue;
      }
      ++parsed[version];
      ASSERT_THAT(s.message(), Not(HasSubstr("protobuf:")));
      if (version == 0) {
        ASSERT_EQ(s, want.status);
      } else {
        ASSERT_EQ(s.ok(), want.status.ok());
      }
      if (!s.ok()) continue;
      ExpectSameSeries(got, want.batch);
      ExpectSameMetadata(got.metadata, want.batch.metadata);
      if (HasFailure()) return;
    }
  }
  // Enough of the mutants must still parse for the comparison to mean something.
  EXPECT_GT(parsed[0], 2000);
  EXPECT_GT(parsed[1], 2000);
}

}  // namespace
}  // namespace ember::ingest
