#include "util/yaml.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ember/labels.h"
#include "util/duration.h"
#include "util/quote.h"
#include "util/status_macros.h"
#include "util/strings.h"
#include "util/utf8.h"
#include "yaml-cpp/yaml.h"

namespace ember::yaml {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool Contains(Names names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// Levenshtein distance, for "did you mean".
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::vector<std::string_view> SplitLines(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    const size_t nl = s.find('\n', start);
    out.push_back(s.substr(start, nl == std::string_view::npos ? nl : nl - start));
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  return out;
}

}  // namespace

std::string Quote(std::string_view s) { return util::QuoteInput(s, std::string_view::npos); }

std::string KindName(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Scalar:
      return absl::StrCat("the scalar ", Quote(n.Scalar()));
    case YAML::NodeType::Sequence:
      return "a sequence";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

std::string Join(std::string_view path, std::string_view key) {
  return path.empty() ? std::string(key) : absl::StrCat(util::AsAbsl(path), ".", util::AsAbsl(key));
}

std::string Index(std::string_view path, size_t i) { return absl::StrFormat("%s[%d]", path, i); }

std::string_view Message(const absl::Status& s) {
  return std::string_view(s.message().data(), s.message().size());
}

Position PositionOf(const YAML::Mark& mark) { return {mark.line + 1, mark.column + 1}; }

Position PositionInScalar(std::string_view text, const YAML::Node& node, std::string_view value,
                          int line, int column) {
  const YAML::Mark m = node.Mark();
  const Position fallback = PositionOf(m);
  if (m.pos < 0 || static_cast<size_t>(m.pos) >= text.size()) return fallback;
  const char c = text[m.pos];
  if (c == '|') {
    std::vector<std::string_view> lines = SplitLines(value);
    if (line > static_cast<int>(lines.size())) return fallback;
    const std::vector<std::string_view> file_lines = SplitLines(text);
    const size_t file_line = m.line + line;  // 0-based: content starts after the `|` line.
    if (file_line >= file_lines.size()) return fallback;
    std::string_view in_file = file_lines[file_line];
    if (!in_file.empty() && in_file.back() == '\r') in_file.remove_suffix(1);
    const std::string_view want = lines[line - 1];
    if (!in_file.ends_with(want)) return fallback;
    const std::string_view indent = in_file.substr(0, in_file.size() - want.size());
    if (indent.find_first_not_of(' ') != std::string_view::npos) return fallback;
    return {static_cast<int>(file_line) + 1, static_cast<int>(indent.size()) + column};
  }
  if (line != 1 || value.find('\n') != std::string_view::npos) return fallback;
  const size_t start = m.pos + (c == '"' || c == '\'' ? 1 : 0);
  if (text.substr(start, value.size()) != value) return fallback;
  return {m.line + 1, m.column + 1 + static_cast<int>(start - m.pos) + column - 1};
}

std::string ExpandEnv(std::string_view s) {
  const auto special = [](char c) {
    return std::string_view("*#$@!?-").find(c) != std::string_view::npos || IsDigit(c);
  };
  const auto alnum = [](char c) {
    return c == '_' || IsDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  };
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] != '$' || i + 1 == s.size()) {
      out.push_back(s[i++]);
      continue;
    }
    const std::string_view rest = s.substr(i + 1);
    std::string_view name;
    size_t width = 0;  // Bytes after the '$' consumed.
    if (rest[0] == '{') {
      if (rest.size() > 2 && special(rest[1]) && rest[2] == '}') {
        name = rest.substr(1, 1);
        width = 3;
      } else if (const size_t close = rest.find('}'); close == std::string_view::npos) {
        width = 1;  // Bad syntax: drop "${".
      } else {
        name = rest.substr(1, close - 1);
        width = close + 1;  // "${}" has an empty name and is dropped.
      }
    } else if (special(rest[0])) {
      name = rest.substr(0, 1);
      width = 1;
    } else {
      while (width < rest.size() && alnum(rest[width])) ++width;
      name = rest.substr(0, width);
      if (name.empty()) out.push_back('$');  // Not followed by a name: kept.
    }
    if (name == "$") {
      out.push_back('$');
    } else if (!name.empty()) {
      if (const char* v = std::getenv(std::string(name).c_str())) out.append(v);
    }
    i += 1 + width;
  }
  return out;
}

absl::StatusOr<YAML::Node> Reader::Load(std::string_view text, std::string_view prefix) const {
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return ErrorAt(e.mark, "", absl::StrCat(util::AsAbsl(prefix), e.msg));
  }
}

absl::Status Reader::ErrorAt(const YAML::Mark& mark, std::string_view path,
                             std::string_view problem) const {
  if (mark.is_null()) {
    return absl::InvalidArgumentError(
        path.empty() ? absl::StrFormat("%s: %s", filename_, problem)
                     : absl::StrFormat("%s: %s: %s", filename_, path, problem));
  }
  return ErrorAt(PositionOf(mark), path, problem);
}

absl::Status Reader::ErrorAt(Position pos, std::string_view path, std::string_view problem) const {
  const std::string where = absl::StrFormat("%s:%d:%d", filename_, pos.line, pos.column);
  return absl::InvalidArgumentError(path.empty()
                                        ? absl::StrFormat("%s: %s", where, problem)
                                        : absl::StrFormat("%s: %s: %s", where, path, problem));
}

// Appends the pairs of mapping `node`, then those its `<<` keys merge in that it lacks.
absl::Status Reader::CollectFields(const YAML::Node& node, std::string_view path, int depth,
                                   std::vector<Field>* out) const {
  if (!node.IsMap()) {
    return Error(node, path, absl::StrCat("expected a mapping, got ", KindName(node)));
  }
  // Aliases cannot form cycles in a YAML tree, but a merge chain is bounded anyway.
  if (depth > 64) return Error(node, path, "merge keys (<<) nest too deeply");
  std::vector<YAML::Node> merges;
  const size_t first = out->size();
  for (auto it = node.begin(); it != node.end(); ++it) {
    // Copies: the iterator's pair is a temporary.
    const YAML::Node key = it->first;
    const YAML::Node value = it->second;
    if (!key.IsScalar()) {
      return Error(key, path, absl::StrCat("expected a string key, got ", KindName(key)));
    }
    if (key.Scalar() == "<<" && key.Tag() != "!") {  // Plain <<, not the quoted string.
      if (value.IsMap()) {
        merges.push_back(value);
      } else if (value.IsSequence()) {
        for (const YAML::Node& m : value) merges.push_back(m);
      } else {
        return Error(value, path, "a merge key (<<) needs a mapping or a sequence of mappings");
      }
      continue;
    }
    for (size_t i = first; i < out->size(); ++i) {
      if ((*out)[i].key == key.Scalar()) {
        const YAML::Mark first_mark = (*out)[i].key_node.Mark();
        return Error(
            key, path,
            absl::StrFormat("duplicate key %s (first at line %d, column %d)", Quote(key.Scalar()),
                            first_mark.line + 1, first_mark.column + 1));
      }
    }
    out->push_back(Field{key.Scalar(), key, value});
  }
  for (const YAML::Node& m : merges) {
    std::vector<Field> merged;
    EMBER_RETURN_IF_ERROR(CollectFields(m, path, depth + 1, &merged));
    for (Field& f : merged) {
      bool present = false;
      for (size_t i = first; i < out->size() && !present; ++i) present = (*out)[i].key == f.key;
      if (!present) out->push_back(std::move(f));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Field>> Reader::Fields(const YAML::Node& node,
                                                  std::string_view path) const {
  std::vector<Field> fields;
  if (node.IsNull()) return fields;
  EMBER_RETURN_IF_ERROR(CollectFields(node, path, 0, &fields));
  return fields;
}

absl::StatusOr<std::vector<YAML::Node>> Reader::Items(const YAML::Node& node, std::string_view path,
                                                      std::string_view null_item) const {
  std::vector<YAML::Node> items;
  if (node.IsNull()) return items;
  if (!node.IsSequence()) {
    return Error(node, path, absl::StrCat("expected a sequence, got ", KindName(node)));
  }
  for (const YAML::Node& n : node) {
    // yaml-cpp marks a null with the position of the token after it: point at the sequence.
    if (n.IsNull() && !null_item.empty()) return Error(node, Index(path, items.size()), null_item);
    items.push_back(n);
  }
  return items;
}

absl::Status Reader::UnknownField(const Field& f, std::string_view path, Names known,
                                  Names unsupported, Names more_unsupported) const {
  const std::string_view key = f.key;
  const bool sd = key.size() > 11 && key.substr(key.size() - 11) == "_sd_configs";
  if (sd || Contains(unsupported, key) || Contains(more_unsupported, key)) {
    return Error(f.key_node, path, absl::StrCat(util::AsAbsl(key), " is not supported by Ember"));
  }
  std::string problem = absl::StrCat("unknown field ", Quote(key));
  std::string_view best;
  size_t best_distance = 3;  // Suggest only close misspellings.
  for (const std::string_view k : known) {
    const size_t d = EditDistance(key, k);
    if (d < best_distance) {
      best = k;
      best_distance = d;
    }
  }
  if (!best.empty()) absl::StrAppend(&problem, " (did you mean ", Quote(best), "?)");
  return Error(f.key_node, path, problem);
}

// Scalars. A null is the zero value, as yaml.v2 decodes it into a Go field.

absl::StatusOr<std::string> Reader::String(const YAML::Node& n, std::string_view path) const {
  if (n.IsNull()) return std::string();
  if (!n.IsScalar()) return Error(n, path, absl::StrCat("expected a string, got ", KindName(n)));
  return n.Scalar();
}

absl::StatusOr<bool> Reader::Bool(const YAML::Node& n, std::string_view path) const {
  if (n.IsNull()) return false;
  if (n.IsScalar()) {
    // YAML 1.1's booleans, as yaml.v2 resolves them.
    static constexpr std::string_view kTrue[] = {"true", "True", "TRUE", "yes", "Yes", "YES",
                                                 "on",   "On",   "ON",   "y",   "Y"};
    static constexpr std::string_view kFalse[] = {"false", "False", "FALSE", "no", "No", "NO",
                                                  "off",   "Off",   "OFF",   "n",  "N"};
    if (Contains(kTrue, n.Scalar())) return true;
    if (Contains(kFalse, n.Scalar())) return false;
  }
  return Error(n, path, absl::StrCat("expected true or false, got ", KindName(n)));
}

absl::StatusOr<uint64_t> Reader::Uint(const YAML::Node& n, std::string_view path) const {
  if (n.IsNull()) return 0;
  if (n.IsScalar() && !n.Scalar().empty() && n.Scalar().size() <= 19 &&
      std::all_of(n.Scalar().begin(), n.Scalar().end(), IsDigit)) {
    return std::stoull(n.Scalar());
  }
  return Error(n, path, absl::StrCat("expected a non-negative integer, got ", KindName(n)));
}

absl::StatusOr<int64_t> Reader::Duration(const YAML::Node& n, std::string_view path) const {
  if (n.IsNull()) return 0;
  if (!n.IsScalar()) {
    return Error(n, path, absl::StrCat("expected a duration such as \"15s\", got ", KindName(n)));
  }
  absl::StatusOr<int64_t> ms = util::ParseDuration(n.Scalar());
  if (ms.ok()) return ms;
  std::string problem(ms.status().message());
  const std::string& s = n.Scalar();
  if (!s.empty() &&
      std::all_of(s.begin(), s.end(), [](char c) { return IsDigit(c) || c == '.'; })) {
    absl::StrAppend(&problem, " (a duration needs a unit, e.g. \"", s, "s\")");
  }
  return Error(n, path, problem);
}

absl::StatusOr<std::vector<std::string>> Reader::Strings(const YAML::Node& n,
                                                         std::string_view path) const {
  EMBER_ASSIGN_OR_RETURN(std::vector<YAML::Node> items, Items(n, path));
  std::vector<std::string> out;
  for (size_t i = 0; i < items.size(); ++i) {
    EMBER_ASSIGN_OR_RETURN(std::string s, String(items[i], Index(path, i)));
    out.push_back(std::move(s));
  }
  return out;
}

absl::StatusOr<Labels> Reader::LabelSet(const YAML::Node& n, std::string_view path,
                                        bool expand_env) const {
  EMBER_ASSIGN_OR_RETURN(std::vector<Field> fields, Fields(n, path));
  Labels labels;
  for (const Field& f : fields) {
    if (f.key.empty() || !util::IsValidUtf8(f.key)) {
      return Error(f.key_node, path,
                   absl::StrCat(Quote(f.key), " is not a valid label name",
                                f.key.empty() ? " (empty)" : " (not UTF-8)"));
    }
    const std::string vpath = Join(path, f.key);
    EMBER_ASSIGN_OR_RETURN(std::string value, String(f.value, vpath));
    if (expand_env) value = ExpandEnv(value);
    if (!util::IsValidUtf8(value)) {
      return Error(f.value, vpath,
                   absl::StrCat(Quote(value), " is not a valid label value (not UTF-8)"));
    }
    labels.push_back(Label{f.key, std::move(value)});
  }
  std::sort(labels.begin(), labels.end());
  return labels;
}

}  // namespace ember::yaml
