#include "tests/promqltest/index.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace ember::promqltest {

bool IndexEntry::HasTag(std::string_view tag) const {
  return std::find(tags.begin(), tags.end(), tag) != tags.end();
}

absl::StatusOr<EvalIndex> EvalIndex::Parse(std::string_view text, std::string_view source) {
  EvalIndex index;
  int line_no = 0;
  for (absl::string_view raw : absl::StrSplit(absl::string_view(text.data(), text.size()), '\n')) {
    ++line_no;
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
    if (raw.empty()) continue;
    const std::vector<absl::string_view> f = absl::StrSplit(raw, '\t');
    const auto bad = [&](std::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s:%d: %s (row \"%s\")", source, line_no, why, raw));
    };
    if (f.size() != 5) return bad(absl::StrFormat("want 5 tab-separated fields, got %d", f.size()));
    if (line_no == 1 && f[0] == "file") continue;  // The header.
    IndexEntry e;
    e.file = std::string(f[0]);
    auto [ptr, ec] = std::from_chars(f[1].data(), f[1].data() + f[1].size(), e.line);
    if (ec != std::errc() || ptr != f[1].data() + f[1].size() || e.line <= 0) {
      return bad("the line field is not a positive integer");
    }
    if (f[2] == "range") {
      e.is_range = true;
    } else if (f[2] != "instant") {
      return bad("query_type must be instant or range");
    }
    if (f[3] == "core") {
      e.tier = Tier::kCore;
    } else if (f[3] != "later") {
      return bad("tier must be core or later");
    }
    if (f[4] != "-") {
      for (absl::string_view tag : absl::StrSplit(f[4], ',')) e.tags.emplace_back(tag);
    }
    auto key = std::make_pair(e.file, e.line);
    if (!index.entries_.emplace(std::move(key), std::move(e)).second) {
      return bad("duplicate (file, line)");
    }
  }
  return index;
}

absl::StatusOr<EvalIndex> EvalIndex::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open the eval index"));
  std::stringstream buf;
  buf << in.rdbuf();
  return Parse(buf.str(), path);
}

const IndexEntry* EvalIndex::Find(std::string_view file, int line) const {
  auto it = entries_.find(std::make_pair(std::string(file), line));
  return it == entries_.end() ? nullptr : &it->second;
}

std::vector<std::string> EvalIndex::Files() const {
  std::vector<std::string> files;
  for (const auto& [key, entry] : entries_) {
    if (files.empty() || files.back() != key.first) files.push_back(key.first);
  }
  return files;
}

int EvalIndex::CountForFile(std::string_view file) const {
  int n = 0;
  for (const auto& [key, entry] : entries_) n += key.first == file ? 1 : 0;
  return n;
}

}  // namespace ember::promqltest
