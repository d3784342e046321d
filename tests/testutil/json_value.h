// A small JSON reader for tests that check HTTP API answers (Ember's and Prometheus's): parses a
// whole document into a JsonValue tree. Numbers keep their text as well as a double, so a
// timestamp like 1700000000.123 can be read back exactly. Strict enough for well-formed
// documents; not meant for untrusted input or speed. Header-only (inline).
#ifndef EMBER_TESTS_TESTUTIL_JSON_VALUE_H_
#define EMBER_TESTS_TESTUTIL_JSON_VALUE_H_

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "util/utf8.h"

namespace ember::testutil {

struct JsonValue {
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };
  Type type = Type::kNull;
  bool boolean = false;
  double number = 0;
  std::string text;              // A string's value, or a number's text as written.
  std::vector<JsonValue> items;  // kArray
  std::vector<std::pair<std::string, JsonValue>> members;  // kObject, in document order

  bool is_null() const { return type == Type::kNull; }
  // The member named `key`, or a shared null value when absent (or not an object).
  const JsonValue& operator[](std::string_view key) const {
    for (const auto& [k, v] : members) {
      if (k == key) return v;
    }
    static const JsonValue kNull;
    return kNull;
  }
};

namespace json_internal {

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  absl::StatusOr<JsonValue> Document() {
    JsonValue v;
    if (!Value(&v, 0)) return Error();
    SkipSpace();
    if (pos_ != s_.size()) {
      error_ = "trailing characters";
      return Error();
    }
    return v;
  }

 private:
  absl::Status Error() const {
    return absl::InvalidArgumentError(
        absl::StrCat("JSON: ", error_, " at offset ", pos_, ": \"",
                     std::string(s_.substr(pos_ > 20 ? pos_ - 20 : 0, 60)), "\""));
  }
  void SkipSpace() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\r' || s_[pos_] == '\t')) {
      ++pos_;
    }
  }
  bool Literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) {
      error_ = absl::StrCat("expected ", std::string(word));
      return false;
    }
    pos_ += word.size();
    return true;
  }
  bool Hex4(uint32_t* cp) {
    if (pos_ + 4 > s_.size()) return false;
    *cp = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = s_[pos_++];
      *cp <<= 4;
      if (c >= '0' && c <= '9') {
        *cp |= static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        *cp |= static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        *cp |= static_cast<uint32_t>(c - 'A' + 10);
      } else {
        return false;
      }
    }
    return true;
  }
  bool String(std::string* out) {
    if (pos_ >= s_.size() || s_[pos_] != '"') {
      error_ = "expected a string";
      return false;
    }
    ++pos_;
    while (pos_ < s_.size()) {
      const char c = s_[pos_++];
      if (c == '"') return true;
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (pos_ >= s_.size()) break;
      const char e = s_[pos_++];
      switch (e) {
        case '"':
          out->push_back('"');
          break;
        case '\\':
          out->push_back('\\');
          break;
        case '/':
          out->push_back('/');
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u': {
          uint32_t cp = 0;
          if (!Hex4(&cp)) {
            error_ = "bad \\u escape";
            return false;
          }
          if (cp >= 0xD800 && cp < 0xDC00 && s_.substr(pos_, 2) == "\\u") {
            pos_ += 2;
            uint32_t low = 0;
            if (!Hex4(&low)) {
              error_ = "bad \\u escape";
              return false;
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          util::AppendUtf8(out, cp);
          break;
        }
        default:
          error_ = "bad escape";
          return false;
      }
    }
    error_ = "unterminated string";
    return false;
  }
  bool Value(JsonValue* v, int depth) {
    if (depth > 64) {
      error_ = "nested too deeply";
      return false;
    }
    SkipSpace();
    if (pos_ >= s_.size()) {
      error_ = "unexpected end";
      return false;
    }
    const char c = s_[pos_];
    if (c == '{') {
      v->type = JsonValue::Type::kObject;
      ++pos_;
      SkipSpace();
      if (pos_ < s_.size() && s_[pos_] == '}') {
        ++pos_;
        return true;
      }
      while (true) {
        SkipSpace();
        std::string key;
        if (!String(&key)) return false;
        SkipSpace();
        if (pos_ >= s_.size() || s_[pos_] != ':') {
          error_ = "expected ':'";
          return false;
        }
        ++pos_;
        JsonValue member;
        if (!Value(&member, depth + 1)) return false;
        v->members.emplace_back(std::move(key), std::move(member));
        SkipSpace();
        if (pos_ < s_.size() && s_[pos_] == ',') {
          ++pos_;
          continue;
        }
        if (pos_ < s_.size() && s_[pos_] == '}') {
          ++pos_;
          return true;
        }
        error_ = "expected ',' or '}'";
        return false;
      }
    }
    if (c == '[') {
      v->type = JsonValue::Type::kArray;
      ++pos_;
      SkipSpace();
      if (pos_ < s_.size() && s_[pos_] == ']') {
        ++pos_;
        return true;
      }
      while (true) {
        JsonValue item;
        if (!Value(&item, depth + 1)) return false;
        v->items.push_back(std::move(item));
        SkipSpace();
        if (pos_ < s_.size() && s_[pos_] == ',') {
          ++pos_;
          continue;
        }
        if (pos_ < s_.size() && s_[pos_] == ']') {
          ++pos_;
          return true;
        }
        error_ = "expected ',' or ']'";
        return false;
      }
    }
    if (c == '"') {
      v->type = JsonValue::Type::kString;
      return String(&v->text);
    }
    if (c == 't') {
      v->type = JsonValue::Type::kBool;
      v->boolean = true;
      return Literal("true");
    }
    if (c == 'f') {
      v->type = JsonValue::Type::kBool;
      return Literal("false");
    }
    if (c == 'n') return Literal("null");
    const size_t start = pos_;
    while (pos_ < s_.size() &&
           (std::string_view("+-0123456789.eE").find(s_[pos_]) != std::string_view::npos)) {
      ++pos_;
    }
    if (pos_ == start) {
      error_ = "unexpected character";
      return false;
    }
    v->type = JsonValue::Type::kNumber;
    v->text = std::string(s_.substr(start, pos_ - start));
    char* end = nullptr;
    v->number = std::strtod(v->text.c_str(), &end);
    if (end != v->text.c_str() + v->text.size()) {
      error_ = "bad number";
      return false;
    }
    return true;
  }

  std::string_view s_;
  size_t pos_ = 0;
  std::string error_;
};

}  // namespace json_internal

// Parses a whole JSON document. InvalidArgument naming the offset when it is malformed.
inline absl::StatusOr<JsonValue> ParseJson(std::string_view text) {
  return json_internal::Parser(text).Document();
}

// A Prometheus timestamp written in seconds with up to 3 decimals ("1700000000.123", as the
// API writes it in JSON and promtool prints it) in milliseconds. Reads the digits rather than
// multiplying a double: 1700000000.123 * 1000 need not round to ...123 exactly.
inline int64_t PromSecondsToMs(std::string_view text) {
  const std::string s(text);
  const size_t dot = s.find('.');
  int64_t ms = std::strtoll(s.substr(0, dot).c_str(), nullptr, 10) * 1000;
  if (dot != std::string::npos) {
    std::string frac = s.substr(dot + 1, 3);
    while (frac.size() < 3) frac.push_back('0');
    const int64_t f = std::strtoll(frac.c_str(), nullptr, 10);
    ms += (!s.empty() && s[0] == '-') ? -f : f;
  }
  return ms;
}

// A timestamp of the Prometheus API (a JSON number of seconds) in milliseconds.
inline int64_t PromTimestampMs(const JsonValue& v) { return PromSecondsToMs(v.text); }

}  // namespace ember::testutil

#endif  // EMBER_TESTS_TESTUTIL_JSON_VALUE_H_
