// Records of the head's durability: a log record is one committed batch of samples (keyed by
// sequence number in the log family); a head record is one series' open chunk as of the last
// checkpoint (keyed by ref in the heads family). Byte layouts: docs/format/keys.md.
#ifndef EMBER_STORAGE_HEAD_LOG_H_
#define EMBER_STORAGE_HEAD_LOG_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace ember::storage {

struct LogSample {
  uint64_t ref = 0;
  int64_t t = 0;
  double v = 0;
};

// varint(count), then per sample: varint(ref) varsint(t - previous t) fixed64le(value bits).
std::string EncodeLogRecord(const std::vector<LogSample>& samples);
// DataLoss naming the offset when the record is damaged.
absl::Status DecodeLogRecord(std::string_view record, std::vector<LogSample>* samples);

struct HeadRecord {
  int64_t last_t = 0;             // Newest sample of the series.
  int64_t indexed_partition = 0;  // Newest partition whose postings list the series.
  std::string chunk;              // HeadChunk::Serialize(); empty when no open chunk.
};

std::string EncodeHeadRecord(const HeadRecord& r);
absl::Status DecodeHeadRecord(std::string_view bytes, HeadRecord* r);

}  // namespace ember::storage

#endif  // EMBER_STORAGE_HEAD_LOG_H_
