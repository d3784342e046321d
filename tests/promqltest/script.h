// Reads a PromQL test script (Prometheus's promqltest format) into commands: `clear`, `load` /
// `load_with_nhcb` blocks and `eval` blocks with their expectations. The format is
// /work/shared/conformance/README.md, sections 1 to 4; where it is silent, Prometheus's
// promql/promqltest/test.go decides. Running the commands is the runner's job (loader.h stores
// the data). Parsing is a pure function of the text; the results are plain values.
#ifndef EMBER_TESTS_PROMQLTEST_SCRIPT_H_
#define EMBER_TESTS_PROMQLTEST_SCRIPT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "ember/labels.h"
#include "tests/promqltest/notation.h"

namespace ember::promqltest {

// A series line of a load block or of an expected result.
struct SeriesLine {
  int line = 0;  // 1-based line in the file.
  Labels labels;
  std::vector<SequenceValue> values;
  // Start-timestamp offsets from a preceding `name{...}@st` line (or a standalone `@st` default
  // line), one per position of `values`; empty when there are none. nullopt: no start time.
  std::vector<std::optional<int64_t>> start_offsets_ms;

  bool has_histograms() const;
};

struct ClearCommand {
  int line = 0;
};

struct LoadCommand {
  int line = 0;
  int64_t interval_ms = 0;
  bool with_nhcb = false;  // load_with_nhcb: the runner also derives custom-bucket histograms.
  // In order of first appearance; a later line with the same label set replaced the earlier
  // one in place (README section 3).
  std::vector<SeriesLine> series;
  // A standalone `@st ...` line: default start offsets for lines without their own, applied
  // cyclically by position, as promqltest does.
  std::vector<std::optional<int64_t>> default_start_offsets_ms;

  // True if any value is a native histogram ({{...}}); Ember stores floats only.
  bool has_histograms() const;
  // True if any line carries start timestamps (`@st`), which Ember does not store.
  bool has_start_timestamps() const;
  // Samples the block stores (float and histogram positions that are not `_`).
  int64_t num_samples() const;
};

enum class ExpectKind { kFail, kWarn, kInfo, kNoWarn, kNoInfo, kOrdered };

// One `expect ...` line, or its legacy equivalent (eval_fail, eval_warn, eval_info,
// eval_ordered, expected_fail_message, expected_fail_regexp).
struct Expectation {
  enum class Match { kAny, kMessage, kRegex };
  int line = 0;
  ExpectKind kind = ExpectKind::kFail;
  Match match = Match::kAny;
  std::string text;     // kMessage: the exact text (trimmed); kRegex: an RE2 pattern.
  bool legacy = false;  // From an eval_* header or an expected_fail_* line.
};

// `expect range vector from A to B step S`: the instant query runs at B and returns a matrix
// whose values are laid out from A in steps of S.
struct RangeLayout {
  int line = 0;
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  int64_t step_ms = 0;
};

struct EvalCommand {
  int line = 0;       // The header line, 1-based: the key of promql-eval-index.tsv.
  std::string query;  // Verbatim, as written after the time (instant) or the step (range).
  bool is_range = false;
  int64_t start_ms = 0;  // Instant: the `at` time.
  int64_t end_ms = 0;    // Instant: equal to start_ms.
  int64_t step_ms = 0;   // Instant: 0.

  std::vector<Expectation> expectations;
  std::optional<RangeLayout> expect_range_vector;
  std::optional<std::string> expect_string;
  std::optional<double> expect_scalar;  // A bare number line.
  int expect_scalar_line = 0;
  // Expected series, in the order written (the order matters for `expect ordered`).
  std::vector<SeriesLine> expect_series;

  // The time an instant eval runs at: the `at` time, or B of `expect range vector`.
  int64_t eval_time_ms() const {
    return expect_range_vector ? expect_range_vector->end_ms : start_ms;
  }
  bool expects_failure() const { return Has(ExpectKind::kFail); }
  bool ordered() const { return Has(ExpectKind::kOrdered); }
  // True if any expected value is a native histogram, which the runner cannot check yet.
  bool has_histograms() const;
  bool Has(ExpectKind kind) const;
  // The fail expectation, or null.
  const Expectation* fail() const;
};

using Command = std::variant<ClearCommand, LoadCommand, EvalCommand>;

struct Script {
  std::string file_name;
  std::vector<Command> commands;

  // Counts for reports and the corpus test.
  int num_evals() const;
  int num_instant_evals() const;
  int num_range_evals() const;
  int num_loads() const;  // Including load_with_nhcb.
  int num_nhcb_loads() const;
  int num_clears() const;
};

// Parses a whole script. Errors are InvalidArgument and read `<file_name>:<line>: <what>`.
absl::StatusOr<Script> ParseScript(std::string_view text, std::string_view file_name);

// Reads and parses a file; NotFound if it cannot be read. The Script's file_name is the base
// name, as in promql-eval-index.tsv.
absl::StatusOr<Script> ParseScriptFile(const std::string& path);

}  // namespace ember::promqltest

#endif  // EMBER_TESTS_PROMQLTEST_SCRIPT_H_
