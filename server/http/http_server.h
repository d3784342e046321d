// A small HTTP/1.1 server on Boost.Beast and Asio: keep-alive, a fixed pool of I/O threads, a
// request body limit, optional bearer-token or basic authentication, gzip responses when the
// client accepts them and gzip request bodies (Content-Encoding: gzip).
// Hardened against hostile clients: a cap on connections, header, body and idle timeouts
// (slowloris), header size limits, and RFC 9110/9112 answers to what it does not implement
// (unknown methods 501, transfer codings other than chunked 501, HTTP versions other than 1.x
// 505, Content-Length beside Transfer-Encoding 400).
// A handler may answer later, from any thread (HttpAsyncHandler), so slow work (queries) runs
// elsewhere while the I/O threads keep serving; the server then watches the connection and
// sets the request's `cancelled` flag when the client hangs up.
// Beast and Asio stay behind this header: callers see plain structs.
#ifndef EMBER_SERVER_HTTP_HTTP_SERVER_H_
#define EMBER_SERVER_HTTP_HTTP_SERVER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace ember::server {

struct HttpRequest {
  std::string method;    // "GET", "POST", ...
  std::string path;      // Percent-decoded path without the query: "/api/v1/label/job/values".
  std::string raw_path;  // The path as sent (not decoded).
  std::string query;     // Raw query string after '?', not decoded ("" when absent).
  // Header names lower-cased.
  std::vector<std::pair<std::string, std::string>> headers;
  // Already gunzipped when the request had Content-Encoding: gzip; that header is then dropped
  // from `headers`. Other encodings (snappy for remote write) are left to the handler.
  std::string body;
  std::string remote_address;
  // Set (to true) by the server when the client closes its connection before the answer, for
  // an async handler to stop its work. Never null in a request the server built.
  std::shared_ptr<std::atomic<bool>> cancelled = std::make_shared<std::atomic<bool>>(false);

  // The first header with this lower-case name, or "" when absent.
  std::string_view Header(std::string_view lower_name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // Extra headers.
};

// Answers on the calling (I/O) thread: for cheap work only.
using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;
// Delivers a response; call it exactly once, from any thread (later calls are ignored).
using HttpReply = std::function<void(HttpResponse)>;
// Called on an I/O thread; may call `reply` at once or later from another thread.
// REQUIRES: every `reply` is called or destroyed before the HttpServer is destroyed (it holds
// the connection, which refers to the server): stop what runs handlers' work in between.
using HttpAsyncHandler = std::function<void(HttpRequest request, HttpReply reply)>;

struct HttpServerOptions {
  std::string listen_address = "127.0.0.1:9090";  // host:port; port 0 picks a free port.
  int threads = 4;
  size_t max_request_body_bytes = 32 << 20;  // Larger bodies get 413 (also after gunzip).
  int64_t idle_timeout_ms = 5 * 60 * 1000;   // Keep-alive connections idle longer are closed.
  // From a request's first byte to the end of its header (slowloris); 408 after it.
  // For this and the other timeouts, 0 means none.
  int64_t header_timeout_ms = 30 * 1000;
  // Reading a request's body, and writing a response; the connection closes after it.
  int64_t body_timeout_ms = 2 * 60 * 1000;
  // Open connections at most (Prometheus: --web.max-connections); one more is answered 503 and
  // closed at once.
  int max_connections = 512;
  // Authentication, when set: requests without the matching Authorization header get 401.
  std::string bearer_token;
  std::string basic_auth_user;
  std::string basic_auth_password;
  // Paths whose request bodies reach the handler as sent, Content-Encoding and all (remote
  // write, whose only coding is snappy and which must answer 415 to any other).
  std::vector<std::string> paths_without_body_decoding;
  // Responses smaller than this are never gzip-encoded.
  size_t gzip_min_bytes = 1024;
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, HttpHandler handler);
  HttpServer(HttpServerOptions options, HttpAsyncHandler handler);
  ~HttpServer();  // Stops.
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts the threads. InvalidArgument for a bad address, Unavailable when the
  // address is in use.
  absl::Status Start();
  // The bound port (after Start).
  int port() const;
  // Stops accepting, lets in-flight requests finish (bounded by `grace_ms`), closes every
  // connection and joins the threads. Idempotent. A handler still running when the grace ends
  // is not interrupted (threads cannot be); Stop() joins its thread when it returns.
  // REQUIRES: not called from the handler (it would join its own thread).
  void Stop(int64_t grace_ms = 5000);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ember::server

#endif  // EMBER_SERVER_HTTP_HTTP_SERVER_H_
