// The one way in for samples (docs/ingest.md). Every door — remote write 1.0 and 2.0, text
// exposition import, InfluxDB line protocol, the self-scrape — and the scraper hand their bytes
// or their decoded batch to an Ingester: decode (remote_write.h, text_format.h, influx.h) ->
// validate and write through WriteBatch (write_path.h: the whole request or nothing) -> keep the
// metric metadata the request carried -> count what was stored by door, what was refused by
// reason and which requests could not be decoded. The HTTP side (status codes, error shapes)
// stays with the doors in server/api/; the counters are exported by the server.
//
// Thread-safe: any number of doors may call at once.
#ifndef EMBER_INGEST_INGESTER_H_
#define EMBER_INGEST_INGESTER_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "ember/db.h"
#include "ingest/batch.h"
#include "ingest/influx.h"
#include "ingest/text_format.h"
#include "ingest/write_path.h"

namespace ember::ingest {

// The wire format of a request body.
enum class Format { kRemoteWriteV1, kRemoteWriteV2, kText, kInflux };

struct DecodeOptions {
  // Remote write: the limit on the decompressed body (ResourceExhausted past it).
  size_t max_decoded_bytes = 32 << 20;
  TextFormatOptions text;  // kText.
  InfluxOptions influx;    // kInflux.
};

// Counts since the Ingester was made. A door appears in a map with its first count.
struct IngestStats {
  std::map<std::string, int64_t> stored_by_door;        // Samples stored.
  std::map<std::string, int64_t> bad_requests_by_door;  // Requests that could not be decoded.
  int64_t refused_by_reason[4] = {0, 0, 0, 0};          // Indexed by RejectReason.
};

class Ingester {
 public:
  // Metric family -> the distinct (type, help, unit) seen for it.
  using MetadataMap = std::map<std::string, std::vector<MetricMetadata>>;

  // `db` must outlive the Ingester.
  explicit Ingester(Db* db);
  Ingester(const Ingester&) = delete;
  Ingester& operator=(const Ingester&) = delete;

  // Decodes `body` into `*batch`. A decode error is returned as the decoder gave it
  // (InvalidArgument; ResourceExhausted past max_decoded_bytes) and counted as a bad request
  // of `door`.
  absl::Status Decode(std::string_view door, Format format, std::string_view body,
                      const DecodeOptions& options, DecodedBatch* batch);

  // Counts a request of `door` refused before decoding (e.g. an unsupported Content-Type).
  void CountBadRequest(std::string_view door);

  // Remembers the batch's metadata, stores it and counts. OK when every sample was stored;
  // InvalidArgument naming the refused samples ("2 of 5 samples refused, the other 3 stored:
  // ...") when some were refused sample by sample and the rest stored; WriteBatch's error when
  // the batch was refused whole. `*stored` is set in the first two cases.
  absl::Status Ingest(std::string_view door, const DecodedBatch& batch, int64_t* stored);

  // The validate-and-write step alone (WriteBatch), for the scraper: it counts by job and
  // target itself and keeps no metadata, as before the facade.
  absl::StatusOr<WriteOutcome> Write(const DecodedBatch& batch, WriteOutcome* refused_whole);

  MetadataMap Metadata() const;
  IngestStats stats() const;

 private:
  void RememberMetadata(const std::vector<MetricMetadata>& metadata);

  Db* const db_;
  mutable absl::Mutex mu_;
  MetadataMap metadata_ ABSL_GUARDED_BY(mu_);
  IngestStats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ember::ingest

#endif  // EMBER_INGEST_INGESTER_H_
