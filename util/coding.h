// Byte coding shared by storage and ingest: big-endian fixed integers (keys sort as numbers),
// little-endian fixed 64-bit words, LEB128 varints and zigzag. Decoders advance a string_view
// and return false when the input ends early, so callers can report DataLoss with an offset.
#ifndef EMBER_UTIL_CODING_H_
#define EMBER_UTIL_CODING_H_

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace ember {

inline void PutFixed64BE(std::string* dst, uint64_t v) {
  char buf[8];
  for (int i = 7; i >= 0; --i) {
    buf[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  dst->append(buf, 8);
}

inline uint64_t DecodeFixed64BE(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

// Timestamps are signed; flipping the sign bit makes big-endian bytes sort in numeric order.
inline void PutTimestampBE(std::string* dst, int64_t t) {
  PutFixed64BE(dst, static_cast<uint64_t>(t) ^ (uint64_t{1} << 63));
}
inline int64_t DecodeTimestampBE(const char* p) {
  return static_cast<int64_t>(DecodeFixed64BE(p) ^ (uint64_t{1} << 63));
}

// Writes `v` at `dst` (8 bytes); returns the byte after.
inline char* EncodeFixed64LE(char* dst, uint64_t v) {
  std::memcpy(dst, &v, 8);  // x86-64 and aarch64 are little-endian.
  return dst + 8;
}

inline void PutFixed64LE(std::string* dst, uint64_t v) {
  char buf[8];
  EncodeFixed64LE(buf, v);
  dst->append(buf, 8);
}

inline bool GetFixed64LE(std::string_view* in, uint64_t* v) {
  if (in->size() < 8) return false;
  std::memcpy(v, in->data(), 8);
  in->remove_prefix(8);
  return true;
}

// Bytes PutVarint64() / EncodeVarint64() take for `v` (1 to 10).
inline int VarintLength(uint64_t v) { return (std::bit_width(v | 1) + 6) / 7; }

// Writes `v` at `dst`, which must have room for VarintLength(v) bytes; returns the byte after.
inline char* EncodeVarint64(char* dst, uint64_t v) {
  while (v >= 0x80) {
    *dst++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *dst++ = static_cast<char>(v);
  return dst;
}

inline void PutVarint64(std::string* dst, uint64_t v) {
  char buf[10];
  dst->append(buf, EncodeVarint64(buf, v) - buf);
}

// Reads a varint from [p, limit). Returns the byte after it, or nullptr when the input ends
// early or the varint is longer than 10 bytes or overflows 64 bits (a tenth byte above 1).
inline const uint8_t* GetVarint64PtrSlow(const uint8_t* p, const uint8_t* limit, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (p == limit) return nullptr;
    const uint64_t byte = *p++;
    if (shift == 63 && byte > 1) return nullptr;
    result |= (byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return p;
    }
  }
  return nullptr;
}
// One-byte varints (small deltas) are the common case: that path is inlined.
inline const uint8_t* GetVarint64Ptr(const uint8_t* p, const uint8_t* limit, uint64_t* v) {
  if (p != limit && *p < 0x80) [[likely]] {
    *v = *p;
    return p + 1;
  }
  return GetVarint64PtrSlow(p, limit, v);
}

inline bool GetVarint64(std::string_view* in, uint64_t* v) {
  const auto* p = reinterpret_cast<const uint8_t*>(in->data());
  const uint8_t* next = GetVarint64Ptr(p, p + in->size(), v);
  if (next == nullptr) return false;
  in->remove_prefix(static_cast<size_t>(next - p));
  return true;
}

inline uint64_t ZigZagEncode(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
// Two's complement bits of the decoded value, for callers that add it modulo 2^64.
inline uint64_t ZigZagDecodeBits(uint64_t v) { return (v >> 1) ^ (0 - (v & 1)); }
inline int64_t ZigZagDecode(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

inline void PutVarsint64(std::string* dst, int64_t v) { PutVarint64(dst, ZigZagEncode(v)); }
inline bool GetVarsint64(std::string_view* in, int64_t* v) {
  uint64_t u;
  if (!GetVarint64(in, &u)) return false;
  *v = ZigZagDecode(u);
  return true;
}

inline void PutLengthPrefixed(std::string* dst, std::string_view s) {
  PutVarint64(dst, s.size());
  dst->append(s.data(), s.size());
}
inline bool GetLengthPrefixed(std::string_view* in, std::string_view* s) {
  uint64_t n;
  if (!GetVarint64(in, &n) || n > in->size()) return false;
  *s = in->substr(0, n);
  in->remove_prefix(n);
  return true;
}

}  // namespace ember

#endif  // EMBER_UTIL_CODING_H_
