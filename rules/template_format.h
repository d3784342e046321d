// Internal to the template_*.cc files: the values a template computes with and Go's fmt
// printing of them (fmt.Sprint, Sprintln, Sprintf), which text/template uses to print an
// action's value and which its print/printf/println functions are. Stateless; thread-safe.
#ifndef EMBER_RULES_TEMPLATE_FORMAT_H_
#define EMBER_RULES_TEMPLATE_FORMAT_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "ember/labels.h"
#include "rules/template.h"

namespace ember::rules::template_internal {

// The Go type of a template value. kMap is map[string]string (a label set); kData is the
// struct Prometheus hands to alert templates.
enum class Kind { kString, kFloat, kInt, kBool, kMap, kData };

// Go's name for the type, as fmt prints it in `%!d(float64=1.5)`.
std::string_view GoTypeName(Kind kind);

struct Value {
  Kind kind = Kind::kString;
  std::string str = {};                // kString.
  double f = 0;                        // kFloat.
  int64_t i = 0;                       // kInt.
  bool b = false;                      // kBool.
  const Labels* map = nullptr;         // kMap: borrowed from the TemplateData being expanded.
  const TemplateData* data = nullptr;  // kData.
};

// fmt.Sprint(v): `%v` of one value. Maps print as `map[a:1 b:2]`.
std::string GoSprintValue(const Value& v);
// fmt.Sprint(args...): a space between operands when neither side is a string.
std::string GoSprint(std::span<const Value> args);
// fmt.Sprintln(args...): operands separated by spaces, then a newline.
std::string GoSprintln(std::span<const Value> args);
// fmt.Sprintf(format, args...) for the verbs listed in template.h. A verb that does not fit
// its operand prints `%!verb(type=value)`, a missing operand `%!verb(MISSING)` and leftover
// operands `%!(EXTRA type=value, ...)`, as in Go.
std::string GoSprintf(std::string_view format, std::span<const Value> args);

}  // namespace ember::rules::template_internal

#endif  // EMBER_RULES_TEMPLATE_FORMAT_H_
