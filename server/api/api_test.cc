// The HTTP API and ingest doors end to end: an in-process EmberServer on 127.0.0.1 (port 0),
// spoken to over real HTTP.
#include "server/api/api.h"

#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ingest/remote_write.h"
#include "server/cmd/ember_server.h"
#include "tests/testutil/ember_server_fixture.h"
#include "tests/testutil/http_client.h"

namespace ember::server {
namespace {

using ::testing::HasSubstr;
using testutil::HttpClient;
using testutil::HttpResult;
using testutil::UrlEncode;

using testutil::kServerT0;
constexpr int64_t kT0 = kServerT0;

ingest::DecodedSeries MakeSeries(Labels labels, std::vector<Sample> samples) {
  ingest::DecodedSeries s;
  s.labels = std::move(labels);
  s.samples = std::move(samples);
  return s;
}

class ApiTest : public testutil::EmberServerTest {
 protected:
  void SetUp() override {
    StartServer([](ServerOptions* o) {
      o->http.max_request_body_bytes = 1 << 20;
      o->api.max_points_per_series = 11000;
    });
  }

  HttpResult RemoteWrite(const std::string& body) {
    return Post("/api/v1/write", body,
                {{"Content-Encoding", "snappy"},
                 {"Content-Type", "application/x-protobuf"},
                 {"X-Prometheus-Remote-Write-Version", "0.1.0"}});
  }

  HttpResult RemoteWrite(std::vector<ingest::DecodedSeries> series) {
    ingest::DecodedBatch b;
    b.kind = ingest::PositionKind::kTimeseries;
    b.series = std::move(series);
    return RemoteWrite(ingest::EncodeRemoteWriteV1(b));
  }
};

TEST_F(ApiTest, RemoteWriteThenInstantQueryAnswersPrometheusJson) {
  HttpResult w = RemoteWrite({MakeSeries({{"__name__", "up"}, {"job", "api"}}, {{kT0, 1}})});
  ASSERT_EQ(w.status, 204) << w.body;
  HttpResult r = Query("up");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("content-type"), "application/json");
  EXPECT_EQ(r.body,
            "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":"
            "{\"__name__\":\"up\",\"job\":\"api\"},\"value\":[1700000000,\"1\"]}]}}");
}

TEST_F(ApiTest, ScalarsAndSpecialValuesAreFormattedAsPrometheusDoes) {
  EXPECT_EQ(Query("1/0").body,
            "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":"
            "[1700000000,\"+Inf\"]}}");
  EXPECT_THAT(Query("-1/0").body, HasSubstr("\"-Inf\""));
  EXPECT_THAT(Query("0/0").body, HasSubstr("\"NaN\""));
  EXPECT_THAT(Query("0.1+0.2", kT0 + 781).body,
              HasSubstr("[1700000000.781,\"0.30000000000000004\"]"));
  EXPECT_THAT(Query("\"text\"").body,
              HasSubstr("\"resultType\":\"string\",\"result\":[1700000000,\"text\"]"));
}

TEST_F(ApiTest, RangeQueryByFormPostWithEncodedNamesAndCompoundStep) {
  std::vector<Sample> samples;
  for (int i = 0; i <= 20; ++i) samples.push_back({kT0 + i * 15'000, 10.0 * i});
  ASSERT_EQ(RemoteWrite({MakeSeries({{"__name__", "reqs_total"}}, samples)}).status, 204);
  // Grafana sends form bodies; names may be percent-encoded too.
  absl::StatusOr<HttpResult> r = client_->PostForm(
      "/api/v1/query_range?unknown=ignored",
      absl::StrCat("query=", UrlEncode("rate(reqs_total[1m0s])"), "&st%61rt=", kT0 / 1000 + 60,
                   "&end=", kT0 / 1000 + 120, "&step=30s"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200) << r->body;
  // 10 per 15 s: rate is 2/3 per second at every step.
  EXPECT_EQ(r->body,
            "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":"
            "{},\"values\":[[1700000060,\"0.6666666666666666\"],[1700000090,"
            "\"0.6666666666666666\"],[1700000120,\"0.6666666666666666\"]]}]}}");
}

TEST_F(ApiTest, RfcThreeThreeNineTimesAreAccepted) {
  ASSERT_EQ(RemoteWrite({MakeSeries({{"__name__", "g"}}, {{kT0, 5}})}).status, 204);
  HttpResult r = Get("/api/v1/query?query=g&time=2023-11-14T22:13:20Z");
  EXPECT_THAT(r.body, HasSubstr("\"value\":[1700000000,\"5\"]"));
  r = Get("/api/v1/query?query=g&time=2023-11-14T23:13:20%2B01:00");
  EXPECT_THAT(r.body, HasSubstr("\"value\":[1700000000,\"5\"]"));
}

TEST_F(ApiTest, BadQueryParametersAnswerBadDataWithPrometheusWording) {
  HttpResult r = Get("/api/v1/query?query=sum(");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("\"errorType\":\"bad_data\""));
  EXPECT_THAT(r.body, HasSubstr("invalid parameter \\\"query\\\": 1:5: parse error"));

  r = Get("/api/v1/query?query=up&time=yesterday");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("invalid parameter \\\"time\\\": cannot parse \\\"yesterday\\\" "
                                "to a valid timestamp"));

  r = Get("/api/v1/query_range?query=up&start=100&end=50&step=10");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("end timestamp must not be before start time"));

  r = Get("/api/v1/query_range?query=up&start=0&end=50&step=0");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("zero or negative query resolution step widths are not accepted"));

  r = Get("/api/v1/query_range?query=up&start=0&end=11001&step=1");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("exceeded maximum resolution of 11,000 points per timeseries"));

  r = Get("/api/v1/query_range?query=up&start=0&end=11000&step=1");
  EXPECT_EQ(r.status, 200) << r.body;

  r = Get("/api/v1/query_range?query=up%5B5m%5D&start=0&end=10&step=1");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("invalid expression type"));

  r = Get("/api/v1/query");
  EXPECT_EQ(r.status, 400);
}

TEST_F(ApiTest, EvaluationErrorsAnswerExecutionWith422) {
  ASSERT_EQ(RemoteWrite({MakeSeries({{"__name__", "a"}, {"x", "1"}, {"y", "1"}}, {{kT0, 1}}),
                         MakeSeries({{"__name__", "a"}, {"x", "1"}, {"y", "2"}}, {{kT0, 1}}),
                         MakeSeries({{"__name__", "b"}, {"x", "1"}, {"y", "1"}}, {{kT0, 1}}),
                         MakeSeries({{"__name__", "b"}, {"x", "1"}, {"y", "2"}}, {{kT0, 1}})})
                .status,
            204);
  HttpResult r = Query("a + on(x) b");
  EXPECT_EQ(r.status, 422);
  EXPECT_THAT(r.body, HasSubstr("\"errorType\":\"execution\""));
}

TEST_F(ApiTest, SeriesLabelsAndValuesHonourMatchStartEndAndLimit) {
  ASSERT_EQ(RemoteWrite({MakeSeries({{"__name__", "up"}, {"job", "a"}}, {{kT0, 1}}),
                         MakeSeries({{"__name__", "up"}, {"job", "b"}}, {{kT0, 1}}),
                         MakeSeries({{"__name__", "other"}, {"zone", "z"}}, {{kT0, 1}})})
                .status,
            204);
  HttpResult r = Get("/api/v1/series?match%5B%5D=up");
  EXPECT_EQ(r.body,
            "{\"status\":\"success\",\"data\":[{\"__name__\":\"up\",\"job\":\"a\"},"
            "{\"__name__\":\"up\",\"job\":\"b\"}]}");
  // Two overlapping sets: their union, once each, in label order.
  r = Get("/api/v1/series?match[]=other&match[]=up&match[]=%7Bjob%3D%22a%22%7D");
  EXPECT_EQ(r.body,
            "{\"status\":\"success\",\"data\":[{\"__name__\":\"other\",\"zone\":\"z\"},"
            "{\"__name__\":\"up\",\"job\":\"a\"},{\"__name__\":\"up\",\"job\":\"b\"}]}");
  r = Get("/api/v1/series?match[]=up&limit=1");
  EXPECT_EQ(r.body,
            "{\"status\":\"success\",\"data\":[{\"__name__\":\"up\",\"job\":\"a\"}],"
            "\"warnings\":[\"results truncated due to limit\"]}");
  EXPECT_EQ(Get("/api/v1/series").status, 400);
  EXPECT_EQ(Get("/api/v1/series?match[]=%7Bjob%3D%22%22%7D").status, 400);

  EXPECT_EQ(Get("/api/v1/labels").body,
            "{\"status\":\"success\",\"data\":[\"__name__\",\"job\",\"zone\"]}");
  EXPECT_EQ(Get("/api/v1/labels?match[]=other").body,
            "{\"status\":\"success\",\"data\":[\"__name__\",\"zone\"]}");
  EXPECT_EQ(Get("/api/v1/label/job/values").body,
            "{\"status\":\"success\",\"data\":[\"a\",\"b\"]}");
  EXPECT_EQ(Get("/api/v1/label/__name__/values?limit=1").body,
            "{\"status\":\"success\",\"data\":[\"other\"],"
            "\"warnings\":[\"results truncated due to limit\"]}");
  // A window without data.
  EXPECT_EQ(Get("/api/v1/label/job/values?start=0&end=1000").body,
            "{\"status\":\"success\",\"data\":[]}");
}

TEST_F(ApiTest, StatusEndpointsGrafanaReadsAnswer) {
  HttpResult r = Get("/api/v1/status/buildinfo");
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.body, HasSubstr("\"version\":\"3.0.0\""));
  EXPECT_THAT(r.body, HasSubstr("\"emberVersion\":"));
  for (const char* path :
       {"/api/v1/status/runtimeinfo", "/api/v1/status/flags", "/api/v1/status/tsdb",
        "/api/v1/rules", "/api/v1/alerts", "/api/v1/query_exemplars?query=up&start=0&end=1",
        "/api/v1/metadata", "/api/v1/targets", "/-/healthy", "/-/ready"}) {
    r = Get(path);
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
  }
  EXPECT_EQ(Get("/api/v1/rules").body, "{\"status\":\"success\",\"data\":{\"groups\":[]}}");
  EXPECT_EQ(Get("/nope").status, 404);
  EXPECT_EQ(Get("/api/v1/write").status, 405);
}

TEST_F(ApiTest, BadRemoteWriteBodiesAnswer400AndTheServerKeepsServing) {
  ingest::DecodedBatch b;
  b.kind = ingest::PositionKind::kTimeseries;
  b.series.push_back(MakeSeries({{"__name__", "up"}, {"job", "a"}}, {{kT0, 1}}));
  const std::string good = ingest::EncodeRemoteWriteV1(b);
  HttpResult r = RemoteWrite(good.substr(0, good.size() / 2));
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("snappy"));
  // Valid snappy around bytes that are no protobuf message.
  r = RemoteWrite(std::string("\x0a\xff\xff\xff\x0f", 5));
  EXPECT_EQ(r.status, 400) << r.body;
  r = RemoteWrite(std::string(2 << 20, 'x'));
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(Get("/-/ready").status, 200);
  EXPECT_EQ(RemoteWrite(good).status, 204);
}

TEST_F(ApiTest, BadLabelsRejectTheWholeRequestWith400) {
  const std::vector<std::pair<std::string, ingest::DecodedSeries>> cases = {
      {"duplicate label name", MakeSeries({{"__name__", "m"}, {"a", "1"}, {"a", "2"}}, {{kT0, 1}})},
      {"no labels", MakeSeries({}, {{kT0, 1}})},
      {"empty label name", MakeSeries({{"__name__", "m"}, {"", "v"}}, {{kT0, 1}})},
      {"invalid UTF-8", MakeSeries({{"__name__", "m"}, {"a", "\xff\xfe"}}, {{kT0, 1}})},
  };
  for (const auto& [what, bad] : cases) {
    HttpResult r = RemoteWrite({MakeSeries({{"__name__", "good"}}, {{kT0, 1}}), bad});
    EXPECT_EQ(r.status, 400) << what;
    EXPECT_THAT(r.body, HasSubstr("timeseries[1]")) << what;
  }
  // Nothing of those requests was stored, not even the good series.
  EXPECT_THAT(Query("good").body, HasSubstr("\"result\":[]"));
}

TEST_F(ApiTest, OutOfOrderSamplesInOneRequestAre400AndOnlyStoredOnesAcknowledged) {
  HttpResult r = RemoteWrite({MakeSeries({{"__name__", "ooo"}}, {{kT0 + 1000, 2}, {kT0, 1}})});
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("1 of 2 samples refused"));
  EXPECT_THAT(Query("ooo", kT0 + 1000).body, HasSubstr("\"2\""));
  EXPECT_THAT(Query("ooo", kT0 + 500).body, HasSubstr("\"result\":[]"));
  // A different value at a stored timestamp is refused too; the same value is a no-op.
  EXPECT_EQ(RemoteWrite({MakeSeries({{"__name__", "ooo"}}, {{kT0 + 1000, 3}})}).status, 400);
  EXPECT_EQ(RemoteWrite({MakeSeries({{"__name__", "ooo"}}, {{kT0 + 1000, 2}})}).status, 204);
  HttpResult m = Get("/metrics");
  EXPECT_THAT(m.body, HasSubstr("ember_rejected_samples_total{reason=\"out_of_order\"} 1"));
  EXPECT_THAT(m.body, HasSubstr("ember_rejected_samples_total{reason=\"duplicate\"} 1"));
}

TEST_F(ApiTest, Utf8NamesAreAcceptedAndReadBackExactly) {
  ASSERT_EQ(
      RemoteWrite({MakeSeries({{"__name__", "model.latency ü"}, {"host.name", "ø-1"}}, {{kT0, 7}})})
          .status,
      204);
  HttpResult r = Query("{\"model.latency ü\"}");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.body, HasSubstr("{\"__name__\":\"model.latency ü\",\"host.name\":\"ø-1\"}"));
  EXPECT_EQ(Get("/api/v1/label/U__host_2e_name/values").body,
            "{\"status\":\"success\",\"data\":[\"ø-1\"]}");
}

TEST_F(ApiTest, RemoteWriteTwoAnswersWrittenCountHeaders) {
  ingest::DecodedBatch b;
  b.kind = ingest::PositionKind::kTimeseries;
  b.series.push_back(MakeSeries({{"__name__", "v2_metric"}, {"k", "v"}}, {{kT0, 1}, {kT0 + 1, 2}}));
  HttpResult r =
      Post("/api/v1/write", ingest::EncodeRemoteWriteV2(b),
           {{"Content-Encoding", "snappy"},
            {"Content-Type", "application/x-protobuf;proto=io.prometheus.write.v2.Request"},
            {"X-Prometheus-Remote-Write-Version", "2.0.0"}});
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(r.Header("x-prometheus-remote-write-samples-written"), "2");
  EXPECT_THAT(Query("v2_metric", kT0 + 1).body, HasSubstr("\"2\""));
  r = Post("/api/v1/write", "x", {{"Content-Type", "application/x-protobuf;proto=other.Message"}});
  EXPECT_EQ(r.status, 415);
}

TEST_F(ApiTest, TextImportStoresSamplesMetadataAndReportsBadLines) {
  const std::string text =
      "# HELP jobs_total Jobs done.\n"
      "# TYPE jobs_total counter\n"
      "jobs_total{queue=\"q1\"} 3 1700000000000\n"
      "jobs_total{queue=\"q2\"} 4\n";
  HttpResult r = Post("/api/v1/import/prometheus?extra_label=env%3Dtest&timestamp=1700000000", text,
                      {{"Content-Type", "text/plain"}});
  ASSERT_EQ(r.status, 204) << r.body;
  EXPECT_THAT(Query("sum(jobs_total{env=\"test\"})").body, HasSubstr("\"7\""));
  EXPECT_EQ(Get("/api/v1/metadata?metric=jobs_total").body,
            "{\"status\":\"success\",\"data\":{\"jobs_total\":[{\"type\":\"counter\",\"help\":"
            "\"Jobs done.\",\"unit\":\"\"}]}}");
  r = Post("/api/v1/import/prometheus", "ok 1\nbad{x=1} 2\n", {});
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("line 2"));
  EXPECT_THAT(Query("ok").body, HasSubstr("\"result\":[]"));
}

TEST_F(ApiTest, InfluxLineProtocolNamesSeriesMeasurementUnderscoreField) {
  HttpResult r = Post("/write?db=telegraf&precision=s",
                      "cpu,host=a usage_user=12.5,usage_idle=80i 1700000000\n", {});
  ASSERT_EQ(r.status, 204) << r.body;
  EXPECT_THAT(Query("cpu_usage_user").body,
              HasSubstr("{\"__name__\":\"cpu_usage_user\",\"db\":\"telegraf\",\"host\":\"a\"},"
                        "\"value\":[1700000000,\"12.5\"]"));
  EXPECT_THAT(Query("cpu_usage_idle").body, HasSubstr("\"80\""));
  r = Post("/api/v2/write?bucket=b&precision=s", "cpu,host=a usage_user=oops 1700000000\n", {});
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("line 1"));
  EXPECT_EQ(Post("/write?precision=fortnights", "m v=1\n", {}).status, 400);
}

std::string Gunzip(const std::string& in) {
  z_stream zs{};
  inflateInit2(&zs, 15 + 16);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  std::string out;
  char buf[16384];
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof buf - zs.avail_out);
  }
  inflateEnd(&zs);
  return rc == Z_STREAM_END ? out : "";
}

TEST_F(ApiTest, ResponsesAreGzippedWhenTheClientAsks) {
  std::vector<ingest::DecodedSeries> many;
  for (int i = 0; i < 200; ++i) {
    many.push_back(MakeSeries({{"__name__", "wide"}, {"i", absl::StrCat(i)}}, {{kT0, 1.0 * i}}));
  }
  ASSERT_EQ(RemoteWrite(many).status, 204);
  absl::StatusOr<HttpResult> plain = client_->Get("/api/v1/query?query=wide&time=1700000000");
  absl::StatusOr<HttpResult> zipped = client_->Request(
      "GET", "/api/v1/query?query=wide&time=1700000000", "", {{"Accept-Encoding", "gzip"}});
  ASSERT_TRUE(plain.ok() && zipped.ok());
  EXPECT_EQ(zipped->Header("content-encoding"), "gzip");
  EXPECT_LT(zipped->body.size(), plain->body.size());
  EXPECT_EQ(Gunzip(zipped->body), plain->body);
}

TEST_F(ApiTest, MetricsPageCountsRequestsAndSelfScrapeStoresThem) {
  Get("/api/v1/query?query=1");
  HttpResult m = Get("/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_THAT(m.body,
              HasSubstr("ember_http_requests_total{handler=\"/api/v1/query\",code=\"200\"} 1"));
  EXPECT_THAT(m.body, HasSubstr("# TYPE ember_http_request_duration_seconds histogram"));
  EXPECT_THAT(m.body, HasSubstr("ember_query_duration_seconds_count{kind=\"instant\"} 1"));
  EXPECT_THAT(m.body, HasSubstr("ember_head_series "));
  EXPECT_THAT(m.body, HasSubstr("process_resident_memory_bytes "));
}

// Before, a body without a newline was one line however long: 10 MiB of comment or blanks
// were answered 204. Lines are limited to 1 MiB (ingest/batch.h, kDefaultMaxLineBytes).
TEST(IngestLineLimitTest, TextAndLineProtocolRejectLinesOverOneMebibyteNamingThem) {
  testutil::TempDir dir;
  ServerOptions o;
  o.data_dir = dir.path();
  o.db.retention_ms = 0;
  o.db.background_interval_ms = 0;
  o.http.listen_address = "127.0.0.1:0";
  o.http.threads = 2;
  o.http.max_request_body_bytes = 16 << 20;  // So that the line limit, not the body's, applies.
  o.api.max_request_body_bytes = 16 << 20;
  o.self_scrape_interval_ms = 0;
  EmberServer server(o);
  ASSERT_TRUE(server.Start().ok());
  HttpClient client(server.port(), 30'000);
  const std::string junk(10 << 20, '#');
  const std::string long_second_line =
      absl::StrCat("good 1 1700000000000\n", "# ", std::string(1 << 20, 'x'), "\n");
  const std::string long_influx_second_line =
      absl::StrCat("good v=1 1700000000000000000\n", "# ", std::string(1 << 20, 'x'), "\n");
  struct Case {
    const char* target;
    const std::string& body;
    const char* want;
  };
  const Case cases[] = {
      {"/api/v1/import/prometheus", junk, "line 1, column 1048577: line is 10485760 bytes long"},
      {"/write", junk, "line 1, column 1048577: line is 10485760 bytes long"},
      {"/api/v2/write?bucket=b", junk, "line 1, column 1048577: line is 10485760 bytes long"},
      {"/api/v1/import/prometheus", long_second_line,
       "line 2, column 1048577: line is 1048578 bytes long, over the limit of 1048576 "
       "(max_line_bytes)"},
      {"/write", long_influx_second_line, "line 2, column 1048577"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.target);
    absl::StatusOr<HttpResult> r = client.Request("POST", c.target, c.body);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 400);
    EXPECT_THAT(r->body, HasSubstr(c.want));
  }
  // Nothing of a rejected body is stored, not even its good first line.
  absl::StatusOr<HttpResult> q =
      client.Get("/api/v1/query?query=%7B__name__%3D~%22good.*%22%7D&time=1700000000");
  ASSERT_TRUE(q.ok());
  EXPECT_THAT(q->body, HasSubstr("\"result\":[]"));
  EXPECT_TRUE(server.Stop().ok());
}

TEST(SelfScrapeTest, ServerIngestsItsOwnMetricsAsJobEmber) {
  testutil::TempDir dir;
  ServerOptions o;
  o.data_dir = dir.path();
  o.db.background_interval_ms = 0;
  o.http.listen_address = "127.0.0.1:0";
  o.self_scrape_interval_ms = 50;
  EmberServer server(o);
  ASSERT_TRUE(server.Start().ok());
  HttpClient client(server.port());
  // Bounded: up to 100 polls of 50 ms.
  std::string body;
  for (int i = 0; i < 100; ++i) {
    absl::StatusOr<HttpResult> r = client.Get("/api/v1/query?query=up%7Bjob%3D%22ember%22%7D");
    ASSERT_TRUE(r.ok());
    body = r->body;
    if (absl::StrContains(body, "\"job\":\"ember\"")) break;
    usleep(50'000);
  }
  EXPECT_THAT(body, HasSubstr("\"job\":\"ember\""));
  // The request counter exists after the first request, so a later scrape stores it.
  for (int i = 0; i < 100; ++i) {
    absl::StatusOr<HttpResult> r =
        client.Get("/api/v1/query?query=ember_http_requests_total%7Bjob%3D%22ember%22%7D");
    ASSERT_TRUE(r.ok());
    body = r->body;
    if (absl::StrContains(body, "ember_http_requests_total")) break;
    usleep(50'000);
  }
  EXPECT_THAT(body, HasSubstr("\"handler\":\"/api/v1/query\""));
  EXPECT_TRUE(server.Stop().ok());
}

}  // namespace
}  // namespace ember::server
