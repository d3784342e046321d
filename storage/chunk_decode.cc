// Sealed chunk decoder; the encoder is chunk.cc, the byte layout docs/format/chunk.md.
//
// Decoding checks every read against the end of the input and never allocates more than the
// samples it appends, whose count the header caps at kMaxChunkSamples.
#include <bit>
#include <cstring>

#include "absl/strings/str_format.h"
#include "storage/bit_reader.h"
#include "storage/chunk.h"
#include "storage/chunk_format.h"
#include "storage/xor_value.h"
#include "util/coding.h"

namespace ember::storage {
namespace {

using namespace chunk_format;  // NOLINT: the format's constants, internal to storage/.

// ---- Byte-level reading (writing is util/coding.h's). -----------------------------------

// A bounds-checked cursor over the chunk. `pos` only moves forward and never passes `end`.
struct Cursor {
  const uint8_t* begin;  // Of the whole chunk: offsets in messages count from here.
  const uint8_t* pos;
  const uint8_t* end;  // Of the part being read (a stream may end before the chunk).
  size_t chunk_size;

  size_t offset() const { return static_cast<size_t>(pos - begin); }
  size_t remaining() const { return static_cast<size_t>(end - pos); }

  bool GetVarint(uint64_t* v) {
    const uint8_t* next = GetVarint64Ptr(pos, end, v);
    if (next == nullptr) [[unlikely]] {
      pos += std::min<size_t>(remaining(), 10);  // Past what was read, for error offsets.
      return false;
    }
    pos = next;
    return true;
  }
  bool GetByte(uint8_t* b) {
    if (pos == end) return false;
    *b = *pos++;
    return true;
  }
  bool GetFixed64LE(uint64_t* v) {
    if (remaining() < 8) return false;
    std::memcpy(v, pos, 8);
    pos += 8;
    return true;
  }
};

absl::Status Corrupt(std::string_view what, size_t offset, size_t size) {
  return absl::DataLossError(absl::StrFormat("chunk: %s at byte %d of %d", what, offset, size));
}

// ---- Decoding. -----------------------------------------------------------------------------

struct Header {
  uint64_t num_samples = 0;
  int64_t min_t = 0;
  int64_t max_t = 0;
  uint64_t ts_len = 0;
};

// Parses the header; leaves `c` at the timestamp stream.
absl::Status ParseHeader(Cursor& c, Header* h) {
  const size_t size = c.chunk_size;
  uint8_t encoding;
  if (!c.GetByte(&encoding)) return Corrupt("empty chunk", 0, size);
  if (encoding != static_cast<uint8_t>(ChunkEncoding::kSplitStreams)) {
    return Corrupt(absl::StrFormat("unknown encoding %d", encoding), 0, size);
  }
  size_t at = c.offset();
  if (!c.GetVarint(&h->num_samples)) return Corrupt("truncated sample count", at, size);
  if (h->num_samples == 0 || h->num_samples > kMaxChunkSamples) {
    return Corrupt(
        absl::StrFormat("sample count %d outside [1, %d]", h->num_samples, kMaxChunkSamples), at,
        size);
  }
  at = c.offset();
  uint64_t u;
  if (!c.GetVarint(&u)) return Corrupt("truncated min_t", at, size);
  h->min_t = static_cast<int64_t>(ZigZagDecodeBits(u));
  at = c.offset();
  uint64_t span;
  if (!c.GetVarint(&span)) return Corrupt("truncated time span", at, size);
  const uint64_t max_t = static_cast<uint64_t>(h->min_t) + span;
  if ((span == 0) != (h->num_samples == 1) || static_cast<int64_t>(max_t) < h->min_t) {
    return Corrupt(absl::StrFormat("time span %d impossible for %d samples from t=%d", span,
                                   h->num_samples, h->min_t),
                   at, size);
  }
  h->max_t = static_cast<int64_t>(max_t);
  at = c.offset();
  if (!c.GetVarint(&h->ts_len)) return Corrupt("truncated timestamp stream length", at, size);
  // Each of the n-1 timestamps after the first takes at least one byte; the value stream at
  // least one more.
  if (h->ts_len < h->num_samples - 1 || h->ts_len >= c.remaining()) {
    return Corrupt(absl::StrFormat("timestamp stream length %d impossible for %d samples with "
                                   "%d bytes left",
                                   h->ts_len, h->num_samples, c.remaining()),
                   at, size);
  }
  return absl::OkStatus();
}

absl::Status DecodeTimestamps(Cursor c, const Header& h, Sample* o) {
  const size_t size = c.chunk_size;
  const size_t n = h.num_samples;
  uint64_t t = static_cast<uint64_t>(h.min_t);
  o[0].t = h.min_t;
  if (n >= 2) {
    uint64_t delta;
    size_t at = c.offset();
    if (!c.GetVarint(&delta)) return Corrupt("truncated first time delta", at, size);
    for (size_t i = 1;;) {
      const uint64_t next = t + delta;  // Modulo 2^64; checked for order below.
      if (static_cast<int64_t>(next) <= static_cast<int64_t>(t)) [[unlikely]] {
        return Corrupt(absl::StrFormat("timestamp %d not after %d", static_cast<int64_t>(next),
                                       static_cast<int64_t>(t)),
                       at, size);
      }
      t = next;
      o[i].t = static_cast<int64_t>(t);
      if (++i == n) break;
      at = c.offset();
      uint64_t u;
      if (!c.GetVarint(&u)) [[unlikely]] {
        return Corrupt("truncated timestamp stream", at, size);
      }
      delta += ZigZagDecodeBits(u);
    }
  }
  if (c.pos != c.end) return Corrupt("timestamp stream longer than its samples", c.offset(), size);
  if (static_cast<int64_t>(t) != h.max_t) {
    return Corrupt(absl::StrFormat("last timestamp %d differs from header max_t %d",
                                   static_cast<int64_t>(t), h.max_t),
                   c.offset(), size);
  }
  return absl::OkStatus();
}

absl::Status DecodeExceptions(Cursor& c, size_t n, Sample* o) {
  const size_t size = c.chunk_size;
  size_t at = c.offset();
  uint64_t count;
  if (!c.GetVarint(&count)) return Corrupt("truncated exception count", at, size);
  if (count > n) {
    return Corrupt(absl::StrFormat("%d exceptions for %d samples", count, n), at, size);
  }
  uint64_t next = 0;  // Smallest position the next exception may take.
  for (uint64_t e = 0; e < count; ++e) {
    at = c.offset();
    uint64_t gap, bits;
    if (!c.GetVarint(&gap) || !c.GetFixed64LE(&bits)) {
      return Corrupt("truncated exception", at, size);
    }
    if (gap >= n - next) {
      return Corrupt(absl::StrFormat("exception position %d past sample %d", next + gap, n - 1), at,
                     size);
    }
    o[next + gap].v = std::bit_cast<double>(bits);
    next += gap + 1;
  }
  return absl::OkStatus();
}

// Converts m to the sample's value; kDivide selects the k > 0 form at compile time so the
// integer loop carries no division.
template <bool kDivide>
inline double ToValue(uint64_t m, double scale) {
  const double d = static_cast<double>(static_cast<int64_t>(m));
  if constexpr (kDivide) {
    return d / scale;
  } else {
    return d;
  }
}

template <bool kDivide>
absl::Status DecodeScaledStream(Cursor& c, ValueMode mode, double scale, size_t n, Sample* o) {
  const size_t size = c.chunk_size;
  size_t at = c.offset();
  uint64_t u;
  if (!c.GetVarint(&u)) return Corrupt("truncated first value", at, size);
  uint64_t m = ZigZagDecodeBits(u);  // Two's complement; all arithmetic wraps like the encoder's.
  o[0].v = ToValue<kDivide>(m, scale);
  switch (mode) {
    case ValueMode::kScaledDelta:
      for (size_t i = 1; i < n; ++i) {
        if (!c.GetVarint(&u)) [[unlikely]] {
          return Corrupt("truncated value stream", c.offset(), size);
        }
        m += ZigZagDecodeBits(u);
        o[i].v = ToValue<kDivide>(m, scale);
      }
      break;
    case ValueMode::kScaledDeltaOfDelta: {
      uint64_t delta = 0;
      for (size_t i = 1; i < n; ++i) {
        if (!c.GetVarint(&u)) [[unlikely]] {
          return Corrupt("truncated value stream", c.offset(), size);
        }
        delta += ZigZagDecodeBits(u);
        m += delta;
        o[i].v = ToValue<kDivide>(m, scale);
      }
      break;
    }
    case ValueMode::kScaledDeltaRuns: {
      for (size_t i = 1; i < n;) {
        at = c.offset();
        if (!c.GetVarint(&u)) [[unlikely]] {
          return Corrupt("truncated value stream", at, size);
        }
        if (u & 1) {
          const uint64_t run = (u >> 1) + 2;
          if (run > n - i) {
            return Corrupt(absl::StrFormat("run of %d past sample %d", u >> 1, n - 1), at, size);
          }
          const double v = o[i - 1].v;
          for (const size_t stop = i + run; i < stop; ++i) o[i].v = v;
        } else {
          m += ZigZagDecodeBits(u >> 1);
          o[i].v = ToValue<kDivide>(m, scale);
          ++i;
        }
      }
      break;
    }
    default:
      return absl::InternalError("unreachable value mode");
  }
  return absl::OkStatus();
}

absl::Status DecodeXorStream(Cursor& c, size_t n, Sample* o) {
  const size_t size = c.chunk_size;
  const size_t start = c.offset();
  BitReader r(c.pos, c.end);
  auto fail = [&](std::string_view what) {
    return Corrupt(what, start + r.bit_offset() / 8, size);
  };
  uint64_t bits = r.ReadLong(64);
  o[0].v = std::bit_cast<double>(bits);
  XorWindowInts window;
  for (size_t i = 1; i < n; ++i) {
    if (const char* error = ReadXorValue(r, &bits, &window)) [[unlikely]] {
      return fail(error);
    }
    o[i].v = std::bit_cast<double>(bits);
    if (r.overrun()) [[unlikely]]
      return fail("truncated XOR stream");
  }
  if (r.overrun()) return fail("truncated XOR stream");
  if (!r.AtPaddedEnd()) return fail("XOR stream longer than its samples");
  c.pos = c.end;
  return absl::OkStatus();
}

absl::Status DecodeValues(Cursor c, size_t n, Sample* o) {
  const size_t size = c.chunk_size;
  uint8_t mode_byte;
  if (!c.GetByte(&mode_byte)) return Corrupt("missing value stream", c.offset(), size);
  const auto mode = static_cast<ValueMode>(mode_byte);
  switch (mode) {
    case ValueMode::kConstant: {
      uint64_t bits;
      if (!c.GetFixed64LE(&bits)) return Corrupt("truncated constant", c.offset(), size);
      const double v = std::bit_cast<double>(bits);
      for (size_t i = 0; i < n; ++i) o[i].v = v;
      absl::Status s = DecodeExceptions(c, n, o);
      if (!s.ok()) return s;
      break;
    }
    case ValueMode::kScaledDelta:
    case ValueMode::kScaledDeltaOfDelta:
    case ValueMode::kScaledDeltaRuns: {
      const size_t at = c.offset();
      uint8_t k;
      if (!c.GetByte(&k)) return Corrupt("truncated decimal exponent", at, size);
      if (k > kMaxDecodeDecimals) {
        return Corrupt(absl::StrFormat("decimal exponent %d > %d", k, kMaxDecodeDecimals), at,
                       size);
      }
      absl::Status s = k == 0 ? DecodeScaledStream<false>(c, mode, 1.0, n, o)
                              : DecodeScaledStream<true>(c, mode, kPow10[k], n, o);
      if (!s.ok()) return s;
      s = DecodeExceptions(c, n, o);
      if (!s.ok()) return s;
      break;
    }
    case ValueMode::kXor: {
      absl::Status s = DecodeXorStream(c, n, o);
      if (!s.ok()) return s;
      break;
    }
    default:
      return Corrupt(absl::StrFormat("unknown value mode %d", mode_byte), c.offset() - 1, size);
  }
  if (c.pos != c.end) return Corrupt("trailing bytes after the value stream", c.offset(), size);
  return absl::OkStatus();
}

}  // namespace

absl::Status DecodeChunk(std::string_view chunk, std::vector<Sample>* out) {
  const auto* begin = reinterpret_cast<const uint8_t*>(chunk.data());
  Cursor c{begin, begin, begin + chunk.size(), chunk.size()};
  Header h;
  absl::Status s = ParseHeader(c, &h);
  if (!s.ok()) return s;
  const size_t base = out->size();
  out->resize(base + h.num_samples);
  Sample* o = out->data() + base;
  s = DecodeTimestamps(Cursor{begin, c.pos, c.pos + h.ts_len, chunk.size()}, h, o);
  if (s.ok())
    s = DecodeValues(Cursor{begin, c.pos + h.ts_len, c.end, chunk.size()}, h.num_samples, o);
  if (!s.ok()) out->resize(base);
  return s;
}

absl::StatusOr<ChunkMeta> ReadChunkMeta(std::string_view chunk) {
  const auto* begin = reinterpret_cast<const uint8_t*>(chunk.data());
  Cursor c{begin, begin, begin + chunk.size(), chunk.size()};
  Header h;
  absl::Status s = ParseHeader(c, &h);
  if (!s.ok()) return s;
  ChunkMeta meta;
  meta.min_t = h.min_t;
  meta.max_t = h.max_t;
  meta.num_samples = static_cast<int>(h.num_samples);
  return meta;
}

}  // namespace ember::storage
