// Sealed chunk values: the on-disk encoding of up to ~120 samples of one series, stored under
// key `series ref | chunk start` in a partition's chunk column family. Byte layout:
// docs/format/chunk.md. Timestamps and values are kept in separate byte-aligned streams so
// RocksDB's zstd sees repeats across neighbouring series (a target's series share timestamps).
// Functions here are pure and thread-safe.
#ifndef EMBER_STORAGE_CHUNK_H_
#define EMBER_STORAGE_CHUNK_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ember/sample.h"

namespace ember::storage {

// ~30 min at a 15 s scrape: long enough for the streams to pay off, short enough that a 5m
// query decodes little it throws away. Prometheus uses 120 too, so bench/ figures compare.
constexpr int kMaxSamplesPerChunk = 120;

struct ChunkMeta {
  int64_t min_t = 0;
  int64_t max_t = 0;
  int num_samples = 0;
};

// REQUIRES: `samples` is non-empty with strictly increasing timestamps. Values round-trip
// bit-exactly (stale markers, every NaN payload, ±Inf, -0.0).
// REQUIRES: at most 65535 samples: DecodeChunk() treats a larger count as a damaged header, so
// garbage cannot make it allocate more than 1 MiB.
std::string EncodeChunk(std::span<const Sample> samples);

// Appends every sample of `chunk` to `*out`. DataLoss, naming the byte offset, when the chunk is
// truncated or corrupt (never a crash, whatever the bytes); `*out` is then left as it was.
absl::Status DecodeChunk(std::string_view chunk, std::vector<Sample>* out);

// The header alone, without decoding the streams. DataLoss when the header is damaged.
absl::StatusOr<ChunkMeta> ReadChunkMeta(std::string_view chunk);

}  // namespace ember::storage

#endif  // EMBER_STORAGE_CHUNK_H_
