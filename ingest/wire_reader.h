// A reader of the protobuf wire format (https://protobuf.dev/programming-guides/encoding/) over
// one byte range, for decoders that want strings as views into the input instead of the
// std::string fields of generated messages. Every read is bounds-checked and reports malformed
// input by returning false: no input can make it read outside the range, loop or recurse
// without bound. It accepts what the generated parser accepts, field for field: unknown fields
// (groups included) are skipped, a known field number with an unexpected wire type is an
// unknown field, and over-long tags, lengths and varints and deep nesting are refused where the
// generated parser (protobuf 3.21) refuses them. Not thread-safe; the range must outlive the reader
// and the views it returns.
#ifndef EMBER_INGEST_WIRE_READER_H_
#define EMBER_INGEST_WIRE_READER_H_

#include <bit>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace ember::ingest {

enum WireType : uint32_t {
  kVarint = 0,
  kFixed64 = 1,
  kLengthDelimited = 2,
  kStartGroup = 3,
  kEndGroup = 4,
  kFixed32 = 5,
};

// A field's tag as it appears on the wire, for `switch` statements over ReadTag().
constexpr uint32_t WireTag(uint32_t field, WireType type) { return field << 3 | type; }

class WireReader {
 public:
  // `level` is how deep the message read is nested: 0 for the request, 1 for a message in it...
  explicit WireReader(std::string_view bytes, int level = 0)
      : p_(bytes.data()), end_(bytes.data() + bytes.size()), level_(level) {}

  // The loop every message decoder runs: calls `on_field(tag, reader)` for each field of
  // `message` (nested `level` deep), in order, with `reader` positioned at the field's value.
  // `on_field` reads the value, or Skip()s it, and returns false if it is malformed; a decoder
  // is then a switch over WireTag()s with `default: return reader.Skip(tag);`. False for a
  // malformed tag or as soon as `on_field` returns false.
  template <typename OnField>
  static bool ForEachField(std::string_view message, int level, OnField&& on_field) {
    WireReader r(message, level);
    while (!r.empty()) {
      uint32_t tag;
      if (!r.ReadTag(&tag) || !on_field(tag, r)) return false;
    }
    return true;
  }

  // Reads a length-delimited value as a message nested one level deeper than this one and
  // runs ForEachField() over it.
  template <typename OnField>
  bool ReadMessage(OnField&& on_field) {
    std::string_view message;
    return ReadBytes(&message) && ForEachField(message, level_ + 1, on_field);
  }

  bool empty() const { return p_ == end_; }

  // The next tag. Like the generated parser, reads at most 5 bytes and drops bits past the 32nd;
  // false if the tag is malformed: longer, field number 0, wire type 6 or 7.
  bool ReadTag(uint32_t* tag) {
    uint32_t v = 0;
    for (int i = 0; i < 5; ++i) {
      if (p_ == end_) return false;
      const uint8_t byte = static_cast<uint8_t>(*p_++);
      v |= static_cast<uint32_t>(byte & 0x7f) << (7 * i);
      if (byte < 0x80) {
        *tag = v;
        return (v >> 3) != 0 && (v & 7) <= kFixed32;
      }
    }
    return false;
  }

  // At most 10 bytes; bits past the 64th are dropped, as the generated parser drops them.
  bool ReadVarint(uint64_t* v) {
    if (p_ != end_ && static_cast<uint8_t>(*p_) < 0x80) {
      *v = static_cast<uint8_t>(*p_++);
      return true;
    }
    uint64_t result = 0;
    for (int shift = 0; shift < 70; shift += 7) {
      if (p_ == end_) return false;
      const uint8_t byte = static_cast<uint8_t>(*p_++);
      result |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if (byte < 0x80) {
        *v = result;
        return true;
      }
    }
    return false;
  }

  bool ReadFixed64(uint64_t* v) {
    static_assert(std::endian::native == std::endian::little, "the wire format is little-endian");
    if (end_ - p_ < 8) return false;
    std::memcpy(v, p_, 8);
    p_ += 8;
    return true;
  }

  // A varint into a narrower or signed field (int64, int32, uint32, an enum): the low bits,
  // two's complement, as the generated parser keeps them.
  template <typename Int>
  bool ReadVarintAs(Int* v) {
    uint64_t u;
    if (!ReadVarint(&u)) return false;
    *v = static_cast<Int>(u);
    return true;
  }

  bool ReadDouble(double* v) {
    uint64_t bits;
    if (!ReadFixed64(&bits)) return false;
    *v = std::bit_cast<double>(bits);
    return true;
  }

  // A length-delimited value: a string, bytes, a sub-message or a packed repeated field. Its
  // length is at most 5 bytes and under 2 GiB, as for the generated parser.
  bool ReadBytes(std::string_view* v) {
    uint32_t size = 0;
    for (int i = 0;; ++i) {
      if (p_ == end_) return false;
      const uint8_t byte = static_cast<uint8_t>(*p_++);
      if (i == 4) {
        if (byte >= 8) return false;
        size |= static_cast<uint32_t>(byte) << 28;
        break;
      }
      size |= static_cast<uint32_t>(byte & 0x7f) << (7 * i);
      if (byte < 0x80) break;
    }
    if (size > static_cast<size_t>(end_ - p_)) return false;
    *v = std::string_view(p_, size);
    p_ += size;
    return true;
  }

  // Skips the value of a field whose tag ReadTag() returned. A group is skipped up to its
  // matching end tag; an end tag without its start is malformed.
  bool Skip(uint32_t tag) { return Skip(tag, level_); }

 private:
  // The generated parser's default recursion limit: no message or group may be nested deeper.
  static constexpr int kMaxLevel = 100;

  bool Skip(uint32_t tag, int level) {
    uint64_t ignored;
    std::string_view ignored_bytes;
    switch (tag & 7) {
      case kVarint:
        return ReadVarint(&ignored);
      case kFixed64:
        return SkipRaw(8);
      case kLengthDelimited:
        return ReadBytes(&ignored_bytes);
      case kFixed32:
        return SkipRaw(4);
      case kStartGroup:
        if (level + 1 > kMaxLevel) return false;
        while (true) {
          uint32_t inner;
          if (!ReadTag(&inner)) return false;
          if ((inner & 7) == kEndGroup) return (inner >> 3) == (tag >> 3);
          if (!Skip(inner, level + 1)) return false;
        }
      default:
        return false;
    }
  }

  bool SkipRaw(size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) return false;
    p_ += n;
    return true;
  }

  const char* p_;
  const char* end_;
  int level_;
};

}  // namespace ember::ingest

#endif  // EMBER_INGEST_WIRE_READER_H_
