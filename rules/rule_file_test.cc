#include "rules/rule_file.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace ember::rules {
namespace {

// The message of ParseRuleFile(yaml, "rules.yml"), or "OK".
std::string ErrorOf(std::string_view yaml) {
  absl::StatusOr<std::vector<RuleGroup>> groups = ParseRuleFile(yaml, "rules.yml");
  if (groups.ok()) return "OK";
  EXPECT_EQ(groups.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(groups.status().message());
}

TEST(RuleFileTest, ParsesRecordingAndAlertingRules) {
  constexpr std::string_view kFile = R"(groups:
  - name: example
    interval: 30s
    limit: 10
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
        labels:
          team: a
      - alert: InstanceDown
        expr: up == 0
        for: 5m
        keep_firing_for: 1m
        labels:
          severity: page
          instance: "{{ $labels.instance }}"
        annotations:
          summary: "{{ $labels.instance }} is down"
          description: |
            {{ $labels.instance }} of {{ $labels.job }} has been down for 5m.
  - name: second
    rules: []
)";
  absl::StatusOr<std::vector<RuleGroup>> groups = ParseRuleFile(kFile, "rules.yml");
  ASSERT_TRUE(groups.ok()) << groups.status();
  ASSERT_EQ(groups->size(), 2u);
  const RuleGroup& g = (*groups)[0];
  EXPECT_EQ(g.name, "example");
  EXPECT_EQ(g.file, "rules.yml");
  EXPECT_EQ(g.interval_ms, 30000);
  EXPECT_EQ(g.limit, 10);
  ASSERT_EQ(g.rules.size(), 2u);

  const Rule& rec = g.rules[0];
  EXPECT_EQ(rec.record, "job:up:sum");
  EXPECT_EQ(rec.alert, "");
  EXPECT_EQ(rec.expr, "sum by (job) (up)");
  EXPECT_EQ(rec.labels, (Labels{{"team", "a"}}));
  EXPECT_EQ(rec.line, 6);

  const Rule& alert = g.rules[1];
  EXPECT_EQ(alert.alert, "InstanceDown");
  EXPECT_EQ(alert.expr, "up == 0");
  EXPECT_EQ(alert.for_ms, 300000);
  EXPECT_EQ(alert.keep_firing_for_ms, 60000);
  EXPECT_EQ(alert.labels, (Labels{{"instance", "{{ $labels.instance }}"}, {"severity", "page"}}));
  EXPECT_EQ(alert.annotations,
            (Labels{{"description",
                     "{{ $labels.instance }} of {{ $labels.job }} has been down for 5m.\n"},
                    {"summary", "{{ $labels.instance }} is down"}}));
  EXPECT_EQ(alert.line, 10);

  EXPECT_EQ((*groups)[1].name, "second");
  EXPECT_EQ((*groups)[1].interval_ms, 0);
  EXPECT_TRUE((*groups)[1].rules.empty());
}

TEST(RuleFileTest, EmptyFilesHaveNoGroups) {
  for (std::string_view yaml : {"", "# only a comment\n", "groups:\n", "groups: []\n"}) {
    SCOPED_TRACE(yaml);
    absl::StatusOr<std::vector<RuleGroup>> groups = ParseRuleFile(yaml, "rules.yml");
    ASSERT_TRUE(groups.ok()) << groups.status();
    EXPECT_TRUE(groups->empty());
  }
}

TEST(RuleFileTest, AcceptsUtf8NamesAsPrometheus3Does) {
  EXPECT_EQ(ErrorOf(R"(groups:
  - name: g
    rules:
      - record: "ünïcode.metric:rate5m"
        expr: up
        labels:
          "label.with.dots": x
)"),
            "OK");
}

TEST(RuleFileTest, RecordingRuleLabelsAreNotTemplates) {
  EXPECT_EQ(ErrorOf(R"(groups:
  - name: g
    rules:
      - record: r
        expr: up
        labels:
          x: "{{ if }}"
)"),
            "OK");
}

struct ErrorCase {
  std::string name;
  std::string yaml;
  std::string want;  // Every line of the message.
};

TEST(RuleFileTest, ReportsEveryErrorWithFileLineAndColumn) {
  const ErrorCase cases[] = {
      {"unknown top-level field", "group:\n  - name: x\n",
       "rules.yml:1:1: unknown field \"group\" in the top level (want one of groups)"},
      {"top level not a mapping", "- a\n",
       "rules.yml:1:1: expected a mapping with a \"groups\" list, got a list"},
      {"groups not a list", "groups: {a: b}\n",
       "rules.yml:1:9: groups: expected a list, got a mapping"},
      {"group not a mapping", "groups:\n  - just a string\n",
       "rules.yml:2:5: group 1: expected a mapping, got the scalar \"just a string\""},
      {"unknown group field", R"(groups:
  - name: g
    intervall: 1m
    rules: []
)",
       "rules.yml:3:5: group \"g\": unknown field \"intervall\" in group (want one of name, "
       "interval, limit, rules)"},
      {"unsupported group field", R"(groups:
  - name: g
    query_offset: 1m
    rules: []
)",
       "rules.yml:3:5: group \"g\": group field \"query_offset\" is not supported by Ember"},
      {"group without a name", R"(groups:
  - interval: 1m
    rules: []
)",
       "rules.yml:2:5: group 1: name must not be empty"},
      {"repeated group name", R"(groups:
  - name: g
    rules: []
  - name: g
    rules: []
)",
       "rules.yml:4:11: group \"g\": name is repeated in the same file (first at line 2)"},
      {"bad interval", R"(groups:
  - name: g
    interval: 1h30
    rules: []
)",
       "rules.yml:3:15: group \"g\": interval: not a valid duration string: \"1h30\""},
      {"bad limit", R"(groups:
  - name: g
    limit: many
    rules: []
)",
       "rules.yml:3:12: group \"g\": limit: expected an integer, got \"many\""},
      {"negative limit", R"(groups:
  - name: g
    limit: -1
    rules: []
)",
       "rules.yml:3:12: group \"g\": limit must not be negative (0 means no limit), got -1"},
      {"rules not a list", R"(groups:
  - name: g
    rules: x
)",
       "rules.yml:3:12: group \"g\": rules: expected a list, got the scalar \"x\""},
      {"unknown rule field and no expr", R"(groups:
  - name: g
    rules:
      - record: x
        exp: up
)",
       "rules.yml:5:9: group \"g\", rule 1, \"x\": unknown field \"exp\" in rule (want one of "
       "record, alert, expr, for, keep_firing_for, labels, annotations)\n"
       "rules.yml:4:9: group \"g\", rule 1, \"x\": field 'expr' must be set in rule"},
      {"repeated rule field", R"(groups:
  - name: g
    rules:
      - record: r
        expr: up
        expr: down
)",
       "rules.yml:6:9: group \"g\", rule 1, \"r\": mapping key \"expr\" already defined at "
       "line 5"},
      {"record and alert", R"(groups:
  - name: g
    rules:
      - record: a
        alert: b
        expr: up
)",
       "rules.yml:4:9: group \"g\", rule 1, \"b\": only one of 'record' and 'alert' must be set"},
      {"neither record nor alert", R"(groups:
  - name: g
    rules:
      - expr: up
)",
       "rules.yml:4:9: group \"g\", rule 1, \"\": one of 'record' or 'alert' must be set"},
      {"braces in record name", R"(groups:
  - name: g
    rules:
      - record: 'up{job="a"}'
        expr: up
)",
       "rules.yml:4:9: group \"g\", rule 1, \"up{job=\\\"a\\\"}\": braces present in the "
       "recording rule name; should it be in expr?: up{job=\"a\"}"},
      {"alerting-only fields on a recording rule", R"(groups:
  - name: g
    rules:
      - record: r
        expr: up
        for: 5m
        keep_firing_for: 1m
        labels: {team: a}
        annotations:
          a: b
)",
       "rules.yml:9:9: group \"g\", rule 1, \"r\": invalid field 'annotations' in recording "
       "rule\n"
       "rules.yml:6:9: group \"g\", rule 1, \"r\": invalid field 'for' in recording rule\n"
       "rules.yml:7:9: group \"g\", rule 1, \"r\": invalid field 'keep_firing_for' in recording "
       "rule"},
      {"bad for", R"(groups:
  - name: g
    rules:
      - alert: A
        expr: up
        for: 5x
)",
       "rules.yml:6:14: group \"g\", rule 1, \"A\": for: unknown unit \"x\" in duration \"5x\""},
      {"expr in a plain scalar", R"(groups:
  - name: g
    rules:
      - record: r
        expr: foo bar
)",
       "rules.yml:5:19: group \"g\", rule 1, \"r\": could not parse expression: 1:5: parse "
       "error: unexpected identifier \"bar\""},
      {"expr in a quoted scalar", R"(groups:
  - name: g
    rules:
      - record: r
        expr: "foo bar"
)",
       "rules.yml:5:20: group \"g\", rule 1, \"r\": could not parse expression: 1:5: parse "
       "error: unexpected identifier \"bar\""},
      {"expr in a literal block", R"(groups:
  - name: g
    rules:
      - alert: A
        expr: |
          sum(up)
            by (job) foo
)",
       "rules.yml:7:22: group \"g\", rule 1, \"A\": could not parse expression: 2:12: parse "
       "error: unexpected identifier \"foo\""},
      {"expr with escapes falls back to the scalar", R"(groups:
  - name: g
    rules:
      - record: r
        expr: "foo\tbar"
)",
       "rules.yml:5:15: group \"g\", rule 1, \"r\": could not parse expression: 1:5: parse "
       "error: unexpected identifier \"bar\""},
      {"expr not a string", R"(groups:
  - name: g
    rules:
      - record: r
        expr: [up]
)",
       "rules.yml:5:15: group \"g\", rule 1, \"r\": expr: expected a string, got a list\n"
       "rules.yml:4:9: group \"g\", rule 1, \"r\": field 'expr' must be set in rule"},
      {"invalid label and annotation names", R"(groups:
  - name: g
    rules:
      - alert: A
        expr: up
        labels:
          __name__: x
          "": y
        annotations:
          "": z
)",
       "rules.yml:7:11: group \"g\", rule 1, \"A\": invalid label name: __name__\n"
       "rules.yml:8:11: group \"g\", rule 1, \"A\": invalid label name: \n"
       "rules.yml:10:11: group \"g\", rule 1, \"A\": invalid annotation name: "},
      {"names and values that are not UTF-8",
       "groups:\n  - name: g\n    rules:\n      - record: a\xff"
       "b\n        expr: up\n"
       "        labels:\n          l: \"v\xfe\"\n",
       "rules.yml:4:9: group \"g\", rule 1, \"a\\xffb\": invalid recording rule name: "
       "\"a\\xffb\"\n"
       "rules.yml:7:14: group \"g\", rule 1, \"a\\xffb\": invalid label value: \"v\\xfe\""},
      {"labels not a mapping", R"(groups:
  - name: g
    rules:
      - alert: A
        expr: up
        labels: [a]
)",
       "rules.yml:6:17: group \"g\", rule 1, \"A\": labels: expected a mapping, got a list"},
      {"templates that do not parse", R"(groups:
  - name: g
    rules:
      - alert: A
        expr: up == 0
        labels:
          severity: "{{ if }}"
        annotations:
          summary: Instance {{ $labels.instance }} is {{ query "up" }}
)",
       "rules.yml:7:25: group \"g\", rule 1, \"A\": label \"severity\": template: 1:4: "
       "unsupported action \"if\" (Ember's alert templates support pipelines only, no control "
       "structures)\n"
       "rules.yml:9:58: group \"g\", rule 1, \"A\": annotation \"summary\": template: 1:39: "
       "unsupported action: function \"query\" is not supported by Ember's alert templates"},
      {"template in a literal block", R"(groups:
  - name: g
    rules:
      - alert: A
        expr: up == 0
        annotations:
          description: |
            {{ $labels.instance }} is down.
            Value: {{ $value | humanise }}
)",
       "rules.yml:9:32: group \"g\", rule 1, \"A\": annotation \"description\": template: 2:20: "
       "function \"humanise\" not defined"},
      {"errors in two groups", R"(groups:
  - name: a
    rules:
      - record: r
        expr: up[
  - name: b
    rules:
      - alert: B
)",
       "rules.yml:5:18: group \"a\", rule 1, \"r\": could not parse expression: 1:4: parse "
       "error: unexpected end of input in subquery or range selector, expected number or "
       "duration\n"
       "rules.yml:8:9: group \"b\", rule 1, \"B\": field 'expr' must be set in rule"},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(ErrorOf(c.yaml), c.want);
  }
}

TEST(RuleFileTest, YamlSyntaxErrorNamesPosition) {
  EXPECT_EQ(ErrorOf("groups:\n  - name: g\n    rules: [\n"),
            "rules.yml:4:1: yaml: end of sequence flow not found");
}

TEST(RuleFileTest, LoadRuleFileReadsTheFile) {
  const std::string path = ::testing::TempDir() + "/ember_rule_file_test.yml";
  {
    std::ofstream f(path);
    f << "groups:\n  - name: g\n    rules:\n      - record: r\n        expr: up\n";
  }
  absl::StatusOr<std::vector<RuleGroup>> groups = LoadRuleFile(path);
  ASSERT_TRUE(groups.ok()) << groups.status();
  ASSERT_EQ(groups->size(), 1u);
  EXPECT_EQ((*groups)[0].file, path);
  EXPECT_EQ((*groups)[0].rules[0].record, "r");
  std::filesystem::remove(path);
}

TEST(RuleFileTest, LoadRuleFileOfMissingFileIsNotFound) {
  absl::StatusOr<std::vector<RuleGroup>> groups = LoadRuleFile("/nonexistent/rules.yml");
  EXPECT_EQ(groups.status(),
            absl::NotFoundError("/nonexistent/rules.yml: cannot open: No such file or directory"));
}

TEST(CheckRulesReportTest, PrintsLikePromtool) {
  constexpr std::string_view kGood = R"(groups:
  - name: a
    rules:
      - record: r1
        expr: up
      - record: r2
        expr: up
  - name: b
    rules:
      - alert: A
        expr: up == 0
)";
  EXPECT_EQ(CheckRulesReport("rules.yml", ParseRuleFile(kGood, "rules.yml")),
            "Checking rules.yml\n  SUCCESS: 3 rules found\n\n");
  constexpr std::string_view kBad = R"(groups:
  - name: a
    rules:
      - record: r1
  - name: a
    rules: []
)";
  EXPECT_EQ(CheckRulesReport("rules.yml", ParseRuleFile(kBad, "rules.yml")),
            "Checking rules.yml\n"
            "  FAILED:\n"
            "rules.yml:4:9: group \"a\", rule 1, \"r1\": field 'expr' must be set in rule\n"
            "rules.yml:5:11: group \"a\": name is repeated in the same file (first at line 2)\n");
}

}  // namespace
}  // namespace ember::rules
