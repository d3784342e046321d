// Internal to the parser: the lexical and selector-level grammar, written with Boost.Spirit X3
// in lexer.cc and label_lists.cc (with lexemes.h, the only code that includes Boost). The
// recursive-descent driver in parser.cc calls these entry points; none of them throws.
#ifndef EMBER_QUERY_PARSER_GRAMMAR_H_
#define EMBER_QUERY_PARSER_GRAMMAR_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ember/query.h"
#include "query/ast.h"

namespace ember::query::grammar {

enum class Tok {
  kEof,
  kError,
  kNumber,
  kDuration,
  kString,
  kIdentifier,
  kLParen,
  kRParen,
  kLBrace,
  kRBrace,
  kLBracket,
  kRBracket,
  kComma,
  kColon,
  kAt,
  kAssign,    // =
  kEqlRegex,  // =~
  kNeqRegex,  // !~
  kOp,        // A binary operator symbol (+ - * / % ^ == != < <= > >=); `!=` is also a matcher.
};

struct Token {
  Tok kind = Tok::kEof;
  int32_t begin = 0;  // Byte offsets into the query text.
  int32_t end = 0;
  double number = 0;             // kNumber.
  int64_t duration_ms = 0;       // kDuration.
  BinaryOp op = BinaryOp::kAdd;  // kOp.
  std::string value;             // kString: unquoted; kError: the message.
};

// Offset of the first byte at or after `pos` that is not whitespace or inside a `#` comment.
size_t SkipSpace(std::string_view text, size_t pos);

// The token starting at SkipSpace(text, pos). A lexical error (bad number, unterminated
// string, unknown character, bad escape) comes back as kError with its message; its `begin`
// is where the error is reported.
// `in_brackets`: inside `[...]`, where `:` is a token of its own and starts no identifier.
Token Lex(std::string_view text, size_t pos, bool in_brackets = false);

// Unquotes the quoted string text[begin, end) (quotes included) with Go's escapes: a kString
// token, or on error a kError token positioned at the offending escape.
Token Unquote(std::string_view text, size_t begin, size_t end);

// Prometheus's description of a token for "unexpected ..." messages: `identifier "foo"`,
// `number "1"`, `"("`, `<op:+>`, `end of input`.
std::string DescribeToken(std::string_view text, const Token& t);

// One parsed `name op "value"` (or a bare `"name"`) of a selector's braces.
struct RawMatcher {
  std::string name;
  bool has_op = false;  // False for a bare quoted metric name: `{"my.metric"}`.
  Matcher::Op op = Matcher::Op::kEqual;
  std::string value;
  int32_t begin = 0;
  int32_t end = 0;
};

struct ListResult {
  bool ok = false;
  size_t end = 0;         // On success: one past the closing brace or parenthesis.
  int32_t error_pos = 0;  // On failure.
  std::string error;      // On failure: the message, without the position.
};

// Parses `{ matcher, ... }` starting at the `{` at `pos`.
ListResult ParseLabelMatchers(std::string_view text, size_t pos, std::vector<RawMatcher>* out);

// Parses `( label, ... )` starting at the `(` at `pos` (grouping and on/ignoring/group_x
// lists). `context` names the construct for messages: "grouping opts".
ListResult ParseLabelList(std::string_view text, size_t pos, std::string_view context,
                          std::vector<std::string>* out);

}  // namespace ember::query::grammar

#endif  // EMBER_QUERY_PARSER_GRAMMAR_H_
