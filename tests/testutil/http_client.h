// A minimal blocking HTTP/1.1 client for tests and benchmarks, on 127.0.0.1 only: one
// keep-alive connection, reconnecting when the server closed it; every call bounded by a
// timeout.
#ifndef EMBER_TESTS_TESTUTIL_HTTP_CLIENT_H_
#define EMBER_TESTS_TESTUTIL_HTTP_CLIENT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace ember::testutil {

struct HttpResult {
  int status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // Names lower-cased.
  std::string Header(const std::string& lower_name) const;
};

class HttpClient {
 public:
  explicit HttpClient(int port, int64_t timeout_ms = 30'000);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  absl::StatusOr<HttpResult> Request(
      const std::string& method, const std::string& target, const std::string& body = "",
      const std::vector<std::pair<std::string, std::string>>& headers = {});
  absl::StatusOr<HttpResult> Get(const std::string& target) { return Request("GET", target); }
  // POST with Content-Type application/x-www-form-urlencoded.
  absl::StatusOr<HttpResult> PostForm(const std::string& target, const std::string& form);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Percent-encodes a query parameter value.
std::string UrlEncode(const std::string& s);

}  // namespace ember::testutil

#endif  // EMBER_TESTS_TESTUTIL_HTTP_CLIENT_H_
