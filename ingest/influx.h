// Decoder of the InfluxDB line protocol (Telegraf's /write and /api/v2/write), naming series
// as VictoriaMetrics does: measurement "cpu" with field "usage" becomes `cpu_usage`, tags become
// labels.
#ifndef EMBER_INGEST_INFLUX_H_
#define EMBER_INGEST_INFLUX_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ember/labels.h"
#include "ingest/batch.h"

namespace ember::ingest {

struct InfluxOptions {
  // Nanoseconds per unit of the line timestamps (the `precision` parameter): 1 for ns.
  int64_t ns_per_unit = 1;
  // Timestamp of lines written without one.
  int64_t default_timestamp_ms = 0;
  // Added to every series (e.g. {db="telegraf"} from the `db` parameter), replacing a tag of
  // the same name.
  Labels extra_labels;
  // A longer line (without its "\n" or "\r\n") is an error naming it.
  size_t max_line_bytes = kDefaultMaxLineBytes;
};

// ns_per_unit for a `precision` value: n/ns, u/us/µ, ms, s, m, h. InvalidArgument otherwise.
absl::StatusOr<int64_t> InfluxPrecision(std::string_view precision);

// Appends one DecodedSeries per numeric or boolean field (true = 1, false = 0; string fields
// are skipped) to `out` (kind kLine, position = 1-based line). On a syntax error, or a line
// longer than options.max_line_bytes (1 MiB by default), returns InvalidArgument
// "line N, column C: <reason>".
absl::Status ParseInfluxLines(std::string_view body, const InfluxOptions& options,
                              DecodedBatch* out);

}  // namespace ember::ingest

#endif  // EMBER_INGEST_INFLUX_H_
