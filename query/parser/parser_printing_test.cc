// How the parser reads valid queries and prints them back (see parser_testing.h): canonical
// printing, precedence and associativity, and round trips.
#include "query/parser/parser_testing.h"

namespace ember::query {
namespace {

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

}  // namespace
}  // namespace ember::query
