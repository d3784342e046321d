#include "storage/head_log.h"

#include <bit>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace ember::storage {
namespace {

TEST(LogRecordTest, RoundTripsRefsExtremeTimestampsAndValueBits) {
  const std::vector<LogSample> in = {
      {1, 0, 1.5},
      {UINT64_MAX, std::numeric_limits<int64_t>::max(),
       std::bit_cast<double>(0x7ff0000000000002ULL)},
      {7, std::numeric_limits<int64_t>::min(), -0.0},
      {3, 1'700'000'000'000, std::bit_cast<double>(0xfff8000000000abcULL)},
  };
  std::vector<LogSample> out;
  ASSERT_TRUE(DecodeLogRecord(EncodeLogRecord(in), &out).ok());
  ASSERT_EQ(out.size(), in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(out[i].ref, in[i].ref);
    EXPECT_EQ(out[i].t, in[i].t);
    EXPECT_EQ(std::bit_cast<uint64_t>(out[i].v), std::bit_cast<uint64_t>(in[i].v));
  }
}

TEST(LogRecordTest, EveryTruncationIsDataLoss) {
  std::vector<LogSample> in;
  for (int i = 0; i < 20; ++i)
    in.push_back({uint64_t(i * 977), 1'700'000'000'000 + i * 15'003, i * 0.1});
  const std::string record = EncodeLogRecord(in);
  for (size_t n = 0; n < record.size(); ++n) {
    std::vector<LogSample> out;
    absl::Status s = DecodeLogRecord(record.substr(0, n), &out);
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << "length " << n;
  }
}

TEST(LogRecordTest, RandomBytesNeverCrash) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 20000; ++i) {
    std::string bytes(rng() % 64, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    std::vector<LogSample> out;
    DecodeLogRecord(bytes, &out).IgnoreError();
    HeadRecord r;
    DecodeHeadRecord(bytes, &r).IgnoreError();
  }
}

TEST(HeadRecordTest, RoundTrips) {
  HeadRecord in{1'700'000'000'123, 1'699'920'000'000, std::string("\x01\x02\x00\xff", 4)};
  HeadRecord out;
  ASSERT_TRUE(DecodeHeadRecord(EncodeHeadRecord(in), &out).ok());
  EXPECT_EQ(out.last_t, in.last_t);
  EXPECT_EQ(out.indexed_partition, in.indexed_partition);
  EXPECT_EQ(out.chunk, in.chunk);
}

}  // namespace
}  // namespace ember::storage
