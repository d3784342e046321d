// What the parser refuses and how (see parser_testing.h): errors naming position and cause,
// hostile nesting, random garbage and invalid UTF-8.
#include <random>

#include "query/parser/parser_testing.h"

namespace ember::query {
namespace {

std::string Error(std::string_view q) {
  absl::StatusOr<ExprPtr> e = ParseExpr(q);
  if (e.ok()) return "OK: " + ToString(**e);
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(e.status().message());
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
