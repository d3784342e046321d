// Sealed chunk encoder. The byte layout and how a value mode is chosen: docs/format/chunk.md;
// the decoder is chunk_decode.cc.
//
// Encoding works in a scratch buffer sized for the worst case (on the stack for chunks of up to
// kStackSamples samples) and copies the result into one exactly-sized string.
#include "storage/chunk.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>
#include <cstring>
#include <memory>

#include "storage/bit_writer.h"
#include "storage/chunk_format.h"
#include "storage/xor_value.h"
#include "util/coding.h"

namespace ember::storage {
namespace {

using namespace chunk_format;  // NOLINT: the format's constants, internal to storage/.

// See kMaxExceptions.
size_t ExceptionBudget(size_t n) { return std::min(kMaxExceptions, 2 + n / 16); }

constexpr size_t kStackSamples = 128;

uint64_t Bits(double v) { return std::bit_cast<uint64_t>(v); }

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
    p = EncodeVarint64(p, count);
    uint32_t next = 0;
    for (size_t i = 0; i < count; ++i) {
      p = EncodeVarint64(p, pos[i] - next);
      p = EncodeFixed64LE(p, Bits(samples[pos[i]].v));
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
  size_t delta_size = VarintLength(ZigZagEncode(m[0]));
  size_t dod_size = delta_size;
  size_t runs_size = delta_size;
  int64_t prev_delta = 0;
  size_t run = 0;  // Pending zero deltas.
  auto run_cost = [](size_t r) -> size_t {
    return r == 0 ? 0 : r == 1 ? 1 : VarintLength(((r - 2) << 1) | 1);
  };
  for (size_t i = 1; i < n; ++i) {
    const int64_t d = m[i] - m[i - 1];
    const uint64_t zd = ZigZagEncode(d);
    delta_size += VarintLength(zd);
    dod_size += VarintLength(ZigZagEncode(d - prev_delta));
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
  p = EncodeVarint64(p, ZigZagEncode(m[0]));
  switch (plan.mode) {
    case ValueMode::kScaledDelta:
      for (size_t i = 1; i < n; ++i) p = EncodeVarint64(p, ZigZagEncode(m[i] - m[i - 1]));
      break;
    case ValueMode::kScaledDeltaOfDelta: {
      int64_t prev_delta = 0;
      for (size_t i = 1; i < n; ++i) {
        const int64_t d = m[i] - m[i - 1];
        p = EncodeVarint64(p, ZigZagEncode(d - prev_delta));
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
          p = EncodeVarint64(p, ((run - 2) << 1) | 1);
        }
        run = 0;
      };
      for (size_t i = 1; i < n; ++i) {
        const int64_t d = m[i] - m[i - 1];
        if (d == 0) {
          ++run;
        } else {
          flush();
          p = EncodeVarint64(p, ZigZagEncode(d) << 1);
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

// Gorilla XOR (xor_value.h): the first value raw, then each value against the previous one.
// Returns the stream's size, or 0 as soon as it reaches `budget` bytes (a cheaper form exists).
size_t PutXor(std::span<const Sample> samples, char* out, size_t budget) {
  out[0] = static_cast<char>(ValueMode::kXor);
  BitWriter w(out + 1);
  uint64_t prev = Bits(samples[0].v);
  w.Write(prev, 64);
  XorWindowInts window;
  const size_t n = samples.size();
  for (size_t i = 1; i < n; ++i) {
    const uint64_t cur = Bits(samples[i].v);
    WriteXorValue(w, prev, cur, &window);
    prev = cur;
    if (1 + w.size() >= budget) return 0;
  }
  const size_t size = 1 + w.Finish();
  return size < budget ? size : 0;
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
    p = EncodeVarint64(p, delta);
    for (size_t i = 2; i < n; ++i) {
      assert(samples[i].t > samples[i - 1].t);
      const uint64_t t = static_cast<uint64_t>(samples[i].t);
      const uint64_t d = t - prev_t;
      p = EncodeVarint64(p, ZigZagEncode(static_cast<int64_t>(d - delta)));
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
      q = EncodeFixed64LE(q, Bits(samples[0].v));
      q = constant.exceptions.Put(q, samples);
      values_len = static_cast<size_t>(q - values);
    } else {
      values_len = static_cast<size_t>(PutScaled(scaled, samples, m, values) - values);
    }
  }

  char header[1 + 3 + 10 + 10 + 3];
  char* h = header;
  *h++ = static_cast<char>(ChunkEncoding::kSplitStreams);
  h = EncodeVarint64(h, n);
  h = EncodeVarint64(h, ZigZagEncode(samples[0].t));
  h = EncodeVarint64(h,
                     static_cast<uint64_t>(samples[n - 1].t) - static_cast<uint64_t>(samples[0].t));
  h = EncodeVarint64(h, ts_len);
  const size_t header_len = static_cast<size_t>(h - header);

  std::string out;
  out.reserve(header_len + ts_len + values_len);
  out.append(header, header_len);
  out.append(ts, ts_len);
  out.append(values, values_len);
  return out;
}

}  // namespace ember::storage
