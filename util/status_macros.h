// Status helpers shared by every module. Debian 12's Abseil (20220623) predates
// ABSL_RETURN_IF_ERROR, so Ember carries its own small set.
#ifndef EMBER_UTIL_STATUS_MACROS_H_
#define EMBER_UTIL_STATUS_MACROS_H_

#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace ember {

// Returns `s` with `context: ` put before its message; the code is kept. OK stays OK.
inline absl::Status Annotate(const absl::Status& s, std::string_view context) {
  if (s.ok()) return s;
  return absl::Status(
      s.code(), absl::StrCat(absl::string_view(context.data(), context.size()), ": ", s.message()));
}

}  // namespace ember

#define EMBER_STATUS_CONCAT_INNER_(a, b) a##b
#define EMBER_STATUS_CONCAT_(a, b) EMBER_STATUS_CONCAT_INNER_(a, b)

#define EMBER_RETURN_IF_ERROR(expr)                \
  do {                                             \
    const absl::Status ember_status_ = (expr);     \
    if (!ember_status_.ok()) return ember_status_; \
  } while (0)

#define EMBER_ASSIGN_OR_RETURN(lhs, rexpr) \
  EMBER_ASSIGN_OR_RETURN_IMPL_(EMBER_STATUS_CONCAT_(ember_statusor_, __LINE__), lhs, rexpr)

#define EMBER_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                 \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

#endif  // EMBER_UTIL_STATUS_MACROS_H_
