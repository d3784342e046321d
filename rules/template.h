// Alert label and annotation templates: the subset of Go's text/template that Prometheus rule
// files use, written from the Go and Prometheus documentation (no Go runtime involved).
//
// Supported:
//   - Text with actions `{{ pipeline }}`, trim markers `{{- ` and ` -}}` (they drop the
//     whitespace, newlines included, before or after the action) and comments `{{/* ... */}}`.
//   - Data: `$labels` / `.Labels`, `$externalLabels` / `.ExternalLabels` (maps; `.name` on a map
//     gives the value, "" when absent), `$value` / `.Value` (float64), `$externalURL` /
//     `.ExternalURL` and `$` / `.` (the whole data).
//   - Literals: "quoted" (Go escapes) and `raw` strings, integers (`3`, `-1`, `0x1f`), floats
//     (`1.5`, `1e3`), `true` and `false`.
//   - Pipelines `a | f b` (the value of `a` becomes the last argument of `f`), parentheses.
//   - Functions: humanize, humanize1024, humanizeDuration, humanizePercentage,
//     humanizeTimestamp (numbers, or strings that parse as numbers), toUpper, toLower, title
//     (these three change ASCII letters only; Go's also case-map other Unicode letters),
//     stripPort, index MAP KEY (exactly one key), printf, print, println. Numbers print as
//     Go's fmt does (`0.25`, `1e+06`, `+Inf`); printf knows the verbs v s q d x X o e E f F g G
//     t and Go's `%!d(float64=1.5)` style errors.
// Not supported, and rejected by Parse() with an "unsupported action" message:
// if/else/range/with/define/template/block/break/continue, variable declarations, and the
// functions query, first, label, value, match, reReplaceAll, sortByLabel, the comparison and
// logic builtins (eq, and, not, ...), parseDuration and the rest of Prometheus's console
// functions. Unknown functions and variables are errors too, as in Go.
//
// Parse() also checks every argument's type, which Go only does while executing, so that a rule
// file fails at load time rather than when the alert fires. Expand() can still fail when a
// string that is not a number reaches a humanize function (`{{ $labels.x | humanize }}`).
//
// Errors are InvalidArgument with the 1-based line and byte column in the template text:
// `template: 1:4: unsupported action: function "query" is not supported by Ember's alert
// templates`.
//
// A Template is immutable once parsed and cheap to copy (copies share the parsed form); it may
// be expanded from any thread.
#ifndef EMBER_RULES_TEMPLATE_H_
#define EMBER_RULES_TEMPLATE_H_

#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "ember/labels.h"

namespace ember::rules {

// What an alert's templates see: Prometheus's AlertTemplateData.
// (`= {}` on every member keeps `TemplateData{labels, value}` free of -Wextra warnings.)
struct TemplateData {
  Labels labels = {};             // $labels: the alert's labels (before the rule's labels).
  double value = 0;               // $value: the sample value that made the alert.
  Labels external_labels = {};    // $externalLabels.
  std::string external_url = {};  // $externalURL.
};

namespace template_internal {
struct Program;
}  // namespace template_internal

class Template {
 public:
  // InvalidArgument, with the position in `text`, on a syntax error, an unsupported action or
  // function, an unknown variable or field, or a wrong argument count or type.
  static absl::StatusOr<Template> Parse(std::string_view text);

  // The text with every action replaced by its value. InvalidArgument with the action's
  // position when a function fails (a humanize function given a string that is not a number,
  // a timestamp out of range).
  absl::StatusOr<std::string> Expand(const TemplateData& data) const;

 private:
  explicit Template(std::shared_ptr<const template_internal::Program> program)
      : program_(std::move(program)) {}

  std::shared_ptr<const template_internal::Program> program_;
};

// Prometheus's template functions, exposed for tests and for callers that format values
// themselves. Each matches template/template.go for every float64, NaN and infinities included.
std::string Humanize(double v);            // 1234 -> "1.234k", 0.001 -> "1m".
std::string Humanize1024(double v);        // 1048576 -> "1Mi".
std::string HumanizeDuration(double v);    // Seconds: 90 -> "1m 30s", 0.5 -> "500ms".
std::string HumanizePercentage(double v);  // 0.123 -> "12.3%".
// Seconds since the epoch, as Go prints a UTC time.Time: "2023-11-14 22:13:20 +0000 UTC".
// InvalidArgument when the value overflows int64 nanoseconds.
absl::StatusOr<std::string> HumanizeTimestamp(double v);
// Go's fmt.Sprint of a float64 (strconv 'g', shortest): 0.25, 100, 1e+06, +Inf, NaN.
std::string FormatGoFloat(double v);

}  // namespace ember::rules

#endif  // EMBER_RULES_TEMPLATE_H_
