// PromQL text -> AST (query/ast.h). The grammar is Prometheus 3.x's, with its experimental
// functions enabled (sort_by_label, mad_over_time, ...). See docs/promql-parser.md.
// Thread-safe: ParseExpr() keeps no state between calls.
#ifndef EMBER_QUERY_PARSER_PARSER_H_
#define EMBER_QUERY_PARSER_PARSER_H_

#include <string_view>

#include "absl/status/statusor.h"
#include "query/ast.h"

namespace ember::query {

// Deeper nesting (parentheses, function arguments, unary signs, chained binary operators...)
// is rejected before it can exhaust the stack of the parser or of the passes over the AST
// (parser, type check, evaluator, printer, destructor). 256 leaves room on an 8 MiB stack even
// under AddressSanitizer, whose frames are several times larger (1000 overflowed there); real
// queries nest a few dozen levels at most.
inline constexpr int kMaxExprDepth = 256;

// Parses and type checks one PromQL expression. On a syntax or type error returns
// InvalidArgument with Prometheus's wording and the 1-based line and byte column of the
// offending token or sub-expression: `1:6: parse error: expected type range vector in call
// to function "rate", got instant vector`. Never throws.
absl::StatusOr<ExprPtr> ParseExpr(std::string_view text);

}  // namespace ember::query

#endif  // EMBER_QUERY_PARSER_PARSER_H_
