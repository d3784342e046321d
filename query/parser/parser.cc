// The expression level of the PromQL grammar: a recursive-descent parser with precedence
// climbing for binary operators, over the tokens and selector/label-list rules of the X3
// grammar (lexer.cc, label_lists.cc). It counts nesting as it descends, so hostile input such
// as 100,000 parentheses fails at kMaxExprDepth instead of overflowing the stack. The Parser
// class is parser_impl.h; its postfix modifiers (`[...]`, offset, @) are parser_postfix.cc.
#include "query/parser/parser.h"

#include <cmath>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "query/functions/signatures.h"
#include "query/parser/check.h"
#include "query/parser/grammar.h"
#include "query/parser/parser_impl.h"
#include "storage/matcher.h"
#include "util/quote.h"
#include "util/status_macros.h"
#include "util/strings.h"
#include "util/utf8.h"

namespace ember::query {
namespace {

using grammar::Tok;
using grammar::Token;
using parser_internal::ParseError;

// Keywords that can never start an operand.
bool IsReservedKeyword(std::string_view lower) {
  static constexpr std::string_view kWords[] = {"and",        "or",          "unless", "atan2",
                                                "by",         "without",     "on",     "ignoring",
                                                "group_left", "group_right", "bool",   "offset"};
  for (std::string_view w : kWords) {
    if (lower == w) return true;
  }
  return false;
}

}  // namespace

namespace parser_internal {

absl::StatusOr<ExprPtr> Parser::Run() {
  if (tok_.kind == Tok::kEof) return ParseError(text_, 0, "no expression found in input");
  int height = 0;
  ExprPtr e = ParseBinary(0, 1, &height);
  if (!status_.ok()) return status_;
  if (tok_.kind != Tok::kEof) {
    Unexpected("", "");
    return status_;
  }
  EMBER_RETURN_IF_ERROR(parser_internal::CheckTypes(text_, e.get()));
  return e;
}

std::string Parser::Lower() const {
  return absl::AsciiStrToLower(util::AsAbsl(text_.substr(tok_.begin, tok_.end - tok_.begin)));
}

bool Parser::IsKeyword(std::string_view lower_word) const {
  return tok_.kind == Tok::kIdentifier && tok_.end - tok_.begin == int32_t(lower_word.size()) &&
         Lower() == lower_word;
}

std::nullptr_t Parser::Fail(int32_t pos, std::string_view message) {
  if (status_.ok()) status_ = ParseError(text_, pos, message);
  return nullptr;
}

// Prometheus's "unexpected <token>[ in <context>][, expected <expected>]".
std::nullptr_t Parser::Unexpected(std::string_view context, std::string_view expected) {
  if (tok_.kind == Tok::kError) return Fail(tok_.begin, tok_.value);
  if (tok_.kind == Tok::kEof && open_parens_ > 0) {
    return Fail(tok_.begin, "unclosed left parenthesis");
  }
  if (tok_.kind == Tok::kRParen && open_parens_ == 0) {
    return Fail(tok_.begin, "unexpected right parenthesis ')'");
  }
  std::string msg = absl::StrCat("unexpected ", grammar::DescribeToken(text_, tok_));
  if (!context.empty()) absl::StrAppend(&msg, " in ", util::AsAbsl(context));
  if (!expected.empty()) absl::StrAppend(&msg, ", expected ", util::AsAbsl(expected));
  return Fail(tok_.begin, msg);
}

bool Parser::CheckDepth(int depth) {
  if (depth <= kMaxExprDepth) return true;
  Fail(tok_.begin,
       absl::StrFormat("expression nests deeper than %d levels (kMaxExprDepth)", kMaxExprDepth));
  return false;
}

// The binary operator at the current token, if any.
std::optional<BinaryOp> Parser::PeekBinaryOp() const {
  if (tok_.kind == Tok::kOp) return tok_.op;
  if (tok_.kind != Tok::kIdentifier) return std::nullopt;
  const std::string lower = Lower();
  if (lower == "and") return BinaryOp::kAnd;
  if (lower == "or") return BinaryOp::kOr;
  if (lower == "unless") return BinaryOp::kUnless;
  if (lower == "atan2") return BinaryOp::kAtan2;
  return std::nullopt;
}

// Parses operators binding at least as tightly as `min_prec`. `*height` receives the
// height of the returned tree.
ExprPtr Parser::ParseBinary(int min_prec, int depth, int* height) {
  if (!CheckDepth(depth)) return nullptr;
  ExprPtr lhs = ParseUnary(depth, height);
  if (!lhs) return nullptr;
  while (true) {
    const std::optional<BinaryOp> op = PeekBinaryOp();
    if (!op || BinaryOpPrecedence(*op) < min_prec) break;
    Advance();
    auto b = std::make_unique<BinaryExpr>();
    b->op = *op;
    if (!ParseBinaryModifiers(b.get())) return nullptr;
    const int prec = BinaryOpPrecedence(*op);
    int rhs_height = 0;
    ExprPtr rhs = ParseBinary(IsRightAssociative(*op) ? prec : prec + 1, depth + 1, &rhs_height);
    if (!rhs) return nullptr;
    b->pos = {lhs->pos.begin, rhs->pos.end};
    b->lhs = std::move(lhs);
    b->rhs = std::move(rhs);
    *height = std::max(*height, rhs_height) + 1;
    if (*height > kMaxExprDepth) {
      return Fail(
          b->pos.begin,
          absl::StrFormat("expression nests deeper than %d levels (kMaxExprDepth)", kMaxExprDepth));
    }
    lhs = std::move(b);
  }
  return lhs;
}

// `bool`, `on(...)`/`ignoring(...)`, `group_left(...)`/`group_right(...)`.
bool Parser::ParseBinaryModifiers(BinaryExpr* b) {
  if (IsKeyword("bool")) {
    b->return_bool = true;
    Advance();
  }
  b->matching.emplace();
  const bool on = IsKeyword("on");
  if (!on && !IsKeyword("ignoring")) return true;
  b->matching->on = on;
  Advance();
  if (!ParseLabels("grouping opts", &b->matching->matching_labels)) return false;
  const bool left = IsKeyword("group_left");
  if (!left && !IsKeyword("group_right")) return true;
  b->matching->card = left ? Cardinality::kManyToOne : Cardinality::kOneToMany;
  Advance();
  if (tok_.kind == Tok::kLParen) {
    return ParseLabels("grouping opts", &b->matching->include);
  }
  return true;
}

// `( label, ... )` at the current token.
bool Parser::ParseLabels(std::string_view context, std::vector<std::string>* out) {
  if (tok_.kind != Tok::kLParen) {
    Unexpected(context, "\"(\"");
    return false;
  }
  const grammar::ListResult r = grammar::ParseLabelList(text_, tok_.begin, context, out);
  if (!r.ok) {
    Fail(r.error_pos, r.error);
    return false;
  }
  tok_ = grammar::Lex(text_, r.end);
  return true;
}

// Unary minus and plus bind tighter than * / % atan2 and looser than ^: -2^2 is -(2^2).
ExprPtr Parser::ParseUnary(int depth, int* height) {
  if (tok_.kind == Tok::kOp && (tok_.op == BinaryOp::kSub || tok_.op == BinaryOp::kAdd)) {
    const int32_t begin = tok_.begin;
    const bool negate = tok_.op == BinaryOp::kSub;
    Advance();
    ExprPtr operand = ParseBinary(BinaryOpPrecedence(BinaryOp::kPow), depth + 1, height);
    if (!operand) return nullptr;
    if (operand->kind == ExprKind::kNumberLiteral) {
      // As Prometheus: a sign before a literal folds into it.
      auto& n = operand->As<NumberLiteral>();
      if (negate) n.value = -n.value;
      n.pos.begin = begin;
      return operand;
    }
    auto u = std::make_unique<UnaryExpr>();
    u->negate = negate;
    u->pos = {begin, operand->pos.end};
    u->expr = std::move(operand);
    ++*height;
    return u;
  }
  ExprPtr e = ParsePrimary(depth, height);
  if (!e) return nullptr;
  return ParsePostfix(std::move(e), depth, height);
}

ExprPtr Parser::ParsePrimary(int depth, int* height) {
  *height = 1;
  switch (tok_.kind) {
    case Tok::kNumber: {
      auto n = std::make_unique<NumberLiteral>();
      n->value = tok_.number;
      n->pos = {tok_.begin, tok_.end};
      Advance();
      return n;
    }
    case Tok::kDuration: {
      // Prometheus 3.x reads a duration where a number is expected as seconds.
      auto n = std::make_unique<NumberLiteral>();
      n->value = static_cast<double>(tok_.duration_ms) / 1000.0;
      n->duration = true;
      n->pos = {tok_.begin, tok_.end};
      Advance();
      return n;
    }
    case Tok::kString: {
      auto s = std::make_unique<StringLiteral>();
      s->value = std::move(tok_.value);
      s->pos = {tok_.begin, tok_.end};
      Advance();
      return s;
    }
    case Tok::kLParen: {
      const int32_t begin = tok_.begin;
      ++open_parens_;
      Advance();
      int inner_height = 0;
      ExprPtr inner = ParseBinary(0, depth + 1, &inner_height);
      if (!inner) return nullptr;
      if (tok_.kind != Tok::kRParen) return Unexpected("", "");
      --open_parens_;
      auto p = std::make_unique<ParenExpr>();
      p->pos = {begin, tok_.end};
      p->expr = std::move(inner);
      *height = inner_height + 1;
      Advance();
      return p;
    }
    case Tok::kLBrace:
      return ParseSelector(std::string(), tok_.begin);
    case Tok::kIdentifier:
      return ParseIdentifierExpr(depth, height);
    default:
      return Unexpected("", "");
  }
}

ExprPtr Parser::ParseIdentifierExpr(int depth, int* height) {
  const Token ident = tok_;
  const std::string name = ident.value;
  const std::string lower = absl::AsciiStrToLower(util::AsAbsl(name));
  if (lower == "inf" || lower == "nan") {
    auto n = std::make_unique<NumberLiteral>();
    n->value = lower == "inf" ? HUGE_VAL : std::nan("");
    n->pos = {ident.begin, ident.end};
    Advance();
    return n;
  }
  Advance();
  if (const AggregateSignature* agg = FindAggregate(name)) {
    if (tok_.kind == Tok::kLParen || IsKeyword("by") || IsKeyword("without")) {
      return ParseAggregate(*agg, ident, depth, height);
    }
  }
  if (tok_.kind == Tok::kLParen) return ParseCall(ident, depth, height);
  if (IsReservedKeyword(lower) || FindAggregate(name) != nullptr) {
    tok_ = ident;
    return Unexpected("", "");
  }
  return ParseSelector(name, ident.begin);
}

// `name`, `name{...}` or `{...}`; the current token is the one after the name.
ExprPtr Parser::ParseSelector(std::string name, int32_t begin) {
  auto vs = std::make_unique<VectorSelector>();
  vs->pos = {begin, tok_.kind == Tok::kLBrace ? tok_.begin : PrevEnd(begin, name)};
  std::vector<grammar::RawMatcher> raw;
  if (tok_.kind == Tok::kLBrace) {
    const grammar::ListResult r = grammar::ParseLabelMatchers(text_, tok_.begin, &raw);
    if (!r.ok) return Fail(r.error_pos, r.error);
    vs->pos.end = static_cast<int32_t>(r.end);
    tok_ = grammar::Lex(text_, r.end);
  }
  const bool name_outside = !name.empty();
  vs->name = name;
  for (grammar::RawMatcher& m : raw) {
    // `{"my.metric"}` is `{__name__="my.metric"}`, and may be repeated (`{"a", "b"}`) as
    // `__name__` matchers may; only a name before the braces must not be set again.
    if (!m.has_op) m.name = std::string(kMetricNameLabel);
    if (name_outside && m.name == kMetricNameLabel) {
      return Fail(vs->pos.begin, absl::StrFormat("metric name must not be set twice: %s or %s",
                                                 util::GoQuote(name), util::GoQuote(m.value)));
    }
    vs->matchers.push_back(Matcher{m.op, std::move(m.name), std::move(m.value)});
  }
  if (name_outside) {
    vs->matchers.push_back(Matcher{Matcher::Op::kEqual, std::string(kMetricNameLabel), name});
  }
  // Regexes must compile, and a selector must not match every series.
  // Compiled once here; the evaluator selects with these.
  bool selective = false;
  vs->compiled_matchers.reserve(vs->matchers.size());
  for (size_t i = 0; i < vs->matchers.size(); ++i) {
    absl::StatusOr<storage::CompiledMatcher> cm =
        storage::CompiledMatcher::Compile(vs->matchers[i]);
    if (!cm.ok()) {
      const int32_t pos = i < raw.size() ? raw[i].begin : vs->pos.begin;
      return Fail(pos,
                  std::string_view(cm.status().message().data(), cm.status().message().size()));
    }
    if (!cm->MatchesEmpty()) selective = true;
    vs->compiled_matchers.push_back(*std::move(cm));
  }
  if (!selective) {
    return Fail(vs->pos.begin, "vector selector must contain at least one non-empty matcher");
  }
  return vs;
}

int32_t Parser::PrevEnd(int32_t begin, const std::string& name) const {
  return begin + static_cast<int32_t>(name.size());
}

// `( args )` of a call or aggregation, at the current `(`.
bool Parser::ParseArgs(int depth, std::vector<ExprPtr>* args, int* height, int32_t* end) {
  ++open_parens_;
  Advance();
  while (tok_.kind != Tok::kRParen) {
    int h = 0;
    ExprPtr arg = ParseBinary(0, depth + 1, &h);
    if (!arg) return false;
    *height = std::max(*height, h + 1);
    args->push_back(std::move(arg));
    if (tok_.kind == Tok::kComma) {
      Advance();
      continue;
    }
    if (tok_.kind != Tok::kRParen) {
      Unexpected("function call arguments", "\",\" or \")\"");
      return false;
    }
  }
  --open_parens_;
  *end = tok_.end;
  Advance();
  return true;
}

ExprPtr Parser::ParseCall(const Token& ident, int depth, int* height) {
  const FunctionSignature* f = FindFunction(ident.value);
  if (f == nullptr) {
    return Fail(ident.begin,
                absl::StrFormat("unknown function with name %s", util::GoQuote(ident.value)));
  }
  auto c = std::make_unique<Call>();
  c->func = f;
  c->pos.begin = ident.begin;
  if (!ParseArgs(depth, &c->args, height, &c->pos.end)) return nullptr;
  return c;
}

ExprPtr Parser::ParseAggregate(const AggregateSignature& agg, const Token& ident, int depth,
                               int* height) {
  auto a = std::make_unique<AggregateExpr>();
  a->op = agg.op;
  a->pos.begin = ident.begin;
  bool grouped = false;
  if (IsKeyword("by") || IsKeyword("without")) {
    a->without = IsKeyword("without");
    Advance();
    if (!ParseLabels("grouping opts", &a->grouping)) return nullptr;
    grouped = true;
  }
  if (tok_.kind != Tok::kLParen) return Unexpected("aggregation", "\"(\"");
  std::vector<ExprPtr> args;
  if (!ParseArgs(depth, &args, height, &a->pos.end)) return nullptr;
  if (!grouped && (IsKeyword("by") || IsKeyword("without"))) {
    a->without = IsKeyword("without");
    Advance();
    const int32_t list_begin = tok_.begin;
    if (!ParseLabels("grouping opts", &a->grouping)) return nullptr;
    (void)list_begin;
    a->pos.end = PrevTokenEnd();
  }
  if (args.empty()) return Fail(a->pos.begin, "no arguments for aggregate expression provided");
  const size_t want = agg.param_type != ValueType::kNone ? 2 : 1;
  if (args.size() != want) {
    return Fail(a->pos.begin, absl::StrFormat("wrong number of arguments for aggregate "
                                              "expression provided, expected %d, got %d",
                                              want, args.size()));
  }
  if (want == 2) a->param = std::move(args[0]);
  a->expr = std::move(args[want - 1]);
  return a;
}

// End of the last consumed token: the non-space byte before the current token.
int32_t Parser::PrevTokenEnd() const {
  int32_t p = tok_.begin;
  while (p > 0 && absl::ascii_isspace(static_cast<unsigned char>(text_[p - 1]))) --p;
  return p;
}

}  // namespace parser_internal

absl::StatusOr<ExprPtr> ParseExpr(std::string_view text) {
  if (text.size() > static_cast<size_t>(INT32_MAX)) {
    return absl::InvalidArgumentError("query is longer than 2 GiB");
  }
  // Prometheus's lexer reads runes and refuses invalid ones; so does Ember, before any token,
  // so that no string or name carries invalid UTF-8 into a result or an error message.
  if (const size_t bad = util::FindInvalidUtf8(text); bad != std::string_view::npos) {
    return parser_internal::ParseError(text, static_cast<int32_t>(bad), "invalid UTF-8 rune");
  }
  return parser_internal::Parser(text).Run();
}

}  // namespace ember::query
