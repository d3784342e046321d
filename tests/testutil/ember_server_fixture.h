// The base of the server's end-to-end tests: an in-process EmberServer on 127.0.0.1 (port 0)
// over a fresh data directory, spoken to over real HTTP with testutil::HttpClient. Retention,
// background work and the self-scrape are off, so what a test writes is all there is.
// Header-only; link ember_server and ember_testutil.
#ifndef EMBER_TESTS_TESTUTIL_EMBER_SERVER_FIXTURE_H_
#define EMBER_TESTS_TESTUTIL_EMBER_SERVER_FIXTURE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "server/cmd/ember_server.h"
#include "tests/testutil/http_client.h"
#include "tests/testutil/temp_dir.h"

namespace ember::testutil {

// 2023-11-14T22:13:20Z, in the writable window because retention is off.
inline constexpr int64_t kServerT0 = 1'700'000'000'000;

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

class EmberServerTest : public ::testing::Test {
 protected:
  using Headers = HttpHeaders;

  // Starts the server with the options above and 2 I/O threads, changed by `adjust`; then a
  // client whose requests time out after `client_timeout_ms`.
  void StartServer(const std::function<void(server::ServerOptions*)>& adjust = nullptr,
                   int client_timeout_ms = 10'000) {
    server::ServerOptions o;
    o.data_dir = dir_.path();
    o.db.retention_ms = 0;
    o.db.background_interval_ms = 0;
    o.http.listen_address = "127.0.0.1:0";
    o.http.threads = 2;
    o.self_scrape_interval_ms = 0;
    if (adjust) adjust(&o);
    server_ = std::make_unique<server::EmberServer>(o);
    ASSERT_TRUE(server_->Start().ok());
    client_ = std::make_unique<HttpClient>(server_->port(), client_timeout_ms);
  }

  void TearDown() override {
    client_.reset();
    if (server_ != nullptr) EXPECT_TRUE(server_->Stop().ok());
  }

  // A GET on `client`, the fixture's own when null; a failed request fails the test.
  HttpResult Get(const std::string& target, HttpClient* client = nullptr) {
    absl::StatusOr<HttpResult> r = (client != nullptr ? client : client_.get())->Get(target);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : HttpResult{};
  }

  HttpResult Post(const std::string& target, const std::string& body, const Headers& headers) {
    absl::StatusOr<HttpResult> r = client_->Request("POST", target, body, headers);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : HttpResult{};
  }

  // The instant query `q` at `t_ms` (sent as seconds with milliseconds).
  HttpResult Query(const std::string& q, int64_t t_ms = kServerT0) {
    return Get(absl::StrCat("/api/v1/query?query=", UrlEncode(q), "&time=", t_ms / 1000, ".",
                            absl::StrFormat("%03d", t_ms % 1000)));
  }

  TempDir dir_;
  std::unique_ptr<server::EmberServer> server_;
  std::unique_ptr<HttpClient> client_;
};

}  // namespace ember::testutil

#endif  // EMBER_TESTS_TESTUTIL_EMBER_SERVER_FIXTURE_H_
