// Internal to server/http/: what the HTTP server (http_server.cc) shares with its connections,
// and one connection, Session: reading a request (http_session_read.cc: idle and header
// timeouts, framing checks, 100-continue, the body) and answering it (http_session_reply.cc:
// authentication, decoding, the handler, hang-up watching, framing the response, lingering).
//
// Threading: one io_context run by options.threads threads. The acceptor and each connection's
// Session live on their own strand, so a session's steps never overlap; sessions run in
// parallel. The handler runs on the session's strand, i.e. on an io thread.
//
// Lifetimes: every pending operation holds a shared_ptr to its Session, so a Session lives
// exactly as long as something can still call back into it. Sessions register in
// Shared::sessions (weak pointers) so Stop() can reach them and wait for them to end.
#ifndef EMBER_SERVER_HTTP_HTTP_SESSION_H_
#define EMBER_SERVER_HTTP_HTTP_SESSION_H_

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
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
#include "server/http/http_server.h"
#include "util/strings.h"

namespace ember::server::http_internal {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// Go's net/http allows 1 MiB of request header too: PromQL in a GET's query string can be long.
inline constexpr uint32_t kHeaderLimitBytes = 1 << 20;
// After an error response to a request that was not read to its end, the unread rest is drained
// for up to this long before closing: closing with unread bytes makes the kernel send a reset,
// which can destroy the response before the client reads it. Go waits 500 ms for the same reason.
inline constexpr auto kLingerTimeout = std::chrono::seconds(1);
inline constexpr size_t kLingerMaxBytes = 64 << 20;
inline constexpr size_t kDrainStepBytes = 16 << 10;
// More header fields than this get 431: no client needs them, and each costs a map entry.
inline constexpr size_t kMaxHeaderFields = 1000;
// The first read of a request (waiting out the idle timeout) takes what is there, up to this.
inline constexpr size_t kFirstReadBytes = 4096;
// How long to wait before accepting again after accept() failed (EMFILE, ENOBUFS...), rather
// than spinning on the error.
inline constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(50);

inline std::string_view View(beast::string_view s) { return {s.data(), s.size()}; }
inline std::string_view StdView(absl::string_view s) { return {s.data(), s.size()}; }

inline std::string FormatEndpoint(const tcp::endpoint& ep) {
  const asio::ip::address address = ep.address();
  if (address.is_v6()) return absl::StrFormat("[%s]:%d", address.to_string(), ep.port());
  return absl::StrFormat("%s:%d", address.to_string(), ep.port());
}

inline HttpResponse ErrorResponse(int status, std::string_view error_type,
                                  std::string_view message) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = PromErrorBody(error_type, message);
  return r;
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

inline bool HasHeader(const HttpResponse& r, std::string_view lower_name) {
  for (const auto& [name, value] : r.headers) {
    if (absl::EqualsIgnoreCase(util::AsAbsl(name), util::AsAbsl(lower_name))) return true;
  }
  return false;
}

// Gzips `r`'s body when the client takes gzip, the status carries a body and it is large
// enough to be worth it. True when it did; the caller then labels the response.
bool CompressForClient(HttpResponse* r, bool accepts_gzip, const HttpServerOptions& options);

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
  Session(tcp::socket socket, Shared& shared, uint64_t id);
  ~Session() { shared_.Unregister(id_); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void Start();

  // Closes the connection if it is waiting for a request; one being served finishes first.
  void CloseIfIdle();

  // REQUIRES: no thread runs the io_context (Stop() has joined them).
  void CloseNow() { CloseSocket(); }

  // Over max_connections: a short 503 written without waiting (it fits the socket's send
  // buffer), then the connection closes.
  void RefuseFull();

 private:
  // A timeout of 0 (or less) is none: a year stands for it.
  static std::chrono::milliseconds Timeout(int64_t ms);
  std::chrono::milliseconds IdleTimeout() const;

  std::chrono::milliseconds HeaderTimeout() const;
  std::chrono::milliseconds BodyTimeout() const;

  // Waits up to the idle timeout for a request's first bytes (none may be buffered already,
  // after a pipelined request), then gives its header the header timeout.
  void ReadHeader();

  void OnFirstBytes(beast::error_code ec, size_t bytes);

  // The header timeout is a timer of its own rather than the stream's expiry: that one closes
  // the socket, and a 408 could no longer be written.
  void ReadRestOfHeader();

  // What the server refuses once it has a request's header: RFC 9110/9112 framing it does not
  // implement. nullopt when the request may go on.
  std::optional<HttpResponse> CheckFraming(const http::request<http::string_body>& msg) const;

  void OnHeader(beast::error_code ec, size_t /*bytes*/);

  void OnContinueSent(beast::error_code ec, size_t /*bytes*/);

  void ReadBody();

  void OnBody(beast::error_code ec, size_t /*bytes*/);

  // A failed read: answer what deserves an answer, then close.
  void OnReadError(const beast::error_code& ec);

  void Handle();

  // Hands the request to the handler and waits for its reply without blocking the strand,
  // watching the socket meanwhile: a client that hangs up cancels the request.
  void Dispatch(HttpRequest request, const ReplyContext& context);

  void WatchForHangup();

  void OnReadableWhileServing(beast::error_code ec);

  void OnReply(HttpResponse r, const ReplyContext& context);

  // Everything between a parsed request and its handler: authentication and decoding. An
  // answer when the request goes no further.
  std::optional<HttpResponse> Prepare(HttpRequest& request);

  // Frames `r` and writes it. `linger`: the request was not read to its end, so the connection
  // must close, draining what the client still sends.
  void Reply(HttpResponse r, const ReplyContext& context, bool linger, bool force_close = false);

  void OnWrite(beast::error_code ec, size_t /*bytes*/);

  void Linger();

  void Drain();

  void OnDrain(beast::error_code ec, size_t bytes);

  void CloseSocket();

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
  bool idle_ = false;            // Waiting for a request's header, so Stop() may close at once.
  bool awaiting_reply_ = false;  // The handler has the request; OnReply() ends the wait.
  std::shared_ptr<std::atomic<bool>> cancelled_;  // The request being served's flag.
  bool close_after_write_ = false;
  bool linger_after_write_ = false;
  size_t drained_ = 0;
};

}  // namespace ember::server::http_internal

#endif  // EMBER_SERVER_HTTP_HTTP_SESSION_H_
