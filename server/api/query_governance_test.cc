// Query governance end to end, over real HTTP to an in-process EmberServer on 127.0.0.1:
// queries run on their own executor (ingest and health are served while every worker is busy),
// the queue is bounded, a client that hangs up cancels its query, the timeout and the memory
// budget end queries with Prometheus's error types, and hostile times are 400.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ingest/remote_write.h"
#include "server/cmd/ember_server.h"
#include "tests/testutil/ember_server_fixture.h"
#include "tests/testutil/http_client.h"
#include "tests/testutil/json_value.h"

namespace ember::server {
namespace {

using ::testing::HasSubstr;
using testutil::HttpClient;
using testutil::HttpResult;
using testutil::UrlEncode;

// Minutes of CPU uncancelled: 86,400 windows of 86,400 points.
constexpr const char* kSlowQuery = "sum_over_time(sum_over_time(vector(1)[1d:1s])[1d:1s])";

class QueryGovernanceTest : public testutil::EmberServerTest {
 protected:
  void Start(const std::function<void(ServerOptions*)>& adjust = nullptr) {
    StartServer(
        [&adjust](ServerOptions* o) {
          o->http.threads = 1;  // One I/O thread: a query running on it would block everything.
          o->executor.max_concurrency = 1;
          o->executor.max_queued = 0;
          if (adjust) adjust(o);
        },
        /*client_timeout_ms=*/30'000);
  }

  // The executor's figures from /api/v1/status/runtimeinfo.
  int64_t QueriesStat(const std::string& key) {
    HttpResult r = Get("/api/v1/status/runtimeinfo");
    absl::StatusOr<testutil::JsonValue> j = testutil::ParseJson(r.body);
    if (!j.ok()) return -1;
    return static_cast<int64_t>((*j)["data"]["queries"][key].number);
  }

  // Polls (bounded: 10 s) until the stat reaches `want`.
  bool WaitForStat(const std::string& key, int64_t want) {
    for (int i = 0; i < 1000; ++i) {
      if (QueriesStat(key) == want) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  // Sends a GET on a connection of its own and returns the socket, without reading.
  int SendRaw(const std::string& target) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(server_->port()));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    const std::string req = absl::StrCat("GET ", target, " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    EXPECT_EQ(send(fd, req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
    return fd;
  }
};

TEST_F(QueryGovernanceTest, WritesHealthAndMetricsAreServedWhileEveryWorkerIsBusy) {
  Start();
  const int fd = SendRaw(absl::StrCat("/api/v1/query?time=86400&query=", UrlEncode(kSlowQuery)));
  ASSERT_TRUE(WaitForStat("running", 1));
  // One I/O thread and the only query worker busy: these are still answered.
  EXPECT_EQ(Get("/-/healthy").status, 200);
  EXPECT_EQ(Get("/-/ready").status, 200);
  EXPECT_THAT(Get("/metrics").body, HasSubstr("ember_queries_running 1"));
  ingest::DecodedBatch b;
  ingest::DecodedSeries up;
  up.labels = {{"__name__", "up"}};
  up.samples = {{86'400'000, 1}};
  b.series.push_back(std::move(up));
  absl::StatusOr<HttpResult> w = client_->Request(
      "POST", "/api/v1/write", ingest::EncodeRemoteWriteV1(b),
      {{"Content-Encoding", "snappy"}, {"Content-Type", "application/x-protobuf"}});
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->status, 204) << w->body;
  // No queue (max_queued=0): another query is refused at once, with Prometheus's shape.
  HttpResult refused = Get("/api/v1/query?query=up&time=86400");
  EXPECT_EQ(refused.status, 503);
  EXPECT_THAT(refused.body, HasSubstr("\"errorType\":\"unavailable\""));
  EXPECT_THAT(refused.body, HasSubstr("query.max-concurrency"));
  EXPECT_EQ(QueriesStat("running"), 1);  // The slow one was running all along.
  close(fd);                             // The client leaves: its query is cancelled.
  ASSERT_TRUE(WaitForStat("cancelled", 1));
  EXPECT_TRUE(WaitForStat("running", 0));
  EXPECT_EQ(QueriesStat("rejected"), 1);
  HttpResult after = Get("/api/v1/query?query=up&time=86400");
  EXPECT_EQ(after.status, 200);
  EXPECT_THAT(after.body, HasSubstr("\"1\""));
}

TEST_F(QueryGovernanceTest, TimeoutEndsAQueryWith503Timeout) {
  Start();
  HttpResult r =
      Get(absl::StrCat("/api/v1/query?time=86400&timeout=200ms&query=", UrlEncode(kSlowQuery)));
  EXPECT_EQ(r.status, 503);
  EXPECT_THAT(r.body, HasSubstr("\"errorType\":\"timeout\""));
  EXPECT_TRUE(WaitForStat("timedOut", 1));
}

TEST_F(QueryGovernanceTest, MemoryBudgetEndsAQueryWith422BeforeTheAllocatorFails) {
  Start([](ServerOptions* o) { o->api.engine.max_memory_bytes = 8 << 20; });
  HttpResult r = Get(absl::StrCat("/api/v1/query?time=86400&query=",
                                  UrlEncode("count_over_time(vector(1)[1d:10ms])")));
  EXPECT_EQ(r.status, 422);
  EXPECT_THAT(r.body, HasSubstr("\"errorType\":\"execution\""));
  EXPECT_THAT(r.body, HasSubstr("query.max-memory-bytes"));
  // A subquery of 3e11 steps is refused before any buffer exists.
  HttpResult huge =
      Get(absl::StrCat("/api/v1/query?query=", UrlEncode("count_over_time(vector(1)[10y:1ms])")));
  EXPECT_EQ(huge.status, 422);
  EXPECT_THAT(huge.body, HasSubstr("too many samples"));
  EXPECT_TRUE(WaitForStat("overLimit", 2));  // Counted just after the answer is handed over.
  EXPECT_EQ(QueriesStat("memoryBytes"), 0);
}

TEST_F(QueryGovernanceTest, AnswerTooLargeToEncodeWithinTheBudgetIs422) {
  // 10,801 points: 256 KiB evaluated (a vector of 16,384), about 340 KiB more as JSON.
  Start([](ServerOptions* o) { o->api.engine.max_memory_bytes = 512 << 10; });
  const std::string target = "/api/v1/query_range?query=vector(1)&start=0&end=86400&step=";
  HttpResult big = Get(absl::StrCat(target, "8"));
  EXPECT_EQ(big.status, 422) << big.body.substr(0, 200);
  EXPECT_THAT(big.body, HasSubstr("to encode"));
  EXPECT_EQ(Get(absl::StrCat(target, "80")).status, 200);  // A tenth of the points fits.
}

TEST_F(QueryGovernanceTest, HostileTimesAndDurationsAre400NamingTheParameter) {
  Start();
  struct Case {
    std::string target;
    std::string param;
  };
  const Case cases[] = {
      {"/api/v1/query?query=1&time=1e300", "time"},
      {"/api/v1/query?query=1&time=%2BInf", "time"},
      {"/api/v1/query?query=1&time=-Inf", "time"},
      {"/api/v1/query?query=1&time=NaN", "time"},
      {"/api/v1/query?query=1&time=9e15", "time"},  // Beyond +-2^62 ms.
      {"/api/v1/query_range?query=1&start=1e300&end=1&step=1", "start"},
      {"/api/v1/query_range?query=1&start=0&end=Inf&step=1", "end"},
      {"/api/v1/query_range?query=1&start=0&end=1&step=1e300", "step"},
      {"/api/v1/query?query=1&timeout=NaN", "timeout"},
      {"/api/v1/query?query=1&timeout=-1", "timeout"},
      {"/api/v1/query?query=1&lookback_delta=-5m", "lookback_delta"},
      {"/api/v1/query?query=1&lookback_delta=1e300", "lookback_delta"},
      {"/api/v1/series?match[]=up&start=1e300", "start"},
      {"/api/v1/labels?end=-Inf", "end"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.target);
    HttpResult r = Get(c.target);
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_THAT(r.body, HasSubstr(absl::StrCat("invalid parameter \\\"", c.param, "\\\"")));
  }
  for (const char* q : {"up[1e300s]", "up offset 1e300s", "up @ 1e300", "up[300y]"}) {
    SCOPED_TRACE(q);
    HttpResult r = Get(absl::StrCat("/api/v1/query?time=1&query=", UrlEncode(q)));
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_THAT(r.body, HasSubstr("invalid parameter \\\"query\\\""));
  }
  EXPECT_EQ(Get("/-/healthy").status, 200);
}

TEST_F(QueryGovernanceTest, SubqueryWithoutStepUsesTheEvaluationInterval) {
  // Without a config, Prometheus's default global.evaluation_interval: 1m.
  Start();
  const std::string q =
      absl::StrCat("/api/v1/query?time=3600&query=", UrlEncode("count_over_time(vector(1)[10m:])"));
  EXPECT_THAT(Get(q).body, HasSubstr("\"10\""));
  ASSERT_TRUE(server_->Stop().ok());
  server_.reset();
  const std::string config = absl::StrCat(dir_.path(), "/ember.yml");
  std::ofstream(config) << "global:\n  evaluation_interval: 30s\n";
  Start([&config](ServerOptions* o) {
    o->config_file = config;
    o->data_dir = absl::StrCat(o->data_dir, "/data");
  });
  EXPECT_THAT(Get(q).body, HasSubstr("\"20\""));
}

}  // namespace
}  // namespace ember::server
