// The runner's comparison rules (see runner_testing.h): values, label order and formatting,
// instant vectors, scalars and strings.
#include "tests/promqltest/runner_testing.h"

namespace ember::promqltest {
namespace {

TEST(AlmostEqualTest, FollowsReadmeSection42) {
  const double kNaN = std::nan("");
  const double kInf = std::numeric_limits<double>::infinity();
  const double kMax = std::numeric_limits<double>::max();
  struct Case {
    std::string name;
    double a, b;
    bool want;
  };
  const Case cases[] = {
      {"equal", 1.5, 1.5, true},
      {"within 1e-6 relative", 1, 1 + 1e-7, true},
      {"outside 1e-6 relative", 1, 1 + 1e-5, false},
      {"large magnitudes are relative", 1e100, 1e100 * (1 + 1e-7), true},
      {"sum overflowing to Inf", kMax, kMax * (1 - 1e-9), true},
      {"zero is exact", 0, 1e-300, false},
      {"zero and minus zero", 0.0, -0.0, true},
      {"NaN equals NaN", kNaN, -kNaN, true},
      {"NaN is not a number", kNaN, 1, false},
      {"Inf", kInf, kInf, true},
      {"Inf and -Inf", kInf, -kInf, false},
      {"Inf and max", kInf, kMax, false},
      {"stale equals stale", StaleNaN(), StaleNaN(), true},
      {"stale is not NaN", StaleNaN(), kNaN, false},
      {"NaN is not stale", kNaN, StaleNaN(), false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(AlmostEqual(c.a, c.b), c.want);
  }
}

TEST(LabelsLessTest, NameThenValueBytesPrefixFirst) {
  EXPECT_TRUE(LabelsLess(M("a"), M("b")));
  EXPECT_TRUE(LabelsLess(M("a"), M("a", {{"x", "1"}})));                   // prefix first
  EXPECT_TRUE(LabelsLess(Labels{{"B", "1"}}, Labels{{"__name__", "a"}}));  // upper case first
  EXPECT_TRUE(LabelsLess(Labels{{"__name__", "a"}}, Labels{{"a", "1"}}));  // then lower case
  EXPECT_FALSE(LabelsLess(M("a"), M("a")));
}

TEST(FormatValueTest, ShortestAndSpecials) {
  EXPECT_EQ(FormatValue(0.1), "0.1");
  EXPECT_EQ(FormatValue(3), "3");
  EXPECT_EQ(FormatValue(StaleNaN()), "stale");
  EXPECT_EQ(FormatValue(std::nan("")), "NaN");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
}

constexpr char kTwoSeries[] = R"(
eval instant at 1m m
  m{job="a"} 1
  m{job="b"} 2
)";

TEST(CheckEvalTest, InstantVectorIsMatchedAsASet) {
  FakeEngine engine;
  engine.instant["m"] = Vec({{M("m", {{"job", "b"}}), 2}, {M("m", {{"job", "a"}}), 1 + 1e-9}});
  EvalResult r = Check(kTwoSeries, engine);
  EXPECT_EQ(r.status, EvalStatus::kPass) << r.message;
  EXPECT_EQ(r.key(), "t.test:2");
  EXPECT_THAT(engine.calls, ::testing::ElementsAre("instant m @60000"));
}

TEST(CheckEvalTest, InstantVectorDifferences) {
  struct Case {
    std::string name;
    QueryResult got;
    std::string want_message;
  };
  const Case cases[] = {
      {"extra series",
       Vec({{M("m", {{"job", "a"}}), 1}, {M("m", {{"job", "b"}}), 2}, {M("m", {{"job", "c"}}), 3}}),
       "unexpected series {__name__=\"m\", job=\"c\"} 3 in the result (expected 2 series, got 3)"},
      {"missing series", Vec({{M("m", {{"job", "a"}}), 1}}),
       "missing series {__name__=\"m\", job=\"b\"} (line 4)"},
      {"wrong value", Vec({{M("m", {{"job", "a"}}), 1}, {M("m", {{"job", "b"}}), 2.5}}),
       "series {__name__=\"m\", job=\"b\"} (line 4): expected 2, got 2.5"},
      {"name dropped", Vec({{M("", {{"job", "a"}}), 1}, {M("m", {{"job", "b"}}), 2}}),
       "unexpected series {job=\"a\"} 1"},
      {"duplicate", Vec({{M("m", {{"job", "a"}}), 1}, {M("m", {{"job", "a"}}), 1}}),
       "holds series {__name__=\"m\", job=\"a\"} twice"},
      {"scalar", Scalar(1), "expected an instant vector, got scalar 1"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    FakeEngine engine;
    engine.instant["m"] = c.got;
    EvalResult r = Check(kTwoSeries, engine);
    EXPECT_EQ(r.status, EvalStatus::kFail);
    EXPECT_FALSE(r.values_ok);
    EXPECT_THAT(r.message, HasSubstr(c.want_message));
    EXPECT_THAT(r.message, HasSubstr("t.test:2: eval instant at 1m m"));
  }
}

TEST(CheckEvalTest, ExpectedEmptyLabelValueMeansAbsent) {
  FakeEngine engine;
  engine.instant["m"] = Vec({{M("m", {{"a", "1"}}), 1}});
  EXPECT_EQ(Check("eval instant at 0 m\n  m{a=\"1\", b=\"\"} 1\n", engine).status,
            EvalStatus::kPass);
  // A result label with an empty value is not canonical: it differs.
  engine.instant["m"] = Vec({{Labels{{"__name__", "m"}, {"a", "1"}, {"b", ""}}, 1}});
  EXPECT_EQ(Check("eval instant at 0 m\n  m{a=\"1\", b=\"\"} 1\n", engine).status,
            EvalStatus::kFail);
}

TEST(CheckEvalTest, NothingListedWantsAnEmptyVector) {
  FakeEngine engine;
  engine.instant["m"] = Vec({});
  EXPECT_EQ(Check("eval instant at 0 m\n", engine).status, EvalStatus::kPass);
  engine.instant["m"] = Vec({{M("m"), 1}});
  EXPECT_EQ(Check("eval instant at 0 m\n", engine).status, EvalStatus::kFail);
}

TEST(CheckEvalTest, NaNEqualsNaNButNotStale) {
  FakeEngine engine;
  engine.instant["m"] = Vec({{M("m"), std::nan("")}});
  EXPECT_EQ(Check("eval instant at 0 m\n  m NaN\n", engine).status, EvalStatus::kPass);
  EXPECT_EQ(Check("eval instant at 0 m\n  m stale\n", engine).status, EvalStatus::kFail);
}

TEST(CheckEvalTest, OrderedComparesPositions) {
  const std::string script =
      "eval instant at 0 sort(m)\n  expect ordered\n  m{a=\"1\"} 1\n"
      "  m{a=\"2\"} 2\n";
  FakeEngine engine;
  engine.instant["sort(m)"] = Vec({{M("m", {{"a", "1"}}), 1}, {M("m", {{"a", "2"}}), 2}});
  EXPECT_EQ(Check(script, engine).status, EvalStatus::kPass);
  engine.instant["sort(m)"] = Vec({{M("m", {{"a", "2"}}), 2}, {M("m", {{"a", "1"}}), 1}});
  EvalResult r = Check(script, engine);
  EXPECT_EQ(r.status, EvalStatus::kFail);
  EXPECT_THAT(r.message, HasSubstr("ordered: position 1: expected {__name__=\"m\", a=\"1\"}"));
  // Without `expect ordered` the same result passes.
  EXPECT_EQ(Check("eval instant at 0 sort(m)\n  m{a=\"1\"} 1\n  m{a=\"2\"} 2\n", engine).status,
            EvalStatus::kPass);
  engine.instant["sort(m)"] = Mat({});
  EXPECT_THAT(Check(script, engine).message, HasSubstr("ordered eval got a range vector"));
}

TEST(CheckEvalTest, ScalarAndString) {
  FakeEngine engine;
  engine.instant["1+1"] = Scalar(2);
  EXPECT_EQ(Check("eval instant at 0 1+1\n  2\n", engine).status, EvalStatus::kPass);
  EvalResult r = Check("eval instant at 0 1+1\n  3\n", engine);
  EXPECT_THAT(r.message, HasSubstr("expected scalar 3, got 2"));

  QueryResult s;
  s.value.type = ValueType::kString;
  s.value.str = "hi";
  engine.instant["\"hi\""] = s;
  EXPECT_EQ(Check("eval instant at 0 \"hi\"\n  expect string \"hi\"\n", engine).status,
            EvalStatus::kPass);
  EXPECT_THAT(Check("eval instant at 0 \"hi\"\n  expect string \"ho\"\n", engine).message,
              HasSubstr("expected string \"ho\", got \"hi\""));
}

}  // namespace
}  // namespace ember::promqltest
