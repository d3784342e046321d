#include "rules/template_format.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "query/ast.h"
#include "rules/template.h"
#include "util/quote.h"
#include "util/utf8.h"

namespace ember::rules {
namespace template_internal {
namespace {

struct Spec {
  bool plus = false;
  bool minus = false;
  bool sharp = false;
  bool space = false;
  bool zero = false;
  int width = -1;
  int prec = -1;
};

int RuneCount(std::string_view s) {
  int n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

// Pads `body` to the width; `sign` (and a 0x prefix) stays in front of zero padding.
std::string Pad(const Spec& spec, std::string_view sign, std::string_view body,
                bool allow_zero = true) {
  const int len = RuneCount(sign) + RuneCount(body);
  std::string out;
  if (spec.width > len && !spec.minus && !(spec.zero && allow_zero)) {
    out.append(spec.width - len, ' ');
  }
  out.append(sign);
  if (spec.width > len && !spec.minus && spec.zero && allow_zero) {
    out.append(spec.width - len, '0');
  }
  out.append(body);
  if (spec.width > len && spec.minus) out.append(spec.width - len, ' ');
  return out;
}

bool FormatFloat(const Spec& spec, char verb, double v, std::string* out) {
  const bool upper = verb == 'E' || verb == 'G';
  std::string_view sign;
  if (std::signbit(v) && !std::isnan(v)) {
    sign = "-";
  } else if (spec.plus) {
    sign = "+";
  } else if (spec.space) {
    sign = " ";
  }
  if (std::isinf(v)) {
    if (sign.empty()) sign = "+";  // Go signs an infinity even without the + flag.
    out->append(Pad(spec, sign, "Inf", /*allow_zero=*/false));
    return true;
  }
  if (std::isnan(v)) {
    out->append(Pad(spec, sign, "NaN", /*allow_zero=*/false));
    return true;
  }
  const double a = std::fabs(v);
  std::string body;
  switch (verb) {
    case 'v':
    case 'g':
    case 'G':
      body = spec.prec < 0 ? FormatGoFloat(a) : absl::StrFormat("%.*g", spec.prec, a);
      break;
    case 'e':
    case 'E':
      body = absl::StrFormat("%.*e", spec.prec < 0 ? 6 : spec.prec, a);
      break;
    case 'f':
    case 'F':
      body = absl::StrFormat("%.*f", spec.prec < 0 ? 6 : spec.prec, a);
      break;
    default:
      return false;
  }
  if (upper) {
    for (char& c : body) {
      if (c == 'e') c = 'E';
    }
  }
  out->append(Pad(spec, sign, body));
  return true;
}

bool FormatInt(const Spec& spec, char verb, int64_t v, std::string* out) {
  // Go prints a negative number in any base as a sign and the magnitude: %x of -255 is -ff.
  const uint64_t mag = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  std::string digits;
  std::string_view prefix;
  switch (verb) {
    case 'v':
    case 'd':
      digits = absl::StrCat(mag);
      break;
    case 'x':
      digits = absl::StrFormat("%x", mag);
      if (spec.sharp) prefix = "0x";
      break;
    case 'X':
      digits = absl::StrFormat("%X", mag);
      if (spec.sharp) prefix = "0X";
      break;
    case 'o':
      digits = absl::StrFormat("%o", mag);
      if (spec.sharp && digits != "0") prefix = "0";
      break;
    default:
      return false;
  }
  if (spec.prec >= 0) {
    if (spec.prec == 0 && mag == 0) digits.clear();
    if (static_cast<int>(digits.size()) < spec.prec) {
      digits.insert(0, spec.prec - digits.size(), '0');
    }
  }
  std::string lead = v < 0 ? "-" : spec.plus ? "+" : spec.space ? " " : "";
  lead.append(prefix);
  // A precision turns zero padding off, as in Go and C.
  out->append(Pad(spec, lead, digits, /*allow_zero=*/spec.prec < 0));
  return true;
}

bool FormatString(const Spec& spec, char verb, std::string_view s, std::string* out) {
  switch (verb) {
    case 'v':
    case 's': {
      if (spec.prec >= 0) {
        // Truncate to `prec` runes.
        size_t end = 0;
        for (int n = 0; end < s.size(); ++end) {
          if ((static_cast<unsigned char>(s[end]) & 0xC0) != 0x80 && n++ == spec.prec) break;
        }
        s = s.substr(0, end);
      }
      out->append(Pad(spec, "", s));
      return true;
    }
    case 'q':
      out->append(Pad(spec, "", util::GoQuote(s)));
      return true;
    case 'x':
    case 'X': {
      std::string hex;
      for (char c : s) {
        // Two literal formats: clang's Abseil checks that a format string is constexpr.
        const unsigned char byte = static_cast<unsigned char>(c);
        if (verb == 'x') {
          absl::StrAppendFormat(&hex, "%02x", byte);
        } else {
          absl::StrAppendFormat(&hex, "%02X", byte);
        }
      }
      out->append(Pad(spec, "", hex));
      return true;
    }
    default:
      return false;
  }
}

void FormatValue(const Spec& spec, char32_t verb, const Value& v, std::string* out);

// Go's %!verb(type=value) for an operand that the verb does not fit; the value is printed
// with %v and the verb's flags, width and precision.
void BadVerb(const Spec& spec, char32_t verb, const Value& v, std::string* out) {
  absl::StrAppend(out, "%!");
  util::AppendUtf8(out, static_cast<uint32_t>(verb));
  out->push_back('(');
  out->append(GoTypeName(v.kind));
  out->push_back('=');
  FormatValue(spec, 'v', v, out);
  out->push_back(')');
}

void FormatMap(const Spec& spec, char32_t verb, const Labels& labels, std::string* out) {
  // Go prints a map's pairs in key order and applies the verb to every key and value;
  // Labels are sorted by name already.
  out->append("map[");
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out->push_back(' ');
    Value key{.kind = Kind::kString, .str = labels[i].name};
    Value value{.kind = Kind::kString, .str = labels[i].value};
    FormatValue(spec, verb, key, out);
    out->push_back(':');
    FormatValue(spec, verb, value, out);
  }
  out->push_back(']');
}

void FormatValue(const Spec& spec, char32_t verb, const Value& v, std::string* out) {
  const char ascii = verb < 0x80 ? static_cast<char>(verb) : '\0';
  bool ok = false;
  switch (v.kind) {
    case Kind::kString:
      ok = FormatString(spec, ascii, v.str, out);
      break;
    case Kind::kFloat:
      ok = FormatFloat(spec, ascii, v.f, out);
      break;
    case Kind::kInt:
      ok = FormatInt(spec, ascii, v.i, out);
      break;
    case Kind::kBool:
      if (ascii == 'v' || ascii == 't') {
        out->append(Pad(spec, "", v.b ? "true" : "false", /*allow_zero=*/false));
        ok = true;
      }
      break;
    case Kind::kMap:
      FormatMap(spec, verb, *v.map, out);
      ok = true;
      break;
    case Kind::kData: {
      // Prometheus's struct{Labels, ExternalLabels map[string]string; ExternalURL string;
      // Value float64}: Go prints the fields in order between braces.
      const TemplateData& d = *v.data;
      out->push_back('{');
      FormatMap(spec, verb, d.labels, out);
      out->push_back(' ');
      FormatMap(spec, verb, d.external_labels, out);
      out->push_back(' ');
      FormatValue(spec, verb, Value{.kind = Kind::kString, .str = d.external_url}, out);
      out->push_back(' ');
      FormatValue(spec, verb, Value{.kind = Kind::kFloat, .f = d.value}, out);
      out->push_back('}');
      ok = true;
      break;
    }
  }
  if (!ok) BadVerb(spec, verb, v, out);
}

// Decodes the UTF-8 rune at `*i` (U+FFFD for a bad byte) and advances past it.
char32_t NextRune(std::string_view s, size_t* i) {
  const unsigned char c = s[*i];
  int n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || *i + n > s.size()) {
    ++*i;
    return 0xFFFD;
  }
  char32_t r = n == 1 ? c : c & (0x7F >> n);
  for (int k = 1; k < n; ++k) r = (r << 6) | (s[*i + k] & 0x3F);
  *i += n;
  return r;
}

}  // namespace

std::string_view GoTypeName(Kind kind) {
  switch (kind) {
    case Kind::kString:
      return "string";
    case Kind::kFloat:
      return "float64";
    case Kind::kInt:
      return "int";
    case Kind::kBool:
      return "bool";
    case Kind::kMap:
      return "map[string]string";
    case Kind::kData:
      return "struct";
  }
  return "?";
}

std::string GoSprintValue(const Value& v) {
  std::string out;
  FormatValue(Spec{}, 'v', v, &out);
  return out;
}

std::string GoSprint(std::span<const Value> args) {
  std::string out;
  for (size_t i = 0; i < args.size(); ++i) {
    if (i > 0 && args[i].kind != Kind::kString && args[i - 1].kind != Kind::kString) {
      out.push_back(' ');
    }
    out += GoSprintValue(args[i]);
  }
  return out;
}

std::string GoSprintln(std::span<const Value> args) {
  std::string out;
  for (size_t i = 0; i < args.size(); ++i) {
    if (i > 0) out.push_back(' ');
    out += GoSprintValue(args[i]);
  }
  out.push_back('\n');
  return out;
}

std::string GoSprintf(std::string_view format, std::span<const Value> args) {
  std::string out;
  size_t arg = 0;
  size_t i = 0;
  // Reads a `*` width or precision from the next operand, which must be an int.
  auto star = [&](int* field, bool* bad) {
    if (arg >= args.size()) {
      *bad = true;
      return;
    }
    if (args[arg].kind == Kind::kInt && std::abs(args[arg].i) <= 1000000) {
      *field = static_cast<int>(args[arg].i);
    } else {
      *bad = true;
    }
    ++arg;
  };
  while (i < format.size()) {
    if (format[i] != '%') {
      const size_t next = format.find('%', i);
      const size_t end = next == std::string_view::npos ? format.size() : next;
      out.append(format.substr(i, end - i));
      i = end;
      continue;
    }
    ++i;
    Spec spec;
    for (; i < format.size(); ++i) {
      const char c = format[i];
      if (c == '+') {
        spec.plus = true;
      } else if (c == '-') {
        spec.minus = true;
      } else if (c == '#') {
        spec.sharp = true;
      } else if (c == ' ') {
        spec.space = true;
      } else if (c == '0') {
        spec.zero = true;
      } else {
        break;
      }
    }
    if (i < format.size() && format[i] == '*') {
      ++i;
      bool bad = false;
      star(&spec.width, &bad);
      if (bad) {
        out += "%!(BADWIDTH)";
        spec.width = -1;
      } else if (spec.width < 0) {
        spec.minus = true;
        spec.width = -spec.width;
      }
    } else {
      for (; i < format.size() && format[i] >= '0' && format[i] <= '9'; ++i) {
        spec.width = std::max(spec.width, 0) * 10 + (format[i] - '0');
        if (spec.width > 1000000) spec.width = 1000000;
      }
    }
    if (i < format.size() && format[i] == '.') {
      ++i;
      spec.prec = 0;
      if (i < format.size() && format[i] == '*') {
        ++i;
        bool bad = false;
        star(&spec.prec, &bad);
        if (bad || spec.prec < 0) {
          if (bad) out += "%!(BADPREC)";
          spec.prec = -1;
        }
      } else {
        for (; i < format.size() && format[i] >= '0' && format[i] <= '9'; ++i) {
          spec.prec = std::min(spec.prec * 10 + (format[i] - '0'), 1000000);
        }
      }
    }
    if (spec.minus) spec.zero = false;  // Go pads on the right with spaces only.
    if (i >= format.size()) {
      out += "%!(NOVERB)";
      break;
    }
    const char32_t verb = NextRune(format, &i);
    if (verb == '%') {
      out.push_back('%');
      continue;
    }
    if (arg >= args.size()) {
      out += "%!";
      util::AppendUtf8(&out, static_cast<uint32_t>(verb));
      out += "(MISSING)";
      continue;
    }
    FormatValue(spec, verb, args[arg++], &out);
  }
  if (arg < args.size()) {
    out += "%!(EXTRA ";
    for (size_t k = arg; k < args.size(); ++k) {
      if (k > arg) out += ", ";
      out.append(GoTypeName(args[k].kind));
      out.push_back('=');
      out.append(GoSprintValue(args[k]));
    }
    out.push_back(')');
  }
  return out;
}

}  // namespace template_internal
}  // namespace ember::rules
