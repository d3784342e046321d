// What the HTTP server's tests share: a blocking raw client that sees exactly what the server
// wrote, request builders, a server on 127.0.0.1 (port 0), and simple handlers.
#ifndef EMBER_SERVER_HTTP_HTTP_SERVER_TEST_UTIL_H_
#define EMBER_SERVER_HTTP_HTTP_SERVER_TEST_UTIL_H_

#include <zlib.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/http/http_server.h"

namespace ember::server::http_test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// Every client operation gives up after this, so a broken server fails a test instead of
// hanging it.
inline constexpr auto kIoTimeout = std::chrono::seconds(10);

inline std::string Str(beast::string_view s) { return std::string(s.data(), s.size()); }

inline std::string GzipForTest(std::string_view data) {
  z_stream s{};
  EXPECT_EQ(deflateInit2(&s, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY),
            Z_OK);
  std::string out(deflateBound(&s, data.size()), '\0');
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  s.avail_in = static_cast<uInt>(data.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&s, Z_FINISH), Z_STREAM_END);
  out.resize(s.total_out);
  deflateEnd(&s);
  return out;
}

inline std::string GunzipForTest(std::string_view data) {
  z_stream s{};
  EXPECT_EQ(inflateInit2(&s, 15 + 16), Z_OK);
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  s.avail_in = static_cast<uInt>(data.size());
  std::string out;
  int rc = Z_OK;
  while (rc == Z_OK) {
    char chunk[16384];
    s.next_out = reinterpret_cast<Bytef*>(chunk);
    s.avail_out = sizeof(chunk);
    rc = inflate(&s, Z_NO_FLUSH);
    out.append(chunk, sizeof(chunk) - s.avail_out);
  }
  EXPECT_EQ(rc, Z_STREAM_END);
  inflateEnd(&s);
  return out;
}

// One client connection to 127.0.0.1, blocking, each operation bounded by kIoTimeout.
class TestClient {
 public:
  explicit TestClient(int port) : stream_(ioc_) {
    stream_.expires_after(kIoTimeout);
    stream_.async_connect(
        tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port)),
        [this](beast::error_code ec) { connect_error_ = ec; });
    Run();
  }

  beast::error_code connect_error() const { return connect_error_; }

  beast::error_code Write(Request req) {
    req.prepare_payload();
    beast::error_code result;
    stream_.expires_after(kIoTimeout);
    http::async_write(stream_, req, [&result](beast::error_code ec, size_t) { result = ec; });
    Run();
    return result;
  }

  beast::error_code WriteRaw(std::string_view bytes) {
    beast::error_code result;
    stream_.expires_after(kIoTimeout);
    asio::async_write(stream_, asio::buffer(bytes.data(), bytes.size()),
                      [&result](beast::error_code ec, size_t) { result = ec; });
    Run();
    return result;
  }

  beast::error_code Read(Response* out, bool head_request = false) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 << 20);
    parser.skip(head_request);
    beast::error_code result;
    stream_.expires_after(kIoTimeout);
    http::async_read(stream_, buffer_, parser,
                     [&result](beast::error_code ec, size_t) { result = ec; });
    Run();
    if (!result) *out = parser.release();
    return result;
  }

  // Sends `req` and reads the answer; a failure fails the test and returns status 0.
  Response RoundTrip(Request req) {
    Response res;
    const bool head = req.method() == http::verb::head;
    beast::error_code ec = Write(std::move(req));
    if (!ec) ec = Read(&res, head);
    EXPECT_FALSE(ec) << ec.message();
    if (ec) res.result(0);
    return res;
  }

  // Whether the server closed the connection: the next read ends without a message.
  bool ServerClosed() {
    Response res;
    const beast::error_code ec = Read(&res);
    return ec == http::error::end_of_stream || ec == asio::error::eof ||
           ec == asio::error::connection_reset;
  }

 private:
  void Run() {
    ioc_.restart();
    ioc_.run();
  }

  asio::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  beast::error_code connect_error_;
};

inline Request Get(std::string target, int version = 11) {
  Request req(http::verb::get, target, version);
  req.set(http::field::host, "127.0.0.1");
  return req;
}

inline Request Post(std::string target, std::string body) {
  Request req(http::verb::post, target, 11);
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::content_type, "application/x-www-form-urlencoded");
  req.body() = std::move(body);
  return req;
}

inline HttpServerOptions LocalOptions() {
  HttpServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.threads = 2;
  return options;
}

inline std::unique_ptr<HttpServer> StartServer(HttpServerOptions options, HttpHandler handler) {
  auto server = std::make_unique<HttpServer>(std::move(options), std::move(handler));
  const absl::Status status = server->Start();
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_GT(server->port(), 0);
  return server;
}

// Answers with the request's path as the body and remembers the last request.
class EchoHandler {
 public:
  HttpHandler handler() {
    return [this](const HttpRequest& req) {
      std::lock_guard<std::mutex> lock(mu_);
      last_ = req;
      ++calls_;
      HttpResponse res;
      res.content_type = "text/plain";
      res.body = req.path;
      return res;
    };
  }
  HttpRequest last() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_;
  }
  int calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }

 private:
  std::mutex mu_;
  HttpRequest last_;
  int calls_ = 0;
};

inline HttpHandler FixedBody(std::string body) {
  return [body = std::move(body)](const HttpRequest&) {
    HttpResponse res;
    res.content_type = "text/plain";
    res.body = body;
    return res;
  };
}

}  // namespace ember::server::http_test

#endif  // EMBER_SERVER_HTTP_HTTP_SERVER_TEST_UTIL_H_
