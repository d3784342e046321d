// Loading test scripts into a Db (see script_testing.h): the loader, and the whole conformance
// corpus parsed, checked against its index and loaded.
#include "tests/promqltest/script_testing.h"

namespace ember::promqltest {
namespace {

// ---------------------------------------------------------------------------------------------
// Loader.

// Every sample of the series with exactly `labels` (canonical).
absl::StatusOr<std::vector<Sample>> ReadSeries(Db* db, const Labels& labels) {
  std::vector<Matcher> matchers;
  for (const Label& l : labels) matchers.push_back({Matcher::Op::kEqual, l.name, l.value});
  absl::StatusOr<std::vector<Series>> got =
      db->Select(matchers, 0, std::numeric_limits<int64_t>::max());
  if (!got.ok()) return got.status();
  std::vector<Sample> out;
  for (Series& s : *got) {
    if (s.labels != labels) continue;
    while (s.samples->Next()) out.push_back(s.samples->At());
    if (!s.samples->status().ok()) return s.samples->status();
  }
  return out;
}

TEST(LoaderTest, StoresSamplesAtIntervalsWithStaleMarkers) {
  testutil::TempDir dir;
  absl::StatusOr<std::unique_ptr<Db>> db = Db::Open(ConformanceDbOptions(), dir.path());
  ASSERT_TRUE(db.ok()) << db.status();
  absl::StatusOr<Script> s = ParseScript(
      "load 5m\n  m{a=\"1\"} 1 _ stale 4 {{count:1}}\n\nload 1m\n  m{a=\"1\"} 1 2 3\n", "l.test");
  ASSERT_TRUE(s.ok()) << s.status();
  const auto loads = All<LoadCommand>(*s);
  LoadStats stats;
  ASSERT_TRUE(LoadInto(*loads[0], db->get(), &stats).ok());
  EXPECT_EQ(stats.samples, 3);
  EXPECT_EQ(stats.histogram_samples_skipped, 1);
  // The second block writes before the first block's newest sample and repeats t=0 with the
  // same value: both fine.
  absl::Status second = LoadInto(*loads[1], db->get(), &stats);
  ASSERT_TRUE(second.ok()) << second;
  absl::StatusOr<std::vector<Sample>> got = ReadSeries(db->get(), {{"__name__", "m"}, {"a", "1"}});
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 5u);
  EXPECT_EQ((*got)[0].t, 0);
  EXPECT_EQ((*got)[1].t, 60'000);
  EXPECT_EQ((*got)[2].t, 120'000);
  EXPECT_EQ((*got)[3].t, 600'000);
  EXPECT_EQ(Bits((*got)[3].v), kStaleNaNBits);
  EXPECT_EQ((*got)[4].t, 900'000);
  EXPECT_EQ((*got)[4].v, 4);
}

TEST(LoaderTest, ConflictingValueNamesTheLine) {
  testutil::TempDir dir;
  absl::StatusOr<std::unique_ptr<Db>> db = Db::Open(ConformanceDbOptions(), dir.path());
  ASSERT_TRUE(db.ok()) << db.status();
  absl::StatusOr<Script> s = ParseScript("load 1m\n  m 1\n\nload 1m\n  m 2\n", "l.test");
  ASSERT_TRUE(s.ok()) << s.status();
  const auto loads = All<LoadCommand>(*s);
  ASSERT_TRUE(LoadInto(*loads[0], db->get()).ok());
  absl::Status st = LoadInto(*loads[1], db->get());
  EXPECT_EQ(st.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(st.message(), HasSubstr("line 5"));
}

// ---------------------------------------------------------------------------------------------
// The conformance corpus: /work/shared/conformance (README section 7 gives the totals).

const std::string kConformanceDir = std::string(EMBER_SHARED_DIR) + "/conformance";
const std::string kScriptDir = kConformanceDir + "/promql";

// README section 7: the files marked core (the rest are "later").
const char* const kCoreFiles[] = {"literals.test",      "collision.test",      "selectors.test",
                                  "staleness.test",     "trig_functions.test", "subquery.test",
                                  "range_queries.test", "at_modifier.test",    "aggregators.test",
                                  "operators.test",     "functions.test",      "histograms.test"};

std::vector<std::string> ScriptFiles() {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(kScriptDir)) {
    if (entry.path().extension() == ".test") files.push_back(entry.path().filename().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(ConformanceCorpusTest, EveryFileParsesAndMatchesTheIndex) {
  if (!std::filesystem::is_directory(kScriptDir)) {
    GTEST_SKIP() << "conformance scripts not found at " << kScriptDir
                 << " (set -DEMBER_SHARED_DIR=<shared folder>)";
  }
  absl::StatusOr<EvalIndex> index = EvalIndex::Load(kConformanceDir + "/promql-eval-index.tsv");
  ASSERT_TRUE(index.ok()) << index.status();
  const std::vector<std::string> files = ScriptFiles();
  EXPECT_EQ(files.size(), 21u);
  EXPECT_EQ(index->Files(), files);
  int evals = 0, instant = 0, range = 0, loads = 0, nhcb = 0, clears = 0, core = 0;
  for (const std::string& file : files) {
    SCOPED_TRACE(file);
    absl::StatusOr<Script> s = ParseScriptFile(kScriptDir + "/" + file);
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(s->file_name, file);
    std::set<int> lines;
    int file_core = 0, hist_evals = 0, dup_expected = 0;
    for (const Command& c : s->commands) {
      const EvalCommand* e = std::get_if<EvalCommand>(&c);
      if (e == nullptr) continue;
      lines.insert(e->line);
      const IndexEntry* entry = index->Find(file, e->line);
      if (entry == nullptr) {
        ADD_FAILURE() << file << ":" << e->line << ": eval not in the index: " << e->query;
        continue;
      }
      EXPECT_EQ(entry->is_range, e->is_range) << file << ":" << e->line;
      file_core += entry->tier == Tier::kCore ? 1 : 0;
      hist_evals += e->has_histograms() ? 1 : 0;
      std::set<Labels> seen;
      for (const SeriesLine& l : e->expect_series)
        dup_expected += seen.insert(l.labels).second ? 0 : 1;
    }
    EXPECT_EQ(static_cast<int>(lines.size()), index->CountForFile(file));
    for (const auto& [key, entry] : index->entries()) {
      if (key.first == file && !lines.contains(key.second)) {
        ADD_FAILURE() << file << ":" << key.second << ": indexed eval not found by the parser";
      }
    }
    std::cout << absl::StrFormat(
        "%-26s evals %3d (%3d instant, %3d range, %3d core, %3d with histogram expectations, "
        "%d duplicate expected series)  loads %2d (%d nhcb)  clears %2d\n",
        file, s->num_evals(), s->num_instant_evals(), s->num_range_evals(), file_core, hist_evals,
        dup_expected, s->num_loads(), s->num_nhcb_loads(), s->num_clears());
    evals += s->num_evals();
    instant += s->num_instant_evals();
    range += s->num_range_evals();
    loads += s->num_loads();
    nhcb += s->num_nhcb_loads();
    clears += s->num_clears();
    core += file_core;
  }
  EXPECT_EQ(evals, 2214);
  EXPECT_EQ(instant, 1885);
  EXPECT_EQ(range, 329);
  EXPECT_EQ(loads, 310);
  EXPECT_EQ(nhcb, 33);
  EXPECT_EQ(clears, 231);
  EXPECT_EQ(core, 825);
  EXPECT_EQ(static_cast<size_t>(evals), index->size());
}

// Loads every block of `file` into a fresh Db (a new one after each clear) and reads back
// every float series of each block, checking it holds exactly the samples loaded so far.
void LoadAndVerifyFile(const std::string& file) {
  SCOPED_TRACE(file);
  absl::StatusOr<Script> s = ParseScriptFile(kScriptDir + "/" + file);
  ASSERT_TRUE(s.ok()) << s.status();
  std::unique_ptr<testutil::TempDir> dir;
  std::unique_ptr<Db> db;
  std::map<Labels, std::map<int64_t, uint64_t>> want;  // Series -> t -> value bits.
  auto fresh = [&] {
    db.reset();
    dir = std::make_unique<testutil::TempDir>();
    absl::StatusOr<std::unique_ptr<Db>> opened = Db::Open(ConformanceDbOptions(), dir->path());
    ASSERT_TRUE(opened.ok()) << opened.status();
    db = *std::move(opened);
    want.clear();
  };
  fresh();
  LoadStats total;
  int64_t max_t = 0, checked = 0;
  std::optional<int64_t> min_start;  // Earliest @st start time (t + offset).
  for (const Command& c : s->commands) {
    if (std::holds_alternative<ClearCommand>(c)) {
      fresh();
      continue;
    }
    const LoadCommand* load = std::get_if<LoadCommand>(&c);
    if (load == nullptr) continue;
    LoadStats stats;
    absl::Status st = LoadInto(*load, db.get(), &stats);
    ASSERT_TRUE(st.ok()) << file << ": " << st;
    total.samples += stats.samples;
    total.series += stats.series;
    total.histogram_samples_skipped += stats.histogram_samples_skipped;
    total.start_timestamps_ignored += stats.start_timestamps_ignored;
    for (const SeriesLine& line : load->series) {
      Labels labels = line.labels;
      CanonicalizeLabels(&labels);
      for (size_t i = 0; i < line.values.size(); ++i) {
        if (i < line.start_offsets_ms.size() && line.start_offsets_ms[i].has_value() &&
            !line.values[i].is_omitted()) {
          const int64_t st =
              static_cast<int64_t>(i) * load->interval_ms + *line.start_offsets_ms[i];
          min_start = std::min(min_start.value_or(st), st);
        }
        if (!line.values[i].is_float()) continue;
        const int64_t t = static_cast<int64_t>(i) * load->interval_ms;
        want[labels][t] = Bits(line.values[i].value);
        max_t = std::max(max_t, t);
      }
    }
    for (const SeriesLine& line : load->series) {
      Labels labels = line.labels;
      CanonicalizeLabels(&labels);
      if (!want.contains(labels)) continue;  // Histograms only.
      absl::StatusOr<std::vector<Sample>> got = ReadSeries(db.get(), labels);
      ASSERT_TRUE(got.ok()) << got.status();
      const auto& w = want[labels];
      ASSERT_EQ(got->size(), w.size()) << file << ":" << line.line << " " << LabelsToString(labels);
      size_t k = 0;
      for (const auto& [t, bits] : w) {
        EXPECT_EQ((*got)[k].t, t) << file << ":" << line.line;
        EXPECT_EQ(Bits((*got)[k].v), bits) << file << ":" << line.line << " t=" << t;
        ++k;
      }
      ++checked;
    }
  }
  std::cout << absl::StrFormat(
      "%-26s stored %7d float samples in %4d series lines (checked %4d), max t=%s; skipped %d "
      "histogram samples, %d start timestamps%s\n",
      file, total.samples, total.series, checked, FormatDuration(max_t),
      total.histogram_samples_skipped, total.start_timestamps_ignored,
      min_start ? absl::StrFormat(" (earliest start time %dms)", *min_start) : "");
  // Ember rejects t < 0; the scripts' durations are unsigned, so no sample can be negative.
  // Start times could be (signed @st offsets), but Ember does not store them.
  EXPECT_GE(min_start.value_or(0), 0) << file << ": an @st start time before the epoch";
}

TEST(ConformanceCorpusTest, CoreFilesLoadIntoDb) {
  if (!std::filesystem::is_directory(kScriptDir)) {
    GTEST_SKIP() << "conformance scripts not found at " << kScriptDir;
  }
  for (const char* file : kCoreFiles) LoadAndVerifyFile(file);
}

TEST(ConformanceCorpusTest, LaterFilesLoadIntoDb) {
  if (!std::filesystem::is_directory(kScriptDir)) {
    GTEST_SKIP() << "conformance scripts not found at " << kScriptDir;
  }
  const std::set<std::string> core(std::begin(kCoreFiles), std::end(kCoreFiles));
  for (const std::string& file : ScriptFiles()) {
    if (!core.contains(file)) LoadAndVerifyFile(file);
  }
}

}  // namespace
}  // namespace ember::promqltest
