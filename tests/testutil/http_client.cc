#include "tests/testutil/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace ember::testutil {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace asio = boost::asio;

std::string HttpResult::Header(const std::string& lower_name) const {
  for (const auto& [k, v] : headers) {
    if (k == lower_name) return v;
  }
  return "";
}

struct HttpClient::Impl {
  int port;
  int64_t timeout_ms;
  asio::io_context io;
  std::unique_ptr<beast::tcp_stream> stream;
  beast::flat_buffer buffer;

  absl::Status Connect() {
    stream = std::make_unique<beast::tcp_stream>(io);
    stream->expires_after(std::chrono::milliseconds(timeout_ms));
    beast::error_code ec;
    stream->connect(
        asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port)),
        ec);
    if (ec) {
      stream.reset();
      return absl::UnavailableError(absl::StrCat("connect 127.0.0.1:", port, ": ", ec.message()));
    }
    buffer.clear();
    return absl::OkStatus();
  }
};

HttpClient::HttpClient(int port, int64_t timeout_ms) : impl_(std::make_unique<Impl>()) {
  impl_->port = port;
  impl_->timeout_ms = timeout_ms;
}

HttpClient::~HttpClient() {
  if (impl_->stream != nullptr) {
    beast::error_code ec;
    impl_->stream->socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  }
}

absl::StatusOr<HttpResult> HttpClient::Request(
    const std::string& method, const std::string& target, const std::string& body,
    const std::vector<std::pair<std::string, std::string>>& headers) {
  // One retry: a kept-alive connection the server has closed fails on first use.
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (impl_->stream == nullptr) {
      if (absl::Status s = impl_->Connect(); !s.ok()) return s;
    }
    http::request<http::string_body> req;
    req.method_string(method);
    req.target(target);
    req.version(11);
    req.set(http::field::host, absl::StrCat("127.0.0.1:", impl_->port));
    req.set(http::field::user_agent, "ember-test");
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = body;
    req.prepare_payload();
    impl_->stream->expires_after(std::chrono::milliseconds(impl_->timeout_ms));
    beast::error_code ec;
    http::write(*impl_->stream, req, ec);
    http::response_parser<http::string_body> parser;
    parser.body_limit(1ULL << 31);
    if (!ec) http::read(*impl_->stream, impl_->buffer, parser, ec);
    if (ec) {
      impl_->stream.reset();
      if (attempt == 0 &&
          (ec == http::error::end_of_stream || ec == asio::error::connection_reset ||
           ec == asio::error::broken_pipe || ec == asio::error::eof)) {
        continue;
      }
      return absl::UnavailableError(absl::StrCat(method, " ", target, ": ", ec.message()));
    }
    http::response<http::string_body> res = parser.release();
    HttpResult r;
    r.status = static_cast<int>(res.result_int());
    r.body = std::move(res.body());
    for (const auto& f : res) {
      r.headers.emplace_back(absl::AsciiStrToLower(std::string(f.name_string())),
                             std::string(f.value()));
    }
    if (!res.keep_alive()) impl_->stream.reset();
    return r;
  }
  return absl::UnavailableError("unreachable");
}

absl::StatusOr<HttpResult> HttpClient::PostForm(const std::string& target,
                                                const std::string& form) {
  return Request("POST", target, form, {{"Content-Type", "application/x-www-form-urlencoded"}});
}

std::string UrlEncode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

}  // namespace ember::testutil
