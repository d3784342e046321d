// The HTTP server: authentication, handler failures, Stop() and its grace, timeouts, listen
// addresses, many clients.
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
#include "server/http/http_server.h"
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

TEST(HttpServerTest, BearerTokenIsRequiredWhenSet) {
  struct Case {
    std::string name;
    std::string authorization;  // "" for none.
    int want_status;
  };
  const Case cases[] = {
      {"right token", "Bearer s3cret-token", 200},
      {"scheme is case-insensitive", "bearer s3cret-token", 200},
      {"wrong token", "Bearer s3cret-tokeN", 401},
      {"token prefix", "Bearer s3cret", 401},
      {"missing header", "", 401},
      {"basic instead", "Basic " + absl::Base64Escape("u:s3cret-token"), 401},
  };
  HttpServerOptions options = LocalOptions();
  options.bearer_token = "s3cret-token";
  EchoHandler echo;
  auto server = StartServer(options, echo.handler());
  TestClient client(server->port());
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Request req = Get("/api/v1/query?query=up");
    if (!c.authorization.empty()) req.set(http::field::authorization, c.authorization);
    const Response res = client.RoundTrip(std::move(req));
    EXPECT_EQ(res.result_int(), c.want_status);
    if (c.want_status == 401) {
      EXPECT_THAT(Str(res[http::field::www_authenticate]), StartsWith("Bearer"));
      EXPECT_THAT(res.body(), HasSubstr(R"("status":"error")"));
    }
  }
  EXPECT_EQ(echo.calls(), 2);
}

TEST(HttpServerTest, BasicAuthIsRequiredWhenSet) {
  struct Case {
    std::string name;
    std::string authorization;  // "" for none.
    int want_status;
  };
  const Case cases[] = {
      {"right credentials", "Basic " + absl::Base64Escape("admin:pa:ss"), 200},
      {"wrong password", "Basic " + absl::Base64Escape("admin:pa:sS"), 401},
      {"wrong user", "Basic " + absl::Base64Escape("root:pa:ss"), 401},
      {"no colon", "Basic " + absl::Base64Escape("adminpa:ss"), 401},
      {"not base64", "Basic !!!", 401},
      {"bearer instead", "Bearer pa:ss", 401},
      {"missing header", "", 401},
  };
  HttpServerOptions options = LocalOptions();
  options.basic_auth_user = "admin";
  options.basic_auth_password = "pa:ss";
  EchoHandler echo;
  auto server = StartServer(options, echo.handler());
  TestClient client(server->port());
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Request req = Get("/api/v1/labels");
    if (!c.authorization.empty()) req.set(http::field::authorization, c.authorization);
    const Response res = client.RoundTrip(std::move(req));
    EXPECT_EQ(res.result_int(), c.want_status);
    if (c.want_status == 401) {
      EXPECT_THAT(Str(res[http::field::www_authenticate]), StartsWith("Basic realm="));
    }
  }
  EXPECT_EQ(echo.calls(), 1);
}

TEST(HttpServerTest, HandlerExceptionIs500) {
  auto server = StartServer(LocalOptions(), [](const HttpRequest& req) -> HttpResponse {
    if (req.path == "/throw") throw std::runtime_error("boom");
    return HttpResponse{};
  });
  TestClient client(server->port());
  const Response res = client.RoundTrip(Get("/throw"));
  EXPECT_EQ(res.result_int(), 500);
  EXPECT_EQ(res.body(),
            R"({"status":"error","errorType":"internal","error":"handler failed: boom"})");
  EXPECT_EQ(client.RoundTrip(Get("/fine")).result_int(), 200);  // Still serving.
}

TEST(HttpServerTest, StopLetsAnInFlightRequestFinish) {
  std::promise<void> entered;
  auto server = StartServer(LocalOptions(), [&](const HttpRequest&) {
    entered.set_value();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // A slow query.
    HttpResponse res;
    res.body = "done";
    return res;
  });
  const int port = server->port();
  Response res;
  std::thread client_thread([&res, port] {
    TestClient client(port);
    res = client.RoundTrip(Get("/api/v1/query?query=slow"));
  });
  ASSERT_EQ(entered.get_future().wait_for(kIoTimeout), std::future_status::ready);
  const auto start = std::chrono::steady_clock::now();
  server->Stop(/*grace_ms=*/5000);
  const auto took = std::chrono::steady_clock::now() - start;
  client_thread.join();
  EXPECT_LT(took, std::chrono::milliseconds(5000));
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), "done");
  EXPECT_FALSE(res.keep_alive());  // Stopping: the response closes the connection.
  // No longer accepting.
  TestClient late(port);
  EXPECT_TRUE(late.connect_error());
}

TEST(HttpServerTest, StopPastTheGraceReturnsOnceTheHandlerDoes) {
  std::promise<void> entered;
  auto server = StartServer(LocalOptions(), [&](const HttpRequest&) {
    entered.set_value();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    return HttpResponse{};
  });
  const int port = server->port();
  std::thread client_thread([port] {
    TestClient client(port);
    Response res;
    // Either the response made it out before the sockets closed or the connection ends.
    if (!client.Write(Get("/slow")) && !client.Read(&res)) {
      EXPECT_EQ(res.result_int(), 200);
    }
  });
  ASSERT_EQ(entered.get_future().wait_for(kIoTimeout), std::future_status::ready);
  const auto start = std::chrono::steady_clock::now();
  server->Stop(/*grace_ms=*/50);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  client_thread.join();
  server.reset();  // Destroys what the stopped io_context still held.
}

TEST(HttpServerTest, StopClosesIdleKeepAliveConnectionsPromptly) {
  EchoHandler echo;
  auto server = StartServer(LocalOptions(), echo.handler());
  TestClient client(server->port());
  EXPECT_EQ(client.RoundTrip(Get("/x")).result_int(), 200);
  const auto start = std::chrono::steady_clock::now();
  server->Stop(/*grace_ms=*/60000);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_TRUE(client.ServerClosed());
  server->Stop();  // Idempotent.
}

TEST(HttpServerTest, StopBeforeStartAndDestroyWithoutStopAreFine) {
  {
    HttpServer never_started(LocalOptions(), FixedBody("x"));
    never_started.Stop();
    never_started.Stop();
  }
  auto server = StartServer(LocalOptions(), FixedBody("x"));
  TestClient client(server->port());
  EXPECT_EQ(client.RoundTrip(Get("/x")).result_int(), 200);
  server.reset();  // The destructor stops.
  EXPECT_TRUE(client.ServerClosed());
}

TEST(HttpServerTest, StartAfterStopIsFailedPrecondition) {
  auto server = StartServer(LocalOptions(), FixedBody("x"));
  server->Stop();
  EXPECT_TRUE(absl::IsFailedPrecondition(server->Start()));
}

TEST(HttpServerTest, IdleConnectionIsClosedAfterTimeout) {
  HttpServerOptions options = LocalOptions();
  options.idle_timeout_ms = 100;
  auto server = StartServer(options, FixedBody("x"));
  TestClient client(server->port());
  EXPECT_EQ(client.RoundTrip(Get("/x")).result_int(), 200);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(client.ServerClosed());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(HttpServerTest, StartOnOccupiedPortIsUnavailable) {
  auto first = StartServer(LocalOptions(), FixedBody("x"));
  HttpServerOptions options = LocalOptions();
  options.listen_address = absl::StrCat("127.0.0.1:", first->port());
  HttpServer second(options, FixedBody("y"));
  const absl::Status status = second.Start();
  EXPECT_TRUE(absl::IsUnavailable(status)) << status;
  EXPECT_EQ(status.message(),
            absl::StrCat("listen tcp 127.0.0.1:", first->port(), ": address already in use"));
  TestClient client(first->port());  // The first is unharmed.
  EXPECT_EQ(client.RoundTrip(Get("/")).body(), "x");
}

TEST(HttpServerTest, BadListenAddressIsInvalidArgument) {
  struct Case {
    std::string address;
    std::string want_message;
  };
  const Case cases[] = {
      {"9090", "missing port in address"},        {"127.0.0.1:", "invalid port"},
      {"127.0.0.1:70000", "invalid port"},        {"127.0.0.1:-1", "invalid port"},
      {"[::1:9090", "missing ']' in address"},    {"[::1]", "missing port in address"},
      {"a:b:9090", "too many colons in address"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.address);
    HttpServerOptions options = LocalOptions();
    options.listen_address = c.address;
    HttpServer server(options, FixedBody("x"));
    const absl::Status status = server.Start();
    EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
    EXPECT_THAT(std::string(status.message()), HasSubstr(c.want_message));
  }
}

TEST(HttpServerTest, ColonPortListensOnEveryIPv4Address) {
  HttpServerOptions options = LocalOptions();
  options.listen_address = ":0";
  auto server = StartServer(options, FixedBody("any"));
  TestClient client(server->port());
  EXPECT_EQ(client.RoundTrip(Get("/")).body(), "any");
}

TEST(HttpServerTest, ManyConcurrentClientsAllSucceed) {
  constexpr int kClients = 8;
  constexpr int kRequestsPerClient = 50;
  HttpServerOptions options = LocalOptions();
  options.threads = 4;
  EchoHandler echo;
  auto server = StartServer(options, echo.handler());
  const int port = server->port();
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&ok, port, c] {
      // A new connection every 10 requests, so accepting runs concurrently too.
      std::unique_ptr<TestClient> client;
      for (int i = 0; i < kRequestsPerClient; ++i) {
        if (i % 10 == 0) client = std::make_unique<TestClient>(port);
        const std::string path = absl::StrCat("/c", c, "/r", i);
        const Response res = client->RoundTrip(Get(path));
        if (res.result_int() == 200 && res.body() == path) ok.fetch_add(1);
      }
    });
  }
  for (std::thread& t : clients) t.join();
  EXPECT_EQ(ok.load(), kClients * kRequestsPerClient);
  EXPECT_EQ(echo.calls(), kClients * kRequestsPerClient);
}

}  // namespace
}  // namespace ember::server
