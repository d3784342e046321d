// Prometheus remote write: snappy block compression around a protobuf WriteRequest (1.0,
// prometheus.WriteRequest) or Request (2.0, io.prometheus.write.v2.Request, with a symbols
// table). Message definitions: ingest/proto/.
#ifndef EMBER_INGEST_REMOTE_WRITE_H_
#define EMBER_INGEST_REMOTE_WRITE_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "ingest/batch.h"

namespace ember::ingest {

// Default cap on a request's decompressed size: see DecodeRemoteWriteV1. Prometheus's default
// batches (max_samples_per_send = 2000) decompress to well under 1 MiB and large agents send a
// few MiB, so 64 MiB leaves wide headroom; `ember serve` passes its (smaller) body limit.
inline constexpr size_t kDefaultMaxDecodedBytes = size_t{64} << 20;

// Decodes a snappy-compressed (block format, not framed) 1.0 WriteRequest and appends its series
// to `out` (kind kTimeseries, position = index of the timeseries in the request) and its
// metadata to out->metadata (type lower-case: "counter", "gauge", ..., "unknown"). Labels are
// passed through as sent, including invalid UTF-8 and a missing __name__ (the write path
// rejects both by name). A timeseries without samples is skipped; exemplars are ignored.
// Errors, leaving `out` unspecified:
// - ResourceExhausted when the block declares a decompressed size over `max_decoded_bytes`
//   (checked against snappy's length header, before anything is allocated);
// - InvalidArgument for an empty body (not a snappy block: an empty request compresses to the
//   one byte "\x00"), a corrupt or truncated block, an unparsable message, or a timeseries with
//   native histograms (not supported), naming the timeseries where it can.
absl::Status DecodeRemoteWriteV1(std::string_view body, size_t max_decoded_bytes,
                                 DecodedBatch* out);
// With max_decoded_bytes = kDefaultMaxDecodedBytes. (An overload, not a default argument, so that
// a pointer to it keeps the two-argument type that tests and benchmarks take.)
absl::Status DecodeRemoteWriteV1(std::string_view body, DecodedBatch* out);

// The same for a 2.0 Request: labels are resolved through the symbols table. InvalidArgument
// naming the timeseries for an odd-length labels_refs or an out-of-range reference, and for a
// first symbol that is not the empty string, as the spec requires, once anything refers into
// the table. A series' metadata goes to out->metadata under its __name__, the first seen for a
// name winning; metadata with every field unset, or on a series without __name__, is dropped.
absl::Status DecodeRemoteWriteV2(std::string_view body, size_t max_decoded_bytes,
                                 DecodedBatch* out);
absl::Status DecodeRemoteWriteV2(std::string_view body, DecodedBatch* out);

// Encodes `batch` as a snappy-compressed 1.0 WriteRequest or 2.0 Request, series in order
// (their `position` is not encoded), for tests, benchmarks and load generators. 2.0 attaches
// each metric's entry of batch.metadata to every series of that __name__.
std::string EncodeRemoteWriteV1(const DecodedBatch& batch);
std::string EncodeRemoteWriteV2(const DecodedBatch& batch);

}  // namespace ember::ingest

#endif  // EMBER_INGEST_REMOTE_WRITE_H_
