// InfluxDB line protocol (ingest/influx.h). The first byte picks the precision, so the
// timestamp scaling (and its overflow checks) is fuzzed with every unit; the rest is the body.
// Seeds start with a digit: '0' ns, '1' us, '2' ms, '3' s, '4' m, '5' h.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ingest/batch.h"
#include "ingest/influx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // ns, us, ms, s, m, h as nanoseconds per unit (InfluxPrecision()'s values).
  constexpr int64_t kNsPerUnit[] = {
      1, 1'000, 1'000'000, 1'000'000'000, 60'000'000'000, 3'600'000'000'000};
  ember::ingest::InfluxOptions options;
  options.ns_per_unit = kNsPerUnit[data[0] % 6];
  options.default_timestamp_ms = 1'700'000'000'000;
  options.extra_labels = {{"db", "fuzz"}};
  ember::ingest::DecodedBatch batch;
  (void)ember::ingest::ParseInfluxLines(
      std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1), options, &batch);
  return 0;
}
