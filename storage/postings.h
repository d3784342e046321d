// Postings: sorted lists of series refs, one per label pair, and the algebra that turns a
// list of matchers into the refs of the matching series (as Prometheus's PostingsForMatchers).
#ifndef EMBER_STORAGE_POSTINGS_H_
#define EMBER_STORAGE_POSTINGS_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "storage/matcher.h"

namespace ember::storage {

// Sorted ascending, no duplicates.
using PostingsList = std::vector<uint64_t>;

PostingsList Intersect(const std::vector<const PostingsList*>& lists);
PostingsList Union(const std::vector<const PostingsList*>& lists);
// Refs of `a` not in `b`.
PostingsList Subtract(const PostingsList& a, const PostingsList& b);

// Where postings come from: one time partition's index, or a test's map.
class PostingsReader {
 public:
  virtual ~PostingsReader() = default;
  // Refs of series with label `name` = `value` (value non-empty); empty when none.
  virtual absl::StatusOr<PostingsList> Postings(std::string_view name, std::string_view value) = 0;
  // Every value label `name` takes, sorted; empty when none.
  virtual absl::StatusOr<std::vector<std::string>> LabelValues(std::string_view name) = 0;
  // Every series in the index.
  virtual absl::StatusOr<PostingsList> AllPostings() = 0;
};

// Refs of series matching every matcher. With no matcher that rejects the empty string the
// result starts from AllPostings() (callers that follow PromQL forbid that case earlier).
absl::StatusOr<PostingsList> PostingsForMatchers(PostingsReader& reader,
                                                 std::span<const CompiledMatcher> matchers);

}  // namespace ember::storage

#endif  // EMBER_STORAGE_POSTINGS_H_
