#include "tests/promqltest/script.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "ember/db.h"
#include "ember/labels.h"
#include "ember/sample.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/promqltest/index.h"
#include "tests/promqltest/loader.h"
#include "tests/promqltest/notation.h"
#include "tests/testutil/temp_dir.h"

namespace ember::promqltest {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

uint64_t Bits(double v) { return std::bit_cast<uint64_t>(v); }

// The float values of a sequence; omitted positions as nullopt.
std::vector<std::optional<double>> Floats(const std::vector<SequenceValue>& values) {
  std::vector<std::optional<double>> out;
  for (const SequenceValue& v : values) {
    out.push_back(v.is_float() ? std::optional<double>(v.value) : std::nullopt);
  }
  return out;
}

template <typename T>
std::vector<const T*> All(const Script& s) {
  std::vector<const T*> out;
  for (const Command& c : s.commands) {
    if (const T* x = std::get_if<T>(&c)) out.push_back(x);
  }
  return out;
}

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

// ---------------------------------------------------------------------------------------------
// Commands and blocks.

TEST(ScriptTest, LoadBlockExpandsSeriesAtIntervals) {
  absl::StatusOr<Script> s = ParseScript(R"(
# A comment before anything.
load 5m
  http_requests{job="api", instance="0"} 0+10x2
    other _ 1 stale

clear
load_with_nhcb 1h30m
  h_bucket{le="+Inf"} 1
)",
                                         "t.test");
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->commands.size(), 3u);
  const auto loads = All<LoadCommand>(*s);
  ASSERT_EQ(loads.size(), 2u);
  EXPECT_EQ(loads[0]->line, 3);
  EXPECT_EQ(loads[0]->interval_ms, 300'000);
  EXPECT_FALSE(loads[0]->with_nhcb);
  ASSERT_EQ(loads[0]->series.size(), 2u);
  EXPECT_EQ(loads[0]->series[0].line, 4);
  EXPECT_EQ(Floats(loads[0]->series[0].values), (std::vector<std::optional<double>>{0, 10, 20}));
  EXPECT_EQ(loads[0]->num_samples(), 5);
  EXPECT_TRUE(std::holds_alternative<ClearCommand>(s->commands[1]));
  EXPECT_EQ(std::get<ClearCommand>(s->commands[1]).line, 7);
  EXPECT_TRUE(loads[1]->with_nhcb);
  EXPECT_EQ(loads[1]->interval_ms, 5'400'000);
  EXPECT_EQ(s->num_loads(), 2);
  EXPECT_EQ(s->num_nhcb_loads(), 1);
  EXPECT_EQ(s->num_clears(), 1);
}

TEST(ScriptTest, LaterLineWithSameLabelsReplacesEarlier) {
  absl::StatusOr<Script> s = ParseScript(
      "load 1m\n  m{a=\"1\",b=\"2\"} 1 2 3\n  n 5\n  m{b=\"2\", a=\"1\"} 9\n", "t.test");
  ASSERT_TRUE(s.ok()) << s.status();
  const LoadCommand& load = std::get<LoadCommand>(s->commands[0]);
  ASSERT_EQ(load.series.size(), 2u);
  EXPECT_EQ(load.series[0].line, 4);
  EXPECT_EQ(Floats(load.series[0].values), (std::vector<std::optional<double>>{9}));
}

TEST(ScriptTest, CommentLineEndsTheBlock) {
  absl::StatusOr<Script> s = ParseScript("load 1m\n  a 1\n# note\n  b 2\n", "c.test");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.status().message(), HasSubstr("c.test:4: invalid command \"b 2\""));
}

TEST(ScriptTest, BlankLineEndsTheBlockAndCommandsAreCaseInsensitive) {
  absl::StatusOr<Script> s =
      ParseScript("load 1m\n  a 1\n\nCLEAR\n\n   eval instant at 0 a\n  a 1\n", "t.test");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->num_clears(), 1);
  EXPECT_EQ(s->num_evals(), 1);
  const auto bad = ParseScript("load 1m\n  a 1\n\n  b 2\n", "t.test");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("t.test:4:"));
}

TEST(ScriptTest, InstantEvalKeepsQueryVerbatimWithExpectations) {
  absl::StatusOr<Script> s =
      ParseScript(R"(eval instant at 1h30m sum by (a) (m{x="#1"})  or  vector(1)
  expect warn msg: PromQL warning: something (1:5)
  expect no_info
  expect ordered
  {a="1"} 3
  {} -Inf
)",
                  "e.test");
  ASSERT_TRUE(s.ok()) << s.status();
  const EvalCommand& e = std::get<EvalCommand>(s->commands[0]);
  EXPECT_EQ(e.line, 1);
  EXPECT_FALSE(e.is_range);
  EXPECT_EQ(e.query, "sum by (a) (m{x=\"#1\"})  or  vector(1)");
  EXPECT_EQ(e.start_ms, 5'400'000);
  EXPECT_EQ(e.eval_time_ms(), 5'400'000);
  ASSERT_EQ(e.expectations.size(), 3u);
  EXPECT_EQ(e.expectations[0].kind, ExpectKind::kWarn);
  EXPECT_EQ(e.expectations[0].match, Expectation::Match::kMessage);
  EXPECT_EQ(e.expectations[0].text, "PromQL warning: something (1:5)");
  EXPECT_EQ(e.expectations[0].line, 2);
  EXPECT_EQ(e.expectations[1].kind, ExpectKind::kNoInfo);
  EXPECT_EQ(e.expectations[1].match, Expectation::Match::kAny);
  EXPECT_TRUE(e.ordered());
  EXPECT_FALSE(e.expects_failure());
  ASSERT_EQ(e.expect_series.size(), 2u);
  EXPECT_EQ(e.expect_series[1].line, 6);
  EXPECT_EQ(Floats(e.expect_series[1].values), (std::vector<std::optional<double>>{-HUGE_VAL}));
}

TEST(ScriptTest, RangeEvalTakesValueSequencesWithGaps) {
  absl::StatusOr<Script> s = ParseScript(
      "eval range from 0 to 10m step 5m rate(m[5m])\n  expect fail regex: bad.*thing\n"
      "  {a=\"b\"} 1 _ 2\n  {} 1+1x2\n",
      "r.test");
  ASSERT_TRUE(s.ok()) << s.status();
  const EvalCommand& e = std::get<EvalCommand>(s->commands[0]);
  EXPECT_TRUE(e.is_range);
  EXPECT_EQ(e.start_ms, 0);
  EXPECT_EQ(e.end_ms, 600'000);
  EXPECT_EQ(e.step_ms, 300'000);
  EXPECT_EQ(e.query, "rate(m[5m])");
  ASSERT_NE(e.fail(), nullptr);
  EXPECT_EQ(e.fail()->match, Expectation::Match::kRegex);
  EXPECT_EQ(e.fail()->text, "bad.*thing");
  EXPECT_EQ(Floats(e.expect_series[0].values),
            (std::vector<std::optional<double>>{1, std::nullopt, 2}));
  EXPECT_EQ(s->num_range_evals(), 1);
}

TEST(ScriptTest, BareScalarEndsTheEvalBlock) {
  absl::StatusOr<Script> s = ParseScript(
      "eval instant at 0 1+1\n  2\neval instant at 0 -Inf\n"
      "  -Inf\neval instant at 0 0x10\n  0x10\n  1\n",
      "s.test");
  ASSERT_FALSE(s.ok());  // `1` after the scalar must be a new command.
  EXPECT_THAT(s.status().message(), HasSubstr("s.test:7: invalid command"));
  s = ParseScript("eval instant at 0 1+1\n  2\neval instant at 0 0x10\n  0x10\n", "s.test");
  ASSERT_TRUE(s.ok()) << s.status();
  const auto evals = All<EvalCommand>(*s);
  ASSERT_EQ(evals.size(), 2u);
  EXPECT_EQ(evals[0]->expect_scalar, 2);
  EXPECT_EQ(evals[0]->expect_scalar_line, 2);
  EXPECT_EQ(evals[1]->expect_scalar, 16);  // Go's ParseInt(s, 0, 64).
}

TEST(ScriptTest, LegacyHeadersBecomeExpectations) {
  absl::StatusOr<Script> s = ParseScript(R"(eval_fail instant at 0 a
  expected_fail_message vector cannot contain metrics with the same labelset

eval_fail instant at 0 b
  expected_fail_regexp same label.*

eval_warn range from 0 to 1m step 1m c

eval_info instant at 0 c

eval_ordered instant at 0 c
)",
                                         "l.test");
  ASSERT_TRUE(s.ok()) << s.status();
  const auto evals = All<EvalCommand>(*s);
  ASSERT_EQ(evals.size(), 5u);
  ASSERT_NE(evals[0]->fail(), nullptr);
  EXPECT_TRUE(evals[0]->fail()->legacy);
  EXPECT_EQ(evals[0]->fail()->match, Expectation::Match::kMessage);
  EXPECT_EQ(evals[0]->fail()->text, "vector cannot contain metrics with the same labelset");
  EXPECT_EQ(evals[1]->fail()->match, Expectation::Match::kRegex);
  EXPECT_EQ(evals[1]->fail()->text, "same label.*");
  EXPECT_TRUE(evals[2]->Has(ExpectKind::kWarn));
  EXPECT_TRUE(evals[3]->Has(ExpectKind::kInfo));
  EXPECT_TRUE(evals[4]->ordered());
  // An expected_fail_* line ends the block; one without eval_fail is a series line (an error).
  EXPECT_FALSE(ParseScript("eval instant at 0 a\n  expected_fail_message x\n", "l.test").ok());
  EXPECT_FALSE(ParseScript("eval_ordered range from 0 to 1m step 1m a\n", "l.test").ok());
}

TEST(ScriptTest, RangeVectorAndStringExpectations) {
  absl::StatusOr<Script> s = ParseScript(R"(eval instant at 1m m[1m]
  expect range vector from 10s to 1m step 10s
  m{a="1"} 1 2 _ 4

eval instant at 0 "Foo"
  expect string `Foo`

eval instant at 0 " Foo "
	expect string " Foo "
)",
                                         "v.test");
  ASSERT_TRUE(s.ok()) << s.status();
  const auto evals = All<EvalCommand>(*s);
  ASSERT_EQ(evals.size(), 3u);
  ASSERT_TRUE(evals[0]->expect_range_vector.has_value());
  EXPECT_EQ(evals[0]->expect_range_vector->start_ms, 10'000);
  EXPECT_EQ(evals[0]->expect_range_vector->end_ms, 60'000);
  EXPECT_EQ(evals[0]->expect_range_vector->step_ms, 10'000);
  EXPECT_EQ(evals[0]->eval_time_ms(), 60'000);
  EXPECT_EQ(evals[0]->expect_series[0].values.size(), 4u);
  EXPECT_EQ(evals[1]->expect_string, "Foo");
  EXPECT_EQ(evals[2]->expect_string, " Foo ");
}

TEST(ScriptTest, RejectsInvalidEvals) {
  struct Case {
    std::string name;
    std::string text;
    std::string want;  // A substring of the error.
  };
  const Case cases[] = {
      {"several values in an instant eval", "eval instant at 0 m\n  m 1 2\n", "x.test:2:"},
      {"warn with no_warn", "eval instant at 0 m\n  expect warn\n  expect no_warn\n", "x.test:3:"},
      {"two expect fail", "eval instant at 0 m\n  expect fail\n  expect fail\n", "x.test:3:"},
      {"unknown expect kind", "eval instant at 0 m\n  expect warning\n", "x.test:2:"},
      {"empty msg", "eval instant at 0 m\n  expect fail msg:\n", "x.test:2:"},
      {"missing at", "eval instant 5m m\n", "x.test:1:"},
      {"missing query", "eval instant at 5m\n", "x.test:1:"},
      {"bad time", "eval instant at 1.5m m\n", "invalid duration"},
      {"range end before start", "eval range from 5m to 1m step 1m m\n", "before its start"},
      {"unknown command", "\n\nfoo bar\n", "x.test:3: invalid command"},
      {"bad load interval", "load 5\n", "x.test:1: load interval"},
      {"bad value", "load 5m\n  m 1 2 x\n", "x.test:2: value item 3"},
      {"bad expect string", "eval instant at 0 \"a\"\n  expect string a\n", "x.test:2:"},
      {"@st without sample line", "load 1m\n  m@st 1s\n", "x.test:2:"},
      {"@st length mismatch", "load 1m\n  m@st 1s 1s\n  m 1\n", "x.test:3:"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    absl::StatusOr<Script> s = ParseScript(c.text, "x.test");
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(s.status().message(), HasSubstr(c.want));
  }
}

TEST(ScriptTest, StartTimestampLinesAttachToTheNextSeries) {
  absl::StatusOr<Script> s =
      ParseScript("load 1m\n  m{a=\"1\"}@st _ -30s-1mx1\n  m{a=\"1\"} 1 2 3\n  n 1 2\n", "st.test");
  ASSERT_TRUE(s.ok()) << s.status();
  const LoadCommand& load = std::get<LoadCommand>(s->commands[0]);
  EXPECT_TRUE(load.has_start_timestamps());
  EXPECT_THAT(load.series[0].start_offsets_ms, ElementsAre(std::nullopt, -30'000, -90'000));
  EXPECT_TRUE(load.series[1].start_offsets_ms.empty());
}

// ---------------------------------------------------------------------------------------------
// Index.

TEST(EvalIndexTest, ParsesRowsAndRejectsDuplicates) {
  absl::StatusOr<EvalIndex> index = EvalIndex::Parse(
      "file\tline\tquery_type\ttier\ttags\na.test\t3\tinstant\tcore\t-\n"
      "a.test\t9\trange\tlater\tnh,annot\n",
      "i.tsv");
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_EQ(index->size(), 2u);
  const IndexEntry* e = index->Find("a.test", 9);
  ASSERT_NE(e, nullptr);
  EXPECT_TRUE(e->is_range);
  EXPECT_EQ(e->tier, Tier::kLater);
  EXPECT_TRUE(e->HasTag("annot"));
  EXPECT_TRUE(index->Find("a.test", 3)->tags.empty());
  EXPECT_EQ(index->Find("a.test", 4), nullptr);
  EXPECT_FALSE(
      EvalIndex::Parse("a.test\t3\tinstant\tcore\t-\na.test\t3\tinstant\tcore\t-\n", "i.tsv").ok());
  EXPECT_FALSE(EvalIndex::Parse("a.test\tx\tinstant\tcore\t-\n", "i.tsv").ok());
}

// ---------------------------------------------------------------------------------------------
// Loader.

// Every sample of the series with exactly `labels` (canonical).
absl::StatusOr<std::vector<Sample>> ReadSeries(Db* db, const Labels& labels) {
  std::vector<Matcher> matchers;
  for (const Label& l : labels) matchers.push_back({Matcher::Op::kEqual, l.name, l.value});
  absl::StatusOr<std::vector<Series>> got =
      db->Select(matchers, 0, std::numeric_limits<int64_t>::max());
  if (!got.ok()) return got.status();
  std::vector<Sample> out;
  for (Series& s : *got) {
    if (s.labels != labels) continue;
    while (s.samples->Next()) out.push_back(s.samples->At());
    if (!s.samples->status().ok()) return s.samples->status();
  }
  return out;
}

TEST(LoaderTest, StoresSamplesAtIntervalsWithStaleMarkers) {
  testutil::TempDir dir;
  absl::StatusOr<std::unique_ptr<Db>> db = Db::Open(ConformanceDbOptions(), dir.path());
  ASSERT_TRUE(db.ok()) << db.status();
  absl::StatusOr<Script> s = ParseScript(
      "load 5m\n  m{a=\"1\"} 1 _ stale 4 {{count:1}}\n\nload 1m\n  m{a=\"1\"} 1 2 3\n", "l.test");
  ASSERT_TRUE(s.ok()) << s.status();
  const auto loads = All<LoadCommand>(*s);
  LoadStats stats;
  ASSERT_TRUE(LoadInto(*loads[0], db->get(), &stats).ok());
  EXPECT_EQ(stats.samples, 3);
  EXPECT_EQ(stats.histogram_samples_skipped, 1);
  // The second block writes before the first block's newest sample and repeats t=0 with the
  // same value: both fine.
  absl::Status second = LoadInto(*loads[1], db->get(), &stats);
  ASSERT_TRUE(second.ok()) << second;
  absl::StatusOr<std::vector<Sample>> got = ReadSeries(db->get(), {{"__name__", "m"}, {"a", "1"}});
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 5u);
  EXPECT_EQ((*got)[0].t, 0);
  EXPECT_EQ((*got)[1].t, 60'000);
  EXPECT_EQ((*got)[2].t, 120'000);
  EXPECT_EQ((*got)[3].t, 600'000);
  EXPECT_EQ(Bits((*got)[3].v), kStaleNaNBits);
  EXPECT_EQ((*got)[4].t, 900'000);
  EXPECT_EQ((*got)[4].v, 4);
}

TEST(LoaderTest, ConflictingValueNamesTheLine) {
  testutil::TempDir dir;
  absl::StatusOr<std::unique_ptr<Db>> db = Db::Open(ConformanceDbOptions(), dir.path());
  ASSERT_TRUE(db.ok()) << db.status();
  absl::StatusOr<Script> s = ParseScript("load 1m\n  m 1\n\nload 1m\n  m 2\n", "l.test");
  ASSERT_TRUE(s.ok()) << s.status();
  const auto loads = All<LoadCommand>(*s);
  ASSERT_TRUE(LoadInto(*loads[0], db->get()).ok());
  absl::Status st = LoadInto(*loads[1], db->get());
  EXPECT_EQ(st.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(st.message(), HasSubstr("line 5"));
}

// ---------------------------------------------------------------------------------------------
// The conformance corpus: /work/shared/conformance (README section 7 gives the totals).

const std::string kConformanceDir = std::string(EMBER_SHARED_DIR) + "/conformance";
const std::string kScriptDir = kConformanceDir + "/promql";

// README section 7: the files marked core (the rest are "later").
const char* const kCoreFiles[] = {"literals.test",      "collision.test",      "selectors.test",
                                  "staleness.test",     "trig_functions.test", "subquery.test",
                                  "range_queries.test", "at_modifier.test",    "aggregators.test",
                                  "operators.test",     "functions.test",      "histograms.test"};

std::vector<std::string> ScriptFiles() {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(kScriptDir)) {
    if (entry.path().extension() == ".test") files.push_back(entry.path().filename().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(ConformanceCorpusTest, EveryFileParsesAndMatchesTheIndex) {
  if (!std::filesystem::is_directory(kScriptDir)) {
    GTEST_SKIP() << "conformance scripts not found at " << kScriptDir
                 << " (set -DEMBER_SHARED_DIR=<shared folder>)";
  }
  absl::StatusOr<EvalIndex> index = EvalIndex::Load(kConformanceDir + "/promql-eval-index.tsv");
  ASSERT_TRUE(index.ok()) << index.status();
  const std::vector<std::string> files = ScriptFiles();
  EXPECT_EQ(files.size(), 21u);
  EXPECT_EQ(index->Files(), files);
  int evals = 0, instant = 0, range = 0, loads = 0, nhcb = 0, clears = 0, core = 0;
  for (const std::string& file : files) {
    SCOPED_TRACE(file);
    absl::StatusOr<Script> s = ParseScriptFile(kScriptDir + "/" + file);
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(s->file_name, file);
    std::set<int> lines;
    int file_core = 0, hist_evals = 0, dup_expected = 0;
    for (const Command& c : s->commands) {
      const EvalCommand* e = std::get_if<EvalCommand>(&c);
      if (e == nullptr) continue;
      lines.insert(e->line);
      const IndexEntry* entry = index->Find(file, e->line);
      if (entry == nullptr) {
        ADD_FAILURE() << file << ":" << e->line << ": eval not in the index: " << e->query;
        continue;
      }
      EXPECT_EQ(entry->is_range, e->is_range) << file << ":" << e->line;
      file_core += entry->tier == Tier::kCore ? 1 : 0;
      hist_evals += e->has_histograms() ? 1 : 0;
      std::set<Labels> seen;
      for (const SeriesLine& l : e->expect_series)
        dup_expected += seen.insert(l.labels).second ? 0 : 1;
    }
    EXPECT_EQ(static_cast<int>(lines.size()), index->CountForFile(file));
    for (const auto& [key, entry] : index->entries()) {
      if (key.first == file && !lines.contains(key.second)) {
        ADD_FAILURE() << file << ":" << key.second << ": indexed eval not found by the parser";
      }
    }
    std::cout << absl::StrFormat(
        "%-26s evals %3d (%3d instant, %3d range, %3d core, %3d with histogram expectations, "
        "%d duplicate expected series)  loads %2d (%d nhcb)  clears %2d\n",
        file, s->num_evals(), s->num_instant_evals(), s->num_range_evals(), file_core, hist_evals,
        dup_expected, s->num_loads(), s->num_nhcb_loads(), s->num_clears());
    evals += s->num_evals();
    instant += s->num_instant_evals();
    range += s->num_range_evals();
    loads += s->num_loads();
    nhcb += s->num_nhcb_loads();
    clears += s->num_clears();
    core += file_core;
  }
  EXPECT_EQ(evals, 2214);
  EXPECT_EQ(instant, 1885);
  EXPECT_EQ(range, 329);
  EXPECT_EQ(loads, 310);
  EXPECT_EQ(nhcb, 33);
  EXPECT_EQ(clears, 231);
  EXPECT_EQ(core, 825);
  EXPECT_EQ(static_cast<size_t>(evals), index->size());
}

// Loads every block of `file` into a fresh Db (a new one after each clear) and reads back
// every float series of each block, checking it holds exactly the samples loaded so far.
void LoadAndVerifyFile(const std::string& file) {
  SCOPED_TRACE(file);
  absl::StatusOr<Script> s = ParseScriptFile(kScriptDir + "/" + file);
  ASSERT_TRUE(s.ok()) << s.status();
  std::unique_ptr<testutil::TempDir> dir;
  std::unique_ptr<Db> db;
  std::map<Labels, std::map<int64_t, uint64_t>> want;  // Series -> t -> value bits.
  auto fresh = [&] {
    db.reset();
    dir = std::make_unique<testutil::TempDir>();
    absl::StatusOr<std::unique_ptr<Db>> opened = Db::Open(ConformanceDbOptions(), dir->path());
    ASSERT_TRUE(opened.ok()) << opened.status();
    db = *std::move(opened);
    want.clear();
  };
  fresh();
  LoadStats total;
  int64_t max_t = 0, checked = 0;
  std::optional<int64_t> min_start;  // Earliest @st start time (t + offset).
  for (const Command& c : s->commands) {
    if (std::holds_alternative<ClearCommand>(c)) {
      fresh();
      continue;
    }
    const LoadCommand* load = std::get_if<LoadCommand>(&c);
    if (load == nullptr) continue;
    LoadStats stats;
    absl::Status st = LoadInto(*load, db.get(), &stats);
    ASSERT_TRUE(st.ok()) << file << ": " << st;
    total.samples += stats.samples;
    total.series += stats.series;
    total.histogram_samples_skipped += stats.histogram_samples_skipped;
    total.start_timestamps_ignored += stats.start_timestamps_ignored;
    for (const SeriesLine& line : load->series) {
      Labels labels = line.labels;
      CanonicalizeLabels(&labels);
      for (size_t i = 0; i < line.values.size(); ++i) {
        if (i < line.start_offsets_ms.size() && line.start_offsets_ms[i].has_value() &&
            !line.values[i].is_omitted()) {
          const int64_t st =
              static_cast<int64_t>(i) * load->interval_ms + *line.start_offsets_ms[i];
          min_start = std::min(min_start.value_or(st), st);
        }
        if (!line.values[i].is_float()) continue;
        const int64_t t = static_cast<int64_t>(i) * load->interval_ms;
        want[labels][t] = Bits(line.values[i].value);
        max_t = std::max(max_t, t);
      }
    }
    for (const SeriesLine& line : load->series) {
      Labels labels = line.labels;
      CanonicalizeLabels(&labels);
      if (!want.contains(labels)) continue;  // Histograms only.
      absl::StatusOr<std::vector<Sample>> got = ReadSeries(db.get(), labels);
      ASSERT_TRUE(got.ok()) << got.status();
      const auto& w = want[labels];
      ASSERT_EQ(got->size(), w.size()) << file << ":" << line.line << " " << LabelsToString(labels);
      size_t k = 0;
      for (const auto& [t, bits] : w) {
        EXPECT_EQ((*got)[k].t, t) << file << ":" << line.line;
        EXPECT_EQ(Bits((*got)[k].v), bits) << file << ":" << line.line << " t=" << t;
        ++k;
      }
      ++checked;
    }
  }
  std::cout << absl::StrFormat(
      "%-26s stored %7d float samples in %4d series lines (checked %4d), max t=%s; skipped %d "
      "histogram samples, %d start timestamps%s\n",
      file, total.samples, total.series, checked, FormatDuration(max_t),
      total.histogram_samples_skipped, total.start_timestamps_ignored,
      min_start ? absl::StrFormat(" (earliest start time %dms)", *min_start) : "");
  // Ember rejects t < 0; the scripts' durations are unsigned, so no sample can be negative.
  // Start times could be (signed @st offsets), but Ember does not store them.
  EXPECT_GE(min_start.value_or(0), 0) << file << ": an @st start time before the epoch";
}

TEST(ConformanceCorpusTest, CoreFilesLoadIntoDb) {
  if (!std::filesystem::is_directory(kScriptDir)) {
    GTEST_SKIP() << "conformance scripts not found at " << kScriptDir;
  }
  for (const char* file : kCoreFiles) LoadAndVerifyFile(file);
}

TEST(ConformanceCorpusTest, LaterFilesLoadIntoDb) {
  if (!std::filesystem::is_directory(kScriptDir)) {
    GTEST_SKIP() << "conformance scripts not found at " << kScriptDir;
  }
  const std::set<std::string> core(std::begin(kCoreFiles), std::end(kCoreFiles));
  for (const std::string& file : ScriptFiles()) {
    if (!core.contains(file)) LoadAndVerifyFile(file);
  }
}

}  // namespace
}  // namespace ember::promqltest
