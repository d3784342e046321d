// Prometheus durations (`1h30m`, `90d`, `500ms`), as its model.ParseDuration reads them and
// model.Duration.String writes them: the one copy the modules share. Milliseconds throughout.
#ifndef EMBER_UTIL_DURATION_H_
#define EMBER_UTIL_DURATION_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace ember::util {

// Units y w d h m s ms, each at most once and from the largest down; "0" alone is 0. A year is
// 365 days. The total must fit Go's time.Duration (int64 nanoseconds, about 292 years), as
// everywhere in Prometheus. InvalidArgument names the text: `not a valid duration string: "5x"`.
absl::StatusOr<int64_t> ParseDuration(std::string_view text);

// `1h30m`, `90d` (years and weeks only when they divide exactly: `90d`, not `12w6d`), `500ms`,
// `0s`; a negative duration gets a leading `-`.
std::string FormatDuration(int64_t ms);

}  // namespace ember::util

#endif  // EMBER_UTIL_DURATION_H_
