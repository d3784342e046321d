// The one place rocksdb::Status becomes absl::Status.
#ifndef EMBER_STORAGE_ROCKS_STATUS_H_
#define EMBER_STORAGE_ROCKS_STATUS_H_

#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "rocksdb/status.h"

namespace ember::storage {

inline absl::Status FromRocks(const rocksdb::Status& s, std::string_view context) {
  if (s.ok()) return absl::OkStatus();
  const std::string msg =
      absl::StrCat(absl::string_view(context.data(), context.size()), ": ", s.ToString());
  switch (s.code()) {
    case rocksdb::Status::kNotFound:
      return absl::NotFoundError(msg);
    case rocksdb::Status::kCorruption:
      return absl::DataLossError(msg);
    case rocksdb::Status::kInvalidArgument:
    case rocksdb::Status::kNotSupported:
      return absl::InvalidArgumentError(msg);
    case rocksdb::Status::kBusy:
    case rocksdb::Status::kTimedOut:
    case rocksdb::Status::kTryAgain:
      return absl::UnavailableError(msg);
    case rocksdb::Status::kIOError:
      if (s.subcode() == rocksdb::Status::kNoSpace) return absl::ResourceExhaustedError(msg);
      // RocksDB reports a held LOCK file as an IOError ("lock hold by current process" or
      // "Resource temporarily unavailable").
      if (s.ToString().find("lock") != std::string::npos ||
          s.ToString().find("LOCK") != std::string::npos) {
        return absl::FailedPreconditionError(
            absl::StrCat(msg, " (is another process using this data directory?)"));
      }
      return absl::UnavailableError(msg);
    default:
      return absl::InternalError(msg);
  }
}

}  // namespace ember::storage

#endif  // EMBER_STORAGE_ROCKS_STATUS_H_
