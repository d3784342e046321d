// The one writer of MSB-first bit streams, shared by the sealed chunk's XOR value stream
// (chunk.cc) and the head chunk's bit stream (head_chunk.cc); bit_reader.h reads them back.
// Layouts: docs/format/chunk.md. Not thread-safe; one writer per stream.
#ifndef EMBER_STORAGE_BIT_WRITER_H_
#define EMBER_STORAGE_BIT_WRITER_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace ember::storage {

// Bits are gathered in a 64-bit word and stored eight bytes at a time.
class BitWriter {
 public:
  // Writes from `p` on; the caller guarantees room for every byte written (see size()).
  explicit BitWriter(char* p) : begin_(p), p_(p) {}
  // Continues a stream whose last byte holds `bits` (0-7) bits, MSB first, in `last_byte`:
  // that byte is written again, completed, at `p`.
  BitWriter(char* p, uint8_t last_byte, int bits)
      : begin_(p), p_(p), acc_(bits == 0 ? 0 : last_byte >> (8 - bits)), used_(bits) {}
  BitWriter(const BitWriter&) = delete;
  BitWriter& operator=(const BitWriter&) = delete;

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
    const uint64_t be = __builtin_bswap64(word);  // x86-64 and aarch64 are little-endian.
    std::memcpy(p_, &be, 8);
    p_ += 8;
    acc_ = rest == 0 ? 0 : v & ((uint64_t{1} << rest) - 1);
    used_ = rest;
  }

  // Bytes the stream takes once flushed.
  size_t size() const { return static_cast<size_t>(p_ - begin_) + (used_ + 7) / 8; }
  // Bits used in the stream's last byte: 0 when it is full.
  int tail_bits() const { return used_ & 7; }

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

}  // namespace ember::storage

#endif  // EMBER_STORAGE_BIT_WRITER_H_
