// Internal to notation.cc and histogram_notation.cc: the character classes, the line scanner
// and the small helpers both halves of the notation parser use.
#ifndef EMBER_TESTS_PROMQLTEST_NOTATION_INTERNAL_H_
#define EMBER_TESTS_PROMQLTEST_NOTATION_INTERNAL_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ember::promqltest {

inline absl::Status Invalid(const std::string& message) {
  return absl::InvalidArgumentError(message);
}

inline bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f'; }
inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }
inline bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
inline bool IsAlnum(char c) { return IsAlpha(c) || IsDigit(c); }

inline std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// Decimal digits only, as Go's strconv.ParseUint(s, 10, 64): the N of `xN`.
inline absl::StatusOr<uint64_t> ParseRepeatCount(std::string_view s) {
  uint64_t n = 0;
  if (s.empty()) return Invalid("missing repetition count after 'x'");
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), n, 10);
  if (ec != std::errc() || ptr != s.data() + s.size()) {
    return Invalid(absl::StrFormat("invalid repetition count \"%s\"", s));
  }
  // A guard against typos that would expand into billions of samples.
  constexpr uint64_t kMaxRepeat = 10'000'000;
  if (n > kMaxRepeat) {
    return Invalid(absl::StrFormat("repetition count %d is larger than %d", n, kMaxRepeat));
  }
  return n;
}

// A cursor over one line's value text.
class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}

  bool done() const { return pos_ >= text_.size(); }
  char peek(size_t ahead = 0) const {
    return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
  }
  size_t pos() const { return pos_; }
  void advance(size_t n = 1) { pos_ = std::min(text_.size(), pos_ + n); }
  void SkipSpace() {
    while (!done() && IsSpace(peek())) ++pos_;
  }
  std::string_view rest() const { return text_.substr(pos_); }
  std::string_view Take(size_t from) const { return text_.substr(from, pos_ - from); }
  bool Consume(std::string_view s) {
    if (text_.substr(pos_, s.size()) != s) return false;
    pos_ += s.size();
    return true;
  }
  // The decimal number syntax of the series lexer: no hex, no sign.
  std::string_view ScanNumber() {
    const size_t start = pos_;
    while (IsDigit(peek())) ++pos_;
    if (peek() == '.') {
      ++pos_;
      while (IsDigit(peek())) ++pos_;
    }
    if ((peek() == 'e' || peek() == 'E') &&
        (IsDigit(peek(1)) || ((peek(1) == '+' || peek(1) == '-') && IsDigit(peek(2))))) {
      pos_ += 2;
      while (IsDigit(peek())) ++pos_;
    }
    return Take(start);
  }
  std::string_view ScanWord() {
    const size_t start = pos_;
    while (IsAlnum(peek()) || peek() == ':') ++pos_;
    return Take(start);
  }
  std::string_view ScanDigits() {
    const size_t start = pos_;
    while (IsDigit(peek())) ++pos_;
    return Take(start);
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

// `s` in double quotes with C escapes, for messages.
inline std::string Quote(std::string_view s) {
  return absl::StrCat("\"", absl::CEscape(absl::string_view(s.data(), s.size())), "\"");
}

}  // namespace ember::promqltest

#endif  // EMBER_TESTS_PROMQLTEST_NOTATION_INTERNAL_H_
