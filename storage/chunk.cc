// Sealed chunk codec. The byte layout and how a value mode is chosen: docs/format/chunk.md.
//
// Encoding works in a scratch buffer sized for the worst case (on the stack for chunks of up to
// kStackSamples samples) and copies the result into one exactly-sized string. Decoding checks
// every read against the end of the input and never allocates more than the samples it appends,
// whose count the header caps at kMaxChunkSamples.
#include "storage/chunk.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>
#include <cstring>
#include <memory>

#include "absl/strings/str_format.h"
#include "storage/bit_reader.h"

namespace ember::storage {
namespace {

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
size_t ExceptionBudget(size_t n) { return std::min(kMaxExceptions, 2 + n / 16); }

constexpr size_t kStackSamples = 128;

uint64_t Bits(double v) { return std::bit_cast<uint64_t>(v); }

// ---- Byte-level writing and reading. -------------------------------------------------------

int VarintLength(uint64_t v) { return (std::bit_width(v | 1) + 6) / 7; }

char* PutVarint(char* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
// Returns the two's complement bits of the decoded value: callers add them modulo 2^64.
uint64_t UnZigZag(uint64_t u) { return (u >> 1) ^ (0 - (u & 1)); }

char* PutFixed64LE(char* p, uint64_t v) {
  std::memcpy(p, &v, 8);  // x86-64 and aarch64 are little-endian.
  return p + 8;
}

// A bounds-checked cursor over the chunk. `pos` only moves forward and never passes `end`.
struct Cursor {
  const uint8_t* begin;  // Of the whole chunk: offsets in messages count from here.
  const uint8_t* pos;
  const uint8_t* end;  // Of the part being read (a stream may end before the chunk).
  size_t chunk_size;

  size_t offset() const { return static_cast<size_t>(pos - begin); }
  size_t remaining() const { return static_cast<size_t>(end - pos); }

  bool GetVarintSlow(uint64_t* v) {
    uint64_t result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos == end) return false;
      const uint64_t byte = *pos++;
      // The tenth byte may only carry the top bit of a 64-bit value.
      if (shift == 63 && byte > 1) return false;
      result |= (byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) {
        *v = result;
        return true;
      }
    }
    return false;
  }
  // One-byte varints (small deltas) are the common case: keep that path short.
  bool GetVarint(uint64_t* v) {
    if (pos != end && *pos < 0x80) [[likely]] {
      *v = *pos++;
      return true;
    }
    return GetVarintSlow(v);
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

// ---- Bit-level writing (the XOR mode; bit_reader.h reads it). Bits are packed MSB first. ---

class BitWriter {
 public:
  explicit BitWriter(char* p) : begin_(p), p_(p) {}

  // REQUIRES: 1 <= len <= 64 and v < 2^len.
  void Write(uint64_t v, int len) {
    const int free = 64 - used_;
    if (len < free) {
      acc_ = (acc_ << len) | v;
      used_ += len;
      return;
    }
    const int rest = len - free;  // Bits of v that go into the next word.
    const uint64_t word = (free == 64 ? 0 : acc_ << free) | (v >> rest);
    const uint64_t be = __builtin_bswap64(word);
    std::memcpy(p_, &be, 8);
    p_ += 8;
    acc_ = rest == 0 ? 0 : v & ((uint64_t{1} << rest) - 1);
    used_ = rest;
  }

  // Bytes the stream takes once flushed.
  size_t size() const { return static_cast<size_t>(p_ - begin_) + (used_ + 7) / 8; }

  // Writes the pending bits, zero-padded to a byte boundary; returns the stream's size.
  size_t Finish() {
    for (int shift = used_ - 8; shift > -8; shift -= 8) {
      *p_++ = static_cast<char>(shift >= 0 ? acc_ >> shift : acc_ << -shift);
    }
    used_ = 0;
    return static_cast<size_t>(p_ - begin_);
  }

 private:
  char* const begin_;
  char* p_;
  uint64_t acc_ = 0;
  int used_ = 0;  // Bits pending in acc_ (the low ones), < 64.
};

// ---- Value mode planning. ------------------------------------------------------------------

// Sets *m so that DecodeScaled(*m, k) reproduces v's bits, or returns false. The check runs the
// decoder's own arithmetic, so a value is only accepted when it round-trips bit-exactly.
inline double DecodeScaled(int64_t m, int k) {
  return k == 0 ? static_cast<double>(m) : static_cast<double>(m) / kPow10[k];
}
inline bool ScaleExactly(double v, int k, int64_t* m) {
  const double s = v * kPow10[k];                  // Exact for k == 0.
  if (!(std::fabs(s) < 0x1p53)) return false;      // NaN, ±Inf, or m not exact as a double.
  int64_t r = static_cast<int64_t>(s);             // Truncates; then round to nearest.
  const double frac = s - static_cast<double>(r);  // Exact: |s| < 2^53.
  r += (frac >= 0.5) - (frac <= -0.5);
  if (Bits(DecodeScaled(r, k)) != Bits(v)) return false;  // Catches -0.0 too.
  *m = r;
  return true;
}

struct ExceptionList {
  uint32_t pos[kMaxExceptions];
  size_t count = 0;

  // Bytes the list takes in the value stream.
  size_t EncodedSize() const {
    size_t size = VarintLength(count);
    uint32_t next = 0;
    for (size_t i = 0; i < count; ++i) {
      size += VarintLength(pos[i] - next) + 8;
      next = pos[i] + 1;
    }
    return size;
  }
  char* Put(char* p, std::span<const Sample> samples) const {
    p = PutVarint(p, count);
    uint32_t next = 0;
    for (size_t i = 0; i < count; ++i) {
      p = PutVarint(p, pos[i] - next);
      p = PutFixed64LE(p, Bits(samples[pos[i]].v));
      next = pos[i] + 1;
    }
    return p;
  }
};

struct ConstantPlan {
  bool ok = false;
  size_t size = 0;  // Of the whole value stream.
  ExceptionList exceptions;
};

ConstantPlan PlanConstant(std::span<const Sample> samples) {
  ConstantPlan plan;
  const uint64_t base = Bits(samples[0].v);
  const size_t budget = ExceptionBudget(samples.size());
  for (size_t i = 1; i < samples.size(); ++i) {
    if (Bits(samples[i].v) == base) continue;
    if (plan.exceptions.count == budget) return plan;
    plan.exceptions.pos[plan.exceptions.count++] = static_cast<uint32_t>(i);
  }
  plan.ok = true;
  plan.size = 1 + 8 + plan.exceptions.EncodedSize();
  return plan;
}

struct ScaledPlan {
  bool ok = false;
  int k = 0;
  ValueMode mode = ValueMode::kScaledDelta;
  size_t size = 0;  // Of the whole value stream, in the chosen mode.
  ExceptionList exceptions;
};

// Fills m[] (one per sample) with the scaled integers, exceptions replaced by the previous m so
// they cost a zero delta, and picks the cheapest of the three integer stream forms.
ScaledPlan PlanScaled(std::span<const Sample> samples, int64_t* m) {
  ScaledPlan plan;
  const size_t n = samples.size();
  const size_t budget = ExceptionBudget(n);
  ExceptionList& exc = plan.exceptions;
  int k = 0;
  bool rescale = false;  // Some m[] were computed at a smaller k than the final one.
  for (size_t i = 0; i < n; ++i) {
    const double v = samples[i].v;
    if (ScaleExactly(v, k, &m[i])) [[likely]] {
      continue;
    }
    int k2 = k + 1;
    while (k2 <= kMaxEncodeDecimals && !ScaleExactly(v, k2, &m[i])) ++k2;
    if (k2 <= kMaxEncodeDecimals) {
      rescale |= i > exc.count;  // A value before this one was scaled at the old k.
      k = k2;
      continue;
    }
    if (exc.count == budget) return plan;
    exc.pos[exc.count++] = static_cast<uint32_t>(i);
  }
  if (rescale) {
    exc.count = 0;
    for (size_t i = 0; i < n; ++i) {
      if (ScaleExactly(samples[i].v, k, &m[i])) continue;
      if (exc.count == budget) return plan;
      exc.pos[exc.count++] = static_cast<uint32_t>(i);
    }
  }
  // Exceptions repeat the previous m (a leading one the first regular m), so their placeholder
  // is a zero delta.
  if (exc.count > 0) {
    size_t e = 0;
    int64_t prev = 0;
    if (exc.pos[0] == 0) {
      size_t first = 0;
      for (size_t j = 0; j < exc.count && exc.pos[j] == first; ++j) ++first;
      prev = first < n ? m[first] : 0;
    }
    for (size_t i = 0; i < n; ++i) {
      if (e < exc.count && exc.pos[e] == i) {
        m[i] = prev;
        ++e;
      }
      prev = m[i];
    }
  }

  // Sizes of the three stream forms, in one pass.
  size_t delta_size = VarintLength(ZigZag(m[0]));
  size_t dod_size = delta_size;
  size_t runs_size = delta_size;
  int64_t prev_delta = 0;
  size_t run = 0;  // Pending zero deltas.
  auto run_cost = [](size_t r) -> size_t {
    return r == 0 ? 0 : r == 1 ? 1 : VarintLength(((r - 2) << 1) | 1);
  };
  for (size_t i = 1; i < n; ++i) {
    const int64_t d = m[i] - m[i - 1];
    const uint64_t zd = ZigZag(d);
    delta_size += VarintLength(zd);
    dod_size += VarintLength(ZigZag(d - prev_delta));
    prev_delta = d;
    if (d == 0) {
      ++run;
    } else {
      runs_size += run_cost(run) + VarintLength(zd << 1);
      run = 0;
    }
  }
  runs_size += run_cost(run);

  plan.ok = true;
  plan.k = k;
  size_t best = delta_size;
  if (runs_size < best) {
    best = runs_size;
    plan.mode = ValueMode::kScaledDeltaRuns;
  }
  if (dod_size < best) {
    best = dod_size;
    plan.mode = ValueMode::kScaledDeltaOfDelta;
  }
  plan.size = 2 + best + exc.EncodedSize();
  return plan;
}

// ---- Value stream writers. -----------------------------------------------------------------

char* PutScaled(const ScaledPlan& plan, std::span<const Sample> samples, const int64_t* m,
                char* p) {
  const size_t n = samples.size();
  *p++ = static_cast<char>(plan.mode);
  *p++ = static_cast<char>(plan.k);
  p = PutVarint(p, ZigZag(m[0]));
  switch (plan.mode) {
    case ValueMode::kScaledDelta:
      for (size_t i = 1; i < n; ++i) p = PutVarint(p, ZigZag(m[i] - m[i - 1]));
      break;
    case ValueMode::kScaledDeltaOfDelta: {
      int64_t prev_delta = 0;
      for (size_t i = 1; i < n; ++i) {
        const int64_t d = m[i] - m[i - 1];
        p = PutVarint(p, ZigZag(d - prev_delta));
        prev_delta = d;
      }
      break;
    }
    case ValueMode::kScaledDeltaRuns: {
      uint64_t run = 0;
      auto flush = [&] {
        if (run == 1) {
          *p++ = 0;
        } else if (run >= 2) {
          p = PutVarint(p, ((run - 2) << 1) | 1);
        }
        run = 0;
      };
      for (size_t i = 1; i < n; ++i) {
        const int64_t d = m[i] - m[i - 1];
        if (d == 0) {
          ++run;
        } else {
          flush();
          p = PutVarint(p, ZigZag(d) << 1);
        }
      }
      flush();
      break;
    }
    default:
      assert(false);
  }
  return plan.exceptions.Put(p, samples);
}

// Gorilla XOR: the first value raw, then per value '0' (same bits), '10' + the XOR's meaningful
// bits inside the previous window, or '11' + 5 bits of leading zeros + 6 bits of length (64 as
// 0) + the meaningful bits. Returns the stream's size, or 0 as soon as it reaches `budget`
// bytes (a cheaper form exists).
size_t PutXor(std::span<const Sample> samples, char* out, size_t budget) {
  out[0] = static_cast<char>(ValueMode::kXor);
  BitWriter w(out + 1);
  uint64_t prev = Bits(samples[0].v);
  w.Write(prev, 64);
  int prev_lead = 0xff;  // No window yet.
  int prev_trail = 0;
  const size_t n = samples.size();
  for (size_t i = 1; i < n; ++i) {
    const uint64_t cur = Bits(samples[i].v);
    const uint64_t x = cur ^ prev;
    prev = cur;
    if (x == 0) {
      w.Write(0, 1);
      continue;
    }
    int lead = std::countl_zero(x);
    const int trail = std::countr_zero(x);
    if (lead > 31) lead = 31;
    if (lead >= prev_lead && trail >= prev_trail) {
      const int sig = 64 - prev_lead - prev_trail;
      w.Write(0b10, 2);
      w.Write(x >> prev_trail, sig);
    } else {
      const int sig = 64 - lead - trail;
      w.Write((0b11 << 11) | (lead << 6) | (sig & 63), 13);
      w.Write(x >> trail, sig);
      prev_lead = lead;
      prev_trail = trail;
    }
    if (1 + w.size() >= budget) return 0;
  }
  const size_t size = 1 + w.Finish();
  return size < budget ? size : 0;
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
  h->min_t = static_cast<int64_t>(UnZigZag(u));
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
      delta += UnZigZag(u);
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
  uint64_t m = UnZigZag(u);  // Two's complement; all arithmetic wraps like the encoder's.
  o[0].v = ToValue<kDivide>(m, scale);
  switch (mode) {
    case ValueMode::kScaledDelta:
      for (size_t i = 1; i < n; ++i) {
        if (!c.GetVarint(&u)) [[unlikely]] {
          return Corrupt("truncated value stream", c.offset(), size);
        }
        m += UnZigZag(u);
        o[i].v = ToValue<kDivide>(m, scale);
      }
      break;
    case ValueMode::kScaledDeltaOfDelta: {
      uint64_t delta = 0;
      for (size_t i = 1; i < n; ++i) {
        if (!c.GetVarint(&u)) [[unlikely]] {
          return Corrupt("truncated value stream", c.offset(), size);
        }
        delta += UnZigZag(u);
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
          m += UnZigZag(u >> 1);
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
  int lead = -1;  // No window yet.
  int sig = 0;
  int trail = 0;
  for (size_t i = 1; i < n; ++i) {
    if (r.Read(1) != 0) {
      if (r.Read(1) != 0) {
        lead = static_cast<int>(r.Read(5));
        sig = static_cast<int>(r.Read(6));
        if (sig == 0) sig = 64;
        if (lead + sig > 64) return fail("XOR window past 64 bits");
        trail = 64 - lead - sig;
      } else if (lead < 0) {
        return fail("XOR reuses a window before the first one");
      }
      bits ^= r.ReadLong(sig) << trail;
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

std::string EncodeChunk(std::span<const Sample> samples) {
  const size_t n = samples.size();
  assert(n >= 1 && n <= kMaxChunkSamples);

  // Scratch: the timestamp stream (<= 10 bytes a sample), the scaled integers, and the value
  // stream (XOR's worst case is 77 bits a sample; a scaled stream's 10 bytes a sample plus the
  // exceptions).
  const size_t ts_cap = 10 * n;
  const size_t values_cap = 16 + 10 * n + 18 * kMaxExceptions;
  char stack_bytes[10 * kStackSamples + 16 + 10 * kStackSamples + 18 * kMaxExceptions];
  int64_t stack_m[kStackSamples];
  std::unique_ptr<char[]> heap_bytes;
  std::unique_ptr<int64_t[]> heap_m;
  char* ts = stack_bytes;
  int64_t* m = stack_m;
  if (n > kStackSamples) {
    heap_bytes = std::make_unique_for_overwrite<char[]>(ts_cap + values_cap);
    heap_m = std::make_unique_for_overwrite<int64_t[]>(n);
    ts = heap_bytes.get();
    m = heap_m.get();
  }
  char* const values = ts + ts_cap;

  // Timestamp stream: first delta, then zigzag delta-of-deltas, all modulo 2^64 so extreme
  // timestamps (INT64_MIN+1 then INT64_MAX) cannot overflow.
  char* p = ts;
  if (n >= 2) {
    uint64_t prev_t = static_cast<uint64_t>(samples[1].t);
    uint64_t delta = prev_t - static_cast<uint64_t>(samples[0].t);
    p = PutVarint(p, delta);
    for (size_t i = 2; i < n; ++i) {
      assert(samples[i].t > samples[i - 1].t);
      const uint64_t t = static_cast<uint64_t>(samples[i].t);
      const uint64_t d = t - prev_t;
      p = PutVarint(p, ZigZag(static_cast<int64_t>(d - delta)));
      delta = d;
      prev_t = t;
    }
  }
  const size_t ts_len = static_cast<size_t>(p - ts);

  // Value stream: the smallest of constant, scaled and XOR.
  const ConstantPlan constant = PlanConstant(samples);
  const ScaledPlan scaled = PlanScaled(samples, m);
  size_t best = SIZE_MAX;
  if (constant.ok) best = constant.size;
  if (scaled.ok) best = std::min(best, scaled.size);
  // XOR needs 1 + 8 bytes and a bit per further sample at least; only try it when that could
  // win.
  size_t values_len = 0;
  if (best > 9 + (n - 1 + 7) / 8) values_len = PutXor(samples, values, best);
  if (values_len == 0) {
    if (constant.ok && (!scaled.ok || constant.size <= scaled.size)) {
      char* q = values;
      *q++ = static_cast<char>(ValueMode::kConstant);
      q = PutFixed64LE(q, Bits(samples[0].v));
      q = constant.exceptions.Put(q, samples);
      values_len = static_cast<size_t>(q - values);
    } else {
      values_len = static_cast<size_t>(PutScaled(scaled, samples, m, values) - values);
    }
  }

  char header[1 + 3 + 10 + 10 + 3];
  char* h = header;
  *h++ = static_cast<char>(ChunkEncoding::kSplitStreams);
  h = PutVarint(h, n);
  h = PutVarint(h, ZigZag(samples[0].t));
  h = PutVarint(h, static_cast<uint64_t>(samples[n - 1].t) - static_cast<uint64_t>(samples[0].t));
  h = PutVarint(h, ts_len);
  const size_t header_len = static_cast<size_t>(h - header);

  std::string out;
  out.reserve(header_len + ts_len + values_len);
  out.append(header, header_len);
  out.append(ts, ts_len);
  out.append(values, values_len);
  return out;
}

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
