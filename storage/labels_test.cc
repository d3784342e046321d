#include "ember/labels.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ember {
namespace {

using ::testing::HasSubstr;

// An independent UTF-8 check: decode the code point from its bits, then reject what the
// standard forbids (overlong, surrogate, beyond U+10FFFF, cut short).
bool ReferenceValidUtf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const uint8_t b = static_cast<uint8_t>(s[i]);
    if (b < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((b & 0xE0) == 0xC0) {
      len = 2, cp = b & 0x1F;
    } else if ((b & 0xF0) == 0xE0) {
      len = 3, cp = b & 0x0F;
    } else if ((b & 0xF8) == 0xF0) {
      len = 4, cp = b & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      const uint8_t c = static_cast<uint8_t>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return false;
    i += len;
  }
  return true;
}

bool ValueIsValid(const std::string& value) { return ValidateLabels({{"name", value}}).ok(); }

TEST(CanonicalizeLabelsTest, SortsByNameAndDropsEmptyValues) {
  struct Case {
    std::string name;
    Labels in;
    Labels want;
  };
  const Case cases[] = {
      {"already canonical",
       {{"__name__", "up"}, {"job", "api"}},
       {{"__name__", "up"}, {"job", "api"}}},
      {"reversed",
       {{"job", "api"}, {"instance", "a:1"}, {"__name__", "up"}},
       {{"__name__", "up"}, {"instance", "a:1"}, {"job", "api"}}},
      {"empty value dropped", {{"job", ""}, {"__name__", "up"}, {"env", ""}}, {{"__name__", "up"}}},
      {"all empty", {{"a", ""}}, {}},
      {"nothing", {}, {}},
      {"byte order, upper case first",
       {{"b", "1"}, {"B", "2"}, {"_", "3"}},
       {{"B", "2"}, {"_", "3"}, {"b", "1"}}},
      {"duplicates kept in order",
       {{"b", "2"}, {"a", "1"}, {"b", "1"}},
       {{"a", "1"}, {"b", "2"}, {"b", "1"}}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Labels labels = c.in;
    CanonicalizeLabels(&labels);
    EXPECT_EQ(labels, c.want);
  }
}

TEST(ValidateLabelsTest, AcceptsValidSets) {
  const Labels cases[] = {
      {{"__name__", "up"}},
      {{"__name__", "up"}, {"instance", "10.0.0.1:8080"}, {"job", "api"}},
      {{"service.name", "checkout"}, {"température", "21,5 °C"}},
      {{"emoji", "\xF0\x9F\x98\x80"}, {"nul", std::string("a\0b", 3)}},
      {{"newline", "line1\nline2"}},
  };
  for (const Labels& labels : cases) {
    SCOPED_TRACE(LabelsToString(labels));
    EXPECT_TRUE(ValidateLabels(labels).ok()) << ValidateLabels(labels);
  }
}

TEST(ValidateLabelsTest, RejectsInvalidSetsNamingTheLabel) {
  struct Case {
    std::string name;
    Labels labels;
    std::vector<std::string> message_parts;
  };
  const Case cases[] = {
      {"no labels", {}, {"at least one label"}},
      {"empty name", {{"", "x"}, {"job", "api"}}, {"label 0", "empty name", "\"x\""}},
      {"duplicate name",
       {{"__name__", "up"}, {"job", "a"}, {"job", "b"}},
       {"label 2", "duplicates name \"job\""}},
      {"duplicate name, not sorted",
       {{"job", "a"}, {"env", "b"}, {"job", "c"}},
       {"label 2", "duplicates name \"job\""}},
      {"invalid UTF-8 name",
       {{"__name__", "up"}, {"bad\xff", "x"}},
       {"label 1", "name \"bad\\xff\"", "not valid UTF-8", "byte offset 3"}},
      {"invalid UTF-8 value",
       {{"__name__", "up"}, {"job", "a\xc0\xafz"}},
       {"label 1 (\"job\")", "value \"a\\xc0\\xafz\"", "not valid UTF-8", "byte offset 1"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const absl::Status s = ValidateLabels(c.labels);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    for (const std::string& part : c.message_parts) {
      EXPECT_THAT(std::string(s.message()), HasSubstr(part));
    }
  }
}

TEST(ValidateLabelsTest, Utf8EdgeCases) {
  struct Case {
    std::string name;
    std::string value;
    bool valid;
  };
  const Case cases[] = {
      {"ascii", "hello", true},
      {"U+0080, smallest 2-byte", "\xC2\x80", true},
      {"U+07FF, largest 2-byte", "\xDF\xBF", true},
      {"U+0800, smallest 3-byte", "\xE0\xA0\x80", true},
      {"U+D7FF, before surrogates", "\xED\x9F\xBF", true},
      {"U+E000, after surrogates", "\xEE\x80\x80", true},
      {"U+FFFF", "\xEF\xBF\xBF", true},
      {"U+10000, smallest 4-byte", "\xF0\x90\x80\x80", true},
      {"U+10FFFF, largest code point", "\xF4\x8F\xBF\xBF", true},
      {"lone continuation byte", "\x80", false},
      {"overlong '/' in 2 bytes", "\xC0\xAF", false},
      {"overlong U+007F in 2 bytes", "\xC1\xBF", false},
      {"overlong '/' in 3 bytes", "\xE0\x80\xAF", false},
      {"overlong U+07FF in 3 bytes", "\xE0\x9F\xBF", false},
      {"overlong '/' in 4 bytes", "\xF0\x80\x80\xAF", false},
      {"overlong U+FFFF in 4 bytes", "\xF0\x8F\xBF\xBF", false},
      {"surrogate U+D800", "\xED\xA0\x80", false},
      {"surrogate U+DFFF", "\xED\xBF\xBF", false},
      {"U+110000", "\xF4\x90\x80\x80", false},
      {"lead byte F5", "\xF5\x80\x80\x80", false},
      {"byte FF", "\xFF", false},
      {"2-byte cut at the end", "abc\xC3", false},
      {"3-byte cut at the end", "\xE2\x82", false},
      {"4-byte cut at the end", "\xF0\x9F\x98", false},
      {"3-byte cut by ASCII", "\xE2\x82z", false},
      {"invalid after a long ASCII run", "abcdefghijklmnopqrstuvwxyz\x80", false},
      {"valid after a long ASCII run", "abcdefghijklmnopqrstuvwxyz\xC3\xA9", true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ASSERT_EQ(ReferenceValidUtf8(c.value), c.valid) << "the reference disagrees with the table";
    EXPECT_EQ(ValueIsValid(c.value), c.valid);
    EXPECT_EQ(ValidateLabels({{c.value, "x"}}).ok(), c.valid) << "as a name";
  }
}

TEST(ValidateLabelsTest, Utf8AgreesWithReferenceOnEveryShortSequence) {
  // Every 1- and 2-byte string, every 3-byte string with a multi-byte lead, and 4-byte strings
  // over the interesting continuation bytes; each behind an ASCII prefix of varying length so
  // that the 8-bytes-at-a-time path hands over at every alignment.
  int checked = 0;
  const auto check = [&](const std::string& s) {
    const std::string value = std::string(checked % 11, 'a') + s;
    ASSERT_EQ(ValueIsValid(value), ReferenceValidUtf8(value)) << "value bytes: " << [&] {
      std::string hex;
      for (char c : value) hex += std::to_string(static_cast<uint8_t>(c)) + " ";
      return hex;
    }();
    ++checked;
  };
  for (int a = 0; a < 256; ++a) {
    check(std::string(1, static_cast<char>(a)));
    for (int b = 0; b < 256; ++b) {
      check({static_cast<char>(a), static_cast<char>(b)});
    }
  }
  for (int a = 0xC0; a < 0x100; ++a) {
    for (int b = 0; b < 256; ++b) {
      for (int c = 0; c < 256; ++c) {
        check({static_cast<char>(a), static_cast<char>(b), static_cast<char>(c)});
      }
    }
  }
  const int conts[] = {0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xFF};
  for (int a = 0xE0; a < 0x100; ++a) {
    for (int b = 0; b < 256; ++b) {
      for (int c : conts) {
        for (int d : conts) {
          check({static_cast<char>(a), static_cast<char>(b), static_cast<char>(c),
                 static_cast<char>(d)});
        }
      }
    }
  }
  EXPECT_GT(checked, 4'000'000);
}

TEST(LabelsToStringTest, FormatsAsPrometheus) {
  struct Case {
    std::string name;
    Labels labels;
    std::string want;
  };
  const Case cases[] = {
      {"empty", {}, "{}"},
      {"name and job", {{"__name__", "up"}, {"job", "api"}}, R"({__name__="up", job="api"})"},
      {"escapes", {{"v", "a\"b\\c\nd"}}, R"({v="a\"b\\c\nd"})"},
      {"UTF-8 value kept", {{"city", "Zürich"}}, R"({city="Zürich"})"},
      {"non-legacy names quoted",
       {{"service.name", "x"}, {"température", "y"}, {"1st", "z"}},
       R"({"service.name"="x", "température"="y", "1st"="z"})"},
      {"invalid UTF-8 shown as \\x", {{"v", "a\xff"}}, R"({v="a\xff"})"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(LabelsToString(c.labels), c.want);
  }
}

TEST(GetLabelValueTest, ReturnsValueOrEmpty) {
  const Labels labels = {{"__name__", "up"}, {"instance", "a:1"}, {"job", "api"}};
  EXPECT_EQ(GetLabelValue(labels, "__name__"), "up");
  EXPECT_EQ(GetLabelValue(labels, "job"), "api");
  EXPECT_EQ(GetLabelValue(labels, "instance"), "a:1");
  EXPECT_EQ(GetLabelValue(labels, "env"), "");
  EXPECT_EQ(GetLabelValue(labels, "jo"), "");
  EXPECT_EQ(GetLabelValue({}, "job"), "");
}

}  // namespace
}  // namespace ember
