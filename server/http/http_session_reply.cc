// A connection answering its requests (http_session.h).
#include "server/http/http_session.h"
#include "util/strings.h"

namespace ember::server::http_internal {

void Session::Handle() {
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
  if (question != std::string_view::npos) request.query = std::string(target.substr(question + 1));
  request.headers.reserve(std::distance(msg.begin(), msg.end()));
  for (const auto& field : msg) {
    request.headers.emplace_back(absl::AsciiStrToLower(util::AsAbsl(View(field.name_string()))),
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

void Session::Dispatch(HttpRequest request, const ReplyContext& context) {
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
    asio::post(self->stream_.get_executor(), [self, context, r = std::move(r)]() mutable {
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

void Session::WatchForHangup() {
  stream_.socket().async_wait(
      tcp::socket::wait_read,
      beast::bind_front_handler(&Session::OnReadableWhileServing, shared_from_this()));
}

void Session::OnReadableWhileServing(beast::error_code ec) {
  if (!awaiting_reply_ || ec == asio::error::operation_aborted) return;
  if (!ec) {
    char byte;
    const ssize_t n = ::recv(stream_.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0) return;  // A pipelined request: it waits its turn; stop watching.
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      WatchForHangup();
      return;
    }
  }
  // End of stream or a socket error: nobody is waiting for the answer.
  if (cancelled_ != nullptr) cancelled_->store(true);
}

void Session::OnReply(HttpResponse r, const ReplyContext& context) {
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

std::optional<HttpResponse> Session::Prepare(HttpRequest& request) {
  if (!shared_.Authorized(request.Header("authorization"))) {
    HttpResponse r = ErrorResponse(401, "unauthorized", "missing or invalid Authorization header");
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
      absl::StripAsciiWhitespace(util::AsAbsl(request.Header("content-encoding"))));
  if (encoding == "gzip" || encoding == "x-gzip") {
    absl::StatusOr<std::string> body = Gunzip(request.body, shared_.options.max_request_body_bytes);
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
    HttpResponse r =
        ErrorResponse(415, "bad_data",
                      absl::StrFormat("unsupported Content-Encoding \"%s\": use gzip or none",
                                      encoding.substr(0, 64)));
    r.headers.emplace_back("Accept-Encoding", "gzip");
    return r;
  }
  return std::nullopt;
}

void Session::Reply(HttpResponse r, const ReplyContext& context, bool linger, bool force_close) {
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
    const absl::string_view n = util::AsAbsl(name);
    // The server frames the body itself.
    if (absl::EqualsIgnoreCase(n, "content-length") ||
        absl::EqualsIgnoreCase(n, "transfer-encoding")) {
      continue;
    }
    if (absl::EqualsIgnoreCase(n, "connection")) {
      if (absl::StrContains(absl::AsciiStrToLower(util::AsAbsl(value)), "close")) close = true;
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

void Session::OnWrite(beast::error_code ec, size_t /*bytes*/) {
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

void Session::Linger() {
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  buffer_.clear();
  drained_ = 0;
  stream_.expires_after(kLingerTimeout);
  Drain();
}

void Session::Drain() {
  stream_.async_read_some(buffer_.prepare(kDrainStepBytes),
                          beast::bind_front_handler(&Session::OnDrain, shared_from_this()));
}

void Session::OnDrain(beast::error_code ec, size_t bytes) {
  drained_ += bytes;
  if (ec || drained_ > kLingerMaxBytes) {
    CloseSocket();
    return;
  }
  Drain();
}

void Session::CloseSocket() {
  if (cancelled_ != nullptr) cancelled_->store(true);
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream_.close();
}

}  // namespace ember::server::http_internal
