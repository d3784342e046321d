// What an ingest door decodes a request into, before anything is stored: series with their
// samples, each tagged with its place in the request so that errors can name it, and the
// metric metadata the request carried. Plain data.
#ifndef EMBER_INGEST_BATCH_H_
#define EMBER_INGEST_BATCH_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "ember/labels.h"
#include "ember/sample.h"

namespace ember::ingest {

// How a position in a request is named in messages.
enum class PositionKind {
  kLine,        // "line 12" (1-based): text exposition, OpenMetrics, line protocol.
  kTimeseries,  // "timeseries[3]" (0-based): remote write.
};

struct DecodedSeries {
  Labels labels;  // As sent: not yet sorted or validated (the write path does both).
  std::vector<Sample> samples;
  uint32_t position = 0;
};

// HELP / TYPE / UNIT of a metric family, as remote write and the text formats carry them.
struct MetricMetadata {
  std::string metric;
  std::string type;  // "counter", "gauge", "histogram", "summary", "unknown", ...
  std::string help;
  std::string unit;
};

struct DecodedBatch {
  PositionKind kind = PositionKind::kLine;
  std::vector<DecodedSeries> series;
  std::vector<MetricMetadata> metadata;
};

// The longest line, without its "\n" or "\r\n", that the line-oriented doors (text exposition,
// OpenMetrics, line protocol) accept by default; a longer one rejects the request, naming the
// line. Real lines are a few hundred bytes: a series with 30 labels of 100 bytes each is 6 KiB.
// A megabyte is far beyond any honest line, yet small enough that a body without newlines is
// refused at the first megabyte rather than parsed as one line up to the body limit.
inline constexpr size_t kDefaultMaxLineBytes = size_t{1} << 20;

// "line 12" or "timeseries[3]".
std::string PositionName(PositionKind kind, uint32_t position);

}  // namespace ember::ingest

#endif  // EMBER_INGEST_BATCH_H_
