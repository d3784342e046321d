#include "server/scrape/relabel.h"

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "ember/labels.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ember::server {
namespace {

using ::testing::HasSubstr;

RelabelConfig Replace(std::vector<std::string> source_labels, std::string regex,
                      std::string target_label, std::string replacement) {
  RelabelConfig c;
  c.source_labels = std::move(source_labels);
  c.regex = std::move(regex);
  c.target_label = std::move(target_label);
  c.replacement = std::move(replacement);
  return c;
}

// A replace step with every field but target_label at its default.
RelabelConfig DefaultReplace(std::string target_label) {
  RelabelConfig c;
  c.target_label = std::move(target_label);
  return c;
}

RelabelConfig Filter(RelabelAction action, std::vector<std::string> source_labels,
                     std::string regex) {
  RelabelConfig c;
  c.action = action;
  c.source_labels = std::move(source_labels);
  c.regex = std::move(regex);
  return c;
}

RelabelConfig HashMod(std::vector<std::string> source_labels, std::string target_label,
                      uint64_t modulus) {
  RelabelConfig c;
  c.action = RelabelAction::kHashMod;
  c.source_labels = std::move(source_labels);
  c.target_label = std::move(target_label);
  c.modulus = modulus;
  return c;
}

RelabelConfig LabelMap(std::string regex, std::string replacement) {
  RelabelConfig c;
  c.action = RelabelAction::kLabelMap;
  c.regex = std::move(regex);
  c.replacement = std::move(replacement);
  return c;
}

RelabelConfig NameFilter(RelabelAction action, std::string regex) {
  RelabelConfig c;
  c.action = action;
  c.regex = std::move(regex);
  return c;
}

RelabelConfig Equal(RelabelAction action, std::vector<std::string> source_labels,
                    std::string target_label) {
  RelabelConfig c;
  c.action = action;
  c.source_labels = std::move(source_labels);
  c.target_label = std::move(target_label);
  return c;
}

// A relabeling case: `want` is unused when `dropped`.
struct Case {
  std::string name;
  Labels in;
  std::vector<RelabelConfig> steps;
  Labels want;
  bool dropped = false;
};

void RunCases(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    absl::StatusOr<std::unique_ptr<Relabeler>> r = Relabeler::Compile(c.steps);
    ASSERT_TRUE(r.ok()) << r.status();
    Labels labels = c.in;
    const bool kept = (*r)->Apply(&labels);
    EXPECT_EQ(kept, !c.dropped);
    if (kept) {
      EXPECT_EQ(LabelsToString(labels), LabelsToString(c.want));
      EXPECT_EQ(labels, c.want);
    } else {
      EXPECT_TRUE(labels.empty());
    }
  }
}

// The replace value of {a="<value>"} after one replace step of `regex` and `replacement`
// into target `t`; "<none>" when t is left unset.
std::string ReplaceResult(const std::string& value, const std::string& regex,
                          const std::string& replacement) {
  absl::StatusOr<std::unique_ptr<Relabeler>> r =
      Relabeler::Compile({Replace({"a"}, regex, "t", replacement)});
  if (!r.ok()) return absl::StrCat("<error: ", r.status().message(), ">");
  Labels labels = {{"a", value}};
  (*r)->Apply(&labels);
  for (const Label& l : labels) {
    if (l.name == "t") return l.value;
  }
  return "<none>";
}

absl::Status CompileStatus(const RelabelConfig& c) {
  // The failing step is the second, so messages must name index 1.
  return Relabeler::Compile({DefaultReplace("ok"), c}).status();
}

TEST(ParseRelabelActionTest, AcceptsEveryActionInAnyCase) {
  const std::pair<std::string, RelabelAction> cases[] = {
      {"replace", RelabelAction::kReplace},     {"Replace", RelabelAction::kReplace},
      {"KEEP", RelabelAction::kKeep},           {"drop", RelabelAction::kDrop},
      {"hashmod", RelabelAction::kHashMod},     {"HashMod", RelabelAction::kHashMod},
      {"labelmap", RelabelAction::kLabelMap},   {"LabelDrop", RelabelAction::kLabelDrop},
      {"labelkeep", RelabelAction::kLabelKeep}, {"KeepEqual", RelabelAction::kKeepEqual},
      {"dropequal", RelabelAction::kDropEqual},
  };
  for (const auto& [text, want] : cases) {
    SCOPED_TRACE(text);
    absl::StatusOr<RelabelAction> got = ParseRelabelAction(text);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, want);
  }
}

TEST(ParseRelabelActionTest, UnknownActionIsInvalidArgument) {
  for (const std::string text : {"", "rename", "replace ", "label_map"}) {
    SCOPED_TRACE(text);
    absl::StatusOr<RelabelAction> got = ParseRelabelAction(text);
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(got.status().message(), HasSubstr("unknown relabel action \"" + text + "\""));
  }
}

TEST(ParseRelabelActionTest, CaseMappingActionsAreNotSupported) {
  for (const std::string text : {"lowercase", "Uppercase"}) {
    SCOPED_TRACE(text);
    absl::StatusOr<RelabelAction> got = ParseRelabelAction(text);
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(got.status().message(),
                HasSubstr("relabel action \"" + text + "\" is not supported by Ember"));
  }
}

// Prometheus's own cases (model/relabel/relabel_test.go, TestRelabel), less lowercase and
// uppercase.
TEST(RelabelerTest, PrometheusRelabelCases) {
  RunCases({
      {"replace with ${1} twice",
       {{"a", "foo"}, {"b", "bar"}, {"c", "baz"}},
       {Replace({"a"}, "f(.*)", "d", "ch${1}-ch${1}")},
       {{"a", "foo"}, {"b", "bar"}, {"c", "baz"}, {"d", "choo-choo"}}},
      {"two replaces, the second reading the first's result",
       {{"a", "foo"}, {"b", "bar"}, {"c", "baz"}},
       {Replace({"a", "b"}, "f(.*);(.*)r", "a", "b${1}${2}m"),
        Replace({"c", "a"}, "(b).*b(.*)ba(.*)", "d", "$1$2$2$3")},
       {{"a", "boobam"}, {"b", "bar"}, {"c", "baz"}, {"d", "boooom"}}},
      {"drop before a replace",
       {{"a", "foo"}},
       {Filter(RelabelAction::kDrop, {"a"}, ".*o.*"), Replace({"a"}, "f(.*)", "d", "ch$1-ch$1")},
       {},
       true},
      {"drop on match",
       {{"a", "foo"}, {"b", "bar"}},
       {Filter(RelabelAction::kDrop, {"a"}, ".*o.*")},
       {},
       true},
      {"replace with a group in the middle",
       {{"a", "abc"}},
       {Replace({"a"}, ".*(b).*", "d", "$1")},
       {{"a", "abc"}, {"d", "b"}}},
      {"drop without a match",
       {{"a", "foo"}},
       {Filter(RelabelAction::kDrop, {"a"}, "no-match")},
       {{"a", "foo"}}},
      {"drop with an alternation anchored as a whole",
       {{"a", "foo"}},
       {Filter(RelabelAction::kDrop, {"a"}, "f|o")},
       {{"a", "foo"}}},
      {"keep without a match",
       {{"a", "foo"}},
       {Filter(RelabelAction::kKeep, {"a"}, "no-match")},
       {},
       true},
      {"keep on match",
       {{"a", "foo"}},
       {Filter(RelabelAction::kKeep, {"a"}, "f.*")},
       {{"a", "foo"}}},
      {"no replacement without a match",
       {{"a", "boo"}},
       {Replace({"a"}, "f", "b", "bar")},
       {{"a", "boo"}}},
      // md5("baz") = 73feffa4b7f6bb68 e44cf984c85f6e88; 0xe44cf984c85f6e88 % 1000 = 976.
      {"hashmod",
       {{"a", "foo"}, {"b", "bar"}, {"c", "baz"}},
       {HashMod({"c"}, "d", 1000)},
       {{"a", "foo"}, {"b", "bar"}, {"c", "baz"}, {"d", "976"}}},
      // python3 -c 'import hashlib; print(int.from_bytes(
      //     hashlib.md5(b"foo\nbar").digest()[8:], "big") % 1000)'  -> 734
      {"hashmod of a value with a newline",
       {{"a", "foo\nbar"}},
       {HashMod({"a"}, "b", 1000)},
       {{"a", "foo\nbar"}, {"b", "734"}}},
      {"labelmap with a prefix",
       {{"a", "foo"}, {"b1", "bar"}, {"b2", "baz"}},
       {LabelMap("(b.*)", "bar_${1}")},
       {{"a", "foo"}, {"b1", "bar"}, {"b2", "baz"}, {"bar_b1", "bar"}, {"bar_b2", "baz"}}},
      {"labelmap of meta labels",
       {{"a", "foo"}, {"__meta_my_bar", "aaa"}, {"__meta_my_baz", "bbb"}, {"__meta_other", "ccc"}},
       {LabelMap("__meta_(my.*)", "${1}")},
       {{"__meta_my_bar", "aaa"},
        {"__meta_my_baz", "bbb"},
        {"__meta_other", "ccc"},
        {"a", "foo"},
        {"my_bar", "aaa"},
        {"my_baz", "bbb"}}},
      {"target label from a group",
       {{"a", "some-name-value"}},
       {Replace({"a"}, "some-([^-]+)-([^,]+)", "${1}", "${2}")},
       {{"a", "some-name-value"}, {"name", "value"}}},
      {"replacement of a missing group deletes the (absent) target",
       {{"a", "some-name-value"}},
       {Replace({"a"}, "some-([^-]+)-([^,]+)", "${1}", "${3}")},
       {{"a", "some-name-value"}}},
      {"target label of a missing group is skipped",
       {{"a", "some-name-0"}},
       {Replace({"a"}, "some-([^-]+)-([^,]+)", "${3}", "${1}"),
        Replace({"a"}, "some-([^-]+)-([^,]+)", "${3}", "${1}"),
        Replace({"a"}, "some-([^-]+)(-[^,]+)", "${3}", "${1}")},
       {{"a", "some-name-0"}}},
      {"service discovery tags",
       {{"__meta_sd_tags", "path:/secret,job:some-job,label:foo=bar"}},
       {Replace({"__meta_sd_tags"}, "(?:.+,|^)path:(/[^,]+).*", "__metrics_path__", "${1}"),
        Replace({"__meta_sd_tags"}, "(?:.+,|^)job:([^,]+).*", "job", "${1}"),
        Replace({"__meta_sd_tags"}, "(?:.+,|^)label:([^=]+)=([^,]+).*", "${1}", "${2}")},
       {{"__meta_sd_tags", "path:/secret,job:some-job,label:foo=bar"},
        {"__metrics_path__", "/secret"},
        {"foo", "bar"},
        {"job", "some-job"}}},
      {"labeldrop then replace then keep (prometheus#12283)",
       {{"__meta_kubernetes_pod_container_port_name", "foo"},
        {"__meta_kubernetes_pod_annotation_XXX_metrics_port", "9091"}},
       {NameFilter(RelabelAction::kLabelDrop, "^__meta_kubernetes_pod_container_port_name$"),
        Replace({"__meta_kubernetes_pod_annotation_XXX_metrics_port"}, "(.+)",
                "__meta_kubernetes_pod_container_port_name", "metrics"),
        Filter(RelabelAction::kKeep, {"__meta_kubernetes_pod_container_port_name"}, "^metrics$")},
       {{"__meta_kubernetes_pod_annotation_XXX_metrics_port", "9091"},
        {"__meta_kubernetes_pod_container_port_name", "metrics"}}},
      {"labelkeep",
       {{"a", "foo"}, {"b1", "bar"}, {"b2", "baz"}},
       {NameFilter(RelabelAction::kLabelKeep, "(b.*)")},
       {{"b1", "bar"}, {"b2", "baz"}}},
      {"labeldrop",
       {{"a", "foo"}, {"b1", "bar"}, {"b2", "baz"}},
       {NameFilter(RelabelAction::kLabelDrop, "(b.*)")},
       {{"a", "foo"}}},
      {"keepequal on equal values",
       {{"__tmp_port", "1234"}, {"__port1", "1234"}, {"__port2", "5678"}},
       {Equal(RelabelAction::kKeepEqual, {"__tmp_port"}, "__port1")},
       {{"__port1", "1234"}, {"__port2", "5678"}, {"__tmp_port", "1234"}}},
      {"dropequal on equal values",
       {{"__tmp_port", "1234"}, {"__port1", "1234"}, {"__port2", "5678"}},
       {Equal(RelabelAction::kDropEqual, {"__tmp_port"}, "__port1")},
       {},
       true},
      {"dropequal on different values",
       {{"__tmp_port", "1234"}, {"__port1", "1234"}, {"__port2", "5678"}},
       {Equal(RelabelAction::kDropEqual, {"__tmp_port"}, "__port2")},
       {{"__port1", "1234"}, {"__port2", "5678"}, {"__tmp_port", "1234"}}},
      {"keepequal on different values",
       {{"__tmp_port", "1234"}, {"__port1", "1234"}, {"__port2", "5678"}},
       {Equal(RelabelAction::kKeepEqual, {"__tmp_port"}, "__port2")},
       {},
       true},
  });
}

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

// Shard numbers computed with
//   python3 -c 'import hashlib; print(int.from_bytes(hashlib.md5(S.encode()).digest()[8:],
//               "big") % M)'
TEST(RelabelerTest, HashModShardsByLastEightBytesOfMd5) {
  RunCases({
      {"address into 4 shards",  // S="10.0.0.1:9100", M=4 -> 1
       {{"__address__", "10.0.0.1:9100"}},
       {HashMod({"__address__"}, "__tmp_hash", 4)},
       {{"__address__", "10.0.0.1:9100"}, {"__tmp_hash", "1"}}},
      {"joined source labels",  // S="api;10.0.0.1:9100", M=4 -> 0
       {{"__address__", "10.0.0.1:9100"}, {"job", "api"}},
       {HashMod({"job", "__address__"}, "shard", 4)},
       {{"__address__", "10.0.0.1:9100"}, {"job", "api"}, {"shard", "0"}}},
      {"empty value",  // S="", M=7 -> 1
       {{"a", "x"}},
       {HashMod({"missing"}, "shard", 7)},
       {{"a", "x"}, {"shard", "1"}}},
      {"modulus 1 is always 0",
       {{"a", "x"}},
       {HashMod({"a"}, "shard", 1)},
       {{"a", "x"}, {"shard", "0"}}},
      {"overwrites the target",
       {{"a", "baz"}, {"shard", "old"}},
       {HashMod({"a"}, "shard", 1000)},
       {{"a", "baz"}, {"shard", "976"}}},
  });
}

// With modulus 2^64-1 the shard is the hashed 64-bit number itself (unless that is 2^64-1):
// the last 16 hex digits of the RFC 1321 test suite digests (section A.5) and of inputs around
// the 56- and 64-byte padding boundaries.
TEST(RelabelerTest, HashModMatchesRfc1321Digests) {
  struct Md5Case {
    std::string input;
    std::string digest;  // Full MD5, for the reader; only the last 16 hex digits are checked.
  };
  const Md5Case cases[] = {
      {"", "d41d8cd98f00b204e9800998ecf8427e"},
      {"a", "0cc175b9c0f1b6a831c399e269772661"},
      {"abc", "900150983cd24fb0d6963f7d28e17f72"},
      {"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
      {"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"},
      {"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
       "d174ab98d277d9f5a5611c2c9f419d9f"},
      {"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
       "57edf4a22be3c955ac49da2e2107b67a"},
      // python3 -c 'import hashlib; print(hashlib.md5(b"a" * N).hexdigest())'
      {std::string(55, 'a'), "ef1772b6dff9a122358552954ad0df65"},
      {std::string(56, 'a'), "3b0c8ac703f828b04c6c197006d17218"},
      {std::string(57, 'a'), "652b906d60af96844ebd21b674f35e93"},
      {std::string(63, 'a'), "b06521f39153d618550606be297466d5"},
      {std::string(64, 'a'), "014842d480b571495a4a0363793f7367"},
      {std::string(65, 'a'), "c743a45e0d2e6a95cb859adae0248435"},
      {std::string(1000, 'a'), "cabe45dcc9ae5b66ba86600cca6b8ba8"},
  };
  auto r = Relabeler::Compile({HashMod({"in"}, "out", std::numeric_limits<uint64_t>::max())});
  ASSERT_TRUE(r.ok()) << r.status();
  for (const Md5Case& c : cases) {
    SCOPED_TRACE(c.digest);
    Labels labels = {{"in", c.input}};
    ASSERT_TRUE((*r)->Apply(&labels));
    const uint64_t want = std::stoull(c.digest.substr(16), nullptr, 16);
    EXPECT_EQ(GetLabelValue(labels, "out"), absl::StrCat(want));
  }
}

TEST(RelabelerTest, ApplySortsAndRemovesEmptyValues) {
  RunCases({
      {"no steps", {{"z", "1"}, {"empty", ""}, {"a", "2"}}, {}, {{"a", "2"}, {"z", "1"}}},
      {"a new label is sorted in",
       {{"z", "1"}, {"a", "2"}},
       {Replace({"z"}, "(.*)", "m", "x$1")},
       {{"a", "2"}, {"m", "x1"}, {"z", "1"}}},
      // An empty value is an absent label: drop on "" drops a set with a="" as one without.
      {"empty input value reads as absent",
       {{"a", ""}, {"b", "1"}},
       {Filter(RelabelAction::kDrop, {"a"}, "")},
       {},
       true},
  });
}

TEST(RelabelerTest, ChainOfStepsRewritesKubernetesTarget) {
  RelabelConfig address = Replace({"__address__", "__meta_kubernetes_pod_annotation_port"},
                                  "([^:]+)(?::\\d+)?;(\\d+)", "__address__", "$1:$2");
  RunCases({
      {"scraped pod",
       {{"__address__", "10.1.2.3:8080"},
        {"__meta_kubernetes_namespace", "prod"},
        {"__meta_kubernetes_pod_annotation_port", "9102"},
        {"__meta_kubernetes_pod_annotation_scrape", "true"},
        {"__meta_kubernetes_pod_label_app", "api"},
        {"__meta_kubernetes_pod_name", "api-7d9f"},
        {"job", "kubernetes-pods"}},
       {Filter(RelabelAction::kKeep, {"__meta_kubernetes_pod_annotation_scrape"}, "true"), address,
        LabelMap("__meta_kubernetes_pod_label_(.+)", "$1"),
        Replace({"__meta_kubernetes_namespace"}, "(.*)", "namespace", "$1"),
        Replace({"__meta_kubernetes_pod_name"}, "(.*)", "pod", "$1"),
        HashMod({"__address__"}, "__tmp_shard", 4),
        // python3 ... S="10.1.2.3:9102", M=4 -> 2: this instance keeps shard 2.
        Filter(RelabelAction::kKeep, {"__tmp_shard"}, "2"),
        NameFilter(RelabelAction::kLabelDrop, "__meta_.*|__tmp_.*")},
       {{"__address__", "10.1.2.3:9102"},
        {"app", "api"},
        {"job", "kubernetes-pods"},
        {"namespace", "prod"},
        {"pod", "api-7d9f"}}},
      {"pod without the scrape annotation",
       {{"__address__", "10.1.2.4:8080"}, {"job", "kubernetes-pods"}},
       {Filter(RelabelAction::kKeep, {"__meta_kubernetes_pod_annotation_scrape"}, "true"), address},
       {},
       true},
  });
}

TEST(RelabelerTest, CompileRejectsWhatPrometheusValidateRejects) {
  struct ErrorCase {
    std::string name;
    RelabelConfig config;
    std::string want;  // A substring of the message after "relabel_configs[1]: ".
  };
  RelabelConfig hashmod_no_modulus = HashMod({"a"}, "t", 0);
  RelabelConfig hashmod_no_target = HashMod({"a"}, "", 4);
  RelabelConfig labeldrop_with_sources = NameFilter(RelabelAction::kLabelDrop, "a");
  labeldrop_with_sources.source_labels = {"a"};
  RelabelConfig labelkeep_with_target = NameFilter(RelabelAction::kLabelKeep, "a");
  labelkeep_with_target.target_label = "t";
  RelabelConfig labelkeep_with_replacement = NameFilter(RelabelAction::kLabelKeep, "a");
  labelkeep_with_replacement.replacement = "x";
  RelabelConfig labeldrop_with_separator = NameFilter(RelabelAction::kLabelDrop, "a");
  labeldrop_with_separator.separator = ",";
  RelabelConfig labeldrop_with_modulus = NameFilter(RelabelAction::kLabelDrop, "a");
  labeldrop_with_modulus.modulus = 2;
  RelabelConfig keepequal_with_regex = Equal(RelabelAction::kKeepEqual, {"a"}, "b");
  keepequal_with_regex.regex = "x";
  RelabelConfig dropequal_with_replacement = Equal(RelabelAction::kDropEqual, {"a"}, "b");
  dropequal_with_replacement.replacement = "x";
  const ErrorCase cases[] = {
      {"bad regex", Filter(RelabelAction::kKeep, {"a"}, "(foo"),
       "invalid regex \"(foo\": missing )"},
      {"regex valid only once wrapped", Filter(RelabelAction::kKeep, {"a"}, "a)|(b"),
       "invalid regex \"a)|(b\""},
      {"invalid source label name", Filter(RelabelAction::kKeep, {"a", ""}, "x"),
       "\"\" is not a valid label name"},
      {"replace without target", Replace({"a"}, "(.*)", "", "$1"),
       "relabel configuration for replace action requires 'target_label' value"},
      {"replace with invalid UTF-8 target", Replace({"a"}, "(.*)", "t\xff", "$1"),
       "\"t\\xff\" is invalid 'target_label' for replace action"},
      {"replace with invalid UTF-8 templated target", Replace({"a"}, "(.*)", "${1}\xff", "$1"),
       "\"${1}\\xff\" is invalid 'target_label' for replace action"},
      {"hashmod without modulus", hashmod_no_modulus,
       "relabel configuration for hashmod requires non-zero modulus"},
      {"hashmod without target", hashmod_no_target,
       "relabel configuration for hashmod action requires 'target_label' value"},
      {"labelmap with empty replacement", LabelMap("(.*)", ""),
       "\"\" is invalid 'replacement' for labelmap action"},
      {"labeldrop with source_labels", labeldrop_with_sources,
       "labeldrop action requires only 'regex', and no other fields"},
      {"labelkeep with target_label", labelkeep_with_target,
       "labelkeep action requires only 'regex', and no other fields"},
      {"labelkeep with replacement", labelkeep_with_replacement,
       "labelkeep action requires only 'regex', and no other fields"},
      {"labeldrop with separator", labeldrop_with_separator,
       "labeldrop action requires only 'regex', and no other fields"},
      {"labeldrop with modulus", labeldrop_with_modulus,
       "labeldrop action requires only 'regex', and no other fields"},
      {"keepequal without target", Equal(RelabelAction::kKeepEqual, {"a"}, ""),
       "relabel configuration for keepequal action requires 'target_label' value"},
      {"keepequal with regex", keepequal_with_regex,
       "keepequal action requires only 'source_labels' and `target_label`, and no other fields"},
      {"dropequal with replacement", dropequal_with_replacement,
       "'replacement' can not be set for dropequal action"},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.name);
    const absl::Status status = CompileStatus(c.config);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(status.message(), HasSubstr("relabel_configs[1]: " + c.want));
  }
}

TEST(RelabelerTest, CompileAcceptsWhatPrometheusValidateAccepts) {
  RelabelConfig labelmap_with_sources = LabelMap("(.*)", "x_$1");
  labelmap_with_sources.source_labels = {"a"};
  RelabelConfig replace_with_modulus = Replace({"a"}, "(.*)", "t", "$1");
  replace_with_modulus.modulus = 3;
  const std::pair<std::string, RelabelConfig> cases[] = {
      {"defaults need only a target", DefaultReplace("t")},
      {"keep without source labels", Filter(RelabelAction::kKeep, {}, "")},
      {"drop without source labels", Filter(RelabelAction::kDrop, {}, "x")},
      {"templated target", Replace({"a"}, "(.*)", "${1}_x", "$1")},
      // Prometheus 3.x's UTF-8 names: a leading digit or a dash is valid.
      {"target with a leading digit", Replace({"a"}, "(.*)", "0${1}", "$1")},
      {"target with a dash", Replace({"a"}, "(.*)", "-${1}", "$1")},
      {"target with a dot", Replace({"a"}, "(.*)", "my.label", "$1")},
      {"labelmap with source labels", labelmap_with_sources},
      {"replace with modulus", replace_with_modulus},
      {"empty regex", Filter(RelabelAction::kKeep, {"a"}, "")},
  };
  for (const auto& [name, config] : cases) {
    SCOPED_TRACE(name);
    EXPECT_TRUE(CompileStatus(config).ok()) << CompileStatus(config);
  }
}

TEST(RelabelerTest, CompiledRelabelerIsReusable) {
  auto r = Relabeler::Compile({Replace({"a"}, "(\\d+)", "b", "n$1")});
  ASSERT_TRUE(r.ok()) << r.status();
  for (int i = 0; i < 3; ++i) {
    Labels labels = {{"a", absl::StrCat(i)}};
    ASSERT_TRUE((*r)->Apply(&labels));
    EXPECT_EQ(GetLabelValue(labels, "b"), absl::StrCat("n", i));
  }
}

}  // namespace
}  // namespace ember::server
