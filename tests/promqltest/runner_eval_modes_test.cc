// How the runner checks an eval beyond an instant vector (see runner_testing.h): range results,
// expected failures, annotations, the range-mode cross-check and @-pinned re-runs.
#include "tests/promqltest/runner_testing.h"

namespace ember::promqltest {
namespace {

constexpr char kRange[] = R"(
eval range from 0 to 4m step 1m m
  m{a="1"} 1 _ 3
  m{a="2"} 0+1x4
)";

TEST(CheckEvalTest, RangeResultIsAMatrixLaidOutInSteps) {
  FakeEngine engine;
  engine.range["m"] =
      Mat({{M("m", {{"a", "1"}}), {{0, 1}, {120000, 3}}},
           {M("m", {{"a", "2"}}), {{0, 0}, {60000, 1}, {120000, 2}, {180000, 3}, {240000, 4}}}});
  EvalResult r = Check(kRange, engine);
  EXPECT_EQ(r.status, EvalStatus::kPass) << r.message;
  EXPECT_THAT(engine.calls, ::testing::ElementsAre("range m 0..240000/60000"));
}

TEST(CheckEvalTest, RangeResultDifferences) {
  const std::vector<query::Point> two = {{0, 0}, {60000, 1}, {120000, 2}, {180000, 3}, {240000, 4}};
  struct Case {
    std::string name;
    QueryResult got;
    std::string want_message;
  };
  const Case cases[] = {
      {"point in a gap",
       Mat({{M("m", {{"a", "1"}}), {{0, 1}, {60000, 2}, {120000, 3}}},
            {M("m", {{"a", "2"}}), two}}),
       "series {__name__=\"m\", a=\"1\"} (line 3), point 1: expected 3@120000, got 2@60000"},
      {"trailing point",
       Mat({{M("m", {{"a", "1"}}), {{0, 1}, {120000, 3}, {180000, 3}}},
            {M("m", {{"a", "2"}}), two}}),
       "point 2: unexpected extra point 3@180000 (expected 2 points, got 3)"},
      {"not sorted",
       Mat({{M("m", {{"a", "2"}}), two}, {M("m", {{"a", "1"}}), {{0, 1}, {120000, 3}}}}),
       "not sorted by label set"},
      {"missing series", Mat({{M("m", {{"a", "2"}}), two}}),
       "missing series {__name__=\"m\", a=\"1\"} (line 3)"},
      {"vector", Vec({}), "expected a range vector, got instant vector of 0 series"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    FakeEngine engine;
    engine.range["m"] = c.got;
    EvalResult r = Check(kRange, engine);
    EXPECT_EQ(r.status, EvalStatus::kFail);
    EXPECT_THAT(r.message, HasSubstr(c.want_message));
  }
}

TEST(CheckEvalTest, ExpectRangeVectorRunsAtItsEnd) {
  const std::string script =
      "eval instant at 0 m[2m]\n  expect range vector from 1m to 2m step 1m\n  m 1 2\n";
  FakeEngine engine;
  engine.instant["m[2m]"] = Mat({{M("m"), {{60000, 1}, {120000, 2}}}});
  EvalResult r = Check(script, engine);
  EXPECT_EQ(r.status, EvalStatus::kPass) << r.message;
  EXPECT_THAT(engine.calls, ::testing::ElementsAre("instant m[2m] @120000"));
  // Without the layout line, a non-empty matrix is a failure that says what to write.
  EXPECT_THAT(Check("eval instant at 2m m[2m]\n", engine).message,
              HasSubstr("needs `expect range vector"));
}

TEST(CheckEvalTest, ExpectFail) {
  FakeEngine engine;
  engine.instant["bad"] = absl::InvalidArgumentError("many-to-many matching not allowed");
  engine.instant["good"] = Scalar(1);
  struct Case {
    std::string name;
    std::string script;
    EvalStatus want;
    bool values_ok;
    std::string want_message;
  };
  const Case cases[] = {
      {"any error", "eval instant at 0 bad\n  expect fail\n", EvalStatus::kPass, true, ""},
      {"legacy eval_fail", "eval_fail instant at 0 bad\n", EvalStatus::kPass, true, ""},
      {"msg equal", "eval instant at 0 bad\n  expect fail msg: many-to-many matching not allowed\n",
       EvalStatus::kPass, true, ""},
      {"msg differs", "eval instant at 0 bad\n  expect fail msg: many-to-many\n", EvalStatus::kFail,
       true, "error text: expected msg: many-to-many, got \"many-to-many matching not allowed\""},
      {"regex matches", "eval instant at 0 bad\n  expect fail regex: to-m[a-z]+ matching\n",
       EvalStatus::kPass, true, ""},
      {"regex does not match", "eval instant at 0 bad\n  expect fail regex: ^matching\n",
       EvalStatus::kFail, true, "error text: expected regex: ^matching"},
      {"legacy message", "eval_fail instant at 0 bad\n  expected_fail_message many-to-many\n",
       EvalStatus::kFail, true, "error text"},
      {"succeeds", "eval instant at 0 good\n  expect fail\n", EvalStatus::kFail, false,
       "expected an error, got scalar 1"},
      {"unexpected error", "eval instant at 0 bad\n  1\n", EvalStatus::kFail, false,
       "unexpected error: INVALID_ARGUMENT: many-to-many matching not allowed"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EvalResult r = Check(c.script, engine);
    EXPECT_EQ(r.status, c.want) << r.message;
    EXPECT_EQ(r.values_ok, c.values_ok);
    EXPECT_THAT(r.message, HasSubstr(c.want_message));
  }
  // With error texts switched off, any error passes.
  RunOptions lenient = NoCrossCheck();
  lenient.check_error_text = false;
  EXPECT_EQ(Check("eval instant at 0 bad\n  expect fail msg: other\n", engine, lenient).status,
            EvalStatus::kPass);
}

TEST(CheckEvalTest, Annotations) {
  const std::string kSortWarning =
      "PromQL warning: sort is ineffective for range queries since results are always ordered by "
      "labels (1:1)";
  struct Case {
    std::string name;
    std::string expect_lines;
    std::vector<std::string> warnings;
    std::vector<std::string> infos;
    bool annotations_ok;
    std::string want_message;
  };
  const Case cases[] = {
      {"unchecked without lines", "", {"anything"}, {"anything"}, true, ""},
      {"warn msg", "  expect warn msg: " + kSortWarning + "\n", {kSortWarning}, {}, true, ""},
      {"engine text without the prefix",
       "  expect warn msg: " + kSortWarning + "\n",
       {kSortWarning.substr(std::string("PromQL warning: ").size())},
       {},
       true,
       ""},
      {"warn regex", "  expect warn regex: ineffective\n", {kSortWarning}, {}, true, ""},
      {"warn missing", "  expect warn\n", {}, {}, false, "expected a warning, got none"},
      {"unmatched extra warning",
       "  expect warn regex: ineffective\n",
       {kSortWarning, "other"},
       {},
       false,
       "unexpected warning: PromQL warning: other"},
      {"warn line not matched",
       "  expect warn msg: nope\n",
       {kSortWarning},
       {},
       false,
       "no warning matches `expect warn msg: nope`"},
      {"no_warn", "  expect no_warn\n", {kSortWarning}, {}, false, "expected no warnings, got 1"},
      {"no_warn holds", "  expect no_warn\n  expect no_info\n", {}, {}, true, ""},
      {"info", "  expect info\n", {}, {"x"}, true, ""},
      {"no_info", "  expect no_info\n", {}, {"x"}, false, "expected no infos"},
      {"infos unchecked by warn lines", "  expect no_warn\n", {}, {"x"}, true, ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    FakeEngine engine;
    QueryResult got = Vec({{M("m"), 1}});
    got.annotations.warnings = c.warnings;
    got.annotations.infos = c.infos;
    engine.instant["m"] = got;
    EvalResult r = Check("eval instant at 0 m\n" + c.expect_lines + "  m 1\n", engine);
    EXPECT_TRUE(r.values_ok);
    EXPECT_EQ(r.annotations_ok, c.annotations_ok) << r.message;
    EXPECT_EQ(r.status, c.annotations_ok ? EvalStatus::kPass : EvalStatus::kFail);
    EXPECT_THAT(r.message, HasSubstr(c.want_message));
    RunOptions lenient = NoCrossCheck();
    lenient.check_annotations = false;
    EXPECT_EQ(Check("eval instant at 0 m\n" + c.expect_lines + "  m 1\n", engine, lenient).status,
              EvalStatus::kPass);
  }
}

TEST(CheckEvalTest, RangeModeCrossCheck) {
  FakeEngine engine;
  engine.instant["m"] = Vec({{M("m"), 1}});
  engine.range["m"] = Mat({{M("m"), {{0, 0}, {60000, 1}, {120000, 2}}}});
  RunOptions options;  // Cross-check on (the default).
  options.check_at_pinning = false;
  EvalResult r = Check("eval instant at 1m m\n  m 1\n", engine, options);
  EXPECT_EQ(r.status, EvalStatus::kPass) << r.message;
  EXPECT_THAT(engine.calls, ::testing::ElementsAre("instant m @60000", "range m 0..120000/60000"));

  engine.range["m"] = Mat({{M("m"), {{0, 0}, {60000, 7}}}});
  r = Check("eval instant at 1m m\n  m 1\n", engine, options);
  EXPECT_EQ(r.status, EvalStatus::kFail);
  EXPECT_TRUE(r.values_ok);
  EXPECT_FALSE(r.cross_check_ok);
  EXPECT_THAT(r.message, HasSubstr("range-mode cross-check"));
  EXPECT_THAT(r.message, HasSubstr("expected 1, got 7"));

  // A scalar query's range result is one {} series; its point at t is the scalar.
  engine.instant["s"] = Scalar(5);
  engine.range["s"] = Mat({{Labels{}, {{0, 5}, {60000, 5}, {120000, 5}}}});
  EXPECT_EQ(Check("eval instant at 1m s\n  5\n", engine, options).status, EvalStatus::kPass);

  // Not cross-checked: ordered, failures, queries with step().
  engine.calls.clear();
  engine.instant["step()"] = Scalar(1);
  Check("eval instant at 1m step()\n  1\n", engine, options);
  EXPECT_THAT(engine.calls, ::testing::ElementsAre("instant step() @60000"));
}

TEST(PinToEvalTimeTest, PinsSelectorsOutsideSubqueries) {
  struct Case {
    std::string query;
    std::optional<std::string> want;
  };
  const Case cases[] = {
      {"m", "m @ 60.000"},
      {"rate(m[5m])", "rate(m[5m] @ 60.000)"},
      {"m @ 10 + n offset 1m", "m @ 10.000 + n @ 60.000 offset 1m"},
      {"m @ start()", "m @ 60.000"},
      {"sum_over_time(rate(m[1m])[5m:1m])", "sum_over_time(rate(m[1m])[5m:1m] @ 60.000)"},
      {"1 + 2", "1 + 2"},
      {"timestamp(m)", std::nullopt},
      {"hour()", std::nullopt},
      {"max_over_time(timestamp(m)[5m:1m])", "max_over_time(timestamp(m)[5m:1m] @ 60.000)"},
      {"m +", std::nullopt},  // Does not parse.
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.query);
    EXPECT_EQ(PinToEvalTime(c.query, 60000), c.want);
  }
  EXPECT_THAT(PinnedEvalTimes(100000), ::testing::ElementsAre(-1000000, 0, 20000, 100000, 1000000));
  EXPECT_THAT(PinnedEvalTimes(0), ::testing::ElementsAre(-1000, 0, 1000));
}

TEST(CheckEvalTest, AtPinnedReRuns) {
  FakeEngine engine;
  engine.instant["m"] = Vec({{M("m"), 1}});
  engine.instant["m @ 100.000"] = Vec({{M("m"), 1}});
  RunOptions options = NoCrossCheck();
  options.check_at_pinning = true;
  EvalResult r = Check("eval instant at 100s m\n  m 1\n", engine, options);
  EXPECT_EQ(r.status, EvalStatus::kPass) << r.message;
  EXPECT_THAT(engine.calls, ::testing::ElementsAre(
                                "instant m @100000", "instant m @ 100.000 @-1000000",
                                "instant m @ 100.000 @0", "instant m @ 100.000 @20000",
                                "instant m @ 100.000 @100000", "instant m @ 100.000 @1000000"));
  // A pinned re-run that differs fails the eval, with the values of the query as written ok.
  engine.instant["m @ 100.000"] = Vec({{M("m"), 2}});
  r = Check("eval instant at 100s m\n  m 1\n", engine, options);
  EXPECT_EQ(r.status, EvalStatus::kFail);
  EXPECT_TRUE(r.values_ok);
  EXPECT_FALSE(r.pinned_ok);
  EXPECT_THAT(r.message, HasSubstr("@-pinned re-run `m @ 100.000` at t=-1000000: series "
                                   "{__name__=\"m\"} (line 2): expected 1, got 2"));
}

}  // namespace
}  // namespace ember::promqltest
