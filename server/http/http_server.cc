// Threading: one io_context run by options.threads threads. The acceptor and each connection's
// Session live on their own strand, so a session's steps never overlap; sessions run in
// parallel. The handler runs on the session's strand, i.e. on an io thread.
//
// Lifetimes: every pending operation holds a shared_ptr to its Session, so a Session lives
// exactly as long as something can still call back into it. Sessions register in
// Shared::sessions (weak pointers) so Stop() can reach them and wait for them to end.
#include "server/http/http_server.h"

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

#include "server/http/http_codec.h"

namespace ember::server {

std::string_view HttpRequest::Header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return value;
  }
  return {};
}

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// Go's net/http allows 1 MiB of request header too: PromQL in a GET's query string can be long.
constexpr uint32_t kHeaderLimitBytes = 1 << 20;
// After an error response to a request that was not read to its end, the unread rest is drained
// for up to this long before closing: closing with unread bytes makes the kernel send a reset,
// which can destroy the response before the client reads it. Go waits 500 ms for the same reason.
constexpr auto kLingerTimeout = std::chrono::seconds(1);
constexpr size_t kLingerMaxBytes = 64 << 20;
constexpr size_t kDrainStepBytes = 16 << 10;
// More header fields than this get 431: no client needs them, and each costs a map entry.
constexpr size_t kMaxHeaderFields = 1000;
// The first read of a request (waiting out the idle timeout) takes what is there, up to this.
constexpr size_t kFirstReadBytes = 4096;
// How long to wait before accepting again after accept() failed (EMFILE, ENOBUFS...), rather
// than spinning on the error.
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(50);

std::string_view View(beast::string_view s) { return {s.data(), s.size()}; }
absl::string_view AbslView(std::string_view s) { return {s.data(), s.size()}; }
std::string_view StdView(absl::string_view s) { return {s.data(), s.size()}; }

std::string FormatEndpoint(const tcp::endpoint& ep) {
  const asio::ip::address address = ep.address();
  if (address.is_v6()) return absl::StrFormat("[%s]:%d", address.to_string(), ep.port());
  return absl::StrFormat("%s:%d", address.to_string(), ep.port());
}

HttpResponse ErrorResponse(int status, std::string_view error_type, std::string_view message) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = PromErrorBody(error_type, message);
  return r;
}

// "host:port", "[v6]:port" or ":port" (every IPv4 address) -> an endpoint. Host names are
// resolved; the first address wins.
absl::StatusOr<tcp::endpoint> ResolveListenAddress(std::string_view address,
                                                   asio::io_context& ioc) {
  const auto bad = [address](std::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrFormat("listen tcp: address %s: %s (listen_address)", address, why));
  };
  std::string_view host;
  std::string_view port;
  if (!address.empty() && address[0] == '[') {
    const size_t close = address.find(']');
    if (close == std::string_view::npos) return bad("missing ']' in address");
    host = address.substr(1, close - 1);
    const std::string_view rest = address.substr(close + 1);
    if (rest.empty() || rest[0] != ':') return bad("missing port in address");
    port = rest.substr(1);
  } else {
    const size_t colon = address.rfind(':');
    if (colon == std::string_view::npos) return bad("missing port in address");
    host = address.substr(0, colon);
    if (host.find(':') != std::string_view::npos) return bad("too many colons in address");
    port = address.substr(colon + 1);
  }
  uint32_t port_number = 0;
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      !absl::SimpleAtoi(AbslView(port), &port_number) || port_number > 65535) {
    return bad("invalid port");
  }
  if (host.empty()) return tcp::endpoint(tcp::v4(), static_cast<uint16_t>(port_number));
  beast::error_code ec;
  const asio::ip::address ip = asio::ip::make_address(std::string(host), ec);
  if (!ec) return tcp::endpoint(ip, static_cast<uint16_t>(port_number));
  tcp::resolver resolver(ioc);
  const auto results = resolver.resolve(std::string(host), std::string(port), ec);
  if (ec || results.empty()) {
    return bad(absl::StrCat("lookup ", AbslView(host), ": ",
                            ec ? ec.message() : std::string("no such host")));
  }
  return results.begin()->endpoint();
}

absl::Status ListenError(const tcp::endpoint& ep, std::string_view step,
                         const beast::error_code& ec) {
  const std::string message = absl::StrFormat("listen tcp %s: %s%s", FormatEndpoint(ep), step,
                                              absl::AsciiStrToLower(ec.message()));
  if (ec == asio::error::address_in_use) return absl::UnavailableError(message);
  if (ec == asio::error::access_denied) return absl::PermissionDeniedError(message);
  if (ec == boost::system::errc::address_not_available) return absl::InvalidArgumentError(message);
  return absl::UnavailableError(message);
}

class Session;

// What the server shares with its sessions. It outlives every session: see Impl's member order.
struct Shared {
  Shared(HttpServerOptions o, HttpAsyncHandler h) : options(std::move(o)), handler(std::move(h)) {}

  enum class Admission { kAdmitted, kStopping, kFull };
  // Adds a new session unless the server is stopping or has max_connections already; then the
  // caller drops it.
  Admission Register(uint64_t id, std::weak_ptr<Session> session) ABSL_LOCKS_EXCLUDED(mu) {
    absl::MutexLock lock(&mu);
    if (stopping.load()) return Admission::kStopping;
    if (static_cast<int64_t>(sessions.size()) >= std::max(options.max_connections, 1)) {
      return Admission::kFull;
    }
    sessions.emplace(id, std::move(session));
    return Admission::kAdmitted;
  }
  void Unregister(uint64_t id) ABSL_LOCKS_EXCLUDED(mu) {
    absl::MutexLock lock(&mu);
    sessions.erase(id);
  }
  // The sessions still alive. Drop the result outside `mu`: a Session's destructor locks it.
  std::vector<std::shared_ptr<Session>> Live() ABSL_LOCKS_EXCLUDED(mu) {
    std::vector<std::shared_ptr<Session>> live;
    absl::MutexLock lock(&mu);
    for (const auto& [id, weak] : sessions) {
      if (std::shared_ptr<Session> s = weak.lock()) live.push_back(std::move(s));
    }
    return live;
  }
  bool NoSessions() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return sessions.empty(); }

  // True when `authorization` (the header's value) satisfies the configured credentials, or
  // none are configured.
  bool Authorized(std::string_view authorization) const;

  const HttpServerOptions options;
  const HttpAsyncHandler handler;
  // Set once by Stop(): no new connections or requests, responses say Connection: close.
  std::atomic<bool> stopping{false};
  absl::Mutex mu;
  std::unordered_map<uint64_t, std::weak_ptr<Session>> sessions ABSL_GUARDED_BY(mu);
};

bool Shared::Authorized(std::string_view authorization) const {
  const bool want_bearer = !options.bearer_token.empty();
  const bool want_basic = !options.basic_auth_user.empty() || !options.basic_auth_password.empty();
  if (!want_bearer && !want_basic) return true;
  const absl::string_view value = absl::StripAsciiWhitespace(AbslView(authorization));
  const size_t space = value.find(' ');
  if (space == absl::string_view::npos) return false;
  const absl::string_view scheme = value.substr(0, space);
  const absl::string_view credentials = absl::StripAsciiWhitespace(value.substr(space + 1));
  if (want_bearer && absl::EqualsIgnoreCase(scheme, "bearer")) {
    return ConstantTimeEquals(StdView(credentials), options.bearer_token);
  }
  if (want_basic && absl::EqualsIgnoreCase(scheme, "basic")) {
    std::string decoded;
    if (!absl::Base64Unescape(credentials, &decoded)) return false;
    const size_t colon = decoded.find(':');
    if (colon == std::string::npos) return false;
    const std::string_view user = std::string_view(decoded).substr(0, colon);
    const std::string_view password = std::string_view(decoded).substr(colon + 1);
    // Both compared whatever the first gives, so timing does not tell which one was wrong.
    const bool user_ok = ConstantTimeEquals(user, options.basic_auth_user);
    const bool password_ok = ConstantTimeEquals(password, options.basic_auth_password);
    return user_ok && password_ok;
  }
  return false;
}

bool HasHeader(const HttpResponse& r, std::string_view lower_name) {
  for (const auto& [name, value] : r.headers) {
    if (absl::EqualsIgnoreCase(AbslView(name), AbslView(lower_name))) return true;
  }
  return false;
}

// Gzips `r`'s body when the client takes gzip, the status carries a body and it is large
// enough to be worth it. True when it did; the caller then labels the response.
bool CompressForClient(HttpResponse* r, bool accepts_gzip, const HttpServerOptions& options) {
  if (!accepts_gzip || r->body.empty() || r->body.size() < options.gzip_min_bytes ||
      r->status < 200 || r->status == 204 || r->status == 304) {
    return false;
  }
  std::string compressed = Gzip(r->body);
  if (compressed.empty()) return false;
  r->body = std::move(compressed);
  return true;
}

// How to frame a response, taken from its request.
struct ReplyContext {
  unsigned version = 11;
  bool keep_alive = false;
  bool head = false;
  bool accepts_gzip = false;
};

// One connection: reads requests in order, answers each before reading the next.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Shared& shared, uint64_t id)
      : stream_(std::move(socket)), header_timer_(stream_.get_executor()), shared_(shared), id_(id) {
    beast::error_code ec;
    const tcp::endpoint remote = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_address_ = FormatEndpoint(remote);
  }
  ~Session() { shared_.Unregister(id_); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void Start() {
    asio::dispatch(stream_.get_executor(),
                   beast::bind_front_handler(&Session::ReadHeader, shared_from_this()));
  }

  // Closes the connection if it is waiting for a request; one being served finishes first.
  void CloseIfIdle() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->idle_) self->CloseSocket();
    });
  }

  // REQUIRES: no thread runs the io_context (Stop() has joined them).
  void CloseNow() { CloseSocket(); }

  // Over max_connections: a short 503 written without waiting (it fits the socket's send
  // buffer), then the connection closes.
  void RefuseFull() {
    static constexpr std::string_view kFull =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nConnection: "
        "close\r\nContent-Length: 43\r\n\r\ntoo many open connections (max_connections)";
    beast::error_code ec;
    stream_.socket().non_blocking(true, ec);
    if (!ec) stream_.socket().write_some(asio::buffer(kFull.data(), kFull.size()), ec);
    // Read what the client sent so far: closing with unread bytes sends a reset, which can
    // destroy the 503 before the client reads it.
    beast::error_code shut;
    stream_.socket().shutdown(tcp::socket::shutdown_send, shut);
    char sink[4096];
    for (int i = 0; i < 16 && !ec; ++i) {
      if (stream_.socket().read_some(asio::buffer(sink), ec) == 0) break;
    }
    CloseSocket();
  }

 private:
  // A timeout of 0 (or less) is none: a year stands for it.
  static std::chrono::milliseconds Timeout(int64_t ms) {
    return ms > 0 ? std::chrono::milliseconds(ms) : std::chrono::hours(24 * 365);
  }
  std::chrono::milliseconds IdleTimeout() const {
    return Timeout(shared_.options.idle_timeout_ms);
  }

  std::chrono::milliseconds HeaderTimeout() const {
    return Timeout(shared_.options.header_timeout_ms);
  }
  std::chrono::milliseconds BodyTimeout() const {
    return Timeout(shared_.options.body_timeout_ms);
  }

  // Waits up to the idle timeout for a request's first bytes (none may be buffered already,
  // after a pipelined request), then gives its header the header timeout.
  void ReadHeader() {
    if (shared_.stopping.load()) {
      CloseSocket();
      return;
    }
    parser_.emplace();
    parser_->header_limit(kHeaderLimitBytes);
    parser_->body_limit(static_cast<uint64_t>(shared_.options.max_request_body_bytes));
    idle_ = true;
    if (buffer_.size() > 0) {
      ReadRestOfHeader();
      return;
    }
    stream_.expires_after(IdleTimeout());
    stream_.async_read_some(buffer_.prepare(kFirstReadBytes),
                            beast::bind_front_handler(&Session::OnFirstBytes, shared_from_this()));
  }

  void OnFirstBytes(beast::error_code ec, size_t bytes) {
    if (ec) {
      // The peer closed, the idle timeout fired, or Stop() closed an idle connection.
      CloseSocket();
      return;
    }
    buffer_.commit(bytes);
    ReadRestOfHeader();
  }

  // The header timeout is a timer of its own rather than the stream's expiry: that one closes
  // the socket, and a 408 could no longer be written.
  void ReadRestOfHeader() {
    stream_.expires_never();
    header_timed_out_ = false;
    reading_header_ = true;
    if (shared_.options.header_timeout_ms > 0) {
      header_timer_.expires_after(HeaderTimeout());
      header_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
        // Cancelled, or expired just as the header arrived (the completion was queued before
        // OnHeader cancelled it): then the socket's next operation is not this read's.
        if (ec || !self->reading_header_) return;
        self->header_timed_out_ = true;
        beast::error_code ignored;
        self->stream_.socket().cancel(ignored);
      });
    }
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::OnHeader, shared_from_this()));
  }

  // What the server refuses once it has a request's header: RFC 9110/9112 framing it does not
  // implement. nullopt when the request may go on.
  std::optional<HttpResponse> CheckFraming(const http::request<http::string_body>& msg) const {
    if (msg.version() < 10 || msg.version() >= 20) {
      return ErrorResponse(505, "bad_data",
                           absl::StrFormat("HTTP version %d.%d is not supported; use HTTP/1.1",
                                           msg.version() / 10, msg.version() % 10));
    }
    static constexpr std::string_view kMethods[] = {"GET",     "HEAD",    "POST",
                                                    "PUT",     "DELETE",  "OPTIONS",
                                                    "PATCH",   "CONNECT", "TRACE"};
    const std::string_view method = View(msg.method_string());
    if (std::find(std::begin(kMethods), std::end(kMethods), method) == std::end(kMethods)) {
      // Methods are case-sensitive (RFC 9110 9.1): "get" is not GET.
      return ErrorResponse(
          501, "bad_data",
          absl::StrFormat("method %s is not implemented",
                          method.size() > 32 ? absl::StrCat(AbslView(method.substr(0, 32)), "...")
                                             : std::string(method)));
    }
    const std::string_view target = View(msg.target());
    const bool origin_form = !target.empty() && target[0] == '/';
    const bool absolute_form = absl::StartsWithIgnoreCase(AbslView(target), "http://") ||
                               absl::StartsWithIgnoreCase(AbslView(target), "https://");
    const bool asterisk = target == "*" && msg.method() == http::verb::options;
    if (!origin_form && !absolute_form && !asterisk) {
      return ErrorResponse(400, "bad_data",
                           "invalid request target: it must start with '/' (RFC 9112 3.2)");
    }
    size_t fields = 0;
    size_t hosts = 0;
    for (const auto& field : msg) {
      ++fields;
      if (field.name() == http::field::host) ++hosts;
    }
    if (fields > kMaxHeaderFields) {
      return ErrorResponse(431, "bad_data",
                           absl::StrFormat("request has %d header fields; at most %d are allowed",
                                           fields, kMaxHeaderFields));
    }
    if (msg.version() == 11 && hosts != 1) {
      return ErrorResponse(400, "bad_data",
                           absl::StrFormat("an HTTP/1.1 request needs exactly one Host header, "
                                           "this one has %d (RFC 9112 3.2)",
                                           hosts));
    }
    const auto te = msg.find(http::field::transfer_encoding);
    if (te != msg.end()) {
      if (msg.find(http::field::content_length) != msg.end()) {
        return ErrorResponse(400, "bad_data",
                             "request has both Content-Length and Transfer-Encoding");
      }
      // Only chunked is implemented (RFC 9112 6.1: other codings get 501).
      if (!absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(AbslView(View(te->value()))),
                                  "chunked")) {
        return ErrorResponse(
            501, "bad_data",
            absl::StrFormat("Transfer-Encoding \"%s\" is not implemented; only chunked is",
                            std::string(View(te->value())).substr(0, 64)));
      }
    }
    return std::nullopt;
  }

  void OnHeader(beast::error_code ec, size_t /*bytes*/) {
    idle_ = false;
    reading_header_ = false;
    header_timer_.cancel();
    if (ec) {
      OnReadError(ec);
      return;
    }
    const auto& msg = parser_->get();
    if (std::optional<HttpResponse> refused = CheckFraming(msg)) {
      parser_.reset();
      Reply(*std::move(refused), ReplyContext{}, /*linger=*/true);
      return;
    }
    const auto expect = msg.find(http::field::expect);
    if (expect != msg.end() && msg.version() >= 11 && !parser_->is_done() &&
        absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(AbslView(View(expect->value()))),
                               "100-continue")) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      stream_.expires_after(BodyTimeout());
      asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                        beast::bind_front_handler(&Session::OnContinueSent, shared_from_this()));
      return;
    }
    ReadBody();
  }

  void OnContinueSent(beast::error_code ec, size_t /*bytes*/) {
    if (ec) {
      CloseSocket();
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    if (parser_->is_done()) {
      Handle();
      return;
    }
    stream_.expires_after(BodyTimeout());
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnBody, shared_from_this()));
  }

  void OnBody(beast::error_code ec, size_t /*bytes*/) {
    if (ec) {
      OnReadError(ec);
      return;
    }
    Handle();
  }

  // A failed read: answer what deserves an answer, then close.
  void OnReadError(const beast::error_code& ec) {
    parser_.reset();
    if (header_timed_out_ && ec == asio::error::operation_aborted) {
      // A request started but its header did not arrive in time (slowloris): say so, close.
      Reply(ErrorResponse(408, "bad_data",
                          absl::StrFormat("timed out reading the request header (%d ms)",
                                          shared_.options.header_timeout_ms)),
            ReplyContext{}, /*linger=*/false, /*force_close=*/true);
    } else if (ec == http::error::body_limit) {
      Reply(ErrorResponse(413, "bad_data",
                          absl::StrFormat("request body exceeds the limit of %d bytes",
                                          shared_.options.max_request_body_bytes)),
            ReplyContext{}, /*linger=*/true);
    } else if (ec == http::error::header_limit) {
      Reply(ErrorResponse(
                431, "bad_data",
                absl::StrFormat("request header exceeds the limit of %d bytes", kHeaderLimitBytes)),
            ReplyContext{}, /*linger=*/true);
    } else if (ec.category() == http::make_error_code(http::error::bad_method).category() &&
               ec != http::error::end_of_stream && ec != http::error::partial_message) {
      Reply(ErrorResponse(400, "bad_data", absl::StrCat("malformed HTTP request: ", ec.message())),
            ReplyContext{}, /*linger=*/true);
    } else {
      // The peer closed, the idle timeout fired, or Stop() closed an idle connection.
      CloseSocket();
    }
  }

  void Handle() {
    auto& msg = parser_->get();
    HttpRequest request;
    request.method = std::string(View(msg.method_string()));
    std::string_view target = View(msg.target());
    if (!target.empty() && target[0] != '/') {
      // absolute-form (RFC 7230 5.3.2), as proxies send: keep the path and query.
      if (const size_t scheme_end = target.find("://"); scheme_end != std::string_view::npos) {
        const size_t path_start = target.find('/', scheme_end + 3);
        target = path_start == std::string_view::npos ? "/" : target.substr(path_start);
      }
    }
    const size_t question = target.find('?');
    request.raw_path = std::string(target.substr(0, question));
    if (question != std::string_view::npos)
      request.query = std::string(target.substr(question + 1));
    request.headers.reserve(std::distance(msg.begin(), msg.end()));
    for (const auto& field : msg) {
      request.headers.emplace_back(absl::AsciiStrToLower(AbslView(View(field.name_string()))),
                                   std::string(View(field.value())));
    }
    request.body = std::move(msg.body());
    request.remote_address = remote_address_;

    ReplyContext context;
    context.version = msg.version();
    context.keep_alive = msg.keep_alive();
    context.head = msg.method() == http::verb::head;
    context.accepts_gzip = AcceptsGzip(request.Header("accept-encoding"));
    parser_.reset();
    if (std::optional<HttpResponse> refused = Prepare(request)) {
      Reply(*std::move(refused), context, /*linger=*/false);
      return;
    }
    Dispatch(std::move(request), context);
  }

  // Hands the request to the handler and waits for its reply without blocking the strand,
  // watching the socket meanwhile: a client that hangs up cancels the request.
  void Dispatch(HttpRequest request, const ReplyContext& context) {
    awaiting_reply_ = true;
    cancelled_ = request.cancelled;
    stream_.expires_never();
    auto once = std::make_shared<std::atomic<bool>>(false);
    HttpReply reply = [self = shared_from_this(), context, once](HttpResponse r) {
      if (once->exchange(true)) return;
      // Compressed here, on the thread that answers (a query worker), not on an I/O thread.
      try {
        if (!HasHeader(r, "content-encoding") &&
            CompressForClient(&r, context.accepts_gzip, self->shared_.options)) {
          r.headers.emplace_back("Content-Encoding", "gzip");
          r.headers.emplace_back("Vary", "Accept-Encoding");
        }
      } catch (const std::bad_alloc&) {
        // Sent uncompressed, then.
      }
      asio::post(self->stream_.get_executor(),
                 [self, context, r = std::move(r)]() mutable {
                   self->OnReply(std::move(r), context);
                 });
    };
    try {
      shared_.handler(std::move(request), reply);
    } catch (const std::exception& e) {
      reply(ErrorResponse(500, "internal", absl::StrCat("handler failed: ", e.what())));
    } catch (...) {
      reply(ErrorResponse(500, "internal", "handler failed with a non-standard exception"));
    }
    // A handler that answered at once needs no watch (OnReply runs after this returns).
    if (!once->load()) WatchForHangup();
  }

  void WatchForHangup() {
    stream_.socket().async_wait(
        tcp::socket::wait_read,
        beast::bind_front_handler(&Session::OnReadableWhileServing, shared_from_this()));
  }

  void OnReadableWhileServing(beast::error_code ec) {
    if (!awaiting_reply_ || ec == asio::error::operation_aborted) return;
    if (!ec) {
      char byte;
      const ssize_t n = ::recv(stream_.socket().native_handle(), &byte, 1,
                               MSG_PEEK | MSG_DONTWAIT);
      if (n > 0) return;  // A pipelined request: it waits its turn; stop watching.
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        WatchForHangup();
        return;
      }
    }
    // End of stream or a socket error: nobody is waiting for the answer.
    if (cancelled_ != nullptr) cancelled_->store(true);
  }

  void OnReply(HttpResponse r, const ReplyContext& context) {
    awaiting_reply_ = false;
    const bool gone = cancelled_ != nullptr && cancelled_->load();
    cancelled_.reset();
    beast::error_code ignored;
    stream_.socket().cancel(ignored);  // Ends WatchForHangup's wait.
    if (gone) {
      CloseSocket();
      return;
    }
    Reply(std::move(r), context, /*linger=*/false);
  }

  // Everything between a parsed request and its handler: authentication and decoding. An
  // answer when the request goes no further.
  std::optional<HttpResponse> Prepare(HttpRequest& request) {
    if (!shared_.Authorized(request.Header("authorization"))) {
      HttpResponse r =
          ErrorResponse(401, "unauthorized", "missing or invalid Authorization header");
      const HttpServerOptions& o = shared_.options;
      if (!o.basic_auth_user.empty() || !o.basic_auth_password.empty()) {
        r.headers.emplace_back("WWW-Authenticate", R"(Basic realm="ember", charset="UTF-8")");
      }
      if (!o.bearer_token.empty()) {
        r.headers.emplace_back("WWW-Authenticate", R"(Bearer realm="ember")");
      }
      return r;
    }
    absl::StatusOr<std::string> path = PercentDecodePath(request.raw_path);
    if (!path.ok()) return ErrorResponse(400, "bad_data", StdView(path.status().message()));
    request.path = *std::move(path);

    const std::vector<std::string>& raw = shared_.options.paths_without_body_decoding;
    if (std::find(raw.begin(), raw.end(), request.path) != raw.end()) return std::nullopt;
    const std::string encoding = absl::AsciiStrToLower(
        absl::StripAsciiWhitespace(AbslView(request.Header("content-encoding"))));
    if (encoding == "gzip" || encoding == "x-gzip") {
      absl::StatusOr<std::string> body =
          Gunzip(request.body, shared_.options.max_request_body_bytes);
      if (absl::IsResourceExhausted(body.status())) {
        return ErrorResponse(413, "bad_data",
                             absl::StrFormat("request body exceeds the limit of %d bytes",
                                             shared_.options.max_request_body_bytes));
      }
      if (absl::IsInvalidArgument(body.status())) {
        return ErrorResponse(400, "bad_data", StdView(body.status().message()));
      }
      if (!body.ok()) return ErrorResponse(500, "internal", StdView(body.status().message()));
      request.body = *std::move(body);
      // The handler sees a plain body, so nothing may tell it to decode again.
      std::erase_if(request.headers, [](const auto& h) { return h.first == "content-encoding"; });
    } else if (!encoding.empty() && encoding != "snappy" && encoding != "identity") {
      // Snappy is remote write's own, left to its handler with identity (which remote write
      // refuses and other handlers read as plain); anything else cannot be read.
      HttpResponse r = ErrorResponse(
          415, "bad_data",
          absl::StrFormat("unsupported Content-Encoding \"%s\": use gzip or none",
                          encoding.substr(0, 64)));
      r.headers.emplace_back("Accept-Encoding", "gzip");
      return r;
    }
    return std::nullopt;
  }

  // Frames `r` and writes it. `linger`: the request was not read to its end, so the connection
  // must close, draining what the client still sends.
  void Reply(HttpResponse r, const ReplyContext& context, bool linger, bool force_close = false) {
    if (r.status < 100 || r.status > 999) {
      r = ErrorResponse(500, "internal",
                        absl::StrFormat("handler returned HTTP status %d", r.status));
    }
    auto res = std::make_unique<http::response<http::string_body>>();
    res->version(context.version);
    res->result(static_cast<unsigned>(r.status));
    bool close = linger || force_close || !context.keep_alive || shared_.stopping.load();
    bool has_encoding = false;
    for (const auto& [name, value] : r.headers) {
      const absl::string_view n = AbslView(name);
      // The server frames the body itself.
      if (absl::EqualsIgnoreCase(n, "content-length") ||
          absl::EqualsIgnoreCase(n, "transfer-encoding")) {
        continue;
      }
      if (absl::EqualsIgnoreCase(n, "connection")) {
        if (absl::StrContains(absl::AsciiStrToLower(AbslView(value)), "close")) close = true;
        continue;
      }
      if (absl::EqualsIgnoreCase(n, "content-encoding")) has_encoding = true;
      res->insert(name, value);
    }
    if (!r.content_type.empty()) res->set(http::field::content_type, r.content_type);
    // RFC 7230 3.3.3: these never carry a body.
    if (r.status < 200 || r.status == 204 || r.status == 304) r.body.clear();
    if (!has_encoding && CompressForClient(&r, context.accepts_gzip, shared_.options)) {
      res->set(http::field::content_encoding, "gzip");
      res->insert(http::field::vary, "Accept-Encoding");
    }
    if (context.head) {
      // The length a GET would have, without the body.
      res->content_length(r.body.size());
    } else {
      res->body() = std::move(r.body);
      res->prepare_payload();
    }
    res->keep_alive(!close);

    response_ = std::move(res);
    close_after_write_ = close;
    linger_after_write_ = linger;
    stream_.expires_after(BodyTimeout());
    http::async_write(stream_, *response_,
                      beast::bind_front_handler(&Session::OnWrite, shared_from_this()));
  }

  void OnWrite(beast::error_code ec, size_t /*bytes*/) {
    response_.reset();
    if (ec) {
      CloseSocket();
    } else if (linger_after_write_) {
      Linger();
    } else if (close_after_write_) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      CloseSocket();
    } else {
      ReadHeader();
    }
  }

  void Linger() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    buffer_.clear();
    drained_ = 0;
    stream_.expires_after(kLingerTimeout);
    Drain();
  }

  void Drain() {
    stream_.async_read_some(buffer_.prepare(kDrainStepBytes),
                            beast::bind_front_handler(&Session::OnDrain, shared_from_this()));
  }

  void OnDrain(beast::error_code ec, size_t bytes) {
    drained_ += bytes;
    if (ec || drained_ > kLingerMaxBytes) {
      CloseSocket();
      return;
    }
    Drain();
  }

  void CloseSocket() {
    if (cancelled_ != nullptr) cancelled_->store(true);
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  asio::steady_timer header_timer_;
  bool reading_header_ = false;  // Between ReadRestOfHeader() and OnHeader().
  bool header_timed_out_ = false;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::unique_ptr<http::response<http::string_body>> response_;  // While being written.
  Shared& shared_;
  const uint64_t id_;
  std::string remote_address_;
  bool idle_ = false;  // Waiting for a request's header, so Stop() may close at once.
  bool awaiting_reply_ = false;  // The handler has the request; OnReply() ends the wait.
  std::shared_ptr<std::atomic<bool>> cancelled_;  // The request being served's flag.
  bool close_after_write_ = false;
  bool linger_after_write_ = false;
  size_t drained_ = 0;
};

}  // namespace

struct HttpServer::Impl {
  Impl(HttpServerOptions options, HttpAsyncHandler handler)
      : shared(std::move(options), std::move(handler)),
        ioc(std::max(shared.options.threads, 1)),
        accept_strand(asio::make_strand(ioc)),
        acceptor(accept_strand),
        accept_retry(accept_strand) {}

  absl::Status Start();
  void Stop(int64_t grace_ms);
  void Accept();
  void OnAccept(beast::error_code ec, tcp::socket socket);
  void Run();

  // Destroyed last: queued handlers, destroyed with `ioc`, hold sessions that unregister here.
  Shared shared;

  absl::Mutex start_stop_mu;  // Serializes Start() and Stop().
  bool started ABSL_GUARDED_BY(start_stop_mu) = false;
  bool stopped ABSL_GUARDED_BY(start_stop_mu) = false;
  std::atomic<int> port{0};
  uint64_t next_session_id = 0;  // On accept_strand.

  asio::io_context ioc;
  asio::strand<asio::io_context::executor_type> accept_strand;
  tcp::acceptor acceptor;           // On accept_strand.
  asio::steady_timer accept_retry;  // On accept_strand.
  std::vector<std::thread> threads;
};

absl::Status HttpServer::Impl::Start() {
  absl::MutexLock lock(&start_stop_mu);
  if (started || stopped) {
    return absl::FailedPreconditionError(absl::StrFormat("http server on %s: Start() after %s",
                                                         shared.options.listen_address,
                                                         stopped ? "Stop()" : "Start()"));
  }
  if (shared.options.threads < 1) {
    return absl::InvalidArgumentError(
        absl::StrFormat("http server: threads=%d, want at least 1", shared.options.threads));
  }
  absl::StatusOr<tcp::endpoint> endpoint = ResolveListenAddress(shared.options.listen_address, ioc);
  if (!endpoint.ok()) return endpoint.status();
  beast::error_code ec;
  acceptor.open(endpoint->protocol(), ec);
  if (ec) return ListenError(*endpoint, "socket: ", ec);
  acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) return ListenError(*endpoint, "setsockopt: ", ec);
  acceptor.bind(*endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    beast::error_code ignored;
    acceptor.close(ignored);
    return ListenError(*endpoint, "", ec);
  }
  port.store(acceptor.local_endpoint(ec).port());
  started = true;
  // No io thread runs yet, so this first call needs no strand.
  Accept();
  try {
    threads.reserve(shared.options.threads);
    for (int i = 0; i < shared.options.threads; ++i) threads.emplace_back([this] { Run(); });
  } catch (const std::system_error& e) {
    ioc.stop();
    for (std::thread& t : threads) t.join();
    threads.clear();
    stopped = true;
    return absl::ResourceExhaustedError(
        absl::StrFormat("http server: starting %d threads: %s", shared.options.threads, e.what()));
  }
  return absl::OkStatus();
}

void HttpServer::Impl::Run() {
  for (;;) {
    try {
      ioc.run();
      return;
    } catch (const std::exception& e) {
      // A handler step threw (bad_alloc, most likely): drop it and keep the thread serving.
      std::fprintf(stderr, "ember http server: %s\n", e.what());
    }
  }
}

void HttpServer::Impl::Accept() {
  acceptor.async_accept(asio::make_strand(ioc), beast::bind_front_handler(&Impl::OnAccept, this));
}

void HttpServer::Impl::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (shared.stopping.load() || !acceptor.is_open()) return;
  if (ec) {
    accept_retry.expires_after(kAcceptRetryDelay);
    accept_retry.async_wait([this](beast::error_code wait_ec) {
      if (!wait_ec && !shared.stopping.load()) Accept();
    });
    return;
  }
  const uint64_t id = next_session_id++;
  auto session = std::make_shared<Session>(std::move(socket), shared, id);
  switch (shared.Register(id, session)) {
    case Shared::Admission::kAdmitted:
      session->Start();
      break;
    case Shared::Admission::kFull:
      session->RefuseFull();
      break;
    case Shared::Admission::kStopping:
      break;
  }
  Accept();
}

void HttpServer::Impl::Stop(int64_t grace_ms) {
  absl::MutexLock lock(&start_stop_mu);
  if (stopped) return;
  stopped = true;
  if (!started) return;
  {
    // Under `mu`, so a session either registered before (and is in Live() below) or is refused.
    absl::MutexLock sessions_lock(&shared.mu);
    shared.stopping.store(true);
  }
  asio::post(accept_strand, [this] {
    beast::error_code ignored;
    acceptor.close(ignored);
    accept_retry.cancel();
  });
  for (const std::shared_ptr<Session>& session : shared.Live()) session->CloseIfIdle();
  {
    absl::MutexLock sessions_lock(&shared.mu);
    shared.mu.AwaitWithTimeout(absl::Condition(&shared, &Shared::NoSessions),
                               absl::Milliseconds(std::max<int64_t>(grace_ms, 0)));
  }
  // Handlers not yet started are dropped; one already running is not interrupted and is joined.
  ioc.stop();
  for (std::thread& t : threads) t.join();
  threads.clear();
  beast::error_code ignored;
  acceptor.close(ignored);
  for (const std::shared_ptr<Session>& session : shared.Live()) session->CloseNow();
}

HttpServer::HttpServer(HttpServerOptions options, HttpHandler handler)
    : impl_(std::make_unique<Impl>(
          std::move(options), [h = std::move(handler)](HttpRequest request, HttpReply reply) {
            reply(h(request));
          })) {}

HttpServer::HttpServer(HttpServerOptions options, HttpAsyncHandler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}

HttpServer::~HttpServer() { Stop(); }

absl::Status HttpServer::Start() { return impl_->Start(); }

int HttpServer::port() const { return impl_->port.load(); }

void HttpServer::Stop(int64_t grace_ms) { impl_->Stop(grace_ms); }

}  // namespace ember::server
