#include "storage/head_log.h"

#include <bit>

#include "absl/strings/str_cat.h"
#include "util/coding.h"

namespace ember::storage {

std::string EncodeLogRecord(const std::vector<LogSample>& samples) {
  std::string out;
  out.reserve(4 + samples.size() * 14);
  PutVarint64(&out, samples.size());
  int64_t prev_t = 0;
  for (const LogSample& s : samples) {
    PutVarint64(&out, s.ref);
    // Wrapping subtraction: any two int64 timestamps round-trip.
    PutVarsint64(&out,
                 static_cast<int64_t>(static_cast<uint64_t>(s.t) - static_cast<uint64_t>(prev_t)));
    PutFixed64LE(&out, std::bit_cast<uint64_t>(s.v));
    prev_t = s.t;
  }
  return out;
}

absl::Status DecodeLogRecord(std::string_view record, std::vector<LogSample>* samples) {
  const size_t total = record.size();
  auto damaged = [&](std::string_view what) {
    return absl::DataLossError(
        absl::StrCat("log record: ", absl::string_view(what.data(), what.size()), " at byte ",
                     total - record.size()));
  };
  uint64_t n;
  if (!GetVarint64(&record, &n)) return damaged("truncated count");
  if (n > record.size() / 10) return damaged("count larger than the record");
  samples->reserve(samples->size() + n);
  int64_t prev_t = 0;
  for (uint64_t i = 0; i < n; ++i) {
    LogSample s;
    int64_t dt;
    uint64_t bits;
    if (!GetVarint64(&record, &s.ref) || !GetVarsint64(&record, &dt) ||
        !GetFixed64LE(&record, &bits)) {
      return damaged("truncated sample");
    }
    s.t = static_cast<int64_t>(static_cast<uint64_t>(prev_t) + static_cast<uint64_t>(dt));
    s.v = std::bit_cast<double>(bits);
    prev_t = s.t;
    samples->push_back(s);
  }
  if (!record.empty()) return damaged("trailing bytes");
  return absl::OkStatus();
}

std::string EncodeHeadRecord(const HeadRecord& r) {
  std::string out;
  PutVarsint64(&out, r.last_t);
  PutVarsint64(&out, r.indexed_partition);
  out.append(r.chunk);
  return out;
}

absl::Status DecodeHeadRecord(std::string_view bytes, HeadRecord* r) {
  if (!GetVarsint64(&bytes, &r->last_t) || !GetVarsint64(&bytes, &r->indexed_partition)) {
    return absl::DataLossError("head record: truncated header");
  }
  r->chunk.assign(bytes.data(), bytes.size());
  return absl::OkStatus();
}

}  // namespace ember::storage
