// RunScript's command handling against a real Db (see runner_testing.h).
#include "tests/promqltest/runner_testing.h"

namespace ember::promqltest {
namespace {

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
