#include "ingest/batch.h"

#include "absl/strings/str_cat.h"

namespace ember::ingest {

std::string PositionName(PositionKind kind, uint32_t position) {
  switch (kind) {
    case PositionKind::kLine:
      return absl::StrCat("line ", position);
    case PositionKind::kTimeseries:
      return absl::StrCat("timeseries[", position, "]");
  }
  return absl::StrCat("#", position);
}

}  // namespace ember::ingest
