// Hostile input at the query API (see bad_input_testing.h): its parameters, PromQL text that
// does not parse or type-check, and queries heavy enough to need the timeout.
#include "tests/bad_input_testing.h"

namespace ember {
namespace {

Case ApiCase(std::string name, std::string target, std::vector<int> want, std::string text) {
  Case c;
  c.name = std::move(name);
  c.target = std::move(target);
  c.want_status = std::move(want);
  c.want_text = std::move(text);
  c.api_error = true;
  return c;
}

// ---- Query API parameters. ---------------------------------------------------------------------

// Times no endpoint may take: not numbers, not finite, out of any range, not dates.
const std::vector<std::string>& BadTimes() {
  static const std::vector<std::string> v = {"NaN",
                                             "nan",
                                             "Inf",
                                             "+Inf",
                                             "-Inf",
                                             "1e300",
                                             "-1e300",
                                             "9223372036854775807",
                                             "-9223372036854775808",
                                             "99999-12-31T23:59:59Z",
                                             "292277026596-12-04T15:30:07Z",
                                             "2024-02-30T00:00:00Z",
                                             "2024-01-01T25:00:00Z",
                                             "2024-01-01 00:00:00",
                                             "garbage",
                                             "1.2.3",
                                             "12abc",
                                             "1e",
                                             "--1",
                                             "0x"};
  return v;
}

// Durations no step, timeout or lookback_delta may take.
const std::vector<std::string>& BadDurations() {
  static const std::vector<std::string> v = {"NaN",   "Inf",    "+Inf", "-Inf",
                                             "1e300", "-1e300", "-1",   "-5m",
                                             "abc",   "5x",     "1y2",  "9223372036854775807"};
  return v;
}

TEST_F(BadInputTest, QueryApiParametersAre400NamingTheParameter) {
  const std::string t = Seconds(base_ms());
  const std::string start = Seconds(base_ms() - 3'600'000);
  const std::string q = "query=bi_good";
  std::vector<Case> cases;
  auto add = [&](const std::string& target, const std::string& param) {
    cases.push_back(ApiCase(target, target, {400}, InvalidParam(param)));
  };
  for (const std::string& raw : BadTimes()) {
    const std::string v = UrlEncode(raw);
    add(absl::StrCat("/api/v1/query?", q, "&time=", v), "time");
    add(absl::StrCat("/api/v1/query_range?", q, "&start=", v, "&end=", t, "&step=60"), "start");
    add(absl::StrCat("/api/v1/query_range?", q, "&start=", start, "&end=", v, "&step=60"), "end");
    add(absl::StrCat("/api/v1/series?match[]=bi_good&start=", v), "start");
    add(absl::StrCat("/api/v1/series?match[]=bi_good&end=", v), "end");
    add(absl::StrCat("/api/v1/labels?start=", v), "start");
    add(absl::StrCat("/api/v1/label/door/values?end=", v), "end");
  }
  for (const std::string& raw : BadDurations()) {
    const std::string v = UrlEncode(raw);
    const std::string range = absl::StrCat("/api/v1/query_range?", q, "&start=", start, "&end=", t);
    add(absl::StrCat(range, "&step=", v), "step");
    add(absl::StrCat("/api/v1/query?", q, "&time=", t, "&timeout=", v), "timeout");
    add(absl::StrCat(range, "&step=60&timeout=", v), "timeout");
    add(absl::StrCat("/api/v1/query?", q, "&time=", t, "&lookback_delta=", v), "lookback_delta");
    add(absl::StrCat(range, "&step=60&lookback_delta=", v), "lookback_delta");
  }
  for (const char* v : {"0", "0s", "-0", ""}) {  // Zero steps, and an empty one.
    add(absl::StrCat("/api/v1/query_range?", q, "&start=", start, "&end=", t, "&step=", v), "step");
  }
  for (const char* v : {"-1", "abc", "1e99", "1.5", "NaN", "99999999999999999999999"}) {
    add(absl::StrCat("/api/v1/series?match[]=bi_good&limit=", v), "limit");
    add(absl::StrCat("/api/v1/labels?limit=", v), "limit");
    add(absl::StrCat("/api/v1/label/door/values?limit=", v), "limit");
  }
  add(absl::StrCat("/api/v1/query_range?", q, "&end=", t, "&step=60"), "start");  // Missing.
  add(absl::StrCat("/api/v1/query_range?", q, "&start=", start, "&step=60"), "end");
  add(absl::StrCat("/api/v1/query_range?", q, "&start=", t, "&end=", start, "&step=60"), "end");
  add("/api/v1/query?time=1", "query");
  add("/api/v1/query?query=&time=1", "query");
  add("/api/v1/query_range?start=1&end=2&step=1", "query");
  // Prometheus's own words for a missing match[] (they name it, without "invalid parameter").
  cases.push_back(
      ApiCase("/api/v1/series", "/api/v1/series", {400}, "no match[] parameter provided"));
  add("/api/v1/series?match[]=%7B", "match[]");
  add("/api/v1/series?match[]=%7B__name__%3D~%22.*%22%7D", "match[]");  // Matches everything.
  add("/api/v1/labels?match[]=" + UrlEncode("sum("), "match[]");
  add("/api/v1/format_query", "query");
  add("/api/v1/format_query?query=sum(", "query");
  add("/api/v1/format_query?query=%FF%FE", "query");
  // Too many points: 1 ms steps over a day; the message names step.
  cases.push_back(ApiCase("too many points",
                          absl::StrCat("/api/v1/query_range?", q, "&start=", start,
                                       "&end=", Seconds(base_ms() + 86'400'000), "&step=0.001"),
                          {400}, "step"));
  // The same parameters in a POST form: the form body is read with the same rules.
  Case form = ApiCase("POST form time=NaN", "/api/v1/query", {400}, InvalidParam("time"));
  form.method = "POST";
  form.body = "query=bi_good&time=NaN";
  form.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  cases.push_back(form);
  form.name = "POST form with %zz";
  form.body = "query=%zz&time=1";
  form.want_text = "";  // The escape is in the form, not in one parameter's value.
  cases.push_back(form);
  form.name = "POST form limit=-1 on series";
  form.target = "/api/v1/series";
  form.body = "match[]=bi_good&limit=-1";
  form.want_text = InvalidParam("limit");
  cases.push_back(form);
  RunAll(cases);
}

// ---- PromQL text. ------------------------------------------------------------------------------

TEST_F(BadInputTest, BadPromqlIs400Or422) {
  struct PromqlCase {
    std::string name;
    std::string query;
    std::vector<int> want;  // 400: a parse error; {400, 422} where either is in the spec.
  };
  const std::vector<int> k400 = {400};
  const std::vector<int> k400or422 = {400, 422};  // Spec: parse error or execution error.
  std::string deep_parens = std::string(10'000, '(') + "1" + std::string(10'000, ')');
  std::string deep_calls;
  for (int i = 0; i < 5'000; ++i) deep_calls += "abs(";
  deep_calls += "vector(1)" + std::string(5'000, ')');
  std::string long_sum = "1";
  while (long_sum.size() < kMiB) long_sum += "+1";
  const std::vector<PromqlCase> cases = {
      {"range 1e300s", "bi_good[1e300s]", k400or422},
      {"range int64 max ms", "bi_good[9223372036854775807ms]", k400or422},
      {"range 1e300y", "bi_good[100000000000000000000y]", k400or422},
      {"offset 1e300s", "bi_good offset 1e300s", k400or422},
      {"offset -1e300s", "bi_good offset -1e300s", k400or422},
      {"@ 1e300", "bi_good @ 1e300", k400or422},
      {"@ -1e300", "bi_good @ -1e300", k400or422},
      {"@ NaN", "bi_good @ NaN", k400or422},
      {"@ Inf", "bi_good @ Inf", k400or422},
      {"@ -Inf", "bi_good @ -Inf", k400or422},
      {"@ in range 1e19", "bi_good[5m] @ 1e19", k400or422},
      // Not here: `[5m:0s]` (Prometheus steps it by the default interval, as `[5m:]`) and a
      // 1 MiB metric name (a valid query): both are answered 200, as by Prometheus.
      {"subquery step negative", "bi_good[5m:-1s]", k400or422},
      {"subquery range 1e300s", "vector(1)[1e300s:1s]", k400or422},
      {"10k nested parentheses", deep_parens, k400or422},
      {"5k nested calls (like the 10k parentheses)", deep_calls, k400or422},
      {"1 MiB of +1", long_sum, k400or422},
      {"invalid UTF-8 in a label value", "bi_good{door=\"\xff\"}", k400},
      {"invalid UTF-8 as a name", "\xc3\x28", k400},
      {"invalid UTF-8 in a string", "label_replace(bi_good, \"a\", \"\xed\xa0\x80\", \"\", \"\")",
       k400},
      {"NUL byte", std::string("bi_good\0x", 9), k400},
      {"unbalanced brace", "bi_good{door=\"rw\"", k400},
      {"unbalanced paren", "sum(bi_good", k400},
      {"extra close brace", "bi_good}", k400},
      {"extra close paren", "sum(bi_good))", k400},
      {"unterminated string", "bi_good{door=\"rw}", k400},
      {"unterminated bracket", "bi_good[5m", k400},
      {"empty selector", "{}", k400},
      {"only empty matchers", "{door=~\".*\"}", k400},
      {"bad regex", "bi_good{door=~\"(\"}", k400},
      {"unknown function", "nosuchfn(bi_good)", k400},
      {"rate without args", "rate()", k400},
      {"rate with two args", "rate(bi_good[5m], 1)", k400},
      {"histogram_quantile one arg", "histogram_quantile(0.9)", k400},
      {"label_replace one arg", "label_replace(bi_good)", k400},
      {"vector with no args", "vector()", k400},
      {"time with an arg", "time(1)", k400},
      {"rate of an instant vector", "rate(bi_good)", k400},
      {"topk with a string", "topk(\"a\", bi_good)", k400},
      {"sum by a number", "sum by (1) (bi_good)", k400},
      {"dangling operator", "1 +", k400},
      {"only an operator", "+", k400},
      {"bad duration unit", "bi_good[5x]", k400},
      {"empty duration", "bi_good[]", k400},
      {"string at top", "\"a\" + 1", k400},
      {"only whitespace", "   ", k400},
  };
  const auto t0 = Clock::now();
  for (const PromqlCase& pc : cases) {
    SCOPED_TRACE(pc.name);
    Case c = ApiCase(pc.name, "/api/v1/query", pc.want,
                     pc.want.size() == 1 ? InvalidParam("query") : "");
    c.method = "POST";
    c.body =
        absl::StrCat("query=", UrlEncode(pc.query), "&time=", Seconds(base_ms()), "&timeout=2s");
    c.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
    Run(c);
    // format_query parses the same text: the same answer, parse errors only.
    if (pc.want.size() == 1) {
      c.target = "/api/v1/format_query";
      c.body = absl::StrCat("query=", UrlEncode(pc.query));
      SCOPED_TRACE("format_query");
      Run(c);
    }
    ASSERT_LT(MsSince(t0), 40'000) << "PromQL group over its budget";
  }
}

// ---- Heavy queries. ----------------------------------------------------------------------------

TEST_F(BadInputTest, HeavyQueriesEndIn422Or503WithinTheTimeout) {
  struct HeavyCase {
    std::string name;
    std::string target;  // With its query string; the time and timeout are added.
  };
  const std::string t = Seconds(base_ms());
  const std::vector<HeavyCase> cases = {
      {"10y of 1ms subquery steps",
       "/api/v1/query?query=" + UrlEncode("count_over_time(vector(1)[10y:1ms])")},
      {"three nested 1d:1s subqueries",
       "/api/v1/query?query=" +
           UrlEncode("sum_over_time(sum_over_time(sum_over_time(vector(1)[1d:1s])[1d:1s])"
                     "[1d:1s])")},
      {"range query of 1d:1ms subqueries, 11000 steps",
       absl::StrCat("/api/v1/query_range?query=", UrlEncode("count_over_time(vector(1)[1d:1ms])"),
                    "&start=", Seconds(base_ms() - 11'000'000), "&end=", t, "&step=1")},
      {"rate of 1ms subqueries, 86400 times",
       "/api/v1/query?query=" + UrlEncode("sum_over_time(rate(vector(1)[1m:1ms])[1d:1s])")},
  };
  for (const HeavyCase& hc : cases) {
    SCOPED_TRACE(hc.name);
    Case c = ApiCase(hc.name, absl::StrCat(hc.target, "&time=", t, "&timeout=2s"), {422, 503}, "");
    if (absl::StartsWith(hc.target, "/api/v1/query_range")) {
      c.target = absl::StrCat(hc.target, "&timeout=2s");
    }
    const auto t0 = Clock::now();
    absl::StatusOr<HttpResult> r = Check(c);
    // timeout=2s, plus slack for a loaded machine; never the server's 8s backstop or more.
    EXPECT_LT(MsSince(t0), 6'000) << "the query outlived its timeout=2s";
    if (r.ok() && r->status == 503) {
      EXPECT_THAT(r->body, HasSubstr("\"errorType\":\"timeout\"")) << Describe(*r);
    }
  }
  // Afterwards a normal query is fast again (the heavy ones were really stopped).
  const auto t0 = Clock::now();
  absl::StatusOr<testutil::JsonValue> r = InstantResult("sum(bi_good)");
  EXPECT_TRUE(r.ok()) << r.status();
  EXPECT_LT(MsSince(t0), 1'000) << "a normal query is slow after the heavy ones";
}

}  // namespace
}  // namespace ember
