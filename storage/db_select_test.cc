// Reading a Db (see db_testing.h): matchers, label rules and UTF-8, the recent window, label
// names and values, iterator seeks and time ranges.
#include "storage/db_testing.h"
#include "storage/querier.h"

namespace ember {
namespace {

TEST_F(DbTest, SelectAppliesAllMatcherKinds) {
  for (const char* job : {"api", "web", "db"}) {
    for (const char* code : {"200", "500"}) {
      AppendAll(L({{"__name__", "http_requests_total"}, {"job", job}, {"code", code}}), {{kT0, 1}});
    }
  }
  AppendAll(L({{"__name__", "up"}, {"job", "api"}}), {{kT0, 1}});
  auto count = [&](std::vector<Matcher> ms) -> int {
    auto r = db_->Select(ms, kT0, kT0);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? int(r->size()) : -1;
  };
  using Op = Matcher::Op;
  EXPECT_EQ(count({{Op::kEqual, "__name__", "http_requests_total"}}), 6);
  EXPECT_EQ(count({{Op::kEqual, "job", "api"}}), 3);
  EXPECT_EQ(count({{Op::kEqual, "__name__", "http_requests_total"}, {Op::kNotEqual, "job", "api"}}),
            4);
  EXPECT_EQ(count({{Op::kRegexMatch, "job", "a.*|d."}}), 5);
  EXPECT_EQ(count({{Op::kRegexMatch, "job", "p"}}), 0) << "regexes are fully anchored";
  EXPECT_EQ(count({{Op::kRegexMatch, "__name__", ".+"}, {Op::kRegexNoMatch, "code", "5.."}}), 4);
  EXPECT_EQ(count({{Op::kEqual, "job", "api"}, {Op::kEqual, "code", ""}}), 1)
      << "an absent label matches the empty string";
}

TEST_F(DbTest, SelectRejectsMatchersThatAllMatchEmpty) {
  auto r = db_->Select({{Matcher::Op::kRegexMatch, "job", ".*"}}, 0, kT0);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(DbTest, InvalidRegexIsInvalidArgument) {
  auto r = db_->Select({{Matcher::Op::kRegexMatch, "job", "("}}, 0, kT0);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("job"));
}

TEST_F(DbTest, BadLabelsAreRejectedWithTheReason) {
  auto app = db_->NewAppender();
  struct Case {
    std::string name;
    Labels labels;
    std::string want;
  };
  const Case cases[] = {
      {"no labels", {}, ""},
      {"empty name", L({{"__name__", "m"}, {"", "x"}}), ""},
      {"duplicate name", L({{"__name__", "m"}, {"a", "1"}, {"a", "2"}}), "a"},
      {"invalid utf-8 value", L({{"__name__", "m"}, {"a", "\xff\xfe"}}), "a"},
      {"invalid utf-8 name", L({{"__name__", "m"}, {"\xc3\x28", "x"}}), ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    absl::Status s = app->Append(c.labels, kT0, 1);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr(c.want));
  }
  EXPECT_EQ(app->pending(), 0u);
}

TEST_F(DbTest, Utf8NamesAndValuesReadBackExactly) {
  const Labels ls = L({{"__name__", "température.celsius"}, {"pièce", "salle 1 ✓"}});
  AppendAll(ls, {{kT0, 21.5}});
  auto r = db_->Select({{Matcher::Op::kEqual, "pièce", "salle 1 ✓"}}, kT0, kT0);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  Labels want = ls;
  CanonicalizeLabels(&want);
  EXPECT_EQ((*r)[0].labels, want);
}

TEST_F(DbTest, RecentWindowDoesNotReturnSeriesThatStoppedLongAgo) {
  AppendAll(L({{"__name__", "pod_cpu"}, {"pod", "old"}}), {{kT0, 1}});
  AppendAll(L({{"__name__", "pod_cpu"}, {"pod", "new"}}), {{kT0 + 3 * kDay, 1}});
  auto r = db_->Select({{Matcher::Op::kEqual, "__name__", "pod_cpu"}}, kT0 + 3 * kDay - kHour,
                       kT0 + 3 * kDay);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ(GetLabelValue((*r)[0].labels, "pod"), "new");
  auto values = db_->LabelValues("pod", kT0 + 3 * kDay - kHour, kT0 + 3 * kDay);
  ASSERT_TRUE(values.ok());
  EXPECT_THAT(*values, ElementsAre("new"));
  auto all = db_->LabelValues("pod", 0, kT0 + 3 * kDay);
  ASSERT_TRUE(all.ok());
  EXPECT_THAT(*all, ElementsAre("new", "old"));
}

TEST_F(DbTest, LabelNamesAndValuesHonourMatchers) {
  AppendAll(L({{"__name__", "a"}, {"job", "x"}, {"zone", "eu"}}), {{kT0, 1}});
  AppendAll(L({{"__name__", "b"}, {"job", "y"}}), {{kT0, 1}});
  auto names = db_->LabelNames(0, kT0);
  ASSERT_TRUE(names.ok());
  EXPECT_THAT(*names, ElementsAre("__name__", "job", "zone"));
  auto only_b = db_->LabelNames(0, kT0, {{Matcher::Op::kEqual, "__name__", "b"}});
  ASSERT_TRUE(only_b.ok());
  EXPECT_THAT(*only_b, ElementsAre("__name__", "job"));
  auto jobs = db_->LabelValues("job", 0, kT0, {{Matcher::Op::kEqual, "zone", "eu"}});
  ASSERT_TRUE(jobs.ok());
  EXPECT_THAT(*jobs, ElementsAre("x"));
}

TEST_F(DbTest, IteratorSeekSkipsAheadAndNeverGoesBack) {
  const auto samples = Ramp(1000);
  AppendAll(L({{"__name__", "m"}}), samples);
  ASSERT_TRUE(db_->CompactAll().ok());
  auto r = db_->Select({{Matcher::Op::kEqual, "__name__", "m"}}, 0, kT0 + 1000 * 15'000);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  SampleIterator* it = (*r)[0].samples.get();
  ASSERT_TRUE(it->Seek(samples[700].t - 1));
  EXPECT_EQ(it->At().t, samples[700].t);
  ASSERT_TRUE(it->Seek(samples[10].t));  // Backwards: stays put.
  EXPECT_EQ(it->At().t, samples[700].t);
  ASSERT_TRUE(it->Next());
  EXPECT_EQ(it->At().t, samples[701].t);
  EXPECT_FALSE(it->Seek(samples.back().t + 1));
}

TEST_F(DbTest, SelectHonoursTimeRangeInclusively) {
  const auto samples = Ramp(100);
  AppendAll(L({{"__name__", "m"}}), samples);
  const auto got = Read(db_.get(), "m", samples[10].t, samples[20].t);
  ASSERT_EQ(got.size(), 11u);
  EXPECT_EQ(got.front().t, samples[10].t);
  EXPECT_EQ(got.back().t, samples[20].t);
  EXPECT_TRUE(Read(db_.get(), "m", samples.back().t + 1, samples.back().t + kHour).empty());
}

TEST_F(DbTest, SelectOrdersSeriesByLabelsPairByPair) {
  // Label sets where one is a prefix of another, or a name a prefix of another name, and
  // values with bytes below and above the separators a flat key could use.
  const std::vector<Labels> sets = {
      L({{"__name__", "m"}, {"a", "b"}, {"c", "x"}}), L({{"__name__", "m"}, {"ab", "a"}}),
      L({{"__name__", "m"}, {"a", "b\x01"}}),         L({{"__name__", "m"}, {"a", "b"}}),
      L({{"__name__", "m"}, {"a", "\xc3\xa9"}}),      L({{"__name__", "m"}, {"a", ""}, {"b", "1"}}),
      L({{"__name__", "m"}, {"a", "b"}, {"b", "x"}}),
  };
  for (const Labels& ls : sets) AppendAll(ls, {{kT0, 1}});
  auto r = db_->Select({{Matcher::Op::kEqual, "__name__", "m"}}, kT0, kT0);
  ASSERT_TRUE(r.ok()) << r.status();
  std::vector<Labels> want = sets;
  for (Labels& ls : want) {
    std::erase_if(ls, [](const Label& l) { return l.value.empty(); });
    std::sort(ls.begin(), ls.end());
  }
  std::sort(want.begin(), want.end());
  std::vector<Labels> got;
  for (const Series& s : *r) got.push_back(s.labels);
  EXPECT_EQ(got, want);
}

TEST_F(DbTest, HasSamplesTellsWhetherASeriesHasASampleInTheRange) {
  // An open chunk with samples at 0 s and 100 s; a sealed one before it for "old".
  AppendAll(L({{"__name__", "m"}}), {{kT0, 1}, {kT0 + 100'000, 2}});
  AppendAll(L({{"__name__", "old"}}), Ramp(130, kT0 - kHour, 15'000));
  auto has = [&](const std::string& name, int64_t mint, int64_t maxt) -> int {
    auto ms = storage::CompileMatchers({{Matcher::Op::kEqual, "__name__", name}});
    EXPECT_TRUE(ms.ok());
    auto set = storage::QuerierOf(db_.get())->Select(*ms, mint, maxt);
    EXPECT_TRUE(set.ok()) << set.status();
    if (!set.ok() || !(*set)->Next()) return -1;
    absl::StatusOr<bool> h = (*set)->HasSamples();
    EXPECT_TRUE(h.ok()) << h.status();
    return h.ok() && *h;
  };
  EXPECT_EQ(has("m", kT0 + 90'000, kT0 + 100'000), 1);
  EXPECT_EQ(has("m", kT0 - 10'000, kT0), 1);
  EXPECT_EQ(has("m", kT0 + 10'000, kT0 + 20'000), 0) << "between the open chunk's samples";
  EXPECT_EQ(has("old", kT0 - kHour, kT0 - kHour), 1) << "in the sealed chunk only";
  EXPECT_EQ(has("old", kT0 - kHour + 1, kT0 - kHour + 14'999), 0);
}

}  // namespace
}  // namespace ember
