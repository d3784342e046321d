// The PromQL parser's postfix modifiers: `[range]` (a matrix selector), `[range:step]` (a
// subquery), `offset` and `@`, with Prometheus's messages. The rest of the Parser is parser.cc.
#include <cmath>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "query/ast.h"
#include "query/parser/parser.h"
#include "query/parser/parser_impl.h"

namespace ember::query::parser_internal {

// A duration or a number of seconds, after an optional sign when `allow_sign`.
std::optional<int64_t> Parser::ParseDuration(std::string_view context, std::string_view expected,
                                             bool allow_sign) {
  bool negative = false;
  if (allow_sign && tok_.kind == Tok::kOp &&
      (tok_.op == BinaryOp::kSub || tok_.op == BinaryOp::kAdd)) {
    negative = tok_.op == BinaryOp::kSub;
    Advance();
  }
  int64_t ms;
  if (tok_.kind == Tok::kDuration) {
    ms = tok_.duration_ms;
  } else if (tok_.kind == Tok::kNumber) {
    const double s = tok_.number;
    if (!std::isfinite(s) || std::abs(s) * 1000 > static_cast<double>(kMaxDurationMs)) {
      Fail(tok_.begin, "duration out of range");
      return std::nullopt;
    }
    ms = static_cast<int64_t>(std::llround(s * 1000));
  } else {
    Unexpected(context, expected);
    return std::nullopt;
  }
  Advance();
  return negative ? -ms : ms;
}

ExprPtr Parser::ParsePostfix(ExprPtr e, int depth, int* height) {
  while (status_.ok()) {
    if (tok_.kind == Tok::kLBracket) {
      e = ParseRangeOrSubquery(std::move(e), height);
    } else if (IsKeyword("offset")) {
      e = ParseOffset(std::move(e));
    } else if (tok_.kind == Tok::kAt) {
      e = ParseAt(std::move(e));
    } else {
      break;
    }
    if (!e) return nullptr;
    if (*height > kMaxExprDepth) {  // `x[5m:][5m:][5m:]...` nests without recursing here.
      return Fail(
          e->pos.begin,
          absl::StrFormat("expression nests deeper than %d levels (kMaxExprDepth)", kMaxExprDepth));
    }
  }
  return e;
}

ExprPtr Parser::ParseRangeOrSubquery(ExprPtr e, int* height) {
  const int32_t lbracket = tok_.begin;
  in_brackets_ = true;
  Advance();
  constexpr std::string_view kCtx = "subquery or range selector";
  const std::optional<int64_t> range = ParseDuration(kCtx, "number or duration", false);
  if (!range) return nullptr;
  if (tok_.kind == Tok::kRBracket) {
    const int32_t rbracket_end = tok_.end;
    if (e->kind != ExprKind::kVectorSelector) {
      return Fail(lbracket, "ranges only allowed for vector selectors");
    }
    auto& vs = e->As<VectorSelector>();
    if (vs.offset_ms != 0) return Fail(lbracket, "no offset modifiers allowed before range");
    if (vs.at != AtModifier::kNone) return Fail(lbracket, "no @ modifiers allowed before range");
    in_brackets_ = false;
    Advance();
    auto m = std::make_unique<MatrixSelector>();
    m->pos = {e->pos.begin, rbracket_end};
    m->range_ms = *range;
    m->selector.reset(static_cast<VectorSelector*>(e.release()));
    return m;
  }
  if (tok_.kind != Tok::kColon) return Unexpected(kCtx, "\":\" or \"]\"");
  Advance();
  auto sq = std::make_unique<SubqueryExpr>();
  sq->range_ms = *range;
  if (tok_.kind != Tok::kRBracket) {
    const std::optional<int64_t> step = ParseDuration(kCtx, "number, duration or \"]\"", false);
    if (!step) return nullptr;
    sq->step_ms = *step;
    if (tok_.kind != Tok::kRBracket) return Unexpected(kCtx, "\"]\"");
  }
  sq->pos = {e->pos.begin, tok_.end};
  sq->expr = std::move(e);
  ++*height;
  in_brackets_ = false;
  Advance();
  return sq;
}

std::optional<Parser::Modifiable> Parser::ModifiableOf(Expr* e) {
  switch (e->kind) {
    case ExprKind::kVectorSelector: {
      auto& vs = e->As<VectorSelector>();
      return Modifiable{&vs.offset_ms, &vs.at, &vs.at_ms};
    }
    case ExprKind::kMatrixSelector: {
      auto& vs = *e->As<MatrixSelector>().selector;
      return Modifiable{&vs.offset_ms, &vs.at, &vs.at_ms};
    }
    case ExprKind::kSubquery: {
      auto& sq = e->As<SubqueryExpr>();
      return Modifiable{&sq.offset_ms, &sq.at, &sq.at_ms};
    }
    default:
      return std::nullopt;
  }
}

ExprPtr Parser::ParseOffset(ExprPtr e) {
  Advance();
  const std::optional<Modifiable> m = ModifiableOf(e.get());
  const std::optional<int64_t> offset = ParseDuration("offset", "number or duration", true);
  if (!offset) return nullptr;
  if (!m) {
    return Fail(e->pos.begin,
                "offset modifier must be preceded by an instant vector selector "
                "or range vector selector or a subquery");
  }
  if (*m->offset_ms != 0) return Fail(e->pos.begin, "offset may not be set multiple times");
  *m->offset_ms = *offset;
  e->pos.end = PrevTokenEnd();
  return e;
}

ExprPtr Parser::ParseAt(ExprPtr e) {
  Advance();
  AtModifier at = AtModifier::kTimestamp;
  int64_t at_ms = 0;
  if (IsKeyword("start") || IsKeyword("end")) {
    at = IsKeyword("start") ? AtModifier::kStart : AtModifier::kEnd;
    Advance();
    if (tok_.kind != Tok::kLParen) return Unexpected("@", "\"(\"");
    Advance();
    if (tok_.kind != Tok::kRParen) return Unexpected("@", "\")\"");
    Advance();
  } else {
    bool negative = false;
    if (tok_.kind == Tok::kOp && (tok_.op == BinaryOp::kSub || tok_.op == BinaryOp::kAdd)) {
      negative = tok_.op == BinaryOp::kSub;
      Advance();
    }
    double seconds;
    if (tok_.kind == Tok::kNumber) {
      seconds = tok_.number;
    } else if (tok_.kind == Tok::kDuration) {
      seconds = static_cast<double>(tok_.duration_ms) / 1000.0;
    } else if (tok_.kind == Tok::kIdentifier && (Lower() == "inf" || Lower() == "nan")) {
      seconds = Lower() == "inf" ? HUGE_VAL : std::nan("");
    } else {
      return Unexpected("@", "timestamp");
    }
    if (negative) seconds = -seconds;
    // Prometheus's bound is the int64 range of milliseconds; Ember's is kMaxEvalTimeMs, so
    // that `@ t offset d` can never overflow.
    if (!std::isfinite(seconds) || std::abs(seconds) * 1000 > static_cast<double>(kMaxEvalTimeMs)) {
      return Fail(e->pos.begin, absl::StrCat("timestamp out of bounds for @ modifier: ",
                                             FormatAtSeconds(seconds)));
    }
    at_ms = static_cast<int64_t>(std::llround(seconds * 1000));
    Advance();
  }
  const std::optional<Modifiable> m = ModifiableOf(e.get());
  if (!m) {
    return Fail(e->pos.begin,
                "@ modifier must be preceded by an instant vector selector or "
                "range vector selector or a subquery");
  }
  if (*m->at != AtModifier::kNone) {
    return Fail(e->pos.begin, "@ <timestamp> may not be set multiple times");
  }
  *m->at = at;
  *m->at_ms = at_ms;
  e->pos.end = PrevTokenEnd();
  return e;
}

// Go's %f: +Inf, -Inf, NaN, or six decimals.
std::string Parser::FormatAtSeconds(double s) {
  if (std::isnan(s)) return "NaN";
  if (std::isinf(s)) return s > 0 ? "+Inf" : "-Inf";
  return absl::StrFormat("%f", s);
}

}  // namespace ember::query::parser_internal
