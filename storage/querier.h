// The read-only door from query/ (and rule evaluation) into storage, as Prometheus's engine
// reads through storage/interface.go: a Querier selects series and lists label names and
// values; it cannot append, checkpoint or close. Writers get an Appendable instead.
//
// A Querier is thread-safe. A SeriesSet, and each SampleIterator it hands out, is used by one
// thread at a time.
#ifndef EMBER_STORAGE_QUERIER_H_
#define EMBER_STORAGE_QUERIER_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ember/db.h"
#include "ember/labels.h"
#include "ember/query.h"
#include "storage/matcher.h"

namespace ember::storage {

// The series a Select() found, sorted by labels, walked lazily: labels come first; a series'
// chunks are read and decoded only as its SampleIterator advances.
class SeriesSet {
 public:
  virtual ~SeriesSet() = default;
  // Advances to the next series; false at the end or on error (see status()).
  virtual bool Next() = 0;
  // The current series' labels. REQUIRES: the last Next() returned true. Valid until Next();
  // the caller may move them out, as the set does not read them again.
  virtual Labels& labels() = 0;
  // The current series' samples within the Select()'s [mint, maxt]: possibly none, when the
  // series' partitions hold samples outside the range only. May be called once per series;
  // the iterator may outlive the set's position but not the set.
  virtual std::unique_ptr<SampleIterator> Samples() = 0;
  // Whether the current series has a sample within [mint, maxt], as Samples()->Next() would
  // tell, perhaps without reading any chunk. Instead of Samples(), not with it.
  virtual absl::StatusOr<bool> HasSamples() {
    std::unique_ptr<SampleIterator> it = Samples();
    if (it->Next()) return true;
    if (!it->status().ok()) return it->status();
    return false;
  }
  // Appends the current series' samples within [mint, maxt] to `*out`, in time order: what
  // Samples() would give, without a virtual call per sample. Instead of Samples().
  virtual absl::Status ReadSamples(std::vector<Sample>* out) {
    std::unique_ptr<SampleIterator> it = Samples();
    while (it->Next()) out->push_back(it->At());
    return it->status();
  }
  // DataLoss for damaged label records; OK otherwise.
  virtual absl::Status status() const = 0;
};

class Querier {
 public:
  virtual ~Querier() = default;

  // Series matching every matcher in partitions overlapping [mint, maxt]. At least one matcher
  // must not match the empty string (as in PromQL), else InvalidArgument. An empty set when
  // mint > maxt.
  virtual absl::StatusOr<std::unique_ptr<SeriesSet>> Select(
      std::span<const CompiledMatcher> matchers, int64_t mint, int64_t maxt) = 0;

  // Sorted, distinct label names / values of series with data in partitions overlapping
  // [mint, maxt]; with matchers, only of series matching them.
  virtual absl::StatusOr<std::vector<std::string>> LabelNames(
      int64_t mint, int64_t maxt, std::span<const CompiledMatcher> matchers) = 0;
  virtual absl::StatusOr<std::vector<std::string>> LabelValues(
      const std::string& name, int64_t mint, int64_t maxt,
      std::span<const CompiledMatcher> matchers) = 0;
};

// Where samples are written (Prometheus's storage.Appendable). Thread-safe.
class Appendable {
 public:
  virtual ~Appendable() = default;
  virtual std::unique_ptr<Appender> NewAppender() = 0;
};

// The read side and the write side of `db`, which must come from Db::Open. They live as long
// as `db`.
Querier* QuerierOf(Db* db);
Appendable* AppendableOf(Db* db);

}  // namespace ember::storage

#endif  // EMBER_STORAGE_QUERIER_H_
