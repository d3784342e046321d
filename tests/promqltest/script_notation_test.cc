// The test-script notation (see script_testing.h): durations, Go numbers and quoting, value
// sequences, series descriptors and start timestamps.
#include "tests/promqltest/script_testing.h"

namespace ember::promqltest {
namespace {

// ---------------------------------------------------------------------------------------------
// Durations and numbers.

TEST(DurationTest, ParsesPrometheusDurations) {
  struct Case {
    std::string text;
    int64_t want_ms;
  };
  const Case cases[] = {{"0", 0},
                        {"0s", 0},
                        {"5m", 300'000},
                        {"1h30m", 5'400'000},
                        {"10s53ms", 10'053},
                        {"1111111s", 1'111'111'000},
                        {"1d", 86'400'000},
                        {"2w", 1'209'600'000},
                        {"1y", 31'536'000'000},
                        {"100ms", 100}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    absl::StatusOr<int64_t> ms = ParseDuration(c.text);
    ASSERT_TRUE(ms.ok()) << ms.status();
    EXPECT_EQ(*ms, c.want_ms);
  }
}

TEST(DurationTest, RejectsFractionsSignsAndDisorder) {
  for (const char* text : {"", "1.5h", "-5m", "5", "30m1h", "1m1m", "5x", "m", "1h 30m"}) {
    SCOPED_TRACE(text);
    EXPECT_FALSE(ParseDuration(text).ok());
  }
}

TEST(GoNumberTest, FollowsParseIntThenParseFloat) {
  struct Case {
    std::string text;
    double want;
  };
  const Case cases[] = {{"7", 7},
                        {"-2.5", -2.5},
                        {"1e+100", 1e100},
                        {".5", 0.5},
                        {"5.", 5},
                        {"0x1F", 31},
                        {"017", 15},
                        {"0o17", 15},
                        {"0b101", 5},
                        {"1_000", 1000},
                        {"08", 8},
                        {"+Inf", HUGE_VAL},
                        {"-inf", -HUGE_VAL},
                        {"Infinity", HUGE_VAL},
                        {"0.00001234", 0.00001234},
                        {"0x1p-2", 0.25},
                        {"12340000", 12340000}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    absl::StatusOr<double> v = ParseGoNumber(c.text);
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_EQ(*v, c.want);
  }
  absl::StatusOr<double> nan = ParseGoNumber("NaN");
  ASSERT_TRUE(nan.ok());
  EXPECT_TRUE(std::isnan(*nan));
  for (const char* bad : {"", "1e400", "foo", "1x3", "_1", "1__0", "1_", "+nan", "5m", "{} 1"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(ParseGoNumber(bad).ok());
  }
}

TEST(UnquoteTest, DecodesGoEscapes) {
  struct Case {
    std::string literal;
    std::string want;
  };
  const Case cases[] = {{R"("plain")", "plain"},
                        {R"("a\"b")", "a\"b"},
                        {R"('it\'s')", "it's"},
                        {R"("\n\t\\")", "\n\t\\"},
                        {R"("\x41\101")", "AA"},
                        {R"("\u00e9\U0001F600")", "\xc3\xa9\xf0\x9f\x98\x80"},
                        {R"("\xff")", "\xff"},
                        {"`raw \\n`", "raw \\n"},
                        {R"("")", ""}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.literal);
    absl::StatusOr<std::string> s = UnquoteString(c.literal);
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(*s, c.want);
  }
  for (const char* bad : {R"("open)", R"("\q")", R"("\x4")", R"('a\"')", "plain", R"("a"b")"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(UnquoteString(bad).ok());
  }
}

// ---------------------------------------------------------------------------------------------
// Value notation.

TEST(ValueSequenceTest, ExpandsEveryNotation) {
  struct Case {
    std::string text;
    std::vector<std::optional<double>> want;
  };
  const std::optional<double> gap;
  const Case cases[] = {
      {"7 -2.5 1e+100 .5", {7, -2.5, 1e100, 0.5}},
      {"Inf -Inf inf -INF", {HUGE_VAL, -HUGE_VAL, HUGE_VAL, -HUGE_VAL}},
      {"1 _ 3", {1, gap, 3}},
      {"_x3 1", {gap, gap, gap, 1}},
      {"_x0 1", {1}},
      {"300x2", {300, 300, 300}},
      {"0x3", {0, 0, 0, 0}},
      {"0+10x5", {0, 10, 20, 30, 40, 50}},
      {"10-2x3", {10, 8, 6, 4}},
      {"-1-1x2", {-1, -2, -3}},
      {"0+10x1 100+30x1", {0, 10, 100, 130}},
      {"  1\t\t2  ", {1, 2}},
      {"", {}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    absl::StatusOr<std::vector<SequenceValue>> v = ParseValueSequence(c.text);
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_EQ(Floats(*v), c.want);
  }
}

TEST(ValueSequenceTest, NaNAndStaleAreDistinctNaNs) {
  absl::StatusOr<std::vector<SequenceValue>> v = ParseValueSequence("NaN nan stale stale");
  ASSERT_TRUE(v.ok()) << v.status();
  ASSERT_EQ(v->size(), 4u);
  EXPECT_TRUE(std::isnan((*v)[0].value));
  EXPECT_TRUE(std::isnan((*v)[1].value));
  EXPECT_FALSE(IsStaleNaN((*v)[0].value));
  EXPECT_EQ(Bits((*v)[2].value), 0x7ff0000000000002ULL);
  EXPECT_EQ(Bits((*v)[3].value), kStaleNaNBits);
}

TEST(ValueSequenceTest, IncrementsAccumulateLikePrometheus) {
  // Prometheus's grammar adds the step to a running value; a + i*b would differ in the last
  // bit: ten additions of 0.1 give 0.9999999999999999, while 0.1 + 9 * 0.1 is 1.
  absl::StatusOr<std::vector<SequenceValue>> v = ParseValueSequence("0.1+0.1x9");
  ASSERT_TRUE(v.ok()) << v.status();
  ASSERT_EQ(v->size(), 10u);
  double acc = 0.1;
  for (size_t i = 0; i < v->size(); ++i, acc += 0.1) {
    EXPECT_EQ(Bits((*v)[i].value), Bits(acc)) << "position " << i;
  }
  EXPECT_EQ(v->back().value, 0.9999999999999999);
  EXPECT_NE(v->back().value, 0.1 + 9 * 0.1);
}

TEST(ValueSequenceTest, RejectsMalformedItems) {
  for (const char* bad : {"1+2", "5m", "foo", "-stale", "stalex2", "1 +", "1x", "1xa", "1+-2x3",
                          "{{count:1", "{{count:1}}+{{count:1}}", "1,2", "{{bogus:1}}",
                          "{{schema:9}}", "{{buckets:1}}", "{{count:1 count:2}}"}) {
    SCOPED_TRACE(bad);
    absl::StatusOr<std::vector<SequenceValue>> v = ParseValueSequence(bad);
    EXPECT_FALSE(v.ok()) << "parsed into " << v->size() << " values";
  }
}

TEST(ValueSequenceTest, HistogramsBecomeMarkedPositions) {
  absl::StatusOr<std::vector<SequenceValue>> v = ParseValueSequence(
      "1 {{schema:1 sum:5 count:3 z_bucket:1 z_bucket_w:0.001 buckets:[1 2] offset:-1 "
      "n_buckets:[4] n_offset:2 counter_reset_hint:gauge}}x1 {{ }} "
      "{{schema:-53 count:1 custom_values:[5 10] buckets:[1]}}+{{count:2}}x2");
  ASSERT_TRUE(v.ok()) << v.status();
  ASSERT_EQ(v->size(), 7u);
  EXPECT_TRUE((*v)[0].is_float());
  const HistogramLiteral& h = *(*v)[1].histogram;
  EXPECT_EQ(h.schema, 1);
  EXPECT_EQ(h.sum, 5);
  EXPECT_EQ(h.count, 3);
  EXPECT_EQ(h.zero_count, 1);
  EXPECT_EQ(h.zero_threshold, 0.001);
  EXPECT_THAT(h.buckets, ElementsAre(1, 2));
  EXPECT_EQ(h.offset, -1);
  EXPECT_THAT(h.negative_buckets, ElementsAre(4));
  EXPECT_EQ(h.negative_offset, 2);
  EXPECT_EQ(h.counter_reset_hint, "gauge");
  EXPECT_EQ((*v)[2].histogram, (*v)[1].histogram);  // x1: two copies.
  EXPECT_EQ((*v)[3].histogram->zero_threshold, 0);  // {{ }}: all defaults.
  EXPECT_EQ((*v)[3].histogram->counter_reset_hint, "");
  for (int i = 0; i < 3; ++i) {
    const SequenceValue& x = (*v)[4 + i];
    ASSERT_TRUE(x.is_histogram());
    EXPECT_EQ(x.histogram->schema, -53);
    EXPECT_THAT(x.histogram->custom_values, ElementsAre(5, 10));
    EXPECT_EQ(x.delta_steps, i);
    EXPECT_EQ(x.histogram_delta == nullptr, i == 0);
  }
  absl::StatusOr<std::vector<SequenceValue>> minus =
      ParseValueSequence("{{count:9}}-{{count:1}}x1");
  ASSERT_TRUE(minus.ok()) << minus.status();
  EXPECT_EQ((*minus)[1].delta_steps, -1);
}

// ---------------------------------------------------------------------------------------------
// Series descriptors.

TEST(SeriesLineTest, ReadsEveryDescriptorForm) {
  struct Case {
    std::string text;
    Labels want;
  };
  const Case cases[] = {
      {"up 1", {{"__name__", "up"}}},
      {"a:b_c{x=\"1\"} 1", {{"__name__", "a:b_c"}, {"x", "1"}}},
      {"m{b=\"2\", a='1',} 1", {{"__name__", "m"}, {"a", "1"}, {"b", "2"}}},
      {"{job=\"api\"} 1", {{"job", "api"}}},
      {"{} 1", {}},
      {"{__name__=\"x\", le=\"+Inf\"} 1", {{"__name__", "x"}, {"le", "+Inf"}}},
      {"{\"my.metric\", \"ä b\"=\"v\"} 1", {{"__name__", "my.metric"}, {"ä b", "v"}}},
      {"m{l=\"a\\\"b\\n\\xff\"} 1", {{"__name__", "m"}, {"l", "a\"b\n\xff"}}},
      {"m{l=`raw\\n`} 1", {{"__name__", "m"}, {"l", "raw\\n"}}},
      {"expect{} 1", {{"__name__", "expect"}}},
      {"m{ a = \"1\" }", {{"__name__", "m"}, {"a", "1"}}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    absl::StatusOr<SeriesDesc> d = ParseSeriesLine(c.text);
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_EQ(d->labels, c.want);
  }
}

TEST(SeriesLineTest, RejectsBadDescriptors) {
  for (const char* bad : {"m{a=\"1\"", "m{a!=\"1\"} 1", "m{a=~\"1\"} 1", "m{a=1} 1",
                          "m{a=\"1\",a=\"2\"} 1", "m{__name__=\"x\"} 1", "m {a=\"1\"} 1",
                          "{\"x\", \"y\"} 1", "m{a=\"1\"}1", "1m 1", "m{a=\"\\q\"} 1"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(ParseSeriesLine(bad).ok());
  }
}

TEST(StartTimestampTest, ExpandsSignedOffsets) {
  absl::StatusOr<std::vector<std::optional<int64_t>>> v =
      ParseStartTimestampSequence("_ _x2 -30s-1mx2 0 1msx1 -59999ms * 0-1mx1");
  ASSERT_TRUE(v.ok()) << v.status();
  const std::optional<int64_t> none;
  EXPECT_THAT(*v, ElementsAre(none, none, none, -30'000, -90'000, -150'000, 0, 1, 1, -59'999,
                              -59'999, 0, -60'000));
  for (const char* bad : {"_x0", "1m1", "abc", "-1mx", "1m+1m"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(ParseStartTimestampSequence(bad).ok());
  }
}
}  // namespace
}  // namespace ember::promqltest
