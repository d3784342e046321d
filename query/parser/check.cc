#include "query/parser/check.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "query/functions/signatures.h"
#include "util/quote.h"

namespace ember::query::parser_internal {

absl::Status ParseError(std::string_view text, int32_t pos, std::string_view message) {
  pos = std::clamp<int32_t>(pos, 0, static_cast<int32_t>(text.size()));
  int line = 1;
  size_t line_start = 0;
  for (int32_t i = 0; i < pos; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return absl::InvalidArgumentError(
      absl::StrFormat("%d:%d: parse error: %s", line, pos - line_start + 1, message));
}

namespace {

class Checker {
 public:
  explicit Checker(std::string_view text) : text_(text) {}

  // Checks `e` and its children; returns its type. The first error is kept in status_.
  ValueType Check(Expr* e) {
    if (!status_.ok()) return ValueType::kNone;
    switch (e->kind) {
      case ExprKind::kNumberLiteral:
      case ExprKind::kStringLiteral:
      case ExprKind::kVectorSelector:  // Matchers were checked while parsing.
        break;
      case ExprKind::kMatrixSelector:
        break;
      case ExprKind::kSubquery: {
        const ValueType t = Check(e->As<SubqueryExpr>().expr.get());
        if (t != ValueType::kVector) {
          // Prometheus prints the internal type name here ("matrix", "scalar").
          Fail(e->pos.begin, absl::StrFormat("subquery is only allowed on instant vector, got %s "
                                             "instead",
                                             InternalName(t)));
        }
        break;
      }
      case ExprKind::kParen:
        Check(e->As<ParenExpr>().expr.get());
        break;
      case ExprKind::kUnary: {
        const ValueType t = Check(e->As<UnaryExpr>().expr.get());
        if (status_.ok() && t != ValueType::kScalar && t != ValueType::kVector) {
          Fail(e->pos.begin, absl::StrFormat("unary expression only allowed on expressions of "
                                             "type scalar or instant vector, got \"%s\"",
                                             ValueTypeName(t)));
        }
        break;
      }
      case ExprKind::kBinary:
        CheckBinary(&e->As<BinaryExpr>());
        break;
      case ExprKind::kAggregate: {
        auto& a = e->As<AggregateExpr>();
        ExpectType(a.expr.get(), ValueType::kVector, "aggregation expression");
        const ValueType param = GetAggregate(a.op).param_type;
        if (param != ValueType::kNone) ExpectType(a.param.get(), param, "aggregation parameter");
        break;
      }
      case ExprKind::kCall:
        CheckCall(&e->As<Call>());
        break;
    }
    return status_.ok() ? e->type() : ValueType::kNone;
  }

  const absl::Status& status() const { return status_; }

 private:
  static std::string_view InternalName(ValueType t) {
    switch (t) {
      case ValueType::kScalar:
        return "scalar";
      case ValueType::kVector:
        return "vector";
      case ValueType::kMatrix:
        return "matrix";
      case ValueType::kString:
        return "string";
      case ValueType::kNone:
        return "none";
    }
    return "none";
  }

  void Fail(int32_t pos, std::string_view message) {
    if (status_.ok()) status_ = ParseError(text_, pos, message);
  }

  void ExpectType(Expr* e, ValueType want, std::string_view context) {
    const ValueType t = Check(e);
    if (status_.ok() && t != want) {
      Fail(e->pos.begin, absl::StrFormat("expected type %s in %s, got %s", ValueTypeName(want),
                                         context, ValueTypeName(t)));
    }
  }

  // The first non-space byte after the left operand: where the operator is.
  int32_t OperatorPos(const BinaryExpr& b) const {
    int32_t p = b.lhs->pos.end;
    while (p < static_cast<int32_t>(text_.size()) &&
           (text_[p] == ' ' || text_[p] == '\t' || text_[p] == '\n' || text_[p] == '\r')) {
      ++p;
    }
    return p;
  }

  void CheckBinary(BinaryExpr* b) {
    const ValueType lt = Check(b->lhs.get());
    const ValueType rt = Check(b->rhs.get());
    if (!status_.ok()) return;
    if (b->return_bool && !IsComparisonOp(b->op)) {
      Fail(OperatorPos(*b), "bool modifier can only be used on comparison operators");
    }
    if (IsComparisonOp(b->op) && !b->return_bool && lt == ValueType::kScalar &&
        rt == ValueType::kScalar) {
      Fail(OperatorPos(*b), "comparisons between scalars must use BOOL modifier");
    }
    if (b->matching && IsSetOp(b->op) && b->matching->card == Cardinality::kOneToOne) {
      b->matching->card = Cardinality::kManyToMany;
    }
    if (b->matching && b->matching->on) {
      for (const std::string& l : b->matching->matching_labels) {
        if (std::find(b->matching->include.begin(), b->matching->include.end(), l) !=
            b->matching->include.end()) {
          Fail(OperatorPos(*b),
               absl::StrFormat("label %s must not occur in ON and GROUP clause at once",
                               util::GoQuote(l)));
        }
      }
    }
    if (lt != ValueType::kScalar && lt != ValueType::kVector) {
      Fail(b->lhs->pos.begin,
           "binary expression must contain only scalar and instant vector types");
    }
    if (rt != ValueType::kScalar && rt != ValueType::kVector) {
      Fail(b->rhs->pos.begin,
           "binary expression must contain only scalar and instant vector types");
    }
    if ((lt != ValueType::kVector || rt != ValueType::kVector) && b->matching) {
      if (!b->matching->matching_labels.empty()) {
        Fail(b->pos.begin, "vector matching only allowed between instant vectors");
      }
      b->matching.reset();
    } else if (IsSetOp(b->op) && b->matching) {
      if (b->matching->card == Cardinality::kOneToMany ||
          b->matching->card == Cardinality::kManyToOne) {
        Fail(b->pos.begin,
             absl::StrFormat("no grouping allowed for \"%s\" operation", BinaryOpName(b->op)));
      }
      if (b->matching->card != Cardinality::kManyToMany) {
        Fail(b->pos.begin, "set operations must always be many-to-many");
      }
    }
    if ((lt == ValueType::kScalar || rt == ValueType::kScalar) && IsSetOp(b->op)) {
      Fail(b->pos.begin, absl::StrFormat("set operator \"%s\" not allowed in binary scalar "
                                         "expression",
                                         BinaryOpName(b->op)));
    }
  }

  void CheckCall(Call* c) {
    const FunctionSignature& f = *c->func;
    const int nargs = static_cast<int>(f.arg_types.size());
    const int got = static_cast<int>(c->args.size());
    if (f.variadic == 0) {
      if (nargs != got) {
        Fail(c->pos.begin, absl::StrFormat("expected %d argument(s) in call to \"%s\", got %d",
                                           nargs, f.name, got));
      }
    } else if (nargs - 1 > got) {
      Fail(c->pos.begin, absl::StrFormat("expected at least %d argument(s) in call to \"%s\", "
                                         "got %d",
                                         nargs - 1, f.name, got));
    } else if (f.variadic > 0 && nargs - 1 + f.variadic < got) {
      Fail(c->pos.begin, absl::StrFormat("expected at most %d argument(s) in call to \"%s\", "
                                         "got %d",
                                         nargs - 1 + f.variadic, f.name, got));
    }
    for (int i = 0; i < got && status_.ok(); ++i) {
      int k = i;
      if (k >= nargs) {
        if (f.variadic == 0) break;
        k = nargs - 1;
      }
      const ValueType t = Check(c->args[i].get());
      if (status_.ok() && t != f.arg_types[k]) {
        Fail(c->args[i]->pos.begin,
             absl::StrFormat("expected type %s in call to function \"%s\", got %s",
                             ValueTypeName(f.arg_types[k]), f.name, ValueTypeName(t)));
      }
    }
  }

  std::string_view text_;
  absl::Status status_;
};

}  // namespace

absl::Status CheckTypes(std::string_view text, Expr* e) {
  Checker checker(text);
  checker.Check(e);
  return checker.status();
}

}  // namespace ember::query::parser_internal
