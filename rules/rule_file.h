// Prometheus rule files (YAML) -> RuleGroups (rules.h), checked as Prometheus 3.x and
// `promtool check rules` check them:
//
//   groups:
//     - name: example          # Required, unique in the file.
//       interval: 1m           # Optional; Prometheus duration syntax.
//       limit: 0               # Optional; most series a rule may produce, 0: no limit.
//       rules:
//         - record: job:up:sum # Or `alert: Name`; exactly one of the two.
//           expr: sum by (job) (up)
//           labels: {team: a}
//         - alert: InstanceDown
//           expr: up == 0
//           for: 5m            # Alerting only, as are keep_firing_for and annotations.
//           keep_firing_for: 1m
//           labels: {severity: page}
//           annotations: {summary: "{{ $labels.instance }} is down"}
//
// Checks: unknown and repeated keys; a group name that is empty or repeated; a rule with both
// or neither of record and alert, without expr, or whose expr does not parse (ParseExpr);
// for, keep_firing_for and annotations on a recording rule; a recording rule name that is
// not valid UTF-8 or holds braces (Prometheus 3.x accepts any other UTF-8 name); label names
// that are empty, not UTF-8 or `__name__`, label values that are not UTF-8; annotation names
// that are empty or not UTF-8; alerting label and annotation values that do not parse as
// templates (template.h); durations that are not Prometheus durations ("5m", "1h30m", "0").
// The group fields `query_offset` and `labels` of newer Prometheus versions are rejected as
// not supported.
//
// Every problem is reported, one per line of an InvalidArgument message, each as
// `<file>:<line>:<col>: group "g", rule 2, "name": <what>`. For a PromQL or template error in a
// plain, quoted or literal-block (`|`) scalar the position is that of the offending character
// in the file; otherwise it is the start of the value.
//
// Thread-safe: no state is kept between calls.
#ifndef EMBER_RULES_RULE_FILE_H_
#define EMBER_RULES_RULE_FILE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "rules/rules.h"

namespace ember::rules {

// Parses and checks the rule file text `yaml`; `filename` prefixes every message and becomes
// each group's `file`. An empty document has no groups.
absl::StatusOr<std::vector<RuleGroup>> ParseRuleFile(std::string_view yaml,
                                                     std::string_view filename);

// Reads the file at `path` and parses it with ParseRuleFile(). NotFound or PermissionDenied
// (naming the path) when it cannot be read.
absl::StatusOr<std::vector<RuleGroup>> LoadRuleFile(const std::string& path);

// What `promtool check rules` prints for one file, stdout and stderr in order, given what
// LoadRuleFile(filename) returned:
//   "Checking rules.yml\n  SUCCESS: 3 rules found\n\n", or
//   "Checking rules.yml\n  FAILED:\n<one error per line>\n".
// The caller exits non-zero when `result` is an error.
std::string CheckRulesReport(std::string_view filename,
                             const absl::StatusOr<std::vector<RuleGroup>>& result);

}  // namespace ember::rules

#endif  // EMBER_RULES_RULE_FILE_H_
