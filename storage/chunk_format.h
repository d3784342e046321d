// Internal to storage/: the constants of the sealed chunk format (docs/format/chunk.md) that
// its encoder (chunk.cc) and decoder (chunk_decode.cc) share.
#ifndef EMBER_STORAGE_CHUNK_FORMAT_H_
#define EMBER_STORAGE_CHUNK_FORMAT_H_

#include <cstddef>
#include <cstdint>

namespace ember::storage::chunk_format {

// Stored in every chunk value's first byte. Append only; never renumber.
enum class ChunkEncoding : uint8_t {
  kSplitStreams = 1,  // Header, timestamp stream, value stream (docs/format/chunk.md).
};

// The value stream's first byte. Persisted: append only; never renumber.
enum class ValueMode : uint8_t {
  kConstant = 1,            // One raw 64-bit value, then exceptions.
  kScaledDelta = 2,         // Decimal exponent, zigzag varint deltas of m, then exceptions.
  kScaledDeltaOfDelta = 3,  // Decimal exponent, m0, first delta, delta-of-deltas, exceptions.
  kScaledDeltaRuns = 4,     // Decimal exponent, m0, delta tokens with zero runs, exceptions.
  kXor = 5,                 // Gorilla XOR bit stream, no exceptions.
};

// A decoder refuses headers claiming more samples, so garbage cannot make it allocate more
// than 65535 * sizeof(Sample) = 1 MiB. The head cuts chunks at kMaxSamplesPerChunk (120).
constexpr uint64_t kMaxChunkSamples = 65535;

// Values v = m / 10^k with k in [0, kMaxDecodeDecimals] are valid on disk; the encoder only
// tries k <= kMaxEncodeDecimals (beyond that the deltas of m rarely beat XOR). 10^15 < 2^53, so
// every power in the table is exact.
constexpr int kMaxEncodeDecimals = 9;
constexpr int kMaxDecodeDecimals = 15;
constexpr double kPow10[kMaxDecodeDecimals + 1] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                                   1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};

// At most this many exceptions (values stored raw beside a constant or scaled stream) per
// chunk; the encoder stops looking for a scaled form once a chunk has more than
// ExceptionBudget(n) of them. Each exception costs ~10 bytes, about what XOR spends on a
// value that shares nothing with its neighbour.
constexpr size_t kMaxExceptions = 32;

}  // namespace ember::storage::chunk_format

#endif  // EMBER_STORAGE_CHUNK_FORMAT_H_
