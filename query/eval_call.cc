// Evaluator: functions of instant vectors and scalars, evaluated step by step.
#include <algorithm>
#include <cmath>
#include <numbers>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "query/eval.h"
#include "query/functions/functions.h"
#include "query/functions/signatures.h"
#include "util/status_macros.h"

namespace ember::query {

absl::StatusOr<EvalResult> Evaluator::EvalStepFunction(const Call& e) {
  const FunctionId id = e.func->id;
  std::vector<EvalResult> args;
  std::vector<const EvalResult*> numeric;  // Non-string arguments, in order.
  std::vector<std::string> strs;
  args.reserve(e.args.size());
  for (const ExprPtr& a : e.args) {
    EMBER_ASSIGN_OR_RETURN(EvalResult r, Eval(*a));
    args.push_back(std::move(r));
  }
  for (const EvalResult& r : args) {
    if (r.type == ValueType::kString) {
      strs.push_back(r.str);
    } else {
      numeric.push_back(&r);
    }
  }

  EvalResult result;
  result.type = e.func->return_type;
  switch (id) {
    case FunctionId::kTime:
      return Scalar([](int64_t ts) { return static_cast<double>(ts) / 1000.0; });
    case FunctionId::kPi:
      return Scalar([](int64_t) { return std::numbers::pi; });
    default:
      break;
  }

  const bool is_sort = id == FunctionId::kSort || id == FunctionId::kSortDesc ||
                       id == FunctionId::kSortByLabel || id == FunctionId::kSortByLabelDesc;
  if (is_sort && start_ != end_) {
    ctx_->Warn(absl::StrCat("sort is ineffective for range queries since results are always "
                            "ordered by labels"),
               e.pos);
  }

  ElementFn elem = MathElementFn(id);
  if (elem == nullptr) elem = TimeElementFn(id);
  const bool time_fn = TimeElementFn(id) != nullptr;
  const Labels absent_labels =
      id == FunctionId::kAbsent ? AbsentLabels(Unparen(*e.args[0])) : Labels{};

  auto step = [&](std::span<EvalVector> v, int64_t ts, EvalVector* out) -> absl::Status {
    switch (id) {
      case FunctionId::kVector:
        out->push_back(EvalSample{&NoLabels(), v[0][0].v, ts, false});
        return absl::OkStatus();
      case FunctionId::kScalar:
        out->push_back(EvalSample{&NoLabels(), v[0].size() == 1 ? v[0][0].v : NAN, ts, false});
        return absl::OkStatus();
      case FunctionId::kAbsent:
        if (v[0].empty()) out->push_back(EvalSample{&absent_labels, 1, ts, false});
        return absl::OkStatus();
      case FunctionId::kSort:
      case FunctionId::kSortDesc:
        *out = std::move(v[0]);
        SortByValue(out, id == FunctionId::kSortDesc);
        return absl::OkStatus();
      case FunctionId::kSortByLabel:
      case FunctionId::kSortByLabelDesc:
        *out = std::move(v[0]);
        SortByLabel(out, strs, id == FunctionId::kSortByLabelDesc);
        return absl::OkStatus();
      case FunctionId::kHistogramQuantile:
        if (const double q = v[0][0].v; !(q >= 0 && q <= 1)) {
          ctx_->Warn(absl::StrCat("quantile value should be between 0 and 1, got ",
                                  std::isnan(q) ? std::string("NaN") : absl::StrFormat("%g", q)),
                     e.args[0]->pos);
        }
        HistogramQuantile(v[0][0].v, v[1], out, ctx_, e.args[1]->pos);
        return absl::OkStatus();
      case FunctionId::kHistogramFraction:
        HistogramFraction(v[0][0].v, v[1][0].v, v[2], out, ctx_, e.args[2]->pos);
        return absl::OkStatus();
      case FunctionId::kTimestamp:
        for (EvalSample& s : v[0]) {
          s.v = static_cast<double>(s.t) / 1000.0;
          s.drop_name = true;
          out->push_back(std::move(s));
        }
        return absl::OkStatus();
      case FunctionId::kClamp: {
        const double lo = v[1][0].v;
        const double hi = v[2][0].v;
        if (hi < lo) return absl::OkStatus();
        for (EvalSample& s : v[0]) {
          // Go's math.Max/Min propagate NaN.
          s.v = (std::isnan(lo) || std::isnan(hi) || std::isnan(s.v))
                    ? NAN
                    : std::max(lo, std::min(hi, s.v));
          s.drop_name = true;
          out->push_back(std::move(s));
        }
        return absl::OkStatus();
      }
      default:
        break;
    }
    if (elem != nullptr) {
      double params[2] = {0, 0};
      for (size_t k = 1; k < v.size() && k < 3; ++k) params[k - 1] = v[k][0].v;
      if (id == FunctionId::kRound && v.size() < 2) params[0] = 1;
      if (time_fn && v.empty()) {
        out->push_back(
            EvalSample{&NoLabels(), elem(static_cast<double>(ts) / 1000.0, params), ts, false});
        return absl::OkStatus();
      }
      for (EvalSample& s : v[0]) {
        s.v = elem(s.v, params);
        s.drop_name = true;
        out->push_back(std::move(s));
      }
      return absl::OkStatus();
    }
    return absl::UnimplementedError(
        absl::StrCat("function ", std::string(e.func->name), " is not supported"));
  };
  EMBER_ASSIGN_OR_RETURN(result.series, RangeEval(numeric, step));
  return result;
}

}  // namespace ember::query
