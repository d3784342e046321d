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

// Decodes a snappy-compressed (block format, not framed) 1.0 WriteRequest and appends its series
// to `out` (kind kTimeseries, position = index of the timeseries in the request) and its
// metadata to out->metadata (type lower-case: "counter", "gauge", ..., "unknown"). Labels are
// passed through as sent, including invalid UTF-8 (the write path rejects it by name). A
// timeseries without samples is skipped; exemplars are ignored. An empty body is an empty
// request. InvalidArgument, leaving `out` unspecified, for a corrupt or truncated snappy block,
// a decompressed size over 64 MiB (checked before allocating), an unparsable message, or a
// timeseries with native histograms (not supported), naming the timeseries where it can.
absl::Status DecodeRemoteWriteV1(std::string_view body, DecodedBatch* out);

// The same for a 2.0 Request: labels are resolved through the symbols table. InvalidArgument
// naming the timeseries for an odd-length labels_refs or an out-of-range reference, and for a
// first symbol that is not the empty string, as the spec requires, once anything refers into
// the table. A series' metadata goes to out->metadata under its __name__, the first seen for a
// name winning; metadata with every field unset, or on a series without __name__, is dropped.
absl::Status DecodeRemoteWriteV2(std::string_view body, DecodedBatch* out);

// Encodes `batch` as a snappy-compressed 1.0 WriteRequest or 2.0 Request, series in order
// (their `position` is not encoded), for tests, benchmarks and load generators. 2.0 attaches
// each metric's entry of batch.metadata to every series of that __name__.
std::string EncodeRemoteWriteV1(const DecodedBatch& batch);
std::string EncodeRemoteWriteV2(const DecodedBatch& batch);

}  // namespace ember::ingest

#endif  // EMBER_INGEST_REMOTE_WRITE_H_
