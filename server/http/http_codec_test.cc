#include "server/http/http_codec.h"

#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ember::server {
namespace {

using ::testing::HasSubstr;

TEST(HttpCodecTest, PercentDecodePathHandPickedCases) {
  struct Case {
    std::string raw;
    std::string want;  // "" with want_error.
    bool want_error;
  };
  const Case cases[] = {
      {"/api/v1/query", "/api/v1/query", false},
      {"/a%2Fb", "/a/b", false},
      {"/%41%62%7e+", "/Ab~+", false},  // '+' is literal in a path.
      {"/%zz", "", true},
      {"/%4", "", true},
      {"/%", "", true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.raw);
    const absl::StatusOr<std::string> got = PercentDecodePath(c.raw);
    if (c.want_error) {
      EXPECT_TRUE(absl::IsInvalidArgument(got.status())) << got.status();
      EXPECT_THAT(std::string(got.status().message()), HasSubstr("invalid URL escape"));
    } else {
      ASSERT_TRUE(got.ok()) << got.status();
      EXPECT_EQ(*got, c.want);
    }
  }
}

TEST(HttpCodecTest, AcceptsGzipHandPickedCases) {
  struct Case {
    std::string value;
    bool want;
  };
  const Case cases[] = {
      {"", false},
      {"gzip", true},
      {"GZip", true},
      {"x-gzip", true},
      {"deflate, gzip;q=0.5", true},
      {"br , gzip ; q=1.0", true},
      {"gzip;q=0", false},
      {"gzip;q=0.000, *", false},  // Named refusal beats the wildcard.
      {"*", true},
      {"*;q=0", false},
      {"identity", false},
      {"gzipx", false},
      {"gzip;q=bogus", false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.value);
    EXPECT_EQ(AcceptsGzip(c.value), c.want);
  }
}

TEST(HttpCodecTest, GzipRoundTripsAndConcatenatedMembersInflate) {
  std::string data;
  for (int i = 0; i < 10000; ++i) data += static_cast<char>('a' + i * 7 % 26);
  const std::string compressed = Gzip(data);
  ASSERT_FALSE(compressed.empty());
  EXPECT_EQ(*Gunzip(compressed, data.size()), data);
  EXPECT_EQ(*Gunzip(compressed + Gzip("tail"), data.size() + 4), data + "tail");
  EXPECT_EQ(*Gunzip(Gzip(""), 0), "");
  EXPECT_EQ(*Gunzip("", 0), "");
}

TEST(HttpCodecTest, GunzipEnforcesTheLimit) {
  const std::string compressed = Gzip(std::string(100000, 'x'));
  EXPECT_TRUE(Gunzip(compressed, 100000).ok());
  EXPECT_TRUE(absl::IsResourceExhausted(Gunzip(compressed, 99999).status()));
}

TEST(HttpCodecTest, GunzipRejectsCorruptInput) {
  const std::string good = Gzip("some text that compresses somewhat, some text");
  std::string flipped = good;
  flipped[good.size() - 6] ^= 0x55;  // Inside the CRC32 trailer.
  for (const std::string& bad :
       {std::string("plain text"), good.substr(0, 10), flipped, good + "trailing garbage"}) {
    const absl::Status status = Gunzip(bad, 1 << 20).status();
    EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
    EXPECT_EQ(status.message().substr(0, 6), "gzip: ");
  }
}

TEST(HttpCodecTest, ConstantTimeEqualsComparesWholeStrings) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("token", "token"));
  EXPECT_FALSE(ConstantTimeEquals("token", "tokeN"));
  EXPECT_FALSE(ConstantTimeEquals("token", "token2"));
  EXPECT_FALSE(ConstantTimeEquals("", "x"));
  EXPECT_FALSE(ConstantTimeEquals(std::string("a\0", 2), "a"));
}

TEST(HttpCodecTest, PromErrorBodyEscapes) {
  EXPECT_EQ(PromErrorBody("bad_data", "say \"hi\"\\\n\x01"),
            R"({"status":"error","errorType":"bad_data","error":"say \"hi\"\\\n\u0001"})");
  // Valid UTF-8 is kept; an invalid byte becomes the escape \ufffd, as Go writes it.
  EXPECT_EQ(PromErrorBody("internal", "h\xC3\xA9 \xFF!"),
            "{\"status\":\"error\",\"errorType\":\"internal\",\"error\":\"h\xC3\xA9 \\ufffd!\"}");
}

}  // namespace
}  // namespace ember::server
