#include "server/http/http_client.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <exception>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ember::server {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

// How often a blocking exchange checks whether its caller has given up on it.
constexpr auto kAbortPollInterval = std::chrono::milliseconds(50);

}  // namespace

const char* HttpClientStageName(HttpClientStage stage) {
  switch (stage) {
    case HttpClientStage::kResolve:
      return "resolve";
    case HttpClientStage::kConnect:
      return "connect";
    case HttpClientStage::kWrite:
      return "write";
    case HttpClientStage::kRead:
      return "read";
    case HttpClientStage::kDone:
      return "done";
  }
  return "done";
}

AsyncHttpClient::AsyncHttpClient(asio::any_io_executor executor)
    : resolver_(executor), socket_(executor) {}

void AsyncHttpClient::Start(HttpClientRequest request, Done done) {
  request_ = std::move(request);
  done_ = std::move(done);
  in_flight_ = true;
  cancelled_ = false;
  endpoints_.clear();
  next_endpoint_ = 0;
  stage_ = HttpClientStage::kResolve;
  error_code ec;
  const asio::ip::address ip = asio::ip::make_address(request_.host, ec);
  if (!ec) {
    uint16_t port = 0;
    for (const char c : request_.port) port = static_cast<uint16_t>(port * 10 + (c - '0'));
    endpoints_.emplace_back(ip, port);
    stage_ = HttpClientStage::kConnect;
    ConnectNext();
    return;
  }
  resolver_.async_resolve(
      request_.host, request_.port,
      [self = shared_from_this()](error_code ec, const tcp::resolver::results_type& results) {
        self->OnResolve(ec, results);
      });
}

void AsyncHttpClient::Cancel() {
  if (!in_flight_) return;
  cancelled_ = true;
  error_code ignored;
  resolver_.cancel();
  socket_.close(ignored);
}

bool AsyncHttpClient::Cancelled() {
  if (!cancelled_) return false;
  Finish(stage_, asio::error::operation_aborted);
  return true;
}

void AsyncHttpClient::Finish(HttpClientStage stage, error_code ec) {
  in_flight_ = false;
  error_code ignored;
  if (!ec) socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  HttpClientResult result;
  result.stage = stage;
  result.ec = ec;
  if (!endpoints_.empty()) {
    result.endpoint = endpoints_[std::min(next_endpoint_, endpoints_.size() - 1)];
  }
  if (stage == HttpClientStage::kDone && parser_.has_value()) result.response = parser_->release();
  parser_.reset();
  buffer_.clear();
  Done done = std::move(done_);
  done_ = nullptr;
  done(std::move(result));
}

void AsyncHttpClient::OnResolve(error_code ec, const tcp::resolver::results_type& results) {
  if (Cancelled()) return;
  if (ec || results.empty()) {
    Finish(HttpClientStage::kResolve, ec);
    return;
  }
  for (const auto& entry : results) endpoints_.push_back(entry.endpoint());
  stage_ = HttpClientStage::kConnect;
  ConnectNext();
}

void AsyncHttpClient::ConnectNext() {
  error_code ignored;
  socket_.close(ignored);
  socket_.async_connect(endpoints_[next_endpoint_],
                        [self = shared_from_this()](error_code ec) { self->OnConnect(ec); });
}

void AsyncHttpClient::OnConnect(error_code ec) {
  if (Cancelled()) return;
  if (ec) {
    if (next_endpoint_ + 1 < endpoints_.size()) {
      ++next_endpoint_;
      ConnectNext();
      return;
    }
    Finish(HttpClientStage::kConnect, ec);
    return;
  }
  stage_ = HttpClientStage::kWrite;
  http::async_write(socket_, request_.message,
                    [self = shared_from_this()](error_code ec, size_t) { self->OnWrite(ec); });
}

void AsyncHttpClient::OnWrite(error_code ec) {
  if (Cancelled()) return;
  if (ec) {
    Finish(HttpClientStage::kWrite, ec);
    return;
  }
  stage_ = HttpClientStage::kRead;
  buffer_.clear();
  parser_.emplace();
  parser_->header_limit(request_.header_limit_bytes);
  parser_->body_limit(request_.max_body_bytes);
  // The header first: Beast 1.74 loses the body_limit error of a too large Content-Length when
  // it parses header and body in one go (async_read's eager mode), and would then reserve that
  // length for the body.
  http::async_read_header(
      socket_, buffer_, *parser_,
      [self = shared_from_this()](error_code ec, size_t) { self->OnHeader(ec); });
}

void AsyncHttpClient::OnHeader(error_code ec) {
  if (Cancelled()) return;
  if (ec) {
    Finish(HttpClientStage::kRead, ec);
    return;
  }
  http::async_read(socket_, buffer_, *parser_,
                   [self = shared_from_this()](error_code ec, size_t) { self->OnRead(ec); });
}

void AsyncHttpClient::OnRead(error_code ec) {
  if (Cancelled()) return;
  if (!ec && parser_->get().body().size() > request_.max_body_bytes) ec = http::error::body_limit;
  Finish(ec ? HttpClientStage::kRead : HttpClientStage::kDone, ec);
}

namespace {

absl::StatusOr<HttpClientResult> FetchHttpOrThrow(HttpClientRequest request,
                                                  std::chrono::steady_clock::time_point deadline,
                                                  const std::function<bool()>& aborted) {
  asio::io_context ioc;
  auto client = std::make_shared<AsyncHttpClient>(ioc.get_executor());
  std::optional<HttpClientResult> result;
  bool expired = false;
  // The deadline covers name resolution too.
  asio::steady_timer timer(ioc);
  timer.expires_at(deadline);
  timer.async_wait([&](error_code ec) {
    if (ec || result.has_value()) return;
    expired = true;
    client->Cancel();
  });
  client->Start(std::move(request), [&](HttpClientResult r) {
    result = std::move(r);
    timer.cancel();
  });
  bool gave_up = false;
  while (!result.has_value()) {
    if (!gave_up && aborted()) {
      gave_up = true;
      client->Cancel();
    }
    ioc.run_for(kAbortPollInterval);
    if (ioc.stopped() && !result.has_value()) {
      return absl::InternalError("request ended without a result");
    }
  }
  ioc.run();  // Lets the cancelled timer's handler run.
  const char* stage = HttpClientStageName(result->stage);
  if (gave_up) return absl::CancelledError(absl::StrCat(stage, ": abandoned at shutdown"));
  if (expired) return absl::DeadlineExceededError(absl::StrCat(stage, ": timed out"));
  return std::move(*result);
}

}  // namespace

absl::StatusOr<HttpClientResult> FetchHttp(HttpClientRequest request,
                                           std::chrono::steady_clock::time_point deadline,
                                           const std::function<bool()>& aborted) {
  try {
    return FetchHttpOrThrow(std::move(request), deadline, aborted);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("HTTP client: ", e.what()));
  }
}

}  // namespace ember::server
