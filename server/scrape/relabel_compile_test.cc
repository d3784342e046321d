// What relabeling accepts (see relabel_testing.h): action names, and the steps Compile accepts
// or refuses as Prometheus's Validate does.
#include "server/scrape/relabel_testing.h"

namespace ember::server {
namespace {

TEST(ParseRelabelActionTest, AcceptsEveryActionInAnyCase) {
  const std::pair<std::string, RelabelAction> cases[] = {
      {"replace", RelabelAction::kReplace},     {"Replace", RelabelAction::kReplace},
      {"KEEP", RelabelAction::kKeep},           {"drop", RelabelAction::kDrop},
      {"hashmod", RelabelAction::kHashMod},     {"HashMod", RelabelAction::kHashMod},
      {"labelmap", RelabelAction::kLabelMap},   {"LabelDrop", RelabelAction::kLabelDrop},
      {"labelkeep", RelabelAction::kLabelKeep}, {"KeepEqual", RelabelAction::kKeepEqual},
      {"dropequal", RelabelAction::kDropEqual},
  };
  for (const auto& [text, want] : cases) {
    SCOPED_TRACE(text);
    absl::StatusOr<RelabelAction> got = ParseRelabelAction(text);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, want);
  }
}

TEST(ParseRelabelActionTest, UnknownActionIsInvalidArgument) {
  for (const std::string text : {"", "rename", "replace ", "label_map"}) {
    SCOPED_TRACE(text);
    absl::StatusOr<RelabelAction> got = ParseRelabelAction(text);
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(got.status().message(), HasSubstr("unknown relabel action \"" + text + "\""));
  }
}

TEST(ParseRelabelActionTest, CaseMappingActionsAreNotSupported) {
  for (const std::string text : {"lowercase", "Uppercase"}) {
    SCOPED_TRACE(text);
    absl::StatusOr<RelabelAction> got = ParseRelabelAction(text);
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(got.status().message(),
                HasSubstr("relabel action \"" + text + "\" is not supported by Ember"));
  }
}

TEST(RelabelerTest, CompileRejectsWhatPrometheusValidateRejects) {
  struct ErrorCase {
    std::string name;
    RelabelConfig config;
    std::string want;  // A substring of the message after "relabel_configs[1]: ".
  };
  RelabelConfig hashmod_no_modulus = HashMod({"a"}, "t", 0);
  RelabelConfig hashmod_no_target = HashMod({"a"}, "", 4);
  RelabelConfig labeldrop_with_sources = NameFilter(RelabelAction::kLabelDrop, "a");
  labeldrop_with_sources.source_labels = {"a"};
  RelabelConfig labelkeep_with_target = NameFilter(RelabelAction::kLabelKeep, "a");
  labelkeep_with_target.target_label = "t";
  RelabelConfig labelkeep_with_replacement = NameFilter(RelabelAction::kLabelKeep, "a");
  labelkeep_with_replacement.replacement = "x";
  RelabelConfig labeldrop_with_separator = NameFilter(RelabelAction::kLabelDrop, "a");
  labeldrop_with_separator.separator = ",";
  RelabelConfig labeldrop_with_modulus = NameFilter(RelabelAction::kLabelDrop, "a");
  labeldrop_with_modulus.modulus = 2;
  RelabelConfig keepequal_with_regex = Equal(RelabelAction::kKeepEqual, {"a"}, "b");
  keepequal_with_regex.regex = "x";
  RelabelConfig dropequal_with_replacement = Equal(RelabelAction::kDropEqual, {"a"}, "b");
  dropequal_with_replacement.replacement = "x";
  const ErrorCase cases[] = {
      {"bad regex", Filter(RelabelAction::kKeep, {"a"}, "(foo"),
       "invalid regex \"(foo\": missing )"},
      {"regex valid only once wrapped", Filter(RelabelAction::kKeep, {"a"}, "a)|(b"),
       "invalid regex \"a)|(b\""},
      {"invalid source label name", Filter(RelabelAction::kKeep, {"a", ""}, "x"),
       "\"\" is not a valid label name"},
      {"replace without target", Replace({"a"}, "(.*)", "", "$1"),
       "relabel configuration for replace action requires 'target_label' value"},
      {"replace with invalid UTF-8 target", Replace({"a"}, "(.*)", "t\xff", "$1"),
       "\"t\\xff\" is invalid 'target_label' for replace action"},
      {"replace with invalid UTF-8 templated target", Replace({"a"}, "(.*)", "${1}\xff", "$1"),
       "\"${1}\\xff\" is invalid 'target_label' for replace action"},
      {"hashmod without modulus", hashmod_no_modulus,
       "relabel configuration for hashmod requires non-zero modulus"},
      {"hashmod without target", hashmod_no_target,
       "relabel configuration for hashmod action requires 'target_label' value"},
      {"labelmap with empty replacement", LabelMap("(.*)", ""),
       "\"\" is invalid 'replacement' for labelmap action"},
      {"labeldrop with source_labels", labeldrop_with_sources,
       "labeldrop action requires only 'regex', and no other fields"},
      {"labelkeep with target_label", labelkeep_with_target,
       "labelkeep action requires only 'regex', and no other fields"},
      {"labelkeep with replacement", labelkeep_with_replacement,
       "labelkeep action requires only 'regex', and no other fields"},
      {"labeldrop with separator", labeldrop_with_separator,
       "labeldrop action requires only 'regex', and no other fields"},
      {"labeldrop with modulus", labeldrop_with_modulus,
       "labeldrop action requires only 'regex', and no other fields"},
      {"keepequal without target", Equal(RelabelAction::kKeepEqual, {"a"}, ""),
       "relabel configuration for keepequal action requires 'target_label' value"},
      {"keepequal with regex", keepequal_with_regex,
       "keepequal action requires only 'source_labels' and `target_label`, and no other fields"},
      {"dropequal with replacement", dropequal_with_replacement,
       "'replacement' can not be set for dropequal action"},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.name);
    const absl::Status status = CompileStatus(c.config);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(status.message(), HasSubstr("relabel_configs[1]: " + c.want));
  }
}

TEST(RelabelerTest, CompileAcceptsWhatPrometheusValidateAccepts) {
  RelabelConfig labelmap_with_sources = LabelMap("(.*)", "x_$1");
  labelmap_with_sources.source_labels = {"a"};
  RelabelConfig replace_with_modulus = Replace({"a"}, "(.*)", "t", "$1");
  replace_with_modulus.modulus = 3;
  const std::pair<std::string, RelabelConfig> cases[] = {
      {"defaults need only a target", DefaultReplace("t")},
      {"keep without source labels", Filter(RelabelAction::kKeep, {}, "")},
      {"drop without source labels", Filter(RelabelAction::kDrop, {}, "x")},
      {"templated target", Replace({"a"}, "(.*)", "${1}_x", "$1")},
      // Prometheus 3.x's UTF-8 names: a leading digit or a dash is valid.
      {"target with a leading digit", Replace({"a"}, "(.*)", "0${1}", "$1")},
      {"target with a dash", Replace({"a"}, "(.*)", "-${1}", "$1")},
      {"target with a dot", Replace({"a"}, "(.*)", "my.label", "$1")},
      {"labelmap with source labels", labelmap_with_sources},
      {"replace with modulus", replace_with_modulus},
      {"empty regex", Filter(RelabelAction::kKeep, {"a"}, "")},
  };
  for (const auto& [name, config] : cases) {
    SCOPED_TRACE(name);
    EXPECT_TRUE(CompileStatus(config).ok()) << CompileStatus(config);
  }
}

TEST(RelabelerTest, CompiledRelabelerIsReusable) {
  auto r = Relabeler::Compile({Replace({"a"}, "(\\d+)", "b", "n$1")});
  ASSERT_TRUE(r.ok()) << r.status();
  for (int i = 0; i < 3; ++i) {
    Labels labels = {{"a", absl::StrCat(i)}};
    ASSERT_TRUE((*r)->Apply(&labels));
    EXPECT_EQ(GetLabelValue(labels, "b"), absl::StrCat("n", i));
  }
}

}  // namespace
}  // namespace ember::server
