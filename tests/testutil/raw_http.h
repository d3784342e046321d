// Raw HTTP/1.1 over a plain TCP socket to 127.0.0.1, for tests that send what a well-behaved
// client never would: bad request lines, conflicting framing, pipelined or half-sent requests.
// The bytes go out exactly as given (no Host, no Content-Length added). Every call is bounded by
// a deadline and never raises SIGPIPE. Header-only (inline). Not thread-safe.
#ifndef EMBER_TESTS_TESTUTIL_RAW_HTTP_H_
#define EMBER_TESTS_TESTUTIL_RAW_HTTP_H_

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace ember::testutil {

struct RawResponse {
  int status = 0;    // From the status line.
  std::string head;  // Status line and header lines, as received.
  std::string body;  // De-chunked when the response was chunked.
};

class RawConnection {
 public:
  using Clock = std::chrono::steady_clock;

  // A non-blocking connection to 127.0.0.1:`port`.
  static absl::StatusOr<std::unique_ptr<RawConnection>> Connect(int port,
                                                                int64_t timeout_ms = 10'000) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return absl::InternalError(absl::StrCat("socket: errno ", errno));
    auto conn = std::unique_ptr<RawConnection>(new RawConnection(fd));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      if (errno != EINPROGRESS) {
        return absl::UnavailableError(absl::StrCat("connect 127.0.0.1:", port, ": errno ", errno));
      }
      pollfd p{fd, POLLOUT, 0};
      int err = 0;
      socklen_t len = sizeof(err);
      if (poll(&p, 1, static_cast<int>(timeout_ms)) != 1 ||
          getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
        return absl::UnavailableError(absl::StrCat("connect 127.0.0.1:", port, " failed"));
      }
    }
    return conn;
  }

  ~RawConnection() { close(fd_); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  // Sends as much of `bytes` as the peer takes within `timeout_ms`. Stops early, without an
  // error, when the peer closed or reset the connection or has already started to answer (a
  // server may refuse a request before reading its body). The number of bytes sent.
  size_t Send(std::string_view bytes, int64_t timeout_ms = 10'000) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    size_t sent = 0;
    while (sent < bytes.size()) {
      const ssize_t n = send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) break;  // EPIPE, ECONNRESET.
      const int64_t left = LeftMs(deadline);
      if (left <= 0) break;
      pollfd p{fd_, POLLOUT | POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      if ((p.revents & (POLLIN | POLLHUP | POLLERR)) != 0) break;  // An answer or a close.
    }
    return sent;
  }

  // Half-closes the sending side (the peer reads end-of-stream after what was sent).
  void ShutdownWrite() { shutdown(fd_, SHUT_WR); }

  // Reads one response: status line, headers, then a Content-Length, chunked or read-to-close
  // body. Unavailable when the peer closed first (naming what arrived), DeadlineExceeded after
  // `timeout_ms`.
  absl::StatusOr<RawResponse> ReadResponse(int64_t timeout_ms = 10'000) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    size_t head_end;
    while ((head_end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (absl::Status s = More(deadline, "before the end of the response head"); !s.ok()) return s;
    }
    RawResponse r;
    r.head = buf_.substr(0, head_end);
    buf_.erase(0, head_end + 4);
    const std::vector<std::string> lines = absl::StrSplit(r.head, "\r\n");
    const std::vector<std::string> status_line = absl::StrSplit(lines[0], ' ');
    if (status_line.size() < 2 || !absl::StartsWith(status_line[0], "HTTP/") ||
        !absl::SimpleAtoi(status_line[1], &r.status)) {
      return absl::DataLossError(absl::StrCat("bad status line: ", lines[0]));
    }
    int64_t content_length = -1;
    bool chunked = false;
    for (size_t i = 1; i < lines.size(); ++i) {
      const size_t colon = lines[i].find(':');
      if (colon == std::string::npos) continue;
      const std::string name = absl::AsciiStrToLower(lines[i].substr(0, colon));
      const std::string value(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
      if (name == "content-length") absl::SimpleAtoi(value, &content_length);
      if (name == "transfer-encoding" &&
          absl::StrContains(absl::AsciiStrToLower(value), "chunked")) {
        chunked = true;
      }
    }
    if (r.status < 200 || r.status == 204 || r.status == 304) return r;
    if (chunked) {
      while (true) {
        size_t eol;
        while ((eol = buf_.find("\r\n")) == std::string::npos) {
          if (absl::Status s = More(deadline, "in a chunk size line"); !s.ok()) return s;
        }
        const size_t size = std::strtoull(buf_.substr(0, eol).c_str(), nullptr, 16);
        while (buf_.size() < eol + 2 + size + 2) {
          if (absl::Status s = More(deadline, "in a chunk"); !s.ok()) return s;
        }
        r.body.append(buf_, eol + 2, size);
        buf_.erase(0, eol + 2 + size + 2);
        if (size == 0) return r;  // No trailers from the servers under test.
      }
    }
    if (content_length >= 0) {
      while (buf_.size() < static_cast<size_t>(content_length)) {
        if (absl::Status s = More(deadline, "in the body"); !s.ok()) return s;
      }
      r.body = buf_.substr(0, static_cast<size_t>(content_length));
      buf_.erase(0, static_cast<size_t>(content_length));
      return r;
    }
    while (true) {  // Read to close.
      const absl::Status s = Fill(deadline);
      if (absl::IsUnavailable(s)) break;
      if (!s.ok()) return s;
    }
    r.body = std::move(buf_);
    buf_.clear();
    return r;
  }

  // Waits up to `timeout_ms` for the peer to close the connection, discarding what it sends.
  bool WaitClosed(int64_t timeout_ms) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (true) {
      const absl::Status s = Fill(deadline);
      if (absl::IsUnavailable(s)) return true;
      if (!s.ok()) return false;
      buf_.clear();
    }
  }

 private:
  explicit RawConnection(int fd) : fd_(fd) {}

  static int64_t LeftMs(Clock::time_point deadline) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  }

  // Fill(), with `where` and what arrived so far in the error.
  absl::Status More(Clock::time_point deadline, std::string_view where) {
    absl::Status s = Fill(deadline);
    if (s.ok()) return s;
    return absl::Status(s.code(),
                        absl::StrCat(s.message(), " ", std::string(where), " after ", buf_.size(),
                                     " bytes: \"", buf_.substr(0, 200), "\""));
  }

  // Appends what arrives to buf_. Unavailable on end-of-stream or reset, DeadlineExceeded when
  // nothing came before `deadline`.
  absl::Status Fill(Clock::time_point deadline) {
    while (true) {
      char chunk[1 << 16];
      const ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
      if (n > 0) {
        buf_.append(chunk, static_cast<size_t>(n));
        return absl::OkStatus();
      }
      if (n == 0) return absl::UnavailableError("connection closed by the server");
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        return absl::UnavailableError(absl::StrCat("connection reset (errno ", errno, ")"));
      }
      const int64_t left = LeftMs(deadline);
      if (left <= 0) return absl::DeadlineExceededError("no answer before the deadline");
      pollfd p{fd_, POLLIN, 0};
      poll(&p, 1, static_cast<int>(left));
    }
  }

  int fd_;
  std::string buf_;  // Received, not yet consumed.
};

}  // namespace ember::testutil

#endif  // EMBER_TESTS_TESTUTIL_RAW_HTTP_H_
