// Prometheus remote write: snappy block compression around a protobuf WriteRequest (1.0,
// prometheus.WriteRequest) or Request (2.0, io.prometheus.write.v2.Request, with a symbols
// table). Message definitions: ingest/proto/.
#ifndef EMBER_INGEST_REMOTE_WRITE_H_
#define EMBER_INGEST_REMOTE_WRITE_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"

#include "ingest/batch.h"

namespace ember::ingest {

// Decodes a snappy-compressed 1.0 WriteRequest into `out` (kind kTimeseries, position = index of
// the timeseries). Labels are passed through as sent, including invalid UTF-8 (the write path
// rejects it by name). InvalidArgument with a precise reason for a corrupt or truncated snappy
// block or an unparsable message.
absl::Status DecodeRemoteWriteV1(std::string_view body, DecodedBatch* out);

// The same for a 2.0 Request: labels are resolved through the symbols table; an out-of-range
// symbol reference is InvalidArgument naming the timeseries. Native histograms are rejected
// (InvalidArgument), exemplars ignored.
absl::Status DecodeRemoteWriteV2(std::string_view body, DecodedBatch* out);

// Encodes `batch` as a snappy-compressed 1.0 WriteRequest (for tests, benchmarks and load
// generators).
std::string EncodeRemoteWriteV1(const DecodedBatch& batch);
std::string EncodeRemoteWriteV2(const DecodedBatch& batch);

}  // namespace ember::ingest

#endif  // EMBER_INGEST_REMOTE_WRITE_H_
