// WireReader's message loop: ForEachField, ReadMessage and ReadVarintAs. The readers of single
// values are covered through remote_write_reference_test.cc, against the generated parser.
#include "ingest/wire_reader.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ember::ingest {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

// A message of: 1 = varint 300, 2 = "ab", 3 = nested { 1 = varint 5 }.
const std::string kMessage(
    "\x08\xac\x02\x12\x02"
    "ab"
    "\x1a\x02\x08\x05",
    11);

TEST(WireReaderTest, ForEachFieldVisitsEveryFieldInOrder) {
  std::vector<std::pair<uint32_t, std::string>> seen;
  const bool ok = WireReader::ForEachField(kMessage, 0, [&](uint32_t tag, WireReader& r) {
    uint64_t v = 0;
    std::string_view bytes;
    switch (tag) {
      case WireTag(1, kVarint):
        if (!r.ReadVarint(&v)) return false;
        seen.emplace_back(1, std::to_string(v));
        return true;
      case WireTag(2, kLengthDelimited):
        if (!r.ReadBytes(&bytes)) return false;
        seen.emplace_back(2, std::string(bytes));
        return true;
      default:
        seen.emplace_back(tag >> 3, "skipped");
        return r.Skip(tag);
    }
  });
  EXPECT_TRUE(ok);
  EXPECT_THAT(seen, ElementsAre(Pair(1, "300"), Pair(2, "ab"), Pair(3, "skipped")));
}

TEST(WireReaderTest, ForEachFieldStopsAtTheFirstFailure) {
  int calls = 0;
  EXPECT_FALSE(WireReader::ForEachField(kMessage, 0, [&](uint32_t, WireReader&) {
    ++calls;
    return false;
  }));
  EXPECT_EQ(calls, 1);
  // A malformed tag (field 0) is refused before on_field sees it.
  EXPECT_FALSE(WireReader::ForEachField(std::string_view("\x00", 1), 0,
                                        [&](uint32_t, WireReader&) { return true; }));
  EXPECT_TRUE(WireReader::ForEachField("", 0, [&](uint32_t, WireReader&) { return false; }));
}

TEST(WireReaderTest, ReadMessageReadsTheNestedMessage) {
  uint32_t nested = 0;
  const bool ok = WireReader::ForEachField(kMessage, 0, [&](uint32_t tag, WireReader& r) {
    if (tag != WireTag(3, kLengthDelimited)) return r.Skip(tag);
    return r.ReadMessage([&](uint32_t inner, WireReader& m) {
      return inner == WireTag(1, kVarint) ? m.ReadVarintAs(&nested) : m.Skip(inner);
    });
  });
  EXPECT_TRUE(ok);
  EXPECT_EQ(nested, 5u);
  // A length past the end of the input is malformed.
  WireReader truncated(std::string_view("\x05\x08", 2));
  EXPECT_FALSE(truncated.ReadMessage([](uint32_t, WireReader&) { return true; }));
}

TEST(WireReaderTest, ReadVarintAsKeepsTheLowBits) {
  // 2^32 + 7, then -1 as a 10-byte varint.
  WireReader r(
      std::string_view("\x87\x80\x80\x80\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 15));
  uint32_t u = 0;
  ASSERT_TRUE(r.ReadVarintAs(&u));
  EXPECT_EQ(u, 7u);
  int32_t i = 0;
  ASSERT_TRUE(r.ReadVarintAs(&i));
  EXPECT_EQ(i, -1);
  EXPECT_FALSE(r.ReadVarintAs(&i));  // Nothing left.
}

}  // namespace
}  // namespace ember::ingest
