// Threading: one io_context run by options.threads threads. The acceptor and each connection's
// Session live on their own strand, so a session's steps never overlap; sessions run in
// parallel. The handler runs on the session's strand, i.e. on an io thread.
//
// Lifetimes: every pending operation holds a shared_ptr to its Session, so a Session lives
// exactly as long as something can still call back into it. Sessions register in
// Shared::sessions (weak pointers) so Stop() can reach them and wait for them to end.
#include "server/http/http_server.h"

#include "server/http/http_session.h"
#include "util/strings.h"

namespace ember::server {

std::string_view HttpRequest::Header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return value;
  }
  return {};
}

namespace {

using namespace http_internal;  // NOLINT(google-build-using-namespace): this module's own.

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
      !absl::SimpleAtoi(util::AsAbsl(port), &port_number) || port_number > 65535) {
    return bad("invalid port");
  }
  if (host.empty()) return tcp::endpoint(tcp::v4(), static_cast<uint16_t>(port_number));
  beast::error_code ec;
  const asio::ip::address ip = asio::ip::make_address(std::string(host), ec);
  if (!ec) return tcp::endpoint(ip, static_cast<uint16_t>(port_number));
  tcp::resolver resolver(ioc);
  const auto results = resolver.resolve(std::string(host), std::string(port), ec);
  if (ec || results.empty()) {
    return bad(absl::StrCat("lookup ", util::AsAbsl(host), ": ",
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
          std::move(options),
          [h = std::move(handler)](HttpRequest request, HttpReply reply) { reply(h(request)); })) {}

HttpServer::HttpServer(HttpServerOptions options, HttpAsyncHandler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}

HttpServer::~HttpServer() { Stop(); }

absl::Status HttpServer::Start() { return impl_->Start(); }

int HttpServer::port() const { return impl_->port.load(); }

void HttpServer::Stop(int64_t grace_ms) { impl_->Stop(grace_ms); }

}  // namespace ember::server
