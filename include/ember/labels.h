// Labels identify a series: a set of name/value pairs, the metric name under `__name__`.
// Ember keeps them sorted by name (the canonical form); names are unique and non-empty, and
// names and values are valid UTF-8 (Prometheus 3.x allows any UTF-8 name).
#ifndef EMBER_LABELS_H_
#define EMBER_LABELS_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace ember {

inline constexpr std::string_view kMetricNameLabel = "__name__";

struct Label {
  std::string name;
  std::string value;

  friend bool operator==(const Label&, const Label&) = default;
  friend auto operator<=>(const Label&, const Label&) = default;
};

using Labels = std::vector<Label>;

// Sorts `labels` by name in place and drops pairs with an empty value (Prometheus treats an
// empty value as an absent label). Call ValidateLabels() afterwards.
void CanonicalizeLabels(Labels* labels);

// InvalidArgument naming the label when `labels` (canonical) has no pairs, an empty name, a
// duplicate name, or a name or value that is not valid UTF-8.
absl::Status ValidateLabels(const Labels& labels);

// `{__name__="up", job="api"}` style text, for messages.
std::string LabelsToString(const Labels& labels);

// Whether `name` is a classic Prometheus label name, [a-zA-Z_][a-zA-Z0-9_]*, that PromQL and
// the text format print without quotes.
bool IsLegacyLabelName(std::string_view name);

// The value of `name`, or "" when absent.
std::string_view GetLabelValue(const Labels& labels, std::string_view name);

}  // namespace ember

#endif  // EMBER_LABELS_H_
