// The one HTTP/1.1 client of the server's outgoing requests: the scraper's GETs
// (server/scrape/scrape_loop.cc) and the notifier's POSTs to Alertmanager
// (server/alerting/notifier.cc). Plain http, one request per connection: resolve (skipped for an
// IP literal), connect to each address in turn, write, read the header, then the body, close.
// Callers word the errors themselves (the scraper as Go's http.Client, the notifier by stage),
// so the client reports the stage and the error code as they are.
//
// Threading: an AsyncHttpClient runs every step on the executor it was made with (a scrape
// loop's strand); Start() and Cancel() must be called there too. Pending steps hold a
// shared_ptr to the client.
#ifndef EMBER_SERVER_HTTP_HTTP_CLIENT_H_
#define EMBER_SERVER_HTTP_HTTP_CLIENT_H_

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace ember::server {

struct HttpClientRequest {
  std::string host;  // A name or an IP literal (without brackets).
  std::string port;  // Digits.
  boost::beast::http::request<boost::beast::http::string_body> message;
  uint64_t max_body_bytes = 64 << 10;  // More fails the read with http::error::body_limit.
  uint32_t header_limit_bytes = 8 << 10;
};

// Where an exchange ended.
enum class HttpClientStage { kResolve, kConnect, kWrite, kRead, kDone };
// "resolve", "connect", "write", "read", "done".
const char* HttpClientStageName(HttpClientStage stage);

struct HttpClientResult {
  HttpClientStage stage = HttpClientStage::kResolve;
  // Empty with stage kDone. A resolve that found no address ends with an empty code too.
  boost::system::error_code ec;
  // The last address tried, for connect errors.
  boost::asio::ip::tcp::endpoint endpoint;
  // With stage kDone: the response, whatever its status.
  boost::beast::http::response<boost::beast::http::string_body> response;
};

class AsyncHttpClient : public std::enable_shared_from_this<AsyncHttpClient> {
 public:
  using Done = std::function<void(HttpClientResult)>;

  explicit AsyncHttpClient(boost::asio::any_io_executor executor);
  AsyncHttpClient(const AsyncHttpClient&) = delete;
  AsyncHttpClient& operator=(const AsyncHttpClient&) = delete;

  // Runs one exchange; `done` is called once, on the executor. REQUIRES: no exchange in flight.
  void Start(HttpClientRequest request, Done done);
  // Aborts the exchange in flight: its pending step ends at once and `done` gets
  // operation_aborted at that stage. No effect when none is in flight.
  void Cancel();

 private:
  void ConnectNext();
  void OnResolve(boost::system::error_code ec,
                 const boost::asio::ip::tcp::resolver::results_type& results);
  void OnConnect(boost::system::error_code ec);
  void OnWrite(boost::system::error_code ec);
  void OnHeader(boost::system::error_code ec);
  void OnRead(boost::system::error_code ec);
  // True when Cancel() was called: then the exchange has ended (the step must return).
  bool Cancelled();
  void Finish(HttpClientStage stage, boost::system::error_code ec);

  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::ip::tcp::socket socket_;
  HttpClientRequest request_;
  Done done_;
  bool in_flight_ = false;
  bool cancelled_ = false;
  HttpClientStage stage_ = HttpClientStage::kResolve;
  std::vector<boost::asio::ip::tcp::endpoint> endpoints_;  // Tried in order.
  size_t next_endpoint_ = 0;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::response_parser<boost::beast::http::string_body>> parser_;
};

// One exchange, blocking, on an io_context of its own. Ends with DeadlineExceeded
// ("<stage>: timed out") at `deadline`, with Cancelled ("<stage>: abandoned at shutdown") as
// soon as `aborted()` returns true (polled every 50 ms), with Internal if Asio throws;
// otherwise the result, whose `ec` the caller checks.
absl::StatusOr<HttpClientResult> FetchHttp(HttpClientRequest request,
                                           std::chrono::steady_clock::time_point deadline,
                                           const std::function<bool()>& aborted);

}  // namespace ember::server

#endif  // EMBER_SERVER_HTTP_HTTP_CLIENT_H_
