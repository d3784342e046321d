// The open chunk of a series in the head: an append-only, compact in-memory encoding
// (delta-of-delta timestamps, Gorilla XOR values) that costs a few bytes per sample, so a
// million active series fit in well under 1 KB each. When the chunk is cut, the head decodes it
// and writes the sealed form (chunk.h). Not thread-safe; the head guards it.
#ifndef EMBER_STORAGE_HEAD_CHUNK_H_
#define EMBER_STORAGE_HEAD_CHUNK_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ember/sample.h"
#include "storage/xor_value.h"

namespace ember::storage {

class HeadChunk {
 public:
  HeadChunk() = default;
  HeadChunk(HeadChunk&&) = default;
  HeadChunk& operator=(HeadChunk&&) = default;
  HeadChunk(const HeadChunk&) = delete;
  HeadChunk& operator=(const HeadChunk&) = delete;

  // REQUIRES: empty() or t > max_t().
  void Append(int64_t t, double v);

  bool empty() const { return num_samples_ == 0; }
  int num_samples() const { return num_samples_; }
  int64_t min_t() const { return min_t_; }
  int64_t max_t() const { return max_t_; }

  // Appends all samples, in order, to `*out`.
  absl::Status Decode(std::vector<Sample>* out) const;

  // The encoded samples, copied: cheap enough to take under a lock and decode after it.
  struct Bits {
    std::string buf;
    uint32_t num_samples = 0;
  };
  Bits CopyBits() const { return Bits{buf_, num_samples_}; }
  // Appends the samples of `bits` (from CopyBits) to `*out`, as Decode() would have.
  static absl::Status Decode(const Bits& bits, std::vector<Sample>* out);

  // A self-contained byte form for checkpoints; Restore() of it gives an equal chunk that
  // accepts further appends.
  std::string Serialize() const;
  static absl::StatusOr<HeadChunk> Restore(std::string_view bytes);

  // Bytes of heap memory held (not counting sizeof(HeadChunk)).
  size_t HeapBytes() const;

 private:
  // Makes room for one more sample's bits, growing buf_ by ~1.5x rather than std::string's 2x.
  void Reserve(size_t extra);

  // One bit stream, MSB first: sample 0 raw, then per sample a delta-of-delta timestamp and a
  // Gorilla XOR value (docs/format/chunk.md, "Head chunk"). The rest is the encoder state.
  std::string buf_;
  int64_t min_t_ = 0;
  int64_t max_t_ = 0;
  int64_t prev_delta_ = 0;  // Of timestamps, modulo 2^64.
  uint64_t prev_bits_ = 0;  // Of the last value.
  uint32_t num_samples_ = 0;
  uint8_t bit_pos_ = 0;  // Bits used in buf_'s last byte; 0 when it is full (or buf_ empty).
  XorWindow window_;
};

}  // namespace ember::storage

#endif  // EMBER_STORAGE_HEAD_CHUNK_H_
