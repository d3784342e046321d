// The scrape's HTTP side against real targets on 127.0.0.1: gzip, host names, the body limit,
// content types, error statuses and timeouts worded as Prometheus's, and Stop() aborting a
// scrape in flight.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/scrape/scrape_manager.h"
#include "server/scrape/scrape_test_util.h"

namespace ember::server {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::Ge;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::SizeIs;
using ::testing::StartsWith;

using scrape_test::Compile;
using scrape_test::Job;
using scrape_test::kWaitLimit;
using scrape_test::OnlySeries;
using scrape_test::ScrapeManagerTest;
using scrape_test::TestTarget;
using scrape_test::WaitFor;
using scrape_test::WithJobs;

TEST_F(ScrapeManagerTest, GzipEncodedResponse) {
  TestTarget target([](int, const HttpRequest&) {
    HttpResponse r;
    r.content_type = "text/plain; version=0.0.4";
    r.body = Gzip("# TYPE zipped gauge\nzipped 42\n");
    r.headers.emplace_back("Content-Encoding", "gzip");
    return r;
  });
  ASSERT_TRUE(manager_->ApplyConfig(WithJobs({Job("gz", {target.address()})})).ok());
  ASSERT_TRUE(WaitForSamples("zipped", "gz", 1));
  EXPECT_EQ(Samples("zipped", "gz")[0].v, 42);
  EXPECT_EQ(Samples("up", "gz")[0].v, 1);
}

TEST_F(ScrapeManagerTest, HostNamesAreResolved) {
  TestTarget target(TestTarget::Text([](int) { return std::string("named 1\n"); }));
  const std::string address = absl::StrCat("localhost:", target.address().substr(10));
  ASSERT_TRUE(manager_->ApplyConfig(WithJobs({Job("named", {address})})).ok());
  ASSERT_TRUE(WaitForSamples("up", "named", 1));
  EXPECT_EQ(Samples("up", "named")[0].v, 1) << OnlyTarget().last_error;
  EXPECT_EQ(target.last_request().Header("host"), address);
  EXPECT_THAT(
      Select({{"__name__", "named"}}),
      OnlySeries(LabelsToString({{"__name__", "named"}, {"instance", address}, {"job", "named"}})));
}

TEST_F(ScrapeManagerTest, BodyLargerThanTheLimitFailsTheScrape) {
  TestTarget target([](int n, const HttpRequest&) {
    HttpResponse r;
    r.content_type = "text/plain";
    r.body = std::string(100, '#') + "\nbig 1\n";
    if (n > 1) {
      // Small on the wire, too large once inflated.
      r.body = Gzip(r.body);
      r.headers.emplace_back("Content-Encoding", "gzip");
    }
    return r;
  });
  ScrapeManagerOptions options;
  options.max_body_bytes = 64;
  options.threads = 1;
  ScrapeManager small(db_.get(), /*metrics=*/nullptr, options);
  ASSERT_TRUE(small.ApplyConfig(WithJobs({Job("big", {target.address()})})).ok());
  ASSERT_TRUE(WaitForSamples("up", "big", 2));
  const std::vector<Sample> up = Samples("up", "big");
  EXPECT_EQ(up[0].v, 0);
  EXPECT_EQ(up[1].v, 0);
  EXPECT_THAT(small.Targets()[0].last_error, HasSubstr("body size limit exceeded"));
  small.Stop();
}

TEST_F(ScrapeManagerTest, OpenMetricsByContentType) {
  TestTarget target([](int, const HttpRequest&) {
    HttpResponse r;
    r.content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    // The OpenMetrics-only `# EOF` would be a syntax error in the text format 0.0.4.
    r.body = "# TYPE om gauge\nom 7\n# EOF\n";
    return r;
  });
  ASSERT_TRUE(manager_->ApplyConfig(WithJobs({Job("om", {target.address()})})).ok());
  ASSERT_TRUE(WaitForSamples("up", "om", 1));
  EXPECT_EQ(Samples("up", "om")[0].v, 1) << OnlyTarget().last_error;
  ASSERT_THAT(Samples("om", "om"), SizeIs(Ge(1u)));
  EXPECT_EQ(Samples("om", "om")[0].v, 7);
}

TEST_F(ScrapeManagerTest, ErrorStatusAndTimeoutFailTheScrape) {
  absl::Notification release;
  TestTarget broken([](int, const HttpRequest&) {
    HttpResponse r;
    r.status = 500;
    r.body = "boom";
    return r;
  });
  TestTarget slow([&release](int, const HttpRequest&) {
    release.WaitForNotificationWithTimeout(absl::Seconds(5));
    HttpResponse r;
    r.content_type = "text/plain";
    r.body = "late 1\n";
    return r;
  });
  ASSERT_TRUE(manager_
                  ->ApplyConfig(WithJobs(
                      {Job("broken", {broken.address()}), Job("slow", {slow.address()}, 200, 50)}))
                  .ok());
  ASSERT_TRUE(WaitForSamples("up", "broken", 1));
  ASSERT_TRUE(WaitForSamples("up", "slow", 1));
  EXPECT_EQ(Samples("up", "broken")[0].v, 0);
  EXPECT_EQ(Samples("up", "slow")[0].v, 0);
  const std::vector<Sample> duration = Samples("scrape_duration_seconds", "slow");
  EXPECT_GE(duration[0].v, 0.045);
  EXPECT_LT(duration[0].v, 1) << "bounded by scrape_timeout";
  std::vector<TargetStatus> targets = manager_->Targets();
  ASSERT_THAT(targets, SizeIs(2));
  EXPECT_EQ(targets[0].last_error, "server returned HTTP status 500 Internal Server Error");
  EXPECT_EQ(targets[1].last_error,
            absl::StrCat("Get \"http://", slow.address(), "/metrics\": context deadline exceeded"));
  release.Notify();
}

TEST_F(ScrapeManagerTest, StopAbortsScrapesInFlightAndMarksEverythingStale) {
  absl::Notification release;
  TestTarget target([&release](int n, const HttpRequest&) {
    if (n > 1) release.WaitForNotificationWithTimeout(absl::Seconds(10));
    HttpResponse r;
    r.content_type = "text/plain";
    r.body = "m 1\n";
    return r;
  });
  // A 2 s timeout: only Stop() can end the second scrape within a second.
  ASSERT_TRUE(manager_->ApplyConfig(WithJobs({Job("stop", {target.address()}, 2000, 2000)})).ok());
  ASSERT_TRUE(WaitForSamples("m", "stop", 1));
  ASSERT_TRUE(WaitFor([&] { return target.requests() >= 2; }));

  const auto t0 = std::chrono::steady_clock::now();
  manager_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
  release.Notify();
  for (const std::string name : {"m", "up"}) {
    SCOPED_TRACE(name);
    const std::vector<Sample> samples = Samples(name, "stop");
    ASSERT_THAT(samples, SizeIs(2));
    EXPECT_EQ(samples[0].v, 1);
    EXPECT_TRUE(IsStaleNaN(samples[1].v));
  }
  EXPECT_THAT(manager_->Targets(), IsEmpty());
  EXPECT_TRUE(absl::IsFailedPrecondition(manager_->ApplyConfig(Config{})));
  manager_->Stop();  // Idempotent.
}

}  // namespace
}  // namespace ember::server
