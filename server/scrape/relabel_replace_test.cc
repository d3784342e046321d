// The replace and labelmap actions (see relabel_testing.h): anchored regexes, source values
// joined, replacements expanded, and the target labels they may write.
#include "server/scrape/relabel_testing.h"

namespace ember::server {
namespace {

TEST(RelabelerTest, RegexIsAnchoredAtBothEnds) {
  const auto keeps = [](const std::string& regex, const std::string& value) {
    auto r = Relabeler::Compile({Filter(RelabelAction::kKeep, {"a"}, regex)});
    EXPECT_TRUE(r.ok()) << r.status();
    Labels labels = {{"a", value}};
    return (*r)->Apply(&labels);
  };
  EXPECT_TRUE(keeps("foo", "foo"));
  EXPECT_FALSE(keeps("fo", "foo"));
  EXPECT_FALSE(keeps("oo", "foo"));
  EXPECT_FALSE(keeps("o", "foo"));
  EXPECT_TRUE(keeps(".*o", "foo"));
  // Each alternative is anchored: the regex is `^(?:a|b)$`, not `^a|b$`.
  EXPECT_FALSE(keeps("x|fo", "foo"));
  EXPECT_FALSE(keeps("oo|x", "xfoo"));
  EXPECT_TRUE(keeps("x|foo", "foo"));
  // Anchors written in the regex are redundant, not an error.
  EXPECT_TRUE(keeps("^foo$", "foo"));
  // The default regex matches the empty value of a missing label.
  EXPECT_TRUE(keeps("(.*)", ""));
  EXPECT_FALSE(keeps(".+", ""));
}

TEST(RelabelerTest, DotMatchesNewlineAsPrometheus3) {
  RunCases({{"replace across a newline",
             {{"a", "foo\nbar"}},
             {Replace({"a"}, "foo.(.*)", "b", "$1")},
             {{"a", "foo\nbar"}, {"b", "bar"}}}});
}

TEST(RelabelerTest, JoinsSourceValuesWithSeparatorAndEmptyForMissing) {
  RelabelConfig slash = Replace({"a", "missing", "b"}, "(.*)", "joined", "$1");
  slash.separator = "/";
  RunCases({
      {"default separator",
       {{"a", "x"}, {"b", "y"}},
       {Replace({"a", "missing", "b"}, "(.*)", "joined", "$1")},
       {{"a", "x"}, {"b", "y"}, {"joined", "x;;y"}}},
      {"custom separator",
       {{"a", "x"}, {"b", "y"}},
       {slash},
       {{"a", "x"}, {"b", "y"}, {"joined", "x//y"}}},
      {"no source labels matches the empty string",
       {{"a", "x"}},
       {Replace({}, "", "t", "set")},
       {{"a", "x"}, {"t", "set"}}},
  });
}

TEST(RelabelerTest, ExpandsReplacementAsGoRegexpExpand) {
  struct ExpandCase {
    std::string name;
    std::string regex;
    std::string replacement;
    std::string want;  // For {a="foo-bar"}; "<none>" when t is not set.
  };
  const ExpandCase cases[] = {
      {"numbered", "(\\w+)-(\\w+)", "$2.$1", "bar.foo"},
      {"braced", "(\\w+)-(\\w+)", "${2}x${1}", "barxfoo"},
      {"whole match", "(\\w+)-(\\w+)", "[$0]", "[foo-bar]"},
      // `$1x` is the group named "1x", which does not exist: it expands to "".
      {"name runs to the last word character", "(\\w+)-(\\w+)", "$1x:$2", ":bar"},
      {"underscore is a word character", "(\\w+)-(\\w+)", "$1_suffix", "<none>"},
      {"dollar dollar is a dollar", "(\\w+)-(\\w+)", "$$1=$1", "$1=foo"},
      {"trailing dollar is literal", "(\\w+)-(\\w+)", "$1$", "foo$"},
      {"dollar before a non-word character is literal", "(\\w+)-(\\w+)", "$-$1", "$-foo"},
      {"unclosed brace is literal", "(\\w+)-(\\w+)", "${1", "${1"},
      {"empty braces are literal", "(\\w+)-(\\w+)", "${}$1", "${}foo"},
      {"brace with a non-word character is literal", "(\\w+)-(\\w+)", "${1-}", "${1-}"},
      {"group past the last is empty", "(\\w+)-(\\w+)", "<$3>", "<>"},
      {"leading zero is a name, not a number", "(\\w+)-(\\w+)", "<$01>", "<>"},
      {"big number", "(\\w+)-(\\w+)", "<$99999999999>", "<>"},
      {"named group", "(?P<first>\\w+)-(?P<second>\\w+)", "$second-${first}", "bar-foo"},
      {"named group by number", "(?P<first>\\w+)-(?P<second>\\w+)", "$2", "bar"},
      {"unknown name", "(?P<first>\\w+)-(\\w+)", "<$other>", "<>"},
      {"unmatched optional group", "(\\w+)-(x)?(\\w+)", "<$2>$3", "<>bar"},
      // A non-ASCII letter continues the name, as Go's unicode.IsLetter says.
      {"unicode letter continues the name", "(\\w+)-(\\w+)", "<$1é>", "<>"},
      {"unicode non-letter ends the name", "(\\w+)-(\\w+)", "<$1→>", "<foo→>"},
      {"empty result deletes", "(\\w+)-(\\w+)", "$3", "<none>"},
  };
  for (const ExpandCase& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(ReplaceResult("foo-bar", c.regex, c.replacement), c.want);
  }
}

TEST(RelabelerTest, EmptyReplacementDeletesTarget) {
  RunCases({
      {"literal empty",
       {{"a", "foo"}, {"t", "old"}},
       {Replace({"a"}, "(.*)", "t", "")},
       {{"a", "foo"}}},
      {"empty group", {{"a", ""}, {"t", "old"}}, {Replace({"a"}, "(.*)", "t", "$1")}, {}},
  });
}

TEST(RelabelerTest, ExpandedTargetMustBeValidLabelName) {
  RunCases({
      {"empty expansion is skipped",
       {{"a", "x-"}},
       {Replace({"a"}, "x-(.*)", "$1", "v")},
       {{"a", "x-"}}},
      {"invalid UTF-8 expansion is skipped",
       {{"a", "x-\xff"}},
       {Replace({"a"}, "x-(.*)", "$1", "v")},
       {{"a", "x-\xff"}}},
      {"expansion with a dot is a valid UTF-8 name",
       {{"a", "x-my.label"}},
       {Replace({"a"}, "x-(.*)", "$1", "v")},
       {{"a", "x-my.label"}, {"my.label", "v"}}},
      {"prefix and group",
       {{"a", "x-9"}},
       {Replace({"a"}, "x-(.*)", "port_${1}", "v")},
       {{"a", "x-9"}, {"port_9", "v"}}},
      {"dollar dollar in target",
       {{"a", "x"}},
       {Replace({"a"}, "(.*)", "a$$b", "v")},
       {{"a", "x"}, {"a$b", "v"}}},
  });
}

TEST(RelabelerTest, LabelMapSkipsInvalidNamesAndOverwrites) {
  RunCases({
      {"missing group gives an empty name: skipped",
       {{"a", "1"}, {"b", "2"}},
       {LabelMap("(a)|(b)", "$2")},
       {{"a", "1"}, {"b", "2"}}},
      {"overwrites an existing label",
       {{"__meta_job", "api"}, {"job", "old"}},
       {LabelMap("__meta_(.*)", "$1")},
       {{"__meta_job", "api"}, {"job", "api"}}},
      {"the regex applies to names, not values",
       {{"x", "__meta_y"}},
       {LabelMap("__meta_(.*)", "$1")},
       {{"x", "__meta_y"}}},
  });
}

TEST(RelabelerTest, LabelMapCollisionFollowsPrometheusBuilderOrder) {
  RunCases({
      // Input labels are visited in sorted order; the last copy wins.
      {"input labels sorted",
       {{"__meta_b_x", "from_b"}, {"__meta_a_x", "from_a"}},
       {LabelMap("__meta_[ab]_(.*)", "$1")},
       {{"__meta_a_x", "from_a"}, {"__meta_b_x", "from_b"}, {"x", "from_b"}}},
      // A label set by an earlier step is visited after the untouched input labels.
      {"labels set by a step come last",
       {{"__meta_a_x", "from_a"}, {"__meta_b_x", "from_b"}},
       {Replace({}, "", "__meta_a_x", "reset_a"), LabelMap("__meta_[ab]_(.*)", "$1")},
       {{"__meta_a_x", "reset_a"}, {"__meta_b_x", "from_b"}, {"x", "reset_a"}}},
  });
}

}  // namespace
}  // namespace ember::server
