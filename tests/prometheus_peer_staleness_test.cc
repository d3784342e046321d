// Stale markers reach Ember (see prometheus_peer_target.h): the target stops, Prometheus writes
// stale markers and forwards them, and neither answers with the series after them.
#include "tests/prometheus_peer_testing.h"

namespace ember {
namespace {

// Runs last (gtest keeps definition order): stops the target.
TEST_F(PrometheusPeerTest, StaleMarkersReachEmber) {
  s_->target_server->Stop(1000);
  // Prometheus's first failed scrape writes up=0 and a stale marker for every series the
  // target had; find a failed scrape's timestamp in Prometheus, then wait for Ember to hold it.
  int64_t failed_ms = 0;
  ASSERT_TRUE(testutil::WaitFor(
      [&] {
        absl::StatusOr<JsonValue> d = Query(s_->prometheus_port, "up == 0", WallNowMs());
        if (!d.ok() || (*d)["result"].items.empty()) return false;
        absl::StatusOr<JsonValue> ts = Query(s_->prometheus_port, "timestamp(up)", WallNowMs());
        if (!ts.ok() || (*ts)["result"].items.empty()) return false;
        failed_ms = ParsePoint((*ts)["result"].items[0]["value"]).t;
        return true;
      },
      30'000, 200))
      << "Prometheus never saw the target down";
  ASSERT_TRUE(testutil::WaitFor(
      [&] {
        absl::StatusOr<JsonValue> d = Query(s_->ember.port(), "timestamp(up)", WallNowMs());
        return d.ok() && !(*d)["result"].items.empty() &&
               ParsePoint((*d)["result"].items[0]["value"]).t >= failed_ms + 4000;
      },
      30'000, 200))
      << "Ember never received the samples of the failed scrape at " << Seconds(failed_ms);
  const int64_t t = failed_ms + 500;
  for (const char* q : {"peer_requests_total", "peer_temperature_celsius",
                        "{job=\"peer\", __name__=~\"peer_.*\"}"}) {
    SCOPED_TRACE(q);
    absl::StatusOr<JsonValue> prom = Query(s_->prometheus_port, q, t);
    absl::StatusOr<JsonValue> ember = Query(s_->ember.port(), q, t);
    ASSERT_TRUE(prom.ok()) << prom.status();
    ASSERT_TRUE(ember.ok()) << ember.status();
    EXPECT_TRUE((*prom)["result"].items.empty()) << "Prometheus returned series after the "
                                                    "stale markers";
    absl::StatusOr<Result> got = ToResult(*ember);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_TRUE(got->series.empty())
        << "Ember still returns series after the stale markers: " << Describe(*got);
  }
  // Range functions skip the markers and still see the samples before them.
  for (const char* q : {"up", "count_over_time(peer_requests_total[10s])",
                        "last_over_time(peer_temperature_celsius[10s])",
                        "rate(peer_requests_total[10s])", "peer_requests_total[3s]"}) {
    ExpectSameInstant(q, t);
  }
  ExpectSameInstant("absent(peer_requests_total)", t);
}

}  // namespace
}  // namespace ember
