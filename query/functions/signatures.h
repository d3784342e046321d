// The static table of PromQL functions and aggregation operators: names, argument types,
// arity and result type, as in Prometheus 3.x's promql/parser/functions.go. The parser type
// checks calls against it; the evaluator dispatches on FunctionSignature::id. Immutable.
#ifndef EMBER_QUERY_FUNCTIONS_SIGNATURES_H_
#define EMBER_QUERY_FUNCTIONS_SIGNATURES_H_

#include <optional>
#include <span>
#include <string_view>

#include "query/ast.h"

namespace ember::query {

enum class FunctionId {
  kAbs,
  kAbsent,
  kAbsentOverTime,
  kAcos,
  kAcosh,
  kAsin,
  kAsinh,
  kAtan,
  kAtanh,
  kAvgOverTime,
  kCeil,
  kChanges,
  kClamp,
  kClampMax,
  kClampMin,
  kCos,
  kCosh,
  kCountOverTime,
  kDayOfMonth,
  kDayOfWeek,
  kDayOfYear,
  kDaysInMonth,
  kDeg,
  kDelta,
  kDeriv,
  kDoubleExponentialSmoothing,
  kExp,
  kFirstOverTime,
  kFloor,
  kHistogramAvg,
  kHistogramCount,
  kHistogramFraction,
  kHistogramQuantile,
  kHistogramStddev,
  kHistogramStdvar,
  kHistogramSum,
  kHour,
  kIdelta,
  kIncrease,
  kIrate,
  kLabelJoin,
  kLabelReplace,
  kLastOverTime,
  kLn,
  kLog10,
  kLog2,
  kMadOverTime,
  kMaxOverTime,
  kMinOverTime,
  kMinute,
  kMonth,
  kPi,
  kPredictLinear,
  kPresentOverTime,
  kQuantileOverTime,
  kRad,
  kRate,
  kResets,
  kRound,
  kScalar,
  kSgn,
  kSin,
  kSinh,
  kSort,
  kSortByLabel,
  kSortByLabelDesc,
  kSortDesc,
  kSqrt,
  kStddevOverTime,
  kStdvarOverTime,
  kSumOverTime,
  kTan,
  kTanh,
  kTime,
  kTimestamp,
  kTsOfFirstOverTime,
  kTsOfLastOverTime,
  kTsOfMaxOverTime,
  kTsOfMinOverTime,
  kVector,
  kYear,
};

struct FunctionSignature {
  FunctionId id;
  std::string_view name;
  // Types of the leading arguments. With variadic != 0 the last type repeats.
  std::span<const ValueType> arg_types;
  // 0: exactly arg_types.size() arguments. n > 0: from size()-1 up to size()-1+n arguments
  // (`round(v)`/`round(v, to)`, `hour()`/`hour(v)`). -1: size()-1 or more (`label_join`).
  int variadic;
  ValueType return_type;
  // Behind --enable-feature=promql-experimental-functions in Prometheus; Ember enables them.
  bool experimental;
};

// The function named `name` (case-sensitive, as in Prometheus), or null.
const FunctionSignature* FindFunction(std::string_view name);

// Every function, sorted by name.
std::span<const FunctionSignature> AllFunctions();

struct AggregateSignature {
  AggregateOp op;
  std::string_view name;
  ValueType param_type;  // kNone when the operator takes no parameter.
  bool experimental;     // limitk, limit_ratio.
};

// The aggregation operator named `name`, compared case-insensitively (`SUM` works), or null.
const AggregateSignature* FindAggregate(std::string_view name);
const AggregateSignature& GetAggregate(AggregateOp op);

}  // namespace ember::query

#endif  // EMBER_QUERY_FUNCTIONS_SIGNATURES_H_
