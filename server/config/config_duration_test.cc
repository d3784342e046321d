#include "server/config/config.h"

#include <stdlib.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "ember/labels.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/scrape/relabel.h"

namespace ember::server {
namespace {

using ::testing::HasSubstr;

TEST(ParseConfigDurationTest, AcceptsPrometheusDurationsOnly) {
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
    absl::StatusOr<int64_t> got = ParseConfigDuration(c.in);
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
    absl::StatusOr<int64_t> got = ParseConfigDuration(c.in);
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(got.status().message(), c.want);
  }
}

TEST(ParseConfigDurationTest, FormatsAsPrometheus) {
  struct Case {
    int64_t ms;
    std::string want;
  };
  const Case cases[] = {{0, "0s"},           {100, "100ms"},           {15'000, "15s"},
                        {90'000, "1m30s"},   {3'723'000, "1h2m3s"},    {86'400'000, "1d"},
                        {604'800'000, "1w"}, {8 * 86'400'000LL, "8d"}, {31'536'000'000, "1y"}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.want);
    EXPECT_EQ(FormatConfigDuration(c.ms), c.want);
    absl::StatusOr<int64_t> back = ParseConfigDuration(c.want);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, c.ms);
  }
}

}  // namespace
}  // namespace ember::server
