// remote_write_load: replays the ML-serving data set (examples/model-serving/scrape_data.h) into a
// remote write 1.0 receiver on 127.0.0.1 (Ember or Prometheus with
// --web.enable-remote-write-receiver) and reports the ingest rate. bench/side_by_side.sh runs
// it against both with the same flags, so both receive byte-identical requests.
//
// Requests are built as Prometheus's queue manager builds them: one timeseries entry per sample
// (labels repeated), --batch_samples entries per request. All requests are encoded before the
// clock starts. Each of --concurrency connections owns the targets t with t % concurrency == c
// and sends their scrapes in time order, so no series ever receives an out-of-order sample.
// The first --warmup scrape rounds (which create every series) are sent and timed apart.
//
// --mode=steady is the probe of bench/ingest_under_load.sh instead: a paced stream of small
// requests into series the replay created, sent one at a time over one connection, as a
// Prometheus remote-write shard with little to send does. Request i is due at i / --rate s after
// the start; a late request goes at once, and the run stops at --seconds or after --rate x
// --seconds requests, whichever comes first. Each request is one scrape (131 samples) of one of
// --steady_targets targets from --steady_first_target on, in turn; its values continue the
// replay's (same --minutes, so counters do not reset) and its timestamp is the wall clock.
//
// Output: one JSON line on stdout, a readable summary on stderr.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/latency_stats.h"
#include "examples/model-serving/scrape_data.h"
#include "gflags/gflags.h"
#include "ingest/batch.h"
#include "ingest/remote_write.h"
#include "tests/testutil/http_client.h"

DEFINE_string(mode, "replay", "replay (the data set as fast as it goes) or steady (a paced probe)");
DEFINE_int32(port, 0, "Port of the receiver on 127.0.0.1 (required)");
DEFINE_string(path, "/api/v1/write", "Remote write path");
DEFINE_int32(targets, 200, "Model-server targets to simulate (131 series each)");
DEFINE_int32(minutes, 30, "Minutes of 15 s scrapes, ending at --end_ms (at most 120; see main())");
DEFINE_int64(end_ms, 0, "End of the data in Unix ms (default now); give both systems the same");
DEFINE_int32(batch_samples, 2000, "Samples per request (Prometheus's max_samples_per_send)");
DEFINE_int32(concurrency, 4, "Connections sending at once");
DEFINE_int32(warmup, 1, "Leading scrape rounds sent (and timed) apart: they create the series");
DEFINE_string(name, "", "Receiver name printed in the output");
DEFINE_double(rate, 20, "steady: requests per second");
DEFINE_int32(seconds, 30, "steady: length of the run");
DEFINE_int32(steady_first_target, 0, "steady: first target the stream writes");
DEFINE_int32(steady_targets, 10, "steady: targets written in turn, one scrape per request");
DEFINE_int64(timeout_ms, 120'000, "Longest wait for one answer");

namespace {

using Clock = std::chrono::steady_clock;
using ember::bench::Percentile;
using Headers = std::vector<std::pair<std::string, std::string>>;

// What Prometheus's queue manager sends with every remote write 1.0 request.
Headers RemoteWriteHeaders() {
  return {{"Content-Encoding", "snappy"},
          {"Content-Type", "application/x-protobuf"},
          {"X-Prometheus-Remote-Write-Version", "0.1.0"}};
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Stream {
  std::vector<std::string> warmup;  // Encoded requests, in send order.
  std::vector<std::string> timed;
  int64_t warmup_samples = 0;
  int64_t timed_samples = 0;
};

struct PhaseResult {
  int64_t requests = 0;
  int64_t non_2xx = 0;
  int64_t errors = 0;  // Transport errors (no HTTP answer).
  std::vector<double> latencies_ms;
  std::string first_failure;
};

// Builds every connection's requests.
std::vector<Stream> BuildStreams(int64_t end_ms, int64_t* num_series) {
  ember::model_serving::ScrapeDataOptions options;
  options.targets = FLAGS_targets;
  options.interval_ms = 15'000;
  const int rounds = FLAGS_minutes * 60'000 / static_cast<int>(options.interval_ms);
  // Every scrape of round r lands before start + (r + 1) * interval, so all before end_ms.
  options.start_ms = end_ms - int64_t{rounds} * options.interval_ms;
  ember::model_serving::ScrapeData data(options);
  *num_series = static_cast<int64_t>(data.series().size());
  std::vector<Stream> streams(FLAGS_concurrency);
  std::vector<ember::ingest::DecodedBatch> pending(FLAGS_concurrency);
  std::vector<int64_t> pending_samples(FLAGS_concurrency, 0);
  auto flush = [&](int c, bool warmup) {
    if (pending[c].series.empty()) return;
    Stream& s = streams[c];
    (warmup ? s.warmup : s.timed).push_back(ember::ingest::EncodeRemoteWriteV1(pending[c]));
    (warmup ? s.warmup_samples : s.timed_samples) += pending_samples[c];
    pending[c].series.clear();
    pending_samples[c] = 0;
  };
  std::vector<double> values;
  for (int r = 0; r < rounds; ++r) {
    const bool warmup = r < FLAGS_warmup;
    for (int target = 0; target < data.num_targets(); ++target) {
      const int c = target % FLAGS_concurrency;
      int64_t t = 0;
      data.NextScrape(target, &t, &values);
      const auto [first, last] = data.target_series(target);
      for (size_t i = first; i < last; ++i) {
        ember::ingest::DecodedSeries s;
        s.labels = data.series()[i];
        s.samples.push_back(ember::Sample{t, values[i - first]});
        s.position = static_cast<uint32_t>(pending[c].series.size());
        pending[c].series.push_back(std::move(s));
        if (++pending_samples[c] == FLAGS_batch_samples) flush(c, warmup);
      }
    }
    if (r + 1 == FLAGS_warmup || r + 1 == rounds) {
      for (int c = 0; c < FLAGS_concurrency; ++c) flush(c, warmup);
    }
  }
  return streams;
}

// Sends `requests` over one connection; gives up after 20 transport errors in a row.
void Send(const std::vector<std::string>& requests, PhaseResult* out) {
  ember::testutil::HttpClient client(FLAGS_port, FLAGS_timeout_ms);
  const Headers headers = RemoteWriteHeaders();
  int errors_in_a_row = 0;
  for (const std::string& body : requests) {
    const Clock::time_point t0 = Clock::now();
    absl::StatusOr<ember::testutil::HttpResult> r =
        client.Request("POST", FLAGS_path, body, headers);
    out->latencies_ms.push_back(
        std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    ++out->requests;
    if (!r.ok()) {
      ++out->errors;
      if (out->first_failure.empty()) out->first_failure = r.status().ToString();
      if (++errors_in_a_row == 20) return;
      continue;
    }
    errors_in_a_row = 0;
    if (r->status < 200 || r->status >= 300) {
      ++out->non_2xx;
      if (out->first_failure.empty()) {
        out->first_failure = absl::StrCat("HTTP ", r->status, ": ", r->body.substr(0, 300));
      }
    }
  }
}

// Runs one phase on every connection at once; its wall time in seconds.
double RunPhase(const std::vector<Stream>& streams, bool warmup, PhaseResult* total) {
  std::vector<PhaseResult> results(streams.size());
  const Clock::time_point t0 = Clock::now();
  std::vector<std::thread> threads;
  for (size_t c = 0; c < streams.size(); ++c) {
    threads.emplace_back(
        [&, c] { Send(warmup ? streams[c].warmup : streams[c].timed, &results[c]); });
  }
  for (std::thread& t : threads) t.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  for (PhaseResult& r : results) {
    total->requests += r.requests;
    total->non_2xx += r.non_2xx;
    total->errors += r.errors;
    total->latencies_ms.insert(total->latencies_ms.end(), r.latencies_ms.begin(),
                               r.latencies_ms.end());
    if (total->first_failure.empty()) total->first_failure = r.first_failure;
  }
  return seconds;
}

// --mode=steady (see the file comment). Returns the exit code.
int RunSteady(int64_t end_ms) {
  ember::model_serving::ScrapeDataOptions options;
  options.targets = FLAGS_steady_first_target + FLAGS_steady_targets;
  options.interval_ms = 15'000;
  const int rounds = FLAGS_minutes * 60'000 / static_cast<int>(options.interval_ms);
  options.start_ms = end_ms - int64_t{rounds} * options.interval_ms;
  // Each target's values come from its own stream, seeded by its index alone, so skipping the
  // replayed rounds of just these targets continues exactly the series the replay wrote.
  ember::model_serving::ScrapeData data(options);
  std::vector<double> values;
  std::vector<int64_t> last_t(options.targets, end_ms);
  int64_t t = 0;
  for (int target = FLAGS_steady_first_target; target < options.targets; ++target) {
    for (int r = 0; r < rounds; ++r) data.NextScrape(target, &t, &values);
  }
  const Headers headers = RemoteWriteHeaders();

  const int64_t planned = static_cast<int64_t>(FLAGS_rate * FLAGS_seconds);
  ember::testutil::HttpClient client(FLAGS_port, FLAGS_timeout_ms);
  PhaseResult result;
  int64_t samples = 0, acked_samples = 0, late = 0;
  const Clock::time_point start = Clock::now();
  const Clock::time_point deadline = start + std::chrono::seconds(FLAGS_seconds);
  for (int64_t i = 0; i < planned; ++i) {
    const Clock::time_point due =
        start + std::chrono::duration_cast<Clock::duration>(
                    std::chrono::duration<double>(static_cast<double>(i) / FLAGS_rate));
    if (due >= deadline || Clock::now() >= deadline) break;
    if (Clock::now() < due) {
      std::this_thread::sleep_until(due);
    } else if (i > 0) {
      ++late;
    }
    const int target = FLAGS_steady_first_target + static_cast<int>(i % FLAGS_steady_targets);
    data.NextScrape(target, &t, &values);
    // The wall clock, but strictly later than this target's previous sample.
    last_t[target] = std::max(NowMs(), last_t[target] + 1);
    ember::ingest::DecodedBatch batch;
    const auto [first, last] = data.target_series(target);
    for (size_t k = first; k < last; ++k) {
      ember::ingest::DecodedSeries s;
      s.labels = data.series()[k];
      s.samples.push_back(ember::Sample{last_t[target], values[k - first]});
      s.position = static_cast<uint32_t>(batch.series.size());
      batch.series.push_back(std::move(s));
    }
    const std::string body = ember::ingest::EncodeRemoteWriteV1(batch);
    const Clock::time_point t0 = Clock::now();
    absl::StatusOr<ember::testutil::HttpResult> r =
        client.Request("POST", FLAGS_path, body, headers);
    result.latencies_ms.push_back(
        std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    ++result.requests;
    samples += static_cast<int64_t>(last - first);
    if (!r.ok()) {
      ++result.errors;
      if (result.first_failure.empty()) result.first_failure = r.status().ToString();
    } else if (r->status < 200 || r->status >= 300) {
      ++result.non_2xx;
      if (result.first_failure.empty()) {
        result.first_failure = absl::StrCat("HTTP ", r->status, ": ", r->body.substr(0, 300));
      }
    } else {
      acked_samples += static_cast<int64_t>(last - first);
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const std::vector<double>& l = result.latencies_ms;
  const double max_ms = l.empty() ? 0 : *std::max_element(l.begin(), l.end());
  const int64_t acked = result.requests - result.non_2xx - result.errors;
  std::printf(
      "{\"name\":\"%s\",\"mode\":\"steady\",\"rate\":%g,\"planned\":%lld,\"sent\":%lld,"
      "\"acked\":%lld,\"non_2xx\":%lld,\"errors\":%lld,\"late\":%lld,\"samples\":%lld,"
      "\"acked_samples\":%lld,\"seconds\":%.3f,\"p50_ms\":%.2f,\"p99_ms\":%.2f,"
      "\"max_ms\":%.2f}\n",
      FLAGS_name.c_str(), FLAGS_rate, (long long)planned, (long long)result.requests,
      (long long)acked, (long long)result.non_2xx, (long long)result.errors, (long long)late,
      (long long)samples, (long long)acked_samples, seconds, Percentile(l, 0.5),
      Percentile(l, 0.99), max_ms);
  std::fprintf(stderr,
               "%s steady: %lld of %lld planned requests sent in %.1f s, %lld acknowledged "
               "(%lld late); latency p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
               FLAGS_name.empty() ? "receiver" : FLAGS_name.c_str(), (long long)result.requests,
               (long long)planned, seconds, (long long)acked, (long long)late, Percentile(l, 0.5),
               Percentile(l, 0.99), max_ms);
  if (!result.first_failure.empty()) {
    std::fprintf(stderr, "first failure: %s\n", result.first_failure.c_str());
  }
  return result.errors + result.non_2xx > 0 ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  gflags::SetUsageMessage(
      "remote_write_load --port=P [--targets=N --minutes=M ...] | "
      "--mode=steady --port=P --minutes=M --end_ms=E [--rate=R --seconds=S ...]");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  // Prometheus's head takes a sample at most 1 h (half its 2 h chunk range) older than its newest,
  // and compacts once it spans 3 h. Every connection sends in time order, so up to 120 minutes
  // every sample lands in the head.
  if (FLAGS_port <= 0 || FLAGS_targets <= 0 || FLAGS_minutes <= 0 || FLAGS_minutes > 120 ||
      FLAGS_batch_samples <= 0 || FLAGS_concurrency <= 0 || FLAGS_warmup < 0 ||
      FLAGS_timeout_ms <= 0) {
    std::fprintf(stderr,
                 "remote_write_load: need --port, and 0 < --minutes <= 120 and positive "
                 "--targets, --batch_samples, --concurrency, --timeout_ms\n");
    return 2;
  }
  const int64_t end_ms = FLAGS_end_ms > 0 ? FLAGS_end_ms : NowMs();
  if (FLAGS_mode == "steady") {
    if (FLAGS_rate <= 0 || FLAGS_rate > 10'000 || FLAGS_seconds <= 0 ||
        FLAGS_steady_first_target < 0 || FLAGS_steady_targets <= 0) {
      std::fprintf(stderr,
                   "remote_write_load: steady needs 0 < --rate <= 10000, positive --seconds "
                   "and --steady_targets, --steady_first_target >= 0\n");
      return 2;
    }
    return RunSteady(end_ms);
  }
  if (FLAGS_mode != "replay") {
    std::fprintf(stderr, "remote_write_load: --mode is replay or steady, not %s\n",
                 FLAGS_mode.c_str());
    return 2;
  }
  const Clock::time_point b0 = Clock::now();
  int64_t num_series = 0;
  const std::vector<Stream> streams = BuildStreams(end_ms, &num_series);
  int64_t warmup_samples = 0, timed_samples = 0, bytes = 0;
  for (const Stream& s : streams) {
    warmup_samples += s.warmup_samples;
    timed_samples += s.timed_samples;
    for (const std::string& r : s.warmup) bytes += static_cast<int64_t>(r.size());
    for (const std::string& r : s.timed) bytes += static_cast<int64_t>(r.size());
  }
  std::fprintf(stderr,
               "remote_write_load: %lld series, %lld samples (%lld warmup) in %.1f MB of "
               "requests, encoded in %.1f s; sending to 127.0.0.1:%d%s over %d connections\n",
               (long long)num_series, (long long)(warmup_samples + timed_samples),
               (long long)warmup_samples, static_cast<double>(bytes) / 1e6,
               std::chrono::duration<double>(Clock::now() - b0).count(), FLAGS_port,
               FLAGS_path.c_str(), FLAGS_concurrency);

  PhaseResult warm, timed;
  const double warm_s = RunPhase(streams, /*warmup=*/true, &warm);
  const double timed_s = RunPhase(streams, /*warmup=*/false, &timed);
  const double rate = timed_s > 0 ? static_cast<double>(timed_samples) / timed_s : 0;
  std::printf(
      "{\"name\":\"%s\",\"series\":%lld,\"end_ms\":%lld,\"samples\":%lld,\"seconds\":%.3f,"
      "\"samples_per_s\":%.0f,\"requests\":%lld,\"non_2xx\":%lld,\"errors\":%lld,"
      "\"request_p50_ms\":%.2f,\"request_p99_ms\":%.2f,\"warmup_samples\":%lld,"
      "\"warmup_seconds\":%.3f,\"warmup_non_2xx\":%lld,\"warmup_errors\":%lld}\n",
      FLAGS_name.c_str(), (long long)num_series, (long long)end_ms, (long long)timed_samples,
      timed_s, rate, (long long)timed.requests, (long long)timed.non_2xx, (long long)timed.errors,
      Percentile(timed.latencies_ms, 0.5), Percentile(timed.latencies_ms, 0.99),
      (long long)warmup_samples, warm_s, (long long)warm.non_2xx, (long long)warm.errors);
  std::fprintf(stderr,
               "%s: %lld samples in %.2f s = %.0f samples/s (%lld requests, %lld non-2xx, %lld "
               "errors; p50 %.1f ms, p99 %.1f ms); warmup %lld samples in %.2f s\n",
               FLAGS_name.empty() ? "receiver" : FLAGS_name.c_str(), (long long)timed_samples,
               timed_s, rate, (long long)timed.requests, (long long)timed.non_2xx,
               (long long)timed.errors, Percentile(timed.latencies_ms, 0.5),
               Percentile(timed.latencies_ms, 0.99), (long long)warmup_samples, warm_s);
  const std::string failure =
      !warm.first_failure.empty() ? warm.first_failure : timed.first_failure;
  if (!failure.empty()) std::fprintf(stderr, "first failure: %s\n", failure.c_str());
  return warm.errors + timed.errors > 0 ? 1 : 0;
}
