// The PromQL lexer in Boost.Spirit X3: tokens, numbers and durations, quoted strings with Go's
// escapes. Everything it exports is declared in grammar.h and reports failure through return
// values, never exceptions. The selector and label-list grammar is label_lists.cc.
#include <cerrno>
#include <cstdlib>
#include <functional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "query/parser/grammar.h"
#include "query/parser/lexemes.h"
#include "util/quote.h"
#include "util/strings.h"
#include "util/utf8.h"

namespace ember::query::grammar {
namespace {

// Duration units, largest first; the value is the unit's rank (y=0 ... ms=6).
struct DurationUnits : x3::symbols<int> {
  DurationUnits() { add("y", 0)("w", 1)("d", 2)("h", 3)("m", 4)("s", 5)("ms", 6); }
};
const DurationUnits kDurationUnits;
constexpr int64_t kUnitMs[] = {365LL * 24 * 3600 * 1000,
                               7LL * 24 * 3600 * 1000,
                               24LL * 3600 * 1000,
                               3600LL * 1000,
                               60LL * 1000,
                               1000,
                               1};

// Punctuation and operator symbols. Longest match wins (`<=` over `<`, `=~` over `=`).
struct Punct {
  Tok kind;
  BinaryOp op;
};
struct PunctSymbols : x3::symbols<Punct> {
  PunctSymbols() {
    add("(", {Tok::kLParen, {}})(")", {Tok::kRParen, {}})("{", {Tok::kLBrace, {}})(
        "}", {Tok::kRBrace, {}})("[", {Tok::kLBracket, {}})("]", {Tok::kRBracket, {}})(
        ",", {Tok::kComma, {}})(":", {Tok::kColon, {}})("@", {Tok::kAt, {}})(
        "=", {Tok::kAssign, {}})("=~", {Tok::kEqlRegex, {}})("!~", {Tok::kNeqRegex, {}})(
        "!=", {Tok::kOp, BinaryOp::kNeq})("==", {Tok::kOp, BinaryOp::kEql})(
        "+", {Tok::kOp, BinaryOp::kAdd})("-", {Tok::kOp, BinaryOp::kSub})(
        "*", {Tok::kOp, BinaryOp::kMul})("/", {Tok::kOp, BinaryOp::kDiv})(
        "%", {Tok::kOp, BinaryOp::kMod})("^", {Tok::kOp, BinaryOp::kPow})(
        "<", {Tok::kOp, BinaryOp::kLss})("<=", {Tok::kOp, BinaryOp::kLte})(
        ">", {Tok::kOp, BinaryOp::kGtr})(">=", {Tok::kOp, BinaryOp::kGte});
  }
};
const PunctSymbols kPunct;

// Parses `p` at `*it` without skipping; advances `*it` on success.
template <typename P>
bool Match(Iter* it, Iter last, const P& p) {
  Iter i = *it;
  if (!x3::parse(i, last, p)) return false;
  *it = i;
  return true;
}

bool IsWordChar(char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_'; }

std::string GoQuoteRune(std::string_view text, size_t pos) {
  // Go's %q of one rune: 'x'. Multi-byte UTF-8 sequences are copied whole.
  const auto c = static_cast<unsigned char>(text[pos]);
  size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
  n = std::min(n, text.size() - pos);
  if (c == '\'') return "'\\''";
  if (c < 0x20 || c == 0x7f) return absl::StrFormat("'\\x%02x'", c);
  return absl::StrCat("'", util::AsAbsl(text.substr(pos, n)), "'");
}

// Go's %#U: U+0071 'q'.
std::string GoRuneU(std::string_view text, size_t pos) {
  return absl::StrFormat("U+%04X %s", static_cast<unsigned char>(text[pos]),
                         GoQuoteRune(text, pos));
}

Token ErrorToken(int32_t pos, std::string message) {
  Token t;
  t.kind = Tok::kError;
  t.begin = t.end = pos;
  t.value = std::move(message);
  return t;
}

int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

// Unquotes the quoted string text[begin, end) (quotes included) with Go's escapes. On error
// returns an error token positioned at the offending escape.
Token Unquote(std::string_view text, size_t begin, size_t end) {
  Token t;
  t.kind = Tok::kString;
  t.begin = static_cast<int32_t>(begin);
  t.end = static_cast<int32_t>(end);
  const char quote = text[begin];
  if (quote == '`') {
    t.value.assign(text.substr(begin + 1, end - begin - 2));
    return t;
  }
  std::string& out = t.value;
  for (size_t i = begin + 1; i + 1 < end; ++i) {
    if (text[i] != '\\') {
      out.push_back(text[i]);
      continue;
    }
    const size_t esc = i + 1;
    const char c = text[esc];
    switch (c) {
      case 'a':
        out.push_back('\a');
        ++i;
        continue;
      case 'b':
        out.push_back('\b');
        ++i;
        continue;
      case 'f':
        out.push_back('\f');
        ++i;
        continue;
      case 'n':
        out.push_back('\n');
        ++i;
        continue;
      case 'r':
        out.push_back('\r');
        ++i;
        continue;
      case 't':
        out.push_back('\t');
        ++i;
        continue;
      case 'v':
        out.push_back('\v');
        ++i;
        continue;
      case '\\':
        out.push_back('\\');
        ++i;
        continue;
      default:
        break;
    }
    if (c == quote) {
      out.push_back(c);
      ++i;
      continue;
    }
    int ndigits = 0;
    int base = 16;
    if (c >= '0' && c <= '7') {
      ndigits = 3;
      base = 8;
    } else if (c == 'x') {
      ndigits = 2;
    } else if (c == 'u') {
      ndigits = 4;
    } else if (c == 'U') {
      ndigits = 8;
    } else {
      return ErrorToken(static_cast<int32_t>(esc),
                        absl::StrCat("unknown escape sequence ", GoRuneU(text, esc)));
    }
    const size_t first = base == 8 ? esc : esc + 1;
    uint32_t v = 0;
    for (int k = 0; k < ndigits; ++k) {
      const size_t p = first + k;
      const int d = p + 1 < end ? HexVal(text[p]) : -1;
      if (d < 0 || d >= base) {
        if (p + 1 >= end)
          return ErrorToken(static_cast<int32_t>(p), "escape sequence not terminated");
        return ErrorToken(
            static_cast<int32_t>(p),
            absl::StrCat("illegal character ", GoRuneU(text, p), " in escape sequence"));
      }
      v = v * base + d;
    }
    if (base == 8 || c == 'x') {
      if (v > 255) {
        return ErrorToken(static_cast<int32_t>(esc), "octal escape value > 255");
      }
      out.push_back(static_cast<char>(v));
    } else {
      if (v > 0x10FFFF || (v >= 0xD800 && v < 0xE000)) {
        return ErrorToken(static_cast<int32_t>(esc),
                          "escape sequence is an invalid Unicode code point");
      }
      util::AppendUtf8(&out, v);
    }
    i = first + ndigits - 1;
  }
  return t;
}

namespace {

Token LexNumberOrDuration(std::string_view text, size_t pos) {
  const Iter first = text.data() + pos;
  const Iter last = text.data() + text.size();
  Token t;
  t.begin = static_cast<int32_t>(pos);

  // A duration: one or more `<int><unit>`, units strictly largest first.
  {
    Iter it = first;
    int prev_rank = -1;
    bool ordered = true;
    int64_t total = 0;
    bool overflow = false;
    auto on_part = [&](uint64_t amount, int rank) {
      if (rank <= prev_rank) ordered = false;
      prev_rank = rank;
      if (amount > static_cast<uint64_t>(INT64_MAX / kUnitMs[rank]) ||
          __builtin_add_overflow(total, static_cast<int64_t>(amount) * kUnitMs[rank], &total)) {
        overflow = true;
      }
    };
    uint64_t amount = 0;
    const auto part = x3::uint_parser<uint64_t>()[([&](auto& ctx) { amount = x3::_attr(ctx); })] >>
                      kDurationUnits[([&](auto& ctx) { on_part(amount, x3::_attr(ctx)); })];
    if (Match(&it, last, +part) && (it == last || !IsWordChar(*it))) {
      const std::string_view lit(first, it - first);
      if (!ordered) {
        return ErrorToken(t.begin,
                          absl::StrCat("not a valid duration string: ", util::GoQuote(lit)));
      }
      if (overflow || total > kMaxDurationMs) {
        return ErrorToken(t.begin, absl::StrCat("duration out of range: ", util::GoQuote(lit)));
      }
      t.kind = Tok::kDuration;
      t.duration_ms = total;
      t.end = static_cast<int32_t>(it - text.data());
      return t;
    }
  }

  Iter it = first;
  const bool hex = Match(&it, last, kHex);
  if (!hex) {
    it = first;
    Match(&it, last, kDecimal);
  }
  if (it == first || (it != last && (IsWordChar(*it) || *it == '.'))) {
    // Prometheus reports the bad literal up to where it stops looking like one.
    Iter bad = it;
    while (bad != last && (IsWordChar(*bad) || *bad == '.')) ++bad;
    return ErrorToken(t.begin, absl::StrCat("bad number or duration syntax: ",
                                            util::GoQuote(std::string_view(first, bad - first))));
  }
  std::string digits;
  for (Iter p = first; p != it; ++p) {
    if (*p != '_') digits.push_back(*p);
  }
  t.kind = Tok::kNumber;
  t.end = static_cast<int32_t>(it - text.data());
  // As Go's strconv.ParseInt(s, 0, 64) then ParseFloat: `0x1f` is hex and `017` octal.
  const bool octal = !hex && digits.size() > 1 && digits[0] == '0' &&
                     digits.find_first_not_of("01234567") == std::string::npos;
  if (hex || octal) {
    errno = 0;
    const unsigned long long v = std::strtoull(digits.c_str(), nullptr, hex ? 16 : 8);
    if (errno == ERANGE || v > static_cast<unsigned long long>(INT64_MAX)) {
      return ErrorToken(t.begin, absl::StrCat("error parsing number: value out of range: ",
                                              util::GoQuote(digits)));
    }
    t.number = static_cast<double>(v);
    return t;
  }
  errno = 0;
  t.number = std::strtod(digits.c_str(), nullptr);
  if (errno == ERANGE && std::abs(t.number) > 1) {
    return ErrorToken(
        t.begin, absl::StrCat("error parsing number: value out of range: ", util::GoQuote(digits)));
  }
  return t;
}

}  // namespace

size_t SkipSpace(std::string_view text, size_t pos) {
  Iter it = text.data() + pos;
  Match(&it, text.data() + text.size(), *kSkipper);
  return it - text.data();
}

Token Lex(std::string_view text, size_t pos, bool in_brackets) {
  pos = SkipSpace(text, pos);
  Token t;
  t.begin = t.end = static_cast<int32_t>(pos);
  if (pos >= text.size()) return t;  // kEof
  const Iter first = text.data() + pos;
  const Iter last = text.data() + text.size();
  const char c = *first;
  Iter it = first;
  if (absl::ascii_isdigit(static_cast<unsigned char>(c)) ||
      (c == '.' && pos + 1 < text.size() &&
       absl::ascii_isdigit(static_cast<unsigned char>(text[pos + 1])))) {
    return LexNumberOrDuration(text, pos);
  }
  if (in_brackets ? Match(&it, last, kBracketIdentifier) : Match(&it, last, kIdentifier)) {
    t.kind = Tok::kIdentifier;
    t.end = static_cast<int32_t>(it - text.data());
    t.value.assign(first, it);
    return t;
  }
  if (c == '"' || c == '\'' || c == '`') {
    if (!Match(&it, last, kQuoted)) {
      return ErrorToken(t.begin,
                        c == '`' ? "unterminated raw string" : "unterminated quoted string");
    }
    return Unquote(text, pos, it - text.data());
  }
  Punct p;
  if (x3::parse(it, last, kPunct, p)) {
    t.kind = p.kind;
    t.op = p.op;
    t.end = static_cast<int32_t>(it - text.data());
    return t;
  }
  if (c == '!' && pos + 1 < text.size()) {
    return ErrorToken(t.begin,
                      absl::StrCat("unexpected character after '!': ", GoQuoteRune(text, pos + 1)));
  }
  return ErrorToken(t.begin, absl::StrCat("unexpected character: ", GoQuoteRune(text, pos)));
}

std::string DescribeToken(std::string_view text, const Token& t) {
  const std::string_view lit = text.substr(t.begin, t.end - t.begin);
  auto quoted = [&]() {
    if (lit.size() > 10) return absl::StrCat(util::GoQuote(lit.substr(0, 10)), "...");
    return util::GoQuote(lit);
  };
  switch (t.kind) {
    case Tok::kEof:
      return "end of input";
    case Tok::kError:
      return t.value;
    case Tok::kNumber:
      return absl::StrCat("number ", quoted());
    case Tok::kDuration:
      return absl::StrCat("duration ", quoted());
    case Tok::kString:
      return absl::StrCat("string ", quoted());
    case Tok::kIdentifier: {
      const std::string lower = absl::AsciiStrToLower(util::AsAbsl(lit));
      static constexpr std::string_view kKeywords[] = {
          "by",          "without", "on",     "ignoring", "group_left",
          "group_right", "bool",    "offset", "start",    "end"};
      static constexpr std::string_view kAggregators[] = {
          "sum",    "avg",  "min",     "max",      "count",        "group",  "stddev",
          "stdvar", "topk", "bottomk", "quantile", "count_values", "limitk", "limit_ratio"};
      if (lower == "and" || lower == "or" || lower == "unless" || lower == "atan2") {
        return absl::StrCat("<op:", lower, ">");
      }
      for (std::string_view k : kKeywords) {
        if (lower == k) return absl::StrCat("<", lower, ">");
      }
      for (std::string_view k : kAggregators) {
        if (lower == k) return absl::StrCat("<aggr:", lower, ">");
      }
      if (lower == "inf" || lower == "nan") return absl::StrCat("number ", quoted());
      const bool metric = lit.find(':') != std::string_view::npos;
      return absl::StrCat(metric ? "metric identifier " : "identifier ", quoted());
    }
    case Tok::kOp:
    case Tok::kAssign:
    case Tok::kEqlRegex:
    case Tok::kNeqRegex:
      return absl::StrCat("<op:", util::AsAbsl(lit), ">");
    default:
      return util::GoQuote(lit);
  }
}

}  // namespace ember::query::grammar
