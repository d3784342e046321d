// Internal to the parser: the recursive-descent Parser behind ParseExpr(). Its methods live in
// parser.cc (tokens, expressions, selectors, calls, aggregations) and parser_postfix.cc
// (`[range]`, `[range:step]`, `offset`, `@`). One Parser per query text; not thread-safe.
#ifndef EMBER_QUERY_PARSER_PARSER_IMPL_H_
#define EMBER_QUERY_PARSER_PARSER_IMPL_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "query/ast.h"
#include "query/functions/signatures.h"
#include "query/parser/grammar.h"

namespace ember::query::parser_internal {

class Parser {
 public:
  using Tok = grammar::Tok;
  using Token = grammar::Token;

  explicit Parser(std::string_view text) : text_(text) { tok_ = grammar::Lex(text_, 0); }

  absl::StatusOr<ExprPtr> Run();

 private:
  // ------------------------------------------------------------------ tokens and errors

  void Advance() { tok_ = grammar::Lex(text_, tok_.end, in_brackets_); }

  std::string Lower() const;
  bool IsKeyword(std::string_view lower_word) const;

  std::nullptr_t Fail(int32_t pos, std::string_view message);

  // Prometheus's "unexpected <token>[ in <context>][, expected <expected>]".
  std::nullptr_t Unexpected(std::string_view context, std::string_view expected);

  bool CheckDepth(int depth);

  // ------------------------------------------------------------------ expressions

  // The binary operator at the current token, if any.
  std::optional<BinaryOp> PeekBinaryOp() const;

  // Parses operators binding at least as tightly as `min_prec`. `*height` receives the
  // height of the returned tree.
  ExprPtr ParseBinary(int min_prec, int depth, int* height);

  // `bool`, `on(...)`/`ignoring(...)`, `group_left(...)`/`group_right(...)`.
  bool ParseBinaryModifiers(BinaryExpr* b);

  // `( label, ... )` at the current token.
  bool ParseLabels(std::string_view context, std::vector<std::string>* out);

  // Unary minus and plus bind tighter than * / % atan2 and looser than ^: -2^2 is -(2^2).
  ExprPtr ParseUnary(int depth, int* height);

  ExprPtr ParsePrimary(int depth, int* height);

  ExprPtr ParseIdentifierExpr(int depth, int* height);

  // `name`, `name{...}` or `{...}`; the current token is the one after the name.
  ExprPtr ParseSelector(std::string name, int32_t begin);

  int32_t PrevEnd(int32_t begin, const std::string& name) const;

  // `( args )` of a call or aggregation, at the current `(`.
  bool ParseArgs(int depth, std::vector<ExprPtr>* args, int* height, int32_t* end);

  ExprPtr ParseCall(const Token& ident, int depth, int* height);

  ExprPtr ParseAggregate(const AggregateSignature& agg, const Token& ident, int depth, int* height);

  // End of the last consumed token: the non-space byte before the current token.
  int32_t PrevTokenEnd() const;

  // ------------------------------------------------------------------ postfix modifiers

  // A duration or a number of seconds, after an optional sign when `allow_sign`.
  std::optional<int64_t> ParseDuration(std::string_view context, std::string_view expected,
                                       bool allow_sign);

  ExprPtr ParsePostfix(ExprPtr e, int depth, int* height);

  ExprPtr ParseRangeOrSubquery(ExprPtr e, int* height);

  // Where an offset or @ applies: the fields of a selector, matrix selector or subquery.
  struct Modifiable {
    int64_t* offset_ms;
    AtModifier* at;
    int64_t* at_ms;
  };
  std::optional<Modifiable> ModifiableOf(Expr* e);

  ExprPtr ParseOffset(ExprPtr e);

  ExprPtr ParseAt(ExprPtr e);

  // Go's %f: +Inf, -Inf, NaN, or six decimals.
  static std::string FormatAtSeconds(double s);

  std::string_view text_;
  Token tok_;
  int open_parens_ = 0;
  bool in_brackets_ = false;  // Between `[` and `]`: see grammar::Lex().
  absl::Status status_;
};

}  // namespace ember::query::parser_internal

#endif  // EMBER_QUERY_PARSER_PARSER_IMPL_H_
