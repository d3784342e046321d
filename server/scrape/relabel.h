// Prometheus relabeling (relabel_configs, metric_relabel_configs): a list of steps applied in
// order to a label set, each of which may rewrite it or drop it. Semantics as Prometheus 3.x's
// model/relabel:
//   - regexes are RE2, fully anchored, and `.` matches newline: Prometheus 3.x compiles
//     `^(?s:` + regex + `)$`, as storage/matcher.cc and label_replace() do here. A regex that
//     only compiles once wrapped (`a)|(b`) is rejected.
//   - source label values are joined with `separator`; an absent label contributes "".
//   - `replacement` and replace's `target_label` expand as Go's Regexp.Expand: `$1`, `${1}`,
//     `$name`, `${name}`, `$$` for `$`; the longest run of letters, digits and `_` after `$` is
//     the name, so `$1x` means `${1x}`; an unknown or unmatched group expands to "".
//   - label names follow Prometheus 3.x's default UTF-8 scheme: any non-empty valid UTF-8.
//     A replace whose expanded target_label is not a valid name changes nothing; so does a
//     labelmap result that is not (Prometheus would set the invalid name; Ember skips it).
//   - hashmod: the last 8 bytes of MD5(joined values), big-endian, modulo `modulus`.
//   - lowercase and uppercase are not supported: Go's Unicode case mapping is not reproduced.
#ifndef EMBER_SERVER_SCRAPE_RELABEL_H_
#define EMBER_SERVER_SCRAPE_RELABEL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "ember/labels.h"

namespace re2 {
class RE2;
}

namespace ember::server {

enum class RelabelAction {
  kReplace,
  kKeep,
  kDrop,
  kHashMod,
  kLabelMap,
  kLabelDrop,
  kLabelKeep,
  kKeepEqual,  // Drops the set unless the joined source values equal target_label's value.
  kDropEqual,  // Drops the set when they are equal.
};

// One relabel step as written in the config, defaults as Prometheus's.
struct RelabelConfig {
  std::vector<std::string> source_labels;
  std::string separator = ";";
  std::string regex = "(.*)";
  uint64_t modulus = 0;
  std::string target_label;
  std::string replacement = "$1";
  RelabelAction action = RelabelAction::kReplace;
};

// "replace" -> kReplace, ..., case-insensitive as Prometheus ("Replace", "LabelMap").
// InvalidArgument naming the action when it is unknown, or for "lowercase" / "uppercase",
// which Prometheus has and Ember does not support.
absl::StatusOr<RelabelAction> ParseRelabelAction(std::string_view s);

// A validated, compiled list of steps. Thread-safe after construction.
class Relabeler {
 public:
  // InvalidArgument naming the step ("relabel_configs[2]: ...") with Prometheus's message, for
  // what Prometheus's Validate rejects: a bad regex (RE2's error), an invalid source label name,
  // a missing or invalid target_label for replace/hashmod/keepequal/dropequal, a zero modulus
  // for hashmod, an invalid labelmap replacement, fields other than regex set for
  // labeldrop/labelkeep, fields other than source_labels and target_label set for
  // keepequal/dropequal. Like Prometheus, keep and drop accept empty source_labels (the value
  // matched is then "").
  static absl::StatusOr<std::unique_ptr<Relabeler>> Compile(std::vector<RelabelConfig> steps);
  ~Relabeler();

  // Applies every step to `labels` (any order; returned sorted, empty values removed). Returns
  // false, with `labels` cleared, when a step dropped the label set.
  bool Apply(Labels* labels) const;

 private:
  Relabeler() = default;
  struct Step;
  std::vector<std::unique_ptr<Step>> steps_;
};

}  // namespace ember::server

#endif  // EMBER_SERVER_SCRAPE_RELABEL_H_
