// Decoder of the Prometheus text exposition format 0.0.4 and of OpenMetrics 1.0 text, shared by
// the import door (/api/v1/import/prometheus, `ember import`) and the scraper.
#ifndef EMBER_INGEST_TEXT_FORMAT_H_
#define EMBER_INGEST_TEXT_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "ember/labels.h"
#include "ember/sample.h"
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

// Where the streaming form below hands a body's sample lines, one at a time, in order. The
// scraper's per-target cache (server/scrape/scrape_cache.h) is one: it knows the labels of the
// series it saw in earlier scrapes, so their label sets need not be parsed again.
class TextSampleSink {
 public:
  virtual ~TextSampleSink() = default;
  // Asked for each sample line before its labels are parsed. `series` is the line's series
  // text: its bytes from the metric name (or the '{' of a line without one) through the label
  // set's closing '}', or through the name when there is no label set. Returning true says the
  // sink knows what those bytes parse to: the parser skips them. A sink must only know texts
  // it was given by Add() with labels: those parsed, and the same bytes parse the same way.
  virtual bool Known(std::string_view series) = 0;
  // One sample line. `labels` is null when Known() returned true for this line (it is always
  // the call just before), otherwise the parsed labels (the metric name first under __name__,
  // then as written plus options.extra_labels; not sorted or validated), which the sink may
  // move from. `series` is as for Known(), a view into the body.
  virtual void Add(std::string_view series, Labels* labels, const Sample& sample,
                   uint32_t line) = 0;
};

// The same syntax and errors as above, but each sample line goes to `sink` instead of a batch,
// and HELP/TYPE/UNIT lines are checked and then dropped. On an error, the lines before it have
// been handed to the sink.
absl::Status ParseTextFormat(std::string_view body, const TextFormatOptions& options,
                             TextSampleSink* sink);

}  // namespace ember::ingest

#endif  // EMBER_INGEST_TEXT_FORMAT_H_
