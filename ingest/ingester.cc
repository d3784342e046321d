#include "ingest/ingester.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ingest/remote_write.h"

namespace ember::ingest {

Ingester::Ingester(Db* db) : db_(db) {}

absl::Status Ingester::Decode(std::string_view door, Format format, std::string_view body,
                              const DecodeOptions& options, DecodedBatch* batch) {
  absl::Status s;
  switch (format) {
    case Format::kRemoteWriteV1:
      s = DecodeRemoteWriteV1(body, options.max_decoded_bytes, batch);
      break;
    case Format::kRemoteWriteV2:
      s = DecodeRemoteWriteV2(body, options.max_decoded_bytes, batch);
      break;
    case Format::kText:
      s = ParseTextFormat(body, options.text, batch);
      break;
    case Format::kInflux:
      s = ParseInfluxLines(body, options.influx, batch);
      break;
  }
  if (!s.ok()) CountBadRequest(door);
  return s;
}

void Ingester::CountBadRequest(std::string_view door) {
  absl::MutexLock lock(&mu_);
  ++stats_.bad_requests_by_door[std::string(door)];
}

void Ingester::RememberMetadata(const std::vector<MetricMetadata>& metadata) {
  if (metadata.empty()) return;
  absl::MutexLock lock(&mu_);
  for (const MetricMetadata& m : metadata) {
    std::vector<MetricMetadata>& list = metadata_[m.metric];
    const bool known = std::any_of(list.begin(), list.end(), [&m](const MetricMetadata& x) {
      return x.type == m.type && x.help == m.help && x.unit == m.unit;
    });
    if (!known) list.push_back(m);
  }
}

absl::StatusOr<WriteOutcome> Ingester::Write(const DecodedBatch& batch,
                                             WriteOutcome* refused_whole) {
  return WriteBatch(db_, batch, refused_whole);
}

absl::Status Ingester::Ingest(std::string_view door, const DecodedBatch& batch, int64_t* stored) {
  RememberMetadata(batch.metadata);
  WriteOutcome refused_whole;
  absl::StatusOr<WriteOutcome> out = WriteBatch(db_, batch, &refused_whole);
  const WriteOutcome& counts = out.ok() ? *out : refused_whole;
  {
    absl::MutexLock lock(&mu_);
    for (int r = 0; r < 4; ++r) stats_.refused_by_reason[r] += counts.refused_by_reason[r];
    if (out.ok()) stats_.stored_by_door[std::string(door)] += out->samples_stored;
  }
  if (!out.ok()) return out.status();
  *stored = out->samples_stored;
  if (out->samples_refused > 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        out->samples_refused, " of ", out->samples_refused + out->samples_stored,
        " samples refused, the other ", out->samples_stored,
        " stored: ", absl::StrJoin(out->errors, "; "),
        out->samples_refused > static_cast<int64_t>(out->errors.size()) ? "; ..." : ""));
  }
  return absl::OkStatus();
}

Ingester::MetadataMap Ingester::Metadata() const {
  absl::MutexLock lock(&mu_);
  return metadata_;
}

IngestStats Ingester::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

}  // namespace ember::ingest
