// Parser and type checker of alert templates: actions, pipelines, commands and operands as
// Go's text/template/parse reads them (literals are template_lex.cc's), functions and fields
// typed as Prometheus's template/template.go defines them, so that a rule file fails at load
// time rather than when the alert fires.
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "query/ast.h"
#include "rules/template.h"
#include "rules/template_format.h"
#include "rules/template_program.h"
#include "util/quote.h"

namespace ember::rules {
namespace template_internal {
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
// Parentheses nest at most this deep: parsing and evaluation recurse once per level, and real
// templates use one or two.
constexpr int kMaxParenDepth = 100;

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text), lines_(text) {}

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

  Pos PosOf(size_t offset) const { return lines_.PosOf(offset); }

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
                                                    util::GoQuote(std::string(1, c))));
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
      auto s = LexString(text_, lines_, &pos_);
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
                                               util::GoQuote(op.name)));
      }
      if (!op.fields.empty()) {
        int which = 0;
        op.kind = *FieldKind(Kind::kData, op.fields[0], &which);
      }
    } else if (c == '.' && !absl::ascii_isdigit(Peek(1))) {
      op.base = Operand::Base::kData;
      op.kind = Kind::kData;
      op.name.assign(1, '.');  // Not = ".": g++ 12 warns falsely (-Wrestrict, GCC bug 105329).
      if (!IsIdentChar(Peek(1))) ++pos_;  // A bare `.`; otherwise the field loop reads it.
    } else if (absl::ascii_isdigit(c) || c == '.' ||
               ((c == '-' || c == '+') && (absl::ascii_isdigit(Peek(1)) || Peek(1) == '.'))) {
      auto v = LexNumber(text_, lines_, &pos_);
      if (!v.ok()) return v.status();
      op.literal = *std::move(v);
    } else if (IsIdentStart(c)) {
      while (IsIdentChar(Peek())) ++pos_;
      const std::string_view word = text_.substr(start, pos_ - start);
      if (absl::Status s = ResolveIdentifier(word, &op); !s.ok()) return s;
    } else {
      return ErrorAt(op.pos,
                     absl::StrFormat("unexpected %s in command", util::GoQuote(std::string(1, c))));
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
                                                util::GoQuote(word)));
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
                                                util::GoQuote(word)));
      }
    }
    return ErrorAt(op->pos, absl::StrFormat("function %s not defined", util::GoQuote(word)));
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
  LineIndex lines_;
  size_t pos_ = 0;
  int depth_ = 0;  // Open parentheses.
};

// ---- Evaluation ----

}  // namespace

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

absl::StatusOr<std::shared_ptr<const Program>> ParseProgram(std::string_view text) {
  Parser parser(text);
  absl::StatusOr<std::shared_ptr<Program>> program = parser.Run();
  if (!program.ok()) return program.status();
  return std::shared_ptr<const Program>(*std::move(program));
}

}  // namespace template_internal

absl::StatusOr<Template> Template::Parse(std::string_view text) {
  auto program = template_internal::ParseProgram(text);
  if (!program.ok()) return program.status();
  return Template(*std::move(program));
}

}  // namespace ember::rules
