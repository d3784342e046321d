// Debian 12's Abseil (20220623) has an absl::string_view of its own, not std::string_view:
// StrCat, Status and the escaping functions reject a std::string_view. The one bridge.
#ifndef EMBER_UTIL_STRINGS_H_
#define EMBER_UTIL_STRINGS_H_

#include <string_view>

#include "absl/strings/string_view.h"

namespace ember::util {

inline absl::string_view AsAbsl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}
inline std::string_view AsStd(absl::string_view s) { return std::string_view(s.data(), s.size()); }

}  // namespace ember::util

#endif  // EMBER_UTIL_STRINGS_H_
