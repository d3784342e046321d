// Remote write 1.0 bodies as they arrive over HTTP: raw bytes into the snappy layer first.
// Most inputs stop at the snappy check; remote_write_v1_proto_fuzzer reaches the protobuf.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ingest/batch.h"
#include "ingest/remote_write.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ember::ingest::DecodedBatch batch;
  (void)ember::ingest::DecodeRemoteWriteV1(
      std::string_view(reinterpret_cast<const char*>(data), size), &batch);
  return 0;
}
