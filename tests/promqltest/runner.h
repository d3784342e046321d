// Runs PromQL test scripts (Prometheus's promqltest format, parsed by script.h) against a query
// engine and checks every eval the way Prometheus's reference runner does:
// /work/shared/conformance/README.md, section 4.
//
// What is checked, per eval (README section 4):
//   * values: result type, label sets (exact, `__name__` included; an expected label with an
//     empty value counts as absent, as in Ember's storage), values with the relative
//     tolerance of section 4.2 (stale marker only equals a stale marker, NaN equals NaN),
//     instant vectors as sets (as sequences under `expect ordered`), range results and
//     `expect range vector` results as matrices laid out from their start in steps, scalars and
//     strings; `expect fail` means "must return an error";
//   * the range-mode cross-check of section 4.3 item 2 (instant evals re-run as a range query
//     from t-1m to t+1m, the points at t compared with the same expectations), and the rule that
//     a range result is sorted by label set (section 4.4);
//   * error texts: `expect fail msg:` (exact, trimmed) and `regex:` (RE2, unanchored);
//   * annotations (section 4.6) against QueryResult::annotations: `warn`/`info` lines each match
//     a note and, once present, every note of that kind must be matched; `no_warn`/`no_info`
//     want none; legacy `eval_warn`/`eval_info` want at least one.
//   * the step-invariance re-runs of section 4.3 item 1: an instant eval's query with every
//     selector pinned to `@ <eval time>` (parsed and printed back with query/parser and
//     query::ToString) must give the same result at -10t, 0, t/5, t and 10t, cross-check
//     included; annotations are not checked there (their positions refer to the printed text).
// Not done: native histograms (Ember stores floats only; such evals are skipped).
//
// Pass rule: an eval passes when all five parts hold (values, cross-check, @-pinned re-runs,
// error text, annotations); RunOptions can switch the last four off. EvalResult keeps each
// part, so a report can also count "passes on values alone": the core-mode rule of README
// section 8 stage 3 (expect fail = must error; messages and annotations ignored), by which the
// issue's "825 core evals" target is measured.
//
// The runner takes the engine as a QueryEngine (below), so its comparison logic is tested with
// a fake (runner_*_test.cc) and this library does not need query/engine.cc to link (only the
// parser and AST printer of ember_query); the adapter over ember::query::Engine lives in
// conformance_test.cc.
//
// Thread-compatible: run one script per thread.
#ifndef EMBER_TESTS_PROMQLTEST_RUNNER_H_
#define EMBER_TESTS_PROMQLTEST_RUNNER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "ember/db.h"
#include "query/engine.h"
#include "query/value.h"
#include "tests/promqltest/index.h"
#include "tests/promqltest/script.h"

namespace ember::promqltest {

// The engine under test, as the runner sees it: query::Engine's two calls.
class QueryEngine {
 public:
  virtual ~QueryEngine() = default;
  virtual absl::StatusOr<query::QueryResult> InstantQuery(std::string_view query, int64_t t_ms) = 0;
  virtual absl::StatusOr<query::QueryResult> RangeQuery(std::string_view query, int64_t start_ms,
                                                        int64_t end_ms, int64_t step_ms) = 0;
};

// Makes the engine over a fresh Db: at the start of a script and after every `clear`. `db`
// outlives the engine.
using EngineFactory = std::function<std::unique_ptr<QueryEngine>(Db* db)>;

struct RunOptions {
  // Tiers and tags of the upstream evals (promql-eval-index.tsv); may be null. Evals of files
  // it does not list are run untagged.
  const EvalIndex* index = nullptr;
  // Skip evals of the "later" tier (needs `index`).
  bool core_only = false;
  // Skip evals carrying any of these index tags. The defaults need data Ember does not store:
  // native histograms (also custom-bucket ones) and start timestamps.
  std::vector<std::string> skip_tags = {"nh", "nhcb", "start_ts"};

  // Which parts of an eval decide pass/fail besides its values (see the file comment).
  bool check_cross_range = true;
  bool check_at_pinning = true;
  bool check_error_text = true;
  bool check_annotations = true;

  // Where each script's Db directories are made; empty: std::filesystem::temp_directory_path().
  std::string temp_root;
};

enum class EvalStatus { kPass, kFail, kSkip };
std::string_view EvalStatusName(EvalStatus s);  // "PASS", "FAIL", "SKIP"

struct EvalResult {
  std::string file;  // Base name, as in the index and the expected-pass list.
  int line = 0;      // The eval header's line.
  std::string query;
  bool is_range = false;
  EvalStatus status = EvalStatus::kSkip;
  // The parts (README section 4); each is true when it held or was not checked. For a skipped
  // eval they are all false.
  bool values_ok = false;  // The query as written (core mode: this alone).
  bool cross_check_ok = false;
  bool pinned_ok = false;  // The @-pinned re-runs.
  bool error_text_ok = false;
  bool annotations_ok = false;
  // Fail: every part that failed, each with the first difference found; skip: the reason.
  std::string message;

  bool passed() const {
    return values_ok && cross_check_ok && pinned_ok && error_text_ok && annotations_ok;
  }
  std::string key() const;  // "file:line", the expected-pass list's form.
  // "file:line PASS" or "file:line FAIL eval instant at ... \n  <message>".
  std::string ToString() const;
};

struct FileReport {
  std::string file;
  // Set when the script could not be run at all (unreadable, syntax error, no Db); then
  // `evals` is empty and the file counts as one failure in Summary().
  std::string error;
  std::vector<EvalResult> evals;

  int passed() const;
  int failed() const;  // Including the file-level error, if any.
  int skipped() const;
  int values_passed() const;  // Evals whose values hold (core mode), pass or not.
  // "file: P passed, F failed, S skipped" plus, when it differs from P, "(V pass on values)".
  std::string Summary() const;
};

// Checks one eval against `engine` (no storage involved: `engine` answers from whatever it
// has). `file` names the script in the result. Never skips: skipping is RunScript's decision.
EvalResult CheckEval(const EvalCommand& eval, std::string_view file, QueryEngine& engine,
                     const RunOptions& options = {});

// Runs `script` from empty storage: a fresh Db in a new temporary directory at the start and
// at every `clear` (LoadInto stores each load block), an engine from `make_engine` over each,
// every eval through CheckEval unless skipped. Skipped: evals that expect native histograms,
// evals whose index entry is of a skipped tier or tag, and, for evals the index does not list,
// evals whose query names a series that was loaded with histogram values or start timestamps.
// A load that fails fails every eval up to the next `clear`. The directories are removed.
FileReport RunScript(const Script& script, const EngineFactory& make_engine,
                     const RunOptions& options = {});

// ParseScriptFile() and RunScript(); a read or syntax error becomes FileReport::error.
FileReport RunScriptFile(const std::string& path, const EngineFactory& make_engine,
                         const RunOptions& options = {});

// README section 4.3 item 1: `query` with `@ t_ms` on every selector and subquery outside a
// subquery (replacing `@ start()`/`@ end()`), printed back; nullopt when the query does not
// parse or calls a function whose result depends on the evaluation time (time(), hour(),
// timestamp(), predict_linear(), step() ...), which skips the pass.
std::optional<std::string> PinToEvalTime(std::string_view query, int64_t t_ms);
// The times the pinned query runs at: -10t, 0, t/5, t, 10t; -1s, 0, 1s when t = 0.
std::vector<int64_t> PinnedEvalTimes(int64_t t_ms);

// `conformance: N passed, M failed, K skipped` (`, K skipped` only when K > 0).
std::string TotalLine(const std::vector<FileReport>& reports);

// README section 4.2: stale marker equals only a stale marker, NaN equals NaN, bit-equal
// values are equal, against 0 (or tiny sums) the difference must be below 1e-6 * DBL_MIN,
// otherwise |a-b| / min(|a|+|b|, DBL_MAX) < 1e-6.
bool AlmostEqual(double expected, double got);

// Shortest round-trip text of a value, "stale" for the stale marker, as messages print it.
std::string FormatValue(double v);

// README section 4.4: label by label, name then value by bytes, a prefix first.
bool LabelsLess(const Labels& a, const Labels& b);

}  // namespace ember::promqltest

#endif  // EMBER_TESTS_PROMQLTEST_RUNNER_H_
