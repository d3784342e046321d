// Parser, type checker and evaluator of alert templates. The lexical rules (delimiters, trim
// markers, comments, literals) follow Go's text/template/parse; the data and functions are
// Prometheus's (template/template.go). Go values are modelled by template_format.h's Value.
#include "rules/template.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

#include "query/ast.h"
#include "rules/template_format.h"

namespace ember::rules {
namespace template_internal {

enum class Func {
  kHumanize,
  kHumanize1024,
  kHumanizeDuration,
  kHumanizePercentage,
  kHumanizeTimestamp,
  kToUpper,
  kToLower,
  kTitle,
  kStripPort,
  kIndex,
  kPrintf,
  kPrint,
  kPrintln,
};

struct Pos {
  int line = 1;
  int col = 1;
};

struct Pipeline;

// One word of a command: a literal, the data (`.`, `$`, `$labels` = `.Labels`...), a
// parenthesized pipeline or a function name, followed by `.Field`s.
struct Operand {
  enum class Base { kLiteral, kData, kPipeline, kFunc };
  Base base = Base::kLiteral;
  Value literal;                   // kLiteral.
  std::unique_ptr<Pipeline> pipe;  // kPipeline.
  Func func = Func::kPrint;        // kFunc.
  std::string name;                // kFunc; `$labels` etc. for kData, for messages.
  std::vector<std::string> fields;
  Pos pos;
  Kind kind = Kind::kString;  // Static type of the operand's value.
};

struct Command {
  std::vector<Operand> operands;  // operands[0] is the function, if any.
  Kind kind = Kind::kString;
};

struct Pipeline {
  std::vector<Command> commands;
  Kind kind = Kind::kString;
};

// Text, or an action when `pipe` is set.
struct Node {
  std::string text;
  std::unique_ptr<Pipeline> pipe;
};

struct Program {
  std::vector<Node> nodes;
};

namespace {

struct FuncInfo {
  std::string_view name;
  Func func;
  int min_args;
  int max_args;  // -1: variadic.
};

constexpr FuncInfo kFuncs[] = {
    {"humanize", Func::kHumanize, 1, 1},
    {"humanize1024", Func::kHumanize1024, 1, 1},
    {"humanizeDuration", Func::kHumanizeDuration, 1, 1},
    {"humanizePercentage", Func::kHumanizePercentage, 1, 1},
    {"humanizeTimestamp", Func::kHumanizeTimestamp, 1, 1},
    {"toUpper", Func::kToUpper, 1, 1},
    {"toLower", Func::kToLower, 1, 1},
    {"title", Func::kTitle, 1, 1},
    {"stripPort", Func::kStripPort, 1, 1},
    {"index", Func::kIndex, 2, 2},
    {"printf", Func::kPrintf, 1, -1},
    {"print", Func::kPrint, 0, -1},
    {"println", Func::kPrintln, 0, -1},
};

// Functions that Prometheus or Go's text/template define and Ember does not implement: named
// as unsupported rather than undefined, so the message says what to change.
constexpr std::string_view kUnsupportedFuncs[] = {
    "query",     "first",        "label",      "value",       "strvalue",
    "args",      "reReplaceAll", "safeHtml",   "match",       "graphLink",
    "tableLink", "sortByLabel",  "pathPrefix", "externalURL", "parseDuration",
    "toTime",    "and",          "or",         "not",         "call",
    "html",      "js",           "len",        "slice",       "urlquery",
    "eq",        "ne",           "lt",         "le",          "gt",
    "ge",
};

constexpr std::string_view kKeywords[] = {
    "if", "else", "end", "range", "with", "define", "template", "block", "break", "continue",
};

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool IsIdentStart(char c) {
  return absl::ascii_isalpha(c) || c == '_' || static_cast<unsigned char>(c) >= 0x80;
}
bool IsIdentChar(char c) { return IsIdentStart(c) || absl::ascii_isdigit(c); }

bool IsNumeric(Kind k) { return k == Kind::kFloat || k == Kind::kInt || k == Kind::kString; }

absl::Status ErrorAt(Pos pos, std::string_view msg) {
  return absl::InvalidArgumentError(absl::StrFormat("template: %d:%d: %s", pos.line, pos.col, msg));
}

// Static field lookup, shared by the checker and the evaluator. `which` receives the
// member for kData fields: 0 Labels, 1 ExternalLabels, 2 ExternalURL, 3 Value.
absl::StatusOr<Kind> FieldKind(Kind base, std::string_view field, int* which) {
  if (base == Kind::kData) {
    static constexpr std::string_view kNames[] = {"Labels", "ExternalLabels", "ExternalURL",
                                                  "Value"};
    static constexpr Kind kKinds[] = {Kind::kMap, Kind::kMap, Kind::kString, Kind::kFloat};
    for (int i = 0; i < 4; ++i) {
      if (field == kNames[i]) {
        *which = i;
        return kKinds[i];
      }
    }
    return absl::InvalidArgumentError(
        absl::StrFormat("can't evaluate field %s of the alert data (it has Labels, ExternalLabels, "
                        "ExternalURL and Value)",
                        field));
  }
  if (base == Kind::kMap) return Kind::kString;  // A missing key gives "" (missingkey=zero).
  return absl::InvalidArgumentError(
      absl::StrFormat("can't evaluate field %s in type %s", field, GoTypeName(base)));
}

// Parentheses nest at most this deep: parsing and evaluation recurse once per level, and real
// templates use one or two.
constexpr int kMaxParenDepth = 100;

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {
    line_starts_.push_back(0);
    for (size_t i = 0; i < text_.size(); ++i) {
      if (text_[i] == '\n') line_starts_.push_back(i + 1);
    }
  }

  absl::StatusOr<std::shared_ptr<Program>> Run() {
    auto program = std::make_shared<Program>();
    bool trim_left = false;  // The previous action ended with ` -}}`.
    while (pos_ < text_.size()) {
      size_t open = text_.find("{{", pos_);
      std::string_view text =
          text_.substr(pos_, open == std::string_view::npos ? std::string_view::npos : open - pos_);
      if (trim_left) {
        while (!text.empty() && IsSpace(text.front())) text.remove_prefix(1);
      }
      trim_left = false;
      if (open == std::string_view::npos) {
        AddText(program.get(), text);
        break;
      }
      pos_ = open + 2;
      // `{{- ` trims the text before; the marker needs the space, since `{{-3}}` prints -3.
      if (pos_ + 1 < text_.size() && text_[pos_] == '-' && IsSpace(text_[pos_ + 1])) {
        while (!text.empty() && IsSpace(text.back())) text.remove_suffix(1);
        pos_ += 2;
      }
      AddText(program.get(), text);
      if (text_.substr(pos_).starts_with("/*")) {
        const size_t end = text_.find("*/", pos_ + 2);
        if (end == std::string_view::npos) return ErrorAt(PosOf(open), "unclosed comment");
        pos_ = end + 2;
        int len = 0;
        bool trim = false;
        if (!AtRightDelim(&len, &trim)) {
          return ErrorAt(PosOf(pos_), "comment ends before closing delimiter");
        }
        pos_ += len;
        trim_left = trim;
        continue;
      }
      auto pipe = ParsePipeline(open, /*in_paren=*/false);
      if (!pipe.ok()) return pipe.status();
      int len = 0;
      bool trim = false;
      AtRightDelim(&len, &trim);  // ParsePipeline stopped at it.
      pos_ += len;
      trim_left = trim;
      program->nodes.push_back(Node{.text = {}, .pipe = *std::move(pipe)});
    }
    return program;
  }

 private:
  static void AddText(Program* program, std::string_view text) {
    if (!text.empty()) program->nodes.push_back(Node{.text = std::string(text), .pipe = nullptr});
  }

  Pos PosOf(size_t offset) const {
    const auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset) - 1;
    return Pos{.line = static_cast<int>(it - line_starts_.begin()) + 1,
               .col = static_cast<int>(offset - *it) + 1};
  }

  char Peek(size_t ahead = 0) const {
    return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
  }

  // `}}` or ` -}}` (any space character before the dash) at pos_.
  bool AtRightDelim(int* len, bool* trim) const {
    std::string_view rest = text_.substr(pos_);
    if (rest.starts_with("}}")) {
      *len = 2;
      *trim = false;
      return true;
    }
    if (rest.size() >= 4 && IsSpace(rest[0]) && rest.substr(1).starts_with("-}}")) {
      *len = 4;
      *trim = true;
      return true;
    }
    return false;
  }
  bool AtRightDelim() const {
    int len;
    bool trim;
    return AtRightDelim(&len, &trim);
  }

  void SkipSpace() {
    while (pos_ < text_.size() && IsSpace(text_[pos_]) && !AtRightDelim()) ++pos_;
  }

  // Parses up to (not past) the closing `)` or `}}`. `open` is where the action or the
  // parenthesis starts, for "unclosed" messages.
  absl::StatusOr<std::unique_ptr<Pipeline>> ParsePipeline(size_t open, bool in_paren) {
    auto pipe = std::make_unique<Pipeline>();
    while (true) {
      auto cmd = ParseCommand(open, in_paren);
      if (!cmd.ok()) return cmd.status();
      const Kind* piped = pipe->commands.empty() ? nullptr : &pipe->commands.back().kind;
      if (absl::Status s = CheckCommand(&*cmd, piped); !s.ok()) return s;
      pipe->commands.push_back(*std::move(cmd));
      SkipSpace();
      if (Peek() != '|') break;
      ++pos_;
    }
    if (in_paren) {
      if (Peek() != ')') return ErrorAt(PosOf(open), "unclosed left paren");
      ++pos_;
    } else if (!AtRightDelim()) {
      if (Peek() == ')') return ErrorAt(PosOf(pos_), "unexpected right paren");
      return ErrorAt(PosOf(open), "unclosed action");
    }
    pipe->kind = pipe->commands.back().kind;
    return pipe;
  }

  absl::StatusOr<Command> ParseCommand(size_t open, bool in_paren) {
    Command cmd;
    while (true) {
      SkipSpace();
      if (pos_ >= text_.size() || AtRightDelim() || Peek() == '|' || Peek() == ')') break;
      auto operand = ParseOperand();
      if (!operand.ok()) return operand.status();
      cmd.operands.push_back(*std::move(operand));
      const char c = Peek();
      if (pos_ < text_.size() && !IsSpace(c) && c != '|' && c != ')' && !AtRightDelim()) {
        return ErrorAt(PosOf(pos_), absl::StrFormat("unexpected %s in operand",
                                                    query::QuoteString(std::string(1, c))));
      }
    }
    if (cmd.operands.empty()) {
      if (pos_ >= text_.size()) {
        return ErrorAt(PosOf(open), in_paren ? "unclosed left paren" : "unclosed action");
      }
      return ErrorAt(PosOf(pos_), "missing value for command");
    }
    return cmd;
  }

  absl::StatusOr<Operand> ParseOperand() {
    Operand op;
    const size_t start = pos_;
    op.pos = PosOf(start);
    const char c = Peek();
    if (c == '"' || c == '`') {
      auto s = ParseString();
      if (!s.ok()) return s.status();
      op.literal = Value{.kind = Kind::kString, .str = *std::move(s)};
    } else if (c == '\'') {
      return ErrorAt(op.pos, "character constants are not supported");
    } else if (c == '(') {
      if (depth_ >= kMaxParenDepth) {
        return ErrorAt(op.pos, absl::StrFormat("parentheses nest deeper than %d", kMaxParenDepth));
      }
      ++pos_;
      ++depth_;
      auto pipe = ParsePipeline(start, /*in_paren=*/true);
      --depth_;
      if (!pipe.ok()) return pipe.status();
      op.base = Operand::Base::kPipeline;
      op.kind = (*pipe)->kind;
      op.pipe = *std::move(pipe);
    } else if (c == '$') {
      ++pos_;
      while (IsIdentChar(Peek())) ++pos_;
      op.name = std::string(text_.substr(start, pos_ - start));
      if (absl::Status s = CheckNotDeclaration(op); !s.ok()) return s;
      op.base = Operand::Base::kData;
      op.kind = Kind::kData;
      if (op.name == "$labels") {
        op.fields.push_back("Labels");
      } else if (op.name == "$externalLabels") {
        op.fields.push_back("ExternalLabels");
      } else if (op.name == "$value") {
        op.fields.push_back("Value");
      } else if (op.name == "$externalURL") {
        op.fields.push_back("ExternalURL");
      } else if (op.name != "$") {
        return ErrorAt(op.pos, absl::StrFormat("undefined variable %s (defined: $labels, $value, "
                                               "$externalLabels, $externalURL, $)",
                                               query::QuoteString(op.name)));
      }
      if (!op.fields.empty()) {
        int which = 0;
        op.kind = *FieldKind(Kind::kData, op.fields[0], &which);
      }
    } else if (c == '.' && !absl::ascii_isdigit(Peek(1))) {
      op.base = Operand::Base::kData;
      op.kind = Kind::kData;
      op.name = ".";
      if (!IsIdentChar(Peek(1))) ++pos_;  // A bare `.`; otherwise the field loop reads it.
    } else if (absl::ascii_isdigit(c) || c == '.' ||
               ((c == '-' || c == '+') && (absl::ascii_isdigit(Peek(1)) || Peek(1) == '.'))) {
      auto v = ParseNumber();
      if (!v.ok()) return v.status();
      op.literal = *std::move(v);
    } else if (IsIdentStart(c)) {
      while (IsIdentChar(Peek())) ++pos_;
      const std::string_view word = text_.substr(start, pos_ - start);
      if (absl::Status s = ResolveIdentifier(word, &op); !s.ok()) return s;
    } else {
      return ErrorAt(op.pos, absl::StrFormat("unexpected %s in command",
                                             query::QuoteString(std::string(1, c))));
    }
    if (op.base == Operand::Base::kLiteral) op.kind = op.literal.kind;
    // `.Field` chains, written without spaces: `$labels.job`, `(...).x`, `.Labels.job`.
    while (Peek() == '.' && IsIdentChar(Peek(1))) {
      const size_t field_start = ++pos_;
      while (IsIdentChar(Peek())) ++pos_;
      const std::string_view field = text_.substr(field_start, pos_ - field_start);
      if (op.base == Operand::Base::kLiteral || op.base == Operand::Base::kFunc) {
        return ErrorAt(PosOf(field_start - 1),
                       absl::StrFormat("unexpected .%s after %s", field,
                                       op.base == Operand::Base::kFunc ? op.name : "a literal"));
      }
      int which = 0;
      absl::StatusOr<Kind> kind = FieldKind(op.kind, field, &which);
      if (!kind.ok()) {
        const absl::string_view msg = kind.status().message();
        return ErrorAt(PosOf(field_start - 1), std::string_view(msg.data(), msg.size()));
      }
      op.kind = *kind;
      op.fields.emplace_back(field);
    }
    return op;
  }

  absl::Status CheckNotDeclaration(const Operand& var) {
    size_t p = pos_;
    while (p < text_.size() && IsSpace(text_[p])) ++p;
    std::string_view rest = text_.substr(p);
    if (rest.starts_with(":=") || (rest.starts_with("=") && !rest.starts_with("=="))) {
      return ErrorAt(var.pos, absl::StrFormat("unsupported action: variable declaration %s "
                                              "(Ember's alert templates have no variables "
                                              "besides $labels, $value, $externalLabels, "
                                              "$externalURL and $)",
                                              var.name));
    }
    return absl::OkStatus();
  }

  absl::Status ResolveIdentifier(std::string_view word, Operand* op) {
    for (std::string_view k : kKeywords) {
      if (word == k) {
        return ErrorAt(op->pos, absl::StrFormat("unsupported action %s (Ember's alert "
                                                "templates support pipelines only, no "
                                                "control structures)",
                                                query::QuoteString(word)));
      }
    }
    if (word == "true" || word == "false") {
      op->literal = Value{.kind = Kind::kBool, .b = word == "true"};
      return absl::OkStatus();
    }
    if (word == "nil") return ErrorAt(op->pos, "nil is not a command");
    for (const FuncInfo& f : kFuncs) {
      if (word == f.name) {
        op->base = Operand::Base::kFunc;
        op->func = f.func;
        op->name = std::string(word);
        return absl::OkStatus();
      }
    }
    for (std::string_view f : kUnsupportedFuncs) {
      if (word == f) {
        return ErrorAt(op->pos, absl::StrFormat("unsupported action: function %s is not "
                                                "supported by Ember's alert templates",
                                                query::QuoteString(word)));
      }
    }
    return ErrorAt(op->pos, absl::StrFormat("function %s not defined", query::QuoteString(word)));
  }

  // A "quoted" string with Go's escapes, or a `raw` one.
  absl::StatusOr<std::string> ParseString() {
    const size_t start = pos_;
    const char quote = text_[pos_++];
    std::string out;
    if (quote == '`') {
      const size_t end = text_.find('`', pos_);
      if (end == std::string_view::npos)
        return ErrorAt(PosOf(start), "unterminated raw quoted string");
      for (char ch : text_.substr(pos_, end - pos_)) {
        if (ch != '\r') out.push_back(ch);  // Go drops carriage returns from raw strings.
      }
      pos_ = end + 1;
      return out;
    }
    while (true) {
      if (pos_ >= text_.size() || text_[pos_] == '\n') {
        return ErrorAt(PosOf(start), "unterminated quoted string");
      }
      const char ch = text_[pos_++];
      if (ch == '"') return out;
      if (ch != '\\') {
        out.push_back(ch);
        continue;
      }
      const size_t esc = pos_ - 1;
      const char e = Peek();
      ++pos_;
      switch (e) {
        case 'a':
          out.push_back('\a');
          continue;
        case 'b':
          out.push_back('\b');
          continue;
        case 'f':
          out.push_back('\f');
          continue;
        case 'n':
          out.push_back('\n');
          continue;
        case 'r':
          out.push_back('\r');
          continue;
        case 't':
          out.push_back('\t');
          continue;
        case 'v':
          out.push_back('\v');
          continue;
        case '\\':
          out.push_back('\\');
          continue;
        case '"':
          out.push_back('"');
          continue;
        default:
          break;
      }
      int digits = 0;
      int base = 16;
      if (e == 'x') {
        digits = 2;
      } else if (e == 'u') {
        digits = 4;
      } else if (e == 'U') {
        digits = 8;
      } else if (e >= '0' && e <= '7') {
        digits = 3;
        base = 8;
        --pos_;
      } else {
        return ErrorAt(PosOf(esc), "invalid escape sequence in quoted string");
      }
      uint32_t v = 0;
      const std::string_view hex = text_.substr(pos_, digits);
      if (static_cast<int>(hex.size()) < digits ||
          std::from_chars(hex.data(), hex.data() + digits, v, base).ptr != hex.data() + digits) {
        return ErrorAt(PosOf(esc), "invalid escape sequence in quoted string");
      }
      pos_ += digits;
      if (e == 'x' || base == 8) {
        if (v > 255) return ErrorAt(PosOf(esc), "invalid escape sequence in quoted string");
        out.push_back(static_cast<char>(v));
      } else {
        if (v > 0x10FFFF || (v >= 0xD800 && v < 0xE000)) {
          return ErrorAt(PosOf(esc), "invalid escape sequence in quoted string");
        }
        AppendCodePoint(v, &out);
      }
    }
  }

  static void AppendCodePoint(uint32_t r, std::string* out) {
    if (r < 0x80) {
      out->push_back(static_cast<char>(r));
    } else if (r < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (r >> 6)));
      out->push_back(static_cast<char>(0x80 | (r & 0x3F)));
    } else if (r < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (r >> 12)));
      out->push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (r & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (r >> 18)));
      out->push_back(static_cast<char>(0x80 | ((r >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (r & 0x3F)));
    }
  }

  // Go's number constants: an int unless written with a '.' or an exponent (`1.5`, `1e3`),
  // hexadecimal and octal (`0x1f`, `017`) included, `_` separators allowed.
  absl::StatusOr<Value> ParseNumber() {
    const size_t start = pos_;
    if (Peek() == '+' || Peek() == '-') ++pos_;
    while (pos_ < text_.size()) {
      const char ch = text_[pos_];
      const char prev = text_[pos_ - 1];
      if (absl::ascii_isalnum(ch) || ch == '_' || ch == '.' ||
          ((ch == '+' || ch == '-') && (prev == 'e' || prev == 'E'))) {
        ++pos_;
      } else {
        break;
      }
    }
    const std::string_view raw = text_.substr(start, pos_ - start);
    std::string s;
    for (char ch : raw) {
      if (ch != '_') s.push_back(ch);
    }
    const auto bad = [&] {
      return ErrorAt(PosOf(start),
                     absl::StrFormat("bad number syntax: %s", query::QuoteString(raw)));
    };
    const bool neg = s[0] == '-';
    std::string_view body(s);
    if (body[0] == '+' || body[0] == '-') body.remove_prefix(1);
    int base = 10;
    if (body.size() > 2 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X')) {
      base = 16;
      body.remove_prefix(2);
    } else if (body.size() > 1 && body[0] == '0' &&
               body.find_first_not_of("01234567") == std::string_view::npos) {
      base = 8;
    }
    uint64_t mag = 0;
    const auto r = std::from_chars(body.data(), body.data() + body.size(), mag, base);
    if (r.ec == std::errc() && r.ptr == body.data() + body.size() &&
        mag <= static_cast<uint64_t>(INT64_MAX) + (neg ? 1 : 0)) {
      const int64_t i = neg ? static_cast<int64_t>(0 - mag) : static_cast<int64_t>(mag);
      return Value{.kind = Kind::kInt, .i = i};
    }
    if (base == 16) return bad();
    double f = 0;
    // Validate what strtod would be lenient about: digits, one '.', an optional exponent.
    const size_t e = body.find_first_of("eE");
    const std::string_view mant = body.substr(0, e);
    if (mant.empty() || mant == "." || mant.find_first_not_of("0123456789.") != mant.npos ||
        mant.find('.') != mant.rfind('.')) {
      return bad();
    }
    if (e != std::string_view::npos) {
      std::string_view x = body.substr(e + 1);
      if (!x.empty() && (x[0] == '+' || x[0] == '-')) x.remove_prefix(1);
      if (x.empty() || x.find_first_not_of("0123456789") != x.npos) return bad();
    }
    if (!absl::SimpleAtod(s, &f) || !std::isfinite(f)) return bad();
    return Value{.kind = Kind::kFloat, .f = f};
  }

  // Types a command: its function's arguments (the piped value last), or a lone operand.
  absl::Status CheckCommand(Command* cmd, const Kind* piped) {
    const Operand& head = cmd->operands[0];
    std::vector<std::pair<Kind, Pos>> args;
    for (size_t i = 1; i < cmd->operands.size(); ++i) {
      Operand& arg = cmd->operands[i];
      if (arg.base == Operand::Base::kFunc) {
        // A function name as an argument is a call without arguments, as in Go.
        auto k = CheckCall(arg.func, arg.name, {}, arg.pos);
        if (!k.ok()) return k.status();
        arg.kind = *k;
      }
      args.emplace_back(arg.kind, arg.pos);
    }
    if (piped != nullptr) args.emplace_back(*piped, head.pos);
    if (head.base != Operand::Base::kFunc) {
      if (!args.empty()) {
        return ErrorAt(
            head.pos, absl::StrFormat("can't give argument to non-function %s", OperandText(head)));
      }
      cmd->kind = head.kind;
      return absl::OkStatus();
    }
    auto k = CheckCall(head.func, head.name, args, head.pos);
    if (!k.ok()) return k.status();
    cmd->kind = *k;
    return absl::OkStatus();
  }

  static std::string OperandText(const Operand& op) {
    switch (op.base) {
      case Operand::Base::kLiteral:
        return GoSprintValue(op.literal);
      case Operand::Base::kPipeline:
        return "(...)";
      default:
        break;
    }
    std::string s = op.name;
    const bool var = op.name.starts_with("$") && op.name != "$";
    for (size_t i = var ? 1 : 0; i < op.fields.size(); ++i) {
      if (s != ".") s += ".";
      s += op.fields[i];
    }
    return s;
  }

  static absl::StatusOr<Kind> CheckCall(Func func, std::string_view name,
                                        const std::vector<std::pair<Kind, Pos>>& args, Pos pos) {
    const FuncInfo* info = nullptr;
    for (const FuncInfo& f : kFuncs) {
      if (f.func == func) info = &f;
    }
    const int n = static_cast<int>(args.size());
    if (n < info->min_args || (info->max_args >= 0 && n > info->max_args)) {
      return ErrorAt(pos,
                     absl::StrFormat("wrong number of args for %s: want %s%d got %d", name,
                                     info->max_args < 0 ? "at least " : "", info->min_args, n));
    }
    const auto wrong = [&](int i, std::string_view want) {
      return ErrorAt(args[i].second,
                     absl::StrFormat("wrong type for argument %d of %s: expected %s; got %s", i + 1,
                                     name, want, GoTypeName(args[i].first)));
    };
    switch (func) {
      case Func::kHumanize:
      case Func::kHumanize1024:
      case Func::kHumanizeDuration:
      case Func::kHumanizePercentage:
      case Func::kHumanizeTimestamp:
        if (!IsNumeric(args[0].first)) return wrong(0, "a number or a string");
        break;
      case Func::kToUpper:
      case Func::kToLower:
      case Func::kTitle:
      case Func::kStripPort:
        if (args[0].first != Kind::kString) return wrong(0, "string");
        break;
      case Func::kIndex:
        if (args[0].first != Kind::kMap) return wrong(0, "map[string]string");
        if (args[1].first != Kind::kString) return wrong(1, "string");
        break;
      case Func::kPrintf:
        if (args[0].first != Kind::kString) return wrong(0, "string");
        break;
      case Func::kPrint:
      case Func::kPrintln:
        break;
    }
    return Kind::kString;
  }

  std::string_view text_;
  std::vector<size_t> line_starts_;  // Offset of each line's first byte.
  size_t pos_ = 0;
  int depth_ = 0;  // Open parentheses.
};

// ---- Evaluation ----

Value FieldValue(const Value& base, std::string_view field, const TemplateData& data) {
  if (base.kind == Kind::kMap) {
    return Value{.kind = Kind::kString, .str = std::string(GetLabelValue(*base.map, field))};
  }
  int which = 0;
  (void)FieldKind(Kind::kData, field, &which);  // Checked at parse time.
  switch (which) {
    case 0:
      return Value{.kind = Kind::kMap, .map = &data.labels};
    case 1:
      return Value{.kind = Kind::kMap, .map = &data.external_labels};
    case 2:
      return Value{.kind = Kind::kString, .str = data.external_url};
    default:
      return Value{.kind = Kind::kFloat, .f = data.value};
  }
}

// strconv.ParseFloat's syntax: decimal or hexadecimal, "Inf", "Infinity" and "NaN" in any
// case, with an optional sign.
absl::StatusOr<double> ToFloat(const Value& v) {
  if (v.kind == Kind::kFloat) return v.f;
  if (v.kind == Kind::kInt) return static_cast<double>(v.i);
  std::string_view s = v.str;
  const auto syntax = [&] {
    return absl::InvalidArgumentError(absl::StrFormat(
        "strconv.ParseFloat: parsing %s: invalid syntax", query::QuoteString(v.str)));
  };
  bool neg = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  const std::string lower = absl::AsciiStrToLower(absl::string_view(s.data(), s.size()));
  if (lower == "inf" || lower == "infinity") return neg ? -INFINITY : INFINITY;
  if (lower == "nan") return NAN;
  if (s.empty() || !(absl::ascii_isdigit(s[0]) || s[0] == '.')) return syntax();
  double f = 0;
  std::from_chars_result r;
  if (lower.starts_with("0x")) {
    r = std::from_chars(s.data() + 2, s.data() + s.size(), f, std::chars_format::hex);
  } else {
    r = std::from_chars(s.data(), s.data() + s.size(), f, std::chars_format::general);
  }
  if (r.ptr != s.data() + s.size()) return syntax();
  if (r.ec == std::errc::result_out_of_range) {
    // Underflow reads as 0 in Go; overflow is an error.
    f = std::strtod(std::string(s).c_str(), nullptr);
    if (std::isinf(f)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "strconv.ParseFloat: parsing %s: value out of range", query::QuoteString(v.str)));
    }
  } else if (r.ec != std::errc()) {
    return syntax();
  }
  return neg ? -f : f;
}

// Go's strings.Title, for ASCII letters: upper-case every letter that follows a separator.
std::string Title(std::string_view s) {
  std::string out(s);
  bool after_sep = true;
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    // Bytes of multi-byte UTF-8 sequences count as letters, as most such runes are.
    const bool sep = u < 0x80 && !absl::ascii_isalnum(c) && c != '_';
    if (after_sep) c = absl::ascii_toupper(c);
    after_sep = sep;
  }
  return out;
}

// The host of "host:port" or "[v6]:port" (net.SplitHostPort); `s` itself if it has no port.
std::string StripPort(std::string_view s) {
  const size_t colon = s.rfind(':');
  if (colon == std::string_view::npos) return std::string(s);
  std::string_view host;
  size_t j = 0;
  size_t k = 0;
  if (s[0] == '[') {
    const size_t end = s.find(']');
    if (end == std::string_view::npos || end + 1 != colon) return std::string(s);
    host = s.substr(1, end - 1);
    j = 1;
    k = end + 1;
  } else {
    host = s.substr(0, colon);
    if (host.find(':') != std::string_view::npos) return std::string(s);
  }
  if (s.substr(j).find('[') != std::string_view::npos ||
      s.substr(k).find(']') != std::string_view::npos) {
    return std::string(s);
  }
  return std::string(host);
}

class Evaluator {
 public:
  explicit Evaluator(const TemplateData& data) : data_(data) {}

  absl::StatusOr<Value> EvalPipeline(const Pipeline& pipe) {
    std::optional<Value> piped;
    for (const Command& cmd : pipe.commands) {
      auto v = EvalCommand(cmd, piped ? &*piped : nullptr);
      if (!v.ok()) return v.status();
      piped = *std::move(v);
    }
    return *std::move(piped);
  }

 private:
  absl::StatusOr<Value> EvalCommand(const Command& cmd, const Value* piped) {
    const Operand& head = cmd.operands[0];
    if (head.base != Operand::Base::kFunc) return EvalOperand(head);
    std::vector<Value> args;
    for (size_t i = 1; i < cmd.operands.size(); ++i) {
      auto v = EvalOperand(cmd.operands[i]);
      if (!v.ok()) return v.status();
      args.push_back(*std::move(v));
    }
    if (piped != nullptr) args.push_back(*piped);
    return Call(head, args);
  }

  absl::StatusOr<Value> EvalOperand(const Operand& op) {
    Value v;
    switch (op.base) {
      case Operand::Base::kLiteral:
        return op.literal;
      case Operand::Base::kFunc:
        return Call(op, {});
      case Operand::Base::kPipeline: {
        auto r = EvalPipeline(*op.pipe);
        if (!r.ok()) return r.status();
        v = *std::move(r);
        break;
      }
      case Operand::Base::kData:
        v = Value{.kind = Kind::kData, .data = &data_};
        break;
    }
    for (const std::string& field : op.fields) v = FieldValue(v, field, data_);
    return v;
  }

  absl::StatusOr<Value> Call(const Operand& fn, const std::vector<Value>& args) {
    const auto str = [](std::string s) {
      return Value{.kind = Kind::kString, .str = std::move(s)};
    };
    const auto number = [&]() -> absl::StatusOr<double> {
      auto f = ToFloat(args[0]);
      if (!f.ok()) {
        return ErrorAt(fn.pos, absl::StrCat("error calling ", fn.name, ": ", f.status().message()));
      }
      return f;
    };
    switch (fn.func) {
      case Func::kHumanize:
      case Func::kHumanize1024:
      case Func::kHumanizeDuration:
      case Func::kHumanizePercentage:
      case Func::kHumanizeTimestamp: {
        auto f = number();
        if (!f.ok()) return f.status();
        if (fn.func == Func::kHumanize) return str(Humanize(*f));
        if (fn.func == Func::kHumanize1024) return str(Humanize1024(*f));
        if (fn.func == Func::kHumanizeDuration) return str(HumanizeDuration(*f));
        if (fn.func == Func::kHumanizePercentage) return str(HumanizePercentage(*f));
        auto ts = HumanizeTimestamp(*f);
        if (!ts.ok()) {
          return ErrorAt(fn.pos,
                         absl::StrCat("error calling ", fn.name, ": ", ts.status().message()));
        }
        return str(*std::move(ts));
      }
      case Func::kToUpper:
        return str(absl::AsciiStrToUpper(args[0].str));
      case Func::kToLower:
        return str(absl::AsciiStrToLower(args[0].str));
      case Func::kTitle:
        return str(Title(args[0].str));
      case Func::kStripPort:
        return str(StripPort(args[0].str));
      case Func::kIndex:
        return str(std::string(GetLabelValue(*args[0].map, args[1].str)));
      case Func::kPrintf:
        return str(GoSprintf(args[0].str, std::span<const Value>(args).subspan(1)));
      case Func::kPrint:
        return str(GoSprint(args));
      case Func::kPrintln:
        return str(GoSprintln(args));
    }
    return absl::InternalError("unknown template function");
  }

  const TemplateData& data_;
};

}  // namespace
}  // namespace template_internal

absl::StatusOr<Template> Template::Parse(std::string_view text) {
  template_internal::Parser parser(text);
  auto program = parser.Run();
  if (!program.ok()) return program.status();
  return Template(*std::move(program));
}

absl::StatusOr<std::string> Template::Expand(const TemplateData& data) const {
  std::string out;
  template_internal::Evaluator eval(data);
  for (const template_internal::Node& node : program_->nodes) {
    if (node.pipe == nullptr) {
      out += node.text;
      continue;
    }
    auto v = eval.EvalPipeline(*node.pipe);
    if (!v.ok()) return v.status();
    out += template_internal::GoSprintValue(*v);
  }
  return out;
}

}  // namespace ember::rules
