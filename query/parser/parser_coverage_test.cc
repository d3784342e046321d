// What the parser accepts and the fields it fills (see parser_testing.h): selectors and source
// ranges, every function and aggregator, and every eval query of Prometheus's test scripts.
#include <filesystem>
#include <fstream>
#include <regex>

#include "query/parser/parser_testing.h"

namespace ember::query {
namespace {

TEST(ParserTest, SelectorFieldsAndSourceRanges) {
  absl::StatusOr<ExprPtr> e = ParseExpr("rate(foo{a=\"b\", c=~\"d|e\"}[5m] offset -1m @ 10.5)");
  ASSERT_TRUE(e.ok()) << e.status();
  const Call& call = (*e)->As<Call>();
  EXPECT_EQ(call.func->id, FunctionId::kRate);
  EXPECT_EQ(call.pos.begin, 0);
  EXPECT_EQ(call.pos.end, 48);
  ASSERT_EQ(call.args[0]->kind, ExprKind::kMatrixSelector);
  const MatrixSelector& ms = call.args[0]->As<MatrixSelector>();
  EXPECT_EQ(ms.range_ms, 300000);
  EXPECT_EQ(ms.pos.begin, 5);
  const VectorSelector& vs = *ms.selector;
  EXPECT_EQ(vs.name, "foo");
  EXPECT_EQ(vs.offset_ms, -60000);
  EXPECT_EQ(vs.at, AtModifier::kTimestamp);
  EXPECT_EQ(vs.at_ms, 10500);
  ASSERT_EQ(vs.matchers.size(), 3u);
  EXPECT_EQ(vs.matchers[0].name, "a");
  EXPECT_EQ(vs.matchers[1].op, Matcher::Op::kRegexMatch);
  EXPECT_EQ(vs.matchers[1].value, "d|e");
  EXPECT_EQ(vs.matchers[2].name, "__name__");
  EXPECT_EQ(vs.matchers[2].value, "foo");
  EXPECT_EQ(call.type(), ValueType::kVector);

  e = ParseExpr("sum_over_time(x[1h:5m] @ start() offset 1d)");
  ASSERT_TRUE(e.ok()) << e.status();
  const SubqueryExpr& sq = (*e)->As<Call>().args[0]->As<SubqueryExpr>();
  EXPECT_EQ(sq.range_ms, 3600000);
  EXPECT_EQ(sq.step_ms, 300000);
  EXPECT_EQ(sq.offset_ms, 86400000);
  EXPECT_EQ(sq.at, AtModifier::kStart);

  e = ParseExpr("a * on(x) group_left(y) b");
  ASSERT_TRUE(e.ok());
  const BinaryExpr& b = (*e)->As<BinaryExpr>();
  ASSERT_TRUE(b.matching.has_value());
  EXPECT_EQ(b.matching->card, Cardinality::kManyToOne);
  EXPECT_TRUE(b.matching->on);
  EXPECT_EQ(b.matching->matching_labels, std::vector<std::string>{"x"});
  EXPECT_EQ(b.matching->include, std::vector<std::string>{"y"});

  e = ParseExpr("a or b");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ((*e)->As<BinaryExpr>().matching->card, Cardinality::kManyToMany);
  e = ParseExpr("a + 1");
  ASSERT_TRUE(e.ok());
  EXPECT_FALSE((*e)->As<BinaryExpr>().matching.has_value());

  e = ParseExpr("{\"my.metric\", \"a.b\"=\"c\"}");
  ASSERT_TRUE(e.ok());
  const VectorSelector& utf8 = (*e)->As<VectorSelector>();
  EXPECT_EQ(utf8.name, "");  // Only a name before the braces is the selector's name.
  ASSERT_EQ(utf8.matchers.size(), 2u);
  EXPECT_EQ(utf8.matchers[0].name, "__name__");
  EXPECT_EQ(utf8.matchers[0].value, "my.metric");
  EXPECT_EQ(utf8.matchers[1].name, "a.b");

  e = ParseExpr("0x10 + 1_000 + 1e-2");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ((*e)->type(), ValueType::kScalar);
}

TEST(ParserTest, EveryFunctionAndAggregatorParses) {
  for (const FunctionSignature& f : AllFunctions()) {
    SCOPED_TRACE(std::string(f.name));
    std::string q = std::string(f.name) + "(";
    const size_t n = f.variadic == 0 ? f.arg_types.size() : f.arg_types.size() - 1;
    for (size_t i = 0; i < n; ++i) {
      if (i > 0) q += ", ";
      switch (f.arg_types[i]) {
        case ValueType::kScalar:
          q += "1";
          break;
        case ValueType::kVector:
          q += "x";
          break;
        case ValueType::kMatrix:
          q += "x[5m]";
          break;
        case ValueType::kString:
          q += "\"s\"";
          break;
        case ValueType::kNone:
          break;
      }
    }
    q += ")";
    absl::StatusOr<ExprPtr> e = ParseExpr(q);
    ASSERT_TRUE(e.ok()) << q << ": " << e.status();
    EXPECT_EQ((*e)->type(), f.return_type);
  }
  for (std::string_view agg : {"sum", "avg", "min", "max", "count", "group", "stddev", "stdvar"}) {
    EXPECT_TRUE(ParseExpr(std::string(agg) + " by (a) (x)").ok()) << agg;
  }
  for (std::string_view agg : {"topk", "bottomk", "quantile", "limitk", "limit_ratio"}) {
    EXPECT_TRUE(ParseExpr(std::string(agg) + "(0.5, x)").ok()) << agg;
  }
}

// ---------------------------------------------------------------------------------------------
// Every eval query of Prometheus's own PromQL test scripts.

struct EvalQuery {
  std::string file;
  int line;
  std::string query;
};

std::vector<EvalQuery> ReadEvalQueries(const std::filesystem::path& dir) {
  std::vector<EvalQuery> out;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".test") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& path : files) {
    std::ifstream in(path);
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
      ++n;
      const absl::string_view t = absl::StripAsciiWhitespace(line);
      if (!absl::StartsWithIgnoreCase(t, "eval")) continue;
      // eval[_x] instant at T QUERY | eval[_x] range from T to T step S QUERY
      std::vector<absl::string_view> words =
          absl::StrSplit(t, absl::ByAnyChar(" \t"), absl::SkipEmpty());
      const size_t skip = words.size() > 1 && words[1] == "range" ? 8 : 4;
      if (words.size() <= skip) continue;
      const size_t begin = words[skip].data() - t.data();
      out.push_back({path.filename().string(), n, std::string(t.substr(begin))});
    }
  }
  return out;
}

// Syntax Prometheus keeps behind feature flags, or functions Ember does not provide yet:
// duration expressions, fill modifiers, info(), anchored/smoothed, histogram trim operators,
// and the experimental functions missing from signatures.cc.
bool UsesExperimentalSyntax(const std::string& q) {
  static const std::regex kExperimental(
      R"((\banchored\b|\bsmoothed\b|\bfill(_left|_right)?\s*\(|\binfo\s*\(|</|>/|)"
      R"(\bhistogram_quantiles\s*\(|\bstart_timestamp\s*\(|\bmin_of\s*\(|\bmax_of\s*\(|)"
      R"((^|[^@]\s*)\b(start|end|range|step)\s*\(\s*\)|\{\{))",
      std::regex::icase);
  if (std::regex_search(q, kExperimental)) return true;
  // Duration expressions: a bracket side that is not one (signed) number or duration, or
  // `offset` followed by a parenthesis or a call.
  static const std::regex kBracket(R"(\[([^\[\]]*)\])");
  static const std::regex kPlain(R"(\s*-?\s*([0-9]+(\.[0-9]+)?|([0-9]+(ms|[smhdwy]))+)\s*)");
  for (auto it = std::sregex_iterator(q.begin(), q.end(), kBracket); it != std::sregex_iterator();
       ++it) {
    const std::string inner = (*it)[1];
    for (absl::string_view side : absl::StrSplit(inner, ':')) {
      if (!absl::StripAsciiWhitespace(side).empty() &&
          !std::regex_match(std::string(side), kPlain)) {
        return true;
      }
    }
  }
  static const std::regex kOffsetExpr(R"(\boffset\s*-?\s*[(a-zA-Z])", std::regex::icase);
  return std::regex_search(q, kOffsetExpr);
}

TEST(ParserTest, ParsesEveryConformanceEvalQuery) {
  const std::filesystem::path dir = std::filesystem::path(EMBER_SHARED_DIR) / "conformance/promql";
  if (!std::filesystem::is_directory(dir)) {
    GTEST_SKIP() << "no conformance scripts at " << dir << " (set EMBER_SHARED_DIR)";
  }
  const std::vector<EvalQuery> queries = ReadEvalQueries(dir);
  ASSERT_FALSE(queries.empty());
  int core_total = 0, core_parsed = 0, exp_total = 0, exp_parsed = 0;
  for (const EvalQuery& q : queries) {
    const bool experimental = UsesExperimentalSyntax(q.query);
    absl::StatusOr<ExprPtr> e = ParseExpr(q.query);
    (experimental ? exp_total : core_total)++;
    if (e.ok()) {
      (experimental ? exp_parsed : core_parsed)++;
      EXPECT_EQ(Canonical(ToString(**e)), ToString(**e)) << q.file << ":" << q.line;
    } else if (!experimental) {
      ADD_FAILURE() << q.file << ":" << q.line << ": " << q.query << "\n  " << e.status();
    }
  }
  std::printf(
      "conformance eval queries: %zu; without experimental syntax: %d/%d parse; "
      "with experimental syntax: %d/%d parse\n",
      queries.size(), core_parsed, core_total, exp_parsed, exp_total);
  EXPECT_EQ(core_parsed, core_total);
}

}  // namespace
}  // namespace ember::query
