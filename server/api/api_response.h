// The answers the API's handlers share: Prometheus's success envelope and error types, plain
// text, and the parameter helpers every endpoint family uses. Internal to server/api/.
#ifndef EMBER_SERVER_API_API_RESPONSE_H_
#define EMBER_SERVER_API_API_RESPONSE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/api/params.h"
#include "server/http/http_server.h"

namespace ember::server {

// Debian's Abseil keeps its own string_view type: bridge the two.
inline std::string_view Std(absl::string_view s) { return {s.data(), s.size()}; }

// Prometheus's error types; ApiError answers each with its HTTP status code.
enum class ErrorType {
  kBadData,
  kExecution,
  kTimeout,
  kCanceled,
  kInternal,
  kNotFound,
  kUnavailable
};

HttpResponse ApiError(ErrorType type, absl::string_view message);
// bad_data: `invalid parameter "<name>": <message>`.
HttpResponse BadParam(absl::string_view name, const absl::Status& s);
// {"status":"success","data":<data>[,"warnings":[...]][,"infos":[...]]}.
HttpResponse Success(absl::string_view data_json, const std::vector<std::string>& warnings = {},
                     const std::vector<std::string>& infos = {});
HttpResponse PlainText(int status, std::string body);
HttpResponse MethodNotAllowed();
// Maps an engine error to Prometheus's error type: what is wrong with the query text or the
// range is bad_data, as Prometheus's API checks those before evaluating.
HttpResponse QueryError(const absl::Status& s);

// A time parameter, `fallback` when absent or empty.
absl::StatusOr<int64_t> TimeOr(const Params& p, std::string_view name, int64_t fallback);
// The `limit` parameter: 0 (none) when absent.
absl::StatusOr<int64_t> Limit(const Params& p);

inline constexpr const char* kTruncatedWarning = "results truncated due to limit";

}  // namespace ember::server

#endif  // EMBER_SERVER_API_API_RESPONSE_H_
