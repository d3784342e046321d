#include "rules/rule_file.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "query/ast.h"
#include "query/parser/parser.h"
#include "rules/template.h"
#include "util/duration.h"
#include "util/quote.h"
#include "util/utf8.h"
#include "util/yaml.h"

namespace ember::rules {
namespace {

using util::IsValidUtf8;

// `s`, or Go-quoted (`"a\xffb"`) when it is not valid UTF-8, so that messages always are.
std::string Printable(std::string_view s) {
  return IsValidUtf8(s) ? std::string(s) : util::GoQuote(s);
}

std::string KindName(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return absl::StrFormat("the scalar %s", util::GoQuote(n.Scalar()));
    default:
      return "nothing";
  }
}

// Reads a leading "<line>:<col>: " of `msg` (ParseExpr's and Template's positions).
bool LeadingPosition(std::string_view msg, int* line, int* col) {
  const size_t c1 = msg.find(':');
  if (c1 == std::string_view::npos) return false;
  const size_t c2 = msg.find(':', c1 + 1);
  if (c2 == std::string_view::npos) return false;
  const auto sv = [](std::string_view s) { return absl::string_view(s.data(), s.size()); };
  return absl::SimpleAtoi(sv(msg.substr(0, c1)), line) &&
         absl::SimpleAtoi(sv(msg.substr(c1 + 1, c2 - c1 - 1)), col) && *line > 0 && *col > 0;
}

std::string JoinNames(std::initializer_list<std::string_view> names) {
  std::string out;
  for (std::string_view n : names) {
    if (!out.empty()) out += ", ";
    out.append(n);
  }
  return out;
}

using yaml::Position;
using yaml::PositionOf;

// A label or annotation read from a mapping, with its nodes for messages.
struct Entry {
  std::string name;
  std::string value;
  YAML::Node key;
  YAML::Node node;
};

class FileParser {
 public:
  FileParser(std::string_view yaml, std::string_view filename)
      : yaml_(yaml), filename_(filename), reader_(filename) {}

  absl::StatusOr<std::vector<RuleGroup>> Run() {
    absl::StatusOr<YAML::Node> root = reader_.Load(yaml_, "yaml: ");
    if (!root.ok()) return root.status();
    std::vector<RuleGroup> groups;
    try {
      ParseRoot(*root, &groups);
    } catch (const YAML::Exception& e) {  // Not expected: every access checks the type first.
      Error(e.mark, "", absl::StrFormat("yaml: %s", e.msg));
    }
    if (!errors_.empty()) return absl::InvalidArgumentError(absl::StrJoin(errors_, "\n"));
    return groups;
  }

 private:
  using FieldFn =
      std::function<void(const std::string& name, const YAML::Node& key, const YAML::Node& value)>;

  // Records `<file>:<line>:<col>: <context>: <msg>`; parsing goes on, to report every problem.
  void Error(Position pos, std::string_view context, std::string_view msg) {
    errors_.emplace_back(yaml::Message(reader_.ErrorAt(pos, context, msg)));
  }
  void Error(const YAML::Mark& mark, std::string_view context, std::string_view msg) {
    Error(PositionOf(mark), context, msg);
  }

  // Places an error whose message may begin with a position inside `value` (ParseExpr's and
  // Template's messages do) at the corresponding place in the file.
  Position PosInValue(const YAML::Node& node, std::string_view value, std::string_view msg) const {
    if (msg.starts_with("template: ")) msg.remove_prefix(10);
    int line = 0;
    int col = 0;
    if (!LeadingPosition(msg, &line, &col)) return PositionOf(node.Mark());
    return yaml::PositionInScalar(yaml_, node, value, line, col);
  }

  // Calls `fn` for each pair of mapping `map`. Keys that are not scalars, repeated, not
  // supported or not `known` are reported instead; `where` names the mapping for messages.
  void ForEachField(const YAML::Node& map, std::string_view context, std::string_view where,
                    std::initializer_list<std::string_view> known,
                    std::initializer_list<std::string_view> unsupported, const FieldFn& fn) {
    std::map<std::string, int> seen;  // Key -> line.
    for (auto it = map.begin(); it != map.end(); ++it) {
      const YAML::Node key = it->first;
      const YAML::Node value = it->second;
      if (!key.IsScalar()) {
        Error(key.Mark(), context,
              absl::StrFormat("%s keys must be strings, got %s", where, KindName(key)));
        continue;
      }
      const std::string& name = key.Scalar();
      if (auto [at, inserted] = seen.emplace(name, key.Mark().line + 1); !inserted) {
        Error(key.Mark(), context,
              absl::StrFormat("mapping key %s already defined at line %d", util::GoQuote(name),
                              at->second));
        continue;
      }
      if (std::find(unsupported.begin(), unsupported.end(), name) != unsupported.end()) {
        Error(key.Mark(), context,
              absl::StrFormat("%s field %s is not supported by Ember", where, util::GoQuote(name)));
        continue;
      }
      if (std::find(known.begin(), known.end(), name) == known.end()) {
        Error(key.Mark(), context,
              absl::StrFormat("unknown field %s in %s (want one of %s)", util::GoQuote(name), where,
                              JoinNames(known)));
        continue;
      }
      fn(name, key, value);
    }
  }

  bool ReadString(const YAML::Node& value, std::string_view context, std::string_view field,
                  std::string* out) {
    if (value.IsNull()) {
      out->clear();
      return true;
    }
    if (value.IsScalar()) {
      *out = value.Scalar();
      return true;
    }
    Error(value.Mark(), context,
          absl::StrFormat("%s: expected a string, got %s", field, KindName(value)));
    return false;
  }

  void ReadDuration(const YAML::Node& value, std::string_view context, std::string_view field,
                    int64_t* out_ms) {
    std::string text;
    if (!ReadString(value, context, field, &text) || value.IsNull()) return;
    absl::StatusOr<int64_t> ms = util::ParseDuration(text);
    if (!ms.ok()) {
      Error(value.Mark(), context, absl::StrFormat("%s: %s", field, ms.status().message()));
      return;
    }
    *out_ms = *ms;
  }

  // A mapping of strings (labels, annotations); null is empty.
  void ReadStringMap(const YAML::Node& value, std::string_view context, std::string_view field,
                     std::vector<Entry>* out) {
    if (value.IsNull()) return;
    if (!value.IsMap()) {
      Error(value.Mark(), context,
            absl::StrFormat("%s: expected a mapping, got %s", field, KindName(value)));
      return;
    }
    std::map<std::string, int> seen;
    for (auto it = value.begin(); it != value.end(); ++it) {
      const YAML::Node key = it->first;
      const YAML::Node v = it->second;
      if (!key.IsScalar()) {
        Error(key.Mark(), context,
              absl::StrFormat("%s: names must be strings, got %s", field, KindName(key)));
        continue;
      }
      if (auto [at, inserted] = seen.emplace(key.Scalar(), key.Mark().line + 1); !inserted) {
        Error(key.Mark(), context,
              absl::StrFormat("%s: mapping key %s already defined at line %d", field,
                              util::GoQuote(key.Scalar()), at->second));
        continue;
      }
      if (!v.IsNull() && !v.IsScalar()) {
        Error(v.Mark(), context,
              absl::StrFormat("%s: value of %s must be a string, got %s", field,
                              util::GoQuote(key.Scalar()), KindName(v)));
        continue;
      }
      out->push_back(Entry{key.Scalar(), v.IsNull() ? "" : v.Scalar(), key, v});
    }
  }

  void ParseRoot(const YAML::Node& root, std::vector<RuleGroup>* groups) {
    if (!root.IsDefined() || root.IsNull()) return;  // An empty file has no groups.
    if (!root.IsMap()) {
      Error(root.Mark(), "",
            absl::StrFormat("expected a mapping with a \"groups\" list, got %s", KindName(root)));
      return;
    }
    std::optional<YAML::Node> groups_node;
    ForEachField(root, "", "the top level", {"groups"}, {},
                 [&](const std::string&, const YAML::Node&, const YAML::Node& v) {
                   groups_node.emplace(v);
                 });
    if (!groups_node.has_value() || groups_node->IsNull()) return;
    if (!groups_node->IsSequence()) {
      Error(groups_node->Mark(), "",
            absl::StrFormat("groups: expected a list, got %s", KindName(*groups_node)));
      return;
    }
    std::map<std::string, int> names;  // Group name -> line.
    int index = 0;
    for (auto it = groups_node->begin(); it != groups_node->end(); ++it, ++index) {
      const YAML::Node node = *it;
      RuleGroup group;
      if (ParseGroup(node, index, &names, &group)) groups->push_back(std::move(group));
    }
  }

  bool ParseGroup(const YAML::Node& node, int index, std::map<std::string, int>* names,
                  RuleGroup* group) {
    group->file = std::string(filename_);
    std::string context = absl::StrFormat("group %d", index + 1);
    if (!node.IsMap()) {
      Error(node.Mark(), context, absl::StrFormat("expected a mapping, got %s", KindName(node)));
      return false;
    }
    // The name first, so that every message can use it.
    std::optional<YAML::Node> name_node;
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (it->first.IsScalar() && it->first.Scalar() == "name" && it->second.IsScalar()) {
        name_node.emplace(it->second);
        group->name = it->second.Scalar();
        context = absl::StrFormat("group %s", util::GoQuote(group->name));
        break;
      }
    }
    ForEachField(
        node, context, "group", {"name", "interval", "limit", "rules"}, {"query_offset", "labels"},
        [&](const std::string& field, const YAML::Node&, const YAML::Node& v) {
          if (field == "name") {
            std::string ignored;
            ReadString(v, context, field, &ignored);
          } else if (field == "interval") {
            ReadDuration(v, context, field, &group->interval_ms);
          } else if (field == "limit") {
            std::string text;
            if (!ReadString(v, context, field, &text) || v.IsNull()) return;
            if (!absl::SimpleAtoi(text, &group->limit)) {
              Error(v.Mark(), context,
                    absl::StrFormat("limit: expected an integer, got %s", util::GoQuote(text)));
            } else if (group->limit < 0) {
              Error(v.Mark(), context,
                    absl::StrFormat("limit must not be negative (0 means no limit), got %d",
                                    group->limit));
            }
          } else if (field == "rules") {
            ParseRules(v, context, &group->rules);
          }
        });
    if (group->name.empty()) {
      Error(name_node ? name_node->Mark() : node.Mark(), context, "name must not be empty");
    } else if (auto [at, inserted] = names->emplace(group->name, name_node->Mark().line + 1);
               !inserted) {
      Error(name_node->Mark(), context,
            absl::StrFormat("name is repeated in the same file (first at line %d)", at->second));
    }
    return true;
  }

  void ParseRules(const YAML::Node& v, const std::string& context, std::vector<Rule>* rules) {
    if (v.IsNull()) return;
    if (!v.IsSequence()) {
      Error(v.Mark(), context, absl::StrFormat("rules: expected a list, got %s", KindName(v)));
      return;
    }
    int index = 0;
    for (auto it = v.begin(); it != v.end(); ++it, ++index) {
      Rule rule;
      if (ParseRule(*it, context, index, &rule)) rules->push_back(std::move(rule));
    }
  }

  bool ParseRule(const YAML::Node& node, const std::string& group_context, int index, Rule* rule) {
    rule->line = node.Mark().line + 1;
    if (!node.IsMap()) {
      Error(node.Mark(), absl::StrFormat("%s, rule %d", group_context, index + 1),
            absl::StrFormat("expected a mapping, got %s", KindName(node)));
      return false;
    }
    // The rule's name first, for the context of every message (Prometheus's format).
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (!it->first.IsScalar() || !it->second.IsScalar()) continue;
      if (it->first.Scalar() == "alert") rule->alert = it->second.Scalar();
      if (it->first.Scalar() == "record") rule->record = it->second.Scalar();
    }
    const std::string context =
        absl::StrFormat("%s, rule %d, %s", group_context, index + 1,
                        util::GoQuote(rule->alert.empty() ? rule->record : rule->alert));
    std::optional<YAML::Node> expr_node;
    std::optional<YAML::Node> for_key;
    std::optional<YAML::Node> keep_firing_for_key;
    std::optional<YAML::Node> annotations_key;
    std::vector<Entry> labels;
    std::vector<Entry> annotations;
    ForEachField(node, context, "rule",
                 {"record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations"}, {},
                 [&](const std::string& field, const YAML::Node& key, const YAML::Node& v) {
                   if (field == "record") {
                     ReadString(v, context, field, &rule->record);
                   } else if (field == "alert") {
                     ReadString(v, context, field, &rule->alert);
                   } else if (field == "expr") {
                     if (ReadString(v, context, field, &rule->expr)) expr_node.emplace(v);
                   } else if (field == "for") {
                     for_key.emplace(key);
                     ReadDuration(v, context, field, &rule->for_ms);
                   } else if (field == "keep_firing_for") {
                     keep_firing_for_key.emplace(key);
                     ReadDuration(v, context, field, &rule->keep_firing_for_ms);
                   } else if (field == "labels") {
                     ReadStringMap(v, context, field, &labels);
                   } else if (field == "annotations") {
                     annotations_key.emplace(key);
                     ReadStringMap(v, context, field, &annotations);
                   }
                 });

    if (!rule->record.empty() && !rule->alert.empty()) {
      Error(node.Mark(), context, "only one of 'record' and 'alert' must be set");
    } else if (rule->record.empty() && rule->alert.empty()) {
      Error(node.Mark(), context, "one of 'record' or 'alert' must be set");
    }
    if (rule->expr.empty()) {
      Error(expr_node ? expr_node->Mark() : node.Mark(), context,
            "field 'expr' must be set in rule");
    } else if (absl::StatusOr<query::ExprPtr> e = query::ParseExpr(rule->expr); !e.ok()) {
      const std::string_view msg(e.status().message().data(), e.status().message().size());
      Error(PosInValue(*expr_node, rule->expr, msg), context,
            absl::StrFormat("could not parse expression: %s", msg));
    }
    if (!rule->record.empty()) {
      if (!annotations.empty()) {
        Error(annotations_key->Mark(), context, "invalid field 'annotations' in recording rule");
      }
      if (rule->for_ms != 0) {
        Error(for_key->Mark(), context, "invalid field 'for' in recording rule");
      }
      if (rule->keep_firing_for_ms != 0) {
        Error(keep_firing_for_key->Mark(), context,
              "invalid field 'keep_firing_for' in recording rule");
      }
      if (!IsValidUtf8(rule->record)) {
        Error(node.Mark(), context,
              absl::StrFormat("invalid recording rule name: %s", Printable(rule->record)));
      }
      // Valid UTF-8, but most likely a selector pasted into the name.
      if (rule->record.find_first_of("{}") != std::string::npos) {
        Error(node.Mark(), context,
              absl::StrFormat("braces present in the recording rule name; should it be in "
                              "expr?: %s",
                              rule->record));
      }
    }
    for (const Entry& l : labels) {
      if (l.name.empty() || !IsValidUtf8(l.name) || l.name == kMetricNameLabel) {
        Error(l.key.Mark(), context, absl::StrFormat("invalid label name: %s", Printable(l.name)));
      }
      if (!IsValidUtf8(l.value)) {
        Error(l.node.Mark(), context,
              absl::StrFormat("invalid label value: %s", Printable(l.value)));
      }
    }
    for (const Entry& a : annotations) {
      if (a.name.empty() || !IsValidUtf8(a.name)) {
        Error(a.key.Mark(), context,
              absl::StrFormat("invalid annotation name: %s", Printable(a.name)));
      }
    }
    // Only alerting rules expand templates (Prometheus's testTemplateParsing).
    if (!rule->alert.empty()) {
      CheckTemplates(labels, "label", context);
      CheckTemplates(annotations, "annotation", context);
    }
    for (Entry& l : labels) rule->labels.push_back(Label{std::move(l.name), std::move(l.value)});
    for (Entry& a : annotations) {
      rule->annotations.push_back(Label{std::move(a.name), std::move(a.value)});
    }
    std::sort(rule->labels.begin(), rule->labels.end());
    std::sort(rule->annotations.begin(), rule->annotations.end());
    return true;
  }

  void CheckTemplates(const std::vector<Entry>& entries, std::string_view kind,
                      std::string_view context) {
    for (const Entry& e : entries) {
      absl::StatusOr<Template> t = Template::Parse(e.value);
      if (t.ok()) continue;
      const std::string_view msg(t.status().message().data(), t.status().message().size());
      Error(PosInValue(e.node, e.value, msg), context,
            absl::StrFormat("%s %s: %s", kind, util::GoQuote(e.name), msg));
    }
  }

  const std::string_view yaml_;
  const std::string_view filename_;
  const yaml::Reader reader_;
  std::vector<std::string> errors_;
};

}  // namespace

absl::StatusOr<std::vector<RuleGroup>> ParseRuleFile(std::string_view yaml,
                                                     std::string_view filename) {
  return FileParser(yaml, filename).Run();
}

absl::StatusOr<std::vector<RuleGroup>> LoadRuleFile(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    const int err = errno;
    const std::string msg = absl::StrFormat("%s: cannot open: %s", path, std::strerror(err));
    if (err == ENOENT) return absl::NotFoundError(msg);
    if (err == EACCES) return absl::PermissionDeniedError(msg);
    return absl::InvalidArgumentError(msg);
  }
  std::string text;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) text.append(buf, n);
  const bool failed = std::ferror(f) != 0;
  const int err = errno;
  std::fclose(f);
  if (failed) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: cannot read: %s", path, std::strerror(err)));
  }
  return ParseRuleFile(text, path);
}

std::string CheckRulesReport(std::string_view filename,
                             const absl::StatusOr<std::vector<RuleGroup>>& result) {
  std::string out = absl::StrFormat("Checking %s\n", filename);
  if (!result.ok()) {
    const absl::string_view msg = result.status().message();
    absl::StrAppendFormat(&out, "  FAILED:\n%s\n", std::string_view(msg.data(), msg.size()));
    return out;
  }
  size_t n = 0;
  for (const RuleGroup& g : *result) n += g.rules.size();
  absl::StrAppendFormat(&out, "  SUCCESS: %d rules found\n\n", n);
  return out;
}

}  // namespace ember::rules
