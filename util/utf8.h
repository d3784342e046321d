// UTF-8 validation as Go's utf8.ValidString defines it (RFC 3629): no overlong forms, no
// surrogates (U+D800..U+DFFF), nothing past U+10FFFF. Header-only; shared by the modules.
#ifndef EMBER_UTIL_UTF8_H_
#define EMBER_UTIL_UTF8_H_

#include <cstddef>
#include <string_view>

namespace ember::util {

// The byte offset of the first invalid sequence in `s`, or std::string_view::npos.
inline size_t FindInvalidUtf8(std::string_view s) {
  const auto byte = [&s](size_t i) { return static_cast<unsigned char>(s[i]); };
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = byte(i);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n = 0;            // Continuation bytes.
    unsigned char lo = 0x80;  // Bounds of the second byte (rules out overlongs, surrogates).
    unsigned char hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return i;
    }
    if (i + n >= s.size()) return i;  // Truncated.
    if (byte(i + 1) < lo || byte(i + 1) > hi) return i;
    for (size_t k = 2; k <= n; ++k) {
      if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return i;
    }
    i += n + 1;
  }
  return std::string_view::npos;
}

inline bool IsValidUtf8(std::string_view s) {
  return FindInvalidUtf8(s) == std::string_view::npos;
}

}  // namespace ember::util

#endif  // EMBER_UTIL_UTF8_H_
