// The canonical byte form of a label set, stored in the series column family and hashed to
// find a series again. Layout (docs/format/keys.md): for each pair in name order,
// varint(len name) name varint(len value) value.
#ifndef EMBER_STORAGE_LABEL_CODEC_H_
#define EMBER_STORAGE_LABEL_CODEC_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "ember/labels.h"

namespace ember::storage {

// REQUIRES: `labels` is canonical (CanonicalizeLabels) and valid.
std::string EncodeLabels(const Labels& labels);
// DataLoss when `bytes` is not a whole encoding.
absl::Status DecodeLabels(std::string_view bytes, Labels* labels);
// A stable 64-bit hash of `bytes`: XXH64 with seed 0, written out in label_codec.cc (no library
// version or host changes it; the test pins it against the reference). Persisted in series
// keys: never change it.
uint64_t HashLabelBytes(std::string_view bytes);

}  // namespace ember::storage

#endif  // EMBER_STORAGE_LABEL_CODEC_H_
