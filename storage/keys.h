// Key layouts of every column family (docs/format/keys.md). Integers are big-endian so byte
// order is numeric order; timestamps have their sign bit flipped for the same reason.
//
//   series     'r' ref                               -> canonical label bytes (label_codec.h)
//              'h' hash(label bytes) ref             -> ""   (find a series by its labels)
//   heads      ref                                   -> head record (checkpointed open chunk)
//   log        seq                                   -> log record (one committed batch)
//   meta       "checkpoint_seq"                      -> fixed64 BE: log records <= it are applied
//              'n' partition start                   -> varint samples stored in that partition
//   chunks-P   ref chunk-start                       -> sealed chunk (chunk.h)
//   postings-P varint(len) name varint(len) value ref -> ""   (name "" value "": every series)
#ifndef EMBER_STORAGE_KEYS_H_
#define EMBER_STORAGE_KEYS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "util/coding.h"

namespace ember::storage {

inline std::string SeriesKey(uint64_t ref) {
  std::string k("r");
  PutFixed64BE(&k, ref);
  return k;
}

inline std::string SeriesHashKey(uint64_t hash, uint64_t ref) {
  std::string k("h");
  PutFixed64BE(&k, hash);
  PutFixed64BE(&k, ref);
  return k;
}

inline std::string RefKey(uint64_t ref) {
  std::string k;
  PutFixed64BE(&k, ref);
  return k;
}

inline std::string ChunkKey(uint64_t ref, int64_t start) {
  std::string k;
  k.reserve(16);
  PutFixed64BE(&k, ref);
  PutTimestampBE(&k, start);
  return k;
}
constexpr size_t kChunkKeySize = 16;

// The prefix shared by every posting of label pair (name, value).
inline std::string PostingsPrefix(std::string_view name, std::string_view value) {
  std::string k;
  PutLengthPrefixed(&k, name);
  PutLengthPrefixed(&k, value);
  return k;
}

// The prefix shared by every posting of label `name`.
inline std::string PostingsNamePrefix(std::string_view name) {
  std::string k;
  PutLengthPrefixed(&k, name);
  return k;
}

inline std::string PostingKey(std::string_view name, std::string_view value, uint64_t ref) {
  std::string k = PostingsPrefix(name, value);
  PutFixed64BE(&k, ref);
  return k;
}

// Splits a posting key; false when it is malformed.
inline bool ParsePostingKey(std::string_view key, std::string_view* name, std::string_view* value,
                            uint64_t* ref) {
  if (!GetLengthPrefixed(&key, name) || !GetLengthPrefixed(&key, value) || key.size() != 8) {
    return false;
  }
  *ref = DecodeFixed64BE(key.data());
  return true;
}

inline constexpr std::string_view kCheckpointSeqKey = "checkpoint_seq";

inline std::string PartitionSamplesKey(int64_t partition_start) {
  std::string k("n");
  PutTimestampBE(&k, partition_start);
  return k;
}

}  // namespace ember::storage

#endif  // EMBER_STORAGE_KEYS_H_
