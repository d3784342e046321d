// Gorilla XOR coding of one value after another, shared by the sealed chunk's XOR value mode
// (chunk.cc) and the head chunk (head_chunk.cc); layout: docs/format/chunk.md. Per value: '0'
// (same bits as the previous one), '10' + the XOR's bits inside the previous window, or '11' + 5
// bits of leading zeros + 6 bits of length (64 as 0) + the XOR's meaningful bits.
#ifndef EMBER_STORAGE_XOR_VALUE_H_
#define EMBER_STORAGE_XOR_VALUE_H_

#include <bit>
#include <cstdint>

#include "storage/bit_reader.h"
#include "storage/bit_writer.h"

namespace ember::storage {

// The window both sides carry from value to value, as stored (the head chunk keeps one).
struct XorWindow {
  static constexpr uint8_t kNone = 0xff;  // `lead` before the first window.
  uint8_t lead = kNone;
  uint8_t trail = 0;
};
// The same window as ints, for a coder's loop: the compiler keeps it in registers.
struct XorWindowInts {
  int lead = XorWindow::kNone;
  int trail = 0;
};

// Writes `cur` given the previous value's bits `prev`, updating `*w` (an XorWindow or an
// XorWindowInts).
template <typename Window>
inline void WriteXorValue(BitWriter& out, uint64_t prev, uint64_t cur, Window* w) {
  const uint64_t x = cur ^ prev;
  if (x == 0) {
    out.Write(0, 1);
    return;
  }
  int lead = std::countl_zero(x);
  const int trail = std::countr_zero(x);
  if (lead > 31) lead = 31;
  if (lead >= w->lead && trail >= w->trail) {
    const int sig = 64 - w->lead - w->trail;
    out.Write(0b10, 2);
    out.Write(x >> w->trail, sig);
  } else {
    const int sig = 64 - lead - trail;
    out.Write((0b11 << 11) | (lead << 6) | (sig & 63), 13);
    out.Write(x >> trail, sig);
    w->lead = static_cast<decltype(w->lead)>(lead);
    w->trail = static_cast<decltype(w->trail)>(trail);
  }
}

// Reads the value after `*bits` into `*bits`, updating `*w` (an XorWindow or an
// XorWindowInts). Returns nullptr, or what is wrong with the stream: a window past 64 bits, or
// one reused before the first. A short stream sets in.overrun() instead; the caller checks it.
template <typename Window>
inline const char* ReadXorValue(BitReader& in, uint64_t* bits, Window* w) {
  if (in.Read(1) == 0) return nullptr;
  if (in.Read(1) != 0) {
    const int lead = static_cast<int>(in.Read(5));
    int sig = static_cast<int>(in.Read(6));
    if (sig == 0) sig = 64;
    if (lead + sig > 64) [[unlikely]] {
      return "XOR window past 64 bits";
    }
    w->lead = static_cast<decltype(w->lead)>(lead);
    w->trail = static_cast<decltype(w->trail)>(64 - lead - sig);
  } else if (w->lead == XorWindow::kNone) [[unlikely]] {
    return "XOR reuses a window before the first one";
  }
  *bits ^= in.ReadLong(64 - w->lead - w->trail) << w->trail;
  return nullptr;
}

}  // namespace ember::storage

#endif  // EMBER_STORAGE_XOR_VALUE_H_
