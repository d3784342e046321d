// Tests of the InfluxDB line protocol decoder: series naming, field types, every escape,
// precisions and timestamps, every error with its line and column, and that no input, however
// broken, does more than return InvalidArgument.
#include "ingest/influx.h"

#include <cstdint>
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

// `line 3: cpu_usage{host="a"} 0.5 @1000`: labels in the order decoded, values with %.17g.
std::string Render(const DecodedSeries& s) {
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
  std::string out = absl::StrCat("line ", s.position, ": ", name,
                                 labels.empty() ? "" : absl::StrCat("{", labels, "}"));
  for (const Sample& sample : s.samples) {
    absl::StrAppend(&out, absl::StrFormat(" %.17g @%d", sample.v, sample.t));
  }
  return out;
}

std::vector<std::string> Render(const DecodedBatch& batch) {
  std::vector<std::string> out;
  for (const DecodedSeries& s : batch.series) out.push_back(Render(s));
  return out;
}

// Decodes `body`, failing the test on an error.
DecodedBatch Decode(std::string_view body, const InfluxOptions& options = {}) {
  DecodedBatch batch;
  const absl::Status status = ParseInfluxLines(body, options, &batch);
  EXPECT_TRUE(status.ok()) << status;
  return batch;
}

// The message of the error `body` gives, or "OK".
std::string ErrorOf(std::string_view body, const InfluxOptions& options = {}) {
  DecodedBatch batch;
  const absl::Status status = ParseInfluxLines(body, options, &batch);
  if (status.ok()) return "OK";
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  return std::string(status.message());
}

TEST(InfluxTest, NamesSeriesMeasurementUnderscoreFieldWithTagsAsLabels) {
  const DecodedBatch batch = Decode(
      "cpu,host=a,region=eu usage=0.5,idle=99i 1700000000123456789\n"
      "mem free=1024i\n");
  EXPECT_EQ(batch.kind, PositionKind::kLine);
  EXPECT_THAT(Render(batch),
              ElementsAre("line 1: cpu_usage{host=\"a\",region=\"eu\"} 0.5 @1700000000123",
                          "line 1: cpu_idle{host=\"a\",region=\"eu\"} 99 @1700000000123",
                          "line 2: mem_free 1024 @0"));
  ASSERT_EQ(batch.series.size(), 3u);
  EXPECT_EQ(batch.series[0].labels,
            (Labels{{"__name__", "cpu_usage"}, {"host", "a"}, {"region", "eu"}}));
  EXPECT_THAT(batch.metadata, IsEmpty());
}

TEST(InfluxTest, ParsesEveryFieldType) {
  struct Case {
    std::string text;
    double want;
  };
  const Case cases[] = {
      {"1.5", 1.5},
      {"-2", -2},
      {"1e3", 1000},
      {"-1.5E-2", -0.015},
      {".5", 0.5},
      {"12i", 12},
      {"-12i", -12},
      {"+12i", 12},
      {"-9223372036854775808i", -9223372036854775808.0},
      {"12u", 12},
      {"18446744073709551615u", 18446744073709551615.0},
      {"t", 1},
      {"T", 1},
      {"true", 1},
      {"True", 1},
      {"TRUE", 1},
      {"f", 0},
      {"F", 0},
      {"false", 0},
      {"False", 0},
      {"FALSE", 0},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    const DecodedBatch batch = Decode(absl::StrCat("m v=", c.text));
    ASSERT_EQ(batch.series.size(), 1u);
    ASSERT_EQ(batch.series[0].samples.size(), 1u);
    EXPECT_EQ(batch.series[0].samples[0].v, c.want);
  }
}

TEST(InfluxTest, SkipsStringFieldsButChecksTheirQuotes) {
  EXPECT_THAT(Render(Decode("m s=\"a \\\"q\\\" \\\\ , = x\",v=1,e=\"\",w=\"\\\\\" 5000000\n")),
              ElementsAre("line 1: m_v 1 @5"));
  // A line whose fields are all strings decodes to nothing.
  EXPECT_THAT(Render(Decode("m s=\"x\"\n")), IsEmpty());
}

TEST(InfluxTest, UnescapesMeasurementTagsAndFieldKeys) {
  const DecodedBatch batch = Decode(
      "my\\ cpu\\,x,ta\\=g\\ k=v\\,a\\ l\\=ue,b\\\\s=x\\\\y f\\ i\\,e\\=ld=1\n"
      "lit\\eral,t=a\\b v=2\n"
      "a=b f=3\n"
      "c\\=d f=4\n");
  ASSERT_EQ(batch.series.size(), 4u);
  EXPECT_EQ(batch.series[0].labels,
            (Labels{{"__name__", "my cpu,x_f i,e=ld"}, {"ta=g k", "v,a l=ue"}, {"b\\s", "x\\y"}}));
  // A backslash before anything else is literal.
  EXPECT_EQ(batch.series[1].labels, (Labels{{"__name__", "lit\\eral_v"}, {"t", "a\\b"}}));
  // Equals signs need no escape in a measurement, and are not unescaped there.
  EXPECT_EQ(batch.series[2].labels, (Labels{{"__name__", "a=b_f"}}));
  EXPECT_EQ(batch.series[3].labels, (Labels{{"__name__", "c\\=d_f"}}));
}

TEST(InfluxTest, ConvertsTimestampsWithThePrecision) {
  struct Case {
    std::string name;
    int64_t ns_per_unit;
    std::string text;
    int64_t want_ms;
  };
  const Case cases[] = {
      {"ns", 1, "1700000000123456789", 1700000000123},
      {"us", 1'000, "1700000000123456", 1700000000123},
      {"ms", 1'000'000, "1700000000123", 1700000000123},
      {"s", 1'000'000'000, "1700000000", 1700000000000},
      {"m", 60'000'000'000, "2", 120000},
      {"h", 3'600'000'000'000, "-1", -3600000},
      {"ns before 1970 floors", 1, "-1", -1},
      {"ns before 1970 exact", 1, "-2000000", -2},
      {"us before 1970 floors", 1'000, "-1500", -2},
      {"zero", 1, "0", 0},
      {"plus sign", 1, "+5000000", 5},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    InfluxOptions options;
    options.ns_per_unit = c.ns_per_unit;
    const DecodedBatch batch = Decode(absl::StrCat("m v=1,w=2 ", c.text), options);
    ASSERT_EQ(batch.series.size(), 2u);
    EXPECT_EQ(batch.series[0].samples[0].t, c.want_ms);
    EXPECT_EQ(batch.series[1].samples[0].t, c.want_ms);
  }
}

TEST(InfluxTest, LinesWithoutTimestampGetTheDefault) {
  InfluxOptions options;
  options.default_timestamp_ms = 1700000000000;
  EXPECT_THAT(Render(Decode("m v=1\nm v=2 3000000\nm v=3   \n", options)),
              ElementsAre("line 1: m_v 1 @1700000000000", "line 2: m_v 2 @3",
                          "line 3: m_v 3 @1700000000000"));
}

TEST(InfluxTest, SkipsCommentsAndBlankLinesAndAcceptsCrlf) {
  EXPECT_THAT(Render(Decode("# a comment\n\n  \t\r\ncpu v=1 1000000\r\n  # indented comment\n"
                            "  mem v=2\r\n")),
              ElementsAre("line 4: cpu_v 1 @1", "line 6: mem_v 2 @0"));
}

TEST(InfluxTest, ToleratesRunsOfSpacesBetweenSections) {
  EXPECT_THAT(Render(Decode("cpu,a=b   v=1    2000000  ")),
              ElementsAre("line 1: cpu_v{a=\"b\"} 1 @2"));
}

TEST(InfluxTest, ExtraLabelsReplaceTagsOrAppend) {
  InfluxOptions options;
  options.extra_labels = {{"host", "forced"}, {"db", "telegraf"}};
  const DecodedBatch batch = Decode("cpu,host=a,zone=z v=1,w=2\n", options);
  ASSERT_EQ(batch.series.size(), 2u);
  for (const DecodedSeries& s : batch.series) {
    ASSERT_EQ(s.labels.size(), 4u);
    EXPECT_EQ(s.labels[1], (Label{"host", "forced"}));
    EXPECT_EQ(s.labels[2], (Label{"zone", "z"}));
    EXPECT_EQ(s.labels[3], (Label{"db", "telegraf"}));
  }
  EXPECT_EQ(batch.series[1].labels[0], (Label{"__name__", "cpu_w"}));
}

TEST(InfluxTest, TagsDoNotLeakFromOneLineToTheNext) {
  EXPECT_THAT(Render(Decode("cpu,a=1,b=2 v=1\ncpu,c=3 v=2\ncpu v=3\n")),
              ElementsAre("line 1: cpu_v{a=\"1\",b=\"2\"} 1 @0", "line 2: cpu_v{c=\"3\"} 2 @0",
                          "line 3: cpu_v 3 @0"));
}

TEST(InfluxTest, PrecisionNamesMapToNanosecondsPerUnit) {
  struct Case {
    std::string precision;
    int64_t want;
  };
  const Case cases[] = {
      {"", 1},
      {"n", 1},
      {"ns", 1},
      {"u", 1'000},
      {"us", 1'000},
      {"\xC2\xB5", 1'000},
      {"ms", 1'000'000},
      {"s", 1'000'000'000},
      {"m", 60'000'000'000},
      {"h", 3'600'000'000'000},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.precision);
    const absl::StatusOr<int64_t> got = InfluxPrecision(c.precision);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, c.want);
  }
  for (const char* bad : {"x", "S", "sec", "nanoseconds", "mss"}) {
    SCOPED_TRACE(bad);
    const absl::StatusOr<int64_t> got = InfluxPrecision(bad);
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(got.status().message(), absl::StrCat("\"", bad, "\"")))
        << got.status();
  }
  // Valid UTF-8 stays readable in the message; a control byte is hex-escaped.
  EXPECT_EQ(InfluxPrecision("\xC2\xB5s\x01").status().message(),
            "invalid precision \"\xC2\xB5s\\x01\": want n, ns, u, us, \xC2\xB5, ms, s, m or h");
}

TEST(InfluxTest, RejectsNonPositiveNanosPerUnit) {
  InfluxOptions options;
  options.ns_per_unit = 0;
  EXPECT_EQ(ErrorOf("m v=1", options), "ns_per_unit must be positive, got 0");
}

TEST(InfluxTest, ReportsEachErrorWithLineAndColumn) {
  struct Case {
    std::string body;
    std::string want;
  };
  const Case cases[] = {
      {"cpu", "line 1, column 4: missing field set"},
      {"cpu ", "line 1, column 5: missing field set"},
      {"cpu,host=a", "line 1, column 11: missing field set"},
      {",a=b x=1", "line 1, column 1: missing measurement"},
      {"cpu x=abc", "line 1, column 7: invalid field value \"abc\" for field \"x\""},
      {"cpu x=NaN", "line 1, column 7: invalid field value \"NaN\" for field \"x\""},
      {"cpu x=Inf", "line 1, column 7: invalid field value \"Inf\" for field \"x\""},
      {"cpu x=1.5i", "line 1, column 7: invalid field value \"1.5i\" for field \"x\""},
      {"cpu x=-1u", "line 1, column 7: invalid field value \"-1u\" for field \"x\""},
      {"cpu x=99999999999999999999i",
       "line 1, column 7: invalid field value \"99999999999999999999i\" for field \"x\""},
      {"cpu x=1e400", "line 1, column 7: invalid field value \"1e400\" for field \"x\""},
      {"cpu x=yes", "line 1, column 7: invalid field value \"yes\" for field \"x\""},
      {"cpu x=i", "line 1, column 7: invalid field value \"i\" for field \"x\""},
      {"cpu x=1 abc", "line 1, column 9: invalid timestamp \"abc\""},
      {"cpu x=1 1.5", "line 1, column 9: invalid timestamp \"1.5\""},
      {"cpu x=1 1 2", "line 1, column 11: unexpected text \"2\" after the timestamp"},
      {"cpu x=\"abc", "line 1, column 7: unterminated string value for field \"x\""},
      {"cpu x=\"abc\\\"", "line 1, column 7: unterminated string value for field \"x\""},
      {"cpu x=\"a\"y", "line 1, column 10: expected ',' or ' ' after the value of field \"x\""},
      {"cpu,host x=1", "line 1, column 9: expected '=' after tag key \"host\""},
      {"cpu,host,a=b x=1", "line 1, column 9: expected '=' after tag key \"host\""},
      {"cpu,=a x=1", "line 1, column 5: missing tag key"},
      {"cpu, x=1", "line 1, column 5: missing tag key"},
      {"cpu,host= x=1", "line 1, column 10: missing value for tag \"host\""},
      {"cpu,a=b=c x=1", "line 1, column 8: unescaped '=' in the value of tag \"a\""},
      {"cpu x", "line 1, column 6: expected '=' after field key \"x\""},
      {"cpu x y=1", "line 1, column 6: expected '=' after field key \"x\""},
      {"cpu =1", "line 1, column 5: missing field key"},
      {"cpu x=1,", "line 1, column 9: missing field key"},
      {"cpu x=1,,y=2", "line 1, column 9: missing field key"},
      {"cpu x=", "line 1, column 7: missing value for field \"x\""},
      {"cpu x=,y=1", "line 1, column 7: missing value for field \"x\""},
      {"ok v=1\n# fine\n\nbad v=one\n",
       "line 4, column 7: invalid field value \"one\" for field \"v\""},
      {"ok v=1\r\nbad\r\n", "line 2, column 4: missing field set"},
      {"cpu x=1 9223372036854775807", "OK"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(Escaped(c.body));
    EXPECT_EQ(ErrorOf(c.body), c.want);
  }
  InfluxOptions hours;
  hours.ns_per_unit = 3'600'000'000'000;
  EXPECT_EQ(ErrorOf("cpu x=1 9223372036854775807", hours),
            "line 1, column 9: timestamp 9223372036854775807 out of range (3600000000000 ns per "
            "unit)");
}

TEST(InfluxTest, LineLongerThanTheLimitIsRejectedNamingIt) {
  InfluxOptions options;
  options.max_line_bytes = 8;
  // At the limit is fine, and the "\r" of a "\r\n" does not count.
  EXPECT_EQ(ErrorOf("cpu x=12\r\n", options), "OK");
  EXPECT_EQ(ErrorOf("cpu x=1\ncpu x=123\n", options),
            "line 2, column 9: line is 9 bytes long, over the limit of 8 (max_line_bytes)");
  EXPECT_EQ(ErrorOf("# comment", options),
            "line 1, column 9: line is 9 bytes long, over the limit of 8 (max_line_bytes)");
}

TEST(InfluxTest, TenMegabytesWithoutANewlineAreRejectedAtTheDefaultLimit) {
  for (const char* junk : {"#", " ", "m"}) {
    SCOPED_TRACE(junk);
    const std::string body = absl::StrCat(junk, std::string((10 << 20) - 1, 'x'));
    EXPECT_EQ(ErrorOf(body),
              "line 1, column 1048577: line is 10485760 bytes long, over the limit of 1048576 "
              "(max_line_bytes)");
  }
}

// Whatever the bytes, the decoder returns OK or InvalidArgument "line N, column C: ...".
void ExpectOkOrLocatedError(std::string_view body, const InfluxOptions& options) {
  DecodedBatch batch;
  const absl::Status status = ParseInfluxLines(body, options, &batch);
  if (status.ok()) return;
  ASSERT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << Escaped(body);
  ASSERT_TRUE(absl::StartsWith(status.message(), "line ")) << status;
}

TEST(InfluxTest, EveryTruncationAndRandomBytesGiveOkOrInvalidArgument) {
  const std::string body =
      "# comment\n"
      "my\\ cpu,host=a\\,b,z\\=y=w usage=0.5,idle=99i,up=t,s=\"x\\\"y\\\\\",n=3u "
      "1700000000000000000\r\n"
      "\n"
      "mem,host=a free=-1.5e3 -5\n";
  InfluxOptions options;
  options.ns_per_unit = 1'000;
  for (size_t n = 0; n <= body.size(); ++n) {
    ExpectOkOrLocatedError(std::string_view(body).substr(0, n), options);
    // And without the byte at n, to reach states a clean cut cannot.
    if (n < body.size()) {
      ExpectOkOrLocatedError(absl::StrCat(body.substr(0, n), body.substr(n + 1)), options);
    }
  }
  std::mt19937 rng(42);
  // Mostly the protocol's own punctuation, so that the random lines get past the first byte.
  const std::string alphabet = "ab,= \\\"#\n\r\t.0123456789eEiu+-tfTF";
  for (int i = 0; i < 5000; ++i) {
    std::string input(std::uniform_int_distribution<int>(0, 80)(rng), '\0');
    for (char& c : input) {
      c = (rng() % 8 == 0) ? static_cast<char>(rng() % 256) : alphabet[rng() % alphabet.size()];
    }
    ExpectOkOrLocatedError(input, options);
  }
}

}  // namespace
}  // namespace ember::ingest
