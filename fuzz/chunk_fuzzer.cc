// The sealed chunk decoder (storage/chunk.h) on arbitrary bytes, as a damaged chunk value read
// back from RocksDB would be. Checks chunk.h's contract as well as the absence of crashes: on
// an error `*out` is left as it was, and a chunk that decodes has the header ReadChunkMeta()
// reads, with as many samples.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "ember/sample.h"
#include "storage/chunk.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view chunk(reinterpret_cast<const char*>(data), size);
  // A sample already in the vector, as when a query appends chunk after chunk.
  std::vector<ember::Sample> samples = {{42, 1.5}};
  const absl::Status s = ember::storage::DecodeChunk(chunk, &samples);
  const absl::StatusOr<ember::storage::ChunkMeta> meta = ember::storage::ReadChunkMeta(chunk);
  if (!s.ok()) {
    if (samples.size() != 1 || samples[0].t != 42) {
      std::fprintf(stderr, "DecodeChunk failed (%s) but changed *out\n", s.ToString().c_str());
      std::abort();
    }
    return 0;
  }
  if (!meta.ok() || static_cast<size_t>(meta->num_samples) != samples.size() - 1) {
    std::fprintf(
        stderr, "DecodeChunk gave %zu samples; ReadChunkMeta: %s\n", samples.size() - 1,
        meta.ok() ? std::to_string(meta->num_samples).c_str() : meta.status().ToString().c_str());
    std::abort();
  }
  return 0;
}
