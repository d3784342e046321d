// Text exposition 0.0.4 and OpenMetrics 1.0 (ingest/text_format.h): each input is parsed in
// both modes, as the import door and the scraper would see a body of either content type.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ingest/batch.h"
#include "ingest/text_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  for (bool openmetrics : {false, true}) {
    ember::ingest::TextFormatOptions options;
    options.openmetrics = openmetrics;
    options.default_timestamp_ms = 1'700'000'000'000;
    options.extra_labels = {{"job", "fuzz"}};
    ember::ingest::DecodedBatch batch;
    (void)ember::ingest::ParseTextFormat(body, options, &batch);
  }
  return 0;
}
