#include "storage/label_codec.h"

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ember::storage {
namespace {

using ::testing::HasSubstr;

TEST(LabelCodecTest, EncodesVarintLengthPrefixedPairs) {
  EXPECT_EQ(EncodeLabels({{"a", "1"}}), std::string("\x01"
                                                    "a"
                                                    "\x01"
                                                    "1"));
  EXPECT_EQ(EncodeLabels({{"__name__", "up"}, {"job", "api"}}),
            std::string("\x08__name__\x02up\x03job\x03"
                        "api"));
  const std::string long_value(200, 'v');  // 200 = 0xC8 0x01 as a varint.
  EXPECT_EQ(EncodeLabels({{"k", long_value}}), "\x01k\xC8\x01" + long_value);
}

TEST(LabelCodecTest, RoundTrips) {
  struct Case {
    std::string name;
    Labels labels;
  };
  const Case cases[] = {
      {"one pair", {{"__name__", "up"}}},
      {"several", {{"__name__", "http_requests_total"}, {"code", "200"}, {"job", "api"}}},
      {"UTF-8", {{"service.name", "caisse"}, {"température", "21,5 °C \xF0\x9F\x94\xA5"}}},
      {"NUL and newline", {{"a", std::string("x\0y", 3)}, {"b", "l1\nl2"}}},
      {"2-byte varint", {{"k", std::string(300, 'x')}}},
      {"3-byte varint", {{std::string(20000, 'n'), std::string(70000, 'v')}}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Labels decoded = {{"stale", "contents"}};
    ASSERT_TRUE(DecodeLabels(EncodeLabels(c.labels), &decoded).ok());
    EXPECT_EQ(decoded, c.labels);
  }
}

TEST(LabelCodecTest, EveryPrefixIsDataLossUnlessItEndsAtAPair) {
  const Labels labels = {{"__name__", "up"}, {"instance", std::string(150, 'i')}, {"job", "api"}};
  const std::string bytes = EncodeLabels(labels);
  // Where each pair ends, and how many pairs that is.
  std::vector<std::pair<size_t, size_t>> boundaries;
  for (size_t k = 1; k <= labels.size(); ++k) {
    boundaries.push_back({EncodeLabels(Labels(labels.begin(), labels.begin() + k)).size(), k});
  }
  for (size_t n = 0; n < bytes.size(); ++n) {
    SCOPED_TRACE(n);
    Labels decoded;
    const absl::Status s = DecodeLabels(std::string_view(bytes).substr(0, n), &decoded);
    size_t pairs = 0;
    for (auto [end, k] : boundaries) {
      if (end == n) pairs = k;
    }
    if (pairs > 0) {
      ASSERT_TRUE(s.ok()) << s;
      EXPECT_EQ(decoded, Labels(labels.begin(), labels.begin() + pairs));
    } else {
      EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
      EXPECT_TRUE(decoded.empty());
    }
  }
}

// Bytes from small integers and characters: lengths read as numbers, names as letters.
std::string Bytes(std::initializer_list<int> bytes) {
  std::string out;
  for (int b : bytes) out.push_back(static_cast<char>(b));
  return out;
}

TEST(LabelCodecTest, CorruptInputIsDataLoss) {
  struct Case {
    std::string name;
    std::string bytes;
    std::string message_part;
  };
  const Case cases[] = {
      {"empty", "", "no label"},
      {"name longer than the input", Bytes({5, 'a', 'b'}),
       "truncated or bad label name at offset 0"},
      {"value longer than the input", Bytes({1, 'a', 9, 'x', 'y'}),
       "truncated or bad value of label \"a\" at offset 2"},
      {"missing value", Bytes({1, 'a'}), "truncated or bad value"},
      {"varint never ends", std::string(12, '\xff'), "truncated or bad label name"},
      {"overlong length varint", Bytes({0x81, 0x00, 'a', 1, '1'}),
       "truncated or bad label name at offset 0"},
      {"empty name", Bytes({0, 1, 'x'}), "empty label name"},
      {"empty value", Bytes({1, 'a', 0}), "empty value of label \"a\""},
      {"names out of order", Bytes({1, 'b', 1, '1', 1, 'a', 1, '2'}),
       "label name \"a\" out of order after \"b\" at offset 4"},
      {"duplicate names", Bytes({1, 'a', 1, '1', 1, 'a', 1, '2'}), "out of order"},
      {"trailing byte", Bytes({1, 'a', 1, '1', 7}), "truncated or bad label name at offset 4"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Labels decoded;
    const absl::Status s = DecodeLabels(c.bytes, &decoded);
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr(c.message_part));
    EXPECT_TRUE(decoded.empty());
  }
}

TEST(LabelCodecTest, GarbageNeverCrashesAndWhatDecodesReencodesTheSame) {
  std::mt19937_64 rng(7);  // The engine's output is fixed by the standard.
  const std::string valid =
      EncodeLabels({{"__name__", "model_requests_total"}, {"code", "200"}, {"job", "api"}});
  int decoded_ok = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string bytes;
    if (i % 2 == 0) {
      bytes.resize(rng() % 40);
      for (char& c : bytes) c = static_cast<char>(rng() % 8 == 0 ? rng() : rng() % 12);
    } else {
      bytes = valid;  // Mutate a few bytes of a valid encoding.
      for (int k = 0, n = 1 + rng() % 3; k < n; ++k)
        bytes[rng() % bytes.size()] ^= 1 << (rng() % 8);
    }
    Labels labels;
    const absl::Status s = DecodeLabels(bytes, &labels);
    if (s.ok()) {
      ++decoded_ok;
      EXPECT_EQ(EncodeLabels(labels), bytes);
    } else {
      EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
    }
  }
  EXPECT_GT(decoded_ok, 100);  // The property above was exercised, not just the error path.
}

// Values from the reference xxHash (libxxhash 0.8.1, XXH64 with seed 0). The hash is persisted
// in series keys: if this test fails, existing databases can no longer find their series.
TEST(HashLabelBytesTest, IsXxh64WithSeedZero) {
  struct Case {
    std::string bytes;
    uint64_t want;
  };
  const Case cases[] = {
      {"", 0xef46db3751d8e999ULL},
      {"a", 0xd24ec4f1a98c6e5bULL},
      {"abc", 0x44bc2cf5ad770999ULL},
      {"\x08__name__\x02up", 0xecd75f13400abdf5ULL},
      {"0123456789abcdef0123456789abcdef!", 0x8afff4daac4e677eULL},
      {"The quick brown fox jumps over the lazy dog", 0x0b242d361fda71bcULL},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.bytes);
    EXPECT_EQ(HashLabelBytes(c.bytes), c.want);
  }
}

TEST(HashLabelBytesTest, MatchesReferenceOnEveryLengthUpTo256) {
  // Prefixes of one pattern cover every tail length (8-, 4-, 1-byte steps) with and without
  // 32-byte stripes. The fold was computed the same way over the reference XXH64.
  std::string pattern(300, '\0');
  for (size_t i = 0; i < pattern.size(); ++i) pattern[i] = static_cast<char>((i * 31 + 7) & 0xff);
  uint64_t fold = 0;
  for (size_t n = 0; n <= 256; ++n) {
    fold = (fold * 0x100000001B3ULL) ^ HashLabelBytes(std::string_view(pattern).substr(0, n));
  }
  EXPECT_EQ(fold, 0xf1e5fa28763fc2b9ULL);
}

TEST(HashLabelBytesTest, DependsOnlyOnTheBytes) {
  // Same bytes at another address and alignment: same hash.
  const std::string a = EncodeLabels({{"__name__", "up"}, {"job", "api"}});
  const std::string padded = "xyz" + a;
  EXPECT_EQ(HashLabelBytes(a), HashLabelBytes(std::string_view(padded).substr(3)));
  EXPECT_NE(HashLabelBytes(a), HashLabelBytes(EncodeLabels({{"__name__", "up"}, {"job", "apj"}})));
}

}  // namespace
}  // namespace ember::storage
