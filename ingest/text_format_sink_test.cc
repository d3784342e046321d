// Tests of the streaming form of the text format decoder (TextSampleSink), the scraper's: each
// sample line reaches the sink with the same labels, sample and line as the batch form gives,
// the series text it is asked about is exactly the line's name and label set, and a sink that
// knows a text gets the same samples and the same errors without the labels being parsed.
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ingest/text_format.h"

namespace ember::ingest {
namespace {

using ::testing::ElementsAre;

struct Got {
  Labels labels;
  Sample sample;
  uint32_t line = 0;
};

// Keeps what it is given; with `remember`, knows every text it was given labels for and
// answers later lines of that text from memory, as the scrape cache does.
class RecordingSink final : public TextSampleSink {
 public:
  explicit RecordingSink(bool remember) : remember_(remember) {}

  bool Known(std::string_view series) override {
    asked.emplace_back(series);
    known_ = remember_ && texts_.contains(std::string(series));
    return known_;
  }
  void Add(std::string_view series, Labels* labels, const Sample& sample, uint32_t line) override {
    if (labels == nullptr) {
      EXPECT_TRUE(known_) << "labels skipped for a text the sink did not know: " << series;
      ++skipped;
      got.push_back(Got{texts_[std::string(series)], sample, line});
    } else {
      EXPECT_FALSE(known_) << "labels parsed for a known text: " << series;
      texts_[std::string(series)] = *labels;
      got.push_back(Got{*labels, sample, line});
    }
    known_ = false;
  }

  std::vector<std::string> asked;
  std::vector<Got> got;
  int skipped = 0;

 private:
  const bool remember_;
  bool known_ = false;
  std::map<std::string, Labels> texts_;
};

// "line 3: {__name__=..., a=...} 1 @1000", or the error: one string per line for comparisons.
std::vector<std::string> Render(const std::vector<Got>& got) {
  std::vector<std::string> out;
  for (const Got& g : got) {
    std::string labels;
    for (const Label& l : g.labels) {
      absl::StrAppend(&labels, absl::CEscape(l.name), "=", absl::CEscape(l.value), ",");
    }
    out.push_back(absl::StrCat("line ", g.line, ": {", labels, "} ", g.sample.v, " @", g.sample.t));
  }
  return out;
}

std::vector<std::string> Render(const DecodedBatch& batch) {
  std::vector<Got> got;
  for (const DecodedSeries& s : batch.series) {
    for (const Sample& sample : s.samples) got.push_back(Got{s.labels, sample, s.position});
  }
  return Render(got);
}

// The batch form's lines and status, as one comparable list.
std::vector<std::string> ViaBatch(std::string_view body, const TextFormatOptions& options) {
  DecodedBatch batch;
  const absl::Status s = ParseTextFormat(body, options, &batch);
  if (!s.ok()) return {s.ToString()};
  return Render(batch);
}

// The sink form's lines and status; on an error, only the status (the batch form's lines are
// then unspecified).
std::vector<std::string> ViaSink(std::string_view body, const TextFormatOptions& options,
                                 RecordingSink* sink) {
  sink->got.clear();
  const absl::Status s = ParseTextFormat(body, options, sink);
  if (!s.ok()) return {s.ToString()};
  return Render(sink->got);
}

const char kBody[] =
    "# HELP rpc Latency.\n"
    "# TYPE rpc summary\n"
    "rpc{quantile=\"0.5\",path=\"/a\\\"}\\\\c\\n\"} 4.77e-3 1700000000000\n"
    "rpc {quantile=\"0.9\" , } 5\n"
    "{\"my.metric\",\"la.bel\"=\"v\",} -Inf\n"
    "rpc_count 2693\n"
    "rpc_count\t2694 17\n"
    "  padded{a=\"}\"}   NaN\n"
    "rpc_count 2695\n";

TEST(TextFormatSinkTest, SinkGetsWhatTheBatchGets) {
  RecordingSink sink(/*remember=*/false);
  EXPECT_EQ(ViaSink(kBody, {}, &sink), ViaBatch(kBody, {}));
  EXPECT_EQ(sink.got.size(), 7u);
  EXPECT_EQ(sink.skipped, 0);
}

TEST(TextFormatSinkTest, SeriesTextIsTheNameAndLabelSetAsWritten) {
  RecordingSink sink(/*remember=*/false);
  ASSERT_TRUE(ParseTextFormat(kBody, {}, &sink).ok());
  EXPECT_THAT(sink.asked,
              ElementsAre("rpc{quantile=\"0.5\",path=\"/a\\\"}\\\\c\\n\"}",
                          "rpc {quantile=\"0.9\" , }", "{\"my.metric\",\"la.bel\"=\"v\",}",
                          "rpc_count", "rpc_count", "padded{a=\"}\"}", "rpc_count"));
}

TEST(TextFormatSinkTest, KnownSeriesAreNotParsedAndGiveTheSameSamples) {
  RecordingSink sink(/*remember=*/true);
  const std::vector<std::string> want = ViaBatch(kBody, {});
  EXPECT_EQ(ViaSink(kBody, {}, &sink), want);
  EXPECT_EQ(sink.skipped, 2) << "rpc_count is known from its first line on";
  EXPECT_EQ(ViaSink(kBody, {}, &sink), want);
  EXPECT_EQ(sink.skipped, 2 + 7) << "every line known the second time";
}

TEST(TextFormatSinkTest, ExtraLabelsAreAddedToParsedLabels) {
  TextFormatOptions options;
  options.extra_labels = {{"job", "x"}, {"quantile", "all"}};
  RecordingSink sink(/*remember=*/true);
  EXPECT_EQ(ViaSink(kBody, options, &sink), ViaBatch(kBody, options));
  EXPECT_EQ(ViaSink(kBody, options, &sink), ViaBatch(kBody, options));
}

TEST(TextFormatSinkTest, HelpTypeAndUnitAreCheckedButNotKept) {
  RecordingSink sink(/*remember=*/false);
  EXPECT_TRUE(ParseTextFormat("# HELP a x\n# UNIT a b\n# TYPE a gauge\na 1\n", {}, &sink).ok());
  EXPECT_EQ(ParseTextFormat("# TYPE a bogus\n", {}, &sink).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseTextFormat("# HELP 1a x\n", {}, &sink).code(), absl::StatusCode::kInvalidArgument);
}

// A known text followed by something else: the same error (line and column) as a full parse.
TEST(TextFormatSinkTest, ErrorsAreTheSameWhenTheSeriesIsKnown) {
  const std::string known = "foo 1\nfoo{a=\"b\"} 1\n{\"q.x\"} 1\n";
  const char* bad[] = {
      "foo{a=\"b\"} one",
      "foo{a=\"b\"}x 1",
      "foo{a=\"b\"}",
      "foo{a=\"b\"}} 1",
      "foo 1 x",
      "foo-bar 1",
      "foo",
      "foo{a=\"b\"} 1 2 3",
      "foo{a=\"b\"",
      "foo{a=\"b\",} 1",
      "foo {a=\"b\"} 1",
      "{\"q.x\"}",
      "{\"q.x\"} 1 # {a} 1",
      "foo{a=\"b\\\"} 1",
      "foo\xff 1",
  };
  for (const char* line : bad) {
    const std::string body = absl::StrCat(known, line, "\n");
    SCOPED_TRACE(absl::CEscape(body));
    RecordingSink sink(/*remember=*/true);
    ASSERT_TRUE(ParseTextFormat(known, {}, &sink).ok());
    EXPECT_EQ(ViaSink(body, {}, &sink), ViaBatch(body, {}));
  }
}

// Valid lines with random edits, each body parsed twice by a remembering sink: whatever the
// sink knows, the samples and errors are the batch form's.
TEST(TextFormatSinkTest, RandomBodiesGiveTheSameResultsWithAndWithoutKnownSeries) {
  std::mt19937 rng(7);
  const std::string lines[] = {
      "a{a=\"1\"} 1",  "a 2",       "a{a=\"1\",b=\"}\"} 3 1000", "{\"a.b\",c=\"\\\\\"} 4",
      "a {a=\"1\"} 5", "b_c:d 6 7", "a{a=\"\\\"x\"} NaN",        "# TYPE a gauge"};
  const std::string punctuation = "a_:{}=\",# \\1.\t";
  int parsed = 0;  // Bodies without an error: the test must reach known texts that way too.
  for (int i = 0; i < 3000; ++i) {
    std::string body;
    const int n = std::uniform_int_distribution<int>(1, 4)(rng);
    for (int k = 0; k < n; ++k) {
      std::string line = lines[rng() % std::size(lines)];
      if (rng() % 3 == 0) {  // One edit: replace, insert or delete a byte.
        const size_t at = rng() % (line.size() + 1);
        const char c = punctuation[rng() % punctuation.size()];
        switch (rng() % 3) {
          case 0:
            if (at < line.size()) line[at] = c;
            break;
          case 1:
            line.insert(at, 1, c);
            break;
          default:
            if (at < line.size()) line.erase(at, 1);
        }
      }
      absl::StrAppend(&body, line, "\n");
    }
    body = absl::StrCat(body, body);  // Every text a second time.
    SCOPED_TRACE(absl::CEscape(body));
    const std::vector<std::string> want = ViaBatch(body, {});
    RecordingSink sink(/*remember=*/true);
    ASSERT_EQ(ViaSink(body, {}, &sink), want);
    ASSERT_EQ(ViaSink(body, {}, &sink), want);
    if (!sink.got.empty()) ++parsed;
  }
  EXPECT_GT(parsed, 1000);
  EXPECT_LT(parsed, 2900) << "errors are compared too";
}

}  // namespace
}  // namespace ember::ingest
