#include "ingest/line_cursor.h"

#include "absl/strings/str_format.h"

namespace ember::ingest {

absl::Status LineCursor::Error(const char* at, std::string_view reason) const {
  return absl::InvalidArgumentError(
      absl::StrFormat("line %d, column %d: %s", line_no_, at - line_.data() + 1, reason));
}

absl::Status LineCursor::LengthError(size_t max_line_bytes) const {
  return Error(line_.data() + max_line_bytes,
               absl::StrFormat("line is %d bytes long, over the limit of %d (max_line_bytes)",
                               line_.size(), max_line_bytes));
}

absl::Status LineCursor::ErrorAtEnd(std::string_view reason) const {
  if (!ended_with_newline_) return Error(line_.data() + line_.size(), reason);
  return absl::InvalidArgumentError(absl::StrFormat("line %d, column 1: %s", line_no_ + 1, reason));
}

}  // namespace ember::ingest
