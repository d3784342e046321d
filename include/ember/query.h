// Reading series back: matchers select series, a SampleIterator walks one series' samples in
// time order, decoding chunks lazily as it goes.
#ifndef EMBER_QUERY_H_
#define EMBER_QUERY_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "ember/labels.h"
#include "ember/sample.h"

namespace ember {

// A label matcher as in PromQL: `name op "value"`. Regexes use RE2 (Go's syntax) and are
// fully anchored. An absent label matches as the empty string, as in Prometheus.
struct Matcher {
  enum class Op { kEqual, kNotEqual, kRegexMatch, kRegexNoMatch };
  Op op = Op::kEqual;
  std::string name;
  std::string value;
};

// Iterates one series' samples with mint <= t <= maxt, ascending. Not thread-safe.
class SampleIterator {
 public:
  virtual ~SampleIterator() = default;
  // Advances to the next sample; false at the end or on error (see status()).
  virtual bool Next() = 0;
  // Advances to the first sample with t' >= t (never backwards); false when there is none.
  // Chunks wholly before `t` are skipped without being decoded.
  virtual bool Seek(int64_t t) = 0;
  // The current sample. REQUIRES: the last Next() or Seek() returned true.
  virtual Sample At() const = 0;
  // DataLoss for a corrupt chunk, naming the series and chunk; OK otherwise.
  virtual absl::Status status() const = 0;
};

struct Series {
  Labels labels;
  std::unique_ptr<SampleIterator> samples;
};

}  // namespace ember

#endif  // EMBER_QUERY_H_
