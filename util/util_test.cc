// util/: durations, quoting, the clock.
#include <cstdint>
#include <string>
#include <utility>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "util/clock.h"
#include "util/duration.h"
#include "util/quote.h"

namespace ember::util {
namespace {

using ::testing::HasSubstr;

TEST(DurationTest, ParsesEveryUnitLargestFirst) {
  EXPECT_EQ(*ParseDuration("0"), 0);
  EXPECT_EQ(*ParseDuration("0s"), 0);
  EXPECT_EQ(*ParseDuration("500ms"), 500);
  EXPECT_EQ(*ParseDuration("1h30m"), 90 * 60'000);
  EXPECT_EQ(*ParseDuration("1y2w3d4h5m6s7ms"),
            ((((365LL + 14 + 3) * 24 + 4) * 60 + 5) * 60 + 6) * 1000 + 7);
}

TEST(DurationTest, RefusesMalformedTextNamingIt) {
  for (const char* bad : {"", "1", "h", "1.5h", "-1h", "1m1h", "1h1h", "1 h", "1x", "1H"}) {
    SCOPED_TRACE(bad);
    const absl::StatusOr<int64_t> d = ParseDuration(bad);
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(ParseDuration("5x").status().message(), "unknown unit \"x\" in duration \"5x\"");
  EXPECT_EQ(ParseDuration("1m1h").status().message(), "not a valid duration string: \"1m1h\"");
}

TEST(DurationTest, RefusesOtherSyntaxWithPrometheusWording) {
  const std::pair<std::string, std::string> cases[] = {
      {"", "empty duration string"},
      {"5x", "unknown unit \"x\" in duration \"5x\""},
      {"1.5h", "unknown unit \".\" in duration \"1.5h\""},
      {"30m1h", "not a valid duration string: \"30m1h\""},
      {"5m5m", "not a valid duration string: \"5m5m\""},
      {"5", "not a valid duration string: \"5\""},
      {"-5m", "not a valid duration string: \"-5m\""},
      {" 5m", "not a valid duration string: \" 5m\""},
      {"s", "not a valid duration string: \"s\""},
      {"300y", "duration out of range"},
      {"99999999999999999999s", "not a valid duration string: \"99999999999999999999s\""},
  };
  for (const auto& [in, want] : cases) {
    SCOPED_TRACE(in);
    EXPECT_EQ(ParseDuration(in).status(), absl::InvalidArgumentError(want));
  }
}

TEST(DurationTest, RefusesWhatOverflowsGoDuration) {
  EXPECT_TRUE(ParseDuration("292y").ok());
  EXPECT_THAT(std::string(ParseDuration("293y").status().message()), HasSubstr("out of range"));
  EXPECT_FALSE(ParseDuration("99999999999999999999999s").ok());
}

TEST(DurationTest, FormatsAsPrometheusModelDuration) {
  EXPECT_EQ(FormatDuration(0), "0s");
  EXPECT_EQ(FormatDuration(500), "500ms");
  EXPECT_EQ(FormatDuration(90 * 60'000), "1h30m");
  EXPECT_EQ(FormatDuration(90LL * 24 * 3600'000), "90d");  // Not 12w6d.
  EXPECT_EQ(FormatDuration(14LL * 24 * 3600'000), "2w");
  EXPECT_EQ(FormatDuration(365LL * 24 * 3600'000), "1y");
  EXPECT_EQ(FormatDuration(-61'000), "-1m1s");
  EXPECT_EQ(*ParseDuration(FormatDuration(123'456'789)), 123'456'789);
}

TEST(DurationTest, AcceptsPrometheusDurationsOnly) {
  struct Case {
    std::string in;
    int64_t want_ms;
  };
  const Case ok[] = {{"0", 0},
                     {"0s", 0},
                     {"15s", 15'000},
                     {"1m30s", 90'000},
                     {"1h", 3'600'000},
                     {"100ms", 100},
                     {"1d", 86'400'000},
                     {"1w", 604'800'000},
                     {"1y", 31'536'000'000},
                     {"1h30m15s100ms", 5'415'100},
                     {"292y", 9'208'512'000'000}};
  for (const Case& c : ok) {
    SCOPED_TRACE(c.in);
    absl::StatusOr<int64_t> got = ParseDuration(c.in);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, c.want_ms);
  }
  struct Bad {
    std::string in;
    std::string want;
  };
  const Bad bad[] = {
      {"", "empty duration string"},
      {"15", "not a valid duration string: \"15\""},
      {"1.5", "unknown unit \".\" in duration \"1.5\""},
      {"1m1h", "not a valid duration string: \"1m1h\""},
      {"1s1s", "not a valid duration string: \"1s1s\""},
      {"5x", "unknown unit \"x\" in duration \"5x\""},
      {"-1s", "not a valid duration string: \"-1s\""},
      {" 1s", "not a valid duration string: \" 1s\""},
      {"s", "not a valid duration string: \"s\""},
      {"300y", "duration out of range"},
      {"99999999999999999999s", "not a valid duration string: \"99999999999999999999s\""},
  };
  for (const Bad& c : bad) {
    SCOPED_TRACE(c.in);
    absl::StatusOr<int64_t> got = ParseDuration(c.in);
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(got.status().message(), c.want);
  }
}

TEST(DurationTest, FormatsAndParsesBack) {
  struct Case {
    int64_t ms;
    std::string want;
  };
  const Case cases[] = {{0, "0s"},           {100, "100ms"},           {15'000, "15s"},
                        {90'000, "1m30s"},   {3'723'000, "1h2m3s"},    {86'400'000, "1d"},
                        {604'800'000, "1w"}, {8 * 86'400'000LL, "8d"}, {31'536'000'000, "1y"}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.want);
    EXPECT_EQ(FormatDuration(c.ms), c.want);
    absl::StatusOr<int64_t> back = ParseDuration(c.want);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, c.ms);
  }
}

TEST(QuoteTest, GoQuoteEscapesAsStrconvQuote) {
  EXPECT_EQ(GoQuote("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(GoQuote("\n\t\x01\x7f"), "\"\\n\\t\\x01\\x7f\"");
  EXPECT_EQ(GoQuote("ünï"), "\"ünï\"");
  EXPECT_EQ(GoQuote("\xff"), "\"\\xff\"");
  EXPECT_EQ(GoQuote("\xed\xa0\x80"), "\"\\xed\\xa0\\x80\"");  // A UTF-16 surrogate.
}

TEST(QuoteTest, QuoteInputCutsLongInputBetweenCharacters) {
  EXPECT_EQ(QuoteInput("abc"), "\"abc\"");
  EXPECT_EQ(QuoteInput("a\nb"), "\"a\\nb\"");
  EXPECT_EQ(QuoteInput(std::string(100, 'x'), 4), "\"xxxx...\"");
  EXPECT_EQ(QuoteInput("abé", 3), "\"ab...\"");  // é is two bytes: not split.
  EXPECT_EQ(QuoteInput("\xff"), "\"\\xff\"");
}

TEST(QuoteTest, QuoteInputHexEscapesControlsAndKeepsValidUtf8) {
  EXPECT_EQ(QuoteInput("\x01é\x7f"), "\"\\x01é\\x7f\"");  // Hex, as for invalid input.
  EXPECT_EQ(QuoteInput("\x01\xff"), "\"\\x01\\xff\"");
}

TEST(ClockTest, NowMsIsTheWallClockInMilliseconds) {
  const int64_t now = NowMs();
  EXPECT_GT(now, 1'700'000'000'000);  // After November 2023.
  EXPECT_LT(now, 4'000'000'000'000);  // Milliseconds, not micro- or nanoseconds.
}

}  // namespace
}  // namespace ember::util
