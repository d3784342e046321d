#include "server/http/json.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "gtest/gtest.h"

namespace ember::server {
namespace {

TEST(FormatPromValueTest, MatchesGoFormatFloatF) {
  struct Case {
    double v;
    std::string want;  // Go: strconv.FormatFloat(v, 'f', -1, 64)
  };
  const Case cases[] = {
      {0, "0"},
      {-0.0, "-0"},
      {1, "1"},
      {100, "100"},
      {1.5, "1.5"},
      {-1.5, "-1.5"},
      {0.1, "0.1"},
      {0.30000000000000004, "0.30000000000000004"},
      {1.0 / 3, "0.3333333333333333"},
      {2.0 / 3, "0.6666666666666666"},
      {1e-7, "0.0000001"},
      {-2.5e-5, "-0.000025"},
      {1.5e-6, "0.0000015"},
      {123456789.123, "123456789.123"},
      {1435781451.781, "1435781451.781"},
      {9007199254740992, "9007199254740992"},  // 2^53
      {1e20, "100000000000000000000"},
      {1e21, "1000000000000000000000"},
      {1.2345678901234568e20, "123456789012345680000"},
      {1e23, "100000000000000000000000"},
      {123e-20, "0.00000000000000000123"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.want);
    EXPECT_EQ(FormatPromValue(c.v), c.want);
  }
}

TEST(FormatPromValueTest, SmallestSubnormalHasAllItsZeros) {
  // 5e-324: "0." then 323 zeros then "5".
  EXPECT_EQ(FormatPromValue(5e-324), "0." + std::string(323, '0') + "5");
  EXPECT_EQ(FormatPromValue(-5e-324), "-0." + std::string(323, '0') + "5");
}

TEST(FormatPromValueTest, LargestDoubleHasAllItsDigits) {
  // 1.7976931348623157e308: 17 significant digits then 292 zeros.
  EXPECT_EQ(FormatPromValue(1.7976931348623157e308), "17976931348623157" + std::string(292, '0'));
  EXPECT_EQ(FormatPromValue(std::numeric_limits<double>::max()),
            "17976931348623157" + std::string(292, '0'));
}

TEST(FormatPromValueTest, SpecialValuesAsPrometheusSpellsThem) {
  EXPECT_EQ(FormatPromValue(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(FormatPromValue(-std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(FormatPromValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatPromValue(-std::numeric_limits<double>::infinity()), "-Inf");
}

TEST(FormatPromValueTest, RoundTripsThroughStrtod) {
  const double values[] = {0.1,
                           1e-7,
                           123456789.123,
                           5e-324,
                           1.7976931348623157e308,
                           2.2250738585072014e-308,
                           6.02214076e23,
                           -9.87654321e-12};
  for (double v : values) {
    SCOPED_TRACE(v);
    EXPECT_EQ(std::strtod(FormatPromValue(v).c_str(), nullptr), v);
  }
}

TEST(FormatPromTimestampTest, MillisecondsAsSecondsWithTrimmedFraction) {
  struct Case {
    int64_t t_ms;
    std::string want;
  };
  const Case cases[] = {
      {1435781451781, "1435781451.781"},
      {1435781451780, "1435781451.78"},
      {1435781451700, "1435781451.7"},
      {1435781451000, "1435781451"},
      {1435781451001, "1435781451.001"},
      {1435781451010, "1435781451.01"},
      {0, "0"},
      {1, "0.001"},
      {10, "0.01"},
      {100, "0.1"},
      {1500, "1.5"},
      {-1, "-0.001"},
      {-1500, "-1.5"},
      {-1000, "-1"},
      {-1435781451781, "-1435781451.781"},
      {std::numeric_limits<int64_t>::max(), "9223372036854775.807"},
      {std::numeric_limits<int64_t>::min(), "-9223372036854775.808"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.want);
    EXPECT_EQ(FormatPromTimestamp(c.t_ms), c.want);
  }
}

std::string Quoted(std::string_view s) {
  JsonWriter w;
  w.String(s);
  return w.Take();
}

TEST(JsonWriterTest, EscapesAsGoEncodingJson) {
  struct Case {
    std::string name;
    std::string in;
    std::string want;
  };
  const Case cases[] = {
      {"plain", "up", R"("up")"},
      {"empty", "", R"("")"},
      {"quote and backslash", R"(a"b\c)", R"("a\"b\\c")"},
      {"newline, return, tab", "a\nb\rc\td", R"("a\nb\rc\td")"},
      {"other control characters", "\x01\x1f\b\f", R"("\u0001\u001f\u0008\u000c")"},
      {"NUL", std::string("a\0b", 3), R"("a\u0000b")"},
      {"HTML", "<a href=\"x\">&</a>", R"("\u003ca href=\"x\"\u003e\u0026\u003c/a\u003e")"},
      {"DEL stays", "\x7f", "\"\x7f\""},
      {"slash stays", "a/b", R"("a/b")"},
      {"two-byte UTF-8", "caf\xc3\xa9", "\"caf\xc3\xa9\""},
      {"three-byte UTF-8", "\xe6\x97\xa5\xe6\x9c\xac", "\"\xe6\x97\xa5\xe6\x9c\xac\""},
      {"four-byte UTF-8", "\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\""},
      {"line and paragraph separators", "\xe2\x80\xa8\xe2\x80\xa9", R"("\u2028\u2029")"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(Quoted(c.in), c.want);
  }
}

TEST(JsonWriterTest, ReplacesEachInvalidUtf8ByteLikeGo) {
  struct Case {
    std::string name;
    std::string in;
    std::string want;
  };
  const Case cases[] = {
      {"lone 0xff", std::string("a\xff") + "b", R"("a\ufffdb")"},
      {"lone continuation byte", "\x80", R"("\ufffd")"},
      {"truncated two-byte at end", "a\xc3", R"("a\ufffd")"},
      // Go's DecodeRune consumes one byte per error, so a truncated three-byte sequence gives
      // one replacement per byte.
      {"truncated three-byte", std::string("\xe2\x82") + "A", R"("\ufffd\ufffdA")"},
      {"overlong NUL", "\xc0\x80", R"("\ufffd\ufffd")"},
      {"overlong three-byte", "\xe0\x80\xaf", R"("\ufffd\ufffd\ufffd")"},
      {"surrogate", "\xed\xa0\x80", R"("\ufffd\ufffd\ufffd")"},
      {"above U+10FFFF", "\xf4\x90\x80\x80", R"("\ufffd\ufffd\ufffd\ufffd")"},
      {"valid after invalid", "\xff\xc3\xa9", "\"\\ufffd\xc3\xa9\""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(Quoted(c.in), c.want);
  }
}

TEST(JsonWriterTest, KeysAreEscapedToo) {
  JsonWriter w;
  w.BeginObject().Key("a\"<b>").Int(1).EndObject();
  EXPECT_EQ(w.str(), R"({"a\"\u003cb\u003e":1})");
}

TEST(JsonWriterTest, WritesCommasAndColonsAutomatically) {
  JsonWriter w;
  w.BeginObject();
  w.Key("status").String("success");
  w.Key("data").BeginObject();
  w.Key("list").BeginArray().Int(1).Int(-2).BeginObject().Key("x").Null().EndObject();
  w.BeginArray().EndArray().EndArray();
  w.Key("empty").BeginObject().EndObject();
  w.Key("ok").Bool(true).Key("no").Bool(false);
  w.EndObject();
  w.Key("warnings").BeginArray().String("a").String("b").EndArray();
  w.EndObject();
  EXPECT_EQ(w.str(), R"({"status":"success","data":{"list":[1,-2,{"x":null},[]],"empty":{},)"
                     R"("ok":true,"no":false},"warnings":["a","b"]})");
}

TEST(JsonWriterTest, TopLevelScalar) {
  JsonWriter w;
  w.Int(std::numeric_limits<int64_t>::min());
  EXPECT_EQ(w.str(), "-9223372036854775808");
}

TEST(JsonWriterTest, DoubleAsGoEncodingJson) {
  struct Case {
    double v;
    std::string want;
  };
  const Case cases[] = {
      {0, "0"},
      {-0.0, "-0"},
      {0.5, "0.5"},
      {100, "100"},
      {1e-6, "0.000001"},
      {1e-7, "1e-7"},
      {1.5e-10, "1.5e-10"},
      {1e20, "100000000000000000000"},
      {1e21, "1e+21"},
      {-1.5e300, "-1.5e+300"},
      {5e-324, "5e-324"},
      {std::numeric_limits<double>::quiet_NaN(), "null"},
      {std::numeric_limits<double>::infinity(), "null"},
      {-std::numeric_limits<double>::infinity(), "null"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.want);
    JsonWriter w;
    w.Double(c.v);
    EXPECT_EQ(w.str(), c.want);
  }
}

TEST(JsonWriterTest, PromValueIsAStringAndPromTimestampANumber) {
  JsonWriter w;
  w.BeginArray()
      .PromTimestamp(1435781451781)
      .PromValue(1e-7)
      .PromValue(std::numeric_limits<double>::infinity())
      .EndArray();
  EXPECT_EQ(w.str(), R"([1435781451.781,"0.0000001","+Inf"])");
}

TEST(JsonWriterTest, TakeMovesTheText) {
  JsonWriter w;
  w.BeginArray().EndArray();
  EXPECT_EQ(w.Take(), "[]");
}

}  // namespace
}  // namespace ember::server
