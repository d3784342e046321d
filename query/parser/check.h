// Internal to the parser: the type checks Prometheus runs after parsing (checkAST), and the
// error formatting shared by the parser's passes.
#ifndef EMBER_QUERY_PARSER_CHECK_H_
#define EMBER_QUERY_PARSER_CHECK_H_

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "query/ast.h"

namespace ember::query::parser_internal {

// InvalidArgument `<line>:<col>: parse error: <message>` for byte offset `pos` of `text`.
absl::Status ParseError(std::string_view text, int32_t pos, std::string_view message);

// Type checks `e` (parsed from `text`) as Prometheus's checkAST does and normalises vector
// matching: drops it where an operand is not an instant vector, makes set operators
// many-to-many. Returns the first error.
absl::Status CheckTypes(std::string_view text, Expr* e);

}  // namespace ember::query::parser_internal

#endif  // EMBER_QUERY_PARSER_CHECK_H_
