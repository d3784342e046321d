#include "query/parser/parser.h"

#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "query/functions/signatures.h"

namespace ember::query {
namespace {

std::string Canonical(std::string_view q) {
  absl::StatusOr<ExprPtr> e = ParseExpr(q);
  if (!e.ok()) return std::string("ERROR: ") + std::string(e.status().message());
  return ToString(**e);
}

std::string Error(std::string_view q) {
  absl::StatusOr<ExprPtr> e = ParseExpr(q);
  if (e.ok()) return "OK: " + ToString(**e);
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(e.status().message());
}

// Binary and unary operators fully parenthesised, to show the tree's shape.
std::string Shape(const Expr& e) {
  switch (e.kind) {
    case ExprKind::kBinary: {
      const auto& b = e.As<BinaryExpr>();
      const std::string_view op = BinaryOpName(b.op);
      return absl::StrCat("(", Shape(*b.lhs), " ", absl::string_view(op.data(), op.size()), " ",
                          Shape(*b.rhs), ")");
    }
    case ExprKind::kUnary: {
      const auto& u = e.As<UnaryExpr>();
      return absl::StrCat(u.negate ? "-" : "+", "(", Shape(*u.expr), ")");
    }
    case ExprKind::kParen:
      return Shape(*e.As<ParenExpr>().expr);
    default:
      return ToString(e);
  }
}

TEST(ParserTest, PrintsValidQueriesCanonically) {
  struct Case {
    std::string in;
    std::string want;
  };
  const Case cases[] = {
      {"foo", "foo"},
      {"  foo  ", "foo"},
      {"foo{job=\"api\", code=~\"5..\"}", "foo{code=~\"5..\",job=\"api\"}"},
      {"foo{a!=\"b\",c!~'d',}", "foo{a!=\"b\",c!~\"d\"}"},
      {"{__name__=~\"foo.*\"}", "{__name__=~\"foo.*\"}"},
      {"{__name__=\"foo\"}", "{__name__=\"foo\"}"},
      {"foo:bar:rate5m", "foo:bar:rate5m"},
      {"rate(http_requests_total[5m])", "rate(http_requests_total[5m])"},
      {"rate(x[1h30m])", "rate(x[1h30m])"},
      {"rate(x[90m])", "rate(x[1h30m])"},
      {"rate(x[500ms])", "rate(x[500ms])"},
      {"rate(x[1d])", "rate(x[1d])"},
      {"rate(x[1w])", "rate(x[1w])"},
      {"rate(x[1y])", "rate(x[1y])"},
      {"rate(x[14d])", "rate(x[2w])"},
      {"x[5]", "x[5s]"},
      {"x[1.5]", "x[1s500ms]"},
      {"x offset 5", "x offset 5s"},
      {"x offset 5m", "x offset 5m"},
      {"x offset -5m", "x offset -5m"},
      {"x offset +5m", "x offset 5m"},
      {"x OFFSET 1h", "x offset 1h"},
      {"x[5m] offset 1h", "x[5m] offset 1h"},
      {"x @ 100", "x @ 100.000"},
      {"x @ 100.5", "x @ 100.500"},
      {"x @ -100", "x @ -100.000"},
      {"x @ 100s", "x @ 100.000"},
      {"x @ start()", "x @ start()"},
      {"x @ end()", "x @ end()"},
      {"x offset 5m @ 100", "x @ 100.000 offset 5m"},
      {"x[5m] @ 100 offset 1m", "x[5m] @ 100.000 offset 1m"},
      {"x[5m:1m]", "x[5m:1m]"},
      {"x[5m:]", "x[5m:]"},
      {"x[30:10]", "x[30s:10s]"},
      {"rate(x[5m])[30m:1m] offset 1h @ end()", "rate(x[5m])[30m:1m] @ end() offset 1h"},
      {"max_over_time(rate(x[1m])[5m:])[10m:1m]", "max_over_time(rate(x[1m])[5m:])[10m:1m]"},
      {"1", "1"},
      {"1.5", "1.5"},
      {".5", "0.5"},
      {"5.", "5"},
      {"1e3", "1000"},
      {"1E-3", "0.001"},
      {"0x1F", "31"},
      {"0X1f", "31"},
      {"1_000_000", "1000000"},
      {"017", "15"},  // Octal, as Go's strconv.ParseInt(s, 0, 64).
      {"09", "9"},
      {"Inf", "+Inf"},
      {"-inf", "-Inf"},
      {"NaN", "NaN"},
      {"nAn", "NaN"},
      {"-1", "-1"},
      {"+1", "1"},
      {"- 1", "-1"},
      {"-(1)", "-(1)"},
      {"-foo", "-foo"},
      {"\"a\\nb\"", "\"a\\nb\""},
      {"'it\\'s'", "\"it's\""},
      {"`raw\\n`", "\"raw\\\\n\""},
      {"\"\\x41\\101\\u00e9\\U0001F600\"", "\"AAé😀\""},
      {"\"tab\\tquote\\\"\"", "\"tab\\tquote\\\"\""},
      {"sum(x)", "sum(x)"},
      {"SUM(x) BY (job)", "sum by (job) (x)"},
      {"sum by (job) (x)", "sum by (job) (x)"},
      {"sum by () (x)", "sum(x)"},
      {"sum without () (x)", "sum without () (x)"},
      {"sum without (a, b,) (x)", "sum without (a, b) (x)"},
      {"sum(x) without (a)", "sum without (a) (x)"},
      {"sum by (and, by, offset, bool) (x)", "sum by (and, by, offset, bool) (x)"},
      {"topk(5, x)", "topk(5, x)"},
      {"topk by (a) (5, x)", "topk by (a) (5, x)"},
      {"quantile(0.9, x)", "quantile(0.9, x)"},
      {"count_values(\"v\", x)", "count_values(\"v\", x)"},
      {"limitk(2, x)", "limitk(2, x)"},
      {"limit_ratio(0.5, x)", "limit_ratio(0.5, x)"},
      {"group(x)", "group(x)"},
      {"stddev(x) + stdvar(x)", "stddev(x) + stdvar(x)"},
      {"histogram_quantile(0.99, sum by (le) (rate(x_bucket[5m])))",
       "histogram_quantile(0.99, sum by (le) (rate(x_bucket[5m])))"},
      {"label_replace(x, \"dst\", \"$1\", \"src\", \"(.*)\")",
       "label_replace(x, \"dst\", \"$1\", \"src\", \"(.*)\")"},
      {"label_join(x, \"d\", \",\", \"a\", \"b\", \"c\")",
       "label_join(x, \"d\", \",\", \"a\", \"b\", \"c\")"},
      {"round(x)", "round(x)"},
      {"round(x, 5)", "round(x, 5)"},
      {"hour()", "hour()"},
      {"time()", "time()"},
      {"pi()", "pi()"},
      {"vector(1)", "vector(1)"},
      {"rate(x[5m],)", "rate(x[5m])"},
      {"sort_by_label(x, \"a\", \"b\")", "sort_by_label(x, \"a\", \"b\")"},
      {"predict_linear(x[1h], 30m)", "predict_linear(x[1h], 30m)"},
      {"quantile_over_time(0.5, x[5m])", "quantile_over_time(0.5, x[5m])"},
      {"double_exponential_smoothing(x[5m], 0.5, 0.5)",
       "double_exponential_smoothing(x[5m], 0.5, 0.5)"},
      {"a + on(b) group_left(c) d", "a + on (b) group_left (c) d"},
      {"a + ignoring(b) group_right d", "a + ignoring (b) group_right () d"},
      {"a + on() b", "a + on () b"},
      {"a + ignoring() b", "a + b"},
      {"a == bool b", "a == bool b"},
      {"a > bool 1", "a > bool 1"},
      {"1 == bool 1", "1 == bool 1"},
      {"a and b", "a and b"},
      {"a AND b OR c UNLESS d", "a and b or c unless d"},
      {"a and on(x) b", "a and on (x) b"},
      {"a atan2 b", "a atan2 b"},
      {"a % b ^ c", "a % b ^ c"},
      {"x # comment\n + y", "x + y"},
      {"# leading comment\nx", "x"},
      {"{\"my.metric\"}", "{__name__=\"my.metric\"}"},
      {"{\"my.metric\", \"a.b\"=\"c\"}", "{\"a.b\"=\"c\",__name__=\"my.metric\"}"},
      {"{'ünïcödé', job=\"x\"}", "{__name__=\"ünïcödé\",job=\"x\"}"},
      {"{\"a\", \"b\"}", "{__name__=\"a\",__name__=\"b\"}"},
      {"{\"\", \"Lorm\"}", "{__name__=\"\",__name__=\"Lorm\"}"},
      {"foo{\"a-b\"=\"c\"}", "foo{\"a-b\"=\"c\"}"},
      {"sum by (\"a.b\", c) (x)", "sum by (\"a.b\", c) (x)"},
      {"a + on(\"x.y\") group_left(\"z\") b", "a + on (\"x.y\") group_left (z) b"},
      {"foo{a=\"é\"}", "foo{a=\"é\"}"},
      {"foo{a=\"\\xff\"}", "foo{a=\"\\xff\"}"},
      {"start{a=\"b\"}", "start{a=\"b\"}"},
      {"end", "end"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.in);
    EXPECT_EQ(Canonical(c.in), c.want);
    // The canonical form is a fixed point.
    EXPECT_EQ(Canonical(c.want), c.want);
  }
}

TEST(ParserTest, PrecedenceAndAssociativity) {
  struct Case {
    std::string in;
    std::string want;
  };
  const Case cases[] = {
      {"1 + 2 * 3", "(1 + (2 * 3))"},
      {"1 * 2 + 3", "((1 * 2) + 3)"},
      {"1 - 2 - 3", "((1 - 2) - 3)"},
      {"1 / 2 / 3", "((1 / 2) / 3)"},
      {"2 ^ 3 ^ 2", "(2 ^ (3 ^ 2))"},
      {"2 * 3 ^ 2", "(2 * (3 ^ 2))"},
      {"-2 ^ 2", "-((2 ^ 2))"},
      {"-a * b", "(-(a) * b)"},
      {"-2 * 3", "(-2 * 3)"},
      {"2 ^ -1", "(2 ^ -1)"},
      {"a * b % c atan2 d", "(((a * b) % c) atan2 d)"},
      {"a + b > c - d", "((a + b) > (c - d))"},
      {"a > b == c", "((a > b) == c)"},
      {"a and b or c", "((a and b) or c)"},
      {"a or b and c", "(a or (b and c))"},
      {"a or b unless c", "(a or (b unless c))"},
      {"a unless b and c", "((a unless b) and c)"},
      {"a == b and c > d", "((a == b) and (c > d))"},
      {"a or b or c", "((a or b) or c)"},
      {"(1 + 2) * 3", "((1 + 2) * 3)"},
      {"a + b offset 5m", "(a + b offset 5m)"},
      {"-x offset 1m", "-(x offset 1m)"},
      {"1 + -2", "(1 + -2)"},
      {"1 - - 2", "(1 - -2)"},
      {"a ^ b ^ c ^ d", "(a ^ (b ^ (c ^ d)))"},
      {"a + b * c ^ d - e", "((a + (b * (c ^ d))) - e)"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.in);
    absl::StatusOr<ExprPtr> e = ParseExpr(c.in);
    ASSERT_TRUE(e.ok()) << e.status();
    EXPECT_EQ(Shape(**e), c.want);
  }
}

// Found by fuzz/promql_fuzzer: `+Inf ^ 2` parses as +(Inf ^ 2), so the printer must not sign
// an Inf left of ^.
TEST(ParserTest, InfLeftOfPowerRoundTrips) {
  struct Case {
    std::string in;
    std::string want;
  };
  const Case cases[] = {
      {"inf ^ 2", "Inf ^ 2"},
      {"-inf ^ 2", "-Inf ^ 2"},
      {"- inf ^ 2", "-Inf ^ 2"},
      {"a + on (x, y) t *inf^- 2 ^- 3 ^ 3 ^ i", "a + on (x, y) t * Inf ^ -2 ^ -3 ^ 3 ^ i"},
      {"2 ^ inf", "2 ^ +Inf"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.in);
    EXPECT_EQ(Canonical(c.in), c.want);
    EXPECT_EQ(Canonical(c.want), c.want);
    absl::StatusOr<ExprPtr> in = ParseExpr(c.in);
    absl::StatusOr<ExprPtr> again = ParseExpr(c.want);
    ASSERT_TRUE(in.ok()) << in.status();
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(Shape(**again), Shape(**in));
  }
}

TEST(ParserTest, ErrorsNamePositionAndCause) {
  struct Case {
    std::string in;
    std::string want;
  };
  const Case cases[] = {
      // Empty input and structure.
      {"", "1:1: parse error: no expression found in input"},
      {"  # just a comment", "1:1: parse error: no expression found in input"},
      {"(", "1:2: parse error: unclosed left parenthesis"},
      {"(1", "1:3: parse error: unclosed left parenthesis"},
      {"1 +", "1:4: parse error: unexpected end of input"},
      {")", "1:1: parse error: unexpected right parenthesis ')'"},
      {"1 )", "1:3: parse error: unexpected right parenthesis ')'"},
      {"foo bar", "1:5: parse error: unexpected identifier \"bar\""},
      {"*1", "1:1: parse error: unexpected <op:*>"},
      {"count", "1:1: parse error: unexpected <aggr:count>"},
      {"by", "1:1: parse error: unexpected <by>"},
      {"foo group_left bar", "1:5: parse error: unexpected <group_left>"},
      {"abs(foo) bool", "1:10: parse error: unexpected <bool>"},
      {"x\n  + \n  )", "3:3: parse error: unexpected right parenthesis ')'"},
      // Lexical errors.
      {"\"abc", "1:1: parse error: unterminated quoted string"},
      {"`abc", "1:1: parse error: unterminated raw string"},
      {"\"\\q\"", "1:3: parse error: unknown escape sequence U+0071 'q'"},
      {"'\\\"'", "1:3: parse error: unknown escape sequence U+0022 '\"'"},
      {"\"\\xZZ\"", "1:4: parse error: illegal character U+005A 'Z' in escape sequence"},
      {"1 ~ 1", "1:3: parse error: unexpected character: '~'"},
      {"1 !~ 1", "1:3: parse error: unexpected <op:!~>"},
      {"2.5.", "1:1: parse error: bad number or duration syntax: \"2.5.\""},
      {"0deadbeef", "1:1: parse error: bad number or duration syntax: \"0deadbeef\""},
      {"1e400", "1:1: parse error: error parsing number: value out of range: \"1e400\""},
      {"foo[5mm]", "1:5: parse error: bad number or duration syntax: \"5mm\""},
      {"foo[1m1h]", "1:5: parse error: not a valid duration string: \"1m1h\""},
      // Selectors.
      {"foo{", "1:5: parse error: unexpected end of input inside braces"},
      {"foo{a=\"b\"", "1:10: parse error: unexpected end of input inside braces"},
      {"foo{a}",
       "1:6: parse error: unexpected \"}\" in label matching, expected label matching operator"},
      {"foo{a=}", "1:7: parse error: unexpected \"}\" in label matching, expected string"},
      {"foo{a=\"b\" c=\"d\"}",
       "1:11: parse error: unexpected identifier \"c\" in label matching, expected \",\" or \"}\""},
      {"foo{,}",
       "1:5: parse error: unexpected \",\" in label matching, expected label name or \"}\""},
      {"foo{a=\"b\",,}",
       "1:11: parse error: unexpected \",\" in label matching, expected label name"},
      {"{}", "1:1: parse error: vector selector must contain at least one non-empty matcher"},
      {"{a=\"\"}", "1:1: parse error: vector selector must contain at least one non-empty matcher"},
      {"{a=~\".*\"}",
       "1:1: parse error: vector selector must contain at least one non-empty matcher"},
      {"foo{__name__=\"bar\"}",
       "1:1: parse error: metric name must not be set twice: \"foo\" or \"bar\""},
      {"foo{\"bar\"}", "1:1: parse error: metric name must not be set twice: \"foo\" or \"bar\""},
      {"foo{a=~\"(b\"}", "1:5: parse error: invalid regex in matcher a=~\"(b\": missing ): (b"},
      // Ranges, subqueries, offset and @.
      {"foo[]",
       "1:5: parse error: unexpected \"]\" in subquery or range selector, expected number or "
       "duration"},
      {"foo[5m",
       "1:7: parse error: unexpected end of input in subquery or range selector, expected \":\" "
       "or \"]\""},
      {"foo[5m:1m:1m]",
       "1:10: parse error: unexpected \":\" in subquery or range selector, expected \"]\""},
      {"rate(foo)[5m]", "1:10: parse error: ranges only allowed for vector selectors"},
      {"1[5m]", "1:2: parse error: ranges only allowed for vector selectors"},
      {"foo offset 5m [5m]", "1:15: parse error: no offset modifiers allowed before range"},
      {"foo @ 5 [5m]", "1:9: parse error: no @ modifiers allowed before range"},
      {"foo offset",
       "1:11: parse error: unexpected end of input in offset, expected number or duration"},
      {"foo offset bar",
       "1:12: parse error: unexpected identifier \"bar\" in offset, expected number or duration"},
      {"foo offset 1m offset 2m", "1:1: parse error: offset may not be set multiple times"},
      {"sum(foo) offset 5m",
       "1:1: parse error: offset modifier must be preceded by an instant vector selector or "
       "range vector selector or a subquery"},
      {"foo @", "1:6: parse error: unexpected end of input in @, expected timestamp"},
      {"foo @ Inf", "1:1: parse error: timestamp out of bounds for @ modifier: +Inf"},
      {"foo @ 1 @ 2", "1:1: parse error: @ <timestamp> may not be set multiple times"},
      {"sum(foo) @ 5",
       "1:1: parse error: @ modifier must be preceded by an instant vector selector or range "
       "vector selector or a subquery"},
      // Functions.
      {"unknown_fn(x)", "1:1: parse error: unknown function with name \"unknown_fn\""},
      {"RATE(foo[5m])", "1:1: parse error: unknown function with name \"RATE\""},
      {"rate(foo)",
       "1:6: parse error: expected type range vector in call to function \"rate\", got instant "
       "vector"},
      {"rate(foo[5m], 1)", "1:1: parse error: expected 1 argument(s) in call to \"rate\", got 2"},
      {"round()", "1:1: parse error: expected at least 1 argument(s) in call to \"round\", got 0"},
      {"round(foo, 1, 2)",
       "1:1: parse error: expected at most 2 argument(s) in call to \"round\", got 3"},
      {"time(1)", "1:1: parse error: expected 0 argument(s) in call to \"time\", got 1"},
      {"histogram_quantile(\"a\", foo)",
       "1:20: parse error: expected type scalar in call to function \"histogram_quantile\", got "
       "string"},
      {"rate(foo[5m] bar)",
       "1:14: parse error: unexpected identifier \"bar\" in function call arguments, expected "
       "\",\" or \")\""},
      // Aggregations.
      {"sum()", "1:1: parse error: no arguments for aggregate expression provided"},
      {"topk(foo)",
       "1:1: parse error: wrong number of arguments for aggregate expression provided, expected "
       "2, got 1"},
      {"sum(foo, bar)",
       "1:1: parse error: wrong number of arguments for aggregate expression provided, expected "
       "1, got 2"},
      {"topk(foo, bar)",
       "1:6: parse error: expected type scalar in aggregation parameter, got instant vector"},
      {"count_values(5, foo)",
       "1:14: parse error: expected type string in aggregation parameter, got scalar"},
      {"sum_over_time(foo[5m][10m:])",
       "1:15: parse error: subquery is only allowed on instant vector, got matrix instead"},
      {"sum(foo[5m])",
       "1:5: parse error: expected type instant vector in aggregation expression, got range "
       "vector"},
      {"sum by (a) foo",
       "1:12: parse error: unexpected identifier \"foo\" in aggregation, expected \"(\""},
      {"sum by foo",
       "1:8: parse error: unexpected identifier \"foo\" in grouping opts, expected \"(\""},
      {"sum by (a b) (foo)",
       "1:11: parse error: unexpected identifier \"b\" in grouping opts, expected \",\" or \")\""},
      {"sum by (a,", "1:11: parse error: unexpected end of input in grouping opts"},
      {"sum by (,) (x)",
       "1:9: parse error: unexpected \",\" in grouping opts, expected label or \")\""},
      {"sum(foo) by (a) by (b)", "1:17: parse error: unexpected <by>"},
      // Binary operators.
      {"1 and 1", "1:1: parse error: set operator \"and\" not allowed in binary scalar expression"},
      {"foo and 1",
       "1:1: parse error: set operator \"and\" not allowed in binary scalar expression"},
      {"1 == 1", "1:3: parse error: comparisons between scalars must use BOOL modifier"},
      {"1 + bool 1", "1:3: parse error: bool modifier can only be used on comparison operators"},
      {"foo + bool bar",
       "1:5: parse error: bool modifier can only be used on comparison operators"},
      {"1 + on(a) foo", "1:1: parse error: vector matching only allowed between instant vectors"},
      {"foo and on(a) group_left(b) bar",
       "1:1: parse error: no grouping allowed for \"and\" operation"},
      {"foo * on(a) group_left(a) bar",
       "1:5: parse error: label \"a\" must not occur in ON and GROUP clause at once"},
      {"foo[5m] + bar",
       "1:1: parse error: binary expression must contain only scalar and instant vector types"},
      {"\"a\" + 1",
       "1:1: parse error: binary expression must contain only scalar and instant vector types"},
      {"-\"a\"",
       "1:1: parse error: unary expression only allowed on expressions of type scalar or instant "
       "vector, got \"string\""},
      {"-foo[5m]",
       "1:1: parse error: unary expression only allowed on expressions of type scalar or instant "
       "vector, got \"range vector\""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.in);
    EXPECT_EQ(Error(c.in), c.want);
  }
}

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

TEST(ParserTest, HostileNestingFailsFastWithLimitError) {
  struct Case {
    std::string name;
    std::string query;
  };
  const int n = 100000;
  std::vector<Case> cases;
  cases.push_back({"parentheses", std::string(n, '(') + "1" + std::string(n, ')')});
  cases.push_back({"unclosed parentheses", std::string(n, '(')});
  cases.push_back({"unary minus", std::string(n, '-') + "1"});
  std::string pow = "1";
  std::string sum = "1";
  std::string calls;
  for (int i = 0; i < n; ++i) {
    pow += "^1";
    sum += "+1";
  }
  for (int i = 0; i < n; ++i) calls += "abs(";
  calls += "x" + std::string(n, ')');
  cases.push_back({"right-associative power chain", pow});
  cases.push_back({"left-associative sum chain", sum});
  cases.push_back({"nested calls", calls});
  std::string subqueries = "x";
  for (int i = 0; i < 2000; ++i) subqueries = "sum(" + subqueries + ")[5m:]";
  cases.push_back({"nested subqueries", subqueries});
  std::string chained_subqueries = "x";
  for (int i = 0; i < n; ++i) chained_subqueries += "[5m:]";
  cases.push_back({"chained subqueries", chained_subqueries});
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    absl::StatusOr<ExprPtr> e = ParseExpr(c.query);
    ASSERT_FALSE(e.ok());
    EXPECT_NE(e.status().message().find(
                  absl::StrFormat("expression nests deeper than %d levels", kMaxExprDepth)),
              std::string_view::npos)
        << e.status();
  }
  // Just inside the limit parses.
  const std::string ok =
      std::string(kMaxExprDepth - 10, '(') + "1" + std::string(kMaxExprDepth - 10, ')');
  EXPECT_TRUE(ParseExpr(ok).ok());
}

TEST(ParserTest, RandomGarbageNeverCrashes) {
  std::mt19937 rng(42);
  const std::vector<std::string> pieces = {"(",
                                           ")",
                                           "{",
                                           "}",
                                           "[",
                                           "]",
                                           ",",
                                           ":",
                                           "@",
                                           "=",
                                           "=~",
                                           "!~",
                                           "!=",
                                           "==",
                                           "+",
                                           "-",
                                           "*",
                                           "/",
                                           "%",
                                           "^",
                                           "<",
                                           ">=",
                                           " ",
                                           "\n",
                                           "#",
                                           "\"",
                                           "'",
                                           "`",
                                           "\\",
                                           "foo",
                                           "sum",
                                           "by",
                                           "without",
                                           "on",
                                           "ignoring",
                                           "group_left",
                                           "bool",
                                           "offset",
                                           "and",
                                           "or",
                                           "rate",
                                           "5m",
                                           "1",
                                           "0x",
                                           "1e",
                                           "Inf",
                                           "NaN",
                                           ".",
                                           "_",
                                           "start()",
                                           "\"a\"",
                                           "\xff",
                                           "\xc3",
                                           "é",
                                           "1h30m",
                                           "x[5m]",
                                           "[5m:1m]",
                                           "topk",
                                           "count_values",
                                           "label_replace",
                                           "abs("};
  int parsed = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string q;
    const int len = 1 + static_cast<int>(rng() % 12);
    for (int k = 0; k < len; ++k) q += pieces[rng() % pieces.size()];
    absl::StatusOr<ExprPtr> e = ParseExpr(q);
    if (e.ok()) {
      ++parsed;
      // What parses prints to text that parses to the same text.
      EXPECT_EQ(Canonical(ToString(**e)), ToString(**e)) << q;
    }
  }
  // Random bytes.
  for (int i = 0; i < 5000; ++i) {
    std::string q(1 + rng() % 40, ' ');
    for (char& c : q) c = static_cast<char>(rng() % 256);
    (void)ParseExpr(q);
  }
  EXPECT_GT(parsed, 0);
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

TEST(ParserTest, InvalidUtf8AnywhereIsAParseErrorAtItsByte) {
  struct Case {
    std::string name;
    std::string query;
    std::string want;
  };
  const Case cases[] = {
      {"in a label value", "m{a=\"\xff\"}", "1:6: parse error: invalid UTF-8 rune"},
      {"a surrogate in a string", "label_replace(m, \"a\", \"\xed\xa0\x80\", \"\", \"\")",
       "1:24: parse error: invalid UTF-8 rune"},
      {"overlong", "\xc0\xafm", "1:1: parse error: invalid UTF-8 rune"},
      {"truncated", "m # \xe2\x82", "1:5: parse error: invalid UTF-8 rune"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    absl::StatusOr<ExprPtr> e = ParseExpr(c.query);
    ASSERT_FALSE(e.ok());
    EXPECT_EQ(e.status().message(), c.want);
  }
  // Valid multi-byte text still parses.
  EXPECT_TRUE(ParseExpr("m{a=\"\xe2\x82\xac \xf0\x9f\x94\xa5\"}").ok());
}

}  // namespace
}  // namespace ember::query
