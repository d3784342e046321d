// Decoder of the Prometheus text exposition format 0.0.4 and of OpenMetrics 1.0 text, shared by
// the import door (/api/v1/import/prometheus, `ember import`) and the scraper.
#ifndef EMBER_INGEST_TEXT_FORMAT_H_
#define EMBER_INGEST_TEXT_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "ember/labels.h"
#include "ingest/batch.h"

namespace ember::ingest {

struct TextFormatOptions {
  // OpenMetrics: timestamps are float seconds, `# EOF` ends the body, `_created` etc. Otherwise
  // text 0.0.4: timestamps are integer milliseconds.
  bool openmetrics = false;
  // Timestamp of samples written without one.
  int64_t default_timestamp_ms = 0;
  // Added to every series, replacing a label of the same name (`extra_label`).
  Labels extra_labels;
  // A longer line (without its "\n" or "\r\n") is an error naming it.
  size_t max_line_bytes = kDefaultMaxLineBytes;
};

// Appends one DecodedSeries per sample line to `out` (kind kLine, position = 1-based line), and
// the HELP/TYPE/UNIT lines to out->metadata. On a syntax error, or a line longer than
// options.max_line_bytes (1 MiB by default), returns InvalidArgument "line N, column C: <reason>"
// and leaves `out` in an unspecified state.
absl::Status ParseTextFormat(std::string_view body, const TextFormatOptions& options,
                             DecodedBatch* out);

}  // namespace ember::ingest

#endif  // EMBER_INGEST_TEXT_FORMAT_H_
