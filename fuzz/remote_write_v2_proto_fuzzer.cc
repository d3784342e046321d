// Remote write 2.0 past the snappy layer: the input is taken as an uncompressed Request,
// compressed here, so every input reaches the protobuf decoding and the symbols table checks.
#include <cstddef>
#include <cstdint>
#include <string>

#include "ingest/batch.h"
#include "ingest/remote_write.h"
#include "snappy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string body;
  snappy::Compress(reinterpret_cast<const char*>(data), size, &body);
  ember::ingest::DecodedBatch batch;
  (void)ember::ingest::DecodeRemoteWriteV2(body, &batch);
  return 0;
}
