// The PromQL abstract syntax tree that ParseExpr() (query/parser/parser.h) produces and the
// evaluator walks. Nodes own their children through std::unique_ptr and carry the byte range
// of the source text they came from, for error messages and annotations. An AST is immutable
// once parsed; it may be read from any thread.
#ifndef EMBER_QUERY_AST_H_
#define EMBER_QUERY_AST_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ember/query.h"
#include "storage/matcher.h"

namespace ember::query {

struct FunctionSignature;  // query/functions/signatures.h

// The type of a PromQL value. kNone is for internal use (no valid expression has it).
enum class ValueType { kNone, kScalar, kVector, kMatrix, kString };

// Prometheus's documented names: "scalar", "instant vector", "range vector", "string".
std::string_view ValueTypeName(ValueType t);

// Half-open byte range [begin, end) of the query text a node was parsed from.
struct PosRange {
  int32_t begin = 0;
  int32_t end = 0;
};

enum class BinaryOp {
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMod,
  kPow,
  kAtan2,
  kEql,
  kNeq,
  kLss,
  kLte,
  kGtr,
  kGte,  // comparisons
  kAnd,
  kOr,
  kUnless,  // set operators
};

std::string_view BinaryOpName(BinaryOp op);  // "+", "==", "and", "atan2"...
bool IsComparisonOp(BinaryOp op);
bool IsSetOp(BinaryOp op);
// Binding strength, higher binds tighter: or=1, and/unless=2, comparisons=3, + -=4,
// * / % atan2=5, ^=6. Unary minus/plus sits between 5 and 6.
int BinaryOpPrecedence(BinaryOp op);
bool IsRightAssociative(BinaryOp op);  // Only ^.

enum class AggregateOp {
  kSum,
  kAvg,
  kMin,
  kMax,
  kCount,
  kGroup,
  kStddev,
  kStdvar,
  kTopk,
  kBottomk,
  kQuantile,
  kCountValues,
  kLimitk,
  kLimitRatio,
};

std::string_view AggregateOpName(AggregateOp op);  // Lower case: "sum", "count_values".

enum class ExprKind {
  kNumberLiteral,
  kStringLiteral,
  kVectorSelector,
  kMatrixSelector,
  kSubquery,
  kParen,
  kUnary,
  kBinary,
  kAggregate,
  kCall,
};

// The `@` modifier of a selector or subquery.
enum class AtModifier { kNone, kTimestamp, kStart, kEnd };

struct Expr {
  explicit Expr(ExprKind k) : kind(k) {}
  virtual ~Expr() = default;
  Expr(const Expr&) = delete;
  Expr& operator=(const Expr&) = delete;

  // The static type of the expression's result.
  ValueType type() const;

  // Downcasts. REQUIRES: `kind` matches T.
  template <typename T>
  const T& As() const {
    return static_cast<const T&>(*this);
  }
  template <typename T>
  T& As() {
    return static_cast<T&>(*this);
  }

  const ExprKind kind;
  PosRange pos;
};

using ExprPtr = std::unique_ptr<Expr>;

struct NumberLiteral : Expr {
  NumberLiteral() : Expr(ExprKind::kNumberLiteral) {}
  double value = 0;
  // Written as a duration (`predict_linear(x[1h], 30m)`): `value` is in seconds, and
  // ToString() prints a duration again.
  bool duration = false;
};

struct StringLiteral : Expr {
  StringLiteral() : Expr(ExprKind::kStringLiteral) {}
  std::string value;  // Unquoted.
};

// `name{l="v", ...} @ t offset d`. `matchers` holds every matcher in source order; a name
// written before the braces becomes a trailing `__name__="name"` matcher, as in Prometheus.
struct VectorSelector : Expr {
  VectorSelector() : Expr(ExprKind::kVectorSelector) {}
  std::string name;  // Empty when the selector was written without a name before the braces.
  std::vector<Matcher> matchers;
  // `matchers`, compiled once by the parser (which checks that their regexes compile) for the
  // evaluator's Select(). Empty in a selector built otherwise: the evaluator compiles then.
  std::vector<storage::CompiledMatcher> compiled_matchers;
  int64_t offset_ms = 0;  // Positive looks back; negative looks forward.
  AtModifier at = AtModifier::kNone;
  int64_t at_ms = 0;  // Set when at == kTimestamp.
};

// `selector[range]`. The selector's offset and @ are the matrix selector's.
struct MatrixSelector : Expr {
  MatrixSelector() : Expr(ExprKind::kMatrixSelector) {}
  std::unique_ptr<VectorSelector> selector;
  int64_t range_ms = 0;
};

// `expr[range:step] @ t offset d`.
struct SubqueryExpr : Expr {
  SubqueryExpr() : Expr(ExprKind::kSubquery) {}
  ExprPtr expr;
  int64_t range_ms = 0;
  int64_t step_ms = 0;  // 0 when omitted (`[5m:]`): the engine's default step applies.
  int64_t offset_ms = 0;
  AtModifier at = AtModifier::kNone;
  int64_t at_ms = 0;
};

struct ParenExpr : Expr {
  ParenExpr() : Expr(ExprKind::kParen) {}
  ExprPtr expr;
};

// `-expr` or `+expr`. A sign before a number literal is folded into the literal instead.
struct UnaryExpr : Expr {
  UnaryExpr() : Expr(ExprKind::kUnary) {}
  bool negate = true;  // false for `+`.
  ExprPtr expr;
};

// Which side may have many series per match group.
enum class Cardinality { kOneToOne, kManyToOne, kOneToMany, kManyToMany };

// The vector matching of a binary operation between two instant vectors.
struct VectorMatching {
  Cardinality card = Cardinality::kOneToOne;
  bool on = false;  // `on(...)`; otherwise `ignoring(...)` (or nothing: ignoring ()).
  std::vector<std::string> matching_labels;
  std::vector<std::string> include;  // group_left/group_right labels.
};

struct BinaryExpr : Expr {
  BinaryExpr() : Expr(ExprKind::kBinary) {}
  BinaryOp op = BinaryOp::kAdd;
  bool return_bool = false;
  // Set only when both operands are instant vectors (after type checking). Set operators
  // always have card kManyToMany.
  std::optional<VectorMatching> matching;
  ExprPtr lhs;
  ExprPtr rhs;
};

struct AggregateExpr : Expr {
  AggregateExpr() : Expr(ExprKind::kAggregate) {}
  AggregateOp op = AggregateOp::kSum;
  ExprPtr param;  // topk/bottomk/quantile/limitk/limit_ratio (scalar), count_values (string).
  ExprPtr expr;
  std::vector<std::string> grouping;
  bool without = false;
};

struct Call : Expr {
  Call() : Expr(ExprKind::kCall) {}
  const FunctionSignature* func = nullptr;  // Static table; never null in a parsed AST.
  std::vector<ExprPtr> args;
};

// Canonical PromQL text, as Prometheus's String(): `sum by (job) (rate(x{a="b"}[5m]))`,
// `a + on (x) group_left () b`, numbers in shortest round-trip form, durations as `1h30m`.
// ParseExpr(ToString(e)) yields an equal tree (parentheses are kept as ParenExpr).
std::string ToString(const Expr& e);

// The longest duration a query may hold (a range, offset or step): Go's time.Duration, int64
// nanoseconds, about 292 years, which bounds Prometheus's durations too. Longer ones are parse
// errors ("duration out of range").
inline constexpr int64_t kMaxDurationMs = INT64_MAX / 1'000'000;
// Evaluation times (the API's time, start and end, and `@`) lie within +-kMaxEvalTimeMs (about
// 146 million years). With durations bounded by kMaxDurationMs, no sum of a time and the
// durations of any nesting the parser accepts can overflow int64 (UBSan-clean by construction).
// One less than 2^62, so that even end - start of a range query fits int64.
inline constexpr int64_t kMaxEvalTimeMs = (int64_t{1} << 62) - 1;

// Formatting helpers shared with the parser's messages.
std::string FormatNumber(double v);              // `1`, `0.5`, `+Inf`, `NaN`.
bool IsLegacyMetricName(std::string_view name);  // [a-zA-Z_:][a-zA-Z0-9_:]*

}  // namespace ember::query

#endif  // EMBER_QUERY_AST_H_
