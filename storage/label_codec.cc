// The canonical byte form of a label set and its persisted hash (storage/label_codec.h).
//
// HashLabelBytes is XXH64 with seed 0 (xxHash by Yann Collet, spec: xxhash.com,
// doc/xxhash_spec.md), written out here so that the value never depends on a library version:
// it is stored in every series hash key. It reads 32-byte stripes into four lanes, then 8-, 4-
// and 1-byte tails, and ends with XXH64's avalanche; words are read little-endian on every host.
// label_codec_test.cc pins its output against the reference implementation. Never change it:
// the series of an existing database could no longer be found by their labels.
#include "storage/label_codec.h"

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "util/coding.h"

namespace ember::storage {
namespace {

constexpr uint64_t kPrime1 = 0x9E3779B185EBCA87ULL;
constexpr uint64_t kPrime2 = 0xC2B2AE3D27D4EB4FULL;
constexpr uint64_t kPrime3 = 0x165667B19E3779F9ULL;
constexpr uint64_t kPrime4 = 0x85EBCA77C2B2AE63ULL;
constexpr uint64_t kPrime5 = 0x27D4EB2F165667C5ULL;

inline uint64_t Read64LE(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  return v;
}

inline uint32_t Read32LE(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap32(v);
  return v;
}

inline uint64_t Round(uint64_t acc, uint64_t input) {
  acc += input * kPrime2;
  acc = std::rotl(acc, 31);
  return acc * kPrime1;
}

inline uint64_t MergeRound(uint64_t acc, uint64_t val) {
  acc ^= Round(0, val);
  return acc * kPrime1 + kPrime4;
}

uint64_t Xxh64(std::string_view bytes, uint64_t seed) {
  const char* p = bytes.data();
  const char* const end = p + bytes.size();
  uint64_t h;
  if (bytes.size() >= 32) {
    uint64_t v1 = seed + kPrime1 + kPrime2;
    uint64_t v2 = seed + kPrime2;
    uint64_t v3 = seed;
    uint64_t v4 = seed - kPrime1;
    const char* const limit = end - 32;
    do {
      v1 = Round(v1, Read64LE(p));
      v2 = Round(v2, Read64LE(p + 8));
      v3 = Round(v3, Read64LE(p + 16));
      v4 = Round(v4, Read64LE(p + 24));
      p += 32;
    } while (p <= limit);
    h = std::rotl(v1, 1) + std::rotl(v2, 7) + std::rotl(v3, 12) + std::rotl(v4, 18);
    h = MergeRound(h, v1);
    h = MergeRound(h, v2);
    h = MergeRound(h, v3);
    h = MergeRound(h, v4);
  } else {
    h = seed + kPrime5;
  }
  h += static_cast<uint64_t>(bytes.size());
  for (; end - p >= 8; p += 8) {
    h ^= Round(0, Read64LE(p));
    h = std::rotl(h, 27) * kPrime1 + kPrime4;
  }
  if (end - p >= 4) {
    h ^= static_cast<uint64_t>(Read32LE(p)) * kPrime1;
    h = std::rotl(h, 23) * kPrime2 + kPrime3;
    p += 4;
  }
  for (; p < end; ++p) {
    h ^= static_cast<uint64_t>(static_cast<uint8_t>(*p)) * kPrime5;
    h = std::rotl(h, 11) * kPrime1;
  }
  h ^= h >> 33;
  h *= kPrime2;
  h ^= h >> 29;
  h *= kPrime3;
  h ^= h >> 32;
  return h;
}

// A name or value for a message: C escapes with \x for bytes outside printable ASCII.
std::string Hex(std::string_view s) {
  return absl::CHexEscape(absl::string_view(s.data(), s.size()));
}

// GetLengthPrefixed() that also rejects a length written in more bytes than needed (e.g.
// 0x81 0x00 for 1): only then does a decoded set re-encode to the bytes it came from.
bool GetCanonicalLengthPrefixed(std::string_view* in, std::string_view* s) {
  const size_t before = in->size();
  uint64_t n;
  if (!GetVarint64(in, &n)) return false;
  const size_t varint_bytes = before - in->size();
  size_t minimal = 1;
  for (uint64_t v = n; v >= 0x80; v >>= 7) ++minimal;
  if (varint_bytes != minimal || n > in->size()) return false;
  *s = in->substr(0, n);
  in->remove_prefix(n);
  return true;
}

}  // namespace

std::string EncodeLabels(const Labels& labels) {
  size_t size = 0;
  for (const Label& l : labels) size += l.name.size() + l.value.size() + 4;
  std::string out;
  out.reserve(size);
  for (const Label& l : labels) {
    PutLengthPrefixed(&out, l.name);
    PutLengthPrefixed(&out, l.value);
  }
  return out;
}

// Beyond the framing, a decoded set must be what EncodeLabels() writes: minimal varints, at least
// one pair, names non-empty and strictly ascending, values non-empty. Anything else is
// corruption, so whatever decodes re-encodes to the same bytes (and hash). UTF-8 is not
// re-checked; it was validated before the labels were written.
absl::Status DecodeLabels(std::string_view bytes, Labels* labels) {
  labels->clear();
  const std::string_view all = bytes;
  size_t offset = 0;  // Where the name or value being read starts.
  const auto fail = [&](std::string_view what) {
    labels->clear();
    return absl::DataLossError(
        absl::StrFormat("label bytes (%d bytes): %s at offset %d", all.size(), what, offset));
  };
  if (bytes.empty()) return fail("no label");
  while (!bytes.empty()) {
    std::string_view name, value;
    offset = all.size() - bytes.size();
    if (!GetCanonicalLengthPrefixed(&bytes, &name)) return fail("truncated or bad label name");
    if (name.empty()) return fail("empty label name");
    if (!labels->empty() && !(labels->back().name < name)) {
      return fail(absl::StrFormat("label name \"%s\" out of order after \"%s\"", Hex(name),
                                  Hex(labels->back().name)));
    }
    offset = all.size() - bytes.size();
    if (!GetCanonicalLengthPrefixed(&bytes, &value)) {
      return fail(absl::StrFormat("truncated or bad value of label \"%s\"", Hex(name)));
    }
    if (value.empty()) return fail(absl::StrFormat("empty value of label \"%s\"", Hex(name)));
    labels->push_back(Label{std::string(name), std::string(value)});
  }
  return absl::OkStatus();
}

uint64_t HashLabelBytes(std::string_view bytes) { return Xxh64(bytes, /*seed=*/0); }

}  // namespace ember::storage
