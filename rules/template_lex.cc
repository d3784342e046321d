// The lexical side of alert templates: Go's text/template/parse rules for string and number
// literals, and the positions every template error names.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "query/ast.h"
#include "rules/template_program.h"
#include "util/quote.h"
#include "util/utf8.h"

namespace ember::rules::template_internal {
namespace {

// Reads one literal of `text` at `pos_`, a reference to the caller's offset.
class LiteralLexer {
 public:
  LiteralLexer(std::string_view text, const LineIndex& lines, size_t* pos)
      : text_(text), lines_(lines), pos_(*pos) {}

  // A "quoted" string with Go's escapes, or a `raw` one.
  absl::StatusOr<std::string> ParseString() {
    const size_t start = pos_;
    const char quote = text_[pos_++];
    std::string out;
    if (quote == '`') {
      const size_t end = text_.find('`', pos_);
      if (end == std::string_view::npos)
        return ErrorAt(PosOf(start), "unterminated raw quoted string");
      for (char ch : text_.substr(pos_, end - pos_)) {
        if (ch != '\r') out.push_back(ch);  // Go drops carriage returns from raw strings.
      }
      pos_ = end + 1;
      return out;
    }
    while (true) {
      if (pos_ >= text_.size() || text_[pos_] == '\n') {
        return ErrorAt(PosOf(start), "unterminated quoted string");
      }
      const char ch = text_[pos_++];
      if (ch == '"') return out;
      if (ch != '\\') {
        out.push_back(ch);
        continue;
      }
      const size_t esc = pos_ - 1;
      const char e = Peek();
      ++pos_;
      switch (e) {
        case 'a':
          out.push_back('\a');
          continue;
        case 'b':
          out.push_back('\b');
          continue;
        case 'f':
          out.push_back('\f');
          continue;
        case 'n':
          out.push_back('\n');
          continue;
        case 'r':
          out.push_back('\r');
          continue;
        case 't':
          out.push_back('\t');
          continue;
        case 'v':
          out.push_back('\v');
          continue;
        case '\\':
          out.push_back('\\');
          continue;
        case '"':
          out.push_back('"');
          continue;
        default:
          break;
      }
      int digits = 0;
      int base = 16;
      if (e == 'x') {
        digits = 2;
      } else if (e == 'u') {
        digits = 4;
      } else if (e == 'U') {
        digits = 8;
      } else if (e >= '0' && e <= '7') {
        digits = 3;
        base = 8;
        --pos_;
      } else {
        return ErrorAt(PosOf(esc), "invalid escape sequence in quoted string");
      }
      uint32_t v = 0;
      const std::string_view hex = text_.substr(pos_, digits);
      if (static_cast<int>(hex.size()) < digits ||
          std::from_chars(hex.data(), hex.data() + digits, v, base).ptr != hex.data() + digits) {
        return ErrorAt(PosOf(esc), "invalid escape sequence in quoted string");
      }
      pos_ += digits;
      if (e == 'x' || base == 8) {
        if (v > 255) return ErrorAt(PosOf(esc), "invalid escape sequence in quoted string");
        out.push_back(static_cast<char>(v));
      } else {
        if (v > 0x10FFFF || (v >= 0xD800 && v < 0xE000)) {
          return ErrorAt(PosOf(esc), "invalid escape sequence in quoted string");
        }
        util::AppendUtf8(&out, v);
      }
    }
  }

  // Go's number constants: an int unless written with a '.' or an exponent (`1.5`, `1e3`),
  // hexadecimal and octal (`0x1f`, `017`) included, `_` separators allowed.
  absl::StatusOr<Value> ParseNumber() {
    const size_t start = pos_;
    if (Peek() == '+' || Peek() == '-') ++pos_;
    while (pos_ < text_.size()) {
      const char ch = text_[pos_];
      const char prev = text_[pos_ - 1];
      if (absl::ascii_isalnum(ch) || ch == '_' || ch == '.' ||
          ((ch == '+' || ch == '-') && (prev == 'e' || prev == 'E'))) {
        ++pos_;
      } else {
        break;
      }
    }
    const std::string_view raw = text_.substr(start, pos_ - start);
    std::string s;
    for (char ch : raw) {
      if (ch != '_') s.push_back(ch);
    }
    const auto bad = [&] {
      return ErrorAt(PosOf(start), absl::StrFormat("bad number syntax: %s", util::GoQuote(raw)));
    };
    const bool neg = s[0] == '-';
    std::string_view body(s);
    if (body[0] == '+' || body[0] == '-') body.remove_prefix(1);
    int base = 10;
    if (body.size() > 2 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X')) {
      base = 16;
      body.remove_prefix(2);
    } else if (body.size() > 1 && body[0] == '0' &&
               body.find_first_not_of("01234567") == std::string_view::npos) {
      base = 8;
    }
    uint64_t mag = 0;
    const auto r = std::from_chars(body.data(), body.data() + body.size(), mag, base);
    if (r.ec == std::errc() && r.ptr == body.data() + body.size() &&
        mag <= static_cast<uint64_t>(INT64_MAX) + (neg ? 1 : 0)) {
      const int64_t i = neg ? static_cast<int64_t>(0 - mag) : static_cast<int64_t>(mag);
      return Value{.kind = Kind::kInt, .i = i};
    }
    if (base == 16) return bad();
    double f = 0;
    // Validate what strtod would be lenient about: digits, one '.', an optional exponent.
    const size_t e = body.find_first_of("eE");
    const std::string_view mant = body.substr(0, e);
    if (mant.empty() || mant == "." || mant.find_first_not_of("0123456789.") != mant.npos ||
        mant.find('.') != mant.rfind('.')) {
      return bad();
    }
    if (e != std::string_view::npos) {
      std::string_view x = body.substr(e + 1);
      if (!x.empty() && (x[0] == '+' || x[0] == '-')) x.remove_prefix(1);
      if (x.empty() || x.find_first_not_of("0123456789") != x.npos) return bad();
    }
    if (!absl::SimpleAtod(s, &f) || !std::isfinite(f)) return bad();
    return Value{.kind = Kind::kFloat, .f = f};
  }

 private:
  char Peek(size_t ahead = 0) const {
    return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
  }
  Pos PosOf(size_t offset) const { return lines_.PosOf(offset); }

  const std::string_view text_;
  const LineIndex& lines_;
  size_t& pos_;
};

}  // namespace

absl::Status ErrorAt(Pos pos, std::string_view msg) {
  return absl::InvalidArgumentError(absl::StrFormat("template: %d:%d: %s", pos.line, pos.col, msg));
}

LineIndex::LineIndex(std::string_view text) {
  line_starts_.push_back(0);
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') line_starts_.push_back(i + 1);
  }
}

Pos LineIndex::PosOf(size_t offset) const {
  const auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset) - 1;
  return Pos{.line = static_cast<int>(it - line_starts_.begin()) + 1,
             .col = static_cast<int>(offset - *it) + 1};
}

absl::StatusOr<std::string> LexString(std::string_view text, const LineIndex& lines, size_t* pos) {
  return LiteralLexer(text, lines, pos).ParseString();
}

absl::StatusOr<Value> LexNumber(std::string_view text, const LineIndex& lines, size_t* pos) {
  return LiteralLexer(text, lines, pos).ParseNumber();
}

}  // namespace ember::rules::template_internal
