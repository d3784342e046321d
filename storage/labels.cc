// Label sets: canonical form, validation and display (include/ember/labels.h).
//
// The UTF-8 check is Go's utf8.ValidString, as Prometheus applies it (util/utf8.h).
#include "ember/labels.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "util/quote.h"
#include "util/utf8.h"

namespace ember {
namespace {

using util::FindInvalidUtf8;
using util::Utf8SequenceLength;

constexpr size_t kValid = std::string_view::npos;

void AppendQuoted(std::string* out, std::string_view s) { out->append(util::GoQuote(s)); }

std::string Quoted(std::string_view s) {
  std::string out;
  AppendQuoted(&out, s);
  return out;
}

}  // namespace

bool IsLegacyLabelName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                    (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

void CanonicalizeLabels(Labels* labels) {
  labels->erase(std::remove_if(labels->begin(), labels->end(),
                               [](const Label& l) { return l.value.empty(); }),
                labels->end());
  // Stable, so duplicates keep their order and ValidateLabels() reports the later one.
  std::stable_sort(labels->begin(), labels->end(),
                   [](const Label& a, const Label& b) { return a.name < b.name; });
}

absl::Status ValidateLabels(const Labels& labels) {
  if (labels.empty())
    return absl::InvalidArgumentError("labels {}: a series needs at least one label");
  bool sorted = true;
  for (size_t i = 0; i < labels.size(); ++i) {
    const Label& l = labels[i];
    if (l.name.empty()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("labels %s: label %d (value %s) has an empty name",
                          LabelsToString(labels), i, Quoted(l.value)));
    }
    if (const size_t at = FindInvalidUtf8(l.name); at != kValid) {
      return absl::InvalidArgumentError(
          absl::StrFormat("labels %s: label %d name %s is not valid UTF-8 (byte offset %d)",
                          LabelsToString(labels), i, Quoted(l.name), at));
    }
    if (const size_t at = FindInvalidUtf8(l.value); at != kValid) {
      return absl::InvalidArgumentError(
          absl::StrFormat("labels %s: label %d (%s) value %s is not valid UTF-8 (byte offset %d)",
                          LabelsToString(labels), i, Quoted(l.name), Quoted(l.value), at));
    }
    if (i > 0) {
      if (labels[i - 1].name == l.name) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "labels %s: label %d duplicates name %s", LabelsToString(labels), i, Quoted(l.name)));
      }
      sorted = sorted && labels[i - 1].name < l.name;
    }
  }
  if (!sorted) {
    // Not canonical: adjacent names say nothing about duplicates, so look them all up.
    absl::flat_hash_set<std::string_view> seen;
    for (size_t i = 0; i < labels.size(); ++i) {
      if (!seen.insert(labels[i].name).second) {
        return absl::InvalidArgumentError(absl::StrFormat("labels %s: label %d duplicates name %s",
                                                          LabelsToString(labels), i,
                                                          Quoted(labels[i].name)));
      }
    }
  }
  return absl::OkStatus();
}

std::string LabelsToString(const Labels& labels) {
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out.append(", ");
    // As Prometheus 3.x: a name outside [a-zA-Z_][a-zA-Z0-9_]* is quoted.
    if (IsLegacyLabelName(labels[i].name)) {
      out.append(labels[i].name);
    } else {
      AppendQuoted(&out, labels[i].name);
    }
    out.push_back('=');
    AppendQuoted(&out, labels[i].value);
  }
  out.push_back('}');
  return out;
}

std::string_view GetLabelValue(const Labels& labels, std::string_view name) {
  // Label sets are small (a handful to a few dozen pairs): a scan beats a binary search and
  // also works on a set that is not canonical yet.
  for (const Label& l : labels) {
    if (l.name == name) return l.value;
  }
  return {};
}

}  // namespace ember
