// Internal to the template_*.cc files: the parsed form of an alert template (Go's
// text/template/parse nodes, reduced to the subset template.h lists) and what the three stages
// share. template_lex.cc reads literals and maps offsets to positions, template_parse.cc parses
// and type-checks actions, template.cc evaluates them. A Program is immutable once parsed.
#ifndef EMBER_RULES_TEMPLATE_PROGRAM_H_
#define EMBER_RULES_TEMPLATE_PROGRAM_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "rules/template_format.h"

namespace ember::rules::template_internal {

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

// InvalidArgument "template: <line>:<col>: <msg>", the form of every template error.
absl::Status ErrorAt(Pos pos, std::string_view msg);

// Maps byte offsets of a template's text to 1-based lines and byte columns.
class LineIndex {
 public:
  explicit LineIndex(std::string_view text);
  Pos PosOf(size_t offset) const;

 private:
  std::vector<size_t> line_starts_;  // Offset of each line's first byte.
};

// Literals, as Go's text/template lexes them. Each starts at `text[*pos]` (the opening quote,
// or the sign or first digit of a number) and on success leaves `*pos` just past the literal.

// A "quoted" string with Go's escapes, or a `raw` one.
absl::StatusOr<std::string> LexString(std::string_view text, const LineIndex& lines, size_t* pos);
// Go's number constants: an int unless written with a '.' or an exponent (`1.5`, `1e3`),
// hexadecimal and octal (`0x1f`, `017`) included, `_` separators allowed.
absl::StatusOr<Value> LexNumber(std::string_view text, const LineIndex& lines, size_t* pos);

// Static field lookup, shared by the type checker and the evaluator. `which` receives the
// member for kData fields: 0 Labels, 1 ExternalLabels, 2 ExternalURL, 3 Value.
absl::StatusOr<Kind> FieldKind(Kind base, std::string_view field, int* which);

// Parses and type-checks `text` (template_parse.cc); Template::Parse's errors.
absl::StatusOr<std::shared_ptr<const Program>> ParseProgram(std::string_view text);

}  // namespace ember::rules::template_internal

#endif  // EMBER_RULES_TEMPLATE_PROGRAM_H_
