// Hostile bytes at the HTTP layer (see bad_input_testing.h): raw framing on a TCP socket,
// connection abuse, a slowloris head, and odd paths.
#include "tests/bad_input_testing.h"

namespace ember {
namespace {

// ---- Raw HTTP framing. -------------------------------------------------------------------------

struct RawCase {
  std::string name;
  std::string bytes;      // Sent as is.
  std::vector<int> want;  // Any of these statuses.
  // Half-close after sending: the request ends there, truncated. The server may then answer
  // 400 or just close; either is fine, a hang is not.
  bool close_write = false;
};

// Sends `rc.bytes` on a fresh connection and checks the one answer.
void RunRaw(int port, const RawCase& rc) {
  SCOPED_TRACE(rc.name);
  ++g_cases;
  absl::StatusOr<std::unique_ptr<RawConnection>> conn = RawConnection::Connect(port);
  ASSERT_TRUE(conn.ok()) << conn.status();
  const auto t0 = Clock::now();
  (*conn)->Send(rc.bytes);
  if (rc.close_write) (*conn)->ShutdownWrite();
  absl::StatusOr<RawResponse> r = (*conn)->ReadResponse(kClientTimeoutMs);
  if (rc.close_write && absl::IsUnavailable(r.status())) return;  // Closed: fine.
  if (!r.ok()) {
    ADD_FAILURE() << "OBSERVED no answer after " << MsSince(t0) << " ms: " << r.status();
    return;
  }
  EXPECT_TRUE(Allowed(rc.want, r->status))
      << "OBSERVED " << r->status << " " << Excerpt(r->body) << " (want one of "
      << absl::StrJoin(rc.want, ",") << ")";
  if (r->status >= 500 && !Allowed(rc.want, r->status)) ADD_FAILURE() << "a 5xx for bad input";
}

std::string Get(const std::string& target, const std::string& extra_headers = "") {
  return absl::StrCat("GET ", target, " HTTP/1.1\r\nHost: 127.0.0.1\r\n", extra_headers, "\r\n");
}

TEST_F(BadInputTest, HttpFramingErrorsAre4xxOr5xxNotImplemented) {
  const std::string host = "Host: 127.0.0.1\r\n";
  std::string header_flood;
  for (int i = 0; i < 10'000; ++i) absl::StrAppend(&header_flood, "X-Flood-", i, ": v\r\n");
  const std::vector<RawCase> cases = {
      {"unknown method BREW", "BREW /api/v1/query HTTP/1.1\r\n" + host + "\r\n", {501}},
      {"lower-case get (methods are case-sensitive)",
       "get /api/v1/query?query=1 HTTP/1.1\r\n" + host + "\r\n",
       {501}},
      {"10 KiB method name (400 or 501)",
       std::string(10 * 1024, 'X') + " / HTTP/1.1\r\n" + host + "\r\n",
       {400, 501}},
      {"PUT /api/v1/query",
       "PUT /api/v1/query HTTP/1.1\r\n" + host + "Content-Length: 0\r\n\r\n",
       {405}},
      {"DELETE /api/v1/write", "DELETE /api/v1/write HTTP/1.1\r\n" + host + "\r\n", {405}},
      {"GET /api/v1/write", Get("/api/v1/write"), {405}},
      {"GET /api/v1/import/prometheus", Get("/api/v1/import/prometheus"), {405}},
      {"PATCH /api/v1/labels", "PATCH /api/v1/labels HTTP/1.1\r\n" + host + "\r\n", {405}},
      {"Transfer-Encoding: gzip",
       "POST /api/v1/query HTTP/1.1\r\n" + host + "Transfer-Encoding: gzip\r\n\r\n",
       {501}},
      {"Transfer-Encoding: chunked, gzip",
       "POST /api/v1/query HTTP/1.1\r\n" + host +
           "Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
       {501}},
      {"Transfer-Encoding: gzip, chunked",
       "POST /api/v1/query HTTP/1.1\r\n" + host +
           "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
       {501}},
      {"Content-Length and Transfer-Encoding",
       "POST /api/v1/query HTTP/1.1\r\n" + host +
           "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       {400}},
      {"two different Content-Lengths",
       "POST /api/v1/query HTTP/1.1\r\n" + host +
           "Content-Length: 1\r\nContent-Length: 2\r\n\r\nab",
       {400}},
      {"negative Content-Length",
       "POST /api/v1/query HTTP/1.1\r\n" + host + "Content-Length: -1\r\n\r\n",
       {400}},
      {"Content-Length not a number",
       "POST /api/v1/query HTTP/1.1\r\n" + host + "Content-Length: abc\r\n\r\n",
       {400}},
      {"request line without target or version", "GET\r\n" + host + "\r\n", {400}},
      {"HTTP/0.9 request line", "GET /\r\n\r\n", {400}},
      {"extra token in request line", "GET / HTTP/1.1 extra\r\n" + host + "\r\n", {400}},
      {"target not origin-form", "GET api/v1/query HTTP/1.1\r\n" + host + "\r\n", {400}},
      {"HTTP/2.0 as text (400 or 505)", "GET / HTTP/2.0\r\n" + host + "\r\n", {400, 505}},
      {"HTTP/9.9 (400 or 505)", "GET / HTTP/9.9\r\n" + host + "\r\n", {400, 505}},
      {"HTTP/1.x", "GET / HTTP/1.x\r\n" + host + "\r\n", {400}},
      {"FOO/1.1", "GET / FOO/1.1\r\n" + host + "\r\n", {400}},
      {"header line without a colon", Get("/-/healthy", "NoColonHere\r\n"), {400}},
      {"space before the colon (RFC 9112 5.1)", Get("/-/healthy", "X-Bad : v\r\n"), {400}},
      // RFC 9112 5.2 allows a 400 or replacing the folding with spaces (Beast's choice).
      {"obsolete line folding (RFC 9112 5.2)",
       Get("/-/healthy", "X-Fold: a\r\n b\r\n"),
       {200, 400}},
      {"NUL byte in a header value", Get("/-/healthy", std::string("X-Nul: a\0b\r\n", 12)), {400}},
      {"2 MiB header", Get("/-/healthy", "X-Big: " + std::string(2 * kMiB, 'a') + "\r\n"), {431}},
      {"10k headers (431 or 400)", Get("/-/healthy", header_flood), {431, 400}},
      {"chunk size not hex",
       "POST /api/v1/query HTTP/1.1\r\n" + host +
           "Content-Type: application/x-www-form-urlencoded\r\n"
           "Transfer-Encoding: chunked\r\n\r\nzz\r\nquery=1\r\n0\r\n\r\n",
       {400}},
      {"chunk size overflows (400 or 413)",
       "POST /api/v1/query HTTP/1.1\r\n" + host +
           "Transfer-Encoding: chunked\r\n\r\nfffffffffffffffffffff\r\nabc\r\n0\r\n\r\n",
       {400, 413}},
      {"chunk shorter than its size, then end of stream",
       "POST /api/v1/query HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n10\r\nab",
       {400},
       /*close_write=*/true},
      {"chunk without CRLF after data",
       "POST /api/v1/query HTTP/1.1\r\n" + host +
           "Transfer-Encoding: chunked\r\n\r\n3\r\nabcXX0\r\n\r\n",
       {400}},
      {"declared 1 GiB body, 10 bytes sent",
       "POST /api/v1/import/prometheus HTTP/1.1\r\n" + host +
           "Content-Length: 1073741824\r\n\r\n0123456789",
       {413}},
      {"17 MiB body sent",
       absl::StrCat("POST /api/v1/import/prometheus HTTP/1.1\r\n", host, "Content-Length: ",
                    kBodyLimit + kMiB, "\r\n\r\n", std::string(kBodyLimit + kMiB, '\n')),
       {413}},
      {"17 MiB chunked body",
       absl::StrCat("POST /api/v1/import/prometheus HTTP/1.1\r\n", host,
                    "Transfer-Encoding: chunked\r\n\r\n",
                    absl::StrFormat("%x\r\n", kBodyLimit + kMiB),
                    std::string(kBodyLimit + kMiB, '\n'), "\r\n0\r\n\r\n"),
       {413}},
      {"NUL byte in the path", Get(std::string("/api/v1/\0query", 14)), {400}},
      {"%00 in the path (400 or 404)", Get("/api/v1/query%00"), {400, 404}},
      {"%zz in the query string", Get("/api/v1/query?query=%zz"), {400}},
      {"%zz in the path", Get("/api/v1/label/%zz/values"), {400}},
      {"truncated %4 at the end", Get("/api/v1/query?query=1%4"), {400}},
      {"2 MiB URL (414 or 431)",
       Get("/api/v1/query?query=" + std::string(2 * kMiB, 'a')),
       {414, 431}},
      {"space in the target", "GET /api/v1/query?query=a b HTTP/1.1\r\n" + host + "\r\n", {400}},
      {"HTTP/1.1 without Host (RFC 9112 3.2)", "GET /-/healthy HTTP/1.1\r\n\r\n", {400}},
      {"two Host headers (RFC 9112 3.2)", Get("/-/healthy", "Host: other\r\n"), {400}},
  };
  const auto t0 = Clock::now();
  for (const RawCase& rc : cases) {
    RunRaw(port(), rc);
    ASSERT_LT(MsSince(t0), 40'000) << "framing group over its budget";
  }
}

TEST_F(BadInputTest, HttpConnectionAbuse) {
  // 100 pipelined requests on one connection, answered in order.
  {
    SCOPED_TRACE("100 pipelined requests");
    ++g_cases;
    absl::StatusOr<std::unique_ptr<RawConnection>> conn = RawConnection::Connect(port());
    ASSERT_TRUE(conn.ok()) << conn.status();
    std::string all;
    for (int i = 0; i < 100; ++i) all += Get(absl::StrCat("/api/v1/query?query=", i, "&time=1"));
    EXPECT_EQ((*conn)->Send(all), all.size());
    for (int i = 0; i < 100; ++i) {
      absl::StatusOr<RawResponse> r = (*conn)->ReadResponse(kClientTimeoutMs);
      ASSERT_TRUE(r.ok()) << "answer " << i << ": " << r.status();
      EXPECT_EQ(r->status, 200) << "answer " << i;
      EXPECT_THAT(r->body, HasSubstr(absl::StrCat(",\"", i, "\"]"))) << "answer " << i;
    }
  }
  // Clients that go away mid-request; the server must shrug them off.
  const std::vector<std::string> partial = {
      "GET /api/v1/query?qu",
      "GET /api/v1/query HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Half: ",
      "POST /api/v1/import/prometheus HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n"
      "bi_evil_text{evil=\"conn_half\"} 1\n",
      "POST /api/v1/write HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n",
  };
  for (const std::string& bytes : partial) {
    SCOPED_TRACE(absl::StrCat("closes mid-request: ", Excerpt(bytes, 60)));
    absl::StatusOr<std::unique_ptr<RawConnection>> conn = RawConnection::Connect(port());
    ASSERT_TRUE(conn.ok()) << conn.status();
    (*conn)->Send(bytes);
    ++g_cases;
  }  // Closed here.
  // A Content-Length body cut short and then half-closed: 400, not a wait for the rest.
  RunRaw(port(), {"Content-Length body cut short, then end of stream",
                  "POST /api/v1/import/prometheus HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  "Content-Length: 100\r\n\r\nbi_evil_text{evil=\"conn_short\"} 1\n",
                  {400},
                  /*close_write=*/true});
  HttpClient client(port(), kClientTimeoutMs);
  absl::StatusOr<HttpResult> h = client.Get("/-/healthy");
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->status, 200);
  EXPECT_THAT(EvilSeries("conn_"), ::testing::IsEmpty()) << "half-sent requests left series behind";
}

TEST_F(BadInputTest, SlowlorisConnectionIsClosedWithinTheHeaderTimeout) {
  if (state_->header_timeout.empty()) {
    GTEST_SKIP() << "ember has no read-header timeout flag yet (none with 'header' and 'timeout' "
                    "in `ember --helpfull`); the server keeps a half-sent request head open";
  }
  // Started with the header timeout at 2 s; allow 2 s more on a loaded machine.
  absl::StatusOr<std::unique_ptr<RawConnection>> conn = RawConnection::Connect(port());
  ASSERT_TRUE(conn.ok()) << conn.status();
  (*conn)->Send("GET /api/v1/query?query=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ");
  ++g_cases;
  const auto t0 = Clock::now();
  EXPECT_TRUE((*conn)->WaitClosed(6'000))
      << "a connection with a half-sent head is still open after 6 s (" << state_->header_timeout
      << ")";
  EXPECT_GE(MsSince(t0), 1'000) << "closed before the header timeout";
}

// ---- Odd paths. --------------------------------------------------------------------------------

TEST_F(BadInputTest, ReloadWithoutConfigAndUnknownPaths) {
  auto make = [](std::string method, std::string target, std::vector<int> want) {
    Case c;
    c.name = absl::StrCat(method, " ", target);
    c.method = std::move(method);
    c.target = std::move(target);
    c.want_status = std::move(want);
    return c;
  };
  std::vector<Case> cases = {
      make("POST", "/-/reload", {400}),
      make("PUT", "/-/reload", {400}),
      make("GET", "/-/reload", {405}),
      make("GET", "/nope", {404}),
      make("GET", "/api/v1/nope", {404}),
      make("GET", "/api/v2/query", {404}),
      make("GET", "/api/v1/label//values", {400, 404}),  // An empty label name (either).
      make("GET", "/api/v1/label/door/values/extra", {404}),
      make("GET", "/../../etc/passwd", {400, 404}),  // Either: refused or not found.
      make("GET", "/api/v1/query/../../../etc/passwd", {400, 404}),
      make("GET", "/%2e%2e/%2e%2e/etc/passwd", {400, 404}),
      make("POST", "/-/healthy/../../api/v1/write", {400, 404}),
  };
  RunAll(cases);
}

}  // namespace
}  // namespace ember
