// PromQL conformance: runs Prometheus's own test scripts (${EMBER_SHARED_DIR}/conformance/promql)
// and Ember's (tests/promql/*.test) against ember::query::Engine with the settings of the
// reference run (README section 5), prints a summary per file and in total, and fails if any
// eval on tests/promqltest/expected_pass.txt does not pass: the bar only rises.
//
// Environment:
//   EMBER_PROMQL_WRITE_EXPECTED=1  rewrite expected_pass.txt (in the source tree) with the
//                                  list plus every eval that passes now
//   EMBER_PROMQL_FILES=a.test,b.test  run only these files (the list is checked for them only)
//   EMBER_PROMQL_VERBOSE=1         print every failing eval, not only listed ones
//   EMBER_PROMQL_SKIP_TAGS=nh,...  index tags to skip instead of RunOptions' default
//                                  (nh,nhcb,start_ts: data Ember does not store); "" runs all
// Every eval's outcome also goes to ${build}/promql_conformance_report.txt.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "query/engine.h"
#include "tests/promqltest/index.h"
#include "tests/promqltest/runner.h"

namespace ember::promqltest {
namespace {

namespace fs = std::filesystem;

// This file's directory in the source tree (tests/promqltest): __FILE__ is absolute under CMake.
fs::path SourceDir() { return fs::path(__FILE__).parent_path(); }
fs::path ExpectedPassPath() { return SourceDir() / "expected_pass.txt"; }
fs::path EmberScriptsDir() { return SourceDir().parent_path() / "promql"; }
fs::path UpstreamDir() { return fs::path(EMBER_SHARED_DIR) / "conformance" / "promql"; }
fs::path IndexPath() {
  return fs::path(EMBER_SHARED_DIR) / "conformance" / "promql-eval-index.tsv";
}

constexpr char kExpectedHeader[] =
    "# PromQL evals that must pass (tests/promqltest/conformance_test.cc fails if one does not):\n"
    "# `file:line` of the eval header, sorted by file, then line. Files are the scripts in\n"
    "# shared/conformance/promql/ and tests/promql/ (base names; they must not clash).\n"
    "# Regenerate after making more evals pass; this adds every eval that passes now and keeps\n"
    "# the entries already here, so the bar only rises (drop an entry by hand, with a reason):\n"
    "#   EMBER_PROMQL_WRITE_EXPECTED=1 <build>/conformance_test\n";

bool EnvSet(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' && std::string_view(v) != "0";
}

// The reference run's engine settings (README section 5).
query::EngineOptions ReferenceEngineOptions() {
  query::EngineOptions o;
  o.lookback_delta_ms = 5 * 60 * 1000;
  o.timeout_ms = 100 * 1000;
  o.max_samples = 10'000;
  o.default_subquery_step_ms = 60 * 1000;
  return o;
}

class EngineAdapter : public QueryEngine {
 public:
  explicit EngineAdapter(Db* db) : engine_(db, ReferenceEngineOptions()) {}
  absl::StatusOr<query::QueryResult> InstantQuery(std::string_view query, int64_t t_ms) override {
    return engine_.InstantQuery(query, t_ms);
  }
  absl::StatusOr<query::QueryResult> RangeQuery(std::string_view query, int64_t start_ms,
                                                int64_t end_ms, int64_t step_ms) override {
    return engine_.RangeQuery(query, start_ms, end_ms, step_ms);
  }

 private:
  query::Engine engine_;
};

using Key = std::pair<std::string, int>;  // (file, line)

std::string KeyString(const Key& k) { return k.first + ":" + std::to_string(k.second); }

// Reads expected_pass.txt; a missing file is an empty list.
std::set<Key> ReadExpected(const fs::path& path, std::vector<std::string>* errors) {
  std::set<Key> keys;
  std::ifstream in(path);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    std::string_view s = line;
    while (!s.empty() && (s.back() == '\r' || s.back() == ' ')) s.remove_suffix(1);
    if (s.empty() || s.front() == '#') continue;
    const size_t colon = s.rfind(':');
    int number = 0;
    if (colon == std::string_view::npos ||
        !absl::SimpleAtoi(absl::string_view(s.data() + colon + 1, s.size() - colon - 1), &number)) {
      errors->push_back(path.string() + ":" + std::to_string(n) + ": want file:line, got \"" +
                        line + "\"");
      continue;
    }
    keys.insert({std::string(s.substr(0, colon)), number});
  }
  return keys;
}

void WriteExpected(const fs::path& path, const std::set<Key>& keys) {
  std::ofstream out(path, std::ios::trunc);
  out << kExpectedHeader;
  for (const Key& k : keys) out << KeyString(k) << "\n";
}

std::vector<fs::path> ScriptsIn(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    if (e.is_regular_file() && e.path().extension() == ".test") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(PromqlConformanceTest, ExpectedPassListHolds) {
  const bool have_upstream = fs::is_directory(UpstreamDir());
  std::vector<fs::path> files;
  if (have_upstream) files = ScriptsIn(UpstreamDir());
  std::set<std::string> names;
  for (const fs::path& f : files) names.insert(f.filename().string());
  for (const fs::path& f : ScriptsIn(EmberScriptsDir())) {
    EXPECT_FALSE(names.count(f.filename().string()))
        << f << " has the name of an upstream script; the expected-pass list keys by base name";
    files.push_back(f);
  }
  if (const char* only = std::getenv("EMBER_PROMQL_FILES"); only != nullptr && *only != '\0') {
    const std::vector<std::string> wanted = absl::StrSplit(only, ',', absl::SkipEmpty());
    std::erase_if(files, [&](const fs::path& f) {
      return std::find(wanted.begin(), wanted.end(), f.filename().string()) == wanted.end();
    });
  }

  std::optional<EvalIndex> index;
  if (have_upstream) {
    absl::StatusOr<EvalIndex> loaded = EvalIndex::Load(IndexPath().string());
    if (loaded.ok()) {
      index = std::move(*loaded);
    } else {
      std::cout << "promql-eval-index.tsv not used (" << loaded.status() << ")\n";
    }
  }
  RunOptions options;
  options.index = index ? &*index : nullptr;
  const char* skip_tags = std::getenv("EMBER_PROMQL_SKIP_TAGS");
  if (skip_tags != nullptr) {
    options.skip_tags = absl::StrSplit(skip_tags, ',', absl::SkipEmpty());
  }
  const EngineFactory factory = [](Db* db) { return std::make_unique<EngineAdapter>(db); };

  std::vector<FileReport> reports;
  std::map<Key, const EvalResult*> results;
  for (const fs::path& f : files) {
    reports.push_back(RunScriptFile(f.string(), factory, options));
  }
  std::set<std::string> files_run;
  for (const FileReport& r : reports) {
    files_run.insert(r.file);
    for (const EvalResult& e : r.evals) results[{e.file, e.line}] = &e;
  }

  // Every eval's outcome, for whoever works through the failures.
  const fs::path report_path = fs::path(EMBER_BINARY_DIR) / "promql_conformance_report.txt";
  {
    std::ofstream out(report_path, std::ios::trunc);
    for (const FileReport& r : reports) {
      if (!r.error.empty()) out << r.file << " ERROR " << r.error << "\n";
      for (const EvalResult& e : r.evals) out << e.ToString() << "\n";
    }
    for (const FileReport& r : reports) out << r.Summary() << "\n";
    out << TotalLine(reports) << "\n";
  }

  // The list.
  std::vector<std::string> list_errors;
  const std::set<Key> expected = ReadExpected(ExpectedPassPath(), &list_errors);
  for (const std::string& e : list_errors) ADD_FAILURE() << e;
  std::vector<std::string> regressions;
  int not_run = 0;
  for (const Key& k : expected) {
    if (!files_run.count(k.first)) {
      ++not_run;  // Its file was filtered out or is absent.
      continue;
    }
    auto it = results.find(k);
    if (it == results.end()) {
      regressions.push_back(KeyString(k) + ": listed, but there is no eval at that line");
    } else if (it->second->status != EvalStatus::kPass) {
      regressions.push_back(it->second->ToString());
    }
  }
  std::set<Key> passing;
  for (const auto& [k, e] : results) {
    if (e->status == EvalStatus::kPass) passing.insert(k);
  }
  int new_passes = 0;
  for (const Key& k : passing) new_passes += expected.count(k) ? 0 : 1;

  // The summary.
  const bool verbose = EnvSet("EMBER_PROMQL_VERBOSE");
  if (verbose) {
    for (const FileReport& r : reports) {
      for (const EvalResult& e : r.evals) {
        if (e.status == EvalStatus::kFail) std::cout << e.ToString() << "\n";
      }
    }
  }
  std::cout << "\n";
  for (const FileReport& r : reports) std::cout << r.Summary() << "\n";
  if (index) {
    int core = 0, core_pass = 0, core_values = 0;
    for (const auto& [k, entry] : index->entries()) {
      if (entry.tier != Tier::kCore || !files_run.count(k.first)) continue;
      ++core;
      auto it = results.find(k);
      if (it == results.end()) continue;
      core_pass += it->second->status == EvalStatus::kPass;
      core_values += it->second->status != EvalStatus::kSkip && it->second->values_ok;
    }
    std::cout << "core subset: " << core_pass << " of " << core << " pass (" << core_values
              << " on values alone: README section 8 stage 3)\n";
  }
  if (!have_upstream) {
    std::cout << "upstream scripts not run: " << UpstreamDir() << " is absent\n";
  }
  std::cout << "expected-pass list: " << expected.size() << " evals, " << regressions.size()
            << " no longer pass, " << not_run << " not run; " << new_passes
            << " passing evals are not on it"
            << (new_passes > 0 ? " (EMBER_PROMQL_WRITE_EXPECTED=1 adds them)" : "") << "\n";
  std::cout << "every eval: " << report_path.string() << "\n";
  std::cout << TotalLine(reports) << std::endl;

  if (EnvSet("EMBER_PROMQL_WRITE_EXPECTED") && skip_tags != nullptr) {
    ADD_FAILURE() << "not writing " << ExpectedPassPath()
                  << ": the list holds evals that pass with the default skipped tags; unset "
                     "EMBER_PROMQL_SKIP_TAGS";
  } else if (EnvSet("EMBER_PROMQL_WRITE_EXPECTED")) {
    std::set<Key> written = expected;  // Keep every entry: regressions stay listed (and fail).
    written.insert(passing.begin(), passing.end());
    WriteExpected(ExpectedPassPath(), written);
    std::cout << "wrote " << written.size() << " evals to " << ExpectedPassPath().string() << "\n";
  }

  for (const std::string& r : regressions) ADD_FAILURE() << "listed eval fails: " << r;
  if (!have_upstream && !HasFailure()) {
    GTEST_SKIP() << UpstreamDir() << " is absent: ran only Ember's scripts in "
                 << EmberScriptsDir();
  }
}

}  // namespace
}  // namespace ember::promqltest
