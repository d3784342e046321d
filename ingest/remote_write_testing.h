// Shared by the remote_write_*_test.cc files: protobuf wire format and snappy written by hand,
// the batches to round-trip and how two batches are compared, and both versions' codecs.
//
// Tests of the remote write 1.0 and 2.0 decoders and encoders: bit-exact round trips, metadata,
// and that no body, however broken, does more than return InvalidArgument. Malformed requests
// are written here byte by byte from the specifications' field numbers (not with the generated
// code), so these tests also check that ingest/proto/ agrees with the specs. The decoders read
// the wire format by hand (ingest/wire_reader.h); remote_write_reference_test.cc holds them to
// the generated parser's reading of thousands of mutated requests.
#ifndef EMBER_INGEST_REMOTE_WRITE_TESTING_H_
#define EMBER_INGEST_REMOTE_WRITE_TESTING_H_

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
#include "ingest/remote_write.h"

namespace ember::ingest {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// --- Protobuf wire format and snappy, by hand. ---------------------------------------------

inline void PutVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

inline void PutTag(int field, int wire_type, std::string* out) {
  PutVarint(field << 3 | wire_type, out);
}

inline void PutBytes(int field, std::string_view bytes, std::string* out) {
  PutTag(field, 2, out);
  PutVarint(bytes.size(), out);
  out->append(bytes);
}

inline void PutUint(int field, uint64_t v, std::string* out) {
  PutTag(field, 0, out);
  PutVarint(v, out);
}

inline void PutDouble(int field, double v, std::string* out) {
  PutTag(field, 1, out);
  const uint64_t bits = std::bit_cast<uint64_t>(v);
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(bits >> (8 * i)));
}

inline void PutPacked(int field, const std::vector<uint32_t>& values, std::string* out) {
  std::string packed;
  for (uint32_t v : values) PutVarint(v, &packed);
  PutBytes(field, packed, out);
}

// A snappy block made of literals only: the length header, then one literal element per
// (at most) 60 bytes, whose tag is (length - 1) << 2.
inline std::string SnappyLiterals(std::string_view raw) {
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
inline std::string SampleMessage(double v, int64_t t) {
  std::string s;
  PutDouble(1, v, &s);
  PutUint(2, static_cast<uint64_t>(t), &s);
  return s;
}

// A 2.0 TimeSeries (labels_refs = 1, samples = 2, histograms = 3, metadata = 5).
inline std::string V2Series(const std::vector<uint32_t>& refs, int num_samples) {
  std::string ts;
  PutPacked(1, refs, &ts);
  for (int i = 0; i < num_samples; ++i) PutBytes(2, SampleMessage(i, 1000 + i), &ts);
  return ts;
}

// A 2.0 Request (symbols = 4, timeseries = 5), compressed.
inline std::string V2Request(const std::vector<std::string>& symbols,
                             const std::vector<std::string>& series) {
  std::string req;
  for (const std::string& s : symbols) PutBytes(4, s, &req);
  for (const std::string& ts : series) PutBytes(5, ts, &req);
  return SnappyLiterals(req);
}

// --- Batches to round-trip. --------------------------------------------------------------

inline uint64_t Bits(double v) { return std::bit_cast<uint64_t>(v); }

inline DecodedBatch SampleBatch() {
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

inline void ExpectSameSeries(const DecodedBatch& got, const DecodedBatch& want) {
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

inline void ExpectSameMetadata(const std::vector<MetricMetadata>& got,
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

}  // namespace
}  // namespace ember::ingest

#endif  // EMBER_INGEST_REMOTE_WRITE_TESTING_H_
