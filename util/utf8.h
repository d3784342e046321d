// UTF-8 validation as Go's utf8.ValidString defines it (RFC 3629, Unicode table 3-7), which
// Prometheus applies: overlong forms, UTF-16 surrogates (U+D800..U+DFFF), code points above
// U+10FFFF and sequences cut short are invalid. NUL and other control characters are valid.
// Header-only; the one copy the modules share.
#ifndef EMBER_UTIL_UTF8_H_
#define EMBER_UTIL_UTF8_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace ember::util {

// The length of the UTF-8 sequence starting at s[i], or 0 when it is not a valid sequence.
// REQUIRES: i < s.size().
inline size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t b0 = byte(i);
  if (b0 < 0x80) return 1;
  const size_t left = s.size() - i;
  // The bounds of the second byte depend on the first (Unicode table 3-7); the third and
  // fourth bytes are always 0x80..0xBF.
  size_t len;
  uint8_t lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 == 0xE0) {
    len = 3, lo = 0xA0;  // Below: overlong.
  } else if (b0 == 0xED) {
    len = 3, hi = 0x9F;  // Above: surrogates.
  } else if (b0 >= 0xE1 && b0 <= 0xEF) {
    len = 3;
  } else if (b0 == 0xF0) {
    len = 4, lo = 0x90;  // Below: overlong.
  } else if (b0 >= 0xF1 && b0 <= 0xF3) {
    len = 4;
  } else if (b0 == 0xF4) {
    len = 4, hi = 0x8F;  // Above: > U+10FFFF.
  } else {
    return 0;  // A continuation byte, 0xC0/0xC1 (overlong) or 0xF5..0xFF.
  }
  if (left < len) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (size_t k = 2; k < len; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  }
  return len;
}

// The byte offset of the first invalid UTF-8 sequence in `s`, or std::string_view::npos.
inline size_t FindInvalidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    // Labels and queries are mostly ASCII: skip eight such bytes at a time.
    if (s.size() - i >= 8) {
      uint64_t word;
      std::memcpy(&word, s.data() + i, 8);
      if ((word & 0x8080808080808080ULL) == 0) {
        i += 8;
        continue;
      }
    }
    const size_t len = Utf8SequenceLength(s, i);
    if (len == 0) return i;
    i += len;
  }
  return std::string_view::npos;
}

inline bool IsValidUtf8(std::string_view s) { return FindInvalidUtf8(s) == std::string_view::npos; }

// Appends code point `cp` to `*out` as UTF-8 (1 to 4 bytes). REQUIRES: cp <= 0x10FFFF; callers
// that decode escapes check that, and that cp is not a surrogate, first.
inline void AppendUtf8(std::string* out, uint32_t cp) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace ember::util

#endif  // EMBER_UTIL_UTF8_H_
