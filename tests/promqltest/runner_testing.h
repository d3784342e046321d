// Shared by the runner_*_test.cc files: a fake engine with canned answers, results built in one
// call, and one eval checked against the fake engine.
//
#ifndef EMBER_TESTS_PROMQLTEST_RUNNER_TESTING_H_
#define EMBER_TESTS_PROMQLTEST_RUNNER_TESTING_H_

// The runner's comparison rules (README section 4) against a fake engine with canned answers,
// and RunScript's command handling against a real Db.
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
#include "tests/promqltest/runner.h"
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

inline Labels M(std::string name, std::vector<std::pair<std::string, std::string>> rest = {}) {
  Labels l;
  if (!name.empty()) l.push_back({"__name__", std::move(name)});
  for (auto& [n, v] : rest) l.push_back({n, v});
  std::sort(l.begin(), l.end());
  return l;
}

inline QueryResult Vec(std::vector<std::pair<Labels, double>> samples) {
  QueryResult r;
  r.value.type = ValueType::kVector;
  for (auto& [l, v] : samples) r.value.vector.push_back({l, 0, v});
  return r;
}

inline QueryResult Scalar(double v) {
  QueryResult r;
  r.value.type = ValueType::kScalar;
  r.value.scalar = v;
  return r;
}

inline QueryResult Mat(std::vector<std::pair<Labels, std::vector<query::Point>>> series) {
  QueryResult r;
  r.value.type = ValueType::kMatrix;
  for (auto& [l, p] : series) r.value.matrix.push_back({l, p});
  return r;
}

// The first eval of `text`.
inline EvalCommand ParseEval(const std::string& text) {
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
inline RunOptions NoCrossCheck() {
  RunOptions o;
  o.check_cross_range = false;
  o.check_at_pinning = false;
  return o;
}

inline EvalResult Check(const std::string& script, FakeEngine& engine,
                        const RunOptions& options = NoCrossCheck()) {
  return CheckEval(ParseEval(script), "t.test", engine, options);
}

}  // namespace
}  // namespace ember::promqltest

#endif  // EMBER_TESTS_PROMQLTEST_RUNNER_TESTING_H_
