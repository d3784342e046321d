#include "query/ast.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "query/functions/signatures.h"
#include "util/duration.h"
#include "util/quote.h"
#include "util/strings.h"

namespace ember::query {
namespace {
// Debian 12's Abseil has its own string_view class; StrCat takes only that one.
}  // namespace

std::string_view ValueTypeName(ValueType t) {
  switch (t) {
    case ValueType::kNone:
      return "none";
    case ValueType::kScalar:
      return "scalar";
    case ValueType::kVector:
      return "instant vector";
    case ValueType::kMatrix:
      return "range vector";
    case ValueType::kString:
      return "string";
  }
  return "none";
}

std::string_view BinaryOpName(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd:
      return "+";
    case BinaryOp::kSub:
      return "-";
    case BinaryOp::kMul:
      return "*";
    case BinaryOp::kDiv:
      return "/";
    case BinaryOp::kMod:
      return "%";
    case BinaryOp::kPow:
      return "^";
    case BinaryOp::kAtan2:
      return "atan2";
    case BinaryOp::kEql:
      return "==";
    case BinaryOp::kNeq:
      return "!=";
    case BinaryOp::kLss:
      return "<";
    case BinaryOp::kLte:
      return "<=";
    case BinaryOp::kGtr:
      return ">";
    case BinaryOp::kGte:
      return ">=";
    case BinaryOp::kAnd:
      return "and";
    case BinaryOp::kOr:
      return "or";
    case BinaryOp::kUnless:
      return "unless";
  }
  return "?";
}

bool IsComparisonOp(BinaryOp op) { return op >= BinaryOp::kEql && op <= BinaryOp::kGte; }
bool IsSetOp(BinaryOp op) { return op >= BinaryOp::kAnd; }
bool IsRightAssociative(BinaryOp op) { return op == BinaryOp::kPow; }

int BinaryOpPrecedence(BinaryOp op) {
  switch (op) {
    case BinaryOp::kOr:
      return 1;
    case BinaryOp::kAnd:
    case BinaryOp::kUnless:
      return 2;
    case BinaryOp::kEql:
    case BinaryOp::kNeq:
    case BinaryOp::kLss:
    case BinaryOp::kLte:
    case BinaryOp::kGtr:
    case BinaryOp::kGte:
      return 3;
    case BinaryOp::kAdd:
    case BinaryOp::kSub:
      return 4;
    case BinaryOp::kMul:
    case BinaryOp::kDiv:
    case BinaryOp::kMod:
    case BinaryOp::kAtan2:
      return 5;
    case BinaryOp::kPow:
      return 6;
  }
  return 0;
}

std::string_view AggregateOpName(AggregateOp op) { return GetAggregate(op).name; }

ValueType Expr::type() const {
  switch (kind) {
    case ExprKind::kNumberLiteral:
      return ValueType::kScalar;
    case ExprKind::kStringLiteral:
      return ValueType::kString;
    case ExprKind::kVectorSelector:
      return ValueType::kVector;
    case ExprKind::kMatrixSelector:
      return ValueType::kMatrix;
    case ExprKind::kSubquery:
      return ValueType::kMatrix;
    case ExprKind::kParen:
      return As<ParenExpr>().expr->type();
    case ExprKind::kUnary:
      return As<UnaryExpr>().expr->type();
    case ExprKind::kBinary: {
      const auto& b = As<BinaryExpr>();
      if (b.lhs->type() == ValueType::kScalar && b.rhs->type() == ValueType::kScalar) {
        return ValueType::kScalar;
      }
      return ValueType::kVector;
    }
    case ExprKind::kAggregate:
      return ValueType::kVector;
    case ExprKind::kCall:
      return As<Call>().func->return_type;
  }
  return ValueType::kNone;
}

bool IsLegacyMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
                    (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

std::string FormatNumber(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[400];  // The longest fixed form of a double is ~330 characters.
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::fixed);
  if (ec != std::errc()) return absl::StrFormat("%g", v);
  return std::string(buf, end);
}

namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 when invalid.
}  // namespace

namespace {

std::string_view MatchOpName(Matcher::Op op) {
  switch (op) {
    case Matcher::Op::kEqual:
      return "=";
    case Matcher::Op::kNotEqual:
      return "!=";
    case Matcher::Op::kRegexMatch:
      return "=~";
    case Matcher::Op::kRegexNoMatch:
      return "!~";
  }
  return "?";
}

std::string LabelNameText(std::string_view name) {
  return IsLegacyLabelName(name) ? std::string(name) : util::GoQuote(name);
}

void AppendLabelList(std::string* out, const std::vector<std::string>& labels) {
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out->append(", ");
    out->append(LabelNameText(labels[i]));
  }
}

void AppendAtOffset(std::string* out, AtModifier at, int64_t at_ms, int64_t offset_ms) {
  switch (at) {
    case AtModifier::kNone:
      break;
    case AtModifier::kTimestamp:
      absl::StrAppendFormat(out, " @ %.3f", static_cast<double>(at_ms) / 1000.0);
      break;
    case AtModifier::kStart:
      out->append(" @ start()");
      break;
    case AtModifier::kEnd:
      out->append(" @ end()");
      break;
  }
  if (offset_ms > 0) {
    absl::StrAppend(out, " offset ", util::FormatDuration(offset_ms));
  } else if (offset_ms < 0) {
    absl::StrAppend(out, " offset -", util::FormatDuration(-offset_ms));
  }
}

// The selector without its @ and offset.
void AppendSelectorBody(std::string* out, const VectorSelector& vs) {
  std::vector<std::string> items;
  const bool legacy_name = IsLegacyMetricName(vs.name);
  for (const Matcher& m : vs.matchers) {
    if (m.name == kMetricNameLabel && m.op == Matcher::Op::kEqual && m.value == vs.name &&
        !m.value.empty()) {
      continue;
    }
    items.push_back(absl::StrCat(LabelNameText(m.name), util::AsAbsl(MatchOpName(m.op)),
                                 util::GoQuote(m.value)));
  }
  std::sort(items.begin(), items.end());
  if (!vs.name.empty() && !legacy_name) items.insert(items.begin(), util::GoQuote(vs.name));
  if (legacy_name) out->append(vs.name);
  if (!items.empty()) absl::StrAppend(out, "{", absl::StrJoin(items, ","), "}");
}

void AppendExpr(std::string* out, const Expr& e) {
  switch (e.kind) {
    case ExprKind::kNumberLiteral: {
      const auto& n = e.As<NumberLiteral>();
      if (n.duration) {
        const auto ms = static_cast<int64_t>(std::llround(n.value * 1000));
        absl::StrAppend(out, ms < 0 ? "-" : "", util::FormatDuration(ms < 0 ? -ms : ms));
      } else {
        out->append(FormatNumber(n.value));
      }
      return;
    }
    case ExprKind::kStringLiteral:
      out->append(util::GoQuote(e.As<StringLiteral>().value));
      return;
    case ExprKind::kVectorSelector: {
      const auto& vs = e.As<VectorSelector>();
      AppendSelectorBody(out, vs);
      AppendAtOffset(out, vs.at, vs.at_ms, vs.offset_ms);
      return;
    }
    case ExprKind::kMatrixSelector: {
      const auto& ms = e.As<MatrixSelector>();
      AppendSelectorBody(out, *ms.selector);
      absl::StrAppend(out, "[", util::FormatDuration(ms.range_ms), "]");
      AppendAtOffset(out, ms.selector->at, ms.selector->at_ms, ms.selector->offset_ms);
      return;
    }
    case ExprKind::kSubquery: {
      const auto& sq = e.As<SubqueryExpr>();
      AppendExpr(out, *sq.expr);
      absl::StrAppend(out, "[", util::FormatDuration(sq.range_ms), ":",
                      sq.step_ms != 0 ? util::FormatDuration(sq.step_ms) : "", "]");
      AppendAtOffset(out, sq.at, sq.at_ms, sq.offset_ms);
      return;
    }
    case ExprKind::kParen:
      out->push_back('(');
      AppendExpr(out, *e.As<ParenExpr>().expr);
      out->push_back(')');
      return;
    case ExprKind::kUnary: {
      const auto& u = e.As<UnaryExpr>();
      out->push_back(u.negate ? '-' : '+');
      AppendExpr(out, *u.expr);
      return;
    }
    case ExprKind::kBinary: {
      const auto& b = e.As<BinaryExpr>();
      // A sign binds looser than ^, so `+Inf ^ 2` would parse again as +(Inf ^ 2). The parser
      // folds a sign into a literal only where no ^ follows, so of the signed spellings only
      // +Inf can stand left of ^: print it unsigned there.
      const bool plus_inf_lhs = b.lhs->kind == ExprKind::kNumberLiteral &&
                                !b.lhs->As<NumberLiteral>().duration &&
                                b.lhs->As<NumberLiteral>().value == HUGE_VAL;
      if (b.op == BinaryOp::kPow && plus_inf_lhs) {
        out->append("Inf");
      } else {
        AppendExpr(out, *b.lhs);
      }
      absl::StrAppend(out, " ", util::AsAbsl(BinaryOpName(b.op)), b.return_bool ? " bool" : "");
      if (b.matching) {
        const VectorMatching& vm = *b.matching;
        const bool grouped =
            vm.card == Cardinality::kManyToOne || vm.card == Cardinality::kOneToMany;
        if (!vm.matching_labels.empty() || vm.on || grouped) {
          out->append(vm.on ? " on (" : " ignoring (");
          AppendLabelList(out, vm.matching_labels);
          out->push_back(')');
        }
        if (grouped) {
          out->append(vm.card == Cardinality::kManyToOne ? " group_left (" : " group_right (");
          AppendLabelList(out, vm.include);
          out->push_back(')');
        }
      }
      out->push_back(' ');
      AppendExpr(out, *b.rhs);
      return;
    }
    case ExprKind::kAggregate: {
      const auto& a = e.As<AggregateExpr>();
      out->append(AggregateOpName(a.op));
      if (a.without || !a.grouping.empty()) {
        out->append(a.without ? " without (" : " by (");
        AppendLabelList(out, a.grouping);
        out->append(") ");
      }
      out->push_back('(');
      if (a.param) {
        AppendExpr(out, *a.param);
        out->append(", ");
      }
      AppendExpr(out, *a.expr);
      out->push_back(')');
      return;
    }
    case ExprKind::kCall: {
      const auto& c = e.As<Call>();
      out->append(c.func->name);
      out->push_back('(');
      for (size_t i = 0; i < c.args.size(); ++i) {
        if (i > 0) out->append(", ");
        AppendExpr(out, *c.args[i]);
      }
      out->push_back(')');
      return;
    }
  }
}

}  // namespace

std::string ToString(const Expr& e) {
  std::string out;
  AppendExpr(&out, e);
  return out;
}

}  // namespace ember::query
