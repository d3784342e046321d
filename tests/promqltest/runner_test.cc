// The runner's comparison rules (README section 4) against a fake engine with canned answers,
// and RunScript's command handling against a real Db.
#include "tests/promqltest/runner.h"

#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "ember/sample.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/promqltest/script.h"

namespace ember::promqltest {
namespace {

using query::Matrix;
using query::QueryResult;
using query::Value;
using query::ValueType;
using ::testing::HasSubstr;

// Answers by query text; an unknown query is a NotFound error. Records every call.
class FakeEngine : public QueryEngine {
 public:
  absl::StatusOr<QueryResult> InstantQuery(std::string_view query, int64_t t_ms) override {
    calls.push_back(absl::StrFormat("instant %s @%d", query, t_ms));
    auto it = instant.find(std::string(query));
    if (it == instant.end()) return absl::NotFoundError(absl::StrCat("fake: no answer"));
    return it->second;
  }
  absl::StatusOr<QueryResult> RangeQuery(std::string_view query, int64_t start_ms, int64_t end_ms,
                                         int64_t step_ms) override {
    calls.push_back(absl::StrFormat("range %s %d..%d/%d", query, start_ms, end_ms, step_ms));
    auto it = range.find(std::string(query));
    if (it == range.end()) return absl::NotFoundError("fake: no answer");
    return it->second;
  }

  std::map<std::string, absl::StatusOr<QueryResult>> instant;
  std::map<std::string, absl::StatusOr<QueryResult>> range;
  std::vector<std::string> calls;
};

Labels M(std::string name, std::vector<std::pair<std::string, std::string>> rest = {}) {
  Labels l;
  if (!name.empty()) l.push_back({"__name__", std::move(name)});
  for (auto& [n, v] : rest) l.push_back({n, v});
  std::sort(l.begin(), l.end());
  return l;
}

QueryResult Vec(std::vector<std::pair<Labels, double>> samples) {
  QueryResult r;
  r.value.type = ValueType::kVector;
  for (auto& [l, v] : samples) r.value.vector.push_back({l, 0, v});
  return r;
}

QueryResult Scalar(double v) {
  QueryResult r;
  r.value.type = ValueType::kScalar;
  r.value.scalar = v;
  return r;
}

QueryResult Mat(std::vector<std::pair<Labels, std::vector<query::Point>>> series) {
  QueryResult r;
  r.value.type = ValueType::kMatrix;
  for (auto& [l, p] : series) r.value.matrix.push_back({l, p});
  return r;
}

// The first eval of `text`.
EvalCommand ParseEval(const std::string& text) {
  absl::StatusOr<Script> s = ParseScript(text, "t.test");
  EXPECT_TRUE(s.ok()) << s.status();
  if (!s.ok()) return {};
  for (const Command& c : s->commands) {
    if (const auto* e = std::get_if<EvalCommand>(&c)) return *e;
  }
  ADD_FAILURE() << "no eval in " << text;
  return {};
}

// Only the query as written: no range-mode cross-check, no @-pinned re-runs.
RunOptions NoCrossCheck() {
  RunOptions o;
  o.check_cross_range = false;
  o.check_at_pinning = false;
  return o;
}

EvalResult Check(const std::string& script, FakeEngine& engine,
                 const RunOptions& options = NoCrossCheck()) {
  return CheckEval(ParseEval(script), "t.test", engine, options);
}

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

// RunScript: fresh storage per clear, loads, skips. The fake engine reports how many series
// the Db holds at the eval time, so the test sees what was loaded.
class CountingEngine : public QueryEngine {
 public:
  explicit CountingEngine(Db* db) : db_(db) {}
  absl::StatusOr<QueryResult> InstantQuery(std::string_view query, int64_t t_ms) override {
    absl::StatusOr<std::vector<Series>> s =
        db_->Select({{Matcher::Op::kRegexMatch, "__name__", ".+"}}, 0, t_ms);
    if (!s.ok()) return s.status();
    return Scalar(static_cast<double>(s->size()));
  }
  absl::StatusOr<QueryResult> RangeQuery(std::string_view, int64_t, int64_t, int64_t) override {
    return absl::UnimplementedError("range queries");
  }

 private:
  Db* db_;
};

constexpr char kScript[] = R"(load 1m
  a 1 2 3
  b{x="1"} 1

eval instant at 1m count
  2

load 1m
  c 0+1x3

eval instant at 1m count
  3

clear

eval instant at 1m count
  0

load 1m
  h {{schema:0 count:1}}

eval instant at 1m h
  {} {{schema:0 count:1}}

eval instant at 1m sum(h)
  {} 1

eval range from 0 to 1m step 1m count
  {} 0 0
)";

TEST(RunScriptTest, FreshDbPerClearLoadsAndSkips) {
  absl::StatusOr<Script> script = ParseScript(kScript, "run.test");
  ASSERT_TRUE(script.ok()) << script.status();
  int engines = 0;
  RunOptions options = NoCrossCheck();
  options.temp_root = ::testing::TempDir();
  FileReport report = RunScript(
      *script,
      [&](Db* db) {
        ++engines;
        return std::make_unique<CountingEngine>(db);
      },
      options);
  EXPECT_EQ(engines, 2);  // The start, and the clear.
  ASSERT_EQ(report.evals.size(), 6u);
  EXPECT_EQ(report.evals[0].status, EvalStatus::kPass) << report.evals[0].message;
  EXPECT_EQ(report.evals[1].status, EvalStatus::kPass) << report.evals[1].message;
  EXPECT_EQ(report.evals[2].status, EvalStatus::kPass) << report.evals[2].message;
  EXPECT_EQ(report.evals[3].status, EvalStatus::kSkip);
  EXPECT_EQ(report.evals[3].message, "expects native histogram values");
  EXPECT_EQ(report.evals[4].status, EvalStatus::kSkip);
  EXPECT_EQ(report.evals[4].message, "reads native histogram series h");
  EXPECT_EQ(report.evals[5].status, EvalStatus::kFail);
  EXPECT_THAT(report.evals[5].message, HasSubstr("unexpected error: UNIMPLEMENTED"));
  EXPECT_EQ(report.Summary(), "run.test: 3 passed, 1 failed, 2 skipped");
  EXPECT_EQ(TotalLine({report}), "conformance: 3 passed, 1 failed, 2 skipped");
  EXPECT_EQ(report.evals[0].ToString(), "run.test:5 PASS");
  EXPECT_EQ(report.evals[3].ToString(), "run.test:22 SKIP (expects native histogram values)");
  EXPECT_EQ(report.evals[5].ToString(),
            "run.test:28 FAIL eval range from 0s to 1m step 1m count\n"
            "  unexpected error: UNIMPLEMENTED: range queries");
}

TEST(RunScriptTest, IndexTagsDecideSkips) {
  absl::StatusOr<EvalIndex> index = EvalIndex::Parse(
      "file\tline\tquery_type\ttier\ttags\n"
      "run.test\t5\tinstant\tlater\texp_func\n"
      "run.test\t11\tinstant\tcore\tnh\n",
      "index");
  ASSERT_TRUE(index.ok()) << index.status();
  absl::StatusOr<Script> script = ParseScript(kScript, "run.test");
  ASSERT_TRUE(script.ok());
  RunOptions options = NoCrossCheck();
  options.index = &*index;
  options.temp_root = ::testing::TempDir();
  const EngineFactory factory = [](Db* db) { return std::make_unique<CountingEngine>(db); };
  FileReport report = RunScript(*script, factory, options);
  EXPECT_EQ(report.evals[0].status, EvalStatus::kPass);
  EXPECT_EQ(report.evals[1].status, EvalStatus::kSkip);
  EXPECT_EQ(report.evals[1].message, "tag nh");
  options.core_only = true;
  report = RunScript(*script, factory, options);
  EXPECT_EQ(report.evals[0].status, EvalStatus::kSkip);
  EXPECT_EQ(report.evals[0].message, "later tier");
}

TEST(RunScriptTest, FailedLoadFailsEvalsUntilClear) {
  // Ember cannot store a series without labels.
  absl::StatusOr<Script> script = ParseScript(
      "load 1m\n  {} 1\n\neval instant at 0 count\n  0\n\nclear\n\neval instant at 0 count\n  0\n",
      "load.test");
  ASSERT_TRUE(script.ok()) << script.status();
  RunOptions options = NoCrossCheck();
  options.temp_root = ::testing::TempDir();
  FileReport report = RunScript(
      *script, [](Db* db) { return std::make_unique<CountingEngine>(db); }, options);
  ASSERT_EQ(report.evals.size(), 2u);
  EXPECT_EQ(report.evals[0].status, EvalStatus::kFail);
  EXPECT_THAT(report.evals[0].message, HasSubstr("not run: load at line 1 failed"));
  EXPECT_EQ(report.evals[1].status, EvalStatus::kPass) << report.evals[1].message;
}

TEST(RunScriptFileTest, UnreadableFileIsAFileError) {
  FileReport report = RunScriptFile("/nonexistent/x.test", [](Db*) { return nullptr; });
  EXPECT_EQ(report.file, "x.test");
  EXPECT_FALSE(report.error.empty());
  EXPECT_EQ(report.failed(), 1);
  EXPECT_EQ(TotalLine({report}), "conformance: 0 passed, 1 failed");
}

}  // namespace
}  // namespace ember::promqltest
