// The HTTP server: requests reach the handler, keep-alive and pipelining, body limits, gzip in
// and out, HEAD and 100-continue.
#include "server/http/http_server.h"

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/http/http_server_test_util.h"

namespace ember::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using http_test::EchoHandler;
using http_test::FixedBody;
using http_test::Get;
using http_test::GunzipForTest;
using http_test::GzipForTest;
using http_test::kIoTimeout;
using http_test::LocalOptions;
using http_test::Post;
using http_test::Request;
using http_test::Response;
using http_test::StartServer;
using http_test::Str;
using http_test::TestClient;
using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(HttpServerTest, HandlerSeesMethodPathQueryHeadersAndBody) {
  std::mutex mu;
  HttpRequest seen;
  auto server = StartServer(LocalOptions(), [&](const HttpRequest& req) {
    std::lock_guard<std::mutex> lock(mu);
    seen = req;
    HttpResponse res;
    res.status = 202;
    res.content_type = "application/json";
    res.body = R"({"status":"success"})";
    res.headers.emplace_back("X-Answer", "42");
    return res;
  });
  TestClient client(server->port());
  Request req = Post("/api/v1/label/a%2Fb%20c/values?match[]=up&x=%41+b", "hello body");
  req.set("X-Custom-Header", "Some Value");
  const Response res = client.RoundTrip(std::move(req));

  EXPECT_EQ(res.result_int(), 202);
  EXPECT_EQ(Str(res[http::field::content_type]), "application/json");
  EXPECT_EQ(Str(res["X-Answer"]), "42");
  EXPECT_EQ(res.body(), R"({"status":"success"})");
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.path, "/api/v1/label/a/b c/values");
  EXPECT_EQ(seen.raw_path, "/api/v1/label/a%2Fb%20c/values");
  EXPECT_EQ(seen.query, "match[]=up&x=%41+b");
  EXPECT_EQ(seen.Header("x-custom-header"), "Some Value");
  EXPECT_EQ(seen.Header("content-type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(seen.Header("X-Custom-Header"), "");  // Lookups use lower-case names.
  EXPECT_EQ(seen.Header("absent"), "");
  EXPECT_EQ(seen.body, "hello body");
  EXPECT_THAT(seen.remote_address, StartsWith("127.0.0.1:"));
}

TEST(HttpServerTest, QueryIsEmptyWithoutQuestionMark) {
  EchoHandler echo;
  auto server = StartServer(LocalOptions(), echo.handler());
  TestClient client(server->port());
  EXPECT_EQ(client.RoundTrip(Get("/-/healthy")).result_int(), 200);
  EXPECT_EQ(echo.last().path, "/-/healthy");
  EXPECT_EQ(echo.last().query, "");
  EXPECT_EQ(echo.last().method, "GET");
}

TEST(HttpServerTest, BadPercentEscapeInPathIs400) {
  EchoHandler echo;
  auto server = StartServer(LocalOptions(), echo.handler());
  TestClient client(server->port());
  const Response res = client.RoundTrip(Get("/api/v1/label/%zz/values"));
  EXPECT_EQ(res.result_int(), 400);
  EXPECT_EQ(Str(res[http::field::content_type]), "application/json");
  EXPECT_EQ(res.body(),
            R"({"status":"error","errorType":"bad_data","error":"invalid URL escape \"%zz\""})");
  EXPECT_EQ(echo.calls(), 0);
  // The request was read whole, so the connection stays usable.
  EXPECT_EQ(client.RoundTrip(Get("/ok")).result_int(), 200);
}

TEST(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  EchoHandler echo;
  auto server = StartServer(LocalOptions(), echo.handler());
  TestClient client(server->port());
  std::set<std::string> remotes;
  for (int i = 0; i < 5; ++i) {
    SCOPED_TRACE(i);
    const Response res = client.RoundTrip(Get(absl::StrCat("/r", i)));
    EXPECT_EQ(res.result_int(), 200);
    EXPECT_EQ(res.body(), absl::StrCat("/r", i));
    EXPECT_TRUE(res.keep_alive());
    remotes.insert(echo.last().remote_address);
  }
  EXPECT_EQ(remotes.size(), 1u);  // One connection served them all.
}

TEST(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  EchoHandler echo;
  auto server = StartServer(LocalOptions(), echo.handler());
  TestClient client(server->port());
  std::string bytes;
  for (const char* path : {"/first", "/second", "/third"}) {
    absl::StrAppend(&bytes, "GET ", path, " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  }
  ASSERT_FALSE(client.WriteRaw(bytes));
  for (const char* path : {"/first", "/second", "/third"}) {
    SCOPED_TRACE(path);
    Response res;
    ASSERT_FALSE(client.Read(&res));
    EXPECT_EQ(res.body(), path);
  }
}

TEST(HttpServerTest, ConnectionCloseOrHttp10ClosesTheConnection) {
  struct Case {
    std::string name;
    int version;
    std::string connection;  // "" for none.
    bool want_closed;
  };
  const Case cases[] = {
      {"HTTP/1.1 Connection: close", 11, "close", true},
      {"HTTP/1.0 without keep-alive", 10, "", true},
      {"HTTP/1.0 Connection: keep-alive", 10, "keep-alive", false},
      {"HTTP/1.1 default", 11, "", false},
  };
  EchoHandler echo;
  auto server = StartServer(LocalOptions(), echo.handler());
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    TestClient client(server->port());
    Request req = Get("/x", c.version);
    if (!c.connection.empty()) req.set(http::field::connection, c.connection);
    const Response res = client.RoundTrip(std::move(req));
    EXPECT_EQ(res.result_int(), 200);
    EXPECT_EQ(res.keep_alive(), !c.want_closed);
    if (c.want_closed) {
      EXPECT_TRUE(client.ServerClosed());
    } else {
      EXPECT_EQ(client.RoundTrip(Get("/again", c.version)).body(), "/again");
    }
  }
}

TEST(HttpServerTest, BodyOverLimitIs413AndServerKeepsServing) {
  HttpServerOptions options = LocalOptions();
  options.max_request_body_bytes = 1024;
  EchoHandler echo;
  auto server = StartServer(options, echo.handler());
  const std::string want_body =
      absl::StrCat(R"({"status":"error","errorType":"bad_data",)",
                   R"("error":"request body exceeds the limit of 1024 bytes"})");
  {
    SCOPED_TRACE("Content-Length over the limit");
    TestClient client(server->port());
    const Response res = client.RoundTrip(Post("/write", std::string(4096, 'x')));
    EXPECT_EQ(res.result_int(), 413);
    EXPECT_EQ(res.body(), want_body);
    EXPECT_FALSE(res.keep_alive());
    EXPECT_TRUE(client.ServerClosed());
  }
  {
    SCOPED_TRACE("chunked body over the limit");
    TestClient client(server->port());
    ASSERT_FALSE(client.WriteRaw(absl::StrCat(
        "POST /write HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n", "7d0\r\n",
        std::string(2000, 'y'), "\r\n0\r\n\r\n")));
    Response res;
    ASSERT_FALSE(client.Read(&res));
    EXPECT_EQ(res.result_int(), 413);
    EXPECT_EQ(res.body(), want_body);
    EXPECT_TRUE(client.ServerClosed());
  }
  {
    SCOPED_TRACE("exactly at the limit");
    TestClient client(server->port());
    EXPECT_EQ(client.RoundTrip(Post("/write", std::string(1024, 'x'))).result_int(), 200);
    EXPECT_EQ(echo.last().body.size(), 1024u);
  }
  EXPECT_EQ(echo.calls(), 1);
}

TEST(HttpServerTest, GzipRequestBodyIsDecoded) {
  EchoHandler echo;
  auto server = StartServer(LocalOptions(), echo.handler());
  TestClient client(server->port());
  std::string plain;
  for (int i = 0; i < 500; ++i) absl::StrAppend(&plain, "up{job=\"api\",instance=\"", i, "\"} 1\n");
  Request req = Post("/api/v1/import", GzipForTest(plain));
  req.set(http::field::content_encoding, "gzip");
  EXPECT_EQ(client.RoundTrip(std::move(req)).result_int(), 200);
  EXPECT_EQ(echo.last().body, plain);
  EXPECT_EQ(echo.last().Header("content-encoding"), "");  // Decoded, so no longer announced.
}

TEST(HttpServerTest, CorruptGzipBodyIs400) {
  struct Case {
    std::string name;
    std::string body;
    std::string want_error;
  };
  const std::string good = GzipForTest(std::string(1000, 'a'));
  const Case cases[] = {
      {"not gzip", "this is not gzip", "gzip: "},
      {"truncated", good.substr(0, good.size() / 2), "gzip: unexpected EOF"},
  };
  EchoHandler echo;
  auto server = StartServer(LocalOptions(), echo.handler());
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    TestClient client(server->port());
    Request req = Post("/write", c.body);
    req.set(http::field::content_encoding, "gzip");
    const Response res = client.RoundTrip(std::move(req));
    EXPECT_EQ(res.result_int(), 400);
    EXPECT_THAT(res.body(), HasSubstr(R"("errorType":"bad_data")"));
    EXPECT_THAT(res.body(), HasSubstr(absl::StrCat(R"("error":")", c.want_error)));
  }
  EXPECT_EQ(echo.calls(), 0);
}

TEST(HttpServerTest, GzipBodyInflatingPastLimitIs413) {
  HttpServerOptions options = LocalOptions();
  options.max_request_body_bytes = 4096;
  EchoHandler echo;
  auto server = StartServer(options, echo.handler());
  TestClient client(server->port());
  const std::string compressed = GzipForTest(std::string(1 << 20, '\0'));
  ASSERT_LT(compressed.size(), 4096u);  // Under the limit on the wire, far over once inflated.
  Request req = Post("/write", compressed);
  req.set(http::field::content_encoding, "gzip");
  const Response res = client.RoundTrip(std::move(req));
  EXPECT_EQ(res.result_int(), 413);
  EXPECT_THAT(res.body(), HasSubstr("request body exceeds the limit of 4096 bytes"));
  EXPECT_EQ(echo.calls(), 0);
}

TEST(HttpServerTest, SnappyBodyIsPassedThroughUntouched) {
  EchoHandler echo;
  auto server = StartServer(LocalOptions(), echo.handler());
  TestClient client(server->port());
  const std::string body = std::string("\xff\x01snappy-framed") + '\0' + "bytes";
  Request req = Post("/api/v1/write", body);
  req.set(http::field::content_encoding, "snappy");
  EXPECT_EQ(client.RoundTrip(std::move(req)).result_int(), 200);
  EXPECT_EQ(echo.last().body, body);
  EXPECT_EQ(echo.last().Header("content-encoding"), "snappy");
}

TEST(HttpServerTest, GzipResponseWhenAccepted) {
  std::string body;
  for (int i = 0; i < 200; ++i)
    absl::StrAppend(&body, R"({"metric":{"job":"api"},"value":)", i, "}");
  auto server = StartServer(LocalOptions(), FixedBody(body));
  TestClient client(server->port());
  Request req = Get("/api/v1/query?query=up");
  req.set(http::field::accept_encoding, "deflate, gzip;q=0.8, br");
  const Response res = client.RoundTrip(std::move(req));
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(Str(res[http::field::content_encoding]), "gzip");
  EXPECT_EQ(Str(res[http::field::vary]), "Accept-Encoding");
  EXPECT_LT(res.body().size(), body.size());
  EXPECT_EQ(GunzipForTest(res.body()), body);
}

TEST(HttpServerTest, NoGzipResponseWhenNotAcceptedOrSmall) {
  struct Case {
    std::string name;
    std::string accept_encoding;  // "" for none.
    size_t body_size;
  };
  const Case cases[] = {
      {"no Accept-Encoding", "", 4000},
      {"gzip refused with q=0", "gzip;q=0, *", 4000},
      {"identity only", "identity", 4000},
      {"below gzip_min_bytes", "gzip", 1023},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto server = StartServer(LocalOptions(), FixedBody(std::string(c.body_size, 'v')));
    TestClient client(server->port());
    Request req = Get("/x");
    if (!c.accept_encoding.empty()) req.set(http::field::accept_encoding, c.accept_encoding);
    const Response res = client.RoundTrip(std::move(req));
    EXPECT_EQ(res.result_int(), 200);
    EXPECT_EQ(res.count(http::field::content_encoding), 0u);
    EXPECT_EQ(res.body(), std::string(c.body_size, 'v'));
  }
}

TEST(HttpServerTest, HandlerContentEncodingIsNotCompressedAgain) {
  const std::string precompressed = GzipForTest(std::string(8000, 'z'));
  auto server = StartServer(LocalOptions(), [&](const HttpRequest&) {
    HttpResponse res;
    res.content_type = "application/octet-stream";
    res.body = precompressed;
    res.headers.emplace_back("Content-Encoding", "gzip");
    return res;
  });
  TestClient client(server->port());
  Request req = Get("/x");
  req.set(http::field::accept_encoding, "gzip");
  const Response res = client.RoundTrip(std::move(req));
  EXPECT_EQ(res.body(), precompressed);
  EXPECT_EQ(res.count(http::field::content_encoding), 1u);
}

TEST(HttpServerTest, HeadGetsTheLengthButNoBody) {
  auto server = StartServer(LocalOptions(), FixedBody("Prometheus Server is Healthy.\n"));
  TestClient client(server->port());
  Request req(http::verb::head, "/-/healthy", 11);
  req.set(http::field::host, "127.0.0.1");
  const Response res = client.RoundTrip(std::move(req));
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(Str(res[http::field::content_length]), "30");
  EXPECT_EQ(res.body(), "");
  // The connection stays in step: the next response is read correctly.
  EXPECT_EQ(client.RoundTrip(Get("/-/healthy")).body(), "Prometheus Server is Healthy.\n");
}

TEST(HttpServerTest, Expect100ContinueIsAnswered) {
  EchoHandler echo;
  auto server = StartServer(LocalOptions(), echo.handler());
  TestClient client(server->port());
  ASSERT_FALSE(
      client.WriteRaw("POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n"
                      "Expect: 100-continue\r\n\r\n"));
  Response interim;
  ASSERT_FALSE(client.Read(&interim));
  EXPECT_EQ(interim.result_int(), 100);
  ASSERT_FALSE(client.WriteRaw("hello"));
  Response res;
  ASSERT_FALSE(client.Read(&res));
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(echo.last().body, "hello");
}

TEST(HttpServerTest, MalformedRequestIs400AndCloses) {
  EchoHandler echo;
  auto server = StartServer(LocalOptions(), echo.handler());
  TestClient client(server->port());
  ASSERT_FALSE(client.WriteRaw("GET /x HTTP/1.1\r\nBad Header Line\r\n\r\n"));
  Response res;
  ASSERT_FALSE(client.Read(&res));
  EXPECT_EQ(res.result_int(), 400);
  EXPECT_THAT(res.body(), HasSubstr("malformed HTTP request"));
  EXPECT_TRUE(client.ServerClosed());
  EXPECT_EQ(echo.calls(), 0);
}

}  // namespace
}  // namespace ember::server
