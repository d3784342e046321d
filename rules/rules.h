// Prometheus rule files: groups of recording and alerting rules, as parsed from YAML
// (rule_file.h), and the expansion of alert labels and annotations (template.h). Evaluation is
// in rule_group.h. Plain data.
#ifndef EMBER_RULES_RULES_H_
#define EMBER_RULES_RULES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "ember/labels.h"

namespace ember::rules {

struct Rule {
  // Exactly one of `record` and `alert` is set.
  std::string record;
  std::string alert;
  std::string expr;
  int64_t for_ms = 0;              // Alerting only.
  int64_t keep_firing_for_ms = 0;  // Alerting only.
  Labels labels;                   // Values of alerting rules are templates.
  Labels annotations;              // Alerting only; values are templates.
  int line = 0;                    // Where the rule starts in its file (1-based), for messages.
};

struct RuleGroup {
  std::string name;
  std::string file;
  int64_t interval_ms = 0;  // 0: the global evaluation_interval.
  int64_t limit = 0;        // Most series a rule may produce; 0: no limit.
  std::vector<Rule> rules;
};

}  // namespace ember::rules

#endif  // EMBER_RULES_RULES_H_
