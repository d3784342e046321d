#include "storage/postings.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ember::storage {
namespace {

using Op = Matcher::Op;
using ::testing::HasSubstr;

std::vector<const PostingsList*> Pointers(const std::vector<PostingsList>& lists) {
  std::vector<const PostingsList*> out;
  for (const PostingsList& l : lists) out.push_back(&l);
  return out;
}

// Postings of a handful of label sets, as an index would hold them. Refs are sparse and not
// the positions of the sets, so a mix-up between the two shows.
class FakeReader : public PostingsReader {
 public:
  explicit FakeReader(std::vector<Labels> series) : series_(std::move(series)) {
    for (size_t i = 0; i < series_.size(); ++i) {
      const uint64_t ref = Ref(i);
      all_.push_back(ref);
      for (const Label& l : series_[i]) index_[l.name][l.value].push_back(ref);
    }
  }

  static uint64_t Ref(size_t i) { return 100 + 7 * i; }
  const std::vector<Labels>& series() const { return series_; }

  absl::StatusOr<PostingsList> Postings(std::string_view name, std::string_view value) override {
    ++postings_calls;
    EXPECT_FALSE(value.empty()) << "Postings() wants a non-empty value";
    if (fail_postings) return absl::UnavailableError("disk on fire");
    looked_up.emplace_back(name, value);
    auto n = index_.find(std::string(name));
    if (n == index_.end()) return PostingsList{};
    auto v = n->second.find(std::string(value));
    return v == n->second.end() ? PostingsList{} : v->second;
  }
  absl::StatusOr<std::vector<std::string>> LabelValues(std::string_view name) override {
    ++label_values_calls;
    if (fail_label_values) return absl::UnavailableError("disk on fire");
    std::vector<std::string> out;
    auto n = index_.find(std::string(name));
    if (n != index_.end()) {
      for (const auto& [value, refs] : n->second) out.push_back(value);
    }
    return out;
  }
  absl::StatusOr<PostingsList> AllPostings() override {
    ++all_postings_calls;
    return all_;
  }

  int postings_calls = 0;
  int label_values_calls = 0;
  int all_postings_calls = 0;
  bool fail_postings = false;
  bool fail_label_values = false;
  std::vector<std::pair<std::string, std::string>> looked_up;

 private:
  std::vector<Labels> series_;
  std::map<std::string, std::map<std::string, PostingsList>> index_;
  PostingsList all_;
};

// What the matchers select, by testing every series: the definition PostingsForMatchers must
// meet.
PostingsList BruteForce(const FakeReader& reader, const std::vector<CompiledMatcher>& ms) {
  PostingsList out;
  for (size_t i = 0; i < reader.series().size(); ++i) {
    bool all = true;
    for (const CompiledMatcher& m : ms) {
      all = all && m.Matches(GetLabelValue(reader.series()[i], m.matcher().name));
    }
    if (all) out.push_back(FakeReader::Ref(i));
  }
  return out;
}

std::vector<Labels> TestSeries() {
  return {
      /*0*/ {{"__name__", "up"}, {"instance", "a:80"}, {"job", "api"}},
      /*1*/ {{"__name__", "up"}, {"instance", "b:80"}, {"job", "web"}},
      /*2*/ {{"__name__", "up"}, {"env", "prod"}, {"instance", "c:80"}, {"job", "api"}},
      /*3*/ {{"__name__", "http_requests_total"}, {"code", "200"}, {"env", "prod"}, {"job", "api"}},
      /*4*/ {{"__name__", "http_requests_total"}, {"code", "500"}, {"env", "dev"}, {"job", "api"}},
      /*5*/ {{"__name__", "http_requests_total"}, {"code", "200"}, {"job", "web"}},
      /*6*/ {{"__name__", "note"}, {"text", "xaby"}},
      /*7*/ {{"__name__", "note"}, {"text", "ab"}},
      /*8*/ {{"__name__", "note"}, {"text", "line1\nline2"}},
      /*9*/ {{"__name__", "otel_up"}, {"service.name", "caisse"}, {"température", "21,5 °C"}},
      /*10*/ {{"__name__", "otel_up"}, {"service.name", "lager"}, {"env", "staging"}},
      /*11*/ {{"__name__", "up"}, {"env", "prod-eu"}, {"job", "db"}},
  };
}

std::vector<uint64_t> Refs(std::initializer_list<size_t> indexes) {
  std::vector<uint64_t> out;
  for (size_t i : indexes) out.push_back(FakeReader::Ref(i));
  return out;
}

TEST(PostingsAlgebraTest, IntersectMatchesHandPickedCases) {
  struct Case {
    std::string name;
    std::vector<PostingsList> in;
    PostingsList want;
  };
  const Case cases[] = {
      {"no lists", {}, {}},
      {"one list", {{1, 5, 9}}, {1, 5, 9}},
      {"disjoint lists", {{1, 3}, {2, 4}}, {}},
      {"three-way", {{1, 2, 3}, {2, 3}, {3}}, {3}},
      {"an empty list", {{1, 2}, {}, {1, 2}}, {}},
      {"identical", {{4, 8, 15}, {4, 8, 15}}, {4, 8, 15}},
      {"edges", {{0, 7, UINT64_MAX}, {0, UINT64_MAX}}, {0, UINT64_MAX}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(Intersect(Pointers(c.in)), c.want);
  }
}

TEST(PostingsAlgebraTest, UnionMatchesHandPickedCases) {
  struct Case {
    std::string name;
    std::vector<PostingsList> in;
    PostingsList want;
  };
  const Case cases[] = {
      {"no lists", {}, {}},
      {"one list", {{1, 5}}, {1, 5}},
      {"overlapping", {{1, 3, 5}, {3, 4}}, {1, 3, 4, 5}},
      {"five with empties", {{9}, {}, {1, 9}, {4}, {}}, {1, 4, 9}},
      {"all empty", {{}, {}}, {}},
      {"odd count", {{1}, {2}, {3}, {1, 2, 3}, {0}}, {0, 1, 2, 3}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(Union(Pointers(c.in)), c.want);
  }
}

TEST(PostingsAlgebraTest, SubtractMatchesHandPickedCases) {
  struct Case {
    std::string name;
    PostingsList a, b, want;
  };
  const Case cases[] = {
      {"nothing to drop", {1, 2}, {}, {1, 2}},   {"from nothing", {}, {1}, {}},
      {"some", {1, 2, 3, 4}, {2, 4, 6}, {1, 3}}, {"all", {1, 2}, {0, 1, 2, 3}, {}},
      {"disjoint", {1, 3}, {2, 4}, {1, 3}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(Subtract(c.a, c.b), c.want);
  }
}

// Random lists of very different lengths (so both the merging and the galloping paths run),
// checked against std::set.
TEST(PostingsAlgebraTest, AgreesWithStdSetOnRandomLists) {
  std::mt19937_64 rng(1);
  const auto random_list = [&](size_t n, uint64_t range) {
    std::set<uint64_t> s;
    while (s.size() < n && s.size() < range) s.insert(rng() % range);
    return PostingsList(s.begin(), s.end());
  };
  const size_t sizes[] = {0, 1, 2, 5, 40, 300, 5000};
  for (size_t na : sizes) {
    for (size_t nb : sizes) {
      for (uint64_t range : {uint64_t{64}, uint64_t{20000}}) {
        SCOPED_TRACE(absl::StrCat(na, " vs ", nb, " in [0, ", range, ")"));
        const PostingsList a = random_list(na, range), b = random_list(nb, range);
        const std::set<uint64_t> sa(a.begin(), a.end()), sb(b.begin(), b.end());
        PostingsList want_and, want_or, want_minus;
        std::set_intersection(sa.begin(), sa.end(), sb.begin(), sb.end(),
                              std::back_inserter(want_and));
        std::set_union(sa.begin(), sa.end(), sb.begin(), sb.end(), std::back_inserter(want_or));
        std::set_difference(sa.begin(), sa.end(), sb.begin(), sb.end(),
                            std::back_inserter(want_minus));
        EXPECT_EQ(Intersect({&a, &b}), want_and);
        EXPECT_EQ(Union({&a, &b}), want_or);
        EXPECT_EQ(Subtract(a, b), want_minus);
      }
    }
  }
  // Many lists at once.
  std::vector<PostingsList> many;
  std::set<uint64_t> all;
  for (int i = 0; i < 37; ++i) {
    many.push_back(random_list(rng() % 200, 5000));
    all.insert(many.back().begin(), many.back().end());
  }
  EXPECT_EQ(Union(Pointers(many)), PostingsList(all.begin(), all.end()));
  std::vector<PostingsList> nested = {random_list(3000, 4000), random_list(2000, 4000),
                                      random_list(100, 4000), random_list(3500, 4000)};
  PostingsList want = nested[0];
  for (size_t i = 1; i < nested.size(); ++i) {
    PostingsList next;
    std::set_intersection(want.begin(), want.end(), nested[i].begin(), nested[i].end(),
                          std::back_inserter(next));
    want = next;
  }
  EXPECT_EQ(Intersect(Pointers(nested)), want);
}

TEST(PostingsForMatchersTest, HandPickedCases) {
  struct Case {
    std::string name;
    std::vector<Matcher> matchers;
    PostingsList want;
  };
  const Case cases[] = {
      {"equal", {{Op::kEqual, "__name__", "up"}}, Refs({0, 1, 2, 11})},
      {"two equals", {{Op::kEqual, "__name__", "up"}, {Op::kEqual, "job", "api"}}, Refs({0, 2})},
      {"no such value", {{Op::kEqual, "job", "nope"}}, {}},
      {"not equal keeps series without the label",
       {{Op::kNotEqual, "job", "api"}},
       Refs({1, 5, 6, 7, 8, 9, 10, 11})},
      {"not equal within a metric",
       {{Op::kEqual, "__name__", "up"}, {Op::kNotEqual, "job", "api"}},
       Refs({1, 11})},
      {"equal empty selects series without the label",
       {{Op::kEqual, "__name__", "up"}, {Op::kEqual, "env", ""}},
       Refs({0, 1})},
      {"not equal empty selects series with the label",
       {{Op::kNotEqual, "env", ""}},
       Refs({2, 3, 4, 10, 11})},
      {"regex is anchored", {{Op::kRegexMatch, "text", "ab"}}, Refs({7})},
      {"regex dot matches newline", {{Op::kRegexMatch, "text", "line1.line2"}}, Refs({8})},
      {"regex alternation", {{Op::kRegexMatch, "job", "api|db"}}, Refs({0, 2, 3, 4, 11})},
      {"regex with empty alternative also selects absent",
       {{Op::kEqual, "__name__", "up"}, {Op::kRegexMatch, "env", "prod|"}},
       Refs({0, 1, 2})},
      {"regex with empty alternative alone",
       {{Op::kRegexMatch, "env", "prod|"}},
       Refs({0, 1, 2, 3, 5, 6, 7, 8, 9})},
      {"not regex subtracts what matches",
       {{Op::kRegexNoMatch, "env", "prod.*"}},
       Refs({0, 1, 4, 5, 6, 7, 8, 9, 10})},
      {"not regex that rejects empty needs the label",
       {{Op::kRegexNoMatch, "env", "prod|"}},
       Refs({4, 10, 11})},
      {"dot star alone is every series",
       {{Op::kRegexMatch, "job", ".*"}},
       Refs({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})},
      {"dot star is a no-op",
       {{Op::kEqual, "__name__", "note"}, {Op::kRegexMatch, "job", ".*"}},
       Refs({6, 7, 8})},
      {"dot plus needs the label", {{Op::kRegexMatch, "env", ".+"}}, Refs({2, 3, 4, 10, 11})},
      {"not regex dot star is nothing", {{Op::kRegexNoMatch, "job", ".*"}}, {}},
      {"UTF-8 names",
       {{Op::kRegexMatch, "service.name", "c.*"}, {Op::kEqual, "température", "21,5 °C"}},
       Refs({9})},
      {"absent name equal empty is everything",
       {{Op::kEqual, "nope", ""}},
       Refs({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})},
      {"contradiction", {{Op::kEqual, "job", "api"}, {Op::kEqual, "job", "web"}}, {}},
      {"same label twice",
       {{Op::kRegexMatch, "job", ".+"}, {Op::kNotEqual, "job", "api"}},
       Refs({1, 5, 11})},
      {"no matchers is every series", {}, Refs({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    FakeReader reader(TestSeries());
    absl::StatusOr<std::vector<CompiledMatcher>> ms = CompileMatchers(c.matchers);
    ASSERT_TRUE(ms.ok()) << ms.status();
    ASSERT_EQ(BruteForce(reader, *ms), c.want) << "the table disagrees with the brute force";
    absl::StatusOr<PostingsList> got = PostingsForMatchers(reader, *ms);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, c.want);
  }
}

TEST(PostingsForMatchersTest, AgreesWithBruteForceOnRandomCombinations) {
  const std::vector<Matcher> pool = {
      {Op::kEqual, "__name__", "up"},
      {Op::kEqual, "__name__", "http_requests_total"},
      {Op::kNotEqual, "__name__", "note"},
      {Op::kRegexMatch, "__name__", ".*up"},
      {Op::kRegexMatch, "__name__", "up|note"},
      {Op::kEqual, "job", "api"},
      {Op::kEqual, "job", ""},
      {Op::kNotEqual, "job", "api"},
      {Op::kNotEqual, "job", ""},
      {Op::kRegexMatch, "job", "api|web"},
      {Op::kRegexMatch, "job", "a.*|"},
      {Op::kRegexMatch, "job", ".*"},
      {Op::kRegexMatch, "job", ".+"},
      {Op::kRegexNoMatch, "job", "api"},
      {Op::kRegexNoMatch, "job", "w.*|"},
      {Op::kRegexNoMatch, "job", ".*"},
      {Op::kRegexMatch, "env", "prod.*"},
      {Op::kRegexMatch, "env", "prod|"},
      {Op::kRegexNoMatch, "env", "dev|staging"},
      {Op::kRegexNoMatch, "env", ""},
      {Op::kEqual, "env", ""},
      {Op::kRegexMatch, "code", "[25]00"},
      {Op::kNotEqual, "code", "500"},
      {Op::kRegexMatch, "text", "a.*"},
      {Op::kRegexMatch, "text", ".*\n.*"},
      {Op::kRegexNoMatch, "text", "ab"},
      {Op::kRegexMatch, "instance", "[ab]:80"},
      {Op::kNotEqual, "instance", "c:80"},
      {Op::kRegexMatch, "service.name", "lager|caisse"},
      {Op::kNotEqual, "température", "21,5 °C"},
      {Op::kEqual, "missing", ""},
      {Op::kRegexMatch, "missing", ".+"},
      {Op::kRegexNoMatch, "missing", "x"},
  };
  std::mt19937_64 rng(2024);
  FakeReader reader(TestSeries());
  int nonempty = 0;
  for (int q = 0; q < 3000; ++q) {
    std::vector<Matcher> chosen;
    for (int k = 0, n = 1 + static_cast<int>(rng() % 4); k < n; ++k) {
      chosen.push_back(pool[rng() % pool.size()]);
    }
    std::string desc;
    for (const Matcher& m : chosen)
      absl::StrAppend(&desc, m.name, static_cast<int>(m.op), m.value, " ");
    SCOPED_TRACE(desc);
    absl::StatusOr<std::vector<CompiledMatcher>> ms = CompileMatchers(chosen);
    ASSERT_TRUE(ms.ok()) << ms.status();
    absl::StatusOr<PostingsList> got = PostingsForMatchers(reader, *ms);
    ASSERT_TRUE(got.ok()) << got.status();
    const PostingsList want = BruteForce(reader, *ms);
    ASSERT_EQ(*got, want);
    nonempty += want.empty() ? 0 : 1;
  }
  EXPECT_GT(nonempty, 500);  // The combinations select something often enough to mean it.
}

TEST(PostingsForMatchersTest, LiteralMatchersReadOnlyTheirOwnValues) {
  FakeReader reader(TestSeries());
  absl::StatusOr<std::vector<CompiledMatcher>> ms = CompileMatchers(
      {{Op::kRegexMatch, "job", "api|db"}, {Op::kRegexNoMatch, "instance", "a:80|zz"}});
  ASSERT_TRUE(ms.ok());
  absl::StatusOr<PostingsList> got = PostingsForMatchers(reader, *ms);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, Refs({2, 3, 4, 11}));
  EXPECT_EQ(reader.label_values_calls, 0);
  EXPECT_EQ(reader.all_postings_calls, 0);
  EXPECT_THAT(reader.looked_up, ::testing::UnorderedElementsAre(
                                    std::pair<std::string, std::string>{"job", "api"},
                                    std::pair<std::string, std::string>{"job", "db"},
                                    std::pair<std::string, std::string>{"instance", "a:80"},
                                    std::pair<std::string, std::string>{"instance", "zz"}));
}

TEST(PostingsForMatchersTest, EmptyIntersectionStopsEarly) {
  FakeReader reader(TestSeries());
  absl::StatusOr<std::vector<CompiledMatcher>> ms =
      CompileMatchers({{Op::kRegexMatch, "text", "a.*"}, {Op::kEqual, "job", "nope"}});
  ASSERT_TRUE(ms.ok());
  absl::StatusOr<PostingsList> got = PostingsForMatchers(reader, *ms);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->empty());
  // The equality ran first and found nothing; the regex never listed `text`'s values.
  EXPECT_EQ(reader.label_values_calls, 0);
}

TEST(PostingsForMatchersTest, ReaderErrorsPropagateWithTheMatcher) {
  {
    FakeReader reader(TestSeries());
    reader.fail_label_values = true;
    absl::StatusOr<std::vector<CompiledMatcher>> ms =
        CompileMatchers({{Op::kRegexMatch, "job", "a.*"}});
    ASSERT_TRUE(ms.ok());
    absl::StatusOr<PostingsList> got = PostingsForMatchers(reader, *ms);
    EXPECT_EQ(got.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_THAT(std::string(got.status().message()), HasSubstr("job=~\"a.*\""));
    EXPECT_THAT(std::string(got.status().message()), HasSubstr("disk on fire"));
  }
  {
    FakeReader reader(TestSeries());
    reader.fail_postings = true;
    absl::StatusOr<std::vector<CompiledMatcher>> ms =
        CompileMatchers({{Op::kNotEqual, "job", "api"}});
    ASSERT_TRUE(ms.ok());
    absl::StatusOr<PostingsList> got = PostingsForMatchers(reader, *ms);
    EXPECT_EQ(got.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_THAT(std::string(got.status().message()), HasSubstr("job!=\"api\""));
  }
}

}  // namespace
}  // namespace ember::storage
