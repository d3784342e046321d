// The remote-write receiver (POST /api/v1/write) held to the remote-write 1.0 and 2.0 specs, over
// real HTTP to an in-process EmberServer on 127.0.0.1: content negotiation (415), bodies that
// are no snappy block or too large once decompressed (400, 413), series without a metric name
// (400, nothing stored), and the X-Prometheus-Remote-Write-*-Written headers on every answer to
// a 2.0 request. The cases follow the float-sample and request cases of Prometheus's receiver
// compliance suite (prometheus/compliance, remotewrite/receiver); docs/ingest.md lists them.
#include <snappy.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ember/db.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ingest/proto/remote_v2.pb.h"
#include "ingest/remote_write.h"
#include "server/api/api.h"
#include "server/cmd/ember_server.h"
#include "server/metrics/metrics.h"
#include "tests/testutil/ember_server_fixture.h"
#include "tests/testutil/http_client.h"

namespace ember::server {
namespace {

using ::testing::HasSubstr;
using testutil::HttpClient;
using testutil::HttpResult;
using testutil::UrlEncode;

// 2023-11-14T22:13:20Z, in the writable window because retention is off.
constexpr int64_t kT0 = 1'700'000'000'000;
constexpr size_t kBodyLimit = 1 << 20;

using Headers = testutil::HttpHeaders;

const Headers kV1Headers = {{"Content-Encoding", "snappy"},
                            {"Content-Type", "application/x-protobuf"},
                            {"X-Prometheus-Remote-Write-Version", "0.1.0"}};
const Headers kV2Headers = {
    {"Content-Encoding", "snappy"},
    {"Content-Type", "application/x-protobuf;proto=io.prometheus.write.v2.Request"},
    {"X-Prometheus-Remote-Write-Version", "2.0.0"}};

double StaleNaN() { return std::bit_cast<double>(uint64_t{0x7ff0000000000002}); }

ingest::DecodedSeries Series(Labels labels, double v, int64_t t = kT0) {
  ingest::DecodedSeries s;
  s.labels = std::move(labels);
  s.samples.push_back(Sample{t, v});
  return s;
}

ingest::DecodedBatch Batch(std::vector<ingest::DecodedSeries> series,
                           std::vector<ingest::MetricMetadata> metadata = {}) {
  ingest::DecodedBatch b;
  b.kind = ingest::PositionKind::kTimeseries;
  b.series = std::move(series);
  b.metadata = std::move(metadata);
  return b;
}

std::string Compress(const google::protobuf::MessageLite& message) {
  std::string out;
  const std::string raw = message.SerializeAsString();
  snappy::Compress(raw.data(), raw.size(), &out);
  return out;
}

// The three Written headers, "samples/histograms/exemplars", "" for a missing one.
std::string Written(const HttpResult& r) {
  return absl::StrCat(r.Header("x-prometheus-remote-write-samples-written"), "/",
                      r.Header("x-prometheus-remote-write-histograms-written"), "/",
                      r.Header("x-prometheus-remote-write-exemplars-written"));
}

class RemoteWriteReceiverTest : public testutil::EmberServerTest {
 protected:
  void SetUp() override {
    StartServer([](ServerOptions* o) {
      o->http.max_request_body_bytes = kBodyLimit;
      o->api.max_request_body_bytes = kBodyLimit;
    });
  }

  HttpResult PostWrite(const std::string& body, const Headers& headers) {
    return Post("/api/v1/write", body, headers);
  }
  HttpResult WriteV1(const ingest::DecodedBatch& b) {
    return PostWrite(ingest::EncodeRemoteWriteV1(b), kV1Headers);
  }
  HttpResult WriteV2(const ingest::DecodedBatch& b) {
    return PostWrite(ingest::EncodeRemoteWriteV2(b), kV2Headers);
  }

  // The instant-query result of `q` at `t_ms`, as JSON.
  std::string QueryJson(const std::string& q, int64_t t_ms = kT0) { return Query(q, t_ms).body; }
  bool Stored(const std::string& selector, int64_t t_ms = kT0) {
    return QueryJson(selector, t_ms).find("\"result\":[]") == std::string::npos;
  }
};

// compliance: TestSingleMetric (the success cases, each value), MUST and SHOULD (204).
TEST_F(RemoteWriteReceiverTest, FloatSamplesOfEveryValueAndLabelShapeAre204AndCounted) {
  struct Value {
    const char* name;
    double v;
  };
  const Value values[] = {{"1.0", 1.0},
                          {"StaleNaN", StaleNaN()},
                          {"NaN", std::numeric_limits<double>::quiet_NaN()},
                          {"Inf", std::numeric_limits<double>::infinity()},
                          {"-Inf", -std::numeric_limits<double>::infinity()}};
  const std::vector<Labels> label_sets = {
      {{"__name__", "up"}},
      {{"__name__", "up"}, {"job", "testjob"}, {"instance", "localhost:9090"}},
      {{"__name__", "up"}, {"job", "test\njob\n"}, {"instance", "localhost:9090"}},
      {{"__name__", "resource.cpu.usage"}, {"job.name", "testjob"}, {"instance.name", "x"}},
      {{"__name__", "resource cpu usage"}, {"job name", "testjob"}, {"instance name", "x"}},
  };
  int64_t t = kT0;
  for (const Value& value : values) {
    for (const Labels& labels : label_sets) {
      SCOPED_TRACE(absl::StrCat(value.name, " ", LabelsToString(labels)));
      ++t;  // Each request a later sample, so none is a duplicate of the one before.
      HttpResult r = WriteV2(Batch({Series(labels, value.v, t)}));
      EXPECT_EQ(r.status, 204) << r.body;
      EXPECT_EQ(Written(r), "1/0/0");
    }
  }
  EXPECT_THAT(QueryJson("{\"resource cpu usage\"}", kT0 + 5), HasSubstr("\"1\""));
  EXPECT_THAT(QueryJson("up{job=\"test\\njob\\n\"}", kT0 + 23), HasSubstr("\"-Inf\""));
}

// compliance: TestSingleMetric "without name label" and "empty metric", TestMultipleMetrics
// "without name label" and "1 without name label", TestMetadataValidation (both invalid
// cases). All MUST be a 4xx; Ember stores nothing of the request (docs/ingest.md).
TEST_F(RemoteWriteReceiverTest, SeriesWithoutMetricNameRejectTheWholeRequestWith400) {
  struct Case {
    const char* name;
    std::vector<ingest::DecodedSeries> series;
    const char* want;
  };
  const Labels good = {{"__name__", "good"}, {"instance", "a"}};
  const Case cases[] = {
      {"no __name__",
       {Series({{"job", "testjob"}, {"instance", "localhost:9090"}}, 1)},
       "timeseries[0]: labels {job=\"testjob\", instance=\"localhost:9090\"}: no metric name "
       "(__name__ is missing or empty) (nothing of this request was stored)"},
      {"no labels at all", {Series({}, 1)}, "timeseries[0]: labels {}: no metric name"},
      {"empty __name__", {Series({{"__name__", ""}, {"job", "x"}}, 1)}, "timeseries[0]"},
      {"one of four without a name",
       {Series(good, 1), Series({{"job", "testjob"}}, 1), Series({{"__name__", "b"}}, 1),
        Series({{"__name__", "c"}}, 1)},
       "timeseries[1]: labels {job=\"testjob\"}: no metric name"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const ingest::DecodedBatch b = Batch(c.series);
    HttpResult r = WriteV2(b);
    EXPECT_EQ(r.status, 400);
    EXPECT_THAT(r.body, HasSubstr(c.want));
    EXPECT_EQ(Written(r), "0/0/0");
    r = WriteV1(b);
    EXPECT_EQ(r.status, 400);
    EXPECT_THAT(r.body, HasSubstr(c.want));
  }
  EXPECT_FALSE(Stored("good"));
  EXPECT_FALSE(Stored("{job=\"testjob\"}"));
  EXPECT_THAT(client_->Get("/metrics")->body,
              HasSubstr("ember_rejected_samples_total{reason=\"invalid_labels\"} 14"));
}

// compliance: TestBadContentTypes (application/json, image/png), MUST 415; the body is corrupt
// too, so the type must be checked first.
TEST_F(RemoteWriteReceiverTest, UnsupportedContentTypesAre415BeforeTheBodyIsRead) {
  const std::string good = ingest::EncodeRemoteWriteV2(Batch({Series({{"__name__", "up"}}, 1)}));
  std::string corrupt = good;
  corrupt[0] = '0';
  for (const char* type : {"application/json", "image/png", "text/plain", "application/protobuf",
                           "application/x-protobuf;proto=other.Message",
                           "application/x-protobuf; proto=", "application/x-protobuf;proto",
                           "application/x-protobuf-extra"}) {
    SCOPED_TRACE(type);
    for (const std::string& body : {corrupt, good}) {
      HttpResult r = PostWrite(body, {{"Content-Encoding", "snappy"}, {"Content-Type", type}});
      EXPECT_EQ(r.status, 415) << r.body;
      EXPECT_THAT(r.body, HasSubstr(type));
    }
  }
  // Before, a 2.0 body sent as JSON was answered 204 and nothing stored.
  EXPECT_FALSE(Stored("up"));
}

TEST_F(RemoteWriteReceiverTest, ContentTypeIsMatchedAsRfc9110Says) {
  // Media type and parameter names ignore case, blanks around ';' and '=' and quotes around
  // the value are allowed, and parameters other than proto are ignored.
  int64_t t = kT0;
  for (const char* type :
       {"Application/X-Protobuf ; Proto=\"io.prometheus.write.v2.Request\"",
        "application/x-protobuf;charset=utf-8;proto=io.prometheus.write.v2.Request",
        "application/x-protobuf;;proto = io.prometheus.write.v2.Request"}) {
    SCOPED_TRACE(type);
    HttpResult r =
        PostWrite(ingest::EncodeRemoteWriteV2(Batch({Series({{"__name__", "up"}}, 1, ++t)})),
                  {{"Content-Type", type}});
    EXPECT_EQ(r.status, 204) << r.body;
    EXPECT_EQ(Written(r), "1/0/0");
  }
  // The 1.0 message named explicitly.
  HttpResult r =
      PostWrite(ingest::EncodeRemoteWriteV1(Batch({Series({{"__name__", "up"}}, 1, ++t)})),
                {{"Content-Type", "application/x-protobuf;proto=prometheus.WriteRequest"}});
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(Written(r), "//");
}

// compliance: TestRW1BasicCompatibility (MAY): 1.0 as a 1.0 sender sends it is 2xx, and the
// Written headers, which 1.0 does not define, are absent (the suite expects 0 or absent).
TEST_F(RemoteWriteReceiverTest, RemoteWriteOneIsAcceptedWithOrWithoutContentType) {
  const ingest::DecodedBatch b =
      Batch({Series({{"__name__", "up"}, {"job", "testjob"}, {"instance", "localhost:9090"}}, 1),
             Series({{"__name__", "http_requests_total"}}, 100)});
  HttpResult r = WriteV1(b);
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(Written(r), "//");
  // No Content-Type at all, as old senders do: 1.0. So is no Content-Encoding: snappy.
  r = PostWrite(ingest::EncodeRemoteWriteV1(Batch({Series({{"__name__", "old"}}, 5)})), {});
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_THAT(QueryJson("old"), HasSubstr("\"5\""));
  EXPECT_THAT(QueryJson("http_requests_total"), HasSubstr("\"100\""));
}

// compliance: TestBadContentEncodings (gzip, deflate), MUST 415. The HTTP server leaves remote
// write's gzip to the handler, which refuses it like any coding but snappy.
TEST_F(RemoteWriteReceiverTest, ContentEncodingsOtherThanSnappyAre415) {
  const std::string body = ingest::EncodeRemoteWriteV2(Batch({Series({{"__name__", "up"}}, 1)}));
  for (const char* encoding : {"gzip", "deflate", "zstd", "identity", "snappy, deflate", "br"}) {
    SCOPED_TRACE(encoding);
    Headers headers = kV2Headers;
    headers[0].second = encoding;
    HttpResult r = PostWrite(body, headers);
    EXPECT_EQ(r.status, 415) << r.body;
    EXPECT_THAT(r.body, HasSubstr(absl::StrCat("unsupported Content-Encoding \"", encoding)));
    EXPECT_EQ(Written(r), "0/0/0");
  }
  EXPECT_FALSE(Stored("up"));
  Headers headers = kV2Headers;
  headers[0].second = "Snappy";
  EXPECT_EQ(PostWrite(body, headers).status, 204);
}

// compliance: TestCorruptRequestBody (MUST 4xx), TestRW1ErrorHandling (MAY). The empty body
// was answered 204 before: it is no snappy block.
TEST_F(RemoteWriteReceiverTest, BodiesThatAreNoSnappyBlockAre400) {
  const ingest::DecodedBatch b = Batch({Series({{"__name__", "up"}}, 1)});
  std::string v2_first_byte_zero = ingest::EncodeRemoteWriteV2(b);
  v2_first_byte_zero[0] = '0';
  std::string v1_first_byte_ff = ingest::EncodeRemoteWriteV1(b);
  v1_first_byte_ff[0] = '\xff';
  struct Case {
    const char* name;
    std::string body;
    const Headers& headers;
    const char* want;
  };
  const Case cases[] = {
      {"empty 1.0", "", kV1Headers, "snappy: empty body is not a snappy block"},
      {"empty 2.0", "", kV2Headers, "snappy: empty body is not a snappy block"},
      {"2.0, first byte '0'", v2_first_byte_zero, kV2Headers, "snappy"},
      {"1.0, first byte 0xff", v1_first_byte_ff, kV1Headers, "snappy"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    HttpResult r = PostWrite(c.body, c.headers);
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_THAT(r.body, HasSubstr(c.want));
    EXPECT_EQ(Written(r), &c.headers == &kV2Headers ? "0/0/0" : "//");
  }
  EXPECT_FALSE(Stored("up"));
  // The one-byte block of an empty message is a valid, empty request.
  EXPECT_EQ(PostWrite(std::string(1, '\0'), kV2Headers).status, 204);
}

TEST_F(RemoteWriteReceiverTest, SnappyBlockLargerThanTheBodyLimitOnceDecompressedIs413) {
  // A block that only claims the size, and a real one: 2 MiB of one label value compress to
  // about 100 KiB, well under the 1 MiB body limit.
  std::string claim;  // Snappy's header: the length as a little-endian base-128 varint.
  uint64_t v = kBodyLimit + 1;
  for (; v >= 0x80; v >>= 7) claim.push_back(static_cast<char>(v | 0x80));
  claim.push_back(static_cast<char>(v));
  const std::string bomb = ingest::EncodeRemoteWriteV2(
      Batch({Series({{"__name__", "up"}, {"big", std::string(2 << 20, 'a')}}, 1)}));
  ASSERT_LT(bomb.size(), kBodyLimit);
  for (const std::string& body : {claim, bomb}) {
    HttpResult r = PostWrite(body, kV2Headers);
    EXPECT_EQ(r.status, 413) << r.body;
    EXPECT_THAT(r.body, HasSubstr("exceeds the limit of 1048576 bytes"));
    EXPECT_EQ(Written(r), "0/0/0");
  }
  EXPECT_EQ(PostWrite(claim, kV1Headers).status, 413);
  EXPECT_FALSE(Stored("up"));
  // The server keeps serving.
  EXPECT_EQ(WriteV2(Batch({Series({{"__name__", "up"}}, 1)})).status, 204);
}

TEST_F(RemoteWriteReceiverTest, WrittenHeadersStateWhatWasStoredOnEveryAnswer) {
  // Partly stored: the second sample is older than the first, so refused; the first stays.
  HttpResult r = WriteV2(
      Batch({Series({{"__name__", "ooo"}}, 2, kT0 + 1000), Series({{"__name__", "ooo"}}, 1, kT0)}));
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(Written(r), "1/0/0");
  // Native histograms are refused, and with them the whole request.
  io::prometheus::write::v2::Request req;
  for (const char* s : {"", "__name__", "h", "f"}) req.add_symbols(s);
  io::prometheus::write::v2::TimeSeries* ts = req.add_timeseries();
  ts->add_labels_refs(1);
  ts->add_labels_refs(3);
  ts->add_samples()->set_timestamp(kT0);
  ts = req.add_timeseries();
  ts->add_labels_refs(1);
  ts->add_labels_refs(2);
  ts->add_histograms("");  // Opaque in Ember's proto: any Histogram message is refused.
  r = PostWrite(Compress(req), kV2Headers);
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("timeseries[1]: native histograms are not supported"));
  EXPECT_EQ(Written(r), "0/0/0");
  EXPECT_FALSE(Stored("f"));
  // Exemplars are accepted but not stored, so not counted.
  req.mutable_timeseries()->RemoveLast();
  io::prometheus::write::v2::Exemplar* e = req.mutable_timeseries(0)->add_exemplars();
  e->set_value(1);
  e->set_timestamp(kT0);
  r = PostWrite(Compress(req), kV2Headers);
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(Written(r), "1/0/0");
}

// compliance: TestMetadata (its float cases), TestMetadataWithSamples, TestMultipleMetadata,
// TestMultipleMetricFamiliesSamples and TestSpecialCharactersCombined without their exemplars.
TEST_F(RemoteWriteReceiverTest, MetadataWithSamplesIsStoredAndServed) {
  const ingest::DecodedBatch b =
      Batch({Series({{"__name__", "http_requests_total"}, {"job", "test"}}, 42),
             Series({{"__name__", "cpu_usage"}}, 85.5), Series({{"__name__", "build_info"}}, 1),
             Series({{"__name__", "test_metric"},
                     {"job", "test-job_with.special@chars"},
                     {"environment", "test🚀"}},
                    42)},
            {{"http_requests_total", "counter", "Total HTTP requests", "requests"},
             {"cpu_usage", "gauge", "", ""},
             {"build_info", "info", "Build information", ""},
             {"test_metric", "gauge", "Special: äöü, newlines\nand \"quotes\"", "special/units"}});
  HttpResult r = WriteV2(b);
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(Written(r), "4/0/0");
  EXPECT_THAT(client_->Get("/api/v1/metadata?metric=http_requests_total")->body,
              HasSubstr("{\"type\":\"counter\",\"help\":\"Total HTTP requests\",\"unit\":"
                        "\"requests\"}"));
  EXPECT_THAT(client_->Get("/api/v1/metadata?metric=test_metric")->body,
              HasSubstr("\"help\":\"Special: äöü, newlines\\nand \\\"quotes\\\"\""));
  EXPECT_THAT(QueryJson("test_metric{environment=\"test🚀\"}"), HasSubstr("\"42\""));
}

// compliance: TestEdgeCaseCombinations "metadata_without_data" (SHOULD 2xx).
TEST_F(RemoteWriteReceiverTest, MetadataWithoutSamplesIs204AndStoresNoSample) {
  io::prometheus::write::v2::Request req;
  for (const char* s : {"", "__name__", "orphan_metric", "Orphaned", "count"}) req.add_symbols(s);
  io::prometheus::write::v2::TimeSeries* ts = req.add_timeseries();
  ts->add_labels_refs(1);
  ts->add_labels_refs(2);
  ts->mutable_metadata()->set_type(io::prometheus::write::v2::Metadata::METRIC_TYPE_COUNTER);
  ts->mutable_metadata()->set_help_ref(3);
  ts->mutable_metadata()->set_unit_ref(4);
  HttpResult r = PostWrite(Compress(req), kV2Headers);
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(Written(r), "0/0/0");
  EXPECT_THAT(client_->Get("/api/v1/metadata?metric=orphan_metric")->body,
              HasSubstr("\"help\":\"Orphaned\""));
}

// compliance: TestCounterWithCreatedTimestamp, TestCounterMetadataWithCreatedTimestamp (SHOULD
// 204), TestManySamples and "mixed_timestamp_data" without their exemplars.
TEST_F(RemoteWriteReceiverTest, CreatedTimestampsManySeriesAndOldSamplesAre204) {
  io::prometheus::write::v2::Request req;
  for (const char* s : {"", "__name__", "http_requests_total", "job", "api"}) req.add_symbols(s);
  io::prometheus::write::v2::TimeSeries* ts = req.add_timeseries();
  for (uint32_t ref : {1, 2, 3, 4}) ts->add_labels_refs(ref);
  ts->add_samples()->set_timestamp(kT0);
  ts->mutable_samples(0)->set_value(150);
  ts->set_created_timestamp(kT0 - 3'600'000);
  HttpResult r = PostWrite(Compress(req), kV2Headers);
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(Written(r), "1/0/0");
  EXPECT_THAT(QueryJson("http_requests_total"), HasSubstr("\"150\""));

  std::vector<ingest::DecodedSeries> many;
  std::vector<ingest::MetricMetadata> metadata;
  for (int i = 0; i < 50; ++i) {
    const std::string name = absl::StrCat("counter_metric_", i);
    many.push_back(Series({{"__name__", name}, {"series", absl::StrCat("series_", i)}}, i * 100));
    metadata.push_back({name, "counter", absl::StrCat("Counter metric number ", i), "count"});
  }
  many.push_back(Series({{"__name__", "old_metric"}}, 1, kT0 - 3'600'000));
  r = WriteV2(Batch(std::move(many), std::move(metadata)));
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(Written(r), "51/0/0");
  EXPECT_THAT(QueryJson("count({__name__=~\"counter_metric_.*\"})"), HasSubstr("\"50\""));
  EXPECT_TRUE(Stored("old_metric", kT0 - 3'600'000));
}

}  // namespace
}  // namespace ember::server
