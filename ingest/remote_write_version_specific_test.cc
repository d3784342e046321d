// What only remote write 1.0 or only 2.0 has (see remote_write_testing.h): hand-written requests,
// exemplars, native histograms, metric types, the 2.0 symbol table and metadata.
#include "ingest/remote_write_testing.h"

namespace ember::ingest {
namespace {

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
}  // namespace
}  // namespace ember::ingest
