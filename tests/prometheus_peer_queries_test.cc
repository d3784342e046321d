// Ember and Prometheus 2.42 agree (see prometheus_peer_target.h): instant and range queries,
// series and label lookups.
#include "tests/prometheus_peer_testing.h"

namespace ember {
namespace {

TEST_F(PrometheusPeerTest, InstantQueriesAgree) {
  const int64_t t = s_->eval_ms;
  const std::vector<std::string> queries = {
      "up",
      "peer_requests_total",
      "peer_requests_total{code=\"500\"}",
      "{job=\"peer\", __name__=~\"peer_(temperature|queue).*\"}",
      "rate(peer_requests_total[10s])",
      "irate(peer_requests_total[10s])",
      "increase(peer_requests_total[10s])",
      "rate(peer_resets_total[10s])",
      "increase(peer_resets_total[5s])",
      "resets(peer_resets_total[10s])",
      "delta(peer_temperature_celsius[10s])",
      "idelta(peer_temperature_celsius[10s])",
      "deriv(peer_temperature_celsius[10s])",
      "predict_linear(peer_temperature_celsius[10s], 60)",
      "changes(peer_queue_length[10s])",
      "sum by (path) (rate(peer_requests_total[10s]))",
      "sum without (code) (increase(peer_requests_total[10s]))",
      "histogram_quantile(0.9, sum by (le) (rate(peer_latency_seconds_bucket[10s])))",
      "histogram_quantile(0.5, sum by (le, path) (rate(peer_latency_seconds_bucket[10s])))",
      "histogram_quantile(0.99, rate(peer_latency_seconds_bucket[5s]))",
      "rate(peer_latency_seconds_sum[10s]) / rate(peer_latency_seconds_count[10s])",
      "avg_over_time(peer_temperature_celsius[10s])",
      "max_over_time(peer_temperature_celsius[10s])",
      "min_over_time(peer_temperature_celsius[10s])",
      "sum_over_time(peer_queue_length[10s])",
      "count_over_time(up[10s])",
      "last_over_time(peer_queue_length[10s])",
      "quantile_over_time(0.75, peer_temperature_celsius[10s])",
      "stddev_over_time(peer_temperature_celsius[10s])",
      "stdvar_over_time(peer_temperature_celsius[10s])",
      "present_over_time(peer_build_info[10s])",
      "absent_over_time(nonexistent_metric[10s])",
      "count by (code) (peer_requests_total)",
      "count(peer_latency_seconds_bucket)",
      "avg by (path) (peer_latency_seconds_bucket)",
      "max(peer_temperature_celsius)",
      "stddev(peer_temperature_celsius)",
      "quantile(0.3, peer_requests_total)",
      "count_values(\"value\", peer_queue_length)",
      "topk(2, peer_requests_total)",
      "bottomk(1, rate(peer_requests_total[10s]))",
      "sort_desc(sum by (code) (peer_requests_total))",
      "sum by (path) (rate(peer_requests_total{code=\"500\"}[10s])) / "
      "sum by (path) (rate(peer_requests_total[10s]))",
      "peer_requests_total{code=\"500\"} / ignoring(code) peer_requests_total{code=\"200\"}",
      "peer_requests_total / on(path) group_left sum by (path) (peer_requests_total)",
      "peer_temperature_celsius > 20",
      "peer_temperature_celsius > bool 20",
      "peer_queue_length * 2 + 1",
      "peer_requests_total and on(code) peer_requests_total{code=\"200\"}",
      "peer_requests_total unless peer_requests_total{path=\"/api\"}",
      "up or vector(0)",
      "absent(nonexistent_metric)",
      "peer_requests_total offset 3s",
      "rate(peer_requests_total[5s] offset 3s)",
      absl::StrCat("peer_queue_length @ ", Seconds(t - 5000)),
      "timestamp(up)",
      "time()",
      "vector(time())",
      "scalar(peer_queue_length)",
      "round(peer_temperature_celsius, 0.5)",
      "clamp(peer_temperature_celsius, 19, 21)",
      "abs(-peer_queue_length)",
      "ln(peer_requests_total)",
      "label_replace(up, \"host\", \"$1\", \"instance\", \"(.*):.*\")",
      "label_join(peer_build_info, \"both\", \"-\", \"version\", \"revision\")",
      "scrape_samples_scraped",
      "scrape_series_added",
      "peer_requests_total[5s]",
      "up[3s] offset 2s",
  };
  for (const std::string& q : queries) ExpectSameInstant(q, t);
  ExpectSameInstant("absent(up)", t, /*may_be_empty=*/true);
  ExpectSameInstant("peer_requests_total > 1e15", t, /*may_be_empty=*/true);
  std::printf("compared %zu instant queries at T=%s\n", queries.size() + 2, Seconds(t).c_str());
  if (s_->subqueries) {
    ExpectSameInstant("max_over_time(rate(peer_requests_total[5s])[10s:2s])", t);
    ExpectSameInstant("avg_over_time(peer_temperature_celsius[10s:1s])", t);
  } else {
    std::printf("a sample sits on a whole second: subqueries skipped\n");
  }
}

TEST_F(PrometheusPeerTest, RangeQueriesAgree) {
  const int64_t end = s_->eval_ms;
  const int64_t start = end - 10'000;
  for (const std::string q :
       {"up", "peer_temperature_celsius", "rate(peer_requests_total[5s])",
        "sum by (path) (increase(peer_requests_total[10s]))",
        "histogram_quantile(0.9, sum by (le) (rate(peer_latency_seconds_bucket[5s])))",
        "avg_over_time(peer_queue_length[3s])", "peer_requests_total offset 3s",
        "rate(peer_resets_total[4s])", "time()", "absent(nonexistent_metric)"}) {
    ExpectSameAnswer(absl::StrCat("range ", q),
                     absl::StrCat("/api/v1/query_range?query=", testutil::UrlEncode(q),
                                  "&start=", Seconds(start), "&end=", Seconds(end), "&step=1"));
  }
}

TEST_F(PrometheusPeerTest, SeriesAndLabelsAgree) {
  const std::string range =
      absl::StrCat("start=", Seconds(s_->eval_ms - 10'000), "&end=", Seconds(s_->eval_ms));
  ExpectSameList(absl::StrCat("/api/v1/series?match[]=peer_requests_total&match[]=",
                              testutil::UrlEncode("up{job=\"peer\"}"), "&", range));
  ExpectSameList(absl::StrCat("/api/v1/series?match[]=",
                              testutil::UrlEncode("{__name__=~\"peer_latency.*\",path=\"/api\"}"),
                              "&", range));
  ExpectSameList(absl::StrCat("/api/v1/labels?", range));
  ExpectSameList(absl::StrCat("/api/v1/labels?match[]=peer_latency_seconds_bucket&", range));
  ExpectSameList(absl::StrCat("/api/v1/label/__name__/values?", range));
  ExpectSameList(absl::StrCat("/api/v1/label/path/values?", range));
  ExpectSameList(absl::StrCat("/api/v1/label/le/values?match[]=",
                              testutil::UrlEncode("peer_latency_seconds_bucket{path=\"/api\"}"),
                              "&", range));
}

}  // namespace
}  // namespace ember
