#include "server/api/params.h"

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ember::server {
namespace {

using ::testing::ElementsAre;

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();

TEST(FormDecodeTest, DecodesPercentEscapesAndPlus) {
  struct Case {
    std::string in;
    std::string want;
  };
  const Case cases[] = {
      {"", ""},
      {"up", "up"},
      {"match%5B%5D", "match[]"},
      {"match%5b%5d", "match[]"},
      {"a+b", "a b"},
      {"a%2Bb", "a+b"},
      {"%7Bjob%3D%22api%22%7D", "{job=\"api\"}"},
      {"%E6%97%A5", "\xe6\x97\xa5"},
      {"%00", std::string(1, '\0')},
      {"100%25", "100%"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.in);
    absl::StatusOr<std::string> got = FormDecode(c.in);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, c.want);
  }
}

TEST(FormDecodeTest, BadEscapeIsInvalidArgumentNamingIt) {
  struct Case {
    std::string in;
    std::string want;
  };
  const Case cases[] = {
      {"%zz", R"(invalid URL escape "%zz")"}, {"a%4", R"(invalid URL escape "%4")"},
      {"a%", R"(invalid URL escape "%")"},    {"%g0abc", R"(invalid URL escape "%g0")"},
      {"%0", R"(invalid URL escape "%0")"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.in);
    absl::StatusOr<std::string> got = FormDecode(c.in);
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(got.status().message(), c.want);
  }
}

TEST(ParamsTest, ReadsRepeatedMatchersFromTheQueryString) {
  absl::StatusOr<Params> p =
      Params::Parse("match%5B%5D=up&match%5B%5D=%7Bjob%3D%22api%22%7D&start=1", "", "");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_THAT(p->GetAll("match[]"), ElementsAre("up", "{job=\"api\"}"));
  EXPECT_EQ(p->Get("match[]"), "up");
  EXPECT_EQ(p->Get("start"), "1");
  EXPECT_EQ(p->Get("end"), std::nullopt);
  EXPECT_TRUE(p->GetAll("end").empty());
}

TEST(ParamsTest, PlusIsSpaceInNamesAndValues) {
  absl::StatusOr<Params> p = Params::Parse("query=sum+by+(job)+(up)&a+b=c", "", "");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->Get("query"), "sum by (job) (up)");
  EXPECT_EQ(p->Get("a b"), "c");
}

TEST(ParamsTest, EmptyValuesAndMissingEqualsArePresent) {
  absl::StatusOr<Params> p = Params::Parse("a=&b&&c=1=2", "", "");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->Get("a"), "");
  EXPECT_EQ(p->Get("b"), "");
  EXPECT_TRUE(p->Has("a"));
  EXPECT_TRUE(p->Has("b"));
  EXPECT_EQ(p->Get("c"), "1=2");  // Split at the first '='.
  EXPECT_FALSE(p->Has(""));
}

TEST(ParamsTest, ReadsFormBodyBeforeTheUrlLikeGoRequestForm) {
  absl::StatusOr<Params> p =
      Params::Parse("query=from_url&time=1", "application/x-www-form-urlencoded",
                    "query=from_body&match%5B%5D=a&match%5B%5D=b");
  ASSERT_TRUE(p.ok()) << p.status();
  // Go's FormValue prefers the body; Form["query"] holds both, body first.
  EXPECT_EQ(p->Get("query"), "from_body");
  EXPECT_THAT(p->GetAll("query"), ElementsAre("from_body", "from_url"));
  EXPECT_THAT(p->GetAll("match[]"), ElementsAre("a", "b"));
  EXPECT_EQ(p->Get("time"), "1");
}

TEST(ParamsTest, ContentTypeParametersAndCaseAreIgnored) {
  const std::string types[] = {"application/x-www-form-urlencoded; charset=UTF-8",
                               "Application/X-WWW-Form-URLEncoded",
                               " application/x-www-form-urlencoded ;charset=utf-8"};
  for (const std::string& type : types) {
    SCOPED_TRACE(type);
    absl::StatusOr<Params> p = Params::Parse("", type, "query=up");
    ASSERT_TRUE(p.ok()) << p.status();
    EXPECT_EQ(p->Get("query"), "up");
  }
}

TEST(ParamsTest, OtherBodiesAreNotRead) {
  const std::string types[] = {"", "application/json", "text/plain",
                               "application/x-www-form-urlencodedx", "multipart/form-data"};
  for (const std::string& type : types) {
    SCOPED_TRACE(type);
    absl::StatusOr<Params> p = Params::Parse("a=1", type, "query=up");
    ASSERT_TRUE(p.ok()) << p.status();
    EXPECT_FALSE(p->Has("query"));
    EXPECT_EQ(p->Get("a"), "1");
  }
}

TEST(ParamsTest, BadEscapeIsInvalidArgument) {
  absl::StatusOr<Params> p = Params::Parse("query=%zz", "", "");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(p.status().message()), ::testing::HasSubstr("invalid URL escape"));

  p = Params::Parse("", "application/x-www-form-urlencoded", "%4=x");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ParamsTest, SemicolonIsNotASeparator) {
  // Go 1.17+ rejects a raw ';' instead of splitting on it; an escaped one is data.
  absl::StatusOr<Params> p = Params::Parse("a=1;b=2", "", "");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(p.status().message()),
              ::testing::HasSubstr("invalid semicolon separator in query"));

  p = Params::Parse("query=a%3Bb", "", "");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->Get("query"), "a;b");
}

TEST(ParseTimeParamTest, FloatSecondsRoundToTheMillisecond) {
  struct Case {
    std::string in;
    int64_t want;
  };
  const Case cases[] = {
      {"1435781451.781", 1435781451781},
      {"1435781451", 1435781451000},
      {"1435781451.7814", 1435781451781},
      {"1.0625", 1063},  // Exactly representable: half rounds away from zero, as Go's Round.
      {"-1.0625", -1063},
      {"1.5e9", 1500000000000},
      {"1.5E9", 1500000000000},
      {"1e-3", 1},
      {"0.0004", 0},
      {"0.0005", 1},
      {"0.9999", 1000},
      {"0", 0},
      {"-0", 0},
      {"+1.5", 1500},
      {"-1.5", -1500},
      {"-1435781451.781", -1435781451781},
      {".5", 500},
      {"5.", 5000},
      {"0x1p4", 16000},                           // Go's ParseFloat takes hexadecimal floats.
      {"1e-400", 0},                              // Underflow is 0 in Go, not an error.
      {"9000000000000000", 9000000000000000000},  // Near the end of int64 milliseconds.
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.in);
    absl::StatusOr<int64_t> got = ParseTimeParam(c.in);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, c.want);
  }
}

TEST(ParseTimeParamTest, Rfc3339WithZoneOffsetsAndFractions) {
  struct Case {
    std::string in;
    int64_t want;
  };
  const Case cases[] = {
      {"2015-07-01T20:10:51.781Z", 1435781451781},
      {"2015-07-01T20:10:51Z", 1435781451000},
      {"2015-07-01T20:10:51.7Z", 1435781451700},
      {"2015-07-01T20:10:51.781999999Z", 1435781451781},  // Truncated, not rounded.
      {"2015-07-01T20:10:51.000000001Z", 1435781451000},
      {"2015-07-01T20:10:51.7819999999999Z", 1435781451781},  // Digits past the 9th ignored.
      {"2015-07-01T22:10:51.781+02:00", 1435781451781},
      {"2015-07-01T15:40:51.781-04:30", 1435781451781},
      {"2015-07-01T20:10:51.781+00:00", 1435781451781},
      {"2015-07-01T20:10:51.781-00:00", 1435781451781},
      {"1970-01-01T00:00:00Z", 0},
      {"1969-12-31T23:59:59.999Z", -1},
      {"1969-12-31T23:59:59.9995Z", -1},  // Toward the past, as Go's Time.UnixMilli.
      {"0000-01-01T00:00:00Z", -62167219200000},
      {"9999-12-31T23:59:59Z", 253402300799000},
      {"2016-02-29T00:00:00Z", 1456704000000},
      {"2000-03-01T00:30:00+01:00", 951867000000},
      // Go's layout-driven fallback parser also takes these.
      {"2015-07-01T20:10:51,781Z", 1435781451781},
      {"2015-07-01T20:10:51,781999999Z", 1435781451781},
      {"2015-07-01T2:10:51Z", 1435716651000},
      {"2015-07-01T20:10:51+24:00", 1435695051000},
      {"2015-07-01T20:10:51+02:60", 1435770651000},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.in);
    absl::StatusOr<int64_t> got = ParseTimeParam(c.in);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, c.want);
  }
}

TEST(ParseTimeParamTest, PrometheusMinAndMaxTimeStrings) {
  absl::StatusOr<int64_t> min = ParseTimeParam("-292273086-05-16T16:47:06Z");
  ASSERT_TRUE(min.ok()) << min.status();
  EXPECT_EQ(*min, kMinTimeMs);
  absl::StatusOr<int64_t> max = ParseTimeParam("292277025-08-18T07:12:54.999999999Z");
  ASSERT_TRUE(max.ok()) << max.status();
  EXPECT_EQ(*max, kMaxTimeMs);
  // What Prometheus's MinTime / MaxTime are: 62135596801 s inside the int64 range of seconds.
  EXPECT_EQ(kMinTimeMs, (kInt64Min / 1000 + 62135596801) * 1000);
  EXPECT_EQ(kMaxTimeMs, (kInt64Max / 1000 - 62135596801) * 1000 + 999);
}

TEST(ParseTimeParamTest, RejectsWhatPrometheusRejects) {
  const std::string inputs[] = {
      "",
      "x",
      "now",
      "NaN",
      "1h",
      "1_000",
      "0x10",  // A hexadecimal float needs a 'p' exponent.
      "1e",
      "+nan",
      "infinit",
      " 1",
      "1 ",
      "2015-07-01",
      "2015-07-01T20:10:51",              // No zone.
      "2015-07-01 20:10:51Z",             // Space for 'T'.
      "2015-07-01t20:10:51Z",             // Lower-case 't'.
      "2015-07-01T20:10:51z",             // Lower-case 'z'.
      "2015-07-01T20:10:51.Z",            // A '.' without digits.
      "2015-07-01T20:10:51,1234567890Z",  // Comma fraction beyond 9 digits.
      "2015-07-01T2:10:51.1234567890Z",   // One-digit hour and a fraction beyond 9 digits.
      "2015-07-01T2:10:51+24:61",         // One-digit hour and offset minute 61.
      "2015-07-01T20:10:51+0200",         // Offset without colon.
      "2015-07-01T20:10:51+02",           // Short offset.
      "2015-07-01T20:10:51+25:00",        // Offset hour out of range.
      "2015-07-01T20:10:51+02:61",        // Offset minute out of range.
      "2015-07-01T20:10:51.123456789012345+24:00",  // Neither parser takes both.
      "2015-07-01T20:10:51.781Zjunk",
      "2015-07-01T:10:51Z",             // No hour.
      "2015-07-01T123:10:51Z",          // Three-digit hour.
      "2015-07-01T20:1:51Z",            // One-digit minute.
      "2015-07-01T24:00:00Z",           // Hour out of range.
      "2015-07-01T20:60:00Z",           // Minute out of range.
      "2015-07-01T20:10:60Z",           // Leap second.
      "2015-02-29T00:00:00Z",           // Not a leap year.
      "2015-13-01T00:00:00Z",           // Month 13.
      "2015-00-01T00:00:00Z",           // Month 0.
      "2015-04-31T00:00:00Z",           // April 31st.
      "15-07-01T20:10:51Z",             // Two-digit year.
      "12015-07-01T20:10:51Z",          // Five-digit year.
      "-292273086-05-16T16:47:07Z",     // Only the exact boundary strings.
      "292277025-08-18T07:12:54.999Z",  //
  };
  for (const std::string& in : inputs) {
    SCOPED_TRACE(in);
    absl::StatusOr<int64_t> got = ParseTimeParam(in);
    ASSERT_FALSE(got.ok()) << *got;
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(got.status().message(), "cannot parse \"" + in + "\" to a valid timestamp");
  }
}

TEST(ParseTimeParamTest, RejectsTimesBeyondInt64Milliseconds) {
  // Prometheus would wrap these around (Go's float to int64 conversion); they get a clear error.
  const std::string inputs[] = {"1e300", "-1e300", "Inf", "+inf", "-Infinity", "9.3e15", "-9.3e15"};
  for (const std::string& in : inputs) {
    SCOPED_TRACE(in);
    absl::StatusOr<int64_t> got = ParseTimeParam(in);
    ASSERT_FALSE(got.ok()) << *got;
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(
        got.status().message(),
        "cannot parse \"" + in + "\" to a valid timestamp: out of the range of int64 milliseconds");
  }
}

TEST(ParseTimeParamTest, ErrorQuotesTheInputLikeGo) {
  absl::StatusOr<int64_t> got = ParseTimeParam("a\"b\\c\nd");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().message(), R"(cannot parse "a\"b\\c\nd" to a valid timestamp)");
}

TEST(ParseDurationParamTest, FloatSecondsAndPrometheusDurations) {
  struct Case {
    std::string in;
    int64_t want;
  };
  const Case cases[] = {
      {"15", 15000},
      {"0.5", 500},
      {"1.5e1", 15000},
      {"0", 0},
      {"0.0015", 1},  // Truncated, as the engine divides time.Duration by a millisecond.
      {"0.0009", 0},
      {"-15", -15000},  // The caller rejects steps <= 0.
      {"-0.0015", -1},
      {"100ms", 100},
      {"1s", 1000},
      {"5m", 300000},
      {"1h", 3600000},
      {"1d", 86400000},
      {"1w", 604800000},
      {"1y", 31536000000},
      {"1h30m", 5400000},
      {"1m0s", 60000},
      {"0s", 0},
      {"1m30s500ms", 90500},
      {"1y2w3d4h5m6s7ms", 31536000000 + 1209600000 + 259200000 + 14400000 + 300000 + 6000 + 7},
      {"90m", 5400000},
      {"0015s", 15000},
      {"292y", 292 * 31536000000},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.in);
    absl::StatusOr<int64_t> got = ParseDurationParam(c.in);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, c.want);
  }
}

TEST(ParseDurationParamTest, RejectsWhatPrometheusRejects) {
  const std::string inputs[] = {
      "",                       // Empty.
      "x",                      //
      "1.5h",                   // Fractions only as plain seconds.
      "-1h",                    // No sign.
      "+1h",                    //
      "1h1h",                   // A unit twice.
      "30m1h",                  // Units out of order.
      "1ms1s",                  //
      "1d1w",                   //
      "h",                      // No number.
      "m5",                     //
      "1H",                     // Units are lower-case.
      "1 h",                    // No spaces.
      "1h ",                    //
      "1hm",                    // A unit without a number.
      "1us",                    // Go's units Prometheus lacks.
      "1ns",                    //
      "1x",                     // No such unit.
      "NaN",                    // Not a number of seconds.
      "300y",                   // Beyond time.Duration.
      "99999999999999999999s",  // Beyond int64.
  };
  for (const std::string& in : inputs) {
    SCOPED_TRACE(in);
    absl::StatusOr<int64_t> got = ParseDurationParam(in);
    ASSERT_FALSE(got.ok()) << *got;
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(got.status().message(), "cannot parse \"" + in + "\" to a valid duration");
  }
}

TEST(ParseDurationParamTest, OverflowingFloatSaysSo) {
  const std::string inputs[] = {"1e10", "-1e10", "Inf", "-Inf", "9223372037"};
  for (const std::string& in : inputs) {
    SCOPED_TRACE(in);
    absl::StatusOr<int64_t> got = ParseDurationParam(in);
    ASSERT_FALSE(got.ok()) << *got;
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(got.status().message(),
              "cannot parse \"" + in + "\" to a valid duration. It overflows int64");
  }
  // Just inside time.Duration's range.
  absl::StatusOr<int64_t> got = ParseDurationParam("9223372036");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, 9223372036000);
}

}  // namespace
}  // namespace ember::server
