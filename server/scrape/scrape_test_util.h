// What the scrape tests share: a Db in a temp dir, real HTTP targets on 127.0.0.1
// (server::HttpServer on port 0), polling waits with a deadline, and a ScrapeManager fixture.
#ifndef EMBER_SERVER_SCRAPE_SCRAPE_TEST_UTIL_H_
#define EMBER_SERVER_SCRAPE_SCRAPE_TEST_UTIL_H_

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "ember/db.h"
#include "ember/sample.h"
#include "server/config/config.h"
#include "server/http/http_codec.h"
#include "server/http/http_server.h"
#include "server/metrics/metrics.h"
#include "server/scrape/relabel.h"
#include "server/scrape/scrape_manager.h"
#include "tests/testutil/temp_dir.h"

namespace ember::server::scrape_test {

// A Select() result holding exactly the series `key` (LabelsToString form).
MATCHER_P(OnlySeries, key, "") { return arg.size() == 1 && arg.begin()->first == key; }

inline constexpr auto kWaitLimit = std::chrono::seconds(15);

// Polls `done` every 10 ms until it holds or kWaitLimit passes.
inline bool WaitFor(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + kWaitLimit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

inline std::shared_ptr<const Relabeler> Compile(std::vector<RelabelConfig> steps) {
  absl::StatusOr<std::unique_ptr<Relabeler>> r = Relabeler::Compile(std::move(steps));
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? std::shared_ptr<const Relabeler>(std::move(*r)) : nullptr;
}

// A /metrics endpoint whose answer is computed per request; `n` counts requests from 1.
class TestTarget {
 public:
  using Handler = std::function<HttpResponse(int n, const HttpRequest& request)>;

  explicit TestTarget(Handler handler) : handler_(std::move(handler)) {
    HttpServerOptions options;
    options.listen_address = "127.0.0.1:0";
    options.threads = 2;
    options.gzip_min_bytes = std::numeric_limits<size_t>::max();  // Handlers choose.
    server_ = std::make_unique<HttpServer>(options, [this](const HttpRequest& r) {
      int n = 0;
      {
        absl::MutexLock lock(&mu_);
        n = ++requests_;
        last_ = r;
      }
      return handler_(n, r);
    });
    const absl::Status s = server_->Start();
    EXPECT_TRUE(s.ok()) << s;
  }
  // A handler of static text, `text(n)`.
  static Handler Text(std::function<std::string(int n)> text) {
    return [text = std::move(text)](int n, const HttpRequest&) {
      HttpResponse r;
      r.content_type = "text/plain; version=0.0.4; charset=utf-8";
      r.body = text(n);
      return r;
    };
  }

  std::string address() const { return absl::StrCat("127.0.0.1:", server_->port()); }
  int requests() const {
    absl::MutexLock lock(&mu_);
    return requests_;
  }
  HttpRequest last_request() const {
    absl::MutexLock lock(&mu_);
    return last_;
  }
  void Stop() { server_->Stop(/*grace_ms=*/1000); }

 private:
  Handler handler_;
  std::unique_ptr<HttpServer> server_;
  mutable absl::Mutex mu_;
  int requests_ ABSL_GUARDED_BY(mu_) = 0;
  HttpRequest last_ ABSL_GUARDED_BY(mu_);
};

inline ScrapeConfig Job(std::string name, std::vector<std::string> targets,
                        int64_t interval_ms = 100, int64_t timeout_ms = 80) {
  ScrapeConfig job;
  job.job_name = std::move(name);
  job.scrape_interval_ms = interval_ms;
  job.scrape_timeout_ms = timeout_ms;
  job.static_configs.push_back(StaticConfig{std::move(targets), {}});
  job.relabeler = Compile({});
  job.metric_relabeler = Compile({});
  return job;
}

inline Config WithJobs(std::vector<ScrapeConfig> jobs) {
  Config config;
  config.scrape_configs = std::move(jobs);
  return config;
}

class ScrapeManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Options options;
    options.sync_policy = SyncPolicy::kNoSync;
    absl::StatusOr<std::unique_ptr<Db>> db = Db::Open(options, dir_.path());
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    manager_ = std::make_unique<ScrapeManager>(db_.get(), &metrics_);
  }
  void TearDown() override {
    manager_.reset();
    if (db_ != nullptr) {
      EXPECT_TRUE(db_->Close().ok());
    }
  }

  // Every series matching `matchers` ({name, value} equality), by LabelsToString().
  std::map<std::string, std::vector<Sample>> Select(
      const std::vector<std::pair<std::string, std::string>>& matchers) {
    std::vector<Matcher> ms;
    for (const auto& [name, value] : matchers) {
      ms.push_back(Matcher{Matcher::Op::kEqual, name, value});
    }
    std::map<std::string, std::vector<Sample>> out;
    absl::StatusOr<std::vector<Series>> series =
        db_->Select(ms, 0, std::numeric_limits<int64_t>::max());
    EXPECT_TRUE(series.ok()) << series.status();
    if (!series.ok()) return out;
    for (Series& s : *series) {
      std::vector<Sample>& samples = out[LabelsToString(s.labels)];
      while (s.samples->Next()) samples.push_back(s.samples->At());
      EXPECT_TRUE(s.samples->status().ok()) << s.samples->status();
    }
    return out;
  }
  // The samples of the one series named `name` in `job`; empty when there is none.
  std::vector<Sample> Samples(const std::string& name, const std::string& job) {
    std::map<std::string, std::vector<Sample>> all = Select({{"__name__", name}, {"job", job}});
    EXPECT_LE(all.size(), 1u) << name;
    return all.empty() ? std::vector<Sample>{} : all.begin()->second;
  }
  bool WaitForSamples(const std::string& name, const std::string& job, size_t n) {
    return WaitFor([&] { return Samples(name, job).size() >= n; });
  }
  TargetStatus OnlyTarget() {
    std::vector<TargetStatus> targets = manager_->Targets();
    EXPECT_THAT(targets, ::testing::SizeIs(1));
    return targets.empty() ? TargetStatus{} : targets[0];
  }

  testutil::TempDir dir_;
  std::unique_ptr<Db> db_;
  MetricsRegistry metrics_;
  std::unique_ptr<ScrapeManager> manager_;
};

}  // namespace ember::server::scrape_test

#endif  // EMBER_SERVER_SCRAPE_SCRAPE_TEST_UTIL_H_
