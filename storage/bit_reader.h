// A bounds-checked reader of MSB-first bit streams, shared by the sealed chunk's XOR value stream
// (chunk_decode.cc) and the head chunk's bit stream (head_chunk.cc); layouts: docs/format/chunk.md.
//
// Contract: reads never touch memory outside [begin, end). A read past the end returns 0 and sets
// overrun(), which stays set, so a decoder may read a whole sample and check overrun() once. Not
// thread-safe; one reader per stream.
#ifndef EMBER_STORAGE_BIT_READER_H_
#define EMBER_STORAGE_BIT_READER_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace ember::storage {

class BitReader {
 public:
  // Reads [begin, end), which must stay valid while the reader is used.
  BitReader(const uint8_t* begin, const uint8_t* end) : begin_(begin), p_(begin), end_(end) {}
  BitReader(const BitReader&) = delete;
  BitReader& operator=(const BitReader&) = delete;

  // The next `len` bits as an integer; when fewer are left, 0 with none consumed (overrun()).
  // REQUIRES: 1 <= len <= 56.
  uint64_t Read(int len) {
    if (avail_ < len) {
      Refill();
      if (avail_ < len) [[unlikely]] {
        overrun_ = true;
        return 0;
      }
    }
    const uint64_t v = buf_ >> (64 - len);
    buf_ <<= len;
    avail_ -= len;
    return v;
  }
  // As Read(), for any width (two reads when len > 56). REQUIRES: 1 <= len <= 64.
  uint64_t ReadLong(int len) {
    if (len <= 56) return Read(len);
    const uint64_t hi = Read(len - 32);
    return (hi << 32) | Read(32);
  }

  // True once a read has run past the end; stays set.
  bool overrun() const { return overrun_; }
  // Bits consumed so far; bit_offset() / 8 is the byte being read, for error messages.
  size_t bit_offset() const { return static_cast<size_t>(p_ - begin_) * 8 - avail_; }

  // True when the stream ends within the last byte and its padding bits are zero: false after an
  // overrun, when a whole byte or more is left, or when a padding bit is set.
  bool AtPaddedEnd() {
    Refill();
    const size_t total = static_cast<size_t>(end_ - begin_) * 8;
    const size_t used = bit_offset();
    if (overrun_ || used > total || total - used >= 8) return false;
    const int pad = static_cast<int>(total - used);
    return pad == 0 || (buf_ >> (64 - pad)) == 0;
  }

 private:
  // Tops buf_ up to at least 56 bits, or to the end of the input.
  void Refill() {
    if (end_ - p_ >= 8) {
      uint64_t w;
      std::memcpy(&w, p_, 8);
      // Bits below the whole bytes taken are loaded again, identically, by the next refill.
      buf_ |= __builtin_bswap64(w) >> avail_;  // x86-64 and aarch64 are little-endian.
      p_ += (63 - avail_) >> 3;
      avail_ |= 56;
    } else {
      while (avail_ <= 56 && p_ != end_) {
        buf_ |= uint64_t{*p_++} << (56 - avail_);
        avail_ += 8;
      }
    }
  }

  const uint8_t* const begin_;
  const uint8_t* p_;  // Input not yet counted in avail_.
  const uint8_t* const end_;
  uint64_t buf_ = 0;  // The next avail_ bits, left-aligned.
  int avail_ = 0;
  bool overrun_ = false;
};

}  // namespace ember::storage

#endif  // EMBER_STORAGE_BIT_READER_H_
