// Label matchers compiled for evaluation: regexes through RE2 (Go's syntax), fully anchored
// as in Prometheus (`=~"a.*"` is `^(?:a.*)$`). Immutable after Compile(); thread-safe.
#ifndef EMBER_STORAGE_MATCHER_H_
#define EMBER_STORAGE_MATCHER_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "ember/query.h"

namespace re2 {
class RE2;
}

namespace ember::storage {

class CompiledMatcher {
 public:
  // InvalidArgument naming the matcher and RE2's reason when the regex does not compile.
  static absl::StatusOr<CompiledMatcher> Compile(const Matcher& m);

  const Matcher& matcher() const { return m_; }
  // Whether a series whose label `name` has `value` matches; an absent label is "".
  bool Matches(std::string_view value) const;
  bool MatchesEmpty() const { return matches_empty_; }
  // The values the positive form of the matcher (`=` for `!=`, `=~` for `!~`) accepts, when
  // that is a known set: always for `=`/`!=`; for `=~`/`!~` when the regex is a literal or an
  // alternation of literals (`a|b|c`, escapes like `\.` allowed). Sorted, unique, may hold "".
  // `=`/`=~` match exactly these values and `!=`/`!~` every other one. Null otherwise. Lets a
  // caller look those values up instead of testing every value of the label.
  const std::vector<std::string>* set_matches() const { return set_matches_.get(); }

 private:
  Matcher m_;
  std::shared_ptr<const re2::RE2> re_;  // Set for the regex ops.
  // See set_matches(); Matches() uses it instead of re_ when set.
  std::shared_ptr<const std::vector<std::string>> set_matches_;
  bool matches_empty_ = false;
};

absl::StatusOr<std::vector<CompiledMatcher>> CompileMatchers(const std::vector<Matcher>& ms);

}  // namespace ember::storage

#endif  // EMBER_STORAGE_MATCHER_H_
