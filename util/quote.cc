#include "util/quote.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "util/strings.h"
#include "util/utf8.h"

namespace ember::util {

std::string GoQuote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('"');
  for (size_t i = 0; i < s.size();) {
    const char c = s[i];
    const size_t n = Utf8SequenceLength(s, i);
    if (n == 0) {
      absl::StrAppendFormat(&out, "\\x%02x", static_cast<unsigned char>(c));
      ++i;
      continue;
    }
    if (n > 1) {
      out.append(s.substr(i, n));
      i += n;
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\a':
        out += "\\a";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\v':
        out += "\\v";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          absl::StrAppendFormat(&out, "\\x%02x", static_cast<unsigned char>(c));
        } else {
          out.push_back(c);
        }
    }
    ++i;
  }
  out.push_back('"');
  return out;
}

std::string QuoteInput(std::string_view s, size_t max_shown) {
  const bool cut = s.size() > max_shown;
  if (cut) {  // Cut between UTF-8 sequences, never inside one.
    size_t end = 0;
    while (end < max_shown) {
      const size_t n = std::max<size_t>(Utf8SequenceLength(s, end), 1);
      if (end + n > max_shown) break;
      end += n;
    }
    s = s.substr(0, end);
  }
  const absl::string_view text = AsAbsl(s);
  // Hex for controls either way: Utf8SafeCEscape would write them in octal.
  const std::string escaped =
      IsValidUtf8(s) ? absl::Utf8SafeCHexEscape(text) : absl::CHexEscape(text);
  return absl::StrCat("\"", escaped, cut ? "...\"" : "\"");
}

}  // namespace ember::util
