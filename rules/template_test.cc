#include "rules/template.h"

#include <cmath>
#include <limits>
#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace ember::rules {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

TemplateData AlertData(double value = 0.25) {
  TemplateData d;
  d.labels = {{"__name__", "up"}, {"instance", "host:9100"}, {"job", "node"}};
  d.value = value;
  d.external_labels = {{"cluster", "eu-1"}};
  d.external_url = "http://prom:9090";
  return d;
}

std::string ExpandOrDie(std::string_view text, const TemplateData& data) {
  absl::StatusOr<Template> t = Template::Parse(text);
  EXPECT_TRUE(t.ok()) << t.status();
  if (!t.ok()) return "<parse error>";
  absl::StatusOr<std::string> out = t->Expand(data);
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? *out : "<expand error>";
}

struct NumberCase {
  double in;
  std::string want;
};

TEST(HumanizeTest, UsesSiPrefixesWithFourSignificantDigits) {
  const NumberCase cases[] = {
      {0, "0"},          {1, "1"},      {1234, "1.234k"}, {1234567, "1.235M"}, {-1234, "-1.234k"},
      {999999, "1000k"}, {0.5, "500m"}, {0.001, "1m"},    {0.0015, "1.5m"},    {1e30, "1e+06Y"},
      {1e-30, "1e-06y"}, {kNaN, "NaN"}, {kInf, "+Inf"},   {-kInf, "-Inf"},
  };
  for (const NumberCase& c : cases) {
    SCOPED_TRACE(c.in);
    EXPECT_EQ(Humanize(c.in), c.want);
  }
}

TEST(HumanizeTest, Humanize1024UsesBinaryPrefixesAboveOne) {
  const NumberCase cases[] = {
      {1048576, "1Mi"}, {1024, "1ki"}, {1536, "1.5ki"}, {1023, "1023"}, {-2048, "-2ki"},
      {1, "1"},         {0.5, "0.5"},  {0, "0"},        {kNaN, "NaN"},  {kInf, "+Inf"},
  };
  for (const NumberCase& c : cases) {
    SCOPED_TRACE(c.in);
    EXPECT_EQ(Humanize1024(c.in), c.want);
  }
}

TEST(HumanizeTest, HumanizeDurationSplitsDaysHoursMinutesSeconds) {
  const NumberCase cases[] = {
      {0, "0s"},
      {90, "1m 30s"},
      {899.99, "14m 59s"},
      {3600, "1h 0m 0s"},
      {2 * 86400 + 3661, "2d 1h 1m 1s"},
      {1.5, "1.5s"},
      {59.99, "59.99s"},
      {-90, "-1m 30s"},
      {0.5, "500ms"},
      {-0.5, "-500ms"},
      {0.0015, "1.5ms"},
      {1e-7, "100ns"},
      {kNaN, "NaN"},
      {-kInf, "-Inf"},
  };
  for (const NumberCase& c : cases) {
    SCOPED_TRACE(c.in);
    EXPECT_EQ(HumanizeDuration(c.in), c.want);
  }
}

TEST(HumanizeTest, HumanizePercentageScalesByHundred) {
  EXPECT_EQ(HumanizePercentage(0.123), "12.3%");
  EXPECT_EQ(HumanizePercentage(0.1234567), "12.35%");
  EXPECT_EQ(HumanizePercentage(1), "100%");
  EXPECT_EQ(HumanizePercentage(0), "0%");
  EXPECT_EQ(HumanizePercentage(kNaN), "NaN%");
}

TEST(HumanizeTest, HumanizeTimestampPrintsUtcLikeGo) {
  EXPECT_EQ(*HumanizeTimestamp(1700000000), "2023-11-14 22:13:20 +0000 UTC");
  EXPECT_EQ(*HumanizeTimestamp(1.5), "1970-01-01 00:00:01.5 +0000 UTC");
  EXPECT_EQ(*HumanizeTimestamp(0), "1970-01-01 00:00:00 +0000 UTC");
  EXPECT_EQ(*HumanizeTimestamp(kNaN), "NaN");
  absl::StatusOr<std::string> overflow = HumanizeTimestamp(1e11);
  EXPECT_EQ(overflow.status(),
            absl::InvalidArgumentError("1e+11 cannot be represented as a nanoseconds timestamp "
                                       "since it overflows int64"));
}

TEST(FormatGoFloatTest, MatchesGoShortestG) {
  const NumberCase cases[] = {
      {0.25, "0.25"},
      {100, "100"},
      {123456, "123456"},
      {1e6, "1e+06"},
      {1234567, "1.234567e+06"},
      {0.0001, "0.0001"},
      {0.00001, "1e-05"},
      {-1.5, "-1.5"},
      {0, "0"},
      {1.0 / 3, "0.3333333333333333"},
      {5e-324, "5e-324"},
      {1.7976931348623157e308, "1.7976931348623157e+308"},
      {kInf, "+Inf"},
      {-kInf, "-Inf"},
      {kNaN, "NaN"},
  };
  for (const NumberCase& c : cases) {
    SCOPED_TRACE(c.want);
    EXPECT_EQ(FormatGoFloat(c.in), c.want);
  }
}

struct ExpandCase {
  std::string text;
  std::string want;
};

TEST(TemplateTest, ExpandsAlertTemplates) {
  const ExpandCase cases[] = {
      {"{{ $labels.instance }} of job {{ $labels.job }} is down", "host:9100 of job node is down"},
      {"{{.Labels.job}}/{{ $.Labels.job }}", "node/node"},
      {"[{{ $labels.missing }}]", "[]"},
      {"{{ index $labels \"instance\" }}", "host:9100"},
      {"{{ index .Labels \"no-such\" }}|", "|"},
      {"value={{ $value }}", "value=0.25"},
      {"{{ $value | humanizePercentage }}", "25%"},
      {"{{ humanizeDuration 90 }}", "1m 30s"},
      {"{{ printf \"%.1f%%\" 99.95 }}", "100.0%"},
      {"{{ $value | printf \"%.3f\" }}", "0.250"},
      {"{{ $externalLabels.cluster }} {{ $externalURL }} {{ .ExternalURL }}",
       "eu-1 http://prom:9090 http://prom:9090"},
      {"{{ $labels }}", "map[__name__:up instance:host:9100 job:node]"},
      {"{{ $labels.job | toUpper }} {{ toLower \"MiXeD\" }} {{ title \"hello world-foo_bar\" }}",
       "NODE mixed Hello World-Foo_bar"},
      {"{{ $labels.instance | stripPort }} {{ stripPort \"[::1]:80\" }} {{ stripPort \"host\" }}",
       "host ::1 host"},
      {"{{ (humanize1024 2048) | toUpper }}", "2KI"},
      {"{{ ((((1)))) }}", "1"},
      {"{{ print 1 2 \"a\" 3 }}|{{ println 1 \"a\" }}|", "1 2a3|1 a\n|"},
      {"{{ 1e3 }} {{ 0x1f }} {{ -2 }} {{ 1.5 }} {{ 017 }} {{ 1_000 }} {{ true }}",
       "1000 31 -2 1.5 15 1000 true"},
      {"{{ \"a\\tb\\u00e9\\x41\\101\" }}|{{ `raw\\n` }}",
       "a\tb\xc3\xa9"
       "AA|raw\\n"},
      {"a  {{- $value -}}  b", "a0.25b"},
      {"a\n{{- 3 }}", "a3"},
      {"{{-3}}", "-3"},
      {"x {{/* a comment */}}y", "x y"},
      {"x \n {{- /* trimmed */ -}} \n y", "xy"},
      {"no actions }} here", "no actions }} here"},
      {"{{ $value | printf \"%s\" | printf \"<%s>\" }}", "<%!s(float64=0.25)>"},
  };
  for (const ExpandCase& c : cases) {
    SCOPED_TRACE(c.text);
    EXPECT_EQ(ExpandOrDie(c.text, AlertData()), c.want);
  }
}

TEST(TemplateTest, PrintfFollowsGoFmt) {
  const ExpandCase cases[] = {
      {"{{ printf \"%d\" 5 }}", "5"},
      {"{{ printf \"%d\" 2.5 }}", "%!d(float64=2.5)"},
      {"{{ printf \"%.2f\" 5 }}", "%!f(int=05)"},  // Go keeps the precision here.
      {"{{ printf \"%s %s\" \"a\" }}", "a %!s(MISSING)"},
      {"{{ printf \"%s\" \"a\" \"b\" 1.5 }}", "a%!(EXTRA string=b, float64=1.5)"},
      {"{{ printf \"%5.1f|%-6s|%05d|%x|%X|%#x|%o|%q\" 3.14159 \"ab\" 42 255 255 255 8 \"hi\" }}",
       "  3.1|ab    |00042|ff|FF|0xff|10|\"hi\""},
      {"{{ printf \"%v %g %e %E %G\" 1e6 1e6 1234.5 1234.5 1e-7 }}",
       "1e+06 1e+06 1.234500e+03 1.234500E+03 1E-07"},
      {"{{ printf \"%+d % d %+.1f %x\" 3 3 2.25 -255 }}", "+3  3 +2.2 -ff"},
      {"{{ printf \"%.2s|%5s|%-5t|\" \"héllo\" \"é\" true }}", "hé|    é|true |"},
      {"{{ printf \"%v\" $labels }}", "map[__name__:up instance:host:9100 job:node]"},
      {"{{ printf \"%6.2f|%f\" (humanize1024 1) 1.0 }}", "%!f(string=     1)|1.000000"},
      {"{{ printf \"%*d|%.*f\" 4 7 1 2.55 }}", "   7|2.5"},
      {"{{ printf \"100%%\" }}{{ printf \"%\" }}{{ printf \"%z\" 1 }}", "100%%!(NOVERB)%!z(int=1)"},
      {"{{ printf \"%v %v\" .Value $value }}", "0.25 0.25"},
  };
  for (const ExpandCase& c : cases) {
    SCOPED_TRACE(c.text);
    EXPECT_EQ(ExpandOrDie(c.text, AlertData()), c.want);
  }
}

TEST(TemplateTest, ValuesPrintLikeGoFloats) {
  EXPECT_EQ(ExpandOrDie("{{ $value }}", AlertData(1e6)), "1e+06");
  EXPECT_EQ(ExpandOrDie("{{ $value }}", AlertData(123456)), "123456");
  EXPECT_EQ(ExpandOrDie("{{ $value }}", AlertData(kInf)), "+Inf");
  EXPECT_EQ(ExpandOrDie("{{ $value }}", AlertData(kNaN)), "NaN");
  EXPECT_EQ(ExpandOrDie("{{ $value | humanize }}", AlertData(1234567)), "1.235M");
  EXPECT_EQ(ExpandOrDie("{{ printf \"%.2f\" $value }}", AlertData(3.14159)), "3.14");
}

TEST(TemplateTest, WholeDataPrintsLikeGoStruct) {
  TemplateData d;
  d.labels = {{"a", "1"}};
  d.value = 2;
  EXPECT_EQ(ExpandOrDie("{{ . }}", d), "{map[a:1] map[]  2}");
}

TEST(TemplateTest, HumanizeParsesStringArguments) {
  TemplateData d = AlertData();
  d.labels.push_back({"num", "1500"});
  EXPECT_EQ(ExpandOrDie("{{ $labels.num | humanize }} {{ humanize \"2e-3\" }}", d), "1.5k 2m");
  EXPECT_EQ(ExpandOrDie("{{ humanize \"-Inf\" }} {{ humanize \"0x10\" }}", d), "-Inf 16");
}

TEST(TemplateTest, HumanizeOfNonNumericStringFailsAtExpand) {
  absl::StatusOr<Template> t = Template::Parse("x {{ $labels.job | humanize }}");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->Expand(AlertData()).status(),
            absl::InvalidArgumentError("template: 1:20: error calling humanize: "
                                       "strconv.ParseFloat: parsing \"node\": invalid syntax"));
}

TEST(TemplateTest, HumanizeTimestampOverflowFailsAtExpand) {
  absl::StatusOr<Template> t = Template::Parse("{{ humanizeTimestamp $value }}");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->Expand(AlertData(1e11)).status(),
            absl::InvalidArgumentError("template: 1:4: error calling humanizeTimestamp: 1e+11 "
                                       "cannot be represented as a nanoseconds timestamp since "
                                       "it overflows int64"));
}

TEST(TemplateTest, CopiesShareTheParsedTemplate) {
  absl::StatusOr<Template> t = Template::Parse("{{ $labels.job }}");
  ASSERT_TRUE(t.ok());
  const Template copy = *t;
  EXPECT_EQ(*copy.Expand(AlertData()), "node");
}

struct ErrorCase {
  std::string text;
  std::string want;  // The whole message.
};

TEST(TemplateTest, ParseErrorsNamePosition) {
  const ErrorCase cases[] = {
      {"{{ if $value }}x{{ end }}",
       "template: 1:4: unsupported action \"if\" (Ember's alert templates support pipelines "
       "only, no control structures)"},
      {"{{ range $labels }}{{ . }}{{ end }}",
       "template: 1:4: unsupported action \"range\" (Ember's alert templates support pipelines "
       "only, no control structures)"},
      {"{{ with query \"up\" }}{{ end }}",
       "template: 1:4: unsupported action \"with\" (Ember's alert templates support pipelines "
       "only, no control structures)"},
      {"{{ query \"up\" | first | value }}",
       "template: 1:4: unsupported action: function \"query\" is not supported by Ember's "
       "alert templates"},
      {"{{ $value | eq 1.0 }}",
       "template: 1:13: unsupported action: function \"eq\" is not supported by Ember's alert "
       "templates"},
      {"{{ $x := $value }}",
       "template: 1:4: unsupported action: variable declaration $x (Ember's alert templates "
       "have no variables besides $labels, $value, $externalLabels, $externalURL and $)"},
      {"{{ foo }}", "template: 1:4: function \"foo\" not defined"},
      {"{{ $foo }}",
       "template: 1:4: undefined variable \"$foo\" (defined: $labels, $value, $externalLabels, "
       "$externalURL, $)"},
      {"abc {{ $value", "template: 1:5: unclosed action"},
      {"abc {{ $value }", "template: 1:15: unexpected \"}\" in command"},
      {"{{ \"abc }}", "template: 1:4: unterminated quoted string"},
      {"{{ `abc }}", "template: 1:4: unterminated raw quoted string"},
      {"{{ \"a\\qb\" }}", "template: 1:6: invalid escape sequence in quoted string"},
      {"{{ 'a' }}", "template: 1:4: character constants are not supported"},
      {"{{ $value | toUpper }}",
       "template: 1:13: wrong type for argument 1 of toUpper: expected string; got float64"},
      {"{{ humanize $labels }}",
       "template: 1:13: wrong type for argument 1 of humanize: expected a number or a string; "
       "got map[string]string"},
      {"{{ index $value \"x\" }}",
       "template: 1:10: wrong type for argument 1 of index: expected map[string]string; got "
       "float64"},
      {"{{ humanize 1 2 }}", "template: 1:4: wrong number of args for humanize: want 1 got 2"},
      {"{{ printf }}", "template: 1:4: wrong number of args for printf: want at least 1 got 0"},
      {"{{ print humanize }}", "template: 1:10: wrong number of args for humanize: want 1 got 0"},
      {"{{ $value.foo }}", "template: 1:10: can't evaluate field foo in type float64"},
      {"{{ $labels.job.x }}", "template: 1:15: can't evaluate field x in type string"},
      {"{{ .Foo }}",
       "template: 1:4: can't evaluate field Foo of the alert data (it has Labels, "
       "ExternalLabels, ExternalURL and Value)"},
      {"{{ $value 1 }}", "template: 1:4: can't give argument to non-function $value"},
      {"{{ \"x\" | $labels.job }}",
       "template: 1:10: can't give argument to non-function $labels.job"},
      {"{{ humanize.x }}", "template: 1:12: unexpected .x after humanize"},
      {"line one\n  {{ bad }}", "template: 2:6: function \"bad\" not defined"},
      {"{{ }}", "template: 1:4: missing value for command"},
      {"{{ $value | }}", "template: 1:13: missing value for command"},
      {"{{/* x */ }}", "template: 1:10: comment ends before closing delimiter"},
      {"{{/* x", "template: 1:1: unclosed comment"},
      {"{{ (humanize $value }}", "template: 1:4: unclosed left paren"},
      {"{{ $value) }}", "template: 1:10: unexpected right paren"},
      {"{{ 1abc }}", "template: 1:4: bad number syntax: \"1abc\""},
      {"{{ $labels.foo-bar }}", "template: 1:15: unexpected \"-\" in operand"},
      {"{{ nil }}", "template: 1:4: nil is not a command"},
      {"{{ # }}", "template: 1:4: unexpected \"#\" in command"},
      {"{{ " + std::string(101, '(') + "1" + std::string(101, ')') + " }}",
       "template: 1:104: parentheses nest deeper than 100"},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.text);
    absl::StatusOr<Template> t = Template::Parse(c.text);
    EXPECT_EQ(t.status(), absl::InvalidArgumentError(c.want));
  }
}

}  // namespace
}  // namespace ember::rules
