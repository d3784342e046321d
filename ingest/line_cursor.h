// The line walk the line-oriented decoders share (text exposition and OpenMetrics in
// text_format.cc, line protocol in influx.cc): a body split at "\n", each line without its
// "\n" or "\r\n", numbered from 1, and errors that name a line and column as
// "line 12, column 5: ...". Lines are views into the body, which must outlive the cursor.
// Not thread-safe.
#ifndef EMBER_INGEST_LINE_CURSOR_H_
#define EMBER_INGEST_LINE_CURSOR_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/status/status.h"

namespace ember::ingest {

class LineCursor {
 public:
  explicit LineCursor(std::string_view body) : body_(body) {}

  // Moves to the next line; false once the body is used up, leaving line() the last line. An
  // empty body has no lines, and a "\n" at the very end does not begin one.
  bool Next() {
    if (next_ >= body_.size()) return false;
    const size_t newline = body_.find('\n', next_);
    const size_t stop = newline == std::string_view::npos ? body_.size() : newline;
    line_ = body_.substr(next_, stop - next_);
    if (!line_.empty() && line_.back() == '\r') line_.remove_suffix(1);
    ++line_no_;
    ended_with_newline_ = newline != std::string_view::npos;
    next_ = stop + 1;
    return true;
  }

  // The current line, without its "\n" or "\r\n".
  std::string_view line() const { return line_; }
  // 1-based; 0 before the first Next().
  uint32_t line_no() const { return line_no_; }

  // InvalidArgument "line N, column C: <reason>" for the byte at `at` of the current line.
  // REQUIRES: `at` is in line() or just past its end.
  absl::Status Error(const char* at, std::string_view reason) const;

  // InvalidArgument naming the current line and the setting, at the first byte past the
  // limit, when the line (without its "\n" or "\r\n") is longer than `max_line_bytes`.
  absl::Status CheckLength(size_t max_line_bytes) const {
    if (line_.size() <= max_line_bytes) return absl::OkStatus();
    return LengthError(max_line_bytes);
  }

  // Error() for the end of the body, once Next() has returned false: just past the last line,
  // or at column 1 of the line after it when the body ends with a newline or is empty.
  absl::Status ErrorAtEnd(std::string_view reason) const;

 private:
  absl::Status LengthError(size_t max_line_bytes) const;

  const std::string_view body_;
  size_t next_ = 0;  // Where the line after the current one starts.
  std::string_view line_;
  uint32_t line_no_ = 0;
  bool ended_with_newline_ = true;  // An empty body counts as ended.
};

}  // namespace ember::ingest

#endif  // EMBER_INGEST_LINE_CURSOR_H_
