// The head's open chunk: one append-only bit stream. Layout: docs/format/chunk.md, "Head chunk".
//
// Timestamp delta-of-deltas use buckets sized for scrape jitter (a few ms fit the 9-bit one, a
// missed scrape the 20-bit one); values are Gorilla XOR, as in Prometheus's XOR chunk.
#include "storage/head_chunk.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstring>

#include "absl/strings/str_format.h"
#include "storage/bit_reader.h"
#include "storage/chunk.h"
#include "storage/xor_value.h"
#include "util/coding.h"

namespace ember::storage {
namespace {

// Serialize()'s first byte. Persisted in checkpoints: append only; never renumber.
enum class HeadChunkFormat : uint8_t { kBitStream = 1 };

// The most bits one sample takes after the first: a 68-bit timestamp and a 77-bit value.
constexpr size_t kMaxSampleBytes = (68 + 77 + 7) / 8 + 1;
// The first heap allocation: about 8 samples of a typical series.
constexpr size_t kFirstCapacity = 32;
const size_t kInlineCapacity = std::string().capacity();  // No heap below this.

// Delta-of-delta buckets: '0' for 0, then '10', '110', '1110' + that many signed bits, and
// '1111' + the 64 raw bits.
struct Bucket {
  uint64_t prefix;
  int prefix_len;
  int value_bits;
};
constexpr Bucket kBuckets[] = {{0b10, 2, 7}, {0b110, 3, 17}, {0b1110, 4, 24}};

bool FitsSigned(int64_t v, int bits) {
  const int64_t limit = int64_t{1} << (bits - 1);
  return v >= -limit && v < limit;
}

absl::Status Corrupt(std::string_view what, size_t offset) {
  return absl::DataLossError(absl::StrFormat("head chunk: %s at byte %d", what, offset));
}

// Where the encoder stands after the stream's last sample.
struct StreamEnd {
  int64_t max_t = 0;
  uint64_t delta = 0;
  uint64_t bits = 0;
  XorWindow window;
  size_t bit_offset = 0;
};

// Decodes `n` samples from `buf`, passing each to `sink`. DataLoss when the stream is short,
// its timestamps do not increase, or bytes (or nonzero padding bits) follow the last sample.
template <typename Sink>
absl::Status DecodeStream(std::string_view buf, uint64_t n, Sink&& sink, StreamEnd* end) {
  const auto* begin = reinterpret_cast<const uint8_t*>(buf.data());
  BitReader r(begin, begin + buf.size());
  auto fail = [&](std::string_view what) { return Corrupt(what, r.bit_offset() / 8); };
  if (n == 0) {
    if (!buf.empty()) return fail("bytes in an empty chunk");
    return absl::OkStatus();
  }
  uint64_t t = r.ReadLong(64);
  uint64_t bits = r.ReadLong(64);
  if (r.overrun()) return fail("truncated first sample");
  sink(Sample{static_cast<int64_t>(t), std::bit_cast<double>(bits)});
  uint64_t delta = 0;
  XorWindowInts window;
  for (uint64_t i = 1; i < n; ++i) {
    uint64_t dod = 0;
    if (r.Read(1) != 0) {
      int b = 0;
      while (b < 3 && r.Read(1) != 0) ++b;
      if (b == 3) {
        dod = r.ReadLong(64);
      } else {
        const int width = kBuckets[b].value_bits;
        const uint64_t raw = r.Read(width);
        dod = raw - ((raw >> (width - 1)) << width);  // Sign-extends.
      }
    }
    delta += dod;
    const uint64_t next = t + delta;
    if (static_cast<int64_t>(next) <= static_cast<int64_t>(t)) {
      return fail(absl::StrFormat("timestamp %d not after %d", static_cast<int64_t>(next),
                                  static_cast<int64_t>(t)));
    }
    t = next;
    if (const char* error = ReadXorValue(r, &bits, &window)) return fail(error);
    if (r.overrun()) return fail("truncated sample");
    sink(Sample{static_cast<int64_t>(t), std::bit_cast<double>(bits)});
  }
  if (!r.AtPaddedEnd()) return fail("bytes after the last sample");
  end->max_t = static_cast<int64_t>(t);
  end->delta = delta;
  end->bits = bits;
  end->window.lead = static_cast<uint8_t>(window.lead);
  end->window.trail = static_cast<uint8_t>(window.trail);
  end->bit_offset = r.bit_offset();
  return absl::OkStatus();
}

}  // namespace

void HeadChunk::Reserve(size_t extra) {
  const size_t size = buf_.size();
  const size_t need = size + extra;
  if (need <= buf_.capacity()) return;
  size_t cap = buf_.capacity() + buf_.capacity() / 2;
  // Most chunks are cut at kMaxSamplesPerChunk: once a few samples show what one costs, size the
  // buffer for the rest of the chunk (plus 1/16), so a full chunk wastes little. Sample 0 takes
  // 16 bytes; the projection is capped at twice the current size.
  if (num_samples_ >= 4 && num_samples_ < kMaxSamplesPerChunk) {
    const size_t left = kMaxSamplesPerChunk - num_samples_;
    const size_t projected = size + (size - 16) * left / (num_samples_ - 1);
    cap = std::min(projected + projected / 16 + kMaxSampleBytes, 2 * size);
  }
  // std::string::reserve() at least doubles; a fresh string takes the exact size asked for.
  std::string grown;
  grown.reserve(std::max({need, kFirstCapacity, cap}));
  grown.append(buf_);
  buf_.swap(grown);
}

void HeadChunk::Append(int64_t t, double v) {
  assert(num_samples_ == 0 || t > max_t_);
  assert(num_samples_ < UINT32_MAX);
  const uint64_t bits = std::bit_cast<uint64_t>(v);
  Reserve(num_samples_ == 0 ? 16 : kMaxSampleBytes);
  // The sample's bits go to a scratch buffer, after those of the stream's partly used last
  // byte, and are then appended in place of that byte.
  char scratch[kMaxSampleBytes + 8];
  BitWriter w(scratch, bit_pos_ == 0 ? 0 : static_cast<uint8_t>(buf_.back()), bit_pos_);
  if (bit_pos_ != 0) buf_.pop_back();
  if (num_samples_ == 0) {
    w.Write(static_cast<uint64_t>(t), 64);
    w.Write(bits, 64);
    min_t_ = max_t_ = t;
    prev_delta_ = 0;
    prev_bits_ = bits;
    window_ = XorWindow();
    num_samples_ = 1;
    buf_.append(scratch, w.Finish());
    return;
  }

  // Modulo 2^64, so INT64_MIN+1 followed by INT64_MAX cannot overflow.
  const uint64_t delta = static_cast<uint64_t>(t) - static_cast<uint64_t>(max_t_);
  const int64_t dod = static_cast<int64_t>(delta - static_cast<uint64_t>(prev_delta_));
  if (dod == 0) {
    w.Write(0, 1);
  } else {
    int b = 0;
    while (b < 3 && !FitsSigned(dod, kBuckets[b].value_bits)) ++b;
    if (b < 3) {
      const Bucket& k = kBuckets[b];
      const uint64_t value = static_cast<uint64_t>(dod) & ((uint64_t{1} << k.value_bits) - 1);
      w.Write((k.prefix << k.value_bits) | value, k.prefix_len + k.value_bits);
    } else {
      w.Write(0b1111, 4);
      w.Write(static_cast<uint64_t>(dod), 64);
    }
  }
  prev_delta_ = static_cast<int64_t>(delta);
  max_t_ = t;

  WriteXorValue(w, prev_bits_, bits, &window_);
  prev_bits_ = bits;
  ++num_samples_;
  bit_pos_ = static_cast<uint8_t>(w.tail_bits());
  buf_.append(scratch, w.Finish());
}

absl::Status HeadChunk::Decode(std::vector<Sample>* out) const {
  return Decode(Bits{buf_, num_samples_}, out);
}

absl::Status HeadChunk::Decode(const Bits& bits, std::vector<Sample>* out) {
  const size_t base = out->size();
  out->reserve(base + bits.num_samples);
  StreamEnd end;
  absl::Status s = DecodeStream(
      bits.buf, bits.num_samples, [out](const Sample& sample) { out->push_back(sample); }, &end);
  if (!s.ok()) out->resize(base);
  return s;
}

std::string HeadChunk::Serialize() const {
  std::string out;
  out.reserve(1 + 5 + 5 + buf_.size());
  out.push_back(static_cast<char>(HeadChunkFormat::kBitStream));
  char varints[10];
  char* p = EncodeVarint64(varints, num_samples_);
  p = EncodeVarint64(p, buf_.size());
  out.append(varints, p);
  out.append(buf_);
  return out;
}

absl::StatusOr<HeadChunk> HeadChunk::Restore(std::string_view bytes) {
  const size_t size = bytes.size();
  std::string_view in = bytes;
  auto fail = [&](std::string_view what) {
    return absl::DataLossError(absl::StrFormat("head chunk checkpoint: %s at byte %d of %d", what,
                                               size - in.size(), size));
  };
  if (in.empty() ||
      static_cast<uint8_t>(in[0]) != static_cast<uint8_t>(HeadChunkFormat::kBitStream)) {
    return fail("unknown format");
  }
  in.remove_prefix(1);
  uint64_t v[2];
  for (uint64_t& x : v) {
    if (!GetVarint64(&in, &x)) return fail("truncated header");
  }
  const uint64_t n = v[0];
  const uint64_t len = v[1];
  if (len != in.size()) {
    return fail(absl::StrFormat("stream length %d, %d bytes left", len, in.size()));
  }
  // Every sample after the first takes at least 2 bits.
  if (n > UINT32_MAX || (n > 0 && (len < 16 || (n - 1) > (len - 16) * 4))) {
    return fail(absl::StrFormat("%d samples cannot fit %d bytes", n, len));
  }
  HeadChunk chunk;
  bool first = true;
  StreamEnd end;
  absl::Status s = DecodeStream(
      in, n,
      [&](const Sample& sample) {
        if (first) chunk.min_t_ = sample.t;
        first = false;
      },
      &end);
  if (!s.ok()) {
    return absl::DataLossError(absl::StrFormat("head chunk checkpoint: stream at byte %d: %s",
                                               size - in.size(), s.message()));
  }
  if (n > 0) {
    chunk.Reserve(in.size());
    chunk.buf_.assign(in.data(), in.size());
    chunk.max_t_ = end.max_t;
    chunk.prev_delta_ = static_cast<int64_t>(end.delta);
    chunk.prev_bits_ = end.bits;
    chunk.window_ = end.window;
    chunk.bit_pos_ = static_cast<uint8_t>(end.bit_offset % 8);
    chunk.num_samples_ = static_cast<uint32_t>(n);
  }
  return chunk;
}

size_t HeadChunk::HeapBytes() const {
  return buf_.capacity() > kInlineCapacity ? buf_.capacity() + 1 : 0;
}

}  // namespace ember::storage
