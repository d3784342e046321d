// Relabeling label sets end to end (see relabel_testing.h): Prometheus's own cases, hashmod
// shards, the sorted result and a chain of steps.
#include "server/scrape/relabel_testing.h"

namespace ember::server {
namespace {

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

}  // namespace
}  // namespace ember::server
