// Shared by the relabel_*_test.cc files: relabel steps built in one call, table-driven cases,
// one replace step's result, and the status of compiling a step.
#ifndef EMBER_SERVER_SCRAPE_RELABEL_TESTING_H_
#define EMBER_SERVER_SCRAPE_RELABEL_TESTING_H_

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "ember/labels.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/scrape/relabel.h"

namespace ember::server {
namespace {

using ::testing::HasSubstr;

inline RelabelConfig Replace(std::vector<std::string> source_labels, std::string regex,
                             std::string target_label, std::string replacement) {
  RelabelConfig c;
  c.source_labels = std::move(source_labels);
  c.regex = std::move(regex);
  c.target_label = std::move(target_label);
  c.replacement = std::move(replacement);
  return c;
}

// A replace step with every field but target_label at its default.
inline RelabelConfig DefaultReplace(std::string target_label) {
  RelabelConfig c;
  c.target_label = std::move(target_label);
  return c;
}

inline RelabelConfig Filter(RelabelAction action, std::vector<std::string> source_labels,
                            std::string regex) {
  RelabelConfig c;
  c.action = action;
  c.source_labels = std::move(source_labels);
  c.regex = std::move(regex);
  return c;
}

inline RelabelConfig HashMod(std::vector<std::string> source_labels, std::string target_label,
                             uint64_t modulus) {
  RelabelConfig c;
  c.action = RelabelAction::kHashMod;
  c.source_labels = std::move(source_labels);
  c.target_label = std::move(target_label);
  c.modulus = modulus;
  return c;
}

inline RelabelConfig LabelMap(std::string regex, std::string replacement) {
  RelabelConfig c;
  c.action = RelabelAction::kLabelMap;
  c.regex = std::move(regex);
  c.replacement = std::move(replacement);
  return c;
}

inline RelabelConfig NameFilter(RelabelAction action, std::string regex) {
  RelabelConfig c;
  c.action = action;
  c.regex = std::move(regex);
  return c;
}

inline RelabelConfig Equal(RelabelAction action, std::vector<std::string> source_labels,
                           std::string target_label) {
  RelabelConfig c;
  c.action = action;
  c.source_labels = std::move(source_labels);
  c.target_label = std::move(target_label);
  return c;
}

// A relabeling case: `want` is unused when `dropped`.
struct Case {
  std::string name;
  Labels in;
  std::vector<RelabelConfig> steps;
  Labels want;
  bool dropped = false;
};

inline void RunCases(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    absl::StatusOr<std::unique_ptr<Relabeler>> r = Relabeler::Compile(c.steps);
    ASSERT_TRUE(r.ok()) << r.status();
    Labels labels = c.in;
    const bool kept = (*r)->Apply(&labels);
    EXPECT_EQ(kept, !c.dropped);
    if (kept) {
      EXPECT_EQ(LabelsToString(labels), LabelsToString(c.want));
      EXPECT_EQ(labels, c.want);
    } else {
      EXPECT_TRUE(labels.empty());
    }
  }
}

// The replace value of {a="<value>"} after one replace step of `regex` and `replacement`
// into target `t`; "<none>" when t is left unset.
inline std::string ReplaceResult(const std::string& value, const std::string& regex,
                                 const std::string& replacement) {
  absl::StatusOr<std::unique_ptr<Relabeler>> r =
      Relabeler::Compile({Replace({"a"}, regex, "t", replacement)});
  if (!r.ok()) return absl::StrCat("<error: ", r.status().message(), ">");
  Labels labels = {{"a", value}};
  (*r)->Apply(&labels);
  for (const Label& l : labels) {
    if (l.name == "t") return l.value;
  }
  return "<none>";
}

inline absl::Status CompileStatus(const RelabelConfig& c) {
  // The failing step is the second, so messages must name index 1.
  return Relabeler::Compile({DefaultReplace("ok"), c}).status();
}

}  // namespace
}  // namespace ember::server

#endif  // EMBER_SERVER_SCRAPE_RELABEL_TESTING_H_
