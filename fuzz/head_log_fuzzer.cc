// The head's durability records (storage/head_log.h), as replay after a crash reads them: the
// input is decoded as a log record, and as a head record whose open chunk is then restored
// (HeadChunk::Restore) and decoded. The input is also restored as a head chunk by itself, so
// the chunk's bit stream is fuzzed without the record header in front.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "ember/sample.h"
#include "storage/head_chunk.h"
#include "storage/head_log.h"

namespace {

void RestoreAndDecode(std::string_view bytes) {
  absl::StatusOr<ember::storage::HeadChunk> chunk = ember::storage::HeadChunk::Restore(bytes);
  if (!chunk.ok()) return;
  std::vector<ember::Sample> samples;
  (void)chunk->Decode(&samples);
  // A restored chunk accepts further appends (head_chunk.h).
  if (chunk->empty() || chunk->max_t() < INT64_MAX) {
    chunk->Append(chunk->empty() ? 0 : chunk->max_t() + 1, 1.0);
    samples.clear();
    (void)chunk->Decode(&samples);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<ember::storage::LogSample> log_samples;
  (void)ember::storage::DecodeLogRecord(input, &log_samples);

  ember::storage::HeadRecord record;
  if (ember::storage::DecodeHeadRecord(input, &record).ok() && !record.chunk.empty()) {
    RestoreAndDecode(record.chunk);
  }
  RestoreAndDecode(input);
  return 0;
}
