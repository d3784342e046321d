// Label matchers (storage/matcher.h).
//
// A regex is compiled as written, with RE2's Perl-like syntax (Go's), `.` matching newline as
// Prometheus's `(?s)` does, and matched with RE2::FullMatch: the same as compiling
// `^(?s:` + value + `)$` as Prometheus does, except that a value which only compiles once
// wrapped (`a)|(b`) is rejected, as Prometheus's own syntax check rejects it.
//
// A regex made only of literal text and `|` (`api|web`, `10\.0\.0\.1:8080`) is matched by
// looking the value up in its set of alternatives; RE2 still compiles it first, so the errors
// and the accepted language are RE2's.
#include "storage/matcher.h"

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "re2/re2.h"

namespace ember::storage {
namespace {

// Up to this many alternatives a linear scan beats a binary search.
constexpr size_t kMaxLinearSetSize = 8;

// The characters that make a regex more than literal text (besides `\` and `|`).
bool IsRegexMeta(char c) {
  switch (c) {
    case '.':
    case '+':
    case '*':
    case '?':
    case '(':
    case ')':
    case '[':
    case ']':
    case '{':
    case '}':
    case '^':
    case '$':
      return true;
    default:
      return false;
  }
}

bool IsAsciiAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// Splits `re` into its alternatives when it is literal text and `|` only; false otherwise.
// `\` before ASCII punctuation stands for that character, as in RE2 and Go; any other escape
// (`\d`, `\pL`, `\x41`...) makes the regex non-literal.
bool ParseLiteralAlternation(std::string_view re, std::vector<std::string>* out) {
  out->clear();
  std::string current;
  for (size_t i = 0; i < re.size(); ++i) {
    const char c = re[i];
    if (c == '|') {
      out->push_back(std::move(current));
      current.clear();
    } else if (c == '\\') {
      if (i + 1 == re.size()) return false;
      const char next = re[i + 1];
      const bool punct = next > 0x20 && next < 0x7f && !IsAsciiAlnum(next) && next != '_';
      if (!punct) return false;
      current.push_back(next);
      ++i;
    } else if (IsRegexMeta(c)) {
      return false;
    } else {
      current.push_back(c);
    }
  }
  out->push_back(std::move(current));
  std::sort(out->begin(), out->end());
  out->erase(std::unique(out->begin(), out->end()), out->end());
  return true;
}

bool IsLegacyName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (!(IsAsciiAlnum(c) || c == '_') || (i == 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

void AppendQuoted(std::string* out, std::string_view s) {
  out->push_back('"');
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (c == '\n') {
      out->append("\\n");
    } else {
      out->push_back(c);
    }
  }
  out->push_back('"');
}

// `job=~"api.*"`, for messages.
std::string MatcherToString(const Matcher& m) {
  std::string out;
  if (IsLegacyName(m.name)) {
    out = m.name;
  } else {
    AppendQuoted(&out, m.name);
  }
  switch (m.op) {
    case Matcher::Op::kEqual:
      out.append("=");
      break;
    case Matcher::Op::kNotEqual:
      out.append("!=");
      break;
    case Matcher::Op::kRegexMatch:
      out.append("=~");
      break;
    case Matcher::Op::kRegexNoMatch:
      out.append("!~");
      break;
  }
  AppendQuoted(&out, m.value);
  return out;
}

bool InSortedSet(const std::vector<std::string>& set, std::string_view value) {
  if (set.size() <= kMaxLinearSetSize) {
    for (const std::string& s : set) {
      if (s == value) return true;
    }
    return false;
  }
  return std::binary_search(set.begin(), set.end(), value, std::less<>());
}

}  // namespace

absl::StatusOr<CompiledMatcher> CompiledMatcher::Compile(const Matcher& m) {
  CompiledMatcher cm;
  cm.m_ = m;
  switch (m.op) {
    case Matcher::Op::kEqual:
    case Matcher::Op::kNotEqual:
      cm.set_matches_ = std::make_shared<const std::vector<std::string>>(1, m.value);
      break;
    case Matcher::Op::kRegexMatch:
    case Matcher::Op::kRegexNoMatch: {
      RE2::Options options;
      options.set_log_errors(false);
      options.set_dot_nl(true);
      auto re =
          std::make_shared<const RE2>(re2::StringPiece(m.value.data(), m.value.size()), options);
      if (!re->ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid regex in matcher ", MatcherToString(m), ": ", re->error()));
      }
      cm.re_ = std::move(re);
      std::vector<std::string> literals;
      if (ParseLiteralAlternation(m.value, &literals)) {
        cm.set_matches_ = std::make_shared<const std::vector<std::string>>(std::move(literals));
      }
      break;
    }
  }
  cm.matches_empty_ = cm.Matches("");
  return cm;
}

bool CompiledMatcher::Matches(std::string_view value) const {
  switch (m_.op) {
    case Matcher::Op::kEqual:
      return value == m_.value;
    case Matcher::Op::kNotEqual:
      return value != m_.value;
    case Matcher::Op::kRegexMatch:
    case Matcher::Op::kRegexNoMatch: {
      bool match;
      if (set_matches_ != nullptr) {
        match = InSortedSet(*set_matches_, value);
      } else {
        match = RE2::FullMatch(re2::StringPiece(value.data(), value.size()), *re_);
      }
      return m_.op == Matcher::Op::kRegexMatch ? match : !match;
    }
  }
  return false;
}

absl::StatusOr<std::vector<CompiledMatcher>> CompileMatchers(const std::vector<Matcher>& ms) {
  std::vector<CompiledMatcher> out;
  out.reserve(ms.size());
  for (const Matcher& m : ms) {
    absl::StatusOr<CompiledMatcher> cm = CompiledMatcher::Compile(m);
    if (!cm.ok()) return cm.status();
    out.push_back(*std::move(cm));
  }
  return out;
}

}  // namespace ember::storage
