// Tests of the Prometheus text exposition (0.0.4) and OpenMetrics 1.0 decoder: samples, escapes,
// quoted UTF-8 names, metadata, OpenMetrics timestamps, exemplars and # EOF, every error with its
// line and column, and that no input, however broken, does more than return InvalidArgument.
#include "ingest/text_format.h"

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ember::ingest {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::string Escaped(std::string_view s) {
  return absl::CEscape(absl::string_view(s.data(), s.size()));
}

// `line 3: foo{a="b"} 1 @1000`: labels in the order decoded, values with %g.
std::string Render(const DecodedSeries& s) {
  std::string out = absl::StrCat("line ", s.position, ": ");
  std::string name;
  std::string labels;
  for (const Label& l : s.labels) {
    if (l.name == kMetricNameLabel && name.empty()) {
      name = Escaped(l.value);
      continue;
    }
    absl::StrAppend(&labels, labels.empty() ? "" : ",", Escaped(l.name), "=\"", Escaped(l.value),
                    "\"");
  }
  absl::StrAppend(&out, name, labels.empty() ? "" : absl::StrCat("{", labels, "}"));
  for (const Sample& sample : s.samples) {
    absl::StrAppend(&out, absl::StrFormat(" %g @%d", sample.v, sample.t));
  }
  return out;
}

std::vector<std::string> Render(const DecodedBatch& batch) {
  std::vector<std::string> out;
  for (const DecodedSeries& s : batch.series) out.push_back(Render(s));
  return out;
}

TextFormatOptions OpenMetrics() {
  TextFormatOptions options;
  options.openmetrics = true;
  return options;
}

// Decodes `body`, failing the test on an error.
DecodedBatch Decode(std::string_view body, const TextFormatOptions& options = {}) {
  DecodedBatch batch;
  const absl::Status status = ParseTextFormat(body, options, &batch);
  EXPECT_TRUE(status.ok()) << status;
  return batch;
}

// The message of the error `body` gives, or "OK".
std::string ErrorOf(std::string_view body, const TextFormatOptions& options = {}) {
  DecodedBatch batch;
  const absl::Status status = ParseTextFormat(body, options, &batch);
  if (status.ok()) return "OK";
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  return std::string(status.message());
}

double ValueOf(const std::string& text) {
  const DecodedBatch batch = Decode(absl::StrCat("m ", text, "\n"));
  if (batch.series.size() != 1 || batch.series[0].samples.size() != 1) {
    ADD_FAILURE() << "no sample for " << text;
    return 0;
  }
  return batch.series[0].samples[0].v;
}

TEST(TextFormatTest, DecodesSamplesWithLabelsAndTimestamps) {
  const DecodedBatch batch = Decode(
      "http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n"
      "http_requests_total{method=\"post\",code=\"400\"}    3 1395066363000\n"
      "metric_without_timestamp_and_labels 12.47\n"
      "before_1970 1 -5000\n"
      "colons:in_name{} 2\n");
  EXPECT_EQ(batch.kind, PositionKind::kLine);
  EXPECT_THAT(Render(batch),
              ElementsAre("line 1: http_requests_total{method=\"post\",code=\"200\"} 1027 "
                          "@1395066363000",
                          "line 2: http_requests_total{method=\"post\",code=\"400\"} 3 "
                          "@1395066363000",
                          "line 3: metric_without_timestamp_and_labels 12.47 @0",
                          "line 4: before_1970 1 @-5000", "line 5: colons:in_name 2 @0"));
  EXPECT_THAT(batch.metadata, IsEmpty());
}

TEST(TextFormatTest, PutsTheMetricNameUnderNameLabel) {
  const DecodedBatch batch = Decode("up{job=\"api\"} 1\n");
  ASSERT_EQ(batch.series.size(), 1u);
  EXPECT_EQ(batch.series[0].labels, (Labels{{"__name__", "up"}, {"job", "api"}}));
}

TEST(TextFormatTest, SamplesWithoutTimestampGetTheDefault) {
  TextFormatOptions options;
  options.default_timestamp_ms = 1700000000000;
  EXPECT_THAT(Render(Decode("a 1\nb 2 5\n", options)),
              ElementsAre("line 1: a 1 @1700000000000", "line 2: b 2 @5"));
}

TEST(TextFormatTest, PositionsAreLineNumbersCountingCommentsAndBlankLines) {
  const DecodedBatch batch = Decode("# a comment\n\na 1\n   \n# TYPE b gauge\nb 2");
  EXPECT_THAT(Render(batch), ElementsAre("line 3: a 1 @0", "line 6: b 2 @0"));
}

TEST(TextFormatTest, AcceptsCrlfLineEndings) {
  const DecodedBatch batch =
      Decode("# HELP a Help.\r\n# TYPE a counter\r\na{x=\"y\"} 1 7\r\nb 2\r\n");
  EXPECT_THAT(Render(batch), ElementsAre("line 3: a{x=\"y\"} 1 @7", "line 4: b 2 @0"));
  ASSERT_EQ(batch.metadata.size(), 1u);
  EXPECT_EQ(batch.metadata[0].help, "Help.");
  EXPECT_EQ(batch.metadata[0].type, "counter");
}

TEST(TextFormatTest, ToleratesWhitespaceAndTrailingCommas) {
  EXPECT_THAT(
      Render(Decode("  a { x = \"1\" ,\ty=\"2\", } \t 3 \t 4  \n"
                    "b{x=\"1\",}5\n"
                    "c {} 6\n")),
      ElementsAre("line 1: a{x=\"1\",y=\"2\"} 3 @4", "line 2: b{x=\"1\"} 5 @0", "line 3: c 6 @0"));
}

TEST(TextFormatTest, ParsesEveryValueSpelling) {
  const double inf = std::numeric_limits<double>::infinity();
  struct Case {
    std::string text;
    double want;
  };
  const Case cases[] = {
      {"0", 0},
      {"42", 42},
      {"-7", -7},
      {"+7", 7},
      {"1.5", 1.5},
      {".5", 0.5},
      {"5.", 5},
      {"1e3", 1000},
      {"1E+3", 1000},
      {"-1.5e-3", -0.0015},
      {"+Inf", inf},
      {"-Inf", -inf},
      {"Inf", inf},
      {"inf", inf},
      {"+infinity", inf},
      {"-Infinity", -inf},
      {"1e-400", 0},
      {"12345678901234567890", 12345678901234567890.0},
      {"4.9e-324", std::numeric_limits<double>::denorm_min()},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    EXPECT_EQ(ValueOf(c.text), c.want);
  }
  EXPECT_TRUE(std::isnan(ValueOf("NaN")));
  EXPECT_TRUE(std::isnan(ValueOf("nan")));
  EXPECT_TRUE(std::signbit(ValueOf("-0")));
  EXPECT_FALSE(std::signbit(ValueOf("0")));
}

TEST(TextFormatTest, RejectsValuesGoWouldNotParse) {
  for (const char* text :
       {"abc", "0x10", "0x1p3", "1e400", "-1e400", "+NaN", "-nan", "1_000", "--1", "+-1", "1e",
        "e3", ".", "1.2.3", "nan(1)", "infinite", "1,5", "- 1"}) {
    SCOPED_TRACE(text);
    const std::string body = absl::StrCat("m ", text);
    const std::string error = ErrorOf(body);
    // "- 1" fails on "-"; everything else on the whole token.
    const std::string token = std::string_view(text) == "- 1" ? "-" : text;
    EXPECT_EQ(error, absl::StrFormat("line 1, column 3: invalid value \"%s\"", token));
  }
}

TEST(TextFormatTest, UnescapesLabelValues) {
  const DecodedBatch batch = Decode(
      "m{a=\"back\\\\slash\",b=\"double\\\"quote\",c=\"new\\nline\",d=\"\",e=\"caf\xC3\xA9\"} 1\n");
  ASSERT_EQ(batch.series.size(), 1u);
  EXPECT_EQ(batch.series[0].labels, (Labels{{"__name__", "m"},
                                            {"a", "back\\slash"},
                                            {"b", "double\"quote"},
                                            {"c", "new\nline"},
                                            {"d", ""},
                                            {"e", "caf\xC3\xA9"}}));
}

TEST(TextFormatTest, AcceptsQuotedUtf8NamesInsideBraces) {
  const DecodedBatch batch = Decode(
      "{\"my.metric\", \"other.label\"=\"x\", job=\"j\"} 1\n"
      "{job=\"j\", \"caf\xC3\xA9 total\",} 2\n"
      "plain{\"dotted.label\"=\"v\",\"quote\\\"d\"=\"w\"} 3\n");
  ASSERT_EQ(batch.series.size(), 3u);
  EXPECT_EQ(batch.series[0].labels,
            (Labels{{"__name__", "my.metric"}, {"other.label", "x"}, {"job", "j"}}));
  EXPECT_EQ(batch.series[1].labels, (Labels{{"job", "j"}, {"__name__", "caf\xC3\xA9 total"}}));
  EXPECT_EQ(batch.series[2].labels,
            (Labels{{"__name__", "plain"}, {"dotted.label", "v"}, {"quote\"d", "w"}}));
}

TEST(TextFormatTest, PassesInvalidUtf8AndDuplicatesToTheWritePath) {
  const DecodedBatch batch = Decode("m{a=\"\xff\",a=\"x\"} 1\n");
  ASSERT_EQ(batch.series.size(), 1u);
  EXPECT_EQ(batch.series[0].labels, (Labels{{"__name__", "m"}, {"a", "\xff"}, {"a", "x"}}));
}

TEST(TextFormatTest, ExtraLabelsReplaceOrAppend) {
  TextFormatOptions options;
  options.extra_labels = {{"job", "forced"}, {"instance", "host:9100"}};
  const DecodedBatch batch = Decode("up{job=\"scraped\",zone=\"a\"} 1\n", options);
  ASSERT_EQ(batch.series.size(), 1u);
  EXPECT_EQ(
      batch.series[0].labels,
      (Labels{{"__name__", "up"}, {"job", "forced"}, {"zone", "a"}, {"instance", "host:9100"}}));
}

TEST(TextFormatTest, CollectsHelpTypeAndUnitPerFamily) {
  const DecodedBatch batch = Decode(
      "# HELP http_requests_total The total number of HTTP requests.\n"
      "# TYPE http_requests_total counter\n"
      "http_requests_total 1\n"
      "# TYPE rpc_duration_seconds summary\n"
      "#HELP rpc_duration_seconds  Two\\nlines, a \\\\ and a \\q.\n"
      "# TYPE legacy untyped\n"
      "# HELPFUL text is just a comment\n"
      "# UNIT rpc_duration_seconds seconds\n"
      "# HELP \"my.metric\" Quoted name.\n"
      "# HELP empty\n");
  ASSERT_EQ(batch.metadata.size(), 5u);
  EXPECT_EQ(batch.metadata[0].metric, "http_requests_total");
  EXPECT_EQ(batch.metadata[0].type, "counter");
  EXPECT_EQ(batch.metadata[0].help, "The total number of HTTP requests.");
  EXPECT_EQ(batch.metadata[1].metric, "rpc_duration_seconds");
  EXPECT_EQ(batch.metadata[1].type, "summary");
  // One blank separates name and text; 0.0.4 knows \\ and \n, and keeps other escapes.
  EXPECT_EQ(batch.metadata[1].help, " Two\nlines, a \\ and a \\q.");
  EXPECT_EQ(batch.metadata[1].unit, "");  // UNIT is OpenMetrics only: a comment here.
  EXPECT_EQ(batch.metadata[2].metric, "legacy");
  EXPECT_EQ(batch.metadata[2].type, "unknown");
  EXPECT_EQ(batch.metadata[3].metric, "my.metric");
  EXPECT_EQ(batch.metadata[3].help, "Quoted name.");
  EXPECT_EQ(batch.metadata[4].metric, "empty");
  EXPECT_EQ(batch.metadata[4].help, "");
  EXPECT_THAT(Render(batch), ElementsAre("line 3: http_requests_total 1 @0"));
}

TEST(TextFormatTest, HelpWithoutTextGivesEmptyHelp) {
  const DecodedBatch batch = Decode("# HELP quiet\n# HELP\n");
  ASSERT_EQ(batch.metadata.size(), 1u);  // A bare "# HELP" is a comment.
  EXPECT_EQ(batch.metadata[0].metric, "quiet");
  EXPECT_EQ(batch.metadata[0].help, "");
}

TEST(TextFormatTest, OpenMetricsUnitsAndHelpEscapes) {
  const DecodedBatch batch = Decode(
      "# TYPE req_seconds histogram\n"
      "# UNIT req_seconds seconds\n"
      "# HELP req_seconds Says \\\"hi\\\".\n"
      "req_seconds_bucket{le=\"+Inf\"} 3\n"
      "# EOF\n",
      OpenMetrics());
  ASSERT_EQ(batch.metadata.size(), 1u);
  EXPECT_EQ(batch.metadata[0].type, "histogram");
  EXPECT_EQ(batch.metadata[0].unit, "seconds");
  EXPECT_EQ(batch.metadata[0].help, "Says \"hi\".");
  EXPECT_THAT(Render(batch), ElementsAre("line 4: req_seconds_bucket{le=\"+Inf\"} 3 @0"));
}

TEST(TextFormatTest, OpenMetricsTimestampsAreSecondsRoundedToMilliseconds) {
  struct Case {
    std::string text;
    int64_t want_ms;
  };
  const Case cases[] = {
      {"1700000000", 1700000000000},
      {"1700000000.123", 1700000000123},
      {"1700000000.1234", 1700000000123},
      {"1700000000.1235", 1700000000124},
      {"0.0005", 1},
      {"0.0004999", 0},
      {"-1.5", -1500},
      {"-0.0005", -1},
      {"+2", 2000},
      {".25", 250},
      {"3.", 3000},
      {"1.7e9", 1700000000000},
      {"1.25E1", 12500},
      {"-5e-1", -500},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    const DecodedBatch batch = Decode(absl::StrCat("m 1 ", c.text, "\n# EOF\n"), OpenMetrics());
    ASSERT_EQ(batch.series.size(), 1u);
    EXPECT_EQ(batch.series[0].samples[0].t, c.want_ms);
  }
}

TEST(TextFormatTest, OpenMetricsRejectsBadTimestamps) {
  for (const char* text : {"x", "NaN", "Inf", "1e300", "9223372036854775.808", "1.2.3", "1,5"}) {
    SCOPED_TRACE(text);
    EXPECT_EQ(ErrorOf(absl::StrCat("m 1 ", text, "\n# EOF\n"), OpenMetrics()),
              absl::StrFormat("line 1, column 5: invalid timestamp \"%s\"", text));
  }
}

TEST(TextFormatTest, TextFormatTimestampsAreIntegerMilliseconds) {
  EXPECT_EQ(ErrorOf("m 1 1.5"), "line 1, column 5: invalid timestamp \"1.5\"");
  EXPECT_EQ(ErrorOf("m 1 99999999999999999999"),
            "line 1, column 5: invalid timestamp \"99999999999999999999\"");
  EXPECT_THAT(Render(Decode("m 1 -9223372036854775808\nm 2 +5\n")),
              ElementsAre("line 1: m 1 @-9223372036854775808", "line 2: m 2 @5"));
}

TEST(TextFormatTest, OpenMetricsNeedsEofAndNothingAfterIt) {
  EXPECT_EQ(ErrorOf("m 1\n", OpenMetrics()),
            "line 2, column 1: missing \"# EOF\" at the end of OpenMetrics text");
  EXPECT_EQ(ErrorOf("m 1", OpenMetrics()),
            "line 1, column 4: missing \"# EOF\" at the end of OpenMetrics text");
  EXPECT_EQ(ErrorOf("", OpenMetrics()),
            "line 1, column 1: missing \"# EOF\" at the end of OpenMetrics text");
  EXPECT_EQ(ErrorOf("m 1\n# EOF\nm 2\n", OpenMetrics()),
            "line 3, column 1: unexpected content after \"# EOF\"");
  EXPECT_EQ(ErrorOf("# EOF\n\n  # EOF\n", OpenMetrics()),
            "line 3, column 3: unexpected content after \"# EOF\"");
  // Blank lines after the end marker are not content; CRLF and no final newline are fine too.
  EXPECT_EQ(ErrorOf("m 1\n# EOF\n\n\r\n", OpenMetrics()), "OK");
  EXPECT_EQ(ErrorOf("m 1\r\n# EOF", OpenMetrics()), "OK");
  // In text 0.0.4 it is an ordinary comment.
  EXPECT_THAT(Render(Decode("# EOF\nm 1\n")), ElementsAre("line 2: m 1 @0"));
}

TEST(TextFormatTest, OpenMetricsExemplarsAreCheckedAndDropped) {
  const DecodedBatch batch = Decode(
      "# TYPE foo counter\n"
      "foo_total 17 # {trace_id=\"KOO5S4vxi0o\"} 0.67\n"
      "foo_total{a=\"b\"} 18 1520879607.789 # {trace_id=\"oHg5SJYRHA0\",} 9.8 1520879607.789\n"
      "foo_bucket{le=\"1\"} 2 # {} 1\n"
      "# EOF\n",
      OpenMetrics());
  EXPECT_THAT(Render(batch),
              ElementsAre("line 2: foo_total 17 @0", "line 3: foo_total{a=\"b\"} 18 @1520879607789",
                          "line 4: foo_bucket{le=\"1\"} 2 @0"));
}

TEST(TextFormatTest, ReportsEachErrorWithLineAndColumn) {
  struct Case {
    std::string body;
    std::string want;
    bool openmetrics = false;
  };
  const Case cases[] = {
      {"foo{job\"x\"} 1", "line 1, column 8: expected '=' after label name \"job\""},
      {"foo abc", "line 1, column 5: invalid value \"abc\""},
      {"foo{a=\"b} 1", "line 1, column 7: unterminated label value"},
      {"foo{a=\"b\\", "line 1, column 7: unterminated label value"},
      {"foo{a=\"\\q\"} 1", "line 1, column 8: invalid escape \\q in label value"},
      {"foo{\"a\\t\"=\"b\"} 1", "line 1, column 7: invalid escape \\t in label name"},
      {"foo 1 x", "line 1, column 7: invalid timestamp \"x\""},
      {"foo", "line 1, column 4: missing value"},
      {"foo{a=\"b\"}", "line 1, column 11: missing value"},
      {"foo{a=\"b\"", "line 1, column 10: unterminated label set, expected '}'"},
      {"foo{a=\"b\",", "line 1, column 11: unterminated label set, expected '}'"},
      {"{a=\"b\"} 1", "line 1, column 1: missing metric name"},
      {"foo-bar 1", "line 1, column 4: unexpected character '-' after metric name \"foo\""},
      {"foo{a=b} 1", "line 1, column 7: expected '\"' to open the value of label \"a\""},
      {"foo{a} 1", "line 1, column 6: expected '=' after label name \"a\""},
      {"foo{a=\"b\" c=\"d\"} 1",
       "line 1, column 11: expected ',' or '}' after label \"a\", got 'c'"},
      {"foo{1a=\"b\"} 1", "line 1, column 5: expected label name or '}', got '1'"},
      {"foo{,} 1", "line 1, column 5: expected label name or '}', got ','"},
      {"foo 1 2 3", "line 1, column 9: unexpected text \"3\" after the timestamp"},
      {"\"foo\" 1", "line 1, column 1: expected metric name or '{', got '\"'"},
      {"{\"a\", \"b\"} 1", "line 1, column 7: metric name given twice"},
      {"foo{\"a\"} 1", "line 1, column 5: metric name given twice"},
      {"# TYPE foo bogus",
       "line 1, column 12: invalid metric type \"bogus\" (text format 0.0.4 knows counter, "
       "gauge, histogram, summary, untyped)"},
      {"# TYPE foo Counter",
       "line 1, column 12: invalid metric type \"Counter\" (text format 0.0.4 knows counter, "
       "gauge, histogram, summary, untyped)"},
      {"# TYPE foo ", "line 1, column 12: missing metric type after TYPE"},
      {"# HELP 1x y", "line 1, column 8: expected metric name after HELP"},
      {"# HELP  ", "line 1, column 9: expected metric name after HELP"},
      {"# TYPE a.b counter", "line 1, column 9: unexpected character '.' after metric name \"a\""},
      {"# HELP \"a text", "line 1, column 8: unterminated metric name"},
      {"ok 1\n# ok\n\nbad{x=\"1\"} one\n", "line 4, column 12: invalid value \"one\""},
      {"ok 1\r\nbad 1 2 3\r\n", "line 2, column 9: unexpected text \"3\" after the timestamp"},
      {"foo 1 # {a=\"b\"} 1", "line 1, column 7: invalid timestamp \"#\""},
      {"foo 1 # {a=\"b\"} x\n# EOF", "line 1, column 17: invalid exemplar value \"x\"", true},
      {"foo 1 # a\n# EOF", "line 1, column 9: expected '{' to open the exemplar's labels", true},
      {"foo 1 #\n# EOF", "line 1, column 8: expected '{' to open the exemplar's labels", true},
      {"foo 1 # {a=\"b\"}\n# EOF", "line 1, column 16: missing exemplar value", true},
      {"foo 1 # {\"a\"} 1\n# EOF", "line 1, column 13: expected '=' after label name \"a\"", true},
      {"foo 1 # {a=\"b\"} 1 z\n# EOF", "line 1, column 19: invalid exemplar timestamp \"z\"", true},
      {"foo 1 # {a=\"b\"} 1 2 3\n# EOF",
       "line 1, column 21: unexpected text \"3\" after the exemplar", true},
      {"foo 1 2 # {a=\"b\"} 1 \n# EOF", "OK", true},
      {"foo\xff 1", "line 1, column 4: unexpected character '\\xff' after metric name \"foo\""},
      {"foo 1\xC3\xA9", "line 1, column 5: invalid value \"1\xC3\xA9\""},  // é stays readable.
      {"foo 1\xC3", "line 1, column 5: invalid value \"1\\xc3\""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(Escaped(c.body));
    TextFormatOptions options;
    options.openmetrics = c.openmetrics;
    EXPECT_EQ(ErrorOf(c.body, options), c.want);
  }
}

TEST(TextFormatTest, MetricTypesAreTheOnesTheFormatDefines) {
  struct Case {
    std::string type;
    bool in_text;
    bool in_openmetrics;
  };
  const Case cases[] = {
      {"counter", true, true},         {"gauge", true, true},    {"histogram", true, true},
      {"summary", true, true},         {"untyped", true, false}, {"unknown", false, true},
      {"gaugehistogram", false, true}, {"info", false, true},    {"stateset", false, true}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.type);
    const std::string line = absl::StrCat("# TYPE m ", c.type, "\n");
    EXPECT_EQ(ErrorOf(line) == "OK", c.in_text) << ErrorOf(line);
    EXPECT_EQ(ErrorOf(absl::StrCat(line, "# EOF\n"), OpenMetrics()) == "OK", c.in_openmetrics);
  }
  EXPECT_EQ(ErrorOf("# TYPE m untyped\n# EOF\n", OpenMetrics()),
            "line 1, column 10: invalid metric type \"untyped\" (OpenMetrics knows counter, "
            "gauge, histogram, gaugehistogram, summary, info, stateset, unknown)");
}

TEST(TextFormatTest, LineLongerThanTheLimitIsRejectedNamingIt) {
  TextFormatOptions options;
  options.max_line_bytes = 8;
  // At the limit is fine, and the "\r" of a "\r\n" does not count.
  EXPECT_EQ(ErrorOf("m{} 1234\nm 123456\r\n", options), "OK");
  EXPECT_EQ(ErrorOf("m 1\nm 1234567\n", options),
            "line 2, column 9: line is 9 bytes long, over the limit of 8 (max_line_bytes)");
  // Comments and blank lines count too: they are where a body of junk would hide.
  EXPECT_EQ(ErrorOf("# 3456789", options),
            "line 1, column 9: line is 9 bytes long, over the limit of 8 (max_line_bytes)");
  EXPECT_EQ(ErrorOf(std::string(9, ' '), options),
            "line 1, column 9: line is 9 bytes long, over the limit of 8 (max_line_bytes)");
}

TEST(TextFormatTest, TenMegabytesWithoutANewlineAreRejectedAtTheDefaultLimit) {
  for (const char* junk : {"#", " ", "m"}) {
    SCOPED_TRACE(junk);
    const std::string body = absl::StrCat(junk, std::string((10 << 20) - 1, 'x'));
    EXPECT_EQ(ErrorOf(body),
              "line 1, column 1048577: line is 10485760 bytes long, over the limit of 1048576 "
              "(max_line_bytes)");
  }
}

TEST(TextFormatTest, LongTokensAreCutInMessages) {
  const std::string value(100, 'x');
  EXPECT_EQ(ErrorOf(absl::StrCat("m ", value)),
            absl::StrCat("line 1, column 3: invalid value \"", std::string(64, 'x'), "...\""));
}

// Whatever the bytes, the decoder returns OK or InvalidArgument "line N, column C: ...".
void ExpectOkOrLocatedError(std::string_view body, const TextFormatOptions& options) {
  DecodedBatch batch;
  const absl::Status status = ParseTextFormat(body, options, &batch);
  if (status.ok()) return;
  ASSERT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << Escaped(body);
  ASSERT_TRUE(absl::StartsWith(status.message(), "line ")) << status;
}

TEST(TextFormatTest, EveryTruncationAndRandomBytesGiveOkOrInvalidArgument) {
  const std::string body =
      "# HELP rpc \"quoted\" \\\\ help\\n\n"
      "# TYPE rpc summary\r\n"
      "# UNIT rpc seconds\n"
      "rpc{quantile=\"0.5\",path=\"/a\\\"b\\\\c\\n\"} 4.77e-3 1700000000.5 # {t=\"x\"} 1 2.5\n"
      "{\"my.metric\",\"la.bel\"=\"v\",} -Inf\n"
      "rpc_count 2693 -1\n"
      "# EOF\n";
  for (const bool openmetrics : {false, true}) {
    TextFormatOptions options;
    options.openmetrics = openmetrics;
    for (size_t n = 0; n <= body.size(); ++n) {
      ExpectOkOrLocatedError(std::string_view(body).substr(0, n), options);
      // And without the byte at n, to reach states a clean cut cannot.
      if (n < body.size()) {
        ExpectOkOrLocatedError(absl::StrCat(body.substr(0, n), body.substr(n + 1)), options);
      }
    }
  }
  std::mt19937 rng(42);
  // Mostly the format's own punctuation, so that the random lines get past the first byte.
  const std::string alphabet = "ab_:{}=\",# \\\n\r\t.0123456789eE+-InfNa\"\"{}";
  for (int i = 0; i < 5000; ++i) {
    std::string input(std::uniform_int_distribution<int>(0, 80)(rng), '\0');
    for (char& c : input) {
      c = (rng() % 8 == 0) ? static_cast<char>(rng() % 256) : alphabet[rng() % alphabet.size()];
    }
    ExpectOkOrLocatedError(input, TextFormatOptions{});
    ExpectOkOrLocatedError(input, OpenMetrics());
  }
}

}  // namespace
}  // namespace ember::ingest
