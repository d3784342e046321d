// Broken remote write bodies, for both versions (see remote_write_testing.h): truncated or corrupt
// snappy, garbage protobuf, and decompressed sizes over the limit.
#include "ingest/remote_write_testing.h"

namespace ember::ingest {
namespace {

TEST(RemoteWriteTest, TruncatedSnappyIsInvalidArgumentAtEveryLength) {
  for (const Version& version : kVersions) {
    SCOPED_TRACE(version.name);
    const std::string body = version.encode(SampleBatch());
    for (size_t n = 1; n < body.size(); ++n) {
      SCOPED_TRACE(n);
      DecodedBatch got;
      // A copy of just the prefix, so that AddressSanitizer would catch a read past it.
      const absl::Status s = version.decode(body.substr(0, n), &got);
      EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
      EXPECT_THAT(s.message(), HasSubstr("snappy: corrupt or truncated block"));
    }
  }
}

TEST(RemoteWriteTest, CorruptSnappyIsInvalidArgument) {
  // A literal that claims more bytes than the block has, and a copy reaching before the start.
  const std::string cases[] = {std::string("\x05\x10"
                                           "ab",
                                           4),
                               std::string("\x04\x01\x05", 3),
                               std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11)};
  for (const Version& version : kVersions) {
    SCOPED_TRACE(version.name);
    for (const std::string& body : cases) {
      DecodedBatch got;
      const absl::Status s = version.decode(body, &got);
      EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
      EXPECT_THAT(s.message(), HasSubstr("snappy: corrupt or truncated block"));
    }
  }
}

TEST(RemoteWriteTest, GarbageProtobufInValidSnappyIsInvalidArgument) {
  const std::string garbage[] = {
      std::string("\x0a\xff\x01", 3),              // Field 1, 255 bytes long, in a 3-byte message.
      std::string("\x0f", 1),                      // Wire type 7 does not exist.
      std::string("\x00\x01", 2),                  // Field number 0.
      std::string("\x2a\x05\x0a\x03\x0a\x01", 6),  // A message cut short inside another.
  };
  for (const Version& version : kVersions) {
    SCOPED_TRACE(version.name);
    for (const std::string& g : garbage) {
      DecodedBatch got;
      const absl::Status s = version.decode(SnappyLiterals(g), &got);
      EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
      EXPECT_THAT(s.message(), HasSubstr("protobuf: cannot parse"));
      EXPECT_THAT(s.message(), HasSubstr(absl::StrCat("(", g.size(), " bytes)")));
    }
  }
}

TEST(RemoteWriteTest, DecompressedSizeOverTheLimitIsResourceExhaustedBeforeAllocating) {
  // Only the length header: the claim alone must be refused (the default limit is 64 MiB).
  // Snappy's header is a 32-bit varint, so 2^32 - 1 is the largest claim there can be.
  for (uint64_t claimed : {(uint64_t{64} << 20) + 1, (uint64_t{1} << 32) - 1}) {
    std::string body;
    PutVarint(claimed, &body);
    for (const Version& version : kVersions) {
      SCOPED_TRACE(version.name);
      DecodedBatch got;
      const absl::Status s = version.decode(body, &got);
      EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
      EXPECT_THAT(s.message(), HasSubstr(absl::StrCat("snappy: decompressed size ", claimed,
                                                      " exceeds the limit of 67108864 bytes")));
    }
  }
  // At the limit, the claim passes and the missing bytes are what is wrong.
  std::string body;
  PutVarint(uint64_t{64} << 20, &body);
  DecodedBatch got;
  EXPECT_THAT(DecodeRemoteWriteV1(body, &got).message(),
              HasSubstr("snappy: corrupt or truncated block"));
}

TEST(RemoteWriteTest, CallerChosenLimitAppliesToTheDecompressedSize) {
  // A small body that decompresses to 1000 bytes: a snappy bomb in miniature.
  DecodedBatch batch;
  batch.series.push_back({{{"__name__", std::string(980, 'a')}}, {{1, 2}}, 0});
  struct LimitedVersion {
    const char* name;
    absl::Status (*decode)(std::string_view, size_t, DecodedBatch*);
    std::string (*encode)(const DecodedBatch&);
  };
  const LimitedVersion versions[] = {{"1.0", DecodeRemoteWriteV1, EncodeRemoteWriteV1},
                                     {"2.0", DecodeRemoteWriteV2, EncodeRemoteWriteV2}};
  for (const auto& [name, decode, encode] : versions) {
    SCOPED_TRACE(name);
    const std::string body = encode(batch);
    ASSERT_LT(body.size(), 100u);
    // Snappy's length header: a little-endian base-128 varint.
    size_t decoded = 0;
    for (size_t i = 0, shift = 0; i < 5 && i < body.size(); ++i, shift += 7) {
      decoded |= static_cast<size_t>(body[i] & 0x7f) << shift;
      if ((body[i] & 0x80) == 0) break;
    }
    ASSERT_GT(decoded, 980u);
    DecodedBatch got;
    const absl::Status s = decode(body, decoded - 1, &got);
    EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
    EXPECT_THAT(s.message(), HasSubstr(absl::StrCat("decompressed size ", decoded,
                                                    " exceeds the limit of ", decoded - 1)));
    EXPECT_TRUE(decode(body, decoded, &got).ok());
  }
}
}  // namespace
}  // namespace ember::ingest
