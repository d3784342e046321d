// Postings algebra and PostingsForMatchers (storage/postings.h).
//
// Semantics, as Prometheus's tsdb/querier.go: a series matches when every matcher accepts the
// value of its label, an absent label being "". Hence:
//   - a matcher that rejects "" selects only series that have the label: the union of the
//     postings of the label's values it accepts. These lists are intersected.
//   - a matcher that accepts "" also selects every series without the label, which the index
//     cannot list; it is applied by subtracting the postings of the values it rejects
//     (`l!="x"` subtracts l="x"; `l=""` subtracts every value of l; `l=~"a|"` every value but
//     "a"; `l!~"x.*"` the values matching x.*). With no matcher of the first kind, subtraction
//     starts from AllPostings().
// Literal matchers (`=`, `!=`, `=~"a|b"`, `!~"a|b"`, see CompiledMatcher::set_matches()) read
// the postings of their values directly; the others test every value of LabelValues(name).
#include "storage/postings.h"

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "util/status_macros.h"

namespace ember::storage {
namespace {

// When one list is this many times longer than the other, galloping through the long one
// (O(short * log(long / short))) beats walking both (O(short + long)).
constexpr size_t kGallopRatio = 32;

// The first element >= target in [first, last), by exponential then binary search, so that a
// target near `first` costs O(log distance).
const uint64_t* Gallop(const uint64_t* first, const uint64_t* last, uint64_t target) {
  if (first == last || *first >= target) return first;
  const size_t n = static_cast<size_t>(last - first);
  size_t lo = 0;  // first[lo] < target throughout.
  size_t hi = 1;
  while (hi < n && first[hi] < target) {
    lo = hi;
    hi *= 2;
  }
  return std::lower_bound(first + lo + 1, first + std::min(hi, n), target);
}

PostingsList IntersectTwo(const PostingsList& a, const PostingsList& b) {
  const PostingsList& small = a.size() <= b.size() ? a : b;
  const PostingsList& large = a.size() <= b.size() ? b : a;
  PostingsList out;
  if (small.empty()) return out;
  out.reserve(small.size());
  if (large.size() / small.size() >= kGallopRatio) {
    const uint64_t* pos = large.data();
    const uint64_t* const end = large.data() + large.size();
    for (uint64_t x : small) {
      pos = Gallop(pos, end, x);
      if (pos == end) break;
      if (*pos == x) out.push_back(x);
    }
  } else {
    std::set_intersection(small.begin(), small.end(), large.begin(), large.end(),
                          std::back_inserter(out));
  }
  return out;
}

PostingsList UnionTwo(const PostingsList& a, const PostingsList& b) {
  PostingsList out;
  out.reserve(a.size() + b.size());
  std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

// The non-empty values of label m.name for which m.Matches() == `want`.
absl::StatusOr<std::vector<std::string>> ValuesWhere(PostingsReader& reader,
                                                     const CompiledMatcher& m, bool want) {
  const Matcher& mm = m.matcher();
  const bool positive = mm.op == Matcher::Op::kEqual || mm.op == Matcher::Op::kRegexMatch;
  std::vector<std::string> out;
  if (const std::vector<std::string>* set = m.set_matches(); set != nullptr && positive == want) {
    // Exactly the values of the set match `want`: no need to list the label's values.
    for (const std::string& v : *set) {
      if (!v.empty()) out.push_back(v);
    }
    return out;
  }
  if (mm.op == Matcher::Op::kRegexMatch && mm.value == ".*" && !want) {
    return out;  // With `.` matching newline, every value matches.
  }
  EMBER_ASSIGN_OR_RETURN(std::vector<std::string> values, reader.LabelValues(mm.name));
  for (std::string& v : values) {
    if (!v.empty() && m.Matches(v) == want) out.push_back(std::move(v));
  }
  return out;
}

// The union of the postings of label m.name's non-empty values for which m.Matches() == `want`.
absl::StatusOr<PostingsList> PostingsWhere(PostingsReader& reader, const CompiledMatcher& m,
                                           bool want) {
  EMBER_ASSIGN_OR_RETURN(std::vector<std::string> values, ValuesWhere(reader, m, want));
  std::vector<PostingsList> lists;
  lists.reserve(values.size());
  for (const std::string& v : values) {
    EMBER_ASSIGN_OR_RETURN(PostingsList p, reader.Postings(m.matcher().name, v));
    if (!p.empty()) lists.push_back(std::move(p));
  }
  if (lists.size() == 1) return std::move(lists[0]);
  std::vector<const PostingsList*> ptrs;
  ptrs.reserve(lists.size());
  for (const PostingsList& p : lists) ptrs.push_back(&p);
  return Union(ptrs);
}

// Cheapest first, so that an empty result stops the query before the costly ones run:
// known values are read directly, other regexes test every value of their label.
int Cost(const CompiledMatcher& m) {
  if (m.matcher().op == Matcher::Op::kEqual) return 0;
  if (m.set_matches() != nullptr) return 1;
  return 2;
}

std::string Describe(const CompiledMatcher& m) {
  static constexpr const char* kOps[] = {"=", "!=", "=~", "!~"};
  return absl::StrCat("postings for matcher ", m.matcher().name,
                      kOps[static_cast<int>(m.matcher().op)], "\"", m.matcher().value, "\"");
}

}  // namespace

PostingsList Intersect(const std::vector<const PostingsList*>& lists) {
  if (lists.empty()) return {};
  if (lists.size() == 1) return *lists[0];
  // Smallest first: every step's result is at most as long as the shortest list so far.
  std::vector<const PostingsList*> sorted = lists;
  std::sort(sorted.begin(), sorted.end(),
            [](const PostingsList* a, const PostingsList* b) { return a->size() < b->size(); });
  PostingsList out = IntersectTwo(*sorted[0], *sorted[1]);
  for (size_t i = 2; i < sorted.size() && !out.empty(); ++i) out = IntersectTwo(out, *sorted[i]);
  return out;
}

PostingsList Union(const std::vector<const PostingsList*>& lists) {
  std::vector<const PostingsList*> nonempty;
  nonempty.reserve(lists.size());
  for (const PostingsList* p : lists) {
    if (!p->empty()) nonempty.push_back(p);
  }
  if (nonempty.empty()) return {};
  if (nonempty.size() == 1) return *nonempty[0];
  // Merge pairs, then pairs of the results, and so on: each ref is copied O(log k) times, and
  // every merge walks memory in order.
  std::vector<PostingsList> level;
  level.reserve((nonempty.size() + 1) / 2);
  for (size_t i = 0; i < nonempty.size(); i += 2) {
    level.push_back(i + 1 < nonempty.size() ? UnionTwo(*nonempty[i], *nonempty[i + 1])
                                            : *nonempty[i]);
  }
  while (level.size() > 1) {
    std::vector<PostingsList> next;
    next.reserve((level.size() + 1) / 2);
    for (size_t i = 0; i < level.size(); i += 2) {
      next.push_back(i + 1 < level.size() ? UnionTwo(level[i], level[i + 1]) : std::move(level[i]));
    }
    level = std::move(next);
  }
  return std::move(level[0]);
}

PostingsList Subtract(const PostingsList& a, const PostingsList& b) {
  if (a.empty() || b.empty()) return a;
  PostingsList out;
  out.reserve(a.size());
  if (b.size() / a.size() >= kGallopRatio) {
    // Few refs to keep or drop: look each one up in the long list.
    const uint64_t* pos = b.data();
    const uint64_t* const end = b.data() + b.size();
    for (uint64_t x : a) {
      pos = Gallop(pos, end, x);
      if (pos == end || *pos != x) out.push_back(x);
    }
  } else if (a.size() / b.size() >= kGallopRatio) {
    // Few refs to drop: copy the runs of `a` between them.
    const uint64_t* pos = a.data();
    const uint64_t* const end = a.data() + a.size();
    for (uint64_t y : b) {
      const uint64_t* next = Gallop(pos, end, y);
      out.insert(out.end(), pos, next);
      pos = next;
      if (pos == end) break;
      if (*pos == y) ++pos;
    }
    out.insert(out.end(), pos, end);
  } else {
    std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  }
  return out;
}

absl::StatusOr<PostingsList> PostingsForMatchers(PostingsReader& reader,
                                                 std::span<const CompiledMatcher> matchers) {
  std::vector<const CompiledMatcher*> intersecting, subtracting;
  for (const CompiledMatcher& m : matchers) {
    (m.MatchesEmpty() ? subtracting : intersecting).push_back(&m);
  }
  const auto by_cost = [](const CompiledMatcher* a, const CompiledMatcher* b) {
    return Cost(*a) < Cost(*b);
  };
  std::stable_sort(intersecting.begin(), intersecting.end(), by_cost);
  std::stable_sort(subtracting.begin(), subtracting.end(), by_cost);

  std::vector<PostingsList> lists;
  lists.reserve(intersecting.size());
  for (const CompiledMatcher* m : intersecting) {
    absl::StatusOr<PostingsList> p = PostingsWhere(reader, *m, /*want=*/true);
    if (!p.ok()) return Annotate(p.status(), Describe(*m));
    if (p->empty()) return PostingsList{};
    lists.push_back(*std::move(p));
  }

  PostingsList result;
  if (lists.empty()) {
    absl::StatusOr<PostingsList> all = reader.AllPostings();
    if (!all.ok()) return Annotate(all.status(), "all postings");
    result = *std::move(all);
  } else {
    std::vector<const PostingsList*> ptrs;
    ptrs.reserve(lists.size());
    for (const PostingsList& p : lists) ptrs.push_back(&p);
    result = Intersect(ptrs);
  }

  for (const CompiledMatcher* m : subtracting) {
    if (result.empty()) break;
    absl::StatusOr<PostingsList> p = PostingsWhere(reader, *m, /*want=*/false);
    if (!p.ok()) return Annotate(p.status(), Describe(*m));
    result = Subtract(result, *p);
  }
  return result;
}

}  // namespace ember::storage
