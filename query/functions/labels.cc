// Label functions: label_replace (RE2, fully anchored, Go's $-expansion), label_join,
// sort_by_label / sort_by_label_desc (natural order).
#include <algorithm>
#include <cctype>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "query/functions/functions.h"
#include "re2/re2.h"

namespace ember::query {
namespace {

bool IsNameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Go's regexp.Expand: $1, ${1}, $name, ${name}, $$; a malformed reference is copied as is.
std::string Expand(const RE2& re, std::string_view repl, const std::vector<re2::StringPiece>& g) {
  std::string out;
  for (size_t i = 0; i < repl.size(); ++i) {
    if (repl[i] != '$' || i + 1 >= repl.size()) {
      out.push_back(repl[i]);
      continue;
    }
    if (repl[i + 1] == '$') {
      out.push_back('$');
      ++i;
      continue;
    }
    std::string name;
    size_t next = i + 1;
    if (repl[next] == '{') {
      size_t close = repl.find('}', next + 1);
      if (close == std::string_view::npos) {
        out.push_back('$');
        continue;
      }
      name = std::string(repl.substr(next + 1, close - next - 1));
      bool ok = !name.empty();
      for (char c : name) ok = ok && IsNameChar(c);
      if (!ok) {
        out.push_back('$');
        continue;
      }
      next = close + 1;
    } else {
      while (next < repl.size() && IsNameChar(repl[next])) name.push_back(repl[next++]);
      if (name.empty()) {
        out.push_back('$');
        continue;
      }
    }
    i = next - 1;
    int idx = -1;
    if (std::all_of(name.begin(), name.end(), [](char c) { return std::isdigit(c) != 0; })) {
      idx = name.size() > 8 ? -1 : std::stoi(name);
    } else {
      const auto& named = re.NamedCapturingGroups();
      auto it = named.find(name);
      if (it != named.end()) idx = it->second;
    }
    if (idx >= 0 && idx < static_cast<int>(g.size()) && g[idx].data() != nullptr) {
      out.append(g[idx].data(), g[idx].size());
    }
  }
  return out;
}

}  // namespace

bool IsValidLabelName(std::string_view s) {
  if (s.empty()) return false;
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = s[i];
    int n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (int k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
    }
    i += n;
  }
  return true;
}

absl::Status LabelReplace(SeriesList* list, const std::string& dst, const std::string& repl,
                          const std::string& src, const std::string& regex) {
  RE2::Options opts;
  opts.set_log_errors(false);
  RE2 re("^(?s:" + regex + ")$", opts);
  if (!re.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid regular expression in label_replace(): ", regex));
  }
  if (!IsValidLabelName(dst)) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid destination label name in label_replace(): ", dst));
  }
  std::vector<re2::StringPiece> groups(re.NumberOfCapturingGroups() + 1);
  for (EvalSeries& s : *list) {
    const std::string value(GetLabelValue(s.labels, src));
    if (!re.Match(value, 0, value.size(), RE2::ANCHOR_BOTH, groups.data(),
                  static_cast<int>(groups.size()))) {
      continue;
    }
    SetLabel(&s.labels, dst, Expand(re, repl, groups));
    if (dst == kMetricNameLabel) s.drop_name = false;
  }
  return MergeSameLabelsets(list);
}

absl::Status LabelJoin(SeriesList* list, const std::string& dst, const std::string& sep,
                       const std::vector<std::string>& srcs) {
  for (const std::string& src : srcs) {
    if (!IsValidLabelName(src)) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid source label name in label_join(): ", src));
    }
  }
  if (!IsValidLabelName(dst)) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid destination label name in label_join(): ", dst));
  }
  for (EvalSeries& s : *list) {
    std::vector<std::string> vals;
    for (const std::string& src : srcs) vals.emplace_back(GetLabelValue(s.labels, src));
    SetLabel(&s.labels, dst, absl::StrJoin(vals, sep));
    if (dst == kMetricNameLabel) s.drop_name = false;
  }
  return MergeSameLabelsets(list);
}

namespace {

// Natural order: runs of digits compare as numbers.
bool NaturalLess(std::string_view a, std::string_view b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    const bool da = std::isdigit(static_cast<unsigned char>(a[i])) != 0;
    const bool db = std::isdigit(static_cast<unsigned char>(b[j])) != 0;
    if (da && db) {
      size_t ie = i, je = j;
      while (ie < a.size() && std::isdigit(static_cast<unsigned char>(a[ie]))) ++ie;
      while (je < b.size() && std::isdigit(static_cast<unsigned char>(b[je]))) ++je;
      std::string_view na = a.substr(i, ie - i), nb = b.substr(j, je - j);
      while (na.size() > 1 && na[0] == '0') na.remove_prefix(1);
      while (nb.size() > 1 && nb[0] == '0') nb.remove_prefix(1);
      if (na.size() != nb.size()) return na.size() < nb.size();
      if (na != nb) return na < nb;
      i = ie;
      j = je;
      continue;
    }
    if (a[i] != b[j]) return a[i] < b[j];
    ++i;
    ++j;
  }
  return a.size() - i < b.size() - j;
}

}  // namespace

void SortByLabel(EvalVector* v, const std::vector<std::string>& names, bool desc) {
  std::stable_sort(v->begin(), v->end(), [&](const EvalSample& a, const EvalSample& b) {
    for (const std::string& n : names) {
      const std::string_view x = GetLabelValue(*a.labels, n);
      const std::string_view y = GetLabelValue(*b.labels, n);
      if (x == y) continue;
      return desc ? NaturalLess(y, x) : NaturalLess(x, y);
    }
    return desc ? LabelsLess(*b.labels, *a.labels) : LabelsLess(*a.labels, *b.labels);
  });
}

}  // namespace ember::query
