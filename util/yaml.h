// The one door to yaml-cpp, shared by the config loader (server/config*.cc, prometheus.yml) and
// the rule file parser (rules/rule_file.cc): loading, positions (in the file and inside a
// scalar), errors of the form `<file>:<line>:<column>: <key path>: <problem>`, Prometheus
// durations, typed scalars and strict mappings as Go's yaml.v2 UnmarshalStrict reads them
// (duplicate keys are errors, `<<` merge keys work, an explicit null is the zero value). Rule
// files word their mapping checks as Prometheus's rule files (yaml.v3) do, so rule_file.cc walks
// their mappings itself. yaml-cpp is included nowhere else. Stateless apart from a Reader's file
// name; thread-safe.
#ifndef EMBER_UTIL_YAML_H_
#define EMBER_UTIL_YAML_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ember/labels.h"
#include "yaml-cpp/yaml.h"

namespace ember::yaml {

using Names = std::span<const std::string_view>;

// One key: value pair of a mapping.
struct Field {
  std::string key;
  YAML::Node key_node;
  YAML::Node value;
};

// `s` in double quotes, anything unprintable escaped, for messages.
std::string Quote(std::string_view s);
// Key paths: Join("global", "scrape_interval"), Index("scrape_configs", 2).
std::string Join(std::string_view path, std::string_view key);
std::string Index(std::string_view path, size_t i);
// "a mapping", "the scalar \"x\"", ... for "expected ..., got <kind>".
std::string KindName(const YAML::Node& n);
// The message of `s` as a std::string_view (Debian's absl::string_view is a class of its own).
std::string_view Message(const absl::Status& s);

// Go's os.Expand with Prometheus's mapping (config.Load on external labels): $NAME and
// ${NAME} become the environment variable (empty when unset), $$ a '$'; "${}" and an unclosed
// "${" are dropped, and a '$' before anything else is kept.
std::string ExpandEnv(std::string_view s);

// A place in a file: 1-based line and byte column.
struct Position {
  int line = 0;
  int column = 0;
};
Position PositionOf(const YAML::Mark& mark);

// Where line `line`, byte column `column` (both 1-based) of `value`, the string of scalar `node`,
// is in `text`, the document `node` was loaded from: for an error found inside a value (a PromQL
// expression, a template) to point at the offending character. Exact for a plain or quoted
// one-line scalar that the file spells as is, and for literal blocks (`|`), whose lines are the
// file's lines minus the indentation; otherwise (escapes, folding) the scalar's own position.
Position PositionInScalar(std::string_view text, const YAML::Node& node, std::string_view value,
                          int line, int column);

// Durations: util/duration.h (util::ParseDuration, util::FormatDuration).

// Reads nodes of one file. Every error is InvalidArgument, positioned at the node it is about.
class Reader {
 public:
  explicit Reader(std::string_view filename) : filename_(filename) {}

  const std::string& filename() const { return filename_; }

  // The document in `text`; null when it is empty. A syntax error reads
  // `<file>:<line>:<column>: <prefix><yaml-cpp's message>`.
  absl::StatusOr<YAML::Node> Load(std::string_view text, std::string_view prefix) const;

  // `path` may be empty (the top level). A null mark gives just the file name.
  absl::Status ErrorAt(const YAML::Mark& mark, std::string_view path,
                       std::string_view problem) const;
  absl::Status ErrorAt(Position pos, std::string_view path, std::string_view problem) const;
  absl::Status Error(const YAML::Node& at, std::string_view path, std::string_view problem) const {
    return ErrorAt(at.Mark(), path, problem);
  }

  // The pairs of a mapping (null: none), merge keys resolved as yaml.v2 does: keys written in
  // the mapping win over merged ones, earlier merged mappings over later ones.
  absl::StatusOr<std::vector<Field>> Fields(const YAML::Node& node, std::string_view path) const;
  // The elements of a sequence (null: none). A null element is the error `null_item` unless
  // that is empty.
  absl::StatusOr<std::vector<YAML::Node>> Items(const YAML::Node& node, std::string_view path,
                                                std::string_view null_item = "") const;
  // The error for a key of the mapping at `path` that is not in `known`: "<key> is not supported
  // by Ember" for any *_sd_configs and the keys in `unsupported` or `more_unsupported`, else
  // `unknown field "<key>"`, with a suggestion when a known key is close.
  absl::Status UnknownField(const Field& f, std::string_view path, Names known, Names unsupported,
                            Names more_unsupported = {}) const;

  // Scalars; null is the zero value ("", false, 0).
  absl::StatusOr<std::string> String(const YAML::Node& n, std::string_view path) const;
  absl::StatusOr<bool> Bool(const YAML::Node& n, std::string_view path) const;  // YAML 1.1.
  absl::StatusOr<uint64_t> Uint(const YAML::Node& n, std::string_view path) const;
  // A Prometheus duration (util::ParseDuration), in milliseconds.
  absl::StatusOr<int64_t> Duration(const YAML::Node& n, std::string_view path) const;
  absl::StatusOr<std::vector<std::string>> Strings(const YAML::Node& n,
                                                   std::string_view path) const;
  // A {name: value} mapping, sorted by name. Names as Prometheus 3's UTF-8 validation: any
  // non-empty UTF-8; values UTF-8, after ExpandEnv() when `expand_env`.
  absl::StatusOr<Labels> LabelSet(const YAML::Node& n, std::string_view path,
                                  bool expand_env) const;

 private:
  absl::Status CollectFields(const YAML::Node& node, std::string_view path, int depth,
                             std::vector<Field>* out) const;

  std::string filename_;
};

}  // namespace ember::yaml

#endif  // EMBER_UTIL_YAML_H_
