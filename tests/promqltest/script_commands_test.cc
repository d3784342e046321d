// Test-script commands and blocks (see script_testing.h): load and eval blocks, their
// expectations and what ends them; and the eval index.
#include "tests/promqltest/script_testing.h"

namespace ember::promqltest {
namespace {

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
}  // namespace
}  // namespace ember::promqltest
