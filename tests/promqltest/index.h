// promql-eval-index.tsv: one row per eval command of the conformance scripts, giving its tier
// (core or later) and feature tags (README section 7). The runner uses it to pick the evals of
// a milestone; the corpus test uses it to check that the parser finds every eval.
#ifndef EMBER_TESTS_PROMQLTEST_INDEX_H_
#define EMBER_TESTS_PROMQLTEST_INDEX_H_

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace ember::promqltest {

enum class Tier { kCore, kLater };

struct IndexEntry {
  std::string file;  // Base name, e.g. "functions.test".
  int line = 0;      // 1-based line of the eval header.
  bool is_range = false;
  Tier tier = Tier::kLater;
  std::vector<std::string> tags;  // Sorted as in the file; empty for "-".

  bool HasTag(std::string_view tag) const;
};

class EvalIndex {
 public:
  // Parses the TSV text (header `file line query_type tier tags`). InvalidArgument naming the
  // `source:line` of a malformed row or a duplicate (file, line).
  static absl::StatusOr<EvalIndex> Parse(std::string_view text, std::string_view source);
  // Reads and parses a file; NotFound if it cannot be read.
  static absl::StatusOr<EvalIndex> Load(const std::string& path);

  // The entry for the eval at `file`:`line`, or null.
  const IndexEntry* Find(std::string_view file, int line) const;
  // Entries in file order (file name, then line).
  const std::map<std::pair<std::string, int>, IndexEntry>& entries() const { return entries_; }
  // The distinct file names.
  std::vector<std::string> Files() const;
  int CountForFile(std::string_view file) const;
  size_t size() const { return entries_.size(); }

 private:
  std::map<std::pair<std::string, int>, IndexEntry> entries_;
};

}  // namespace ember::promqltest

#endif  // EMBER_TESTS_PROMQLTEST_INDEX_H_
