// A connection reading its requests (http_session.h).
#include "server/http/http_session.h"
#include "util/strings.h"

namespace ember::server::http_internal {

bool Shared::Authorized(std::string_view authorization) const {
  const bool want_bearer = !options.bearer_token.empty();
  const bool want_basic = !options.basic_auth_user.empty() || !options.basic_auth_password.empty();
  if (!want_bearer && !want_basic) return true;
  const absl::string_view value = absl::StripAsciiWhitespace(util::AsAbsl(authorization));
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

Session::Session(tcp::socket socket, Shared& shared, uint64_t id)
    : stream_(std::move(socket)), header_timer_(stream_.get_executor()), shared_(shared), id_(id) {
  beast::error_code ec;
  const tcp::endpoint remote = stream_.socket().remote_endpoint(ec);
  if (!ec) remote_address_ = FormatEndpoint(remote);
}

void Session::Start() {
  asio::dispatch(stream_.get_executor(),
                 beast::bind_front_handler(&Session::ReadHeader, shared_from_this()));
}

void Session::CloseIfIdle() {
  asio::post(stream_.get_executor(), [self = shared_from_this()] {
    if (self->idle_) self->CloseSocket();
  });
}

void Session::RefuseFull() {
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

std::chrono::milliseconds Session::Timeout(int64_t ms) {
  return ms > 0 ? std::chrono::milliseconds(ms) : std::chrono::hours(24 * 365);
}

std::chrono::milliseconds Session::IdleTimeout() const {
  return Timeout(shared_.options.idle_timeout_ms);
}

std::chrono::milliseconds Session::HeaderTimeout() const {
  return Timeout(shared_.options.header_timeout_ms);
}

std::chrono::milliseconds Session::BodyTimeout() const {
  return Timeout(shared_.options.body_timeout_ms);
}

void Session::ReadHeader() {
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

void Session::OnFirstBytes(beast::error_code ec, size_t bytes) {
  if (ec) {
    // The peer closed, the idle timeout fired, or Stop() closed an idle connection.
    CloseSocket();
    return;
  }
  buffer_.commit(bytes);
  ReadRestOfHeader();
}

void Session::ReadRestOfHeader() {
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

std::optional<HttpResponse> Session::CheckFraming(
    const http::request<http::string_body>& msg) const {
  if (msg.version() < 10 || msg.version() >= 20) {
    return ErrorResponse(505, "bad_data",
                         absl::StrFormat("HTTP version %d.%d is not supported; use HTTP/1.1",
                                         msg.version() / 10, msg.version() % 10));
  }
  static constexpr std::string_view kMethods[] = {"GET",     "HEAD",  "POST",    "PUT",  "DELETE",
                                                  "OPTIONS", "PATCH", "CONNECT", "TRACE"};
  const std::string_view method = View(msg.method_string());
  if (std::find(std::begin(kMethods), std::end(kMethods), method) == std::end(kMethods)) {
    // Methods are case-sensitive (RFC 9110 9.1): "get" is not GET.
    return ErrorResponse(
        501, "bad_data",
        absl::StrFormat("method %s is not implemented",
                        method.size() > 32 ? absl::StrCat(util::AsAbsl(method.substr(0, 32)), "...")
                                           : std::string(method)));
  }
  const std::string_view target = View(msg.target());
  const bool origin_form = !target.empty() && target[0] == '/';
  const bool absolute_form = absl::StartsWithIgnoreCase(util::AsAbsl(target), "http://") ||
                             absl::StartsWithIgnoreCase(util::AsAbsl(target), "https://");
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
    if (!absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(util::AsAbsl(View(te->value()))),
                                "chunked")) {
      return ErrorResponse(
          501, "bad_data",
          absl::StrFormat("Transfer-Encoding \"%s\" is not implemented; only chunked is",
                          std::string(View(te->value())).substr(0, 64)));
    }
  }
  return std::nullopt;
}

void Session::OnHeader(beast::error_code ec, size_t /*bytes*/) {
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
      absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(util::AsAbsl(View(expect->value()))),
                             "100-continue")) {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    stream_.expires_after(BodyTimeout());
    asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                      beast::bind_front_handler(&Session::OnContinueSent, shared_from_this()));
    return;
  }
  ReadBody();
}

void Session::OnContinueSent(beast::error_code ec, size_t /*bytes*/) {
  if (ec) {
    CloseSocket();
    return;
  }
  ReadBody();
}

void Session::ReadBody() {
  if (parser_->is_done()) {
    Handle();
    return;
  }
  stream_.expires_after(BodyTimeout());
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&Session::OnBody, shared_from_this()));
}

void Session::OnBody(beast::error_code ec, size_t /*bytes*/) {
  if (ec) {
    OnReadError(ec);
    return;
  }
  Handle();
}

void Session::OnReadError(const beast::error_code& ec) {
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

}  // namespace ember::server::http_internal
