// Remote write 1.0 and 2.0 round trips (see remote_write_testing.h): labels, timestamps and value
// bits, metadata and metric types kept; positions and appends.
#include "ingest/remote_write_testing.h"

namespace ember::ingest {
namespace {

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
}  // namespace
}  // namespace ember::ingest
