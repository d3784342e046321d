#include "storage/matcher.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "re2/re2.h"

namespace ember::storage {
namespace {

using Op = Matcher::Op;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsNull;
using ::testing::Pointee;

CompiledMatcher MustCompile(Op op, const std::string& value) {
  absl::StatusOr<CompiledMatcher> m = CompiledMatcher::Compile(Matcher{op, "l", value});
  EXPECT_TRUE(m.ok()) << m.status();
  return *std::move(m);
}

TEST(MatcherTest, MatchesHandPickedValues) {
  struct Case {
    std::string name;
    Op op;
    std::string value;
    std::string input;
    bool want;
  };
  const Case cases[] = {
      {"equal", Op::kEqual, "api", "api", true},
      {"equal is exact", Op::kEqual, "api", "api2", false},
      {"equal empty matches absent", Op::kEqual, "", "", true},
      {"equal empty rejects a value", Op::kEqual, "", "x", false},
      {"not equal", Op::kNotEqual, "api", "web", true},
      {"not equal same", Op::kNotEqual, "api", "api", false},
      {"not equal matches absent", Op::kNotEqual, "api", "", true},
      {"regex is anchored", Op::kRegexMatch, "ab", "xaby", false},
      {"regex anchored at start", Op::kRegexMatch, "ab", "abx", false},
      {"regex anchored at end", Op::kRegexMatch, "ab", "xab", false},
      {"regex whole", Op::kRegexMatch, "ab", "ab", true},
      {"anchoring wraps the alternation", Op::kRegexMatch, "a|b", "ab", false},
      {"alternation second branch", Op::kRegexMatch, "a|b", "b", true},
      {"anchoring wraps a complex alternation", Op::kRegexMatch, "x.*|y", "zy", false},
      {"dot matches newline", Op::kRegexMatch, "a.b", "a\nb", true},
      {"dot star spans lines", Op::kRegexMatch, "a.*", "a\nb\nc", true},
      {"dot star matches empty", Op::kRegexMatch, ".*", "", true},
      {"dot plus rejects empty", Op::kRegexMatch, ".+", "", false},
      {"dollar is end of text, not of line", Op::kRegexMatch, "a$", "a\n", false},
      {"dot is one code point", Op::kRegexMatch, "caf.", "café", true},
      {"UTF-8 literal", Op::kRegexMatch, "zürich|genève", "genève", true},
      {"case sensitive", Op::kRegexMatch, "api", "API", false},
      {"case-insensitive flag", Op::kRegexMatch, "(?i)api", "API", true},
      {"character class", Op::kRegexMatch, "[0-9]+", "0815", true},
      {"perl class", Op::kRegexMatch, "\\d+ms", "15ms", true},
      {"escaped dot is literal", Op::kRegexMatch, "10\\.0\\.0\\.1", "10.0.0.1", true},
      {"escaped dot is not any", Op::kRegexMatch, "10\\.0\\.0\\.1", "10x0x0x1", false},
      {"escaped pipe is literal", Op::kRegexMatch, "a\\|b", "a|b", true},
      {"escaped pipe is not alternation", Op::kRegexMatch, "a\\|b", "a", false},
      {"empty alternative matches empty", Op::kRegexMatch, "a|", "", true},
      {"empty regex matches only empty", Op::kRegexMatch, "", "x", false},
      {"not regex", Op::kRegexNoMatch, "x.*", "xyz", false},
      {"not regex other", Op::kRegexNoMatch, "x.*", "yz", true},
      {"not regex is anchored", Op::kRegexNoMatch, "ab", "xaby", true},
      {"not regex absent", Op::kRegexNoMatch, "x.*", "", true},
      {"not regex literal set", Op::kRegexNoMatch, "a|b", "b", false},
      {"not regex literal set other", Op::kRegexNoMatch, "a|b", "c", true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const CompiledMatcher m = MustCompile(c.op, c.value);
    EXPECT_EQ(m.Matches(c.input), c.want);
  }
}

TEST(MatcherTest, MatchesEmptyIsWhatMatchesReturnsForEmpty) {
  struct Case {
    Op op;
    std::string value;
    bool want;
  };
  const Case cases[] = {
      {Op::kEqual, "", true},           {Op::kEqual, "a", false},
      {Op::kNotEqual, "", false},       {Op::kNotEqual, "a", true},
      {Op::kRegexMatch, ".*", true},    {Op::kRegexMatch, ".+", false},
      {Op::kRegexMatch, "a|", true},    {Op::kRegexMatch, "a|b", false},
      {Op::kRegexMatch, "", true},      {Op::kRegexMatch, "(a)?", true},
      {Op::kRegexNoMatch, ".*", false}, {Op::kRegexNoMatch, "x.*", true},
      {Op::kRegexNoMatch, "", false},   {Op::kRegexNoMatch, "a|", false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::Message() << static_cast<int>(c.op) << " \"" << c.value << "\"");
    const CompiledMatcher m = MustCompile(c.op, c.value);
    EXPECT_EQ(m.MatchesEmpty(), c.want);
    EXPECT_EQ(m.Matches(""), c.want);
  }
}

TEST(MatcherTest, InvalidRegexIsInvalidArgumentNamingTheMatcher) {
  struct Case {
    Matcher matcher;
    std::string want;
  };
  const Case cases[] = {
      {{Op::kRegexMatch, "job", "("}, R"(invalid regex in matcher job=~"(": missing ): ()"},
      {{Op::kRegexNoMatch, "job", "a**"}, R"(invalid regex in matcher job!~"a**": )"},
      {{Op::kRegexMatch, "service.name", "[z-a]"},
       R"(invalid regex in matcher "service.name"=~"[z-a]": )"},
      // Only compiles once wrapped in ^(?:...)$; Prometheus rejects it too.
      {{Op::kRegexMatch, "job", "a)|(b"}, R"(invalid regex in matcher job=~"a)|(b": )"},
      {{Op::kRegexMatch, "job", "\\"}, R"(invalid regex in matcher job=~"\\": )"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.matcher.value);
    const absl::StatusOr<CompiledMatcher> m = CompiledMatcher::Compile(c.matcher);
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(m.status().message()), ::testing::StartsWith(c.want));
  }
}

TEST(MatcherTest, AgreesWithPrometheusStyleWrappedRegex) {
  // The reference: RE2 on "^(?s:" + value + ")$", as Prometheus compiles it. Covers the literal
  // fast path (literal sets) and the RE2 path alike.
  const std::vector<std::string> regexes = {
      "",      "a",       "a|b",         "a|",  "|a",       "api|web|db", "ab",     "10\\.0\\.1",
      "a\\|b", "a\\+",    "caf\xC3\xA9", "x.*", ".*",       ".+",         "a.b",    "(a|b)c",
      "[ab]+", "(?i)api", "a$",          "^a",  "\\d{2,3}", "a|b.*",      "a\\\\b", "\\.\\*",
  };
  const std::vector<std::string> inputs = {
      "",    "a",      "b",      "ab",  "ba", "a|b",  "api",  "API", "web",    "db",
      "xab", "10.0.1", "10x0x1", "a+",  "aa", "café", "cafe", "x",   "x\ny",   "a\nb",
      "ac",  "bc",     "abab",   "a\n", "12", "1234", "a\\b", ".*",  "b\nzzz", "|a",
  };
  RE2::Options options;
  options.set_log_errors(false);
  for (const std::string& re : regexes) {
    const RE2 reference("^(?s:" + re + ")$", options);
    ASSERT_TRUE(reference.ok()) << re;
    const CompiledMatcher positive = MustCompile(Op::kRegexMatch, re);
    const CompiledMatcher negative = MustCompile(Op::kRegexNoMatch, re);
    for (const std::string& in : inputs) {
      SCOPED_TRACE(::testing::Message() << "regex \"" << re << "\" input \"" << in << "\"");
      const bool want = RE2::PartialMatch(in, reference);
      EXPECT_EQ(positive.Matches(in), want);
      EXPECT_EQ(negative.Matches(in), !want);
    }
  }
}

TEST(MatcherTest, SetMatchesListsLiteralAlternatives) {
  EXPECT_THAT(MustCompile(Op::kEqual, "api").set_matches(), Pointee(ElementsAre("api")));
  EXPECT_THAT(MustCompile(Op::kNotEqual, "").set_matches(), Pointee(ElementsAre("")));
  EXPECT_THAT(MustCompile(Op::kRegexMatch, "web|api|web").set_matches(),
              Pointee(ElementsAre("api", "web")));
  EXPECT_THAT(MustCompile(Op::kRegexNoMatch, "a|").set_matches(), Pointee(ElementsAre("", "a")));
  EXPECT_THAT(MustCompile(Op::kRegexMatch, "10\\.0\\.0\\.1:80|a\\|b").set_matches(),
              Pointee(ElementsAre("10.0.0.1:80", "a|b")));
  EXPECT_THAT(MustCompile(Op::kRegexMatch, "").set_matches(), Pointee(ElementsAre("")));
  EXPECT_THAT(MustCompile(Op::kRegexMatch, "a.b").set_matches(), IsNull());
  EXPECT_THAT(MustCompile(Op::kRegexMatch, "\\d").set_matches(), IsNull());
  EXPECT_THAT(MustCompile(Op::kRegexMatch, "(?i)a").set_matches(), IsNull());
  EXPECT_THAT(MustCompile(Op::kRegexMatch, "a{2}").set_matches(), IsNull());
}

TEST(MatcherTest, LargeLiteralSetsMatchExactly) {
  // More alternatives than the linear scan handles: the binary search path.
  std::string re;
  for (int i = 0; i < 40; ++i) absl::StrAppend(&re, i ? "|" : "", "host-", i * 3);
  const CompiledMatcher m = MustCompile(Op::kRegexMatch, re);
  ASSERT_NE(m.set_matches(), nullptr);
  for (int i = 0; i < 130; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(m.Matches(absl::StrCat("host-", i)), i % 3 == 0 && i < 120);
  }
  EXPECT_FALSE(m.Matches("host-"));
  EXPECT_FALSE(m.Matches(""));
}

TEST(CompileMatchersTest, CompilesAllOrReturnsTheFirstError) {
  const absl::StatusOr<std::vector<CompiledMatcher>> ok = CompileMatchers(
      {{Op::kEqual, "__name__", "up"}, {Op::kRegexMatch, "job", "a.*"}, {Op::kNotEqual, "x", ""}});
  ASSERT_TRUE(ok.ok()) << ok.status();
  ASSERT_EQ(ok->size(), 3u);
  EXPECT_EQ((*ok)[1].matcher().name, "job");
  EXPECT_TRUE((*ok)[1].Matches("api"));

  const absl::StatusOr<std::vector<CompiledMatcher>> bad = CompileMatchers(
      {{Op::kEqual, "__name__", "up"}, {Op::kRegexMatch, "job", "("}, {Op::kRegexMatch, "x", "["}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("job=~\"(\""));
}

TEST(MatcherTest, CopiesShareTheCompiledRegex) {
  const CompiledMatcher a = MustCompile(Op::kRegexMatch, "x.*y");
  const CompiledMatcher b = a;  // NOLINT(performance-unnecessary-copy-initialization)
  EXPECT_TRUE(b.Matches("x\ny"));
  EXPECT_FALSE(b.Matches("yx"));
}

}  // namespace
}  // namespace ember::storage
