#include "query/functions/signatures.h"

#include <algorithm>
#include <array>

#include "absl/strings/match.h"

namespace ember::query {
namespace {

constexpr ValueType S = ValueType::kScalar;
constexpr ValueType V = ValueType::kVector;
constexpr ValueType M = ValueType::kMatrix;
constexpr ValueType Str = ValueType::kString;

constexpr std::array<ValueType, 0> kNoArgs{};
constexpr std::array kV{V};
constexpr std::array kM{M};
constexpr std::array kS{S};
constexpr std::array kVS{V, S};
constexpr std::array kVSS{V, S, S};
constexpr std::array kMS{M, S};
constexpr std::array kMSS{M, S, S};
constexpr std::array kSM{S, M};
constexpr std::array kSV{S, V};
constexpr std::array kSSV{S, S, V};
constexpr std::array kVStr{V, Str};
constexpr std::array kVStrStrStr{V, Str, Str, Str};
constexpr std::array kVStrStrStrStr{V, Str, Str, Str, Str};

using F = FunctionId;

// Sorted by name: FindFunction() does a binary search.
constexpr FunctionSignature kFunctions[] = {
    {F::kAbs, "abs", kV, 0, V, false},
    {F::kAbsent, "absent", kV, 0, V, false},
    {F::kAbsentOverTime, "absent_over_time", kM, 0, V, false},
    {F::kAcos, "acos", kV, 0, V, false},
    {F::kAcosh, "acosh", kV, 0, V, false},
    {F::kAsin, "asin", kV, 0, V, false},
    {F::kAsinh, "asinh", kV, 0, V, false},
    {F::kAtan, "atan", kV, 0, V, false},
    {F::kAtanh, "atanh", kV, 0, V, false},
    {F::kAvgOverTime, "avg_over_time", kM, 0, V, false},
    {F::kCeil, "ceil", kV, 0, V, false},
    {F::kChanges, "changes", kM, 0, V, false},
    {F::kClamp, "clamp", kVSS, 0, V, false},
    {F::kClampMax, "clamp_max", kVS, 0, V, false},
    {F::kClampMin, "clamp_min", kVS, 0, V, false},
    {F::kCos, "cos", kV, 0, V, false},
    {F::kCosh, "cosh", kV, 0, V, false},
    {F::kCountOverTime, "count_over_time", kM, 0, V, false},
    {F::kDayOfMonth, "day_of_month", kV, 1, V, false},
    {F::kDayOfWeek, "day_of_week", kV, 1, V, false},
    {F::kDayOfYear, "day_of_year", kV, 1, V, false},
    {F::kDaysInMonth, "days_in_month", kV, 1, V, false},
    {F::kDeg, "deg", kV, 0, V, false},
    {F::kDelta, "delta", kM, 0, V, false},
    {F::kDeriv, "deriv", kM, 0, V, false},
    {F::kDoubleExponentialSmoothing, "double_exponential_smoothing", kMSS, 0, V, true},
    {F::kExp, "exp", kV, 0, V, false},
    {F::kFirstOverTime, "first_over_time", kM, 0, V, false},
    {F::kFloor, "floor", kV, 0, V, false},
    {F::kHistogramAvg, "histogram_avg", kV, 0, V, false},
    {F::kHistogramCount, "histogram_count", kV, 0, V, false},
    {F::kHistogramFraction, "histogram_fraction", kSSV, 0, V, false},
    {F::kHistogramQuantile, "histogram_quantile", kSV, 0, V, false},
    {F::kHistogramStddev, "histogram_stddev", kV, 0, V, false},
    {F::kHistogramStdvar, "histogram_stdvar", kV, 0, V, false},
    {F::kHistogramSum, "histogram_sum", kV, 0, V, false},
    {F::kHour, "hour", kV, 1, V, false},
    {F::kIdelta, "idelta", kM, 0, V, false},
    {F::kIncrease, "increase", kM, 0, V, false},
    {F::kIrate, "irate", kM, 0, V, false},
    {F::kLabelJoin, "label_join", kVStrStrStr, -1, V, false},
    {F::kLabelReplace, "label_replace", kVStrStrStrStr, 0, V, false},
    {F::kLastOverTime, "last_over_time", kM, 0, V, false},
    {F::kLn, "ln", kV, 0, V, false},
    {F::kLog10, "log10", kV, 0, V, false},
    {F::kLog2, "log2", kV, 0, V, false},
    {F::kMadOverTime, "mad_over_time", kM, 0, V, true},
    {F::kMaxOverTime, "max_over_time", kM, 0, V, false},
    {F::kMinOverTime, "min_over_time", kM, 0, V, false},
    {F::kMinute, "minute", kV, 1, V, false},
    {F::kMonth, "month", kV, 1, V, false},
    {F::kPi, "pi", kNoArgs, 0, S, false},
    {F::kPredictLinear, "predict_linear", kMS, 0, V, false},
    {F::kPresentOverTime, "present_over_time", kM, 0, V, false},
    {F::kQuantileOverTime, "quantile_over_time", kSM, 0, V, false},
    {F::kRad, "rad", kV, 0, V, false},
    {F::kRate, "rate", kM, 0, V, false},
    {F::kResets, "resets", kM, 0, V, false},
    {F::kRound, "round", kVS, 1, V, false},
    {F::kScalar, "scalar", kV, 0, S, false},
    {F::kSgn, "sgn", kV, 0, V, false},
    {F::kSin, "sin", kV, 0, V, false},
    {F::kSinh, "sinh", kV, 0, V, false},
    {F::kSort, "sort", kV, 0, V, false},
    {F::kSortByLabel, "sort_by_label", kVStr, -1, V, true},
    {F::kSortByLabelDesc, "sort_by_label_desc", kVStr, -1, V, true},
    {F::kSortDesc, "sort_desc", kV, 0, V, false},
    {F::kSqrt, "sqrt", kV, 0, V, false},
    {F::kStddevOverTime, "stddev_over_time", kM, 0, V, false},
    {F::kStdvarOverTime, "stdvar_over_time", kM, 0, V, false},
    {F::kSumOverTime, "sum_over_time", kM, 0, V, false},
    {F::kTan, "tan", kV, 0, V, false},
    {F::kTanh, "tanh", kV, 0, V, false},
    {F::kTime, "time", kNoArgs, 0, S, false},
    {F::kTimestamp, "timestamp", kV, 0, V, false},
    {F::kTsOfFirstOverTime, "ts_of_first_over_time", kM, 0, V, true},
    {F::kTsOfLastOverTime, "ts_of_last_over_time", kM, 0, V, true},
    {F::kTsOfMaxOverTime, "ts_of_max_over_time", kM, 0, V, true},
    {F::kTsOfMinOverTime, "ts_of_min_over_time", kM, 0, V, true},
    {F::kVector, "vector", kS, 0, V, false},
    {F::kYear, "year", kV, 1, V, false},
};

constexpr bool IsSortedByName() {
  for (size_t i = 1; i < std::size(kFunctions); ++i) {
    if (!(kFunctions[i - 1].name < kFunctions[i].name)) return false;
  }
  return true;
}
static_assert(IsSortedByName(), "kFunctions must be sorted by name");

using A = AggregateOp;
constexpr ValueType None = ValueType::kNone;

// Indexed by AggregateOp.
constexpr AggregateSignature kAggregates[] = {
    {A::kSum, "sum", None, false},        {A::kAvg, "avg", None, false},
    {A::kMin, "min", None, false},        {A::kMax, "max", None, false},
    {A::kCount, "count", None, false},    {A::kGroup, "group", None, false},
    {A::kStddev, "stddev", None, false},  {A::kStdvar, "stdvar", None, false},
    {A::kTopk, "topk", S, false},         {A::kBottomk, "bottomk", S, false},
    {A::kQuantile, "quantile", S, false}, {A::kCountValues, "count_values", Str, false},
    {A::kLimitk, "limitk", S, true},      {A::kLimitRatio, "limit_ratio", S, true},
};

constexpr bool AggregatesIndexedByOp() {
  for (size_t i = 0; i < std::size(kAggregates); ++i) {
    if (static_cast<size_t>(kAggregates[i].op) != i) return false;
  }
  return true;
}
static_assert(AggregatesIndexedByOp(), "kAggregates must be indexed by AggregateOp");

}  // namespace

const FunctionSignature* FindFunction(std::string_view name) {
  const auto* it =
      std::lower_bound(std::begin(kFunctions), std::end(kFunctions), name,
                       [](const FunctionSignature& f, std::string_view n) { return f.name < n; });
  if (it == std::end(kFunctions) || it->name != name) return nullptr;
  return it;
}

std::span<const FunctionSignature> AllFunctions() { return kFunctions; }

const AggregateSignature* FindAggregate(std::string_view name) {
  if (name.size() > 12) return nullptr;  // "count_values" is the longest.
  for (const AggregateSignature& a : kAggregates) {
    if (absl::EqualsIgnoreCase(absl::string_view(name.data(), name.size()),
                               absl::string_view(a.name.data(), a.name.size()))) {
      return &a;
    }
  }
  return nullptr;
}

const AggregateSignature& GetAggregate(AggregateOp op) {
  return kAggregates[static_cast<size_t>(op)];
}

}  // namespace ember::query
