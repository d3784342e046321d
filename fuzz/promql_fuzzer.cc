// The PromQL parser (query/parser/parser.h), and ast.h's round-trip promise: whatever parses
// prints (ToString) to text that parses again, to a tree that prints the same.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "query/ast.h"
#include "query/parser/parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<ember::query::ExprPtr> expr = ember::query::ParseExpr(text);
  if (!expr.ok()) return 0;
  const std::string printed = ember::query::ToString(**expr);
  absl::StatusOr<ember::query::ExprPtr> again = ember::query::ParseExpr(printed);
  if (!again.ok()) {
    std::fprintf(
        stderr, "printed form does not parse:\n  input:   %s\n  printed: %s\n  error: %s\n",
        std::string(text).c_str(), printed.c_str(), std::string(again.status().message()).c_str());
    std::abort();
  }
  const std::string reprinted = ember::query::ToString(**again);
  if (reprinted != printed) {
    std::fprintf(stderr,
                 "round trip changed the tree:\n  input:     %s\n  printed:   %s\n"
                 "  reprinted: %s\n",
                 std::string(text).c_str(), printed.c_str(), reprinted.c_str());
    std::abort();
  }
  return 0;
}
